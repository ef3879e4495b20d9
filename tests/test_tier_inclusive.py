"""HS_TIERSCORE's optional `inclusive` (per-tier flags) and the formula builder that passes it (issue 16, item 5).

A tier of the rubric is reached at `value ≥ at` (inclusive, the default) or `value > at`; decisions A6 makes
'以上' either. The worksheet function must take the same flags as the engine's kinds.tier_score.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hscredit_xl import kinds
from hscredit_xl.kinds import KindError
from hscredit_xl.rubric import load_rubric
from hscredit_xl.udfs import HS_TIERSCORE
from hscredit_xl.workbook.layout import Layout

RUBRIC = load_rubric()
# 3.1 (A7 regrouped) '满10篇得3分; 5篇以上得2分; 3篇以上得1分; 1篇以上得1分。 以上均没有的不得分。'
MEDIA_AT, MEDIA_POINTS = [10, 5, 3, 1], [3, 2, 1, 1]


def test_inclusive_defaults_to_true():
    # 2.1 '区县有5个以上领域的行业部门报送信用承诺数据得3分': 5 reaches the tier under 含本数
    assert HS_TIERSCORE(5, [5], [3]) == 3.0
    assert HS_TIERSCORE(5, [5], [3], 0, True) == 3.0
    assert HS_TIERSCORE(5, [5], [3], 0, None) == 3.0  # an empty cell passed for it: the default
    assert HS_TIERSCORE(5, [5], [3], 0, [[None]]) == 3.0


def test_one_false_flag_applies_to_every_tier():
    # A6 不含本数: 5个以上 means > 5
    assert HS_TIERSCORE(5, [5], [3], 0, False) == 0.0
    assert HS_TIERSCORE(6, [5], [3], 0, False) == 3.0
    assert HS_TIERSCORE(5, MEDIA_AT, MEDIA_POINTS, 0, [[False]]) == 1.0  # 5 > 3


@pytest.mark.parametrize(("reports", "expected"), [(10, 3), (9, 2), (6, 2), (5, 1), (4, 1), (3, 1), (2, 1),
                                                     (1, 0), (0, 0)])
def test_per_tier_flags_as_3_1_under_a6_exclusive(reports, expected):
    # '满10篇' stays ≥ 10 under either reading of 以上; the other three tiers become >
    assert HS_TIERSCORE(reports, MEDIA_AT, MEDIA_POINTS, 0, [[True, False, False, False]]) == expected


def test_flags_take_any_shape_skip_blanks_and_read_the_flag_words():
    flags = [[True], [None], ["否"], [0], ["FALSE"]]  # the blank cell is skipped, like a blank threshold
    assert HS_TIERSCORE(5, MEDIA_AT, MEDIA_POINTS, 0, flags) == 1.0
    assert HS_TIERSCORE(10, MEDIA_AT, MEDIA_POINTS, 0, flags) == 3.0


def test_a_column_of_values_with_flags():
    got = HS_TIERSCORE([[10], [5], [None], [1]], MEDIA_AT, MEDIA_POINTS, 0, [True, False, False, False])
    assert got == [[3.0], [1.0], [""], [0.0]]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: HS_TIERSCORE(5, MEDIA_AT, MEDIA_POINTS, 0, [True, False]),
     "HS_TIERSCORE：inclusive 应为一个值或与 thresholds 个数相同（收到 2 个、门槛 4 个）"),
    (lambda: HS_TIERSCORE(5, [5], [3], 0, "也许"),
     "HS_TIERSCORE：inclusive 应为 是/否、有/无、Y/N、yes/no、TRUE/FALSE、1/0，收到「也许」"),
    (lambda: HS_TIERSCORE(5, [5, 3], [3, 1], 0, [True, 2]),
     "HS_TIERSCORE：inclusive 第 2 个单元格应为 是/否、有/无、Y/N、yes/no、TRUE/FALSE、1/0，收到「2」"),
])
def test_bad_flags_are_named(call, message):
    with pytest.raises(KindError) as exc:
        call()
    assert str(exc.value) == message


@settings(max_examples=200, deadline=None)
@given(st.integers(-5, 25), st.lists(st.booleans(), min_size=4, max_size=4), st.integers(0, 4))
def test_the_worksheet_function_is_the_engines_tier_score(value, flags, otherwise):
    tiers = [(t, p, f) for t, p, f in zip([20, 10, 5, 0], [4, 3, 2, 1], flags)]
    expected = float(kinds.tier_score(value, tiers, otherwise))
    assert HS_TIERSCORE(value, [20, 10, 5, 0], [4, 3, 2, 1], otherwise, flags) == expected


# ---------------------------------------------------------------------------------------- the formula builder


def _tier_formulas(choices: dict[str, str]) -> dict[str, str]:
    formulas = Layout.build(RUBRIC).score_formulas({**RUBRIC.default_choices, **choices})
    return {rule_id: f for rule_id, f in formulas.items() if "HS_TIERSCORE" in f}


def test_all_inclusive_tiers_leave_the_formula_as_before():
    # the default 含本数: no fifth argument, so the default template's formulas are unchanged
    for rule_id, formula in _tier_formulas({}).items():
        assert "TRUE" not in formula and "FALSE" not in formula, (rule_id, formula)
    assert "HS_TIERSCORE('数据录入'!$W$5:$W$10,{5},{3},0)" in _tier_formulas({})["2.1"]


def test_a6_exclusive_passes_the_flags_of_every_tier():
    exclusive = _tier_formulas({"A6": "exclusive"})
    assert "HS_TIERSCORE('数据录入'!$W$5:$W$10,{5},{3},0,{FALSE})" in exclusive["2.1"]
    assert ",{10,5,3,1},{3,2,1,1},0,{TRUE,FALSE,FALSE,FALSE})" in exclusive["3.1"]
    # 1.2.2 and 1.2.6 say '大于等于' literally: inclusive under either reading of 以上
    assert exclusive["1.2.2"] == _tier_formulas({})["1.2.2"]
    assert exclusive["1.2.6"] == _tier_formulas({})["1.2.6"]
    # A7 as printed moves the media tiers to 3.2, flags and all
    printed = _tier_formulas({"A6": "exclusive", "A7": "as_printed"})
    assert ",{10,5,3,1},{3,2,1,1},0,{TRUE,FALSE,FALSE,FALSE})" in printed["3.2"]
