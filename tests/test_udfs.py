"""The worksheet functions of contract §4 as plain Python functions."""
from __future__ import annotations

import inspect
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hscredit_xl import kinds
from hscredit_xl.kinds import KindError
from hscredit_xl.udfs import (
    CATEGORY,
    HS_COUNTSCORE,
    HS_FLAGSCORE,
    HS_PLACESCORE,
    HS_PRORATE,
    HS_RANKSCORE,
    HS_RATESCORE,
    HS_TIERSCORE,
    HS_TOTAL,
    WORKSHEET_FUNCTIONS,
)

# 1.2.2: ratio ≥100% → 10; ≥80% → 6; ≥40% → 3; else 0
RATIO_THRESHOLDS, RATIO_POINTS = [1, 0.8, 0.4], [10, 6, 3]
# 1.2.6: ≥200 → 0; 100–199 → 1; 50–99 → 2; 20–49 → 3; <20 → 4
OBJECTION_THRESHOLDS, OBJECTION_POINTS = [200, 100, 50, 20], [0, 1, 2, 3]


def column(*values):
    return [[v] for v in values]


# --------------------------------------------------------------------------- the contract's signatures


CONTRACT_SIGNATURES = {  # contract §4, and the optional arguments added after them (decisions A1, A6)
    "HS_RANKSCORE": "(value, peers, top, step, floor=0, order=0, ties=0)",
    "HS_PLACESCORE": "(value, peers, points, order=0, ties=0)",
    "HS_TIERSCORE": "(value, thresholds, points, otherwise=0, inclusive=True)",
    "HS_RATESCORE": "(rate, points, inverse=False)",
    "HS_COUNTSCORE": "(count, per_item, cap)",
    "HS_FLAGSCORE": "(flag, points)",
    "HS_PRORATE": "(score, applicable_max, full=100)",
    "HS_TOTAL": "(base, bonus, deduction, cap=100)",
}


def test_names_arguments_and_defaults_are_the_contracts():
    assert {f.__name__: str(inspect.signature(f)) for f in WORKSHEET_FUNCTIONS} == CONTRACT_SIGNATURES


def test_plain_python_functions_off_windows():
    # xlwings' decorators are no-ops here: nothing recorded, the function itself is exported
    for f in WORKSHEET_FUNCTIONS:
        assert not hasattr(f, "__xlfunc__")
        assert f.__module__ == "hscredit_xl.udfs"
        assert f.__doc__ and "\n" not in f.__doc__
    assert CATEGORY == "黄石信用考评"


# --------------------------------------------------------------------------- HS_TIERSCORE


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [(1.2, 10), (1, 10), (0.9999, 6), (0.8, 6), (0.7999, 3), (0.4, 3), (0.3999, 0), (0, 0)],
)
def test_tier_boundaries_are_inclusive(ratio, expected):
    result = HS_TIERSCORE(ratio, RATIO_THRESHOLDS, RATIO_POINTS)
    assert result == expected
    assert type(result) is float


def test_exactly_80_percent_gives_6():
    assert HS_TIERSCORE(0.8, [1, 0.8, 0.4], [10, 6, 3]) == 6.0
    assert HS_TIERSCORE(8 / 10, [[1], [0.8], [0.4]], [[10, 6, 3]]) == 6.0  # 2-D ranges, any shape


@pytest.mark.parametrize(
    ("objections", "expected"),
    [(250, 0), (200, 0), (199, 1), (100, 1), (99, 2), (50, 2), (49, 3), (20, 3), (19, 4), (0, 4)],
)
def test_objections_with_otherwise(objections, expected):
    assert HS_TIERSCORE(objections, OBJECTION_THRESHOLDS, OBJECTION_POINTS, 4) == expected


def test_200_objections_give_0():
    assert HS_TIERSCORE(200, [200, 100, 50, 20], [0, 1, 2, 3], 4) == 0.0


def test_tier_otherwise_defaults_to_0_and_blank_optional_means_default():
    assert HS_TIERSCORE(0.1, RATIO_THRESHOLDS, RATIO_POINTS) == 0
    assert HS_TIERSCORE(0.1, RATIO_THRESHOLDS, RATIO_POINTS, None) == 0
    assert HS_TIERSCORE(0.1, RATIO_THRESHOLDS, RATIO_POINTS, 1.5) == 1.5


def test_tier_ignores_empty_cells_in_thresholds_and_points():
    assert HS_TIERSCORE(0.8, [[1, None], ["", 0.8], [0.4, "  "]], [10, None, 6, 3]) == 6


def test_tier_scalar_threshold():
    assert HS_TIERSCORE(5, 5, 3) == 3
    assert HS_TIERSCORE(4, 5, 3) == 0


def test_tier_column():
    assert HS_TIERSCORE(column(1, 0.8, None, 0.5, 0.1), RATIO_THRESHOLDS, RATIO_POINTS) == column(
        10.0, 6.0, "", 3.0, 0.0
    )


# --------------------------------------------------------------------------- HS_RANKSCORE


SPOT_CHECK = [98, 95, 91, 90, 85, 80]  # 1.2.1: 1st = 6, each place lower −0.4


def test_rank_6_minus_0_4_times_3_is_exactly_4_8():
    result = HS_RANKSCORE(90, SPOT_CHECK, 6, 0.4)  # place 4
    assert result == 4.8
    assert repr(result) == "4.8"
    # place 7 among 7: binary floats would give 6 − 0.4 × 6 = 3.5999999999999996
    assert 6 - 0.4 * 6 != 3.6
    assert repr(HS_RANKSCORE(1, SPOT_CHECK + [1], 6, 0.4)) == "3.6"


def test_rank_every_place():
    assert HS_RANKSCORE(column(*SPOT_CHECK), SPOT_CHECK, 6, 0.4) == column(6.0, 5.6, 5.2, 4.8, 4.4, 4.0)


def test_rank_never_below_floor():
    volumes = [600, 500, 400, 300, 200, 100]  # 1.1: 1st = 10, each place lower −2, 扣完为止
    assert HS_RANKSCORE(column(*volumes), volumes, 10, 2) == column(10.0, 8.0, 6.0, 4.0, 2.0, 0.0)
    assert HS_RANKSCORE(100, volumes, 10, 3) == 0.0
    assert HS_RANKSCORE(100, volumes, 10, 3, 1) == 1.0


def test_rank_ties_share_the_better_place():
    peers = [100, 100, 80, 80, 80, 50]
    assert HS_RANKSCORE(column(*peers), peers, 10, 2) == column(10.0, 10.0, 6.0, 6.0, 6.0, 0.0)


def test_rank_order_1_ranks_lowest_first():
    peers = [0.01, 0.05, 0.05, 0.2]
    assert HS_RANKSCORE(column(*peers), peers, 10, 2, 0, 1) == column(10.0, 8.0, 8.0, 4.0)
    assert HS_RANKSCORE(0.05, peers, 10, 2, order=True) == 8.0
    assert HS_RANKSCORE(0.01, peers, 10, 2, order=0) == 4.0
    assert HS_RANKSCORE(0.01, peers, 10, 2, order=False) == 4.0


def test_rank_value_need_not_be_among_peers():
    assert HS_RANKSCORE(92, SPOT_CHECK, 6, 0.4) == 5.2  # two peers strictly better
    assert HS_RANKSCORE(1000, SPOT_CHECK, 6, 0.4) == 6.0
    assert HS_RANKSCORE(0, SPOT_CHECK, 6, 0.4) == 3.6
    assert HS_RANKSCORE(5, [], 6, 0.4) == 6.0


def test_rank_ignores_empty_peer_cells():
    with_blanks = [[98], [None], [95], [""], [91], ["  "], [90], [85], [80]]
    assert HS_RANKSCORE(90, with_blanks, 6, 0.4) == 4.8


def test_rank_blank_value_cells_give_blank_results():
    values = [[600], [None], [400], [""]]
    assert HS_RANKSCORE(values, values, 10, 2) == column(10.0, "", 8.0, "")
    assert HS_RANKSCORE(None, values, 10, 2) == ""


def test_rank_a_row_or_2d_value_range_gives_a_column():
    assert HS_RANKSCORE([3, 1, 2], [1, 2, 3], 10, 2) == column(10.0, 6.0, 8.0)
    assert HS_RANKSCORE([[3, 1], [2, 0]], [1, 2, 3], 10, 2) == column(10.0, 6.0, 8.0, 4.0)
    assert HS_RANKSCORE([3], [1, 2, 3], 10, 2) == column(10.0)


def test_rank_accepts_numbers_as_text():
    assert HS_RANKSCORE(" 90 ", ["98", 95, "91", 90.0], "6", "0.4") == 4.8


# --------------------------------------------------------------------------- HS_PLACESCORE


def test_place_score_10_5_1():
    categories = [12, 30, 7, 30, 5]
    assert HS_PLACESCORE(column(*categories), categories, [10, 5, 1]) == column(1.0, 10.0, 0.0, 10.0, 0.0)
    assert HS_PLACESCORE(12, [12, 7, 5], [[10], [5], [1]]) == 10.0
    assert HS_PLACESCORE(5, [12, 7, 5], [10, 5, 1]) == 1.0


def test_place_score_only_among_the_assessed_units():
    # 1.3: only 大冶市 and 阳新县 are assessed; the others' cells are empty
    categories = [[14], [9], [None], [None], [None], [None]]
    assert HS_PLACESCORE(categories, categories, [10, 5, 1]) == column(10.0, 5.0, "", "", "", "")


# --------------------------------------------------------------------------- HS_RATESCORE


@pytest.mark.parametrize("rate", [0.85, "85%", "85 %", " 85% ", "85％", "0.85"])
def test_rate_forms(rate):
    assert HS_RATESCORE(rate, 5) == 4.25


def test_rate_inverse():
    assert HS_RATESCORE(0.1, 10, True) == 9.0
    assert HS_RATESCORE("12.5%", 20, "是") == 17.5
    assert HS_RATESCORE(0.1, 10, False) == 1.0
    assert HS_RATESCORE(0.1, 10, None) == 1.0


def test_rate_bounds_are_inclusive():
    assert HS_RATESCORE(0, 5) == 0.0
    assert HS_RATESCORE(1, 5) == 5.0
    assert HS_RATESCORE("100%", 10, True) == 0.0


def test_rate_column():
    assert HS_RATESCORE(["98%", None, 0.5], 5) == column(4.9, "", 2.5)


# --------------------------------------------------------------------------- HS_COUNTSCORE, HS_FLAGSCORE


def test_count_score_capped():
    assert HS_COUNTSCORE(column(0, 1, 3, 7), 1, 3) == column(0.0, 1.0, 3.0, 3.0)
    assert HS_COUNTSCORE(5, 3, 10) == 10.0


YES = [True, 1, 1.0, "1", "是", "有", "Y", "y", "yes", " YES ", "Yes", "TRUE", "true", " 是 "]
NO = [False, 0, 0.0, "0", "否", "无", "N", "n", "no", "NO", "FALSE", "false", " 无"]


@pytest.mark.parametrize("flag", YES)
def test_flag_yes(flag):
    assert HS_FLAGSCORE(flag, 2) == 2.0


@pytest.mark.parametrize("flag", NO)
def test_flag_no(flag):
    assert HS_FLAGSCORE(flag, 2) == 0.0


def test_flag_column():
    assert HS_FLAGSCORE([["是"], ["否"], [None], [True]], 1) == column(1.0, 0.0, "", 1.0)


# --------------------------------------------------------------------------- HS_PRORATE, HS_TOTAL


def test_prorate():
    assert HS_PRORATE(81, 90) == 90.0
    assert HS_PRORATE(45, 90, 10) == 5.0
    assert HS_PRORATE(88.5, 100) == 88.5
    assert HS_PRORATE(80, 90) == float(kinds.prorate(80, 90))  # 88.888…, not rounded here


def test_prorate_per_unit_applicable_max():
    # A5: units assessed on 1.3 are out of 100, the others out of 90
    assert HS_PRORATE(column(95, 81, None), column(100, 90, 90)) == column(95.0, 90.0, "")
    assert HS_PRORATE(column(95, 81), 90) == column(float(kinds.prorate(95, 90)), 90.0)


def test_total_caps_the_bonus_then_deducts():
    assert HS_TOTAL(88.5, 6, 0) == 94.5
    assert HS_TOTAL(95, 10, 0) == 100.0
    assert HS_TOTAL(95, 10, 10) == 90.0
    assert HS_TOTAL(5, 0, 10) == 0.0
    assert HS_TOTAL(95, 10, 0, 120) == 105.0


def test_total_columns_row_by_row():
    assert HS_TOTAL(column(88.5, 95, None), column(6, 10, 3), 0) == column(94.5, 100.0, "")
    assert HS_TOTAL(column(88.5, 95), column(6, 10), column(0, 10)) == column(94.5, 90.0)


# --------------------------------------------------------------------------- errors


FLAG_WORDS = "是/否、有/无、Y/N、yes/no、TRUE/FALSE、1/0"

ERRORS = [
    (lambda: HS_TIERSCORE(0.5, [1, 0.8, 0.4], [10, 6]),
     "HS_TIERSCORE：thresholds 与 points 的个数应相同（收到 3 个门槛、2 个分值）"),
    (lambda: HS_TIERSCORE(0.5, [0.4, 0.8, 1], [3, 6, 10]),
     "HS_TIERSCORE：thresholds 应从高到低排列且互不相同，收到「0.4、0.8、1」"),
    (lambda: HS_TIERSCORE(0.5, [None, ""], []),
     "HS_TIERSCORE：thresholds 应至少有一个门槛（如 {1,0.8,0.4}），收到空区域"),
    (lambda: HS_TIERSCORE("abc", RATIO_THRESHOLDS, RATIO_POINTS),
     "HS_TIERSCORE：value 应为数值，收到「abc」"),
    (lambda: HS_TIERSCORE([0.5, "x"], RATIO_THRESHOLDS, RATIO_POINTS),
     "HS_TIERSCORE：value 第 2 个单元格应为数值，收到「x」"),
    (lambda: HS_TIERSCORE(0.5, [1, "八成", 0.4], RATIO_POINTS),
     "HS_TIERSCORE：thresholds 第 2 个单元格应为数值，收到「八成」"),
    (lambda: HS_RANKSCORE(1, [1, "x"], 10, 2),
     "HS_RANKSCORE：peers 第 2 个单元格应为数值，收到「x」"),
    (lambda: HS_RANKSCORE(1, [1, 2], None, 2),
     "HS_RANKSCORE：top 应为数值，收到空单元格"),
    (lambda: HS_RANKSCORE(1, [1, 2], 10, -1),
     "HS_RANKSCORE：step 应为不小于 0 的数，收到「-1」"),
    (lambda: HS_RANKSCORE(1, [1, 2], 10, 2, 20),
     "HS_RANKSCORE：floor 不应大于 top，收到 floor 为「20」、top 为「10」"),
    (lambda: HS_RANKSCORE(1, [1, 2], 10, 2, 0, 2),
     "HS_RANKSCORE：order 应为 0（数值越大名次越前）或 1（数值越小名次越前），收到「2」"),
    (lambda: HS_RANKSCORE(True, [1, 2], 10, 2),
     "HS_RANKSCORE：value 应为数值，收到「TRUE」"),
    (lambda: HS_PLACESCORE(1, [1, 2], []),
     "HS_PLACESCORE：points 应至少有一个分值（如 {10,5,1}），收到空区域"),
    (lambda: HS_RATESCORE(1.2, 5),
     "HS_RATESCORE：rate 应在 0%～100% 之间（如 0.85 或 85%），收到「1.2」"),
    (lambda: HS_RATESCORE("120%", 5),
     "HS_RATESCORE：rate 应在 0%～100% 之间（如 0.85 或 85%），收到「120%」"),
    (lambda: HS_RATESCORE(-0.1, 5),
     "HS_RATESCORE：rate 应在 0%～100% 之间（如 0.85 或 85%），收到「-0.1」"),
    (lambda: HS_RATESCORE("八成%", 5),
     "HS_RATESCORE：rate 应为比率（如 0.85 或 85%），收到「八成%」"),
    (lambda: HS_RATESCORE([0.5, "%"], 5),
     "HS_RATESCORE：rate 第 2 个单元格应为比率（如 0.85 或 85%），收到「%」"),
    (lambda: HS_RATESCORE(0.5, 5, "maybe"),
     f"HS_RATESCORE：inverse 应为 {FLAG_WORDS}，收到「maybe」"),
    (lambda: HS_FLAGSCORE("maybe", 1),
     f"HS_FLAGSCORE：flag 应为 {FLAG_WORDS}，收到「maybe」"),
    (lambda: HS_FLAGSCORE([1, 2], 1),
     f"HS_FLAGSCORE：flag 第 2 个单元格应为 {FLAG_WORDS}，收到「2」"),
    (lambda: HS_COUNTSCORE(-1, 1, 3),
     "HS_COUNTSCORE：count 应为不小于 0 的整数（个数不能有小数），收到「-1」"),
    (lambda: HS_COUNTSCORE([1, -2], 1, 3),
     "HS_COUNTSCORE：count 第 2 个单元格应为不小于 0 的整数（个数不能有小数），收到「-2」"),
    (lambda: HS_PRORATE(80, 0),
     "HS_PRORATE：applicable_max 应为大于 0 的数，收到「0」"),
    # what the rubric can not mean (issue 11): every argument documented as ≥ 0, 整数 or 正数
    (lambda: HS_TOTAL(98, 0, -5),
     "HS_TOTAL：deduction 应为不小于 0 的数，收到「-5」"),
    (lambda: HS_TOTAL(98, -3, 0),
     "HS_TOTAL：bonus 应为不小于 0 的数，收到「-3」"),
    (lambda: HS_TOTAL([90, -1], 0, 0),
     "HS_TOTAL：base 第 2 个单元格应为不小于 0 的数，收到「-1」"),
    (lambda: HS_TOTAL(90, 0, 0, 0),
     "HS_TOTAL：cap 应为大于 0 的数，收到「0」"),
    (lambda: HS_COUNTSCORE(2.5, 1, 3),
     "HS_COUNTSCORE：count 应为不小于 0 的整数（个数不能有小数），收到「2.5」"),
    (lambda: HS_COUNTSCORE(2, -1, 3),
     "HS_COUNTSCORE：per_item 应为不小于 0 的数，收到「-1」"),
    (lambda: HS_COUNTSCORE(2, 1, -3),
     "HS_COUNTSCORE：cap 应为不小于 0 的数，收到「-3」"),
    (lambda: HS_RANKSCORE(1, [1, 2], -10, 2),
     "HS_RANKSCORE：top 应为不小于 0 的数，收到「-10」"),
    (lambda: HS_RANKSCORE(1, [1, 2], 10, 2, -1),
     "HS_RANKSCORE：floor 应为不小于 0 的数，收到「-1」"),
    (lambda: HS_PLACESCORE(1, [1, 2], [10, -5, 1]),
     "HS_PLACESCORE：points 第 2 个单元格应为不小于 0 的数，收到「-5」"),
    (lambda: HS_TIERSCORE(0.5, [1, 0.4], [10, -3]),
     "HS_TIERSCORE：points 第 2 个单元格应为不小于 0 的数，收到「-3」"),
    (lambda: HS_TIERSCORE(0.1, [1, 0.4], [10, 3], -1),
     "HS_TIERSCORE：otherwise 应为不小于 0 的数，收到「-1」"),
    (lambda: HS_RATESCORE(0.5, -5),
     "HS_RATESCORE：points 应为不小于 0 的数，收到「-5」"),
    (lambda: HS_FLAGSCORE("是", -2),
     "HS_FLAGSCORE：points 应为不小于 0 的数，收到「-2」"),
    (lambda: HS_PRORATE(-80, 90),
     "HS_PRORATE：score 应为不小于 0 的数，收到「-80」"),
    (lambda: HS_PRORATE(80, 90, 0),
     "HS_PRORATE：full 应为大于 0 的数，收到「0」"),
    (lambda: HS_TOTAL([1, 2], [1, 2, 3], 0),
     "HS_TOTAL：base、bonus 的单元格个数应相同（收到 base 2 个、bonus 3 个）"),
    (lambda: HS_TOTAL("x", 0, 0),
     "HS_TOTAL：base 应为数值，收到「x」"),
    (lambda: HS_TOTAL(90, 0, math.inf),
     "HS_TOTAL：deduction 应为数值，收到「inf」"),
]


@pytest.mark.parametrize(("call", "message"), ERRORS, ids=[m.split("：")[0] + "-" + str(i) for i, (_, m) in enumerate(ERRORS)])
def test_chinese_error_messages(call, message):
    with pytest.raises(KindError) as info:
        call()
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- properties

numbers = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False).map(float)
cells = st.one_of(numbers, st.none(), st.just(""))


@settings(max_examples=300, deadline=None)
@given(
    value=numbers,
    peers=st.lists(cells, max_size=12),
    top=st.decimals(min_value=0, max_value=100, places=1).map(float),
    step=st.decimals(min_value=0, max_value=20, places=1).map(float),
    floor_share=st.floats(min_value=0, max_value=1),
    order=st.sampled_from([0, 1]),
)
def test_rankscore_stays_between_floor_and_top(value, peers, top, step, floor_share, order):
    floor = float(kinds.round_half_up(top * floor_share, 1))
    result = HS_RANKSCORE(value, peers, top, step, floor, order)
    assert floor <= result <= top


@settings(max_examples=300, deadline=None)
@given(values=st.lists(cells, min_size=1, max_size=12), peers=st.lists(cells, max_size=12), order=st.sampled_from([0, 1]))
def test_place_agrees_with_kinds_place_of(values, peers, order):
    # top − 1 × (place − 1) with no floor in reach (place ≤ n, so the score is ≥ 1) reads the place back
    n = len(peers) + 1
    scores = HS_RANKSCORE(values, peers, n, 1, 0, order)
    present = [p for p in peers if p is not None and p != ""]
    for v, [score] in zip(values, scores):
        if v is None or v == "":
            assert score == ""
        else:
            assert n + 1 - score == kinds.place_of(v, present, lowest_first=bool(order))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(cells, min_size=1, max_size=10), peers=st.lists(numbers, min_size=1, max_size=10))
def test_column_call_equals_one_call_per_cell(values, peers):
    col = HS_TIERSCORE(column(*values), [100, 0, -100], [3, 2, 1], 0.5)
    one_by_one = [[HS_TIERSCORE(v, [100, 0, -100], [3, 2, 1], 0.5)] for v in values]
    assert col == one_by_one
    assert HS_RANKSCORE(values, peers, 10, 2) == [[HS_RANKSCORE(v, peers, 10, 2)] for v in values]


@settings(max_examples=200, deadline=None)
@given(better=numbers, worse=numbers, peers=st.lists(numbers, max_size=10))
def test_rankscore_is_monotone(better, worse, peers):
    better, worse = max(better, worse), min(better, worse)
    assert HS_RANKSCORE(better, peers, 10, 2) >= HS_RANKSCORE(worse, peers, 10, 2)
    assert HS_RANKSCORE(worse, peers, 10, 2, 0, 1) >= HS_RANKSCORE(better, peers, 10, 2, 0, 1)


def test_rank_and_place_scores_follow_the_ties_option():
    # decisions A1: '1、1、3 顺延' (the default, as RANK.EQ) or '1、1、2 紧接'
    peers = [[9], [9], [5]]
    assert HS_RANKSCORE(5, peers, 10, 2) == 6  # two ahead: place 3 → 10 − 2×2
    assert HS_RANKSCORE(5, peers, 10, 2, 0, 0, 1) == 8  # one better value: place 2 → 10 − 2×1
    assert HS_PLACESCORE(5, peers, [[10, 5, 1]]) == 1
    assert HS_PLACESCORE(5, peers, [[10, 5, 1]], 0, 1) == 5
    assert HS_PLACESCORE(5, peers, [[10, 5, 1]], 1) == 10  # lowest first: 5 is first
    assert HS_RANKSCORE([[9], [5]], peers, 10, 2, 0, 0, 1) == [[10], [8]]


@pytest.mark.parametrize("bad", [2, -1, "是", 0.5])
def test_ties_must_be_0_or_1(bad):
    with pytest.raises(KindError, match="HS_RANKSCORE：ties 应为 0"):
        HS_RANKSCORE(5, [[9], [5]], 10, 2, 0, 0, bad)
