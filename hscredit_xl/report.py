"""The result as the JSON report of contract §3 and as a ranking table for the terminal."""
from __future__ import annotations

import json
import unicodedata
from decimal import Decimal

from .engine import Result, UnitResult
from .kinds import round_half_up


def _num(x: Decimal | None) -> float | None:
    return None if x is None else float(round_half_up(x))


def to_report(result: Result, extra: dict | None = None) -> dict:
    """Contract §3: numbers rounded half-up to 2 decimals; `rules` holds every rule id (null: not applicable);
    `why` says how every rule's score came about (a rule the unit is not assessed on: what A5 does with it)."""
    units = []
    for u in result.units:
        units.append({
            "unit": u.unit,
            "rules": {k: _num(v) for k, v in u.rules.items()},
            "sections": {k: _num(v) for k, v in u.sections.items()},
            "base": _num(u.base), "applicable_max": _num(u.applicable_max), "base_scaled": _num(u.base_scaled),
            "bonus": _num(u.bonus), "deduction": _num(u.deduction), "capped": _num(u.capped),
            "total": _num(u.total), "rank": u.rank,
            "adjustment": _num(u.adjustment), "adjustment_reason": u.adjustment_reason,
            "final": _num(u.final), "final_rank": u.final_rank,
            "self_total": _num(u.self_total), "difference": _num(u.difference),
            "self_scores": {k: _num(v) for k, v in u.self_scores.items()},
            "rule_differences": {k: _num(v) for k, v in u.rule_differences.items()},
            "weighted": {k: _num(v) for k, v in u.weighted.items()},
            "why": dict(u.why), "why_total": u.why_total,
        })
    report = {
        "year": result.rubric.year,
        "rubric": {"document": result.rubric.document["number"], "version": result.rubric.version},
        "switches": dict(result.choices),
        "units": units,
        "problems": [p.as_dict() for p in result.problems],
    }
    if extra:
        report.update(extra)
    return report


def to_json(result: Result, extra: dict | None = None) -> str:
    return json.dumps(to_report(result, extra), ensure_ascii=False, indent=2)


def display_width(text: str) -> int:
    """Columns a terminal gives the text: CJK characters take two."""
    if text.isascii():  # the figures: one column a character
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def _fmt(x: Decimal | None) -> str:
    return "—" if x is None else f"{round_half_up(x):.2f}"


def ranking_table(result: Result) -> str:
    """The ranking, one line per unit, columns lined up for Chinese text."""
    headers = ["名次", "单位", "基础分", "折算后", "加分", "扣分", "复核总分", "调整", "最终得分", "自评总分", "差值"]
    rows = [[str(u.rank), u.unit, _fmt(u.base), _fmt(u.base_scaled), _fmt(u.bonus), _fmt(u.deduction),
             _fmt(u.total), _fmt(u.adjustment), _fmt(u.final), _fmt(u.self_total), _fmt(u.difference)]
            for u in result.ranking()]
    widths = [max(display_width(r[c]) for r in [headers, *rows]) for c in range(len(headers))]
    lines = []
    for r in [headers, *rows]:
        lines.append("  ".join(_pad(cell, widths[c], right=c != 1) for c, cell in enumerate(r)).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    doc = result.rubric.document
    title = f"{doc['attachment']}（{doc['number']}）复核结果"
    return "\n".join([title, *lines])


def explanation(result: Result, unit: UnitResult, rule_ids: list[str] | None = None) -> str:
    """`hscredit-xl explain`: the unit's `why`, rule by rule under the rubric's names, then the total."""
    doc = result.rubric.document
    lines = [f"{unit.unit}：{doc['attachment']}（{doc['number']}）计分依据",
             f"复核总分 {_fmt(unit.total)}，第 {unit.rank} 名；最终得分 {_fmt(unit.final)}"]
    role = {"base": "{}分", "bonus": "加分项，最高{}分", "deduction": "扣减项，{}分"}
    for rule in result.rubric.rules:
        if rule.id not in unit.why or (rule_ids is not None and rule.id not in rule_ids):
            continue
        lines.append(f"\n{rule.id} {rule.name}（{role[rule.role].format(_fmt_points(rule.points))}）")
        lines.append(f"  {unit.why[rule.id]}")
    if rule_ids is None:
        lines.append("\n总分与名次")
        lines.append(f"  {unit.why_total}")
    return "\n".join(lines)


def _fmt_points(x: Decimal) -> str:
    return f"{x.normalize():f}"
