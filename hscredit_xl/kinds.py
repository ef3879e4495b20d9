"""The calculation kinds: pure functions, decimal arithmetic, no year, no Excel.

Every rule of every rubric is one of these kinds (or a sum of several) with
parameters read from the rubric file. A new year's rubric adds a data file; a
new kind of scoring rule adds a function here.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal(0)
HUNDRED = Decimal(100)
_CENT = {0: Decimal(1), 1: Decimal("0.1"), 2: Decimal("0.01"), 3: Decimal("0.001"), 4: Decimal("0.0001")}

Number = Decimal | int | float | str


class KindError(ValueError):
    """An argument a calculation kind cannot work with; the message is Chinese, for the user."""


def to_decimal(x: Number | bool) -> Decimal:
    """Exact decimal for a number: 0.1 (a float typed into a cell) becomes Decimal('0.1')."""
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise KindError(f"应为有限数值，收到「{x}」")
        return x
    if isinstance(x, bool):
        return Decimal(int(x))
    if isinstance(x, int):
        return Decimal(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise KindError(f"应为有限数值，收到「{x}」")
        # repr gives the shortest string that round-trips: what the person typed
        return Decimal(repr(x))
    if isinstance(x, str):
        try:
            d = Decimal(x.strip())
        except InvalidOperation:
            raise KindError(f"应为数值，收到「{x}」") from None
        if not d.is_finite():
            raise KindError(f"应为有限数值，收到「{x}」")
        return d
    raise KindError(f"应为数值，收到「{x!r}」")


def round_half_up(x: Number, places: int = 2) -> Decimal:
    """9.025 -> 9.03 (decisions A9), never the binary-float 9.02."""
    quantum = _CENT.get(places) or Decimal(1).scaleb(-places)
    d = x if type(x) is Decimal and x.is_finite() else to_decimal(x)  # the common case without a call
    return d.quantize(quantum, rounding=ROUND_HALF_UP)


def places(values: Sequence[Number], *, lowest_first: bool = False, ties: str = "competition") -> list[int]:
    """The place of every value among all of them, 1 = best (highest unless lowest_first).

    ties='competition': equal values share the better place, the next is skipped (1, 1, 3; RANK.EQ).
    ties='dense': equal values share the place, the next follows (1, 1, 2).
    One sort: O(n log n) for all units at once.
    """
    if ties not in ("competition", "dense"):
        raise KindError(f"并列名次规则应为 competition 或 dense，收到「{ties}」")
    decs = [to_decimal(v) for v in values]
    order = sorted(range(len(decs)), key=lambda i: decs[i], reverse=not lowest_first)
    result = [0] * len(decs)
    place = 0
    distinct = 0
    previous: Decimal | None = None
    for position, i in enumerate(order, start=1):
        if previous is None or decs[i] != previous:
            distinct += 1
            place = position if ties == "competition" else distinct
            previous = decs[i]
        result[i] = place
    return result


def place_of(value: Number, peers: Iterable[Number], *, lowest_first: bool = False, ties: str = "competition") -> int:
    """The place of one value among its peers (the value itself need not be listed among them)."""
    v = to_decimal(value)
    peer_values = [to_decimal(p) for p in peers]
    if ties == "competition":
        better = sum(1 for p in peer_values if (p < v if lowest_first else p > v))
        return better + 1
    if ties == "dense":
        better = {p for p in peer_values if (p < v if lowest_first else p > v)}
        return len(better) + 1
    raise KindError(f"并列名次规则应为 competition 或 dense，收到「{ties}」")


def rank_score(place: int, top: Number, step: Number, floor: Number = 0) -> Decimal:
    """top − step × (place − 1), never below floor: '第一名得10分，排名每下降一位扣2分，扣完为止'."""
    if place < 1:
        raise KindError(f"名次应为从 1 开始的整数，收到「{place}」")
    return max(to_decimal(floor), to_decimal(top) - to_decimal(step) * (place - 1))


def place_score(place: int, points: Sequence[Number]) -> Decimal:
    """points[place − 1], 0 past the end: '最多的得10分，第二名得5分，第三名得1分，其他不得分'."""
    if place < 1:
        raise KindError(f"名次应为从 1 开始的整数，收到「{place}」")
    return to_decimal(points[place - 1]) if place <= len(points) else ZERO


def tier_score(value: Number, tiers: Sequence[tuple[Number, Number, bool]], otherwise: Number = 0) -> Decimal:
    """Points of the first tier the value reaches; tiers are (threshold, points, inclusive), best first.

    inclusive=True means value ≥ threshold ('大于等于', and '以上' by decisions A6); False means value > threshold.
    """
    reached = tier_reached(value, tiers)
    return to_decimal(otherwise) if reached is None else to_decimal(tiers[reached][1])


def tier_reached(value: Number, tiers: Sequence[tuple[Number, Number, bool]]) -> int | None:
    """The index of the first tier the value reaches (see tier_score), None when it reaches none."""
    v = to_decimal(value)
    for index, (threshold, _points, inclusive) in enumerate(tiers):
        t = to_decimal(threshold)
        if v > t or (inclusive and v == t):
            return index
    return None


def rate_score(rate: Number, points: Number, inverse: bool = False) -> Decimal:
    """rate × points ('得分=合格率*5'), or (1 − rate) × points ('得分=（1-迟报率）*10')."""
    r = to_decimal(rate)
    if r < 0 or r > 1:
        raise KindError(f"比率应在 0%～100% 之间，收到「{rate}」")
    return ((1 - r) if inverse else r) * to_decimal(points)


def count_score(count: Number, per_item: Number, cap: Number) -> Decimal:
    """min(cap, count × per_item): '有1个部门反馈得1分，总计3分'."""
    c = to_decimal(count)
    if c < 0:
        raise KindError(f"数量应为不小于 0 的数，收到「{count}」")
    return min(to_decimal(cap), c * to_decimal(per_item))


def flag_score(flag: bool, points: Number) -> Decimal:
    """points if yes, else 0: '报送典型案例的得1分'."""
    return to_decimal(points) if flag else ZERO


def prorate(score: Number, applicable_max: Number, full: Number = 100) -> Decimal:
    """score × full / applicable_max: a base out of 90 scaled to 100 (decisions A5)."""
    m = to_decimal(applicable_max)
    if m <= 0:
        raise KindError(f"适用满分应大于 0，收到「{applicable_max}」")
    return to_decimal(score) * to_decimal(full) / m


def total(base: Number, bonus: Number, deduction: Number, cap: Number = 100) -> Decimal:
    """max(0, min(cap, base + bonus) − deduction): '加分后总分不超过100分', then the deduction."""
    return max(ZERO, min(to_decimal(cap), to_decimal(base) + to_decimal(bonus)) - to_decimal(deduction))
