"""The units' returns: 报送信息, 佐证资料 and 报送情况 — who sent what, when, and what evidence backs their claims.

A unit's 填报版 carries its 报送信息 (labels in A, values in B) and its 佐证资料 rows; merge copies both into the
master, whose 报送情况 sheet keeps, per unit, the facts a return brings (填报日期, the date the city received it,
who filled it, the documents named, the file) and what follows from them (on time or late against the rubric's
deadline, the self total, the rules where the unit claims points but lists no evidence). `status` reads it back.

Nothing here scores: the self total is the engine's own function over the self scores, and a claim is read off
the data the rubric names for each evidence item (a yes, or a number above 0), or a self score above 0.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl.utils.datetime import from_excel

from ..engine import Switches, self_total_of
from ..inputs import ERROR, WARNING, YES, BadValue, Problem, ValueParser, normalize_unit_name, shown
from ..rubric import Rubric
from . import layout as L
from .book import Book, Formula
from .layout import Layout, cell

FACT_KEYS = ("submitted_on", "received_on", "person", "phone", "self_total_typed", "source")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
TEXT_LIMIT = 255


@dataclass(frozen=True)
class EvidenceRow:
    """One row of 佐证资料 as read: the unit (index in the layout), the rule id, what it evidences, the files."""

    row: int
    unit: int
    rule: str
    requirement: str
    files: str
    note: str

    @property
    def file_names(self) -> list[str]:
        return [f.strip() for f in re.split(r"[；;、\n]", self.files) if f.strip()]


@dataclass
class Returns:
    """What a workbook says of the units' returns: evidence rows and, per unit index, the submission facts."""

    evidence: list[EvidenceRow] = field(default_factory=list)
    facts: dict[int, dict[str, object]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _text(v: object) -> str:
    if v is None or isinstance(v, Formula):
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def parse_date(raw: object) -> dt.date:
    """A date as people and spreadsheet programs write it: a date cell, 2021-02-03, 2021/2/3, 2021年2月3日,
    or an Excel serial number (a file re-saved without the date format). Raises BadValue otherwise."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 20000 < raw < 80000:
        return from_excel(raw).date()
    m = _DATE.match(str(raw)) if isinstance(raw, str) else None
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    raise BadValue("应为日期，如 2021-02-03", "请按 年-月-日 填写")


def read_returns(book: Book, lay: Layout) -> Returns:
    """佐证资料 rows and 报送信息 (a 填报版) or 报送情况 (the master) of a workbook; absent sheets give nothing
    (a workbook of an earlier layout). Problems here are warnings: they never stop the scoring."""
    out = Returns()
    names = set(book.sheet_names)
    if L.EVIDENCE in names:
        _read_evidence(book, lay, out)
    if lay.handout and L.SUBMISSION in names:
        _read_submission(book, lay, out)
    elif not lay.handout and L.RETURNS in names:
        _read_returns_sheet(book, lay, out)
    return out


def _warn(out: Returns, unit: str, where: str, label: str, value: object, expected: str, hint: str = "") -> None:
    out.problems.append(Problem(WARNING, unit, where, label, shown(value), expected, hint))


def _read_evidence(book: Book, lay: Layout, out: Returns) -> None:
    grid = book.read(L.EVIDENCE)
    E = lay.evidence_columns()
    index = {normalize_unit_name(u): i for i, u in enumerate(lay.units)}
    rule_ids = {r.id for r in lay.rubric.rules}
    for row in range(L.FIRST_ROW, grid.max_row + 1):
        files, note = _text(grid.get(row, E["files"])), _text(grid.get(row, E["note"]))
        rule = _text(grid.get(row, E["rule"]))
        unit_name = _text(grid.get(row, E["unit"])) if "unit" in E else lay.units[0]
        if not files and not note and ("unit" not in E or not (unit_name or rule)):
            continue
        where = f"{L.EVIDENCE}!{cell(row, E['rule'])}"
        i = index.get(normalize_unit_name(unit_name))
        if i is None:
            _warn(out, unit_name, f"{L.EVIDENCE}!{cell(row, E.get('unit', 1))}", "单位", unit_name,
                  "不是设置中的单位，该行佐证资料未计入", "应为：" + "、".join(lay.units))
            continue
        if rule not in rule_ids:
            _warn(out, lay.units[i], where, "规则", rule, "不是细则中的规则编号，该行佐证资料未计入",
                  "应为：" + "、".join(sorted(rule_ids)))
            continue
        requirement = _text(grid.get(row, E["requirement"]))
        out.evidence.append(EvidenceRow(row, i, rule, requirement, files, note))


def _read_submission(book: Book, lay: Layout, out: Returns) -> None:
    grid = book.read(L.SUBMISSION)
    by_label = {label: key for key, (_, label) in lay.submission_rows().items()}
    facts: dict[str, object] = {}
    unit = lay.units[0]
    for row in range(1, grid.max_row + 1):
        key = by_label.get(_text(grid.get(row, 1)))
        if key is None or key == "unit":
            continue
        raw = grid.get(row, 2)
        where = f"{L.SUBMISSION}!B{row}"
        if key == "date":
            if _text(raw):
                try:
                    facts["submitted_on"] = parse_date(raw)
                except BadValue as exc:
                    out.problems.append(Problem(ERROR, unit, where, "填报日期", shown(raw), exc.expected, exc.hint))
            continue
        text = _text(raw)
        if len(text) > TEXT_LIMIT:
            out.problems.append(Problem(ERROR, unit, where, key, text[:20] + "…", f"不能超过{TEXT_LIMIT}字"))
            continue
        facts[key] = text
    out.facts[0] = facts


def _read_returns_sheet(book: Book, lay: Layout, out: Returns) -> None:
    grid = book.read(L.RETURNS)
    cols = lay.returns_columns()
    parser = ValueParser("reject")
    for i, unit in enumerate(lay.units):
        row = lay.unit_row(i)
        if _text(grid.get(row, 1)) != unit:
            continue
        facts: dict[str, object] = {}
        for key, (col, header) in cols.items():
            raw = grid.get(row, col)
            if key in ("submitted_on", "received_on"):
                if _text(raw):
                    try:
                        facts[key] = parse_date(raw)
                    except BadValue as exc:
                        _warn(out, unit, f"{L.RETURNS}!{cell(row, col)}", header, raw, exc.expected, exc.hint)
            elif key == "self_total_typed":
                if _text(raw):
                    try:
                        facts[key] = parser.number(raw)
                    except BadValue as exc:
                        _warn(out, unit, f"{L.RETURNS}!{cell(row, col)}", header, raw, exc.expected, exc.hint)
            elif key in FACT_KEYS or key.startswith("doc:"):
                facts[key] = _text(raw)
        out.facts[i] = facts


# ----------------------------------------------------------------------------------------------- status


def _claims(value: object) -> bool:
    """Whether a value claims points: a yes, or a number above 0 (blank and 否 claim nothing)."""
    if value is None or isinstance(value, Formula):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        return value > 0
    text = str(value).strip().lower()
    if text in YES:
        return True
    try:
        return Decimal(text.rstrip("%％")) > 0
    except Exception:
        return False


def evidence_missing(lay: Layout, row: dict, evidence: list[EvidenceRow], items: list) -> tuple[list[str], list[str]]:
    """(rules with evidence listed, rules where the unit claims points but lists no file) for one unit, from its
    evidence rows and the layout's evidence items (`lay.evidence_items(choices)`, the same for every unit).

    A rule is claimed when the unit's self score on it is above 0, or when a data key an evidence item of the
    rule names claims (a yes, a number above 0)."""
    listed = sorted({e.rule for e in evidence if e.file_names}, key=_rule_order(lay))
    missing = []
    for rule_id in dict.fromkeys(r.id for r, _ in items):
        keys = [k for r, ev in items if r.id == rule_id for k in ev.claims]
        claimed = _claims(row.get("self_" + rule_id)) or any(_claims(row.get(k)) for k in keys)
        if claimed and rule_id not in listed:
            missing.append(rule_id)
    return listed, missing


def _rule_order(lay: Layout):
    order = {r.id: n for n, r in enumerate(lay.rubric.rules)}
    return lambda rule_id: order.get(rule_id, len(order))


def self_total_for(rubric: Rubric, switches: Switches, row: dict, assessed: bool) -> Decimal | None:
    """The self total the 考评表's formulas show, from the self scores typed in a row (None while incomplete)."""
    own = {}
    parser = ValueParser("reject")
    for rule in rubric.rules:
        raw = row.get("self_" + rule.id)
        if raw is None or isinstance(raw, Formula) or (isinstance(raw, str) and not raw.strip()):
            continue
        try:
            own[rule.id] = parser.number(raw)
        except BadValue:
            return None
    return self_total_of(rubric, switches, own, assessed)


@dataclass
class UnitStatus:
    unit: str
    received: bool
    submitted_on: dt.date | None
    received_on: dt.date | None
    on_time: bool | None
    self_total: Decimal | None
    self_total_typed: Decimal | None
    evidence_listed: list[str]
    evidence_missing: list[str]
    documents: dict[str, str]
    person: str = ""
    phone: str = ""
    source: str = ""

    def as_dict(self) -> dict:
        docs = {key.split(":", 1)[1]: bool(name) for key, name in self.documents.items()}
        return {"unit": self.unit, "received": self.received,
                "submitted_on": self.submitted_on.isoformat() if self.submitted_on else None,
                "received_on": self.received_on.isoformat() if self.received_on else None,
                "on_time": self.on_time,
                "self_total": None if self.self_total is None else float(round(self.self_total, 2)),
                "evidence_missing": self.evidence_missing, **docs,
                "evidence_listed": self.evidence_listed, "files": self.documents,
                "person": self.person, "phone": self.phone, "source": self.source}


def unit_statuses(rubric: Rubric, lay: Layout, choices: dict[str, str], rows: list[dict],
                  returns: Returns) -> list[UnitStatus]:
    """Every unit's return: received or not, dates, on time, self total, evidence listed and missing."""
    sub = rubric.submission
    out = []
    switches = Switches(rubric, choices)
    items = lay.evidence_items(choices)
    evidence_of: dict[int, list[EvidenceRow]] = {}  # each unit's rows, found in one pass (not one per unit)
    for e in returns.evidence:
        evidence_of.setdefault(e.unit, []).append(e)
    for i, unit in enumerate(lay.units):
        facts = returns.facts.get(i, {})
        row = rows[i] if i < len(rows) else {}
        received_on = facts.get("received_on")
        received = bool(facts.get("source")) or received_on is not None
        on_time = sub.on_time(received_on) if (sub and received_on) else None
        listed, missing = evidence_missing(lay, row, evidence_of.get(i, []), items)
        docs = {k: str(v) for k, v in facts.items() if k.startswith("doc:")}
        for doc in sub.documents if sub else ():
            docs.setdefault("doc:" + doc.key, "")
        out.append(UnitStatus(unit, received, facts.get("submitted_on"), received_on, on_time,
                              self_total_for(rubric, switches, row, lay.public_service[i]),
                              facts.get("self_total_typed"), listed, missing if received else [], docs,
                              str(facts.get("person") or ""), str(facts.get("phone") or ""),
                              str(facts.get("source") or "")))
    return out


def write_returns_sheet(book: Book, lay: Layout, statuses: list[UnitStatus]) -> None:
    """报送情况: one row per unit, every column rewritten from the statuses (facts and what follows)."""
    cols = lay.returns_columns()
    first = min(c for c, _ in cols.values() if c > 1)
    order = sorted((c, k) for k, (c, _) in cols.items() if c >= first)
    block = []
    for s in statuses:
        values = {"received": "已收到" if s.received else "未收到",
                  "submitted_on": s.submitted_on, "received_on": s.received_on,
                  "on_time": "" if s.on_time is None else ("按时" if s.on_time else "逾期"),
                  "person": s.person, "phone": s.phone,
                  "self_total": None if s.self_total is None else float(round(s.self_total, 2)),
                  "self_total_typed": None if s.self_total_typed is None else float(s.self_total_typed),
                  "evidence_listed": "、".join(s.evidence_listed),
                  "evidence_missing": "、".join(s.evidence_missing), "source": s.source, **s.documents}
        block.append([values.get(k) if values.get(k) != "" else None for _, k in order])
    if block:
        book.write(L.RETURNS, L.FIRST_ROW, first, block)


def status_report(rubric: Rubric, statuses: list[UnitStatus]) -> dict:
    sub = rubric.submission
    return {"deadline": sub.deadline.isoformat() if sub else None, "units": [s.as_dict() for s in statuses]}


def status_table(rubric: Rubric, statuses: list[UnitStatus]) -> str:
    """The terminal view of `status`: one line per unit."""
    from ..report import _pad, display_width

    sub = rubric.submission
    head = ["单位", "收到", "填报日期", "收到日期", "按时", "自评总分", "缺佐证的规则", "工作总结", "工作打算"]
    rows = []
    for s in statuses:
        docs = [("已列" if s.documents.get("doc:" + d.key) else "未列") for d in (sub.documents if sub else ())]
        rows.append([s.unit, "是" if s.received else "否", s.submitted_on.isoformat() if s.submitted_on else "",
                     s.received_on.isoformat() if s.received_on else "",
                     "" if s.on_time is None else ("按时" if s.on_time else "逾期"),
                     "" if s.self_total is None else f"{s.self_total:.2f}", "、".join(s.evidence_missing), *docs])
    head = head[:7] + [d.label for d in (sub.documents if sub else ())]
    widths = [max(display_width(str(r[n])) for r in [head] + rows) for n in range(len(head))]
    lines = ["  ".join(_pad(str(v), w, False) for v, w in zip(r, widths)).rstrip() for r in [head] + rows]
    if sub:
        late = sum(1 for s in statuses if s.on_time is False)
        missing = sum(1 for s in statuses if not s.received)
        lines.append(f"截止日期 {sub.deadline.isoformat()}；逾期 {late} 个，未收到 {missing} 个。")
    return "\n".join(lines)
