"""The engine over all units at once: a six-unit case worked by hand, the decisions' switches, and properties.

Every expected number below is computed in the comment next to it from the sentences of 黄信用办〔2021〕2号 and
the defaults of rubric-2020-decisions.md; none is copied from the program's output.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hscredit_xl.rubric import load_rubric
from hscredit_xl.scoring import InputProblems, score_rows

D = Decimal
RUBRIC = load_rubric()
RULE_IDS = ["1.1", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.3", "2.1", "2.2", "3.1", "3.2", "3.3"]
INNOVATIONS = ["innovation_docking", "innovation_in_plan", "innovation_benefit_apps", "innovation_other"]


def yn(flag: bool) -> str:
    return "是" if flag else "否"


def make_row(unit: str, *, monthly=(1000,) * 12, spotcheck="90", returned=10, rectified=10, dec_pass="100%",
             oct_pass="100%", late="0%", concealment="0%", objections=0, categories="", reported=True, sectors=5,
             plan=True, depts=3, activities=2, media=10, training="3", case=True, video=True, innovations=0,
             major=False, **extra) -> dict:
    """A data-file row (contract §1) as the strings a CSV holds; innovations = how many of the four are 是."""
    row = {"unit": unit}
    for m, v in enumerate(monthly, start=1):
        row[f"volume_m{m:02d}"] = str(v)
    row.update({
        "spotcheck_score": str(spotcheck), "returned_issues": str(returned), "rectified_issues": str(rectified),
        "dec_pass_rate": dec_pass, "oct_return_pass_rate": oct_pass, "dec_late_rate": late,
        "concealment_rates": concealment, "objections": str(objections), "public_service_categories": str(categories),
        "commitment_reported": yn(reported), "commitment_sectors": str(sectors), "verification_plan": yn(plan),
        "verification_feedback_depts": str(depts), "publicity_activities": str(activities),
        "media_reports": str(media), "training_score": str(training), "typical_case": yn(case),
        "short_video": yn(video), "major_credit_event": yn(major),
    })
    for i, key in enumerate(INNOVATIONS):
        row[key] = yn(i < innovations)
    row.update({k: str(v) for k, v in extra.items()})
    return row


# ------------------------------------------------------------------------------------------------------
# The six units, worked by hand

def six_units() -> list[dict]:
    return [
        make_row("大冶市", monthly=(1000,) * 12,  # annual 12 000
                 spotcheck=98, returned=50, rectified=50, dec_pass="100%", oct_pass="100%", late="0%",
                 concealment="0%;1%;0.5%", objections=10, categories=7, reported=True, sectors=8, plan=True,
                 depts=4, activities=3, media=12, training=3, case=True, video=True, innovations=4, major=False,
                 self_total=100),
        make_row("阳新县", monthly=(900,) * 12,  # annual 10 800
                 spotcheck=95, returned=40, rectified=32, dec_pass="90.5%", oct_pass="90%", late="13.3%",
                 concealment="2%;1%", objections=20, categories=5, reported=True, sectors=5, plan=True, depts=3,
                 activities=2, media=10, training="2.5", case=True, video=False, innovations=3, major=False,
                 **{"self_1.2.3": 10}),
        make_row("黄石港区", monthly=(900, 1100) * 6,  # annual 6 × 900 + 6 × 1100 = 12 000, equal to 大冶市
                 spotcheck=96, returned=20, rectified=25, dec_pass="98%", oct_pass="96%", late="11%",
                 concealment="0", objections=19, reported=True, sectors=5, plan=True, depts=3, activities=2,
                 media=10, training=3, case=True, video=True, innovations=2, major=True),
        make_row("西塞山区", monthly=(800,) * 12,  # annual 9 600
                 spotcheck=90, returned=30, rectified=12, dec_pass="80%", oct_pass="90%", late="5%",
                 concealment="5%;2.5%", objections=55, reported=False, sectors=6, plan=True, depts=1,
                 activities=2, media=5, training="1.5", case=False, video=True, innovations=1, major=False,
                 self_total=75),
        make_row("下陆区", monthly=(700,) * 12,  # annual 8 400
                 spotcheck=92, returned=0, rectified=0, dec_pass="96%", oct_pass="94%", late="3%",
                 concealment="1.5%", objections=100, reported=True, sectors=5, plan=True, depts=0, activities=0,
                 media=4, training=3, case=True, video=True, innovations=2, major=False,
                 adjustment=1, adjustment_reason="全年按时报送，日常工作突出"),
        make_row("开发区·铁山区", monthly=(600,) * 12,  # annual 7 200
                 spotcheck=85, returned=25, rectified=9, dec_pass="70%", oct_pass="60%", late="10%",
                 concealment="10%;4%", objections=200, reported=False, sectors=2, plan=False, depts=0,
                 activities=1, media=0, training=0, case=False, video=False, innovations=0, major=False,
                 **{"self_1.1": 0, "self_1.2.1": 4, "self_1.2.2": 3, "self_1.2.3": "6.5", "self_1.2.4": 9,
                    "self_1.2.5": 18, "self_1.2.6": 0, "self_2.1": 0, "self_2.2": 0, "self_3.1": 1,
                    "self_3.2": 0, "self_3.3": 0, "self_5": 0, "self_6": 0}),
    ]


# Rule scores, one line per unit, in RULE_IDS order.
#
# 1.1 '第一名得10分，排名每下降一位扣2分，扣完为止' on the annual total (A2), ties 1,1,3 (A1):
#     大冶 12 000 and 黄石港 12 000 share place 1 → 10, 10; 阳新 10 800 is place 3 (2 skipped) → 10 − 2×2 = 6;
#     西塞山 9 600 place 4 → 4; 下陆 8 400 place 5 → 2; 开发区 7 200 place 6 → 10 − 2×5 = 0.
# 1.2.1 '排名第一得6分，排名每下降一名扣0.4分': 98 > 96 > 95 > 92 > 90 > 85:
#     大冶 6; 黄石港 6 − 0.4 = 5.6; 阳新 6 − 0.8 = 5.2; 下陆 6 − 1.2 = 4.8; 西塞山 6 − 1.6 = 4.4; 开发区 6 − 2.0 = 4.0.
# 1.2.2 整改比率: 大冶 50/50 = 100 % → 10; 阳新 32/40 = 80 % exactly → 6; 黄石港 25/20 = 125 % ≥ 100 % → 10 (A4);
#     西塞山 12/30 = 40 % exactly → 3; 下陆 0 returned → counts as 100 % → 10 (A4); 开发区 9/25 = 36 % → 0.
# 1.2.3 '得分=合格率*5', twice: 大冶 5×1 + 5×1 = 10; 阳新 5×0.905 + 5×0.9 = 4.525 + 4.5 = 9.025 → 9.03 (A9);
#     黄石港 4.9 + 4.8 = 9.7; 西塞山 4 + 4.5 = 8.5; 下陆 4.8 + 4.7 = 9.5; 开发区 3.5 + 3 = 6.5.
# 1.2.4 '得分=（1-迟报率）*10': 大冶 (1−0)×10 = 10; 阳新 (1−0.133)×10 = 8.67; 黄石港 (1−0.11)×10 = 8.9;
#     西塞山 (1−0.05)×10 = 9.5; 下陆 (1−0.03)×10 = 9.7; 开发区 (1−0.1)×10 = 9.
# 1.2.5 '取被抽查部门瞒报率最高值', ×20 (A3): 大冶 max(0,1,0.5)% = 1 % → 0.99×20 = 19.8; 阳新 2 % → 19.6;
#     黄石港 0 → 20; 西塞山 5 % → 19; 下陆 1.5 % → 0.985×20 = 19.7; 开发区 10 % → 18.
# 1.2.6 异议: 大冶 10 < 20 → 4; 阳新 20 exactly → 3; 黄石港 19 → 4; 西塞山 55 → 2; 下陆 100 exactly → 1;
#     开发区 200 exactly → 0.
# 1.3 only 大冶 and 阳新 (A5), ranked between them: 7 > 5 → 10, 5; the other four: not applicable (None).
# 2.1 2 if reported + 3 if ≥ 5 sectors (A6): 大冶 2+3 = 5; 阳新 2+3 (5 counts) = 5; 黄石港 2+3 = 5;
#     西塞山 0+3 = 3; 下陆 2+3 = 5; 开发区 0+0 = 0.
# 2.2 2 if plan + min(3, depts): 大冶 2+3 (4 capped) = 5; 阳新 2+3 = 5; 黄石港 2+3 = 5; 西塞山 2+1 = 3;
#     下陆 2+0 = 2; 开发区 0.
# 3.1 min(2, activities) + media tier (A7): 大冶 2 (3 capped) + 3 (12 ≥ 10) = 5; 阳新 2 + 3 (满10篇) = 5;
#     黄石港 2 + 3 = 5; 西塞山 2 + 2 (5篇以上) = 4; 下陆 0 + 1 (4: 3篇以上) = 1; 开发区 1 + 0 = 1.
# 3.2 the reviewer's score: 3, 2.5, 3, 1.5, 3, 0.
# 3.3 1 + 1: 大冶 2; 阳新 1; 黄石港 2; 西塞山 1; 下陆 2; 开发区 0.
N = None
EXPECTED_RULES = {
    "大冶市": ["10", "6", "10", "10", "10", "19.8", "4", "10", "5", "5", "5", "3", "2"],
    "阳新县": ["6", "5.2", "6", "9.03", "8.67", "19.6", "3", "5", "5", "5", "5", "2.5", "1"],
    "黄石港区": ["10", "5.6", "10", "9.7", "8.9", "20", "4", N, "5", "5", "5", "3", "2"],
    "西塞山区": ["4", "4.4", "3", "8.5", "9.5", "19", "2", N, "3", "3", "4", "1.5", "1"],
    "下陆区": ["2", "4.8", "10", "9.5", "9.7", "19.7", "1", N, "5", "2", "1", "3", "2"],
    "开发区·铁山区": ["0", "4.0", "0", "6.5", "9", "18", "0", N, "0", "0", "1", "0", "0"],
}

# Totals, per unit: (sections 1/2/3, base, base_scaled, bonus, deduction, total, rank, adjustment, final)
#
# 大冶市: S1 = 10+6+10+10+10+19.8+4+10 = 79.8; S2 = 5+5 = 10; S3 = 5+3+2 = 10; base = 99.8, out of 100, no 折算;
#   bonus 4 items × 3 = 12 → '最高得10分' 10; min(100, 99.8 + 10) = 100 ('加分后总分不超过100分'); − 0 = 100.
# 阳新县: S1 = 6+5.2+6+9.03+8.67+19.6+3+5 = 62.5; S2 = 10; S3 = 5+2.5+1 = 8.5; base = 81; bonus 3 × 3 = 9; 90.
# 黄石港区: S1 = 10+5.6+10+9.7+8.9+20+4 = 68.2; S2 = 10; S3 = 10; base = 88.2 out of 90;
#   折算 88.2 × 100 / 90 = 98 (A5); bonus 2 × 3 = 6; min(100, 98 + 6) = 100; 重大信用事件 − 10 → 90
#   (the deduction comes after the cap: not 98 + 6 − 10 = 94).
# 西塞山区: S1 = 4+4.4+3+8.5+9.5+19+2 = 50.4; S2 = 3+3 = 6; S3 = 4+1.5+1 = 6.5; base = 62.9;
#   折算 62.9 × 100 / 90 = 69.888… → 69.89; bonus 3; 72.89.
# 下陆区: S1 = 2+4.8+10+9.5+9.7+19.7+1 = 56.7; S2 = 5+2 = 7; S3 = 1+3+2 = 6; base = 69.7;
#   折算 69.7 × 100 / 90 = 77.444… → 77.44; bonus 6; 83.44; adjustment +1 (A11, with reason) → final 84.44.
# 开发区·铁山区: S1 = 0+4+0+6.5+9+18+0 = 37.5; S2 = 0; S3 = 1+0+0 = 1; base = 38.5;
#   折算 38.5 × 100 / 90 = 42.777… → 42.78; bonus 0; 42.78.
# rank by total (A1, ties share the better place): 100 → 1; 90 and 90 (阳新, 黄石港) → 2, 2; 83.44 → 4;
#   72.89 → 5; 42.78 → 6.
EXPECTED_TOTALS = {
    #            S1      S2    S3     base    scaled   bonus ded  total   rank adj  final
    "大冶市": ("79.8", "10", "10", "99.8", "99.8", "10", "0", "100", 1, "0", "100"),
    "阳新县": ("62.5", "10", "8.5", "81", "81", "9", "0", "90", 2, "0", "90"),
    "黄石港区": ("68.2", "10", "10", "88.2", "98", "6", "10", "90", 2, "0", "90"),
    "西塞山区": ("50.4", "6", "6.5", "62.9", "69.89", "3", "0", "72.89", 5, "0", "72.89"),
    "下陆区": ("56.7", "7", "6", "69.7", "77.44", "6", "0", "83.44", 4, "1", "84.44"),
    "开发区·铁山区": ("37.5", "0", "1", "38.5", "42.78", "0", "0", "42.78", 6, "0", "42.78"),
}


@pytest.fixture(scope="module")
def result():
    return score_rows(six_units())


def by_unit(res):
    return {u.unit: u for u in res.units}


@pytest.mark.parametrize("unit", list(EXPECTED_RULES))
def test_six_units_rule_scores(result, unit):
    got = by_unit(result)[unit].rules
    assert list(got) == RULE_IDS
    expected = {rid: (None if v is None else D(v)) for rid, v in zip(RULE_IDS, EXPECTED_RULES[unit])}
    assert got == expected


@pytest.mark.parametrize("unit", list(EXPECTED_TOTALS))
def test_six_units_totals(result, unit):
    u = by_unit(result)[unit]
    s1, s2, s3, base, scaled, bonus, ded, total, rank, adj, final = EXPECTED_TOTALS[unit]
    assert u.sections == {"1": D(s1), "2": D(s2), "3": D(s3)}
    assert u.base == D(base) == D(s1) + D(s2) + D(s3)
    assert u.base_scaled == D(scaled)
    assert u.bonus == D(bonus)
    assert u.deduction == D(ded)
    assert u.total == D(total)
    assert u.rank == rank
    assert u.adjustment == D(adj)
    assert u.final == D(final)


def test_six_units_applicable_max(result):
    # 1.3 '（只考核大冶市、阳新县）': those two are out of 100, the other four out of 100 − 10 = 90
    got = {u.unit: u.applicable_max for u in result.units}
    assert got == {"大冶市": 100, "阳新县": 100, "黄石港区": 90, "西塞山区": 90, "下陆区": 90, "开发区·铁山区": 90}


def test_cap_then_deduction(result):
    # '加分项 (10分, 加分后总分不超过100分)' then '有, 扣10分': 黄石港区 98 + 6 → capped 100 → 100 − 10 = 90
    u = by_unit(result)["黄石港区"]
    assert (u.base_scaled, u.bonus, u.capped, u.deduction, u.total) == (98, 6, 100, 10, 90)


def test_final_ranking_and_order(result):
    # final: 100, 90, 90, 84.44, 72.89, 42.78 → places 1, 2, 2, 4, 5, 6
    final_rank = {u.unit: u.final_rank for u in result.units}
    assert final_rank == {"大冶市": 1, "阳新县": 2, "黄石港区": 2, "下陆区": 4, "西塞山区": 5, "开发区·铁山区": 6}
    assert [u.rank for u in result.ranking()] == [1, 2, 2, 4, 5, 6]
    assert result.ranking()[0].unit == "大冶市" and result.ranking()[-1].unit == "开发区·铁山区"


def test_adjustment_reason_kept(result):
    u = by_unit(result)["下陆区"]
    assert u.adjustment_reason == "全年按时报送，日常工作突出"
    assert u.final == u.total + u.adjustment == D("83.44") + 1


def test_self_scores_and_differences(result):
    # A10 '差值＝自评得分－复核得分'
    units = by_unit(result)
    # 大冶市 self_total 100 − review 100 = 0
    assert units["大冶市"].self_total == 100 and units["大冶市"].difference == 0
    # 西塞山区 self_total 75 − review 72.89 = 2.11
    assert units["西塞山区"].self_total == 75 and units["西塞山区"].difference == D("2.11")
    # 阳新县 gave only 1.2.3: 10 − 9.03 = 0.97 for that rule, no self total
    assert units["阳新县"].rule_differences == {"1.2.3": D("0.97")}
    assert units["阳新县"].self_total is None and units["阳新县"].difference is None
    # 开发区·铁山区 gave every rule: 0+4+3+6.5+9+18+0 + 0+0 + 1+0+0 = 41.5 out of 90;
    # 折算 41.5 × 100 / 90 = 46.111… → 46.11; + bonus 0 − deduction 0 = 46.11; 46.11 − 42.78 = 3.33
    kf = units["开发区·铁山区"]
    assert kf.self_total == D("46.11")
    assert kf.difference == D("3.33")
    # per rule: 1.2.2 claimed 3, review 0 → 3; 1.2.1 claimed 4, review 4.0 → 0
    assert kf.rule_differences["1.2.2"] == 3
    assert kf.rule_differences["1.2.1"] == 0
    # no self score given → nothing
    assert units["黄石港区"].self_total is None and units["黄石港区"].rule_differences == {}


def test_a10_review_minus_self():
    res = score_rows(six_units(), choices={"A10": "review_minus_self"})
    # 72.89 − 75 = −2.11
    assert by_unit(res)["西塞山区"].difference == D("-2.11")


def test_weighted_contributions():
    # A12 'the weighted contribution (final / 100 × weight)'; default weight 100 → equals final
    res = score_rows(six_units())
    assert by_unit(res)["下陆区"].weighted == {"平安建设考核": D("84.44"), "发改系统考核": D("84.44")}
    res = score_rows(six_units(), weights={"平安建设考核": D(30)})
    w = {u.unit: u.weighted["平安建设考核"] for u in res.units}
    assert w["下陆区"] == D("25.33")  # 84.44 / 100 × 30 = 25.332 → 25.33
    assert w["西塞山区"] == D("21.87")  # 72.89 / 100 × 30 = 21.867 → 21.87
    assert w["开发区·铁山区"] == D("12.83")  # 42.78 / 100 × 30 = 12.834 → 12.83
    assert w["大冶市"] == 30  # 100 / 100 × 30


# ------------------------------------------------------------------------------------------------------
# Single decisions on the same six units


def test_1_1_ties_share_the_better_place_and_the_next_is_skipped(result):
    # 大冶市 12 000 = 12 × 1000 and 黄石港区 12 000 = 6 × 900 + 6 × 1100: both place 1 → 10; 阳新县 is third → 6
    units = by_unit(result)
    assert (units["大冶市"].rules["1.1"], units["黄石港区"].rules["1.1"], units["阳新县"].rules["1.1"]) == (10, 10, 6)


def test_1_1_dense_ties():
    # A1 dense: places 1, 1, 2, 3, 4, 5 → 10, 10, 8, 6, 4, 2
    res = by_unit(score_rows(six_units(), choices={"A1": "dense"}))
    assert [res[n].rules["1.1"] for n in EXPECTED_RULES] == [10, 8, 10, 6, 4, 2]


def test_a2_monthly_average():
    # A2 alternative: rank every month, average the twelve scores.
    # Odd months (黄石港 900): 大冶 1000 → 1st 10; 阳新 900, 黄石港 900 → 2nd, 2nd → 8, 8; 西塞山 4th 4; 下陆 2; 开发区 0.
    # Even months (黄石港 1100): 黄石港 1st 10; 大冶 2nd 8; 阳新 3rd 6; 4, 2, 0.
    # 大冶 (6×10 + 6×8) / 12 = 9; 黄石港 (6×8 + 6×10) / 12 = 9; 阳新 (6×8 + 6×6) / 12 = 7; 4; 2; 0.
    res = by_unit(score_rows(six_units(), choices={"A2": "monthly_average"}))
    assert [res[n].rules["1.1"] for n in EXPECTED_RULES] == [9, 7, 9, 4, 2, 0]


def test_a2_monthly_average_rounds_per_rule():
    # two units; 甲 first in 1 month of 12, second in 11: (10 + 11 × 8) / 12 = 98 / 12 = 8.1666… → 8.17
    rows = [make_row("甲", monthly=(200,) + (100,) * 11), make_row("乙", monthly=(100,) + (200,) * 11)]
    res = by_unit(score_rows(rows, choices={"A2": "monthly_average"}))
    assert res["甲"].rules["1.1"] == D("8.17")
    # 乙: (8 + 11 × 10) / 12 = 118 / 12 = 9.8333… → 9.83
    assert res["乙"].rules["1.1"] == D("9.83")


def test_1_3_ranks_only_among_assessed_units():
    # 黄石港区 typing 20 categories (it is not assessed: a warning, ignored) does not push 大冶市 (7) to second
    rows = six_units()
    rows[2]["public_service_categories"] = "20"
    res = score_rows(rows)
    units = by_unit(res)
    assert units["大冶市"].rules["1.3"] == 10 and units["阳新县"].rules["1.3"] == 5
    assert units["黄石港区"].rules["1.3"] is None
    assert any(p.level == "warning" and p.unit == "黄石港区" and p.field == "public_service_categories"
               for p in res.problems)


def test_1_3_three_assessed_units_with_a_tie():
    # three units assessed (a 设置 list): 7, 5, 5 → places 1, 2, 2 → 10, 5, 5 ('第二名得5分')
    rows = six_units()[:3]
    rows[2]["public_service_categories"] = "5"
    res = by_unit(score_rows(rows, public_service={"大冶市": True, "阳新县": True, "黄石港区": True}))
    assert [res[n].rules["1.3"] for n in ("大冶市", "阳新县", "黄石港区")] == [10, 5, 5]


def test_a5_full_marks():
    # A5 alternative 'full marks (10) for them': the four get 1.3 = 10, base out of 100, no 折算
    # 黄石港区 88.2 + 10 = 98.2; min(100, 98.2 + 6) − 10 = 90
    # 西塞山区 62.9 + 10 = 72.9; + 3 = 75.9
    # 下陆区 69.7 + 10 = 79.7; + 6 = 85.7
    # 开发区·铁山区 38.5 + 10 = 48.5; + 0 = 48.5
    res = by_unit(score_rows(six_units(), choices={"A5": "full_marks"}))
    assert res["黄石港区"].rules["1.3"] == 10
    assert {n: (res[n].base_scaled, res[n].total) for n in ("黄石港区", "西塞山区", "下陆区", "开发区·铁山区")} == {
        "黄石港区": (D("98.2"), 90), "西塞山区": (D("72.9"), D("75.9")), "下陆区": (D("79.7"), D("85.7")),
        "开发区·铁山区": (D("48.5"), D("48.5"))}
    assert (res["大冶市"].total, res["阳新县"].total) == (100, 90)


def test_a5_not_scored():
    # A5 alternative '0 (not scored, base out of 90)': no 折算
    # 黄石港区 min(100, 88.2 + 6) − 10 = 84.2; 西塞山区 62.9 + 3 = 65.9; 下陆区 69.7 + 6 = 75.7; 开发区 38.5
    res = by_unit(score_rows(six_units(), choices={"A5": "not_scored"}))
    assert res["黄石港区"].rules["1.3"] is None
    assert {n: (res[n].base_scaled, res[n].total) for n in ("黄石港区", "西塞山区", "下陆区", "开发区·铁山区")} == {
        "黄石港区": (D("88.2"), D("84.2")), "西塞山区": (D("62.9"), D("65.9")), "下陆区": (D("69.7"), D("75.7")),
        "开发区·铁山区": (D("38.5"), D("38.5"))}


def test_a4_zero_returned_and_more_rectified_than_returned(result):
    # A4 '0 returned items: nothing to rectify, ratio counts as 100% → 10. A ratio above 100% counts as ≥100%.'
    units = by_unit(result)
    assert units["下陆区"].rules["1.2.2"] == 10  # 0 / 0
    assert units["黄石港区"].rules["1.2.2"] == 10  # 25 / 20 = 125 %


def test_a4_none_option():
    # A4 alternative: nothing returned counts as 0 % → 0
    res = by_unit(score_rows(six_units(), choices={"A4": "none"}))
    assert res["下陆区"].rules["1.2.2"] == 0
    assert res["黄石港区"].rules["1.2.2"] == 10  # 25 / 20 is unaffected


def test_a9_per_rule_rounding(result):
    # 1.2.3 阳新县: 0.905 × 5 + 0.9 × 5 = 4.525 + 4.5 = 9.025 → 9.03 (the rule's sum is rounded, not its parts)
    assert by_unit(result)["阳新县"].rules["1.2.3"] == D("9.03")


def test_a9_rounding_of_the_parts_would_differ():
    # 0.905 × 5 = 4.525 and 0.901 × 5 = 4.505: each rounded alone 4.53 + 4.51 = 9.04; the sum 9.03 → 9.03
    rows = six_units()
    rows[1]["oct_return_pass_rate"] = "90.1%"
    rows[1]["dec_pass_rate"] = "90.5%"
    assert by_unit(score_rows(rows))["阳新县"].rules["1.2.3"] == D("9.03")


def test_a6_exclusive_changes_5_sectors():
    # '区县有5个以上领域…得3分' with 以上 read as > 5: 阳新县, 黄石港区 and 下陆区 (5 sectors) lose 3
    res = by_unit(score_rows(six_units(), choices={"A6": "exclusive"}))
    assert res["阳新县"].rules["2.1"] == 2 and res["下陆区"].rules["2.1"] == 2
    assert res["大冶市"].rules["2.1"] == 5  # 8 > 5


def test_a3_literal_10():
    # (1 − 0.01) × 10 = 9.9 for 大冶市; base 99.8 − 19.8 + 9.9 = 89.9; + 10 = 99.9
    res = by_unit(score_rows(six_units(), choices={"A3": "literal_10"}))
    assert res["大冶市"].rules["1.2.5"] == D("9.9")
    assert res["大冶市"].total == D("99.9")


def test_a7_as_printed():
    # 3.1 only the activities (≤ 2); 3.2 the media tier. 大冶市: 3.1 = 2, 3.2 = 3 (12 reports)
    # 西塞山区: 3.1 = 2, 3.2 = 2 (5 reports) instead of 4 and 1.5
    res = by_unit(score_rows(six_units(), choices={"A7": "as_printed"}))
    assert (res["大冶市"].rules["3.1"], res["大冶市"].rules["3.2"]) == (2, 3)
    assert (res["西塞山区"].rules["3.1"], res["西塞山区"].rules["3.2"]) == (2, 2)


def test_total_floor_zero():
    # a unit with nothing and a major event, last of seven on both rankings
    nothing = dict(returned=10, rectified=0, dec_pass="0%", oct_pass="0%", late="100%", concealment="100%",
                   objections=500, reported=False, sectors=0, plan=False, depts=0, activities=0, media=0, training=0,
                   case=False, video=False, major=True)
    rows = [make_row("甲", monthly=(0,) * 12, spotcheck=0, **nothing)]
    rows += [make_row(f"单位{i}", monthly=(100 * i,) * 12, spotcheck=10 * i) for i in range(1, 7)]
    res = by_unit(score_rows(rows, public_service={r["unit"]: False for r in rows}))
    # 甲: 1.1 place 7 → max(0, 10 − 2 × 6) = 0; 1.2.1 place 7 → 6 − 0.4 × 6 = 3.6; 1.2.2 0/10 = 0 % → 0;
    # 1.2.3 0; 1.2.4 (1 − 1) × 10 = 0; 1.2.5 (1 − 1) × 20 = 0; 1.2.6 500 ≥ 200 → 0; 2.x, 3.x 0 → base 3.6
    # 折算 3.6 × 100 / 90 = 4; min(100, 4 + 0) − 10 = −6 → floor 0
    jia = res["甲"]
    assert (jia.base, jia.base_scaled, jia.deduction, jia.total) == (D("3.6"), 4, 10, 0)
    assert jia.rank == 7


def test_two_units_second_place_with_a_major_event():
    rows = [make_row("甲", monthly=(0,) * 12, spotcheck=0, returned=10, rectified=0, dec_pass="0%", oct_pass="0%",
                     late="100%", concealment="100%", objections=500, reported=False, sectors=0, plan=False,
                     depts=0, activities=0, media=0, training=0, case=False, video=False, major=True),
            make_row("乙", monthly=(5,) * 12)]
    res = by_unit(score_rows(rows, public_service={"甲": False, "乙": False}))
    # 甲: 1.1 place 2 → 8; 1.2.1 place 2 → 5.6; everything else 0 → base 13.6; 折算 13.6 × 100 / 90 = 15.111… → 15.11
    # min(100, 15.11 + 0) − 10 = 5.11
    assert res["甲"].base == D("13.6") and res["甲"].base_scaled == D("15.11") and res["甲"].total == D("5.11")


def test_adjustment_beyond_100_is_an_error():
    rows = six_units()
    rows[0]["adjustment"] = "1"
    rows[0]["adjustment_reason"] = "测试"
    # 大冶市 100 + 1 = 101 > 100: not a silent cap
    with pytest.raises(InputProblems) as exc:
        score_rows(rows)
    assert any(p.unit == "大冶市" and p.field == "adjustment" for p in exc.value.problems)


# ------------------------------------------------------------------------------------------------------
# Properties on generated valid data (1–8 units)

NAMES = ["大冶市", "阳新县", "黄石港区", "西塞山区", "下陆区", "开发区·铁山区", "经济技术开发区", "测试区"]
ASSESSED = {"大冶市", "阳新县"}


@st.composite
def unit_data(draw, name: str) -> dict:
    rate = st.integers(min_value=0, max_value=1000)  # per mille
    if name in ASSESSED:
        categories = draw(st.integers(min_value=0, max_value=12))
    elif name in NAMES[:6]:
        categories = None
    else:
        categories = draw(st.none() | st.integers(min_value=0, max_value=12))
    return {
        "monthly": draw(st.lists(st.integers(min_value=0, max_value=3000), min_size=12, max_size=12)),
        "spotcheck": draw(st.integers(min_value=0, max_value=1000)),  # tenths
        "returned": draw(st.integers(min_value=0, max_value=50)),
        "rectified": draw(st.integers(min_value=0, max_value=60)),
        "dec_pass": draw(rate), "oct_pass": draw(rate), "late": draw(rate),
        "concealment": draw(st.lists(rate, min_size=1, max_size=3)),
        "objections": draw(st.integers(min_value=0, max_value=300)),
        "categories": categories,
        "reported": draw(st.booleans()), "sectors": draw(st.integers(min_value=0, max_value=8)),
        "plan": draw(st.booleans()), "depts": draw(st.integers(min_value=0, max_value=5)),
        "activities": draw(st.integers(min_value=0, max_value=4)),
        "media": draw(st.integers(min_value=0, max_value=14)),
        "training": draw(st.integers(min_value=0, max_value=30)),  # tenths
        "case": draw(st.booleans()), "video": draw(st.booleans()),
        "innov": draw(st.lists(st.booleans(), min_size=4, max_size=4)),
        "major": draw(st.booleans()),
    }


def pct(per_mille: int) -> str:
    return f"{D(per_mille) / 10}%"


def to_row(name: str, d: dict) -> dict:
    row = make_row(
        name, monthly=d["monthly"], spotcheck=D(d["spotcheck"]) / 10, returned=d["returned"],
        rectified=d["rectified"], dec_pass=pct(d["dec_pass"]), oct_pass=str(D(d["oct_pass"]) / 1000),
        late=pct(d["late"]), concealment=";".join(pct(c) for c in d["concealment"]), objections=d["objections"],
        categories="" if d["categories"] is None else d["categories"], reported=d["reported"],
        sectors=d["sectors"], plan=d["plan"], depts=d["depts"], activities=d["activities"], media=d["media"],
        training=D(d["training"]) / 10, case=d["case"], video=d["video"], major=d["major"])
    for key, flag in zip(INNOVATIONS, d["innov"]):
        row[key] = yn(flag)
    return row


@st.composite
def datasets(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
    return names, [draw(unit_data(n)) for n in names]


def improve(d: dict, how: str, k: int, pick: int) -> dict:
    """The same unit with one input made better (or left equal where it is already the best)."""
    d = {key: (list(v) if isinstance(v, list) else v) for key, v in d.items()}
    if how == "volume":
        d["monthly"][pick % 12] += k
    elif how == "spotcheck":
        d["spotcheck"] += k
    elif how in ("dec_pass", "oct_pass"):
        d[how] = min(1000, d[how] + k)
    elif how == "late":
        d["late"] = max(0, d["late"] - k)
    elif how == "concealment":
        i = pick % len(d["concealment"])
        d["concealment"][i] = max(0, d["concealment"][i] - k)
    elif how == "objections":
        d["objections"] = max(0, d["objections"] - k)
    elif how == "rectified":
        d["rectified"] += k
    elif how == "categories":
        if d["categories"] is not None:
            d["categories"] += k
    elif how in ("sectors", "depts", "activities", "media"):
        d[how] += k
    elif how == "training":
        d["training"] = min(30, d["training"] + k)
    elif how in ("reported", "plan", "case", "video"):
        d[how] = True
    elif how == "innov":
        d["innov"][pick % 4] = True
    elif how == "major":
        d["major"] = False
    else:
        raise AssertionError(how)
    return d


IMPROVEMENTS = ["volume", "spotcheck", "dec_pass", "oct_pass", "late", "concealment", "objections", "rectified",
                "categories", "sectors", "depts", "activities", "media", "training", "reported", "plan", "case",
                "video", "innov", "major"]


def totals(res) -> dict:
    return {u.unit: u.total for u in res.units}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), st.sampled_from(IMPROVEMENTS), st.integers(min_value=1, max_value=400),
       st.integers(min_value=0, max_value=100), st.integers(min_value=0, max_value=7))
def test_a_better_input_never_lowers_that_units_total(data, how, k, pick, who):
    names, units = data
    i = who % len(names)
    before = totals(score_rows([to_row(n, d) for n, d in zip(names, units)]))
    better = list(units)
    better[i] = improve(units[i], how, k, pick)
    after = totals(score_rows([to_row(n, d) for n, d in zip(names, better)]))
    assert after[names[i]] >= before[names[i]], (how, names[i], before[names[i]], after[names[i]])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets())
def test_every_total_is_within_0_and_100(data):
    names, units = data
    res = score_rows([to_row(n, d) for n, d in zip(names, units)])
    for u in res.units:
        assert 0 <= u.total <= 100, (u.unit, u.total)
        assert 0 <= u.base_scaled <= 100
        assert u.bonus <= 10 and u.deduction in (0, 10)
        for rid, s in u.rules.items():
            assert s is None or 0 <= s <= RUBRIC.rule(rid).points, (rid, s)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), st.data())
def test_the_order_of_the_rows_changes_nothing(data, draw):
    names, units = data
    rows = [to_row(n, d) for n, d in zip(names, units)]
    perm = draw.draw(st.permutations(range(len(rows))))
    shuffled = [rows[j] for j in perm]

    def view(res):
        return {u.unit: (u.rules, u.base, u.base_scaled, u.bonus, u.deduction, u.total, u.rank, u.final,
                         u.final_rank) for u in res.units}

    assert view(score_rows(rows)) == view(score_rows(shuffled))
