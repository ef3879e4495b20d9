"""Worksheet functions (contract §4), registered with Excel through xlwings.

Each function is a thin layer over :mod:`hscredit_xl.kinds`: it converts what Excel
hands over (numbers as floats, empty cells as ``None``, text, TRUE/FALSE, ranges as
lists) into the arguments of one calculation kind and turns the exact ``Decimal``
result into a float for the cell. No scoring rule lives here.

Conventions shared by all functions:

* ``peers``, ``thresholds`` and ``points`` (the list ones) take a scalar, a flat
  list or a 2-D list; empty cells (``None``, blank text) are skipped.
* The per-unit arguments (``value``, ``rate``, ``count``, ``flag``, ``score``,
  ``applicable_max``, ``base``, ``bonus``, ``deduction``) may be a range: the result
  is then a column (a list of one-element lists) with one row per cell, read row by
  row, and a blank cell gives a blank ("") result. Several per-unit ranges in one
  call must have the same number of cells; a single value is used for every row.
* Bad input raises :class:`hscredit_xl.kinds.KindError` with a Chinese message
  naming the function, the argument and what was expected; xlwings shows it in
  the cell.

The decorators are xlwings' own: on Windows with pywin32 they record the Excel
metadata (``__xlfunc__``); elsewhere they return the function unchanged, so every
function is also a plain Python function. The functions deliberately carry no type
annotations: xlwings turns annotations into cell converters.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from decimal import Decimal

import xlwings as xw

from .kinds import (
    KindError,
    count_score,
    flag_score,
    place_score,
    prorate,
    rank_score,
    rate_score,
    tier_score,
    to_decimal,
    total,
)

CATEGORY = "黄石信用考评"
"""The Function Wizard category every worksheet function is listed under."""

BLANK = ""
"""The result for a blank per-unit cell."""

FLAG_WORDS = "是/否、有/无、Y/N、yes/no、TRUE/FALSE、1/0"

_YES = frozenset({"是", "有", "y", "yes", "true", "1"})
_NO = frozenset({"否", "无", "n", "no", "false", "0"})
_PERCENT_SIGNS = ("%", "％")
_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_RANGE_TYPES = (list, tuple)
_NUMBER_TYPES = (int, float, Decimal, str)


# --------------------------------------------------------------------------- conversion


def _is_blank(x) -> bool:
    return x is None or (x.__class__ is str and not x.strip())


def _cells(x) -> list:
    """All cells of a scalar, flat list or 2-D list, row by row, blanks kept."""
    if not isinstance(x, _RANGE_TYPES):
        return [x]
    out = []
    for item in x:
        if isinstance(item, _RANGE_TYPES):
            out.extend(item)
        else:
            out.append(item)
    return out


def _show(x) -> str:
    """How a received cell value is quoted in a message."""
    if x is None or (isinstance(x, str) and not x.strip()):
        return "空单元格"
    if isinstance(x, bool):
        return "「TRUE」" if x else "「FALSE」"
    if isinstance(x, float) and x.is_integer():
        return f"「{int(x)}」"
    return f"「{x}」"


def _where(fname: str, arg: str, pos: int) -> str:
    return f"{fname}：{arg} 第 {pos} 个单元格" if pos else f"{fname}：{arg} "


def _number(x, fname: str, arg: str, pos: int = 0) -> Decimal:
    """A cell as an exact Decimal; pos > 0 names the cell within a range."""
    if x.__class__ is float or x.__class__ is int:
        try:
            return to_decimal(x)
        except KindError:
            pass  # inf / nan: reported below
    elif isinstance(x, _NUMBER_TYPES) and not isinstance(x, bool) and not _is_blank(x):
        try:
            return to_decimal(x)
        except KindError:
            pass
    raise KindError(f"{_where(fname, arg, pos)}应为数值，收到{_show(x)}")


def _numbers(x, fname: str, arg: str) -> list[Decimal]:
    """The non-blank cells of a range as Decimals (a blank cell is skipped)."""
    if not isinstance(x, _RANGE_TYPES):
        return [] if _is_blank(x) else [_number(x, fname, arg)]
    return [_number(c, fname, arg, pos) for pos, c in enumerate(_cells(x), 1) if not _is_blank(c)]


def _not_negatives(x, fname: str, arg: str) -> list[Decimal]:
    """The non-blank cells of a range of points, each ≥ 0."""
    cells = _cells(x) if isinstance(x, _RANGE_TYPES) else [x]
    return [_not_negative(c, fname, arg, pos if isinstance(x, _RANGE_TYPES) else 0)
            for pos, c in enumerate(cells, 1) if not _is_blank(c)]


def _rate(x, fname: str, arg: str, pos: int = 0) -> Decimal:
    """0.85, "85%", "85 %" (or "85％") as Decimal('0.85'), which must lie in 0…1."""
    if isinstance(x, str) and x.strip().endswith(_PERCENT_SIGNS):
        text = x.strip()[:-1]
        try:
            r = to_decimal(text) / _HUNDRED if text.strip() else None
        except KindError:
            r = None
        if r is None:
            raise KindError(f"{_where(fname, arg, pos)}应为比率（如 0.85 或 85%），收到{_show(x)}")
    else:
        try:
            r = _number(x, fname, arg, pos)
        except KindError:
            raise KindError(f"{_where(fname, arg, pos)}应为比率（如 0.85 或 85%），收到{_show(x)}") from None
    if r < 0 or r > _ONE:
        raise KindError(f"{_where(fname, arg, pos)}应在 0%～100% 之间（如 0.85 或 85%），收到{_show(x)}")
    return r


def _flag(x, fname: str, arg: str, pos: int = 0) -> bool:
    """TRUE/FALSE, 1/0, 是/否, 有/无, Y/N, yes/no (any case, spaces ignored)."""
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float, Decimal)):
        if x == 1:
            return True
        if x == 0:
            return False
    elif isinstance(x, str):
        word = x.strip().lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    raise KindError(f"{_where(fname, arg, pos)}应为 {FLAG_WORDS}，收到{_show(x)}")


def _not_negative(x, fname: str, arg: str, pos: int = 0) -> Decimal:
    """A number the rubric can only mean as ≥ 0 (points, a deduction, a cap)."""
    d = _number(x, fname, arg, pos)
    if d < 0:
        raise KindError(f"{_where(fname, arg, pos)}应为不小于 0 的数，收到{_show(x)}")
    return d


def _positive(x, fname: str, arg: str, pos: int = 0) -> Decimal:
    d = _number(x, fname, arg, pos)
    if d <= 0:
        raise KindError(f"{_where(fname, arg, pos)}应为大于 0 的数，收到{_show(x)}")
    return d


def _whole(x, fname: str, arg: str, pos: int = 0) -> Decimal:
    """A count: a whole number ≥ 0 (2.5 departments is a typing error, not half a point)."""
    d = _number(x, fname, arg, pos)
    if d < 0 or d != d.to_integral_value():
        raise KindError(f"{_where(fname, arg, pos)}应为不小于 0 的整数（个数不能有小数），收到{_show(x)}")
    return d


def _optional_number(x, default: Decimal, fname: str, arg: str, check=None) -> Decimal:
    """An optional argument: an empty cell passed for it means its default."""
    return default if _is_blank(x) else (check or _number)(x, fname, arg)


def _kind(fname: str, arg: str, pos: int, call, *args) -> float:
    """Run one calculation kind as a float; its Chinese error gets the function and argument."""
    try:
        return float(call(*args))
    except KindError as e:
        raise KindError(f"{_where(fname, arg, pos)}{'：' if pos else ''}{e}") from None


def _map(value, one):
    """one(cell, pos) for a scalar, or a column of results for a range; blank -> ""."""
    if not isinstance(value, _RANGE_TYPES):
        return BLANK if _is_blank(value) else one(value, 0)
    return [[BLANK if _is_blank(v) else one(v, pos)] for pos, v in enumerate(_cells(value), 1)]


def _map_many(fname: str, names: tuple[str, ...], values: tuple, one):
    """one(cells, pos) over several per-unit arguments; ranges give a column.

    A scalar argument is used for every row; all range arguments must have the same
    number of cells. A row with any blank cell gives "".
    """
    columns = [(_cells(v) if isinstance(v, _RANGE_TYPES) else None) for v in values]
    lengths = {len(c) for c in columns if c is not None}
    if not lengths:
        return BLANK if any(_is_blank(v) for v in values) else one(values, 0)
    if len(lengths) > 1:
        given = [(n, len(c)) for n, c in zip(names, columns) if c is not None]
        counts = "、".join(f"{n} {k} 个" for n, k in given)
        raise KindError(f"{fname}：{'、'.join(n for n, _ in given)} 的单元格个数应相同（收到 {counts}）")
    n = lengths.pop()
    rows = zip(*[(c if c is not None else [v] * n) for c, v in zip(columns, values)])
    return [
        [BLANK if any(_is_blank(x) for x in row) else one(row, pos)]
        for pos, row in enumerate(rows, 1)
    ]


class _Places:
    """Place of any value among fixed peers: 1 + the number of peers strictly better.

    Competition ranking (ties share the better place, like RANK.EQ: 1, 1, 3), or dense (1, 1, 2: the
    number of distinct better values), the same rules as kinds.places, with the peers sorted once so a whole
    column costs O(n log n).
    """

    __slots__ = ("_sorted", "_lowest_first")

    def __init__(self, peers: list[Decimal], lowest_first: bool, dense: bool = False):
        self._sorted = sorted(set(peers)) if dense else sorted(peers)
        self._lowest_first = lowest_first

    def of(self, v: Decimal) -> int:
        if self._lowest_first:
            return bisect_left(self._sorted, v) + 1
        return len(self._sorted) - bisect_right(self._sorted, v) + 1


def _order(x, fname: str) -> bool:
    """order: 0 (highest first, the default) or 1 (lowest first); True = lowest first."""
    if _is_blank(x):
        return False
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float, Decimal, str)):
        try:
            o = to_decimal(x)
        except KindError:
            o = None
        if o == 0:
            return False
        if o == 1:
            return True
    raise KindError(f"{fname}：order 应为 0（数值越大名次越前）或 1（数值越小名次越前），收到{_show(x)}")


def _ties(x, fname: str) -> bool:
    """ties: 0 (ties share the better place and the next is skipped, 1、1、3 — the default) or 1 (1、1、2)."""
    if _is_blank(x):
        return False
    try:
        t = to_decimal(x) if not isinstance(x, bool) else Decimal(int(x))
    except KindError:
        t = None
    if t in (0, 1):
        return t == 1
    raise KindError(f"{fname}：ties 应为 0（并列取较好名次，下一名次顺延：1、1、3）或 1（下一名次紧接：1、1、2），收到{_show(x)}")


# --------------------------------------------------------------------------- functions


@xw.func(category=CATEGORY)
@xw.arg("value", doc="本单位的数值（如全年入库总量、抽查结果）；可选一列单元格，一次为每个单位计分")
@xw.arg("peers", ndim=2, doc="参与排名的全部单位的数值（单元格区域），空单元格不计")
@xw.arg("top", doc="第一名的得分，如 10")
@xw.arg("step", doc="名次每下降一位扣的分，如 2")
@xw.arg("floor", doc="最低得分（扣完为止），默认 0")
@xw.arg("order", doc="0＝数值越大名次越前（默认）；1＝数值越小名次越前")
@xw.arg("ties", doc="并列：0＝取较好名次、下一名次顺延（1、1、3，默认）；1＝下一名次紧接（1、1、2）")
def HS_RANKSCORE(value, peers, top, step, floor=0, order=0, ties=0):
    """按名次计分：第一名得 top 分，名次每降一位扣 step 分，不低于 floor；并列取较好名次。"""
    fname = "HS_RANKSCORE"
    t = _not_negative(top, fname, "top")
    s = _not_negative(step, fname, "step")
    f = _optional_number(floor, Decimal(0), fname, "floor", _not_negative)
    if f > t:
        raise KindError(f"{fname}：floor 不应大于 top，收到 floor 为{_show(floor)}、top 为{_show(top)}")
    places = _Places(_numbers(peers, fname, "peers"), _order(order, fname), _ties(ties, fname))

    def one(v, pos):
        return _kind(fname, "value", pos, rank_score, places.of(_number(v, fname, "value", pos)), t, s, f)

    return _map(value, one)


@xw.func(category=CATEGORY)
@xw.arg("value", doc="本单位的数值（如公共服务领域数据采集种类数）；可选一列单元格，一次为每个单位计分")
@xw.arg("peers", ndim=2, doc="参与排名的全部单位的数值（单元格区域），空单元格不计")
@xw.arg("points", ndim=2, doc="第一名、第二名……依次的得分，如 {10,5,1}；名次超出的得 0 分")
@xw.arg("order", doc="0＝数值越大名次越前（默认）；1＝数值越小名次越前")
@xw.arg("ties", doc="并列：0＝取较好名次、下一名次顺延（1、1、3，默认）；1＝下一名次紧接（1、1、2）")
def HS_PLACESCORE(value, peers, points, order=0, ties=0):
    """按名次取分：第 n 名得 points 中第 n 个分值，名次超出的得 0 分；数值越大名次越前，并列取较好名次。"""
    fname = "HS_PLACESCORE"
    pts = _not_negatives(points, fname, "points")
    if not pts:
        raise KindError(f"{fname}：points 应至少有一个分值（如 {{10,5,1}}），收到空区域")
    places = _Places(_numbers(peers, fname, "peers"), _order(order, fname), _ties(ties, fname))

    def one(v, pos):
        return _kind(fname, "value", pos, place_score, places.of(_number(v, fname, "value", pos)), pts)

    return _map(value, one)


@xw.func(category=CATEGORY)
@xw.arg("value", doc="本单位的数值（如整改率、异议数量）；可选一列单元格，一次为每个单位计分")
@xw.arg("thresholds", ndim=2, doc="各档门槛，从高到低排列，如 {1,0.8,0.4}；数值大于等于门槛即得该档分")
@xw.arg("points", ndim=2, doc="各档得分，与 thresholds 一一对应，如 {10,6,3}")
@xw.arg("otherwise", doc="低于所有门槛时的得分，默认 0")
@xw.arg("inclusive", ndim=2, doc="是否含门槛本数：TRUE＝大于等于（默认），FALSE＝大于；一个值用于各档，或与 thresholds 一一对应，如 {TRUE,FALSE}")
def HS_TIERSCORE(value, thresholds, points, otherwise=0, inclusive=True):
    """分档计分：取数值达到（默认大于等于，inclusive 为 FALSE 的档为大于）的第一个门槛对应的分值，门槛从高到低排列；都未达到得 otherwise。"""
    fname = "HS_TIERSCORE"
    ts = _numbers(thresholds, fname, "thresholds")
    ps = _not_negatives(points, fname, "points")
    if len(ts) != len(ps):
        raise KindError(
            f"{fname}：thresholds 与 points 的个数应相同（收到 {len(ts)} 个门槛、{len(ps)} 个分值）"
        )
    if not ts:
        raise KindError(f"{fname}：thresholds 应至少有一个门槛（如 {{1,0.8,0.4}}），收到空区域")
    for higher, lower in zip(ts, ts[1:]):
        if not higher > lower:
            listed = "、".join(str(t) for t in ts)
            raise KindError(f"{fname}：thresholds 应从高到低排列且互不相同，收到「{listed}」")
    ranged = isinstance(inclusive, _RANGE_TYPES)
    flags = [_flag(c, fname, "inclusive", pos if ranged else 0)
             for pos, c in enumerate(_cells(inclusive), 1) if not _is_blank(c)]
    if not flags:
        flags = [True] * len(ts)
    elif len(flags) == 1:
        flags = flags * len(ts)
    elif len(flags) != len(ts):
        raise KindError(
            f"{fname}：inclusive 应为一个值或与 thresholds 个数相同（收到 {len(flags)} 个、门槛 {len(ts)} 个）"
        )
    tiers = list(zip(ts, ps, flags))
    other = _optional_number(otherwise, Decimal(0), fname, "otherwise", _not_negative)

    def one(v, pos):
        return _kind(fname, "value", pos, tier_score, _number(v, fname, "value", pos), tiers, other)

    return _map(value, one)


@xw.func(category=CATEGORY)
@xw.arg("rate", doc="比率，0～100%，可写 0.85、85% 或文本“85%”；可选一列单元格，一次为每个单位计分")
@xw.arg("points", doc="满分，得分＝比率×满分，如 5")
@xw.arg("inverse", doc="TRUE＝按（1－比率）×满分计分，用于迟报率、瞒报率等；默认 FALSE")
def HS_RATESCORE(rate, points, inverse=False):
    """按比率计分：比率×满分；inverse 为 TRUE 时按（1－比率）×满分（如迟报率）。"""
    fname = "HS_RATESCORE"
    p = _not_negative(points, fname, "points")
    inv = False if _is_blank(inverse) else _flag(inverse, fname, "inverse")

    def one(r, pos):
        return _kind(fname, "rate", pos, rate_score, _rate(r, fname, "rate", pos), p, inv)

    return _map(rate, one)


@xw.func(category=CATEGORY)
@xw.arg("count", doc="个数（如反馈的部门数），不小于 0 的整数；可选一列单元格，一次为每个单位计分")
@xw.arg("per_item", doc="每个得的分，如 1")
@xw.arg("cap", doc="最多得的分，如 3")
def HS_COUNTSCORE(count, per_item, cap):
    """按个数计分：个数×每个的分值，不超过上限。"""
    fname = "HS_COUNTSCORE"
    per = _not_negative(per_item, fname, "per_item")
    c = _not_negative(cap, fname, "cap")

    def one(n, pos):
        return _kind(fname, "count", pos, count_score, _whole(n, fname, "count", pos), per, c)

    return _map(count, one)


@xw.func(category=CATEGORY)
@xw.arg("flag", doc=f"是否完成：{FLAG_WORDS}；可选一列单元格，一次为每个单位计分")
@xw.arg("points", doc="完成时得的分，如 2")
def HS_FLAGSCORE(flag, points):
    """是否项计分：是则得 points 分，否则 0 分。"""
    fname = "HS_FLAGSCORE"
    p = _not_negative(points, fname, "points")

    def one(x, pos):
        return _kind(fname, "flag", pos, flag_score, _flag(x, fname, "flag", pos), p)

    return _map(flag, one)


@xw.func(category=CATEGORY)
@xw.arg("score", doc="基础得分（不含该单位不参加考核的规则）；可选一列单元格，一次为每个单位计分")
@xw.arg("applicable_max", doc="适用满分（该单位参加考核的规则的分值之和，如 90），大于 0；可选一列，与 score 逐行对应")
@xw.arg("full", doc="折算后的满分，默认 100")
def HS_PRORATE(score, applicable_max, full=100):
    """折算得分：得分×full÷适用满分（如 90 分制折算为 100 分制）。"""
    fname = "HS_PRORATE"
    fl = _optional_number(full, Decimal(100), fname, "full", _positive)

    def one(row, pos):
        s, m = row
        return _kind(
            fname, "applicable_max", pos, prorate,
            _not_negative(s, fname, "score", pos), _positive(m, fname, "applicable_max", pos), fl,
        )

    return _map_many(fname, ("score", "applicable_max"), (score, applicable_max), one)


@xw.func(category=CATEGORY)
@xw.arg("base", doc="基础得分（折算后）；可选一列单元格，一次为每个单位计分")
@xw.arg("bonus", doc="加分项得分，不小于 0；可选一列，与 base 逐行对应")
@xw.arg("deduction", doc="扣减项扣分（填正数，不小于 0）；可选一列，与 base 逐行对应")
@xw.arg("cap", doc="加分后总分的上限，默认 100")
def HS_TOTAL(base, bonus, deduction, cap=100):
    """总分：基础分加加分项，不超过 cap，再减扣减项，不低于 0。"""
    fname = "HS_TOTAL"
    c = _optional_number(cap, Decimal(100), fname, "cap", _positive)

    def one(row, pos):
        b, bo, d = row
        return _kind(
            fname, "base", pos, total,
            _not_negative(b, fname, "base", pos), _not_negative(bo, fname, "bonus", pos),
            _not_negative(d, fname, "deduction", pos), c,
        )

    return _map_many(fname, ("base", "bonus", "deduction"), (base, bonus, deduction), one)


WORKSHEET_FUNCTIONS = (
    HS_RANKSCORE,
    HS_PLACESCORE,
    HS_TIERSCORE,
    HS_RATESCORE,
    HS_COUNTSCORE,
    HS_FLAGSCORE,
    HS_PRORATE,
    HS_TOTAL,
)
"""The worksheet functions in contract order."""

__all__ = [f.__name__ for f in WORKSHEET_FUNCTIONS] + ["CATEGORY", "WORKSHEET_FUNCTIONS"]
