"""`hscredit-xl rubric check FILE` on a rubric the package does not ship (issue 16, item 2).

tests/rubrics/fictional-2099.yaml is a FICTIONAL rubric (its own notice beside it, switch ids B1…B3, a base
total of 50, every kind of rule) that passes clean. Each test below breaks one copy of it in one way and expects
exit 2 with the problem on the line it is written on; so every check is shown able to fail.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hscredit_xl.cli import EXIT_INPUT, EXIT_OK, main
from hscredit_xl.rubric import rubric_path
from hscredit_xl.rubric_check import check_file

HERE = Path(__file__).resolve().parent / "rubrics"
FICTIONAL = HERE / "fictional-2099.yaml"
NOTICE = HERE / "fictional-2099-notice.txt"
TEXT = FICTIONAL.read_text(encoding="utf-8")


def line_of(fragment: str, text: str = TEXT, start: int = 1) -> int:
    """1-based line of the first occurrence of `fragment` at or after line `start`."""
    for n, line in enumerate(text.splitlines(), 1):
        if n >= start and fragment in line:
            return n
    raise AssertionError(f"{fragment!r} not in the rubric")


def _rule_points_line(rule_id: str, text: str = TEXT) -> int:
    rule = line_of(f'          - id: "{rule_id}"', text)
    return line_of("points:", text, rule)


def broken(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the fictional rubric with each (old, new) replaced once, its notice beside it."""
    text = TEXT
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "broken-2099.yaml"
    path.write_text(text, encoding="utf-8")
    shutil.copyfile(NOTICE, tmp_path / NOTICE.name)
    return path


def problems(path: Path) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in check_file(path).findings]


def run(capsys, path: Path) -> tuple[int, str, str]:
    code = main(["rubric", "check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------------ clean files


def test_the_fictional_rubric_passes_with_a_chinese_summary(capsys):
    code, out, err = run(capsys, FICTIONAL)
    assert (code, err) == (EXIT_OK, "")
    assert out.startswith(f"细则检查通过：{FICTIONAL}")
    assert "示例市信用办〔2099〕9号（虚构）" in out and "版本 2099.1" in out
    assert "基础项 50 分（2 项、7 条规则），加分项 5 分，扣减项 5 分" in out
    assert "fictional-2099-notice.txt" in out
    checked = check_file(FICTIONAL)
    assert checked.quotes >= 40 and checked.cases >= 20
    assert f"原文引用 {checked.quotes} 处" in out and f"案例 {checked.cases} 个" in out


def test_the_shipped_2020_rubric_passes(capsys):
    code, out, err = run(capsys, rubric_path())
    assert (code, err) == (EXIT_OK, "")
    assert "黄信用办〔2021〕2号" in out and "基础项 100 分（3 项、13 条规则），加分项 10 分，扣减项 10 分" in out


def test_the_notice_is_found_beside_the_rubric_not_in_the_working_folder(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    shutil.copyfile(FICTIONAL, folder / FICTIONAL.name)
    shutil.copyfile(NOTICE, folder / NOTICE.name)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, Path("elsewhere") / FICTIONAL.name)[0] == EXIT_OK
    (folder / NOTICE.name).unlink()
    code, out, err = run(capsys, Path("elsewhere") / FICTIONAL.name)
    assert code == EXIT_INPUT and out == ""
    assert f"第 {line_of('source: fictional-2099-notice.txt')} 行：无法读取 document.source 指向的通知原文" in err


# ----------------------------------------------------------------------------------------------- the output


def test_a_broken_file_exits_2_listing_every_problem_with_its_line(tmp_path, capsys):
    path = broken(tmp_path, ("scoring: 全年报送总量第一名得10分，排名每下降一位扣3分", "scoring: 全年报送总量第一名得10分，排名每下降一位扣三分"),
                  ("- {given: 2, expect: 7, note: 排名每下降一位扣3分}", "- {given: 2, expect: 8, note: 排名每下降一位扣3分}"),
                  ("params: {per_item: 1, cap: 5}", "params: {per_item: 1, cap: 4}"))
    code, out, err = run(capsys, path)
    assert code == EXIT_INPUT and out == ""
    assert err.splitlines() == [
        f"{path} 第 {line_of('scoring: 全年报送总量')} 行：指标 1.1 的 scoring 未逐字见于通知原文："
        "「全年报送总量第一名得10分，排名每下降一位扣三分，扣完为止。」",
        f"{path} 第 {line_of('{given: 2, expect: 7')} 行：规则 1.1 的案例 given 2：写的是 expect 8，按规则计算得 7",
        f"{path} 第 {_rule_points_line('2.3')} 行：规则 2.3 的分值为 5，但在默认设置下其计分部分最多得 4 分",
        f"{path} 第 {line_of('{given: 7, expect: 5')} 行：规则 2.3 的案例 given 7：写的是 expect 5，按规则计算得 4",
        "共 4 个问题，细则文件未通过检查。",
    ]


# ------------------------------------------------------------------------------------------------- verbatim

QUOTE_EDITS = [
    # (where the message says, the edited line's new text, old, new)
    ("规则 1.3 的 text", "            text: 取各部门", "            text: 取各部门迟报率最高值", "            text: 取各部门迟报率平均值"),
    ("规则 2.1 第 1 部分 的 text", "text: 报送信用承诺数据得3分", "text: 报送信用承诺数据得3分", "text: 报送信用承诺数据得4分"),
    ("规则 1.2 分档 0.5 的 text", "text: 整改比率大于等于50%，小于100%，得5分}", "text: 整改比率大于等于50%，小于100%，得5分}",
     "text: 整改比率大于50%，小于100%，得5分}"),
    ("开关 B2 的 quote", "quote: 有3个以上领域", "quote: 有3个以上领域", "quote: 有三个以上领域"),
    ("totals 的 quote", "quote: 加分后总分不超过50分", "quote: 加分后总分不超过50分", "quote: 加分后总分不超过100分"),
    ("指标 2.3 的 content", "content: 开展诚信宣传活动", "content: 开展诚信宣传活动", "content: 开展诚信宣传教育活动"),
    ("指标 2.2 的 method", "method: 各单位提供材料", "method: 各单位提供佐证资料\n        rules:\n          - id: \"2.2\"",
     "method: 各单位提供材料\n        rules:\n          - id: \"2.2\""),
    ("第 3 项的 heading", "heading: 加分项", "heading: 加分项（5分，", "heading: 加分项（6分，"),
    ("指标 4 的 points_text", "points_text: 扣5分", "points_text: 扣5分", "points_text: 扣五分"),
    ("指标 1.2 的 name", "name: 问题数据整改情况", "name: 问题数据整改情况", "name: 问题数据整改状况"),
    ("规则 2.2 佐证资料 1 的 requirement", "requirement: 开展信用培训", "requirement: 开展信用培训",
     "requirement: 开展信用培训教育"),
    ("submission 的 guidance 第 2 句", "    - 自评应实事求是。", "    - 自评应实事求是。", "    - 自评应客观公正。"),
    ("submission 的 phone", '  phone: "0000000"', '  phone: "0000000"', '  phone: "0000001"'),
    ("submission 文件 summary 的 quote", "quote: 工作总结}", "quote: 工作总结}", "quote: 年度工作总结}"),
]


@pytest.mark.parametrize("where,fragment,old,new", QUOTE_EDITS, ids=[q[0] for q in QUOTE_EDITS])
def test_a_quote_not_in_the_notice(tmp_path, where, fragment, old, new):
    path = broken(tmp_path, (old, new))
    [(line, message)] = problems(path)
    assert line == line_of(fragment if fragment in new else fragment.replace(old, new), path.read_text(encoding="utf-8"))
    assert message.startswith(f"{where} 未") and "见于通知原文" in message


def test_names_are_compared_without_the_tables_line_breaks():
    # the notice's table wraps '问题数据 整改情况'; the rubric writes it unbroken and passes
    assert "问题数据 整改情况" in NOTICE.read_text(encoding="utf-8")
    assert "name: 问题数据整改情况" in TEXT
    assert check_file(FICTIONAL).ok


def test_an_empty_quote(tmp_path):
    path = broken(tmp_path, ("text: 每开展1次宣传活动得1分，最高5分。", 'text: ""'))
    assert problems(path) == [(line_of('text: ""', path.read_text(encoding="utf-8")),
                               "规则 2.3 的 text 为空：应为通知原文中的一句")]


# --------------------------------------------------------------------------------------------------- points


def test_rule_points_beyond_what_its_parts_can_give(tmp_path):
    # the bonus rule: '每项创新工作得2分，最高得5分' written as cap 6
    path = broken(tmp_path, ("params: {per_item: 2, cap: 5}", "params: {per_item: 2, cap: 6}"))
    assert problems(path) == [(_rule_points_line("3"), "规则 3 的分值为 5，但在默认设置下其计分部分最多得 6 分"),
                              (line_of("{given: 3, expect: 5, note: 最高得5分}"),
                               "规则 3 的案例 given 3：写的是 expect 5，按规则计算得 6")]


def test_indicator_points_not_the_sum_of_its_rules(tmp_path):
    # 2.2 made 5: its one rule is still 4, and item 2's indicators now add to 21
    old = '        name: 信用培训\n        points: 4'
    path = broken(tmp_path, (old, old.replace("4", "5")))
    assert problems(path) == [
        (line_of("    points: 20"), "第 2 项的分值为 20，但其指标分值之和为 8＋5＋5＋3＝21"),
        (line_of(old.splitlines()[0]) + 1, "指标 2.2 的分值为 5，但其规则分值之和为 4＝4"),
    ]


def test_item_points_not_the_sum_of_its_indicators_nor_the_base_total(tmp_path):
    path = broken(tmp_path, ("    points: 30", "    points: 31"))
    assert problems(path) == [
        (line_of("  full: 50"), "基础项（role: base）的分值之和为 51（第 1 项 31、第 2 项 20），应等于 totals.full 50"),
        (line_of("    points: 30"), "第 1 项的分值为 31，但其指标分值之和为 10＋10＋10＝30"),
    ]


def test_base_items_not_the_stated_full_total(tmp_path):
    path = broken(tmp_path, ("  full: 50\n  cap: 50", "  full: 60\n  cap: 60"))
    assert problems(path) == [
        (line_of("  full: 50"), "基础项（role: base）的分值之和为 50（第 1 项 30、第 2 项 20），应等于 totals.full 60")]


def test_bonus_and_deduction_items_stay_out_of_the_base_total_but_add_up_themselves(tmp_path):
    # a deduction item of 6 over an indicator of 5: its own sum is checked, the base total is not touched
    path = broken(tmp_path, ("    points: 5\n    role: deduction", "    points: 6\n    role: deduction"))
    assert problems(path) == [(line_of("    points: 5\n    role: deduction".splitlines()[0],
                                       start=line_of("name: 扣减项目")),
                               "第 4 项的分值为 6，但其指标分值之和为 5＝5")]


def test_a_parameter_the_engine_cannot_compute_with(tmp_path):
    path = broken(tmp_path, ("params: {top: 10, step: 3, floor: 0,", "params: {top: 十, step: 3, floor: 0,"))
    found = problems(path)
    assert found[0][0] == line_of("parts:", start=_rule_points_line("1.1"))
    assert found[0][1].startswith("规则 1.1 的计分参数无法计算：")
    assert all("计算出错" in message for _, message in found[1:]) and len(found) == 5  # its four cases too


def test_a_cap_below_the_full_total(tmp_path):
    path = broken(tmp_path, ("  cap: 50", "  cap: 40"))
    assert problems(path) == [(line_of("  cap: 50"), "totals.cap 40（加分后总分的上限）小于 totals.full 50")]


# ---------------------------------------------------------------------------------------------------- cases


def test_a_case_that_does_not_compute_as_written(tmp_path):
    path = broken(tmp_path, ("{given: 0.25, expect: 7.5}", "{given: 0.25, expect: 2.5}"))
    assert problems(path) == [(line_of("{given: 0.25, expect: 7.5}"),
                               "规则 1.3 的案例 given 0.25：写的是 expect 2.5，按规则计算得 7.5")]


def test_a_case_the_engine_refuses(tmp_path):
    path = broken(tmp_path, ("{given: 0.25, expect: 7.5}", "{given: 1.25, expect: 7.5}"))
    [(line, message)] = problems(path)
    assert line == line_of("{given: 0.25, expect: 7.5}")
    assert message.startswith("规则 1.3 的案例 given 1.25 计算出错：") and "0%～100%" in message


def test_a_part_without_cases(tmp_path):
    path = broken(tmp_path, ("                cases:\n                  - {given: 3.5, expect: 3.5}\n", ""))
    assert problems(path) == [(line_of("- kind: manual"), "规则 2.2（manual）没有 cases：请按评分办法写出案例（given 输入、expect 得分）")]


def test_cases_of_a_part_compute_with_its_switch_as_written():
    # 2.1's tier '3个以上' (B2 含本数): given 3 expects 5, as the engine scores under the default
    checked = check_file(FICTIONAL)
    assert checked.ok and checked.cases == TEXT.count("{given:")


# ----------------------------------------------------------------------------------------------- references


def test_an_undefined_data_key(tmp_path):
    path = broken(tmp_path, ("value: campaigns", "value: campaign"))
    [(line, message)] = problems(path)
    assert line == line_of("value: campaigns")
    assert message == "规则 2.3 读取的数据键「campaign」未在 fields 中定义"


def test_an_undefined_data_key_on_the_continuation_line_of_a_list(tmp_path):
    path = broken(tmp_path, ("{each: [reports_h1, reports_h2]}", "{each: [reports_h1,\n                               reports_h3]}"))
    assert problems(path)[0] == (line_of("{each: [reports_h1") + 1, "规则 1.1 读取的数据键「reports_h3」未在 fields 中定义")


def test_an_undefined_switch_in_params(tmp_path):
    path = broken(tmp_path, ("ties: {switch: B1}}\n                cases:\n                  - {given: 1, expect: 10",
                             "ties: {switch: B9}}\n                cases:\n                  - {given: 1, expect: 10"))
    assert problems(path)[0] == (line_of("params: {top: 10, step: 3"),
                                 "规则 1.1 引用了未定义的开关「B9」（已定义：B1、B2、B3）")


def test_an_undefined_switch_in_a_value(tmp_path):
    # if_zero is read by the engine when a unit has no returned data: the schema alone does not look there
    path = broken(tmp_path, ("if_zero: {switch: B3}", "if_zero: {switch: B4}"))
    assert problems(path) == [(line_of("if_zero: {switch: B3}"), "规则 1.2 引用了未定义的开关「B4」（已定义：B1、B2、B3）")]


def test_a_when_naming_an_option_that_does_not_exist(tmp_path):
    path = broken(tmp_path, ("              - kind: manual\n", "              - kind: manual\n                when: {B2: inclusiv}\n"))
    assert problems(path)[0] == (line_of("- kind: manual") + 1,
                                 "规则 2.2 的 when 引用了开关 B2 没有的选项「inclusiv」（可选：inclusive、exclusive）")


def test_a_field_naming_a_rule_that_does_not_exist(tmp_path):
    path = broken(tmp_path, ('type: count, unit: 次, rule: "2.3"', 'type: count, unit: 次, rule: "2.9"'))
    assert problems(path)[0] == (line_of("key: campaigns"), "字段 campaigns 的 rule「2.9」不是细则中的规则编号")


def test_evidence_claiming_an_undefined_key_or_option(tmp_path):
    old = "{requirement: 开展信用培训, method: 各单位提供佐证资料, claims: [training]}"
    path = broken(tmp_path, (old, old.replace("[training]", "[trainings], when: {B2: maybe}")))
    assert problems(path)[:2] == [
        (line_of(old), "规则 2.2 佐证资料 1 的 claims 引用的数据键「trainings」未在 fields 中定义"),
        (line_of(old), "规则 2.2 佐证资料 1 的 when 引用了开关 B2 没有的选项「maybe」（可选：inclusive、exclusive）")]


def test_every_undefined_reference_is_listed_at_once(tmp_path, capsys):
    path = broken(tmp_path, ("value: campaigns", "value: campaign"), ("value: sectors", "value: sector"),
                  ("if_zero: {switch: B3}", "if_zero: {switch: B4}"))
    code, out, err = run(capsys, path)
    assert code == EXIT_INPUT
    assert [line.split("：", 1)[1] for line in err.splitlines()[:3]] == [
        "规则 1.2 引用了未定义的开关「B4」（已定义：B1、B2、B3）",
        "规则 2.1 第 2 部分 读取的数据键「sector」未在 fields 中定义",
        "规则 2.3 读取的数据键「campaign」未在 fields 中定义"]
    assert "共 3 个问题" in err and "改正后请再次检查" in err


# --------------------------------------------------------------------------------------------------- schema


def test_a_schema_error_is_reported_with_its_line(tmp_path, capsys):
    path = broken(tmp_path, ("            name: 宣传活动\n", "            name: 宣传活动\n            nmae: 宣传\n"))
    code, out, err = run(capsys, path)
    assert code == EXIT_INPUT and out == ""
    typo = line_of("name: 宣传活动", start=_rule_points_line("2.3") - 2) + 1
    assert f"第 {typo} 行：" in err and "nmae" in err


def test_not_yaml(tmp_path, capsys):
    path = tmp_path / "x.yaml"
    path.write_text("schema: [1,\n", encoding="utf-8")
    code, out, err = run(capsys, path)
    assert code == EXIT_INPUT and "不是有效的 YAML" in err and "第 2 行" in err


def test_a_missing_file(tmp_path, capsys):
    code, out, err = run(capsys, tmp_path / "none.yaml")
    assert code == EXIT_INPUT and err.splitlines()[0] == f"{tmp_path / 'none.yaml'}：找不到细则文件"
