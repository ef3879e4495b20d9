"""`hscredit-xl rubric check FILE`: is a rubric file true to its notice and to itself?

For any rubric file (2020's or a later year's), four checks, each problem reported with the file's line:

* verbatim: every sentence the file quotes from the notice (rule and part `text`, tier texts, indicator
  `scoring`, `content`, `method`, `points_text`, item `heading`, switch `quote`, totals `quote`, a rule's
  evidence `requirement` and `method`, the submission's `quote`, `send_to`, `contact`, `phone`, documents'
  `quote` and `guidance`, and the `remarks` under the table) occurs in it character for character; item and
  indicator names, which the notice's table wraps inside words, occur with whitespace ignored. The notice is
  the file `document.source` names, relative to the rubric file;
* points: the best input reaches each rule's points (default switches), rules add up to their indicator,
  indicators to their item, the base items to `totals.full`; bonus and deduction items add up within themselves
  and stay out of the base total; floor ≤ full ≤ cap;
* cases: every part has cases, and each computes as written through `engine.score_given`, the code that scores;
* references: every data key a part reads or evidence claims is a field, every `{switch: X}` and `when` names
  a switch and option that exist, every field's `rule` is a rule of the file. These are checked on the file as
  read, before the schema, so that all of them are listed at once.

The tests run the shipped 2020 rubric through the same functions (tests/test_rubric.py).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .calculations import kind_of
from .engine import Switches, score_given
from .rubric import Part, Rubric, RubricError, _Loader, notice_path, parse_rubric

ZERO = Decimal(0)
_VALUE_KEYS = ("each", "ratio", "count_yes", "max")  # the forms of a part's value that name data keys
_LINE_IN_MESSAGE = re.compile(r"第 (\d+) 行：(.*)$", re.S)


@dataclass(frozen=True)
class Finding:
    """One problem of the rubric file: its line (0 when it has none) and what is wrong, in Chinese."""

    line: int
    message: str


@dataclass(frozen=True)
class Quote:
    """A sentence the rubric file claims to take from the notice."""

    where: str  # e.g. 规则 1.2.5 的 text
    text: str
    line: int
    exact: bool = True  # False: a table cell's name, compared with whitespace ignored


@dataclass(frozen=True)
class CaseCheck:
    """One `cases` entry of a part, ready to compute."""

    where: str  # e.g. 规则 2.1 第 2 部分
    line: int
    part: Part
    given: Any
    expect: Decimal
    note: str


@dataclass
class Checked:
    """The outcome of checking one rubric file."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    rubric: Rubric | None = None
    quotes: int = 0
    cases: int = 0
    incomplete: bool = False  # the file could not be read as a rubric: the later checks did not run

    @property
    def ok(self) -> bool:
        return not self.findings

    def problem_report(self) -> str:
        """Each problem with the file and line, then how many, in Chinese."""
        lines = [f"{self.path} 第 {f.line} 行：{f.message}" if f.line else f"{self.path}：{f.message}"
                 for f in self.findings]
        lines.append(f"共 {len(self.findings)} 个问题，细则文件未通过检查。")
        if self.incomplete:
            lines.append("改正后请再次检查：原文、分值与案例的检查在文件能按细则格式读入后进行。")
        return "\n".join(lines)

    def summary(self) -> str:
        """What a clean file was found to be, in a few Chinese lines."""
        r = self.rubric
        assert r is not None
        doc = r.document
        by_role = {role: sum((i.points for i in r.items if i.role == role), ZERO) for role in ("base", "bonus",
                                                                                                 "deduction")}
        base_items = [i for i in r.items if i.role == "base"]
        return "\n".join([
            f"细则检查通过：{self.path}",
            f"  {doc['number']}《{doc['attachment']}》，版本 {r.version}",
            f"  原文引用 {self.quotes} 处，均见于通知原文 {notice_path(r).name}",
            f"  分值：基础项 {_num(by_role['base'])} 分（{len(base_items)} 项、"
            f"{sum(1 for x in r.rules if x.role == 'base')} 条规则），加分项 {_num(by_role['bonus'])} 分，"
            f"扣减项 {_num(by_role['deduction'])} 分，逐级相加无误",
            f"  案例 {self.cases} 个，均与计算结果一致；引用的数据键与开关均有定义",
        ])


def _num(d: Decimal) -> str:
    return format(d.normalize(), "f")


def _shown(given: Any) -> str:
    """A case's given as the file writes it."""
    if isinstance(given, bool):
        return "true" if given else "false"
    return _num(given) if isinstance(given, Decimal) else str(given)


# ------------------------------------------------------------------------------------------- the file as read


def read_tree(text: str, path: str) -> Any:
    """The YAML as read, every mapping knowing its line and its keys' lines (the loader parse_rubric uses)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = "，".join(str(x) for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x)
        raise RubricError(f"{path} 第 {mark.line + 1 if mark else 0} 行：不是有效的 YAML（{what or exc}）") from None


def _seq(node: Any, key: str) -> list:
    """node[key] as a list of mappings (whatever is not a mapping is left out: the schema reports it)."""
    value = node.get(key) if isinstance(node, dict) else None
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _line(node: Any, key: str | None = None) -> int:
    if key is not None and key in getattr(node, "key_lines", {}):
        return node.key_lines[key]
    return getattr(node, "line", 0)


def _rules(tree: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(item, indicator, rule) nodes of the file, in order."""
    for item in _seq(tree, "items"):
        for ind in _seq(item, "indicators"):
            for rule in _seq(ind, "rules"):
                yield item, ind, rule


def _parts(tree: Any) -> Iterator[tuple[str, Any, int, Any]]:
    """(rule id, rule node, part number from 1, part node) of the file, in order."""
    for _, _, rule in _rules(tree):
        for n, part in enumerate(_seq(rule, "parts"), 1):
            yield str(rule.get("id")), rule, n, part


def _part_name(rule_id: str, rule: Any, n: int) -> str:
    return f"规则 {rule_id}" if len(_seq(rule, "parts")) == 1 else f"规则 {rule_id} 第 {n} 部分"


# ----------------------------------------------------------------------------------------------- references


def _text_line(lines: list[str], start: int, text: str) -> int:
    """The first line at or after `start` holding `text` (a list's items keep no line of their own)."""
    for n in range(max(start, 1), len(lines) + 1):
        if text in lines[n - 1]:
            return n
    return start


def _token_line(lines: list[str], start: int, token: str) -> int:
    """The first line at or after `start` where `token` is written as a whole word (a flow list may wrap)."""
    word = re.compile(rf"(?<![\w.]){re.escape(token)}(?![\w.])")
    for n in range(max(start, 1), len(lines) + 1):
        if word.search(lines[n - 1]):
            return n
    return start


def _value_keys(part: Any, lines: list[str]) -> list[tuple[str, int]]:
    """The data keys a part's value reads, each with the line it is written on."""
    value = part.get("value")
    if isinstance(value, str):
        return [(value, _line(part, "value"))]
    if not isinstance(value, dict):
        return []
    out = []
    for name in _VALUE_KEYS:
        keys = value.get(name)
        for key in ([keys] if isinstance(keys, str) else keys if isinstance(keys, list) else []):
            out.append((str(key), _token_line(lines, _line(value, name), str(key))))
    return out


def _switch_refs(node: Any) -> Iterator[tuple[str, int]]:
    """Every `{switch: X}` inside a node, with the line it is written on."""
    if isinstance(node, dict):
        if set(node) == {"switch"}:
            yield str(node["switch"]), _line(node)
            return
        for v in node.values():
            yield from _switch_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _switch_refs(v)


def _when_findings(node: Any, name: str, switches: dict[str, list]) -> list[Finding]:
    """A `when` naming a switch or option that does not exist."""
    when = node.get("when")
    out = []
    for sid, option in (when.items() if isinstance(when, dict) else ()):
        line = _line(when, sid)
        if str(sid) not in switches:
            out.append(Finding(line, f"{name} 的 when 引用了未定义的开关「{sid}」"))
        elif option not in switches[str(sid)]:
            out.append(Finding(line, f"{name} 的 when 引用了开关 {sid} 没有的选项「{option}」"
                                     f"（可选：{'、'.join(map(str, switches[str(sid)]))}）"))
    return out


def reference_findings(tree: Any, lines: list[str]) -> list[Finding]:
    """Data keys, switches, options and rule ids the file names but does not define."""
    keys = {str(f.get("key")) for f in _seq(tree, "fields")}
    switches_node = tree.get("switches") if isinstance(tree, dict) else None
    switches = {str(sid): list(node.get("options") or ()) if isinstance(node, dict) else []
                for sid, node in (switches_node.items() if isinstance(switches_node, dict) else ())}
    out: list[Finding] = []
    for rule_id, rule, n, part in _parts(tree):
        name = _part_name(rule_id, rule, n)
        for key, line in _value_keys(part, lines):
            if key not in keys:
                out.append(Finding(line, f"{name} 读取的数据键「{key}」未在 fields 中定义"))
        for sid, line in _switch_refs({k: v for k, v in part.items() if k in ("value", "params")}):
            if sid not in switches:
                out.append(Finding(line, f"{name} 引用了未定义的开关「{sid}」（已定义：{'、'.join(switches)}）"))
        out.extend(_when_findings(part, name, switches))
    for _, _, rule in _rules(tree):
        for n, evidence in enumerate(_seq(rule, "evidence"), 1):
            name = f"规则 {rule.get('id')} 佐证资料 {n}"
            claims = evidence.get("claims")
            for key in [claims] if isinstance(claims, str) else claims if isinstance(claims, list) else []:
                if str(key) not in keys:
                    out.append(Finding(_token_line(lines, _line(evidence, "claims"), str(key)),
                                       f"{name} 的 claims 引用的数据键「{key}」未在 fields 中定义"))
            out.extend(_when_findings(evidence, name, switches))
    rule_ids = {str(rule.get("id")) for _, _, rule in _rules(tree)}
    for f in _seq(tree, "fields"):
        if f.get("rule") not in (None, "") and str(f["rule"]) not in rule_ids:
            out.append(Finding(_line(f, "rule"), f"字段 {f.get('key')} 的 rule「{f['rule']}」不是细则中的规则编号"))
    return out


# ------------------------------------------------------------------------------------------------ verbatim


def quotes(tree: Any, lines: list[str]) -> list[Quote]:
    """Every sentence the file claims to take from its notice, with its line (an alias's text: where written).

    lines: the file's text lines, where a sentence written as a list item (submission guidance) is looked up.
    """
    found: list[Quote] = []

    def add(node: Any, key: str, where: str, exact: bool = True) -> None:
        if isinstance(node, dict) and key in node:
            found.append(Quote(where, "" if node[key] is None else str(node[key]), _line(node, key), exact))

    for sid, switch in (tree.get("switches") or {}).items():
        add(switch, "quote", f"开关 {sid} 的 quote")
    add(tree.get("totals"), "quote", "totals 的 quote")
    for item in _seq(tree, "items"):
        number = item.get("number")
        add(item, "name", f"第 {number} 项的 name", exact=False)
        add(item, "heading", f"第 {number} 项的 heading")
        for ind in _seq(item, "indicators"):
            for key in ("content", "scoring", "method", "points_text"):
                add(ind, key, f"指标 {ind.get('id')} 的 {key}")
            add(ind, "name", f"指标 {ind.get('id')} 的 name", exact=False)
    sub = tree.get("submission")
    for key in ("quote", "send_to", "contact", "phone"):
        add(sub, key, f"submission 的 {key}")
    for doc in _seq(sub, "documents"):
        add(doc, "quote", f"submission 文件 {doc.get('key')} 的 quote")
    guidance = sub.get("guidance") if isinstance(sub, dict) else None
    for n, sentence in enumerate(guidance if isinstance(guidance, list) else [], 1):
        found.append(Quote(f"submission 的 guidance 第 {n} 句", str(sentence),
                           _text_line(lines, _line(sub, "guidance"), str(sentence))))
    remarks = tree.get("remarks")
    for n, sentence in enumerate(remarks if isinstance(remarks, list) else [], 1):
        found.append(Quote(f"remarks 第 {n} 句", str(sentence), _text_line(lines, _line(tree, "remarks"), str(sentence))))
    for _, _, rule in _rules(tree):
        add(rule, "text", f"规则 {rule.get('id')} 的 text")
        for n, evidence in enumerate(_seq(rule, "evidence"), 1):
            add(evidence, "requirement", f"规则 {rule.get('id')} 佐证资料 {n} 的 requirement")
            add(evidence, "method", f"规则 {rule.get('id')} 佐证资料 {n} 的 method")
    for rule_id, rule, n, part in _parts(tree):
        name = _part_name(rule_id, rule, n)
        add(part, "text", f"{name} 的 text")
        params = part.get("params")
        for tier in _seq(params, "tiers") if isinstance(params, dict) else ():
            add(tier, "text", f"{name} 分档 {tier.get('at')} 的 text")
    unique = {(q.line, q.text, q.exact): q for q in found}  # an alias (&, *) quotes the same lines twice
    return list(unique.values())


def _squash(text: str) -> str:
    """Whitespace removed (the notice's table cells wrap inside words) and '，' read as ','."""
    return re.sub(r"\s+", "", text).replace("，", ",")


def quote_finding(quote: Quote, notice: str) -> Finding | None:
    if not quote.text.strip():
        return Finding(quote.line, f"{quote.where} 为空：应为通知原文中的一句")
    if quote.text in notice or (not quote.exact and _squash(quote.text) in _squash(notice)):
        return None
    how = "逐字" if quote.exact else "（不计空白）"
    return Finding(quote.line, f"{quote.where} 未{how}见于通知原文：「{quote.text}」")


def verbatim_findings(tree: Any, notice: str, lines: list[str]) -> list[Finding]:
    return [f for f in (quote_finding(q, notice) for q in quotes(tree, lines)) if f is not None]


# -------------------------------------------------------------------------------------------------- points


def best_score(part: Part, params: dict) -> Decimal:
    """The most a part can give, as its kind declares it."""
    return kind_of(part.kind).best(params)


def _sum_text(values: list[Decimal]) -> str:
    return "＋".join(_num(v) for v in values)


def points_findings(rubric: Rubric, tree: Any) -> list[Finding]:
    """Rules → indicator → item → base total (totals.full); bonus and deduction items within themselves."""
    out: list[Finding] = []
    switches = Switches(rubric)
    for item_node, item in zip(_seq(tree, "items"), rubric.items):
        for ind_node, ind in zip(_seq(item_node, "indicators"), item.indicators):
            for rule_node, rule in zip(_seq(ind_node, "rules"), ind.rules):
                try:
                    best = sum((best_score(p, switches.resolve(p.params)) for p in rule.parts if switches.active(p)),
                               ZERO)
                except Exception as exc:  # noqa: BLE001 - a parameter the engine cannot compute with is the problem
                    out.append(Finding(_line(rule_node, "parts"), f"规则 {rule.id} 的计分参数无法计算：{exc}"))
                    continue
                if best != rule.points:
                    out.append(Finding(_line(rule_node, "points"),
                                       f"规则 {rule.id} 的分值为 {_num(rule.points)}，但在默认设置下其计分部分最多得 "
                                       f"{_num(best)} 分"))
            rules = [r.points for r in ind.rules]
            if sum(rules, ZERO) != ind.points:
                out.append(Finding(_line(ind_node, "points"),
                                   f"指标 {ind.id} 的分值为 {_num(ind.points)}，但其规则分值之和为 "
                                   f"{_sum_text(rules)}＝{_num(sum(rules, ZERO))}"))
        inds = [i.points for i in item.indicators]
        if sum(inds, ZERO) != item.points:
            out.append(Finding(_line(item_node, "points"),
                               f"第 {item.number} 项的分值为 {_num(item.points)}，但其指标分值之和为 "
                               f"{_sum_text(inds)}＝{_num(sum(inds, ZERO))}"))
    totals_node = tree.get("totals")
    full, cap, floor = (Decimal(str(rubric.totals[k])) for k in ("full", "cap", "floor"))
    base = [i for i in rubric.items if i.role == "base"]
    base_sum = sum((i.points for i in base), ZERO)
    if base_sum != full:
        listed = "、".join(f"第 {i.number} 项 {_num(i.points)}" for i in base)
        out.append(Finding(_line(totals_node, "full"),
                           f"基础项（role: base）的分值之和为 {_num(base_sum)}（{listed}），应等于 totals.full "
                           f"{_num(full)}"))
    if cap < full:
        out.append(Finding(_line(totals_node, "cap"), f"totals.cap {_num(cap)}（加分后总分的上限）小于 totals.full "
                                                      f"{_num(full)}"))
    if not ZERO <= floor <= full:
        out.append(Finding(_line(totals_node, "floor"), f"totals.floor {_num(floor)} 应在 0～{_num(full)} 之间"))
    return out


# --------------------------------------------------------------------------------------------------- cases


def case_checks(rubric: Rubric, tree: Any) -> list[CaseCheck]:
    """Every `cases` entry of the file, with the part it belongs to and its line."""
    out = []
    parts = [(rule_id, rule, n, node) for rule_id, rule, n, node in _parts(tree)]
    for (rule_id, rule, n, node), part in zip(parts, (p for r in rubric.rules for p in r.parts)):
        for case_node, case in zip(_seq(node, "cases"), part.cases):
            out.append(CaseCheck(_part_name(rule_id, rule, n), _line(case_node), part, case.given, case.expect,
                                 case.note))
    return out


def case_finding(rubric: Rubric, check: CaseCheck) -> Finding | None:
    """The case computed as the engine scores (the switches the part runs under, defaults otherwise)."""
    params = Switches(rubric, check.part.when).resolve(check.part.params)
    try:
        got = score_given(check.part, check.given, params)
    except Exception as exc:  # noqa: BLE001 - whatever the engine raises on this input is the problem to report
        return Finding(check.line, f"{check.where} 的案例 given {_shown(check.given)} 计算出错：{exc}")
    if got != check.expect:
        return Finding(check.line, f"{check.where} 的案例 given {_shown(check.given)}：写的是 expect {_num(check.expect)}，"
                                   f"按规则计算得 {_num(got)}")
    return None


def case_findings(rubric: Rubric, tree: Any) -> list[Finding]:
    out = []
    parts = [(rule_id, rule, n, node) for rule_id, rule, n, node in _parts(tree)]
    for (rule_id, rule, n, node), part in zip(parts, (p for r in rubric.rules for p in r.parts)):
        if not part.cases:
            out.append(Finding(_line(node), f"{_part_name(rule_id, rule, n)}（{part.kind}）没有 cases：请按评分办法"
                                            "写出案例（given 输入、expect 得分）"))
    out.extend(f for f in (case_finding(rubric, c) for c in case_checks(rubric, tree)) if f is not None)
    return out


# ------------------------------------------------------------------------------------------------ the file


def _from_error(exc: RubricError) -> Finding:
    m = _LINE_IN_MESSAGE.search(str(exc))
    return Finding(int(m[1]), m[2]) if m else Finding(0, str(exc))


def check_file(path: Path | str) -> Checked:
    """Every check on one rubric file; the notice is read relative to the file."""
    checked = Checked(Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        checked.findings.append(Finding(0, "找不到细则文件"))
        return checked
    except (OSError, UnicodeDecodeError) as exc:
        checked.findings.append(Finding(0, f"无法读取细则文件（应为 UTF-8 文本）：{exc}"))
        return checked
    lines = text.splitlines()
    try:
        tree = read_tree(text, str(path))
    except RubricError as exc:
        checked.findings.append(_from_error(exc))
        checked.incomplete = True
        return checked
    findings = reference_findings(tree, lines)
    try:
        rubric = parse_rubric(text, str(path))
    except RubricError as exc:
        # the schema stops at its first problem, most likely one of the references listed (and more exactly)
        checked.findings = sorted(findings, key=lambda f: f.line) or [_from_error(exc)]
        checked.incomplete = True
        return checked
    checked.rubric = rubric
    source = notice_path(rubric)
    try:
        notice = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        notice = None
        findings.append(Finding(_line(tree["document"], "source"),
                                f"无法读取 document.source 指向的通知原文「{source}」（路径相对于细则文件所在的文件夹，"
                                "应为 UTF-8 文本）"))
    if notice is not None:
        findings.extend(verbatim_findings(tree, notice, lines))
    findings.extend(points_findings(rubric, tree))
    findings.extend(case_findings(rubric, tree))
    checked.findings = sorted(findings, key=lambda f: f.line)
    checked.quotes = len(quotes(tree, lines))
    checked.cases = len(case_checks(rubric, tree))
    return checked
