"""The rubric file itself: it parses, every official sentence in it is verbatim, its points add up, every
decision of the decisions page is a switch with the stated default, and the loader is strict.

Source: 黄信用办〔2021〕2号 and its 考评细则 (hscredit_xl/rubrics/rubric-2020-notice.txt, shipped beside the
rubric; the shared copy in ../shared/source is the authority it must equal byte for byte).
"""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from hscredit_xl import rubric_check
from hscredit_xl.engine import Switches, score_given
from hscredit_xl.rubric import RubricError, load_rubric, notice_path, parse_rubric, rubric_path, source_text

RUBRIC = load_rubric()
RUBRIC_TEXT = rubric_path().read_text(encoding="utf-8")
RUBRIC_LINES = RUBRIC_TEXT.splitlines(keepends=True)
RUBRIC_TREE = rubric_check.read_tree(RUBRIC_TEXT, "huangshi-2020.yaml")  # the file as read, with its lines
NOTICE = source_text(RUBRIC)
SHIPPED_NOTICE = rubric_path(RUBRIC.document["source"])
SHARED = Path(__file__).resolve().parents[2] / "shared"
SHARED_NOTICE = SHARED / "source" / "rubric-2020-notice.txt"
DECISIONS = SHARED / "rubric-2020-decisions.md"


QUOTES = rubric_check.quotes(RUBRIC_TREE, RUBRIC_TEXT.splitlines())  # what `hscredit-xl rubric check` compares with the notice


# ------------------------------------------------------------------------------------------------------
# The file parses, and its sentences are the official ones


def test_rubric_parses_and_is_the_2020_document():
    assert RUBRIC.year == 2020
    assert RUBRIC.document["number"] == "黄信用办〔2021〕2号"
    # the official numbering: 序号 4 does not exist in the text (decisions: keep the official numbering)
    assert [r.id for r in RUBRIC.rules] == ["1.1", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.3",
                                            "2.1", "2.2", "3.1", "3.2", "3.3", "5", "6"]
    assert [u.name for u in RUBRIC.units] == ["大冶市", "阳新县", "黄石港区", "西塞山区", "下陆区", "开发区·铁山区"]
    # '（只考核大冶市、阳新县）'
    assert [u.name for u in RUBRIC.units if u.public_service] == ["大冶市", "阳新县"]


def test_the_quotes_checked_are_every_official_sentence_of_the_file():
    wheres = {q.where for q in QUOTES}
    assert {f"规则 {r.id} 的 text" for r in RUBRIC.rules} <= wheres
    assert {f"指标 {i.id} 的 {key}" for i in RUBRIC.indicators for key in ("name", "content", "scoring", "method")} <= wheres
    assert {f"开关 {sid} 的 quote" for sid in RUBRIC.switches} | {"totals 的 quote", "第 5 项的 heading",
                                                                 "指标 6 的 points_text"} <= wheres
    assert "规则 1.2.6 分档 200 的 text" in wheres and "规则 2.1 第 2 部分 的 text" in wheres
    # what the units send back: evidence per rule, the submission paragraph
    assert {f"规则 {r.id} 佐证资料 {n} 的 {key}" for r in RUBRIC.rules for n in range(1, len(r.evidence) + 1)
            for key in ("requirement", "method")} <= wheres
    sub = RUBRIC.submission
    assert {f"submission 的 {key}" for key in ("quote", "send_to", "contact", "phone")} <= wheres
    assert {f"submission 文件 {d.key} 的 quote" for d in sub.documents} <= wheres
    assert {f"submission 的 guidance 第 {n} 句" for n in range(1, len(sub.guidance) + 1)} <= wheres
    assert {f"remarks 第 {n} 句" for n in range(1, len(RUBRIC.remarks) + 1)} <= wheres and RUBRIC.remarks
    assert len(QUOTES) >= 90
    # names are compared as the notice's table wraps them; every sentence is compared exactly
    assert {q.where for q in QUOTES if not q.exact} == {f"第 {i.number} 项的 name" for i in RUBRIC.items} | {
        f"指标 {i.id} 的 name" for i in RUBRIC.indicators}


@pytest.mark.parametrize("quote", QUOTES, ids=[q.where for q in QUOTES])
def test_every_quoted_sentence_occurs_verbatim_in_the_notice(quote):
    assert rubric_check.quote_finding(quote, NOTICE) is None


def test_the_quote_check_can_fail():
    # a sentence changed by one character (the literal ×10 made ×20) is not in the notice
    quote = next(q for q in QUOTES if q.where == "开关 A3 的 quote")
    assert quote.text.endswith("得分=（1-瞒报率）*10") and rubric_check.quote_finding(quote, NOTICE) is None
    changed = rubric_check.Quote(quote.where, quote.text.replace("*10", "*20"), quote.line)
    assert rubric_check.quote_finding(changed, NOTICE) == rubric_check.Finding(
        quote.line, f"开关 A3 的 quote 未逐字见于通知原文：「{changed.text}」")
    assert RUBRIC_LINES[quote.line - 1].strip() == f"quote: {quote.text}"


def test_the_notice_is_the_file_beside_the_rubric():
    assert notice_path(RUBRIC) == SHIPPED_NOTICE == rubric_path().parent / "rubric-2020-notice.txt"


def test_shipped_notice_equals_the_shared_source_byte_for_byte():
    if not SHARED_NOTICE.exists():
        # named relative to the repository: a skip message shows no path of the machine it ran on
        pytest.skip("no ../shared/source/rubric-2020-notice.txt beside the repository (installed package): "
                    "nothing to compare against")
    assert SHIPPED_NOTICE.read_bytes() == SHARED_NOTICE.read_bytes()


# ------------------------------------------------------------------------------------------------------
# Points add up


def _points(rule_id: str) -> Decimal:
    return RUBRIC.rule(rule_id).points


def test_points_add_up_as_rubric_check_checks_them():
    # rules → indicator → item → base total 100, the best input reaching each rule's points (default switches)
    assert rubric_check.points_findings(RUBRIC, RUBRIC_TREE) == []


def test_the_whole_file_passes_rubric_check():
    checked = rubric_check.check_file(rubric_path())
    assert checked.findings == [] and checked.quotes == len(QUOTES) and checked.cases >= 80


def test_item_1_2_adds_up_to_60_and_item_1_to_80():
    # '行政许可、行政处罚信息公示情况 60分': 6 + 10 + 10 + 10 + 20 + 4 = 60
    assert [_points(i) for i in ("1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6")] == [6, 10, 10, 10, 20, 4]
    assert sum(_points(i) for i in ("1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6")) == 60
    # '信用信息归集、披露与共享（80分）': 10 (1.1) + 60 (1.2) + 10 (1.3) = 80
    items = {i.number: i for i in RUBRIC.items}
    assert items["1"].points == 80 == 10 + 60 + 10
    # '信用信息应用 (10分)', '信用宣传教育 (10分)': 80 + 10 + 10 = 100
    assert items["2"].points == 10 and items["3"].points == 10
    assert sum(i.points for i in RUBRIC.items if i.role == "base") == 100
    # '加分项 (10分, 加分后总分不超过100分)'; '扣减项目 … 扣10分'
    assert items["5"].role == "bonus" and items["5"].points == 10
    assert items["6"].role == "deduction" and items["6"].points == 10
    assert RUBRIC.totals["full"] == 100 and RUBRIC.totals["cap"] == 100 and RUBRIC.totals["floor"] == 0


def test_the_best_input_reaches_each_rules_points_with_the_default_switches():
    switches = Switches(RUBRIC)
    for rule in RUBRIC.rules:
        best = sum(rubric_check.best_score(p, switches.resolve(p.params)) for p in rule.parts if switches.active(p))
        assert best == rule.points, f"rule {rule.id}: best {best} ≠ 分值 {rule.points}"


def test_a3_literal_formula_can_only_reach_10_of_the_20_points():
    # '双公示数据瞒报率，总分20分。取被抽查部门瞒报率最高值，得分=（1-瞒报率）*10':
    # with the literal ×10, a 0 % rate gives (1 − 0) × 10 = 10, and 1.2 would add to 6+10+10+10+10+4 = 50, not 60
    part = RUBRIC.rule("1.2.5").parts[0]
    literal = Switches(RUBRIC, {"A3": "literal_10"}).resolve(part.params)
    assert score_given(part, 0, literal) == 10
    default = Switches(RUBRIC).resolve(part.params)
    assert score_given(part, 0, default) == 20 == _points("1.2.5")


# ------------------------------------------------------------------------------------------------------
# Every decision of the decisions page is a switch with the stated default

DEFAULTS = {
    # A1 'Units with equal values share the better place, and the next place is skipped (1, 1, 3 — as Excel's
    # RANK.EQ). Alternative offered: dense (1, 1, 2).'
    "A1": ("competition", {"competition", "dense"}),
    # A2 '"1-12月每月入库总量" is read as the sum of the twelve monthly totals. Alternative offered: rank every
    # month, score every month, and average the twelve scores.'
    "A2": ("annual_total", {"annual_total", "monthly_average"}),
    # A3 'Default ×20 (the stated 分值 and the 60/80/100 totals hold); the literal ×10 is a switch.'
    "A3": ("points_20", {"points_20", "literal_10"}),
    # A4 '0 returned items: nothing to rectify, ratio counts as 100% → 10.'
    "A4": ("full", {"full"}),
    # A5 'Default: 折算 — their base (out of 90) is scaled to 100 (base × 100 / 90) before the bonus. Alternatives
    # offered: full marks (10) for them, or 0 (not scored, base out of 90).'
    "A5": ("prorate", {"prorate", "full_marks", "not_scored"}),
    # A6 'In Chinese official texts 以上 includes the number itself (so "5个以上" means ≥ 5, "5篇以上" ≥ 5).'
    "A6": ("inclusive", {"inclusive", "exclusive"}),
    # A7 'the media-reports rule (3 分, "运用各类媒体推进信用建设宣传报道") belongs to the indicator named
    # "开展信用建设宣传报道，加强社会舆论宣传" (5 分) together with the activities rule (2 分): 2 + 3 = 5.'
    "A7": ("regrouped", {"regrouped"}),
    # A8 'A rate outside 0…100% is an input error, not something to clamp silently.'
    "A8": ("reject", {"reject"}),
    # A9 'Each rule's score … is rounded half-up to 2 decimals (9.025 → 9.03).'
    "A9": ("per_rule", {"per_rule"}),
    # A10 'Each unit fills 自评得分 per rule; the city computes 复核得分. The difference per rule and in total is
    # part of the result' (the switch's default reads it as self − review)
    "A10": ("self_minus_review", {"self_minus_review"}),
    # A11 'an optional manual adjustment per unit with a required reason'
    "A11": ("reason_required", {"reason_required"}),
    # A12 'the weight is a setting, and the weighted contribution (final / 100 × weight) is shown per unit.'
    "A12": ("weights", {"weights"}),
}


def test_switch_ids_are_exactly_those_of_the_decisions_page():
    assert set(RUBRIC.switches) == set(DEFAULTS)
    if DECISIONS.exists():
        ids = set(re.findall(r"\*\*(A\d+) ", DECISIONS.read_text(encoding="utf-8")))
        assert ids == set(DEFAULTS)


@pytest.mark.parametrize("sid", sorted(DEFAULTS, key=lambda s: int(s[1:])))
def test_switch_default_is_the_decisions_default(sid):
    default, must_offer = DEFAULTS[sid]
    switch = RUBRIC.switches[sid]
    assert switch.default == default
    assert must_offer <= set(switch.options), f"{sid} lacks an alternative the decisions page offers"
    assert switch.title and switch.reason
    assert Switches(RUBRIC).choices[sid] == default


def test_switch_values_the_engine_reads():
    s = Switches(RUBRIC)
    assert s.value("A1") == "competition"
    assert s.value("A3") == 20  # '总分20分'
    assert s.value("A4") == 1  # 'ratio counts as 100%'
    assert s.value("A6") is True  # '以上 includes the number itself'
    assert Switches(RUBRIC, {"A3": "literal_10"}).value("A3") == 10  # '得分=（1-瞒报率）*10'
    assert Switches(RUBRIC, {"A6": "exclusive"}).value("A6") is False
    with pytest.raises(ValueError):
        Switches(RUBRIC, {"A3": "points_30"})


def test_weights_default_to_100():
    # A12 / rubric note: '通知未给出权重数值；在设置中填写，默认100'
    assert [(w.name, w.weight) for w in RUBRIC.weights] == [("平安建设考核", 100), ("发改系统考核", 100)]


# ------------------------------------------------------------------------------------------------------
# Strictness: small broken variants of the real file, each an error naming the right line


def _line_of(fragment: str, start: int = 1) -> int:
    """1-based number of the first line at or after `start` containing `fragment`."""
    for n, line in enumerate(RUBRIC_LINES[start - 1:], start=start):
        if fragment in line:
            return n
    raise AssertionError(f"{fragment!r} not in the rubric")


def _insert_after(line_no: int, new_line: str) -> str:
    return "".join(RUBRIC_LINES[:line_no] + [new_line + "\n"] + RUBRIC_LINES[line_no:])


def _replace_once(old: str, new: str) -> str:
    assert RUBRIC_TEXT.count(old) == 1, old
    return RUBRIC_TEXT.replace(old, new)


def _error(text: str) -> str:
    with pytest.raises(RubricError) as exc:
        parse_rubric(text, "broken.yaml")
    return str(exc.value)


def test_the_real_text_parses_through_parse_rubric():
    assert [r.id for r in parse_rubric(RUBRIC_TEXT, "copy.yaml").rules] == [r.id for r in RUBRIC.rules]


def test_unknown_key_in_a_rule_names_its_line():
    # after the 1.2.1 rule's `text:` line (12 spaces: a key of the rule itself)
    anchor = _line_of("            text: 2019-2020年度抽查结果")
    message = _error(_insert_after(anchor, "            typo: 1"))
    assert f"第 {anchor + 1} 行" in message and "typo" in message


def test_unknown_key_at_the_top_names_its_line():
    anchor = _line_of("schema: 2")
    message = _error(_insert_after(anchor, "extras: 1"))
    assert f"第 {anchor + 1} 行" in message and "extras" in message


def test_unknown_key_in_a_switch_names_its_line():
    anchor = _line_of("    default: points_20")
    message = _error(_insert_after(anchor, "    defualt: literal_10"))
    assert f"第 {anchor + 1} 行" in message and "defualt" in message


def test_unknown_key_in_a_case_names_its_line():
    line = _line_of("{given: 0.8, expect: 6, note: 恰好80%}")
    message = _error(_replace_once("{given: 0.8, expect: 6, note: 恰好80%}", "{given: 0.8, expected: 6, note: 恰好80%}"))
    assert f"第 {line} 行" in message and "expected" in message


def test_missing_key_names_the_mapping_line():
    # drop `points: 6` of rule 1.2.1: the rule mapping starts on its `- id: "1.2.1"` line
    rule_line = _line_of('          - id: "1.2.1"')
    points_line = _line_of("            points: 6", rule_line)
    assert points_line == rule_line + 2
    text = "".join(RUBRIC_LINES[:points_line - 1] + RUBRIC_LINES[points_line:])
    message = _error(text)
    assert f"第 {rule_line} 行" in message and "points" in message


def test_missing_key_in_a_flow_mapping_names_its_line():
    line = _line_of("{given: 200, expect: 0, note: 恰好200}")
    message = _error(_replace_once("{given: 200, expect: 0, note: 恰好200}", "{given: 200, note: 恰好200}"))
    assert f"第 {line} 行" in message and "expect" in message


def test_unknown_kind_names_its_line():
    # 1.2.4's part: `- kind: rate` right above `value: dec_late_rate`
    value_line = _line_of("value: dec_late_rate")
    kind_line = value_line - 1
    assert "kind: rate" in RUBRIC_LINES[kind_line - 1]
    text = "".join(RUBRIC_LINES[:kind_line - 1] + [RUBRIC_LINES[kind_line - 1].replace("rate", "rates")]
                   + RUBRIC_LINES[kind_line:])
    message = _error(text)
    assert f"第 {kind_line} 行" in message and "rates" in message


def test_reference_to_an_undefined_switch_names_its_line():
    line = _line_of("params: {points: {switch: A3}, inverse: true}")
    message = _error(_replace_once("params: {points: {switch: A3}, inverse: true}",
                                   "params: {points: {switch: A13}, inverse: true}"))
    assert f"第 {line} 行" in message and "A13" in message


def test_when_with_an_undefined_option_names_its_line():
    part = "              - kind: tier\n                when: {A7: as_printed}"
    line = _line_of("when: {A7: as_printed}", _line_of("kind: manual"))  # the part's, not the evidence's
    message = _error(_replace_once(part, part.replace("as_printed", "as_printd")))
    assert f"第 {line} 行" in message


def test_switch_default_not_among_options_names_its_line():
    line = _line_of("    default: points_20")
    message = _error(_replace_once("    default: points_20", "    default: points_25"))
    assert f"第 {line} 行" in message


def test_reference_to_an_undefined_data_key_names_the_line_it_is_written_on():
    # the typo sits on 1.2.1's `value:` line; the message should point there (not 6 lines up at the rule's id)
    line = _line_of("value: spotcheck_score")
    message = _error(_replace_once("value: spotcheck_score", "value: spotcheck_scor"))
    assert "spotcheck_scor" in message
    assert f"第 {line} 行" in message, message


def test_reference_to_an_undefined_data_key_inside_a_list_names_the_value_line():
    rule_line = " " * 31 + "volume_m07, volume_m08"  # in rule 1.1's value (the derived block declares it too)
    message = _error(_replace_once(rule_line, rule_line.replace("volume_m08", "volume_m8")))
    assert "volume_m8" in message
    value_line = _line_of("value: {each: [volume_m01", start=_line_of("          - id: \"1.1\""))
    # the `value:` line or the continuation line the typo is on
    assert f"第 {value_line} 行" in message or f"第 {value_line + 1} 行" in message, message


def test_unknown_key_in_params_is_an_error():
    # PolicyEngine #8905 (STYLE.md): 'an unknown key must be an error'. A typo'd `otherwise` in 1.2.6 would
    # silently make '数据量小于20，得4分' give 0.
    line = _line_of("                  otherwise: 4")
    message = _error(_replace_once("                  otherwise: 4", "                  otherwse: 4"))
    assert f"第 {line} 行" in message and "otherwse" in message


def test_unknown_key_in_a_tier_is_an_error():
    # a typo'd `inclusive` would silently fall back to the default instead of what the file says
    line = _line_of("{at: 200, points: 0, inclusive: true,")
    message = _error(_replace_once("{at: 200, points: 0, inclusive: true,", "{at: 200, points: 0, inclusiv: true,"))
    assert f"第 {line} 行" in message and "inclusiv" in message


def test_unknown_applies_value_is_an_error():
    # a typo in `applies: public_service` of rule 1.3 would make 1.3 apply to all six units silently
    old = "            applies: public_service\n            text: 全年度"
    line = _line_of("            applies: public_service")
    message = _error(_replace_once(old, old.replace("public_service", "public_servce")))
    assert f"第 {line} 行" in message and "public_servce" in message


@pytest.mark.parametrize("broken", ["  - 第二项\n", "  - [1, 2]\n",
                                    '  - number: "9"\n    name: 甲\n    points: 1\n    indicators: 无\n',
                                    '  - number: "9"\n    name: 甲\n    points: 1\n    indicators:\n      - 指标\n'])
def test_an_item_that_is_not_a_mapping_is_said_not_crashed_on(broken):
    """Items or indicators written as plain text or a list: a RubricError on the rubric's terms, not a crash."""
    start = RUBRIC_TEXT.index('  - number: "2"')
    message = _error(RUBRIC_TEXT[:start] + broken + RUBRIC_TEXT[start:])
    assert "应为映射" in message or "应为非空列表" in message, message


def test_a_second_group_of_units_is_an_error_on_its_line():
    """'细则只能有一组单位': a field or a rule naming another group than the first is refused where it is written."""
    old = "            applies: public_service\n            text: 全年度"
    message = _error(_replace_once(old, old.replace("public_service", "other_units")))
    assert "细则只能有一组单位" in message and "other_units" in message


def test_field_naming_an_undefined_rule_is_an_error():
    old = '{key: spotcheck_score, label: 2019-2020年度双公示抽查结果, type: number, unit: 分, rule: "1.2.1"}'
    line = _line_of(old)
    message = _error(_replace_once(old, old.replace('"1.2.1"', '"1.2.9"')))
    assert f"第 {line} 行" in message and "1.2.9" in message


def test_not_yaml_is_a_rubric_error():
    with pytest.raises(RubricError):
        parse_rubric("schema: [1,\n", "broken.yaml")


# ------------------------------------------------------------------------------------------------------
# What the units send back: evidence per rule (from 考评方式) and the deadline


def test_evidence_is_asked_exactly_where_the_method_says_the_units_provide_it():
    # '备注: 1. 考评方式为查看系统、平台、网站、工作台账的, 不用提供纸质文件资料。'
    asked = {rule.id for rule in RUBRIC.rules if rule.evidence}
    assert asked == {"2.2", "3.1", "3.2", "5"}
    for rule in RUBRIC.rules:
        method = next(ind.method for ind in RUBRIC.indicators if ind.id == rule.indicator)
        assert bool(rule.evidence) == ("提供佐证资料" in method), rule.id
        for ev in rule.evidence:
            assert ev.method in method, (rule.id, ev.method)


def test_bonus_evidence_is_for_items_2_to_4_only():
    # '1. 第1项工作查看黄石市数据共享交换平台及公共信用信息平台 2. 2-4项由各单位提供佐证资料'
    claims = [ev.claims for ev in RUBRIC.rule("5").evidence]
    assert claims == [("innovation_in_plan",), ("innovation_benefit_apps",), ("innovation_other",)]


def test_evidence_follows_the_a7_regrouping():
    media = {(rule.id, ev.when.get("A7")) for rule in RUBRIC.rules for ev in rule.evidence
             if ev.claims == ("media_reports",)}
    assert media == {("3.1", "regrouped"), ("3.2", "as_printed")}


def test_deadline_is_4_february_2021_and_the_day_itself_is_on_time():
    # '2021年2月4日前将自查评分结果、考评佐证资料、2020年信用体系建设工作总结及2021年工作打算报市信用办邮箱。'
    import datetime as dt

    sub = RUBRIC.submission
    assert sub.deadline == dt.date(2021, 2, 4)
    assert sub.on_time(dt.date(2021, 2, 4)) and sub.on_time(dt.date(2021, 2, 3))
    assert not sub.on_time(dt.date(2021, 2, 5))
    assert [d.key for d in sub.documents] == ["summary", "plan"]


def test_evidence_claiming_an_undefined_key_names_its_line():
    bad = RUBRIC_TEXT.replace("claims: [verification_plan]", "claims: [verification_plan_x]")
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if "verification_plan_x" in text)
    with pytest.raises(RubricError, match=f"第 {line} 行.*verification_plan_x"):
        parse_rubric(bad)


def test_unknown_key_in_submission_is_an_error():
    bad = RUBRIC_TEXT.replace("  send_to: hsxyb2016@163.com", "  send_to: hsxyb2016@163.com\n  sendto: x")
    with pytest.raises(RubricError, match="sendto"):
        parse_rubric(bad)


# ---------------------------------------------------------------- schema 2: policies, derived, warnings (issue 16)
def test_policies_name_the_switch_of_each_engine_choice():
    rubric = load_rubric()
    assert rubric.policy({}, "rounding") == "per_rule"
    assert rubric.policy({rubric.policies["rounding"]: "end_only"}, "rounding") == "end_only"
    assert rubric.policy_switch("ties").title == "排名并列"


@pytest.mark.parametrize("old, new, said", [
    ("  rounding: A9", "  rounding: A99", "A99"),  # no such switch
    # A2's options (annual_total/monthly_average) are not ways to place tied totals: the engine can not execute it
    ("  ties: A1", "  ties: A2", "annual_total"),
])
def test_a_bad_policy_names_its_line(old, new, said):
    line = _line_of(old)
    message = _error(_replace_once(old, new))
    assert f"第 {line} 行" in message and said in message


def test_a_derived_value_no_rule_reads_is_an_error():
    old = "value: {max: concealment_rates}}"
    message = _error(_replace_once(old, "value: {max: volume_m01}}"))
    assert "max_concealment" in message and "没有规则读取" in message


def test_a_rule_value_without_its_derived_declaration_is_an_error():
    old = "  - {key: max_concealment, label: 最高瞒报率（自动）, format: \"0.00%\", value: {max: concealment_rates}}\n"
    message = _error(_replace_once(old, ""))
    assert "concealment_rates" in message and "derived" in message


def test_a_field_and_a_rule_with_different_groups_is_an_error():
    old = "applies: public_service}"  # the field public_service_categories
    line = _line_of("            applies: public_service")
    message = _error(_replace_once(old, "applies: other_units}"))
    assert f"第 {line} 行" in message and "other_units" in message


def test_the_group_is_worded_from_its_rules():
    group = load_rubric().group
    assert (group.key, group.rule_ids, group.label) == ("public_service", ("1.3",), "参加1.3考核")
    assert "公共服务领域信用信息数据归集情况" in group.help


def test_a_schema_1_file_loads_with_derived_values_generated_and_default_policies():
    from hscredit_xl.rubric import read_rubric

    rubric = read_rubric(Path(__file__).parent / "rubrics" / "fictional-2099.yaml")
    assert rubric.policies == {} and rubric.policy({}, "group_absent") == "prorate"
    assert sorted(d.key for d in rubric.derived) == ["late_rates_max", "rectified_ratio", "reports_h1_each"]
    assert rubric.field("categories").applies == rubric.group.key  # read from its rule's `applies`
