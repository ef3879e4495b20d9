"""The calculation kinds at their boundaries: decimal arithmetic, ties, tiers, rates, caps, 折算 and the total."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hscredit_xl import kinds
from hscredit_xl.kinds import KindError

D = Decimal


class TestRounding:
    """A9 'Each rule's score … is rounded half-up to 2 decimals (9.025 → 9.03).'"""

    def test_decimal_9_025_rounds_up(self):
        assert kinds.round_half_up(D("9.025")) == D("9.03")

    def test_float_9_025_rounds_up_too(self):
        # to_decimal reads a float through repr ('9.025'), i.e. what the person typed, so 9.025 → 9.03.
        # (Note: the float 9.025 is binary 9.02500000000000035527…, slightly ABOVE 9.025, so it is not the case
        # that tells repr from the binary value; 1.005 and 2.675 below are.)
        assert kinds.round_half_up(9.025) == D("9.03")

    @pytest.mark.parametrize("typed,expected", [
        (1.005, "1.01"),  # binary 1.00499999999999989…: Python's round(1.005, 2) gives 1.0
        (2.675, "2.68"),  # binary 2.67499999999999982…: round(2.675, 2) gives 2.67
        (1.015, "1.02"),  # binary 1.01499999999999990…
        (0.125, "0.13"),  # exact in binary, but round() rounds half to even: 0.12
    ])
    def test_float_below_its_decimal_still_rounds_half_up(self, typed, expected):
        assert D(typed) <= D(repr(typed))  # the binary value is at or below what was typed
        assert round(typed, 2) < float(expected)  # so float rounding goes down
        assert kinds.round_half_up(typed) == D(expected)

    def test_text_and_other_places(self):
        assert kinds.round_half_up("9.025") == D("9.03")
        assert kinds.round_half_up(D("9.0249")) == D("9.02")
        assert kinds.round_half_up(D("86.8888")) == D("86.89")  # 78.2 × 100 / 90
        assert kinds.round_half_up(D("2.5"), 0) == D("3")
        assert kinds.round_half_up(D("0.125"), 2) == D("0.13")
        assert kinds.round_half_up(D("1.23456"), 5) == D("1.23456")
        assert str(kinds.round_half_up(D("4.8"))) == "4.80"

    def test_decimal_arithmetic_6_minus_0_4_times_3(self):
        # A9 '6 − 0.4 × 3 is 4.8, not 4.7999…'
        assert kinds.rank_score(4, 6, D("0.4")) == D("4.8")
        assert kinds.rank_score(4, 6, 0.4) == D("4.8")  # a float step goes through repr too


class TestToDecimal:
    def test_float_uses_repr(self):
        assert kinds.to_decimal(0.1) == D("0.1")
        assert kinds.to_decimal(True) == 1 and kinds.to_decimal(False) == 0
        assert kinds.to_decimal(" 85 ") == 85

    @pytest.mark.parametrize("bad", [float("nan"), float("inf"), D("NaN"), D("Infinity"), "abc", "NaN", None, [1]])
    def test_not_a_finite_number_is_a_kind_error(self, bad):
        with pytest.raises(KindError) as exc:
            kinds.to_decimal(bad)
        assert "应为" in str(exc.value)


class TestPlaces:
    """A1 'Units with equal values share the better place, and the next place is skipped (1, 1, 3 — as Excel's
    RANK.EQ). Alternative offered: dense (1, 1, 2).'"""

    def test_competition_ties(self):
        assert kinds.places([10, 10, 5]) == [1, 1, 3]
        assert kinds.places([5, 10, 10, 7]) == [4, 1, 1, 3]

    def test_dense_ties(self):
        assert kinds.places([10, 10, 5], ties="dense") == [1, 1, 2]
        assert kinds.places([5, 10, 10, 7], ties="dense") == [3, 1, 1, 2]

    def test_lowest_first(self):
        assert kinds.places([3, 1, 1], lowest_first=True) == [3, 1, 1]
        assert kinds.places([3, 1, 1], lowest_first=True, ties="dense") == [2, 1, 1]

    def test_decimals_equal_across_forms(self):
        # 0.5, '0.50' and Decimal('0.500') are the same value: one shared place
        assert kinds.places([D("0.5"), "0.50", D("0.500"), 1]) == [2, 2, 2, 1]

    def test_empty_and_single(self):
        assert kinds.places([]) == []
        assert kinds.places([42]) == [1]

    def test_unknown_tie_rule(self):
        with pytest.raises(KindError):
            kinds.places([1, 2], ties="average")
        with pytest.raises(KindError):
            kinds.place_of(1, [1, 2], ties="average")

    def test_place_of(self):
        peers = [12000, 12000, 10800, 9600]
        assert kinds.place_of(12000, peers) == 1
        assert kinds.place_of(10800, peers) == 3  # two are better → 3
        assert kinds.place_of(10800, peers, ties="dense") == 2  # one distinct better value → 2
        assert kinds.place_of(11000, peers) == 3  # need not be among the peers
        assert kinds.place_of(9600, peers, lowest_first=True) == 1


class TestTier:
    TIERS = [(200, 0, True), (100, 1, True), (50, 2, True), (20, 3, True)]  # 1.2.6

    def test_inclusive(self):
        # '数据量大于等于200，得0分 … 数据量小于20，得4分'
        assert kinds.tier_score(200, self.TIERS, 4) == 0
        assert kinds.tier_score(199, self.TIERS, 4) == 1
        assert kinds.tier_score(20, self.TIERS, 4) == 3
        assert kinds.tier_score(19, self.TIERS, 4) == 4

    def test_exclusive(self):
        # '5个以上' read as > 5 (A6 exclusive)
        assert kinds.tier_score(5, [(5, 3, False)]) == 0
        assert kinds.tier_score(D("5.0001"), [(5, 3, False)]) == 3
        assert kinds.tier_score(5, [(5, 3, True)]) == 3

    def test_otherwise_default(self):
        assert kinds.tier_score(0, [(1, 10, True)]) == 0


class TestRate:
    def test_rate_and_inverse(self):
        # '得分=合格率*5': 0.85 × 5 = 4.25; '得分=（1-迟报率）*10': (1 − 0.03) × 10 = 9.7
        assert kinds.rate_score(D("0.85"), 5) == D("4.25")
        assert kinds.rate_score(0.85, 5) == D("4.25")
        assert kinds.rate_score(D("0.03"), 10, inverse=True) == D("9.7")
        assert kinds.rate_score(0, 10, inverse=True) == 10
        assert kinds.rate_score(1, 10, inverse=True) == 0

    @pytest.mark.parametrize("bad", [D("1.0001"), D("-0.01"), 85, "85"])
    def test_out_of_range_is_a_kind_error_in_chinese(self, bad):
        # A8 'A rate outside 0…100% is an input error, not something to clamp silently.'
        with pytest.raises(KindError) as exc:
            kinds.rate_score(bad, 5)
        assert "比率应在 0%～100% 之间" in str(exc.value)
        assert str(bad) in str(exc.value)


class TestCountFlag:
    def test_count_cap(self):
        # '有1个部门反馈得1分, 总计3分': min(3, 4 × 1) = 3; '每项…得3分, 最高得10分': min(10, 4 × 3) = 10
        assert kinds.count_score(4, 1, 3) == 3
        assert kinds.count_score(2, 1, 3) == 2
        assert kinds.count_score(4, 3, 10) == 10
        assert kinds.count_score(3, 3, 10) == 9
        assert kinds.count_score(0, 3, 10) == 0

    def test_negative_count(self):
        with pytest.raises(KindError) as exc:
            kinds.count_score(-1, 1, 3)
        assert "不小于 0" in str(exc.value)

    def test_flag(self):
        assert kinds.flag_score(True, 2) == 2
        assert kinds.flag_score(False, 2) == 0


class TestPlaceScore:
    def test_points_then_zero(self):
        # 1.3 '采集种类最多的得10分，第二名得5分，第三名得1分，其他不得分'
        assert [kinds.place_score(p, [10, 5, 1]) for p in (1, 2, 3, 4)] == [10, 5, 1, 0]

    def test_place_zero_is_an_error(self):
        with pytest.raises(KindError):
            kinds.place_score(0, [10, 5, 1])
        with pytest.raises(KindError):
            kinds.rank_score(0, 10, 2)


class TestProrateAndTotal:
    def test_prorate(self):
        # A5 'base × 100 / 90': 88.2 × 100 / 90 = 98 exactly; 78.2 × 100 / 90 = 86.888…
        assert kinds.prorate(D("88.2"), 90) == 98
        assert kinds.round_half_up(kinds.prorate(D("78.2"), 90)) == D("86.89")
        assert kinds.prorate(50, 100) == 50

    def test_prorate_needs_a_positive_maximum(self):
        with pytest.raises(KindError) as exc:
            kinds.prorate(50, 0)
        assert "适用满分应大于 0" in str(exc.value)

    def test_total_cap_then_deduction(self):
        # '加分后总分不超过100分', then '有, 扣10分': min(100, 98 + 6) − 10 = 100 − 10 = 90 (not 98 + 6 − 10 = 94)
        assert kinds.total(98, 6, 10) == 90
        # below the cap nothing is cut: min(100, 80 + 9) − 0 = 89
        assert kinds.total(80, 9, 0) == 89
        # min(100, 95 + 10) = 100
        assert kinds.total(95, 10, 0) == 100

    def test_total_floor_zero(self):
        # min(100, 5 + 0) − 10 = −5 → floor 0
        assert kinds.total(5, 0, 10) == 0


# ------------------------------------------------------------------------------------------------------
# Properties

values_lists = st.lists(st.integers(min_value=0, max_value=6), min_size=0, max_size=10)


@settings(max_examples=100, deadline=None)
@given(st.data(), values_lists, st.sampled_from(["competition", "dense"]), st.booleans())
def test_places_is_permutation_invariant(data, values, ties, lowest_first):
    perm = data.draw(st.permutations(range(len(values))))
    shuffled = [values[i] for i in perm]
    before = kinds.places(values, ties=ties, lowest_first=lowest_first)
    after = kinds.places(shuffled, ties=ties, lowest_first=lowest_first)
    assert after == [before[i] for i in perm]


@settings(max_examples=100, deadline=None)
@given(values_lists, st.sampled_from(["competition", "dense"]), st.booleans())
def test_places_agree_with_place_of(values, ties, lowest_first):
    got = kinds.places(values, ties=ties, lowest_first=lowest_first)
    for v, p in zip(values, got):
        assert p == kinds.place_of(v, values, ties=ties, lowest_first=lowest_first)
    if values:
        assert min(got) == 1


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=50),
       st.decimals(min_value=0, max_value=100, places=2),
       st.decimals(min_value=0, max_value=10, places=2),
       st.decimals(min_value=0, max_value=100, places=2))
def test_rank_score_within_floor_and_top(place, top, step, floor):
    if floor > top:
        floor, top = top, floor
    s = kinds.rank_score(place, top, step, floor)
    assert floor <= s <= top
    if place == 1:
        assert s == top
