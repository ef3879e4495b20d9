"""Turn what people typed (CSV text or workbook cells) into typed unit data, and list every problem.

A value is never guessed at: anything that is not clearly what the field expects becomes a Problem that
names the unit, the field (data key or sheet!cell), the value and what is expected, in Chinese. All problems
are collected; none stops the reading of the rest.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .rubric import Field, Rubric

ERROR, WARNING = "error", "warning"
YES = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓"})
NO = frozenset({"否", "无", "n", "no", "false", "0", "×", "✗"})
EXCEL_ERRORS = frozenset({"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"})
MAX_COUNT = 10**12  # no unit reports a trillion records: larger is a typing accident
MAX_NUMBER = Decimal(10) ** 12
OPTIONAL_KEYS = ("adjustment", "adjustment_reason")
SELF_PREFIX = "self_"
_PERCENT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*[%％]$")
# a thousands separator only where it belongs: 1,234 and 12,345,678.5 — never 0,85 or 1,2,3
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
MAX_TEXT = 32_767  # the most characters one Excel cell holds; Excel cuts longer text without a word
# what an xlsx (XML 1.0) can not hold: C0 controls but tab, LF and CR; U+FFFE and U+FFFF; lone surrogates
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SHOWN_MAX = 200  # characters of a value quoted back in a message
_MAX_WHOLE = int(MAX_NUMBER)
# a number written plainly, below MAX_NUMBER by its length: read at once, as the full reading would
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,20})?")
_PLAIN_DIGITS = len(str(MAX_COUNT))  # up to this many digits a count is read at once, as an int
# the yes/no texts that the flag reading (NFKC, strip, lower case) leaves as they are, looked up at once
_PLAIN_YES_NO = {text: answer for words, answer in ((YES, True), (NO, False)) for text in words
                 if unicodedata.normalize("NFKC", text).strip().lower() == text}


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or odd) with the input, said in Chinese for the person who typed it."""

    level: str
    unit: str
    field: str  # data key, or sheet!cell
    label: str  # the field's Chinese name
    value: str
    expected: str
    hint: str = ""

    def message(self) -> str:
        head = "错误" if self.level == ERROR else "提示"
        who = f"单位「{self.unit}」" if self.unit else "文件"
        where = f"{self.field}（{self.label}）" if self.label and self.label != self.field else self.field
        shown = "（空）" if self.value == "" else f"「{self.value}」"
        text = f"[{head}] {who} {where}：值{shown}，{self.expected}"
        return text + (f"。{self.hint}" if self.hint else "")

    def as_dict(self) -> dict:
        return {"level": self.level, "unit": self.unit, "field": self.field, "label": self.label,
                "value": self.value, "expected": self.expected, "hint": self.hint, "message": self.message()}


@dataclass(frozen=True)
class UncomputedFormula:
    """An input cell that holds a formula with no saved result (a file never calculated by Excel).

    Formulas in input cells are never evaluated here: with a saved result that result is used (with a
    warning); without one the cell can not be read, and says so.
    """

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class UnitInput:
    """One unit's typed data, ready for the engine."""

    name: str
    values: dict[str, object] = field(default_factory=dict)
    self_scores: dict[str, Decimal] = field(default_factory=dict)
    adjustment: Decimal = Decimal(0)
    adjustment_reason: str = ""
    public_service: bool = False


def shown(value: object) -> str:
    """How a raw value is quoted back to the user: a character no workbook can hold is shown by its code
    (⟨U+FFFE⟩), so that the message itself can be printed and saved; a very long text is cut, with its length."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = _NOT_XML.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", str(value))
    if len(text) > _SHOWN_MAX:
        return f"{text[:_SHOWN_MAX // 2]}…（共 {len(str(value)):,} 个字符）"
    return text


def text_problem(text: str) -> tuple[str, str] | None:
    """(expected, hint) when a text can not be written into a workbook cell as it is, else None.

    A character XML can not hold (a control character, U+FFFE/U+FFFF, a lone surrogate) would make a file
    nothing can open again; text longer than Excel's limit would be cut by Excel without a word.
    """
    if text.isprintable() and len(text) <= MAX_TEXT:  # the common case, said at once: every character
        return None  # _NOT_XML matches is a control, a noncharacter or a surrogate, none of them printable
    bad = [m for m in _NOT_XML.finditer(text)]
    if bad:
        where = "、".join(f"第 {m.start() + 1:,} 个字符（U+{ord(m.group()):04X}）" for m in bad[:5])
        more = f"等 {len(bad)} 处" if len(bad) > 5 else ""
        return (f"含有工作簿无法保存的字符：{where}{more}（控制字符或非字符），应为普通文字",
                "请删去这些字符后重新填写（多见于从网页、聊天记录或其他软件复制来的文字）")
    if len(text) > MAX_TEXT:
        return (f"文字长度为 {len(text):,} 个字符，超过 Excel 单元格的上限 {MAX_TEXT:,} 个字符",
                "请缩短后重新填写（超出部分 Excel 会截掉）")
    return None


def normalize_unit_name(name: str) -> str:
    """What people type for the same unit: full-width forms, odd spaces, '.'/'・' for '·'."""
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"\s+", "", text)
    return text.replace(".", "·").replace("・", "·").replace("•", "·").replace("‧", "·")


def allowed_self_keys(rubric: Rubric) -> list[str]:
    return [SELF_PREFIX + r.id for r in rubric.rules] + [SELF_PREFIX + "total"]


def field_labels(rubric: Rubric) -> dict[str, str]:
    """Data key -> its Chinese name, for every key a row may hold."""
    labels = {f.key: f.label for f in rubric.fields}
    labels.update({SELF_PREFIX + r.id: f"自评得分 {r.id}" for r in rubric.rules})
    labels.update({SELF_PREFIX + "total": "自评总分", "unit": "单位名称", "adjustment": "综合评定调整分",
                   "adjustment_reason": "调整理由"})
    return labels


def allowed_keys(rubric: Rubric) -> list[str]:
    return [f.key for f in rubric.fields] + list(OPTIONAL_KEYS) + allowed_self_keys(rubric)


class ValueParser:
    """Parses one raw value for one field; errors are returned as (expected, hint)."""

    def __init__(self, rate_policy: str, note: str = ""):
        self.rate_policy = rate_policy
        self.note = note  # '（A8）': the switch that chose the policy, named in the clamp warning

    @classmethod
    def for_rubric(cls, rubric: Rubric, choices: Mapping[str, str] | None) -> ValueParser:
        """The parser of the typed data: rates outside 0…100 % as the rubric's `rate_range` policy says."""
        return cls(rubric.policy(choices, "rate_range"), rubric.policy_note("rate_range"))

    @staticmethod
    def _blank(raw: object) -> bool:
        return raw is None or (isinstance(raw, str) and raw.strip() == "")

    @staticmethod
    def _common(raw: object) -> tuple[str, str] | None:
        if type(raw) is str:  # the common case: text is wrong here only as an error value's text
            if raw.lstrip()[:1] == "#" and raw.strip().upper() in EXCEL_ERRORS:
                return "单元格是 Excel 错误值，应填写数值", "请检查该单元格的公式或改为直接填写数值"
            return None
        if isinstance(raw, UncomputedFormula):
            return ("单元格是公式，但文件中没有保存它的计算结果（公式不会被计算）",
                    "请直接填写数值；或在 Excel 中打开、计算并保存后再试")
        if isinstance(raw, str) and raw.lstrip()[:1] == "#" and raw.strip().upper() in EXCEL_ERRORS:
            return "单元格是 Excel 错误值，应填写数值", "请检查该单元格的公式或改为直接填写数值"
        if isinstance(raw, (dt.date, dt.time, dt.timedelta)):
            return "单元格是日期/时间，应填写数值", "请把单元格格式改为“常规”或“数值”后重新填写"
        return None

    def number(self, raw: object) -> Decimal:
        kind = type(raw)  # the common cases at once, each what the reading below gives:
        if kind is str and _PLAIN_NUMBER.fullmatch(raw):  # digits and a point, as a CSV holds them
            return Decimal(raw)
        if kind is int and -_MAX_WHOLE <= raw <= _MAX_WHOLE:  # a number cell of a workbook
            return Decimal(raw)
        if kind is float and -1e12 <= raw <= 1e12:  # (a NaN is not within, and goes the long way)
            return Decimal(repr(raw))
        if isinstance(raw, bool):
            raise BadValue("应为数值，不是是/否")
        if isinstance(raw, (int, float, Decimal)):
            if isinstance(raw, float) and not math.isfinite(raw):
                raise BadValue("应为有限数值")
            d = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
        else:
            text = str(raw)
            text = (text if text.isascii() else unicodedata.normalize("NFKC", text)).strip()  # NFKC keeps ASCII
            if "_" in text:  # Decimal would read 1_0 as 10: a guess, not what anybody types
                raise BadValue("应为数值")
            if text.startswith("="):
                raise BadValue("应为数值（这里的公式不会被计算，请填写计算结果）")
            if "," in text:
                if not _THOUSANDS.match(text):
                    raise BadValue("应为数值（逗号只能作千位分隔符，如 1,234；小数点请用“.”）")
                text = text.replace(",", "")
            try:
                d = Decimal(text)
            except InvalidOperation:
                raise BadValue("应为数值") from None
        if not d.is_finite():
            raise BadValue("应为有限数值")
        if abs(d) > MAX_NUMBER:
            raise BadValue(f"数值过大，应不超过 {MAX_NUMBER:,}")
        return d

    def count(self, raw: object) -> int:
        if type(raw) is str and len(raw) <= _PLAIN_DIGITS and raw.isdigit() and raw.isascii():
            n = int(raw)  # plain digits, as a CSV holds them: what the Decimal reading below gives
            if n <= MAX_COUNT:
                return n
        try:
            d = self.number(raw)
        except BadValue as exc:
            if exc.expected == "应为数值":  # say what kind of number: a whole count
                raise BadValue("应为不小于 0 的整数（条数、个数）", exc.hint) from None
            raise
        if d != d.to_integral_value():
            raise BadValue("应为整数（条数、个数不能有小数）")
        if d < 0:
            raise BadValue("应为不小于 0 的整数")
        if d > MAX_COUNT:
            raise BadValue(f"数值过大，应不超过 {MAX_COUNT:,}")
        return int(d)

    def rate(self, raw: object) -> tuple[Decimal, str]:
        """A rate as a fraction 0…1 (decisions A8); returns (rate, warning)."""
        m = None
        if isinstance(raw, str):
            text = (raw if raw.isascii() else unicodedata.normalize("NFKC", raw)).strip()  # NFKC keeps ASCII
            m = _PERCENT.match(text)
            try:
                d = Decimal(m.group(1)) / 100 if m else self.number(text)
            except BadValue:
                raise BadValue("应为 0%～100% 之间的比率，如 0.85 或 85%") from None
        else:
            d = self.number(raw)
        if 0 <= d <= 1:
            return d, ""
        hint = f"是否应为 {shown(raw)}%？" if 1 < d <= 100 and not m else ""  # 85 typed for 85 %; never 101%%
        if self.rate_policy == "clamp":
            return min(Decimal(1), max(Decimal(0), d)), f"比率超出 0%～100%，已按设置截断{self.note}。{hint}"
        raise BadValue("应为 0%～100% 之间的比率，如 0.85 或 85%", hint)

    def flag(self, raw: object) -> bool:
        if type(raw) is str and raw in _PLAIN_YES_NO:  # 是/否 as listed: what the reading below gives
            return _PLAIN_YES_NO[raw]
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, (int, float)) and raw in (0, 1):
            return bool(raw)
        text = unicodedata.normalize("NFKC", str(raw)).strip().lower()
        if text in YES:
            return True
        if text in NO:
            return False
        raise BadValue("应为 是/否（也可填 有/无、Y/N、1/0）")


class BadValue(Exception):
    def __init__(self, expected: str, hint: str = ""):
        super().__init__(expected)
        self.expected = expected
        self.hint = hint


Locate = Callable[[int, str], str]


def parse_units(rubric: Rubric, rows: list[Mapping[str, object]], *, choices: Mapping[str, str],
                public_service: Mapping[str, bool] | None = None,
                locate: Locate | None = None) -> tuple[list[UnitInput], list[Problem]]:
    """Typed units and every problem, from rows keyed by data key.

    public_service: the 设置 list (normalised unit name -> assessed on 1.3). A unit not in it is assessed on
    1.3 exactly when it has a value there (a data file for units outside the default list).
    locate(row_index, key) names the cell for messages (sheet!cell); a data file uses the key itself.
    """
    if public_service is None:
        public_service = {normalize_unit_name(u.name): u.public_service for u in rubric.units}
    locate = locate or (lambda _row, key: key)
    parser = ValueParser.for_rubric(rubric, choices)
    group = rubric.group
    in_group = set(group.rule_ids) if group else set()
    # (data key, rule id, label, highest score, only for the group's units) of every self score
    self_keys = [(SELF_PREFIX + r.id, r.id, f"自评得分 {r.id}", r.points, r.id in in_group) for r in rubric.rules]
    self_keys.append((SELF_PREFIX + "total", "total", "自评得分 total", Decimal(rubric.totals["full"]), False))
    adjustment_allowed = rubric.policy(choices, "adjustment") != "no_adjustment"
    full_marks = rubric.policy(choices, "group_absent") == "full_marks"
    units: list[UnitInput] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    fields = [f for f in rubric.fields if f.key != "unit"]
    labels = field_labels(rubric)
    warned: list[str] = []  # a field's warnings, said after its value is read
    plain = {"count": parser.count, "number": parser.number, "flag": parser.flag}  # read with no warning
    readers = [(f, plain.get(f.type) or (lambda raw, f=f: _parse_field(parser, f, raw, warned))) for f in fields]

    for index, row in enumerate(rows):
        raw_name = row.get("unit")
        name = "" if raw_name is None else str(raw_name).strip()

        def bad(key: str, label: str, value: object, expected: str, hint: str = "", level: str = ERROR) -> None:
            problems.append(Problem(level, shown(name), locate(index, key), label, shown(value), expected, hint))

        # text no workbook can hold (or longer than a cell holds) is said once, before anything reads it
        unreadable = set()
        for key, raw in row.items():
            found = text_problem(raw) if isinstance(raw, str) else None
            if found:
                bad(key, labels.get(key, key), raw, *found)
                unreadable.add(key)

        if not name:
            bad("unit", "单位名称", raw_name, "单位名称不能为空")
        normalized = normalize_unit_name(name)
        if name and normalized in seen:
            bad("unit", "单位名称", raw_name, f"单位重复（与第 {seen[normalized] + 1} 个单位同名），每个单位只能有一行")
        seen.setdefault(normalized, index)
        assessed = public_service.get(normalized)
        unit = UnitInput(name)
        if (name and any(f.key in row for f in fields)
                and all(ValueParser._blank(row.get(key)) for key in row if key != "unit")):
            # a unit listed without any data: one problem, not one per empty cell
            bad("unit", "单位名称", raw_name, "该单位的数据全部为空（缺少该单位的数据）",
                "请填写该单位的全部数据，或从名单中删去该单位")
            continue

        for f, read in readers:
            raw = row.get(f.key)
            if unreadable and f.key in unreadable:
                continue
            if f.applies:
                if assessed is None:
                    assessed = not ValueParser._blank(raw)
                if not assessed:
                    if not ValueParser._blank(raw):
                        bad(f.key, f.label, raw, f"该单位{group.not_in}，此值不计分", "已忽略", WARNING)
                    continue
            blank, common = _blank_or_common(raw)
            if blank:
                bad(f.key, f.label, raw, f"不能为空，{_expectation(f)}")
                continue
            if common:
                bad(f.key, f.label, raw, *common)
                continue
            try:
                unit.values[f.key] = read(raw)
            except BadValue as exc:
                bad(f.key, f.label, raw, exc.expected, exc.hint)
            if warned:
                for w in warned:
                    bad(f.key, f.label, raw, w, level=WARNING)
                warned.clear()
        unit.public_service = bool(assessed)
        _check_warnings(rubric, unit, row, bad)

        for key, rule_id, label, top, group_only in self_keys:
            raw = row.get(key)
            blank, common = _blank_or_common(raw)
            if blank or key in unreadable:
                continue
            if group_only and not unit.public_service and not full_marks:
                # with full marks the unit gets the rule's points, so its self score is compared too
                bad(key, label, raw, f"该单位{group.not_in}，此自评得分不计", "已忽略", WARNING)
                continue
            try:
                if common:
                    raise BadValue(*common)
                score = parser.number(raw)
                if not 0 <= score <= top:
                    raise BadValue(f"应为 0～{top} 之间的分数")
            except BadValue as exc:
                bad(key, label, raw, exc.expected, exc.hint)
            else:
                unit.self_scores[rule_id] = score

        raw_adj, reason = row.get("adjustment"), row.get("adjustment_reason")
        if isinstance(reason, UncomputedFormula):
            bad("adjustment_reason", "调整理由", reason, *ValueParser._common(reason))
            reason = None
        unit.adjustment_reason = "" if reason is None or "adjustment_reason" in unreadable else str(reason).strip()
        blank, common = _blank_or_common(raw_adj)
        if not blank and "adjustment" not in unreadable:
            try:
                if common:
                    raise BadValue(*common)
                adjustment = parser.number(raw_adj)
            except BadValue as exc:
                bad("adjustment", "综合评定调整分", raw_adj, exc.expected, exc.hint)
            else:
                if not adjustment_allowed:
                    bad("adjustment", "综合评定调整分", raw_adj, f"设置为不调整{rubric.policy_note('adjustment')}，此值不计",
                        "已忽略", WARNING)
                elif adjustment != 0 and not unit.adjustment_reason and "adjustment_reason" not in unreadable:
                    bad("adjustment_reason", "调整理由", reason,
                        f"有调整分时必须填写调整理由{rubric.policy_note('adjustment')}")
                elif not -100 <= adjustment <= 100:
                    bad("adjustment", "综合评定调整分", raw_adj, "应在 -100～100 之间")
                else:
                    unit.adjustment = adjustment
        units.append(unit)
    return units, problems


def _check_warnings(rubric: Rubric, unit: UnitInput, row: Mapping[str, object], bad) -> None:
    """Odd but allowed combinations of data (the rubric's `warnings`): a 提示 in the rubric's words, never hidden."""
    v = unit.values
    for w in rubric.warnings:
        value = v.get(w.key)
        if not isinstance(value, (int, Decimal)) or isinstance(value, bool):
            continue
        if w.exceeds:
            other = v.get(w.exceeds)
            hit = isinstance(other, (int, Decimal)) and not isinstance(other, bool) and value > other
        else:
            hit = value >= w.at_least and (not w.while_no or v.get(w.while_no) is False)
        if hit:
            bad(w.key, rubric.field(w.key).label, row.get(w.key),
                w.message.replace("{exceeds}", str(v.get(w.exceeds, ""))), w.hint, WARNING)


def _blank_or_common(raw: object) -> tuple[bool, tuple[str, str] | None]:
    """(blank, why a cell that is not blank holds nothing to read: an error value, a formula with no saved
    result, a date), in one look: both are asked of every value."""
    if type(raw) is str:  # as a CSV holds every value: only an error value's text can be wrong here
        lead = raw.lstrip()
        return not lead, ValueParser._common(raw) if lead[:1] == "#" else None
    blank = ValueParser._blank(raw)
    return blank, None if blank else ValueParser._common(raw)


def _expectation(f: Field) -> str:
    return {
        "count": "应为不小于 0 的整数",
        "number": "应为数值",
        "rate": "应为 0%～100% 之间的比率，如 0.85 或 85%",
        "rates": "应为各被抽查部门的瞒报率，用分号分隔，如 2%;0.5%",
        "flag": "应为 是/否",
        "score": f"应为 {f.min}～{f.max} 之间的分数",
        "text": "应为文字",
    }[f.type]


def _parse_field(parser: ValueParser, f: Field, raw: object, warned: list[str]) -> object:
    """The typed value of one field; a warning about it (a rate clamped) is appended to `warned`."""
    if f.type == "count":
        return parser.count(raw)
    if f.type == "number":
        return parser.number(raw)
    if f.type == "flag":
        return parser.flag(raw)
    if f.type == "rate":
        rate, warning = parser.rate(raw)
        if warning:
            warned.append(warning)
        return rate
    if f.type == "rates":
        items = raw if isinstance(raw, (list, tuple)) else re.split(r"[;；]", str(raw))
        rates = []
        for item in items:
            if ValueParser._blank(item):
                continue
            try:
                rate, warning = parser.rate(item)
            except BadValue as exc:
                raise BadValue(f"其中「{shown(item)}」不对：{exc.expected}（各部门瞒报率用分号分隔）", exc.hint) from None
            if warning:
                warned.append(warning)
            rates.append(rate)
        if not rates:
            raise BadValue(_expectation(f))
        return tuple(rates)
    if f.type == "score":
        d = parser.number(raw)
        if not f.min <= d <= f.max:
            raise BadValue(_expectation(f))
        return d
    return str(raw)


def unknown_keys(rubric: Rubric, keys: Iterable[str]) -> list[str]:
    allowed = set(allowed_keys(rubric))
    return [k for k in keys if k not in allowed]
