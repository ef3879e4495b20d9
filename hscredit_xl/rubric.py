"""Load a rubric file (one per issued document) into plain, frozen objects.

The file is strict: an unknown key or a missing required key is an error that names the file and line, so a
typo can never make a rule silently disappear. Numbers are read as Decimal straight from their text.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .calculations import KINDS as CALCULATIONS

RUBRIC_PACKAGE = "hscredit_xl.rubrics"
DEFAULT_RUBRIC = "huangshi-2020.yaml"
KINDS = tuple(CALCULATIONS)  # the kinds of rule, each declared once in calculations.py
# per kind: (required parameters, optional parameters) — any other key is a typo and an error
KIND_PARAMS = {name: (k.required, k.optional) for name, k in CALCULATIONS.items()}
TIER_KEYS = (("at", "points"), ("inclusive", "text"))
GROUP_KEY = re.compile(r"^[a-z][a-z0-9_]*$")  # `applies`: a rule for one group of units (the rubric names it)
FIELD_TYPES = ("text", "count", "number", "rate", "rates", "flag", "score")
ROLES = ("base", "bonus", "deduction")
VALUE_FORMS = ("each", "ratio", "max", "count_yes")  # a value computed from several data keys
DERIVED_FORMS = ("each", "ratio", "max")  # ...of which 数据录入 shows the result in a locked 自动 column
# The choices the engine itself makes, each decided by the switch the rubric's `policies` names; the engine
# knows their options (first = what it does when the rubric names no switch for it).
POLICIES = {
    "ties": ("competition", "dense"),  # places of tied totals: 1、1、3 or 1、1、2
    "rounding": ("per_rule", "end_only"),  # round each rule's score to 2 decimals, or only the total
    "group_absent": ("prorate", "full_marks", "not_scored"),  # a unit outside a rule's group (`applies`)
    "rate_range": ("reject", "clamp"),  # a rate outside 0…100 %
    "difference": ("self_minus_review", "review_minus_self"),  # the sign of 自评 − 复核
    "adjustment": ("reason_required", "no_adjustment"),  # 综合评定 adjustment of the review total
    "weights": ("weights",),  # the result weights of 设置
}


class RubricError(ValueError):
    """A rubric file that does not follow the schema."""


class _Map(dict):
    """A mapping that remembers the line each key was written on (1-based)."""

    line: int = 0
    key_lines: dict


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise RubricError(f"第 {key_node.start_mark.line + 1} 行：键「{key}」重复")
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_decimal(loader: _Loader, node: yaml.ScalarNode) -> Decimal:
    return Decimal(loader.construct_scalar(node))


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


@dataclass(frozen=True)
class Option:
    name: str
    short: str  # what the 设置 sheet's drop-down shows
    label: str
    value: Any


@dataclass(frozen=True)
class Switch:
    id: str
    title: str
    default: str
    options: dict[str, Option]
    quote: str
    reason: str
    on_form: bool = False  # the option in force changes a score a 考评表 shows: the form names it
    ranking: dict = field(default_factory=dict)  # the rounding switch: what a place is decided on ({by, reason})
    note: str = ""  # a warning 设置 shows beside the switch (a contradiction in the text the reader must see)


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    unit: str = ""
    rule: str = ""
    min: Decimal | None = None
    max: Decimal | None = None
    applies: str = ""


@dataclass(frozen=True)
class Case:
    given: Any
    expect: Decimal
    note: str = ""


@dataclass(frozen=True)
class Part:
    kind: str
    value: Any
    params: dict
    text: str = ""
    when: dict = field(default_factory=dict)
    cases: tuple[Case, ...] = ()

    def keys(self) -> list[str]:
        """The data keys this part reads."""
        v = self.value
        if isinstance(v, str):
            return [v]
        for name in ("each", "ratio", "count_yes"):
            if name in v:
                return list(v[name])
        return [v["max"]]


@dataclass(frozen=True)
class Derived:
    """A value computed from the data (a sum, a ratio, a maximum): 数据录入 shows it in a locked 自动 column and
    the rules that score it read it there."""

    key: str
    label: str
    format: str  # the cell's number format
    value: dict  # the value spec, as the rules write it ({each: …}, {ratio: …, if_zero: …}, {max: …})


@dataclass(frozen=True)
class Warning_:
    """A combination of data that is allowed but odd, said as a 提示 (the message is the rubric's words)."""

    key: str  # the field the 提示 names
    message: str
    hint: str
    exceeds: str = ""  # …when key's value is greater than this key's
    at_least: Decimal | None = None  # …when key's value is at least this
    while_no: str = ""  # …and this flag is 否


@dataclass(frozen=True)
class Evidence:
    """One piece of 佐证资料 a unit sends for a rule: what it evidences and why the unit must send it."""

    requirement: str  # the official text of what is evidenced, verbatim
    method: str  # the 考评方式 sentence that asks the units for it, verbatim
    claims: tuple[str, ...]  # data keys: a yes, or a number above 0, claims points this evidence must back
    when: dict = field(default_factory=dict)  # switch options under which the item applies (like a part's)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    points: Decimal
    text: str
    parts: tuple[Part, ...]
    indicator: str
    item: str
    role: str = "base"
    applies: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    points: Decimal
    content: str
    scoring: str
    method: str
    rules: tuple[Rule, ...]
    points_text: str = ""


@dataclass(frozen=True)
class Item:
    number: str
    name: str
    points: Decimal
    indicators: tuple[Indicator, ...]
    role: str = "base"
    heading: str = ""


@dataclass(frozen=True)
class Unit:
    name: str
    public_service: bool  # in the rubric's group (the rules with `applies`), if it has one


@dataclass(frozen=True)
class Group:
    """The units some rules apply to (`applies: KEY`): a unit list says per unit whether it is in the group."""

    key: str  # the units file's column and the rubric's unit flag
    rule_ids: tuple[str, ...]
    names: tuple[str, ...]  # the rules' indicator names

    @property
    def rules_text(self) -> str:
        return "、".join(self.rule_ids)

    @property
    def label(self) -> str:
        """「参加1.3考核」: 设置's column header and the name of the flag in messages."""
        return f"参加{self.rules_text}考核"

    @property
    def not_in(self) -> str:
        return f"不参加 {self.rules_text} 考核"

    @property
    def help(self) -> str:
        named = "、".join(f"{i}（{n}）" for i, n in zip(self.rule_ids, self.names))
        return f"该单位是否参加{named}考核：从下拉列表选择 是 或 否。"


@dataclass(frozen=True)
class Weight:
    name: str
    weight: Decimal


@dataclass(frozen=True)
class Document:
    """A paper besides the score sheet the units send (工作总结, 工作打算)."""

    key: str
    label: str
    quote: str


@dataclass(frozen=True)
class Submission:
    """What the units send back, by when and to whom (the notice's 自查自评 paragraph)."""

    quote: str
    deadline: dt.date
    deadline_day_counts: bool  # True: received on the deadline day itself is on time
    reason: str
    send_to: str
    contact: str
    phone: str
    documents: tuple[Document, ...]
    guidance: tuple[str, ...]

    def on_time(self, received: dt.date) -> bool:
        return received <= self.deadline if self.deadline_day_counts else received < self.deadline


@dataclass(frozen=True)
class Rubric:
    path: str  # the file it was read from (absolute), or a name for a rubric parsed from text
    document: dict
    units: tuple[Unit, ...]
    fields: tuple[Field, ...]
    switches: dict[str, Switch]
    weights: tuple[Weight, ...]
    totals: dict
    items: tuple[Item, ...]
    submission: Submission | None = None
    remarks: tuple[str, ...] = ()  # 备注 under the official table, verbatim
    policies: dict[str, str] = field(default_factory=dict)  # POLICIES name -> the switch that decides it
    derived: tuple[Derived, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    sha256: str | None = None  # of the file's bytes (read_rubric, load_rubric); None when parsed from text

    @cached_property
    def group(self) -> Group | None:
        """The one group of units some rules apply to, or None."""
        rules = [r for r in self.rules if r.applies]
        if not rules:
            return None
        inds = {i.id: i.name for i in self.indicators}
        return Group(rules[0].applies, tuple(r.id for r in rules), tuple(inds.get(r.indicator, r.name) for r in rules))

    def policy(self, choices, name: str) -> str:
        """The option in force for one of the engine's choices (POLICIES): the chosen option of the switch the
        rubric names for it, or the engine's first option when the rubric names none."""
        sid = self.policies.get(name)
        if not sid:
            return POLICIES[name][0]
        return (choices or {}).get(sid) or self.switches[sid].default

    def policy_switch(self, name: str) -> Switch | None:
        sid = self.policies.get(name)
        return self.switches[sid] if sid else None

    def policy_note(self, name: str) -> str:
        """'（A11）' naming the switch that decides a policy, for a message; '' when the rubric names none."""
        sid = self.policies.get(name)
        return f"（{sid}）" if sid else ""

    def derived_of(self, spec) -> Derived | None:
        """The declared derived value a rule's value spec reads (None for a data key or a count of yes)."""
        if not isinstance(spec, dict) or not set(spec) & set(DERIVED_FORMS):
            return None
        for d in self.derived:
            if d.value == spec:
                return d
        raise KeyError(f"未声明的派生值：{spec!r}")

    @property
    def rates_field(self) -> Field | None:
        """The one field of type `rates` (one rate per department, typed on its own detail sheet), if any."""
        return next((f for f in self.fields if f.type == "rates"), None)

    @property
    def rates_key(self) -> str | None:
        return self.rates_field.key if self.rates_field else None

    @property
    def year(self) -> int:
        return int(self.document["year"])

    @property
    def version(self) -> str:
        return str(self.document["rubric_version"])

    # computed once (the engine asks for them per unit; the rubric never changes): a fresh list each time
    @property
    def indicators(self) -> list[Indicator]:
        return list(self._indicators)

    @property
    def rules(self) -> list[Rule]:
        return list(self._rules)

    @property
    def base_rules(self) -> list[Rule]:
        return list(self._base_rules)

    @cached_property
    def _indicators(self) -> tuple[Indicator, ...]:
        return tuple(ind for item in self.items for ind in item.indicators)

    @cached_property
    def _rules(self) -> tuple[Rule, ...]:
        return tuple(rule for ind in self._indicators for rule in ind.rules)

    @cached_property
    def _base_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self._rules if r.role == "base")

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def field(self, key: str) -> Field:
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    @property
    def default_choices(self) -> dict[str, str]:
        return {sid: s.default for sid, s in self.switches.items()}


# ---------------------------------------------------------------------------------------------------------
# Schema checking: each reader takes a mapping, the keys it requires and the keys it allows, and reports the
# file's line of whatever is wrong.


class _Reader:
    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, message: str) -> RubricError:
        return RubricError(f"{self.path} 第 {line} 行：{message}")

    def mapping(self, node: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> _Map:
        if not isinstance(node, _Map):
            raise RubricError(f"{self.path}：{where} 应为映射（键: 值），收到「{node!r}」")
        for key in node:
            if key not in required and key not in optional:
                allowed = "、".join(required + optional)
                raise self.fail(node.key_lines[key], f"{where} 中有未知的键「{key}」（允许：{allowed}）")
        for key in required:
            if key not in node:
                raise self.fail(node.line, f"{where} 缺少必需的键「{key}」")
        return node

    def seq(self, node: _Map, key: str) -> list:
        value = node[key]
        if not isinstance(value, list) or not value:
            raise self.fail(node.key_lines[key], f"「{key}」应为非空列表")
        return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _read_switch(r: _Reader, sid: str, node: Any) -> Switch:
    m = r.mapping(node, f"开关 {sid}", ("title", "default", "options", "quote", "reason"), ("on_form", "ranking", "note"))
    options = {}
    for name, opt in r.mapping(m["options"], f"开关 {sid} 的 options", tuple(m["options"] or ())).items():
        o = r.mapping(opt, f"开关 {sid} 选项 {name}", ("short", "label"), ("value",))
        options[name] = Option(name, str(o["short"]), o["label"], o.get("value", name))
    if m["default"] not in options:
        raise r.fail(m.key_lines["default"], f"开关 {sid} 的默认值「{m['default']}」不在选项中")
    ranking = {}
    if "ranking" in m:
        ranking = dict(r.mapping(m["ranking"], f"开关 {sid} 的 ranking", ("by", "reason")))
        if ranking["by"] not in ("shown_total", "exact"):
            raise r.fail(m.key_lines["ranking"], f"开关 {sid} 的 ranking.by「{ranking['by']}」未知（允许：shown_total、exact）")
    return Switch(sid, m["title"], m["default"], options, m["quote"], m["reason"], bool(m.get("on_form", False)),
                  ranking, _text(m.get("note")))


def _read_part(r: _Reader, rule_id: str, node: Any, switches: dict[str, Switch]) -> Part:
    m = r.mapping(node, f"规则 {rule_id} 的计分部分", ("kind", "value", "params"), ("text", "when", "cases"))
    if m["kind"] not in KINDS:
        raise r.fail(m.key_lines["kind"], f"未知的计算类型「{m['kind']}」（允许：{'、'.join(KINDS)}）")
    value = m["value"]
    if isinstance(value, _Map):
        r.mapping(value, f"规则 {rule_id} 的 value", (), VALUE_FORMS + ("if_zero",))
        if len(set(value) & set(VALUE_FORMS)) != 1:
            raise r.fail(value.line, f"规则 {rule_id} 的 value 应恰有 each、ratio、max、count_yes 之一")
    elif not isinstance(value, str):
        raise r.fail(m.key_lines["value"], f"规则 {rule_id} 的 value 应为数据键或映射")
    when = m.get("when") or {}
    for sid, option in when.items():
        if sid not in switches or option not in switches[sid].options:
            raise r.fail(m.key_lines["when"], f"规则 {rule_id} 的 when 引用了不存在的开关或选项「{sid}: {option}」")
    required, optional = KIND_PARAMS[m["kind"]]
    params = r.mapping(m["params"], f"规则 {rule_id} 的 params（{m['kind']}）", required, optional)
    for tier in params.get("tiers") or ():
        r.mapping(tier, f"规则 {rule_id} 的分档", *TIER_KEYS)
    _check_switch_refs(r, m["params"], switches, m.key_lines["params"])
    cases = []
    for c in m.get("cases") or ():
        cm = r.mapping(c, f"规则 {rule_id} 的案例", ("given", "expect"), ("note",))
        cases.append(Case(cm["given"], _decimal(cm["expect"]), _text(cm.get("note"))))
    return Part(m["kind"], value, dict(m["params"]), _text(m.get("text")), dict(when), tuple(cases))


def _check_switch_refs(r: _Reader, node: Any, switches: dict[str, Switch], line: int) -> None:
    if isinstance(node, dict):
        if set(node) == {"switch"} and node["switch"] not in switches:
            raise r.fail(getattr(node, "line", line), f"引用了不存在的开关「{node['switch']}」")
        for v in node.values():
            _check_switch_refs(r, v, switches, getattr(node, "line", line))
    elif isinstance(node, list):
        for v in node:
            _check_switch_refs(r, v, switches, line)


def _line_of(part_node: _Map, key: str) -> int:
    """The line a data key is written on inside a part's value (for a precise error)."""
    value = part_node.get("value")
    if isinstance(value, _Map):
        return value.line
    return part_node.key_lines.get("value", part_node.line)


def parse_rubric(text: str, path: str = "<rubric>") -> Rubric:
    r = _Reader(path)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        raise RubricError(f"{path}：不是有效的 YAML：{exc}") from None
    top = r.mapping(data, "评分细则文件", ("schema", "document", "units", "fields", "switches", "weights", "totals", "items"),
                    ("submission", "remarks", "policies", "derived", "warnings"))
    if top["schema"] not in (1, 2):
        raise r.fail(top.key_lines["schema"], f"不支持的 schema「{top['schema']}」（支持 1、2）")
    document = r.mapping(top["document"], "document",
                         ("number", "title", "attachment", "issuer", "issued", "year", "source", "rubric_version"),
                         ("result_title",))
    group_key = _group_key(r, top)
    flag = (group_key,) if group_key else ()
    units = tuple(Unit(u["name"], bool(u[group_key]) if group_key else False)
                  for u in (r.mapping(x, "units", ("name",) + flag) for x in r.seq(top, "units")))
    fields = []
    for node in r.seq(top, "fields"):
        f = r.mapping(node, "fields", ("key", "label", "type"), ("unit", "rule", "min", "max", "applies"))
        if f["type"] not in FIELD_TYPES:
            raise r.fail(f.key_lines["type"], f"字段 {f['key']} 的类型「{f['type']}」未知（允许：{'、'.join(FIELD_TYPES)}）")
        fields.append(Field(f["key"], f["label"], f["type"], _text(f.get("unit")), _text(f.get("rule")),
                            _decimal(f["min"]) if "min" in f else None, _decimal(f["max"]) if "max" in f else None,
                            _text(f.get("applies"))))
    keys = {f.key for f in fields}
    rates = [n for n, f in zip(r.seq(top, "fields"), fields) if f.type == "rates"]
    if len(rates) > 1:
        raise r.fail(rates[1].line, "只能有一个 rates 类型的字段（它在「瞒报率明细」表逐个部门填写）")
    switches_node = r.mapping(top["switches"], "switches", tuple(top["switches"] or ()))
    switches = {sid: _read_switch(r, sid, node) for sid, node in switches_node.items()}
    weights = tuple(Weight(w["name"], _decimal(w["weight"]))
                    for w in (r.mapping(x, "weights", ("name", "weight")) for x in r.seq(top, "weights")))
    totals = r.mapping(top["totals"], "totals", ("full", "cap", "floor", "quote"))
    items = []
    for item_node in r.seq(top, "items"):
        im = r.mapping(item_node, "items", ("number", "name", "points", "indicators"), ("role", "heading"))
        role = im.get("role", "base")
        if role not in ROLES:
            raise r.fail(im.key_lines["role"], f"未知的 role「{role}」（允许：{'、'.join(ROLES)}）")
        indicators = []
        for ind_node in r.seq(im, "indicators"):
            dm = r.mapping(ind_node, f"第 {im['number']} 项的指标",
                           ("id", "name", "points", "content", "scoring", "method", "rules"), ("points_text",))
            rules = []
            for rule_node in r.seq(dm, "rules"):
                rm = r.mapping(rule_node, f"指标 {dm['id']} 的规则", ("id", "name", "points", "text", "parts"),
                               ("applies", "evidence"))
                part_nodes = r.seq(rm, "parts")
                parts = tuple(_read_part(r, rm["id"], p, switches) for p in part_nodes)
                for node, p in zip(part_nodes, parts):
                    for key in p.keys():
                        if key not in keys:
                            raise r.fail(_line_of(node, key), f"规则 {rm['id']} 引用了未定义的数据键「{key}」")
                evidence = tuple(_read_evidence(r, str(rm["id"]), node, switches, keys)
                                 for node in (r.seq(rm, "evidence") if "evidence" in rm else ()))
                rules.append(Rule(str(rm["id"]), rm["name"], _decimal(rm["points"]), _text(rm["text"]), parts,
                                  str(dm["id"]), str(im["number"]), role, _text(rm.get("applies")), evidence))
            indicators.append(Indicator(str(dm["id"]), dm["name"], _decimal(dm["points"]), _text(dm["content"]),
                                        _text(dm["scoring"]), _text(dm["method"]), tuple(rules),
                                        _text(dm.get("points_text"))))
        items.append(Item(str(im["number"]), im["name"], _decimal(im["points"]), tuple(indicators), role,
                          _text(im.get("heading"))))
    ids = [rule.id for item in items for ind in item.indicators for rule in ind.rules]
    if len(ids) != len(set(ids)):
        raise RubricError(f"{path}：规则编号重复：{sorted({i for i in ids if ids.count(i) > 1})}")
    for node, f in zip(r.seq(top, "fields"), fields):
        if f.rule and f.rule not in ids:
            raise r.fail(node.key_lines["rule"], f"字段 {f.key} 的 rule「{f.rule}」不是细则中的规则编号")
    in_group = {rule.id for item in items for ind in item.indicators for rule in ind.rules if rule.applies}
    fields = [replace(f, applies=group_key) if f.rule in in_group and not f.applies else f for f in fields]
    submission = _read_submission(r, top["submission"]) if "submission" in top else None
    remarks = tuple(_text(x) for x in r.seq(top, "remarks")) if "remarks" in top else ()
    policies = _read_policies(r, top, switches)
    specs = [p.value for item in items for ind in item.indicators for rule in ind.rules for p in rule.parts]
    derived = _read_derived(r, top, specs, keys, switches, fields)
    warnings = tuple(_read_warning(r, node, keys) for node in r.seq(top, "warnings")) if "warnings" in top else ()
    return Rubric(path, dict(document), units, tuple(fields), switches, weights, dict(totals), tuple(items),
                  submission, remarks, policies, derived, warnings)


def _mappings(nodes) -> list:
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _group_key(r: _Reader, top: _Map) -> str:
    """The `applies` value the fields and rules use (one group at most), '' when every rule applies to every
    unit. The first one written decides; a different one later (a typo) is an error on its line."""
    found: tuple[str, int] | None = None
    nodes = _mappings(top.get("fields"))  # what is not a mapping is said on its line by the reading after this
    for item in _mappings(top.get("items")):
        for ind in _mappings(item.get("indicators")):
            nodes += _mappings(ind.get("rules"))
    for node in nodes:
        applies = node.get("applies")
        if not applies:
            continue
        line = node.key_lines["applies"]
        if not isinstance(applies, str) or not GROUP_KEY.match(applies):
            raise r.fail(line, f"applies「{applies}」应为小写英文标识（如 some_units）")
        if found is None:
            found = (applies, line)
        elif applies != found[0]:
            raise r.fail(line, f"applies「{applies}」与第 {found[1]} 行的「{found[0]}」不同：细则只能有一组单位")
    return found[0] if found else ""


def _read_policies(r: _Reader, top: _Map, switches: dict[str, Switch]) -> dict[str, str]:
    """`policies`: which switch decides each of the engine's own choices; its options must be the engine's."""
    if "policies" not in top:
        return {}
    m = r.mapping(top["policies"], "policies", (), tuple(POLICIES))
    for name, sid in m.items():
        line = m.key_lines[name]
        if sid not in switches:
            raise r.fail(line, f"policies 的 {name} 引用了不存在的开关「{sid}」")
        unknown = sorted(set(switches[sid].options) - set(POLICIES[name]))
        if unknown:
            raise r.fail(line, f"开关 {sid} 决定 {name}，其选项 {unknown} 不是本工具能执行的（允许：{'、'.join(POLICIES[name])}）")
    return dict(m)


def _read_derived(r: _Reader, top: _Map, specs: list, keys: set[str], switches: dict[str, Switch],
                  fields: list[Field]) -> tuple[Derived, ...]:
    """`derived`: the values computed from the data that the rules score. Each {each|ratio|max} value spec of a
    rule must be declared here (schema 2); a schema-1 file gets one generated per spec, named after its keys."""
    wanted = []
    for spec in specs:
        if isinstance(spec, dict) and set(spec) & set(DERIVED_FORMS) and spec not in wanted:
            wanted.append(spec)
    types = {f.key: f.type for f in fields}
    if "derived" not in top:
        if top["schema"] != 1:
            if wanted:
                raise r.fail(top.line, "细则的规则读取合计/比率/最高值：请在 derived 中声明（schema 2）")
            return ()
        out = []
        for spec in wanted:
            form = next(f for f in DERIVED_FORMS if f in spec)
            first = spec[form] if isinstance(spec[form], str) else spec[form][0]
            label = {"each": "合计", "ratio": "比率", "max": "最高值"}[form]
            fmt = "0.00%" if form == "ratio" or types.get(first) in ("rate", "rates") else "0.##"
            out.append(Derived(f"{first}_{form}", f"{label}（自动）", fmt, dict(spec)))
        return tuple(out)
    out = []
    for node in r.seq(top, "derived"):
        m = r.mapping(node, "derived", ("key", "label", "format", "value"))
        spec = m["value"]
        if not isinstance(spec, dict) or len(set(spec) & set(DERIVED_FORMS)) != 1:
            raise r.fail(m.key_lines["value"], f"派生值 {m['key']} 的 value 应恰有 {'、'.join(DERIVED_FORMS)} 之一")
        r.mapping(spec, f"派生值 {m['key']} 的 value", (), DERIVED_FORMS + ("if_zero",))
        if m["key"] in keys:
            raise r.fail(m.key_lines["key"], f"派生值的键「{m['key']}」与数据键重名")
        if spec not in wanted:
            raise r.fail(m.key_lines["value"], f"派生值 {m['key']} 没有规则读取（value 应与某条规则的 value 完全相同）")
        _check_switch_refs(r, spec, switches, m.key_lines["value"])
        out.append(Derived(str(m["key"]), _text(m["label"]), str(m["format"]), dict(spec)))
    for spec in wanted:
        if not any(d.value == spec for d in out):
            raise r.fail(top.key_lines["derived"], f"规则读取的 {dict(spec)} 未在 derived 中声明")
    return tuple(out)


def _read_warning(r: _Reader, node: Any, keys: set[str]) -> Warning_:
    m = r.mapping(node, "warnings", ("key", "message", "hint"), ("exceeds", "at_least", "while_no"))
    for name in ("key", "exceeds", "while_no"):
        if name in m and m[name] not in keys:
            raise r.fail(m.key_lines[name], f"warnings 引用了未定义的数据键「{m[name]}」")
    if ("exceeds" in m) == ("at_least" in m):
        raise r.fail(m.line, "warnings 的一条应恰有 exceeds 或 at_least 之一")
    return Warning_(str(m["key"]), _text(m["message"]), _text(m["hint"]), _text(m.get("exceeds")),
                    _decimal(m["at_least"]) if "at_least" in m else None, _text(m.get("while_no")))


def _read_evidence(r: _Reader, rule_id: str, node: Any, switches: dict[str, Switch], keys: set[str]) -> Evidence:
    m = r.mapping(node, f"规则 {rule_id} 的佐证资料", ("requirement", "method", "claims"), ("when",))
    claims = m["claims"] if isinstance(m["claims"], list) else [m["claims"]]
    for key in claims:
        if key not in keys:
            raise r.fail(m.key_lines["claims"], f"规则 {rule_id} 的佐证资料引用了未定义的数据键「{key}」")
    when = m.get("when") or {}
    for sid, option in when.items():
        if sid not in switches or option not in switches[sid].options:
            raise r.fail(m.key_lines["when"], f"规则 {rule_id} 的佐证资料 when 引用了不存在的开关或选项「{sid}: {option}」")
    return Evidence(_text(m["requirement"]), _text(m["method"]), tuple(claims), dict(when))


def _read_submission(r: _Reader, node: Any) -> Submission:
    m = r.mapping(node, "submission", ("quote", "deadline", "deadline_day_counts", "reason", "send_to", "contact",
                                       "phone", "documents", "guidance"))
    try:
        deadline = dt.date.fromisoformat(str(m["deadline"]))
    except ValueError:
        raise r.fail(m.key_lines["deadline"], f"截止日期「{m['deadline']}」应为 YYYY-MM-DD") from None
    documents = tuple(Document(d["key"], d["label"], d["quote"])
                      for d in (r.mapping(x, "submission 的 documents", ("key", "label", "quote"))
                                for x in r.seq(m, "documents")))
    return Submission(_text(m["quote"]), deadline, bool(m["deadline_day_counts"]), _text(m["reason"]),
                      _text(m["send_to"]), _text(m["contact"]), _text(m["phone"]), documents,
                      tuple(_text(g) for g in r.seq(m, "guidance")))


def rubric_path(name: str = DEFAULT_RUBRIC) -> Path:
    return Path(str(resources.files(RUBRIC_PACKAGE).joinpath(name)))


def load_rubric(name: str = DEFAULT_RUBRIC) -> Rubric:
    """The rubric shipped in the package (cached: it is immutable; one object per file, however it is named)."""
    return _load_shipped(name)


@cache
def _load_shipped(name: str) -> Rubric:
    return read_rubric(rubric_path(name))


def read_rubric(path: Path | str, data: bytes | None = None) -> Rubric:
    """A rubric file at any path; its notice is found beside it (notice_path). The rubric knows its file (the
    absolute path, as given: symbolic links are not followed) and the SHA-256 of the file's bytes. `data`: the
    file's bytes already read (and checked) by the caller, parsed as they are rather than read again."""
    data = Path(path).read_bytes() if data is None else data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RubricError(f"{path}：不是 UTF-8 编码的文本文件（第 {exc.start + 1} 个字节）") from None
    rubric = parse_rubric(text, str(path))
    return replace(rubric, path=str(Path(path).absolute()), sha256=file_sha256(data))


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shipped_rubrics() -> dict[str, Path]:
    """The rubric files shipped in the package, by file name."""
    folder = rubric_path().parent
    return {p.name: p for p in sorted(folder.glob("*.yaml"))}


@cache
def shipped_digests() -> dict[str, str]:
    """SHA-256 -> file name of every shipped rubric (the package's files do not change while we run)."""
    return {file_sha256(p.read_bytes()): name for name, p in shipped_rubrics().items()}


def is_shipped(rubric: Rubric) -> bool:
    """Whether the rubric was read from the package's own rubric folder."""
    if rubric.sha256 is None:
        return False
    try:
        return Path(rubric.path).parent.resolve() == rubric_path().parent.resolve()
    except OSError:
        return False


def notice_path(rubric: Rubric) -> Path:
    """The official notice the rubric was read from: document.source, relative to the rubric file."""
    return Path(rubric.path).parent / str(rubric.document["source"])


def source_text(rubric: Rubric) -> str:
    """The official notice the rubric was read from, shipped beside it."""
    return notice_path(rubric).read_text(encoding="utf-8")
