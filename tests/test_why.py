"""Every score explained (issue 12): `why` comes from the engine's own figures and follows the switches in force.

The checks read the text as a person would: every "a − b×c = d" in it is recomputed, the last "… X 分" of a rule
is the rule's score, and the total's text states the unit's total, place and final score.
"""
from __future__ import annotations

import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest

from hscredit_xl import kinds
from hscredit_xl.datafile import read_rows
from hscredit_xl.kinds import round_half_up
from hscredit_xl.report import to_report
from hscredit_xl.rubric import load_rubric, parse_rubric, rubric_path
from hscredit_xl.scoring import score_rows

D = Decimal
RUBRIC = load_rubric()
SAMPLE = Path(__file__).resolve().parents[1] / "hscredit_xl" / "samples" / "huangshi-2020-sample.csv"
SAMPLE_ROWS = read_rows(SAMPLE, RUBRIC)[0]
ALL_DEFAULT = {}
SETTINGS = [
    ALL_DEFAULT,
    {"A1": "dense"},
    {"A2": "monthly_average"},
    {"A3": "literal_10"},
    {"A4": "none"},
    {"A5": "full_marks"},
    {"A5": "not_scored"},
    {"A6": "exclusive"},
    {"A7": "as_printed"},
    {"A9": "end_only"},
    {"A1": "dense", "A2": "monthly_average", "A5": "full_marks", "A9": "end_only", "A6": "exclusive"},
]


def setting_id(choices: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in choices.items()) or "defaults"


# ------------------------------------------------------------------------------------------------------
# Reading the text back


_SCORE = re.compile(r"(≈ ?)?(\d[\d,]*(?:\.\d+)?) 分")
# a formula: numbers joined by + − × ÷, maybe bracketed and with %, then "= x" or "≈ x"
_FORMULA = re.compile(r"([\d.,%()×÷+− ]*[×÷+−][\d.,%()×÷+− ]*?) ([=≈]) (−?\d[\d,]*(?:\.\d+)?%?)")


def number(text: str) -> Decimal:
    text = text.replace(",", "").replace("−", "-")
    return D(text[:-1]) / 100 if text.endswith("%") else D(text)


def last_score(text: str) -> tuple[Decimal, bool]:
    """The last "X 分" of a text, and whether it was shown rounded (≈)."""
    found = _SCORE.findall(text)
    assert found, f"no score in {text!r}"
    approx, value = found[-1]
    return number(value), bool(approx)


def evaluate(expression: str) -> Decimal:
    """A formula of the text, in decimal arithmetic: '(1 − 1.8%)×20' -> 19.64."""
    python = (expression.replace(",", "").replace("×", "*").replace("÷", "/").replace("−", "-"))
    python = re.sub(r"(\d+(?:\.\d+)?)%", r"(\1/100)", python)

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return D(str(node.value))
        if isinstance(node, ast.BinOp):
            a, b = walk(node.left), walk(node.right)
            return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b}.get(type(node.op)) if not isinstance(
                node.op, ast.Div) else a / b
        raise AssertionError(f"not a formula: {expression!r}")

    return walk(ast.parse(python.strip(), mode="eval"))


def check_formulas(text: str) -> int:
    """Every formula in the text computes to the number it states; returns how many there were."""
    count = 0
    for expression, sign, stated in _FORMULA.findall(text):
        got = evaluate(expression)
        want = number(stated)
        if sign == "=":
            assert got == want, f"{expression} = {got}, the text says {stated}: {text!r}"
        else:  # shown rounded to 4 places
            places = len(stated.rstrip("%").split(".")[1]) + (2 if stated.endswith("%") else 0)
            assert round_half_up(got, places) == want, f"{expression} ≈ {got}, the text says {stated}: {text!r}"
        count += 1
    return count


def scores_of(unit, rule) -> Decimal | None:
    if rule.role == "bonus":
        return unit.bonus
    if rule.role == "deduction":
        return unit.deduction
    return unit.rules[rule.id]


# ------------------------------------------------------------------------------------------------------
# The text's numbers are the scores, under every setting


@pytest.fixture(scope="module", params=SETTINGS, ids=setting_id)
def result(request):
    return score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices=request.param)


def test_every_rule_of_every_unit_is_explained(result):
    for unit in result.units:
        assert list(unit.why) == [r.id for r in RUBRIC.rules], unit.unit
        assert all(text.strip() for text in unit.why.values())
        assert unit.why_total


def test_the_last_figure_of_every_scored_rule_is_its_score(result):
    end_only = result.choices["A9"] == "end_only"
    checked = 0
    for unit in result.units:
        for rule in RUBRIC.rules:
            score = scores_of(unit, rule)
            text = unit.why[rule.id]
            if score is None:  # not assessed, not scored (A5): said so, with no score
                assert "不计分" in text and not _SCORE.search(text), text
                continue
            stated, approx = last_score(text)
            if approx:
                assert end_only, f"only A9 end_only keeps unrounded scores: {text!r}"
                assert round_half_up(score, 4) == stated, text
            else:
                assert stated == score, f"{unit.unit} {rule.id}: text says {stated}, score is {score}: {text!r}"
            checked += 1
    assert checked >= len(result.units) * (len(RUBRIC.rules) - 1)


def test_every_formula_in_the_text_computes(result):
    formulas = 0
    for unit in result.units:
        for text in [*unit.why.values(), unit.why_total]:
            formulas += check_formulas(text)
    assert formulas > 6 * 10  # the checker read formulas, it did not pass by finding none


def test_the_total_text_states_total_place_and_final(result):
    for unit in result.units:
        text = unit.why_total
        assert f"复核总分在 {len(result.units)} 个单位中第 {unit.rank} 名" in text
        final = re.search(r"最终得分 [^；]*?(?:([=≈]) )?(≈?)(\d[\d,]*(?:\.\d+)?)(?:，|$)", text)
        assert final, text
        approx = "≈" in (final.group(1), final.group(2))
        assert number(final.group(3)) == (round_half_up(unit.final, 4) if approx else unit.final), text
        if unit.adjustment:
            assert unit.adjustment_reason in text


def test_json_carries_why_for_every_rule(result):
    report = to_report(result)
    for unit, entry in zip(result.units, report["units"]):
        assert entry["why"] == unit.why
        assert set(entry["why"]) == {r.id for r in RUBRIC.rules}
        for rule_id, score in entry["rules"].items():
            if score is not None:
                stated, _ = last_score(entry["why"][rule_id])
                assert float(round_half_up(stated)) == score
        assert entry["why_total"] == unit.why_total


# ------------------------------------------------------------------------------------------------------
# The text follows the switches in force


def by_unit(result) -> dict:
    return {u.unit: u for u in result.units}


def test_examples_of_the_issue_in_the_defaults():
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    # 阳新县: annual 233,984 records, second of six: 10 − 2×1 = 8
    assert units["阳新县"].why["1.1"].endswith("1～12月入库总量合计 233,984 条，6 个单位中第 2 名（A2：全年合计排名）："
                                               "10 − 2×1 = 8 分")
    # 西塞山区: 21 of 30 rectified = 70 %, between 40 % and 80 %: 3
    assert units["西塞山区"].why["1.2.2"] == "其中已整改条数 21 ÷ 10月返还问题数据条数 30 = 70%，≥40% 且 <80%：3 分"
    # 大冶市: highest concealment rate 1.2 % of 0.8 %, 1.2 %, 0 %: (1 − 1.2%)×20 = 19.76
    assert "取最高值 1.2%（0.8%、1.2%、0%）" in units["大冶市"].why["1.2.5"]
    assert units["大冶市"].why["1.2.5"].endswith("(1 − 1.2%)×20 = 19.76 分")


def test_a1_ties_name_the_unit_tied_with_and_the_rule_in_force():
    default = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    dense = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A1": "dense"}))
    # 阳新县 and 西塞山区 both 93 on 1.2.1: third place together; 下陆区 (90.5) is 5th (1,2,3,3,5) or 4th (dense)
    assert "第 3 名（与 西塞山区 并列，A1：1、1、3 顺延）" in default["阳新县"].why["1.2.1"]
    assert "第 3 名（与 西塞山区 并列，A1：1、1、2 紧接）" in dense["阳新县"].why["1.2.1"]
    assert default["下陆区"].why["1.2.1"].endswith("第 5 名：6 − 0.4×4 = 4.4 分")
    assert dense["下陆区"].why["1.2.1"].endswith("第 4 名：6 − 0.4×3 = 4.8 分")
    # the total ranking: 大冶市 and 黄石港区 both 100
    assert "第 1 名（与 黄石港区 并列，A1：1、1、3 顺延）" in default["大冶市"].why_total


def test_a2_monthly_average_lists_every_month():
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A2": "monthly_average"}))
    text = units["阳新县"].why["1.1"]
    assert "A2：逐月排名取平均" in text
    assert all(f"{m}月 " in text for m in range(1, 13))
    assert text.endswith("÷12 ≈ 8.3333 分，按 A9「逐条舍入」四舍五入为 8.33 分")
    assert units["阳新县"].rules["1.1"] == D("8.33")


def test_a3_coefficient_in_force():
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A3": "literal_10"}))
    assert units["大冶市"].why["1.2.5"].endswith("(1 − 1.2%)×10 = 9.88 分")
    assert "A3：乘以10（原文公式）" in units["大冶市"].why["1.2.5"]


@pytest.mark.parametrize("option,ratio,score", [("full", "100%", 10), ("none", "0%", 0)])
def test_a4_nothing_returned(option, ratio, score):
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A4": option}))
    text = units["下陆区"].why["1.2.2"]  # returned 0
    assert f"10月返还问题数据条数为 0，比率按 {ratio} 计" in text
    assert RUBRIC.switches["A4"].options[option].short in text
    assert text.endswith(f"：{score} 分")


@pytest.mark.parametrize("option", ["prorate", "full_marks", "not_scored"])
def test_a5_not_assessed(option):
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A5": option}))
    text = units["下陆区"].why["1.3"]
    assert text.startswith("本项只考核 大冶市、阳新县，本单位不参加")
    assert f"A5「{RUBRIC.switches['A5'].options[option].short}」" in text
    if option == "full_marks":
        assert text.endswith("：10 分")
    else:
        assert "不计分" in text and "基础分" in text
    total = units["下陆区"].why_total
    if option == "prorate":  # 73.21×100÷90 ≈ 81.3444 → 81.34
        assert "73.21×100÷90 ≈ 81.3444，按 A9「逐条舍入」四舍五入为 81.34" in total
    assert units["大冶市"].why["1.3"].startswith("公共服务领域数据采集种类数 7 类，2 个参加本项考核的单位中第 1 名")


def test_a6_exclusive_says_which_bound_and_why():
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A6": "exclusive"}))
    # 5 sectors: '5个以上' without 5 gives nothing
    assert units["下陆区"].why["2.1"].endswith("报送信用承诺数据的行业领域数 5 个，≤5（A6：不含本数）：0 分；合计 2 + 0 = 2 分")
    default = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    assert "5 个，≥5（A6：含本数）：3 分" in default["下陆区"].why["2.1"]


def test_a7_names_the_part_that_scores_the_row():
    printed = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A7": "as_printed"}))
    assert printed["大冶市"].why["3.2"].startswith("信用建设宣传报道篇数 14 篇（按 A7「按原文行序」）")
    regrouped = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    assert "复核人员评定（0～3 分）：3 分" in regrouped["大冶市"].why["3.2"]  # the manual score


def test_a9_rounding_said_only_where_it_changes_the_score():
    per_rule = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    end_only = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC, choices={"A9": "end_only"}))
    # 大冶市 1.2.3: 99.2%×5 + 97.5%×5 = 4.96 + 4.875 = 9.835
    assert per_rule["大冶市"].why["1.2.3"].endswith("合计 4.96 + 4.875 = 9.835 分，按 A9「逐条舍入」四舍五入为 9.84 分")
    assert end_only["大冶市"].why["1.2.3"].endswith("合计 4.96 + 4.875 = 9.835 分")
    assert "按 A9「只舍入总分」显示为" in end_only["西塞山区"].why_total
    assert "四舍五入" not in per_rule["阳新县"].why["1.2.3"]  # 4.93 + 4.75 = 9.68 needs none


def test_bonus_deduction_and_flags():
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    bonus = units["阳新县"].why["5"]
    assert bonus.startswith("2 项为“是”（业务系统与市信用平台/数据交换平台对接成功；")
    assert bonus.endswith("2×3 = 6 分")
    assert units["开发区·铁山区"].why["6"] == "重大信用事件：是，扣 10 分"
    assert units["大冶市"].why["6"] == "重大信用事件：否，扣 0 分"
    assert "4×1 = 4，最高 3 分：3 分" in units["大冶市"].why["2.2"]


# ------------------------------------------------------------------------------------------------------
# From the engine's own calculation, for any rubric


def test_the_text_reports_the_number_the_engine_computed(monkeypatch):
    """Change how the engine computes a rate and the text changes with it: nothing re-derives the score."""
    real = kinds.rate_score
    monkeypatch.setattr(kinds, "rate_score", lambda rate, points, inverse=False: real(rate, points, inverse) / 2)
    units = by_unit(score_rows([dict(r) for r in SAMPLE_ROWS], RUBRIC))
    assert units["大冶市"].rules["1.2.5"] == D("9.88")
    assert units["大冶市"].why["1.2.5"].endswith("= 9.88 分")


def test_wording_is_driven_by_the_rubric_not_by_2020_names():
    """Another year's rubric with other keys, labels and ids gets its own words; the code names none of 2020's."""
    text = rubric_path().read_text(encoding="utf-8")
    other = (text.replace("volume_m", "intake_m").replace("入库总量", "归集量")
             .replace('id: "1.1"', 'id: "9.1"').replace('rule: "1.1"', 'rule: "9.1"'))
    rubric = parse_rubric(other, "other.yaml")
    rows = [{k.replace("volume_m", "intake_m"): v for k, v in r.items()} for r in SAMPLE_ROWS]
    units = by_unit(score_rows(rows, rubric))
    assert units["阳新县"].why["9.1"].endswith("1～12月归集量合计 233,984 条，6 个单位中第 2 名（A2：全年合计排名）："
                                              "10 − 2×1 = 8 分")
    source = (Path(__file__).resolve().parents[1] / "hscredit_xl" / "why.py").read_text(encoding="utf-8")
    for name in [f.key for f in RUBRIC.fields if f.key != "unit"] + [r.id for r in RUBRIC.rules]:
        assert f'"{name}"' not in source and f"'{name}'" not in source, name


def test_forty_units_none_assessed_on_the_group_rule():
    """Another unit list: places past the last scoring one (扣完为止), many ties, nobody assessed on 1.3."""
    rows = []
    for i in range(40):
        row = dict(SAMPLE_ROWS[i % 6], unit=f"单位{i:02d}", public_service_categories="")
        rows.append(row)
    result = score_rows(rows, RUBRIC, public_service={})
    units = by_unit(result)
    # 阳新县's data, 8th of 40 with its six copies: 10 − 2×7 = −4, never below 0
    text = units["单位01"].why["1.1"]
    assert "40 个单位中第 8 名（与 单位07、单位13、单位19、单位25、单位31、单位37 并列" in text
    assert text.endswith("10 − 2×7 = −4，扣完为止：0 分")
    assert units["单位01"].why["1.3"].startswith("本项本单位不参加，不计分")
    for unit in result.units:
        for text in [*unit.why.values(), unit.why_total]:
            check_formulas(text)
        for rule in RUBRIC.rules:
            if scores_of(unit, rule) is not None:
                assert last_score(unit.why[rule.id])[0] == scores_of(unit, rule)


def test_a_list_of_many_units_is_cut_to_a_few_and_a_count():
    """At thousands of units a text naming every unit tied, or every unit assessed on 1.3, would pass the
    32,767 characters a cell holds (issue 13: 76,726 at 30,000 units): five names and how many."""
    from hscredit_xl.why import unit_list as names

    few = [f"单位{k}" for k in range(10)]
    many = [f"单位{k}" for k in range(10_000)]
    assert names(few) == "、".join(few)
    assert names(many) == "单位0、单位1、单位2、单位3、单位4 等 10,000 个单位"
