"""Tests are data: every case written in the rubric file under a rule's part, evaluated through the engine.

Then hand-written boundary tests, each quoting the sentence of 黄信用办〔2021〕2号 it reads.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from hscredit_xl import rubric_check
from hscredit_xl.engine import Switches, score_given
from hscredit_xl.rubric import load_rubric, rubric_path

RUBRIC = load_rubric()
# every case as `hscredit-xl rubric check` computes it: the same code, the same list
CASES = rubric_check.case_checks(RUBRIC, rubric_check.read_tree(rubric_path().read_text(encoding="utf-8"), "2020"))


def _id(case: rubric_check.CaseCheck) -> str:
    when = "(" + ",".join(f"{k}={v}" for k, v in case.part.when.items()) + ")" if case.part.when else ""
    return f"{case.where}{when}-{case.note or f'given={case.given}'}"


def test_there_are_cases_and_every_part_has_some():
    assert len(CASES) >= 60
    for rule in RUBRIC.rules:
        for n, part in enumerate(rule.parts):
            assert part.cases, f"rule {rule.id} part {n + 1} ({part.kind}) has no case read off the text"
    assert sum(len(p.cases) for r in RUBRIC.rules for p in r.parts) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_case_from_rubric(case):
    assert rubric_check.case_finding(RUBRIC, case) is None
    got = score_given(case.part, case.given, Switches(RUBRIC, case.part.when).resolve(case.part.params))
    assert isinstance(got, Decimal) and got == case.expect


def test_a_case_written_wrong_is_found():
    case = CASES[0]
    wrong = rubric_check.CaseCheck(case.where, case.line, case.part, case.given, case.expect + 1, case.note)
    finding = rubric_check.case_finding(RUBRIC, wrong)
    assert finding is not None and finding.line == case.line and "按规则计算得" in finding.message


# ------------------------------------------------------------------------------------------------------
# Hand-written boundaries, each with its sentence


def _part(rule_id: str, n: int = 0):
    return RUBRIC.rule(rule_id).parts[n]


def score(rule_id: str, given, n: int = 0, choices: dict | None = None) -> Decimal:
    part = _part(rule_id, n)
    return score_given(part, given, Switches(RUBRIC, choices).resolve(part.params))


class TestRectificationRatio:
    """1.2.2 '整改比率大于等于100%，得10分；整改比率大于等于80%，小于100%，得6分；整改比率大于等于40%，小于80%，得3分；
    整改比率小于40%，得0分'"""

    def test_exactly_80_percent_gives_6(self):
        # 8 rectified of 10 returned: 8 / 10 = 80 % → '大于等于80%' → 6
        assert score("1.2.2", Decimal(8) / Decimal(10)) == 6

    def test_just_under_80_percent_gives_3(self):
        # 799 of 1000 = 79.9 % → '大于等于40%，小于80%' → 3
        assert score("1.2.2", Decimal(799) / Decimal(1000)) == 3

    def test_exactly_100_and_exactly_40_percent(self):
        assert score("1.2.2", Decimal(25) / Decimal(25)) == 10  # 25 / 25 = 100 % → 10
        assert score("1.2.2", Decimal(4) / Decimal(10)) == 3  # 4 / 10 = 40 % → 3
        assert score("1.2.2", Decimal(39) / Decimal(100)) == 0  # 39 % → '小于40%，得0分'

    def test_two_thirds_is_in_the_3_point_tier(self):
        # 2 / 3 = 66.67 % (a repeating decimal): 40 % ≤ 66.67 % < 80 % → 3
        assert score("1.2.2", Decimal(2) / Decimal(3)) == 3


class TestObjections:
    """1.2.6 '数据量大于等于200，得0分；数据量大于等于100，小于200，得1分；数据量大于等于50，小于100，得2分；
    数据量大于等于20，小于50，得3分；数据量小于20，得4分。'"""

    @pytest.mark.parametrize("count,points", [
        (200, 0),  # '大于等于200，得0分'
        (199, 1),  # '大于等于100，小于200，得1分'
        (20, 3),  # '大于等于20，小于50，得3分'
        (19, 4),  # '小于20，得4分'
        (1000, 0),
    ])
    def test_boundaries(self, count, points):
        assert score("1.2.6", count) == points


class TestCommitmentSectors:
    """2.1 '区县有5个以上领域的行业部门报送信用承诺数据得3分, 其他不得分。'"""

    def test_5_sectors_gives_3(self):
        # A6: '以上 includes the number itself (so "5个以上" means ≥ 5)': 5 ≥ 5 → 3
        assert score("2.1", 5, n=1) == 3

    def test_4_sectors_gives_0(self):
        assert score("2.1", 4, n=1) == 0  # '其他不得分'

    def test_5_sectors_with_a6_exclusive_gives_0(self):
        # the alternative reading: 5个以上 means > 5, so 5 gives nothing and 6 gives 3
        assert score("2.1", 5, n=1, choices={"A6": "exclusive"}) == 0
        assert score("2.1", 6, n=1, choices={"A6": "exclusive"}) == 3

    def test_reported_flag(self):
        # '区县各有关部门通过市信用平台报送信用承诺数据得2分'
        assert score("2.1", True, n=0) == 2
        assert score("2.1", False, n=0) == 0


class TestMediaReports:
    """3.1 (A7 regrouped) '满10篇得3分; 5篇以上得2分; 3篇以上得1分; 1篇以上得1分。 以上均没有的不得分。'"""

    def _media(self, count, choices=None):
        part = RUBRIC.rule("3.1").parts[1]
        assert part.value == "media_reports"
        return score_given(part, count, Switches(RUBRIC, choices).resolve(part.params))

    def test_10_reports_give_3_and_9_give_2(self):
        assert self._media(10) == 3  # '满10篇得3分'
        assert self._media(9) == 2  # 9 ≥ 5: '5篇以上得2分'

    def test_5_and_4_and_0(self):
        assert self._media(5) == 2  # 5篇以上 includes 5 (A6)
        assert self._media(4) == 1  # 4 ≥ 3: '3篇以上得1分'
        assert self._media(0) == 0  # '以上均没有的不得分'

    def test_a6_exclusive_leaves_man_10_inclusive(self):
        # '满10篇' is not '以上': it stays ≥ 10 under either reading of 以上
        assert self._media(10, {"A6": "exclusive"}) == 3
        # 5 is not > 5, but 5 > 3 → '3篇以上得1分'
        assert self._media(5, {"A6": "exclusive"}) == 1
        # 1 is not > 1 → nothing
        assert self._media(1, {"A6": "exclusive"}) == 0

    def test_activities_cap_at_2(self):
        # '开展宣传教育活动(2分)。每运用1种方式…得1分': 3 activities × 1 = 3, capped at 2
        assert score("3.1", 3, n=0) == 2
        assert score("3.1", 1, n=0) == 1


class TestSpotCheckRank:
    """1.2.1 '排名第一得6分，排名每下降一名扣0.4分，扣完为止'"""

    def test_place_4_is_exactly_4_8(self):
        # 6 − 0.4 × (4 − 1) = 6 − 1.2 = 4.8, in decimal (A9: "6 − 0.4 × 3 is 4.8, not 4.7999…")
        got = score("1.2.1", 4)
        assert got == Decimal("4.8")
        assert isinstance(got, Decimal) and str(got) == "4.8"

    def test_place_16_and_past_give_0(self):
        # 6 − 0.4 × 15 = 0 '扣完为止'; place 17 would be −0.4, floored at 0
        assert score("1.2.1", 16) == 0
        assert score("1.2.1", 17) == 0
        assert score("1.2.1", 15) == Decimal("0.4")  # 6 − 0.4 × 14 = 0.4


class TestVolumeRank:
    """1.1 '区县数据1-12月每月入库总量第一名得10分，排名每下降一位扣2分，扣完为止。'"""

    @pytest.mark.parametrize("place,points", [(1, 10), (2, 8), (3, 6), (4, 4), (5, 2), (6, 0), (7, 0)])
    def test_places(self, place, points):
        # 10 − 2 × (place − 1), never below 0
        assert score("1.1", place) == points


class TestConcealment:
    """1.2.5 '双公示数据瞒报率，总分20分。取被抽查部门瞒报率最高值，得分=（1-瞒报率）*10'"""

    def test_default_a3_is_times_20(self):
        # (1 − 0.05) × 20 = 19
        assert score("1.2.5", Decimal("0.05")) == 19

    def test_a3_literal_10_is_times_10(self):
        # (1 − 0.05) × 10 = 9.5
        assert score("1.2.5", Decimal("0.05"), choices={"A3": "literal_10"}) == Decimal("9.5")
        # (1 − 0) × 10 = 10: the literal formula can never reach the stated 20
        assert score("1.2.5", 0, choices={"A3": "literal_10"}) == 10


class TestOthers:
    def test_public_service_places(self):
        # 1.3 '采集种类最多的得10分，第二名得5分，第三名得1分，其他不得分。'
        assert [score("1.3", p) for p in (1, 2, 3, 4, 5)] == [10, 5, 1, 0, 0]

    def test_verification_feedback(self):
        # 2.2 '有1个部门反馈得1分, 总计3分': min(3, n × 1)
        assert [score("2.2", n, n=1) for n in (0, 1, 2, 3, 4, 9)] == [0, 1, 2, 3, 3, 3]

    def test_pass_rates(self):
        # 1.2.3 '得分=合格率*5': 0.905 × 5 = 4.525 (the part is not rounded; the rule's sum is, A9)
        assert score("1.2.3", Decimal("0.905"), n=1) == Decimal("4.525")
        assert score("1.2.3", Decimal("0.9"), n=0) == Decimal("4.5")

    def test_late_rate(self):
        # 1.2.4 '得分=（1-迟报率）*10': (1 − 0.133) × 10 = 8.67
        assert score("1.2.4", Decimal("0.133")) == Decimal("8.67")

    def test_bonus_cap(self):
        # 5 '开展每项创新工作并取得成效的得3分, 最高得10分。': 4 × 3 = 12 → 10; 3 × 3 = 9
        assert score("5", 4) == 10
        assert score("5", 3) == 9

    def test_deduction(self):
        # 6 '无, 不扣分 有, 扣10分'
        assert score("6", True) == 10
        assert score("6", False) == 0

    def test_a7_as_printed_moves_media_reports_to_3_2(self):
        # A7 alternative: '按原文行序：3.1 只计宣传教育活动（至多2分），3.2 按媒体宣传报道计分'
        printed = Switches(RUBRIC, {"A7": "as_printed"})
        active_31 = [p.value for p in RUBRIC.rule("3.1").parts if printed.active(p)]
        active_32 = [p.value for p in RUBRIC.rule("3.2").parts if printed.active(p)]
        assert active_31 == ["publicity_activities"]
        assert active_32 == ["media_reports"]
        default = Switches(RUBRIC)
        assert [p.value for p in RUBRIC.rule("3.1").parts if default.active(p)] == ["publicity_activities",
                                                                                     "media_reports"]
        assert [p.value for p in RUBRIC.rule("3.2").parts if default.active(p)] == ["training_score"]
