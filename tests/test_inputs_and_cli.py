"""The data file (contract §1) and `hscredit-xl score` (contract §2, §3): encodings, spellings, every problem
listed with unit, key, value and what is expected, exit codes, the ranking table and the JSON report."""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from hscredit_xl.report import display_width
from hscredit_xl.rubric import load_rubric
from hscredit_xl.scoring import InputProblems, score_file

D = Decimal
RUBRIC = load_rubric()
SAMPLE = Path(str(resources.files("hscredit_xl.samples").joinpath("huangshi-2020-sample.csv")))
RULE_IDS = ["1.1", "1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.3", "2.1", "2.2", "3.1", "3.2", "3.3"]
UNITS = ["大冶市", "阳新县", "黄石港区", "西塞山区", "下陆区", "开发区·铁山区"]


def sample_rows() -> tuple[list[str], list[dict]]:
    text = SAMPLE.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames), [dict(r) for r in reader]


def csv_text(header: list[str], rows: list[dict]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r.get(k, "") for k in header})
    return buffer.getvalue()


def write(tmp_path: Path, header, rows, name="data.csv", encoding="utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(csv_text(header, rows).encode(encoding))
    return path


def row_of(rows: list[dict], unit: str) -> dict:
    return next(r for r in rows if r["unit"] == unit)


def view(result) -> dict:
    return {u.unit: (u.rules, u.base, u.base_scaled, u.bonus, u.deduction, u.total, u.rank, u.final)
            for u in result.units}


def problems_of(path: Path):
    with pytest.raises(InputProblems) as exc:
        score_file(path)
    return exc.value.problems


# ------------------------------------------------------------------------------------------------------
# Encodings and spellings


def test_utf8_bom_and_gb18030_give_the_same_result(tmp_path):
    # contract §1 'UTF-8 (with or without BOM) or GB18030 (what Excel on a Chinese Windows saves as "CSV")'
    header, rows = sample_rows()
    text = csv_text(header, rows)
    plain = tmp_path / "plain.csv"
    plain.write_bytes(text.encode("utf-8"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    gb = tmp_path / "gb.csv"
    gb.write_bytes(text.encode("gb18030"))
    assert gb.read_bytes() != plain.read_bytes()  # really another encoding
    results = [view(score_file(p)) for p in (plain, bom, gb)]
    assert results[0] == results[1] == results[2]
    assert set(results[0]) == set(UNITS)  # '开发区·铁山区' came through GB18030 intact


@pytest.mark.parametrize("typed", ["0.85", "85%", "85 %", "85％", " 85% "])
def test_rate_spellings(tmp_path, typed):
    # contract §1 'A rate accepts 0.85, 85% and "85 %"'. 下陆区 dec_pass_rate 98.1 % → 85 %, oct 96 %:
    # 1.2.3 = 0.85 × 5 + 0.96 × 5 = 4.25 + 4.8 = 9.05
    header, rows = sample_rows()
    row_of(rows, "下陆区")["dec_pass_rate"] = typed
    result = score_file(write(tmp_path, header, rows))
    assert {u.unit: u for u in result.units}["下陆区"].rules["1.2.3"] == D("9.05")


@pytest.mark.parametrize("yes,no", [("是", "否"), ("有", "无"), ("Y", "N"), ("y", "n"), ("yes", "no"),
                                    ("YES", "NO"), ("TRUE", "FALSE"), ("true", "false"), ("1", "0")])
def test_yes_no_spellings(tmp_path, yes, no):
    # contract §1 'yes/no accepts 是/否, 有/无, Y/N, yes/no, TRUE/FALSE, 1/0'.
    # 3.3 '报送典型案例的得1分; 报送短视频的得1分': yes + no → 1 + 0 = 1; no + yes → 1; yes + yes → 2
    header, rows = sample_rows()
    row_of(rows, "阳新县").update(typical_case=yes, short_video=no)
    row_of(rows, "西塞山区").update(typical_case=no, short_video=yes)
    row_of(rows, "下陆区").update(typical_case=yes, short_video=yes)
    row_of(rows, "开发区·铁山区").update(typical_case=no, short_video=no, major_credit_event=no)
    units = {u.unit: u for u in score_file(write(tmp_path, header, rows)).units}
    assert [units[n].rules["3.3"] for n in ("阳新县", "西塞山区", "下陆区", "开发区·铁山区")] == [1, 1, 2, 0]
    assert units["开发区·铁山区"].deduction == 0  # '无, 不扣分'


def test_not_a_yes_no_is_an_error(tmp_path):
    header, rows = sample_rows()
    row_of(rows, "阳新县")["typical_case"] = "也许"
    (p,) = problems_of(write(tmp_path, header, rows))
    assert (p.unit, p.field, p.value) == ("阳新县", "typical_case", "也许")
    assert "是/否" in p.message()


# ------------------------------------------------------------------------------------------------------
# Shape of the file


def test_unknown_column_is_an_error_naming_it(tmp_path):
    # contract §1 'An unknown column is an error (a typo must not be dropped silently).'
    header, rows = sample_rows()
    header = header + ["objection_count"]
    problems = problems_of(write(tmp_path, header, rows))
    assert any(p.value == "objection_count" and "objection_count" in p.message() and "未知" in p.message()
               for p in problems)


def test_missing_column_is_an_error_naming_it(tmp_path):
    header, rows = sample_rows()
    header = [h for h in header if h != "objections"]
    problems = problems_of(write(tmp_path, header, rows))
    assert any("objections" in p.message() and "缺少" in p.message() for p in problems)


def test_optional_columns_may_be_absent(tmp_path):
    # adjustment, adjustment_reason and self_<rule id> are optional (contract §1)
    header, rows = sample_rows()
    header = [h for h in header if h not in ("adjustment", "adjustment_reason") and not h.startswith("self_")]
    result = score_file(write(tmp_path, header, rows))
    assert len(result.units) == 6 and all(u.adjustment == 0 and u.self_total is None for u in result.units)


def test_shape_problems_and_value_problems_are_listed_together(tmp_path):
    # contract §2 'every problem listed': an unknown column does not hide a bad value in another column
    header, rows = sample_rows()
    header = header + ["remarks"]
    row_of(rows, "大冶市")["dec_pass_rate"] = "abc"
    problems = problems_of(write(tmp_path, header, rows))
    assert any(p.value == "remarks" for p in problems)
    assert any(p.unit == "大冶市" and p.field == "dec_pass_rate" for p in problems), \
        [p.message() for p in problems]


# ------------------------------------------------------------------------------------------------------
# Values: every problem, each naming unit, key, value and what is expected

BAD = [
    # (unit, key, typed, a phrase of what is expected)
    ("大冶市", "dec_pass_rate", "120%", "0%～100%"),
    ("阳新县", "objections", "-3", "不小于 0 的整数"),
    ("西塞山区", "typical_case", "也许", "是/否"),
    ("下陆区", "volume_m03", "12.5", "整数"),
    ("开发区·铁山区", "training_score", "4", "0～3"),
    ("开发区·铁山区", "concealment_rates", "3.5%;x", "分号"),
]


def test_several_bad_values_in_several_units_are_all_listed(tmp_path):
    header, rows = sample_rows()
    for unit, key, typed, _ in BAD:
        row_of(rows, unit)[key] = typed
    problems = problems_of(write(tmp_path, header, rows))
    assert len([p for p in problems if p.level == "error"]) == len(BAD)
    for unit, key, typed, expected in BAD:
        matches = [p for p in problems if p.unit == unit and p.field == key]
        assert len(matches) == 1, (unit, key)
        message = matches[0].message()
        for part in (unit, key, typed, expected):
            assert part in message, (part, message)


def test_85_typed_for_a_rate_asks_if_85_percent_was_meant(tmp_path):
    # A8 '超出范围多半是录入错误（如把85%填成85），不应悄悄截断'
    header, rows = sample_rows()
    row_of(rows, "阳新县")["dec_late_rate"] = "85"
    (p,) = problems_of(write(tmp_path, header, rows))
    assert (p.unit, p.field, p.value) == ("阳新县", "dec_late_rate", "85")
    assert "是否应为 85%？" in p.message()


def test_text_in_a_rate_cell_says_a_rate_is_expected(tmp_path):
    # contract §2: each problem names 'what is expected'; for a rate that is a rate 0…100 % (A8), not just
    # "a number" (typing 0.85 or 85% must be suggested, as the blank-cell message for the same key does)
    header, rows = sample_rows()
    row_of(rows, "大冶市")["dec_pass_rate"] = "abc"
    (p,) = problems_of(write(tmp_path, header, rows))
    assert (p.unit, p.field, p.value) == ("大冶市", "dec_pass_rate", "abc")
    assert "0%～100%" in p.message(), p.message()


def test_rate_above_100_percent_is_an_error(tmp_path):
    header, rows = sample_rows()
    row_of(rows, "阳新县")["dec_pass_rate"] = "101%"
    (p,) = problems_of(write(tmp_path, header, rows))
    assert p.field == "dec_pass_rate" and "101%" in p.message()


def test_duplicate_unit_is_an_error(tmp_path):
    header, rows = sample_rows()
    rows.append(dict(row_of(rows, "下陆区")))
    problems = problems_of(write(tmp_path, header, rows))
    assert any(p.unit == "下陆区" and p.field == "unit" and "重复" in p.message() for p in problems)


def test_duplicate_unit_written_differently_is_an_error(tmp_path):
    # '开发区.铁山区' (an ASCII dot) is the same unit as '开发区·铁山区'
    header, rows = sample_rows()
    copy = dict(row_of(rows, "开发区·铁山区"))
    copy["unit"] = "开发区.铁山区"
    rows.append(copy)
    problems = problems_of(write(tmp_path, header, rows))
    assert any(p.field == "unit" and "重复" in p.message() for p in problems)


def test_blank_required_cell_is_an_error(tmp_path):
    header, rows = sample_rows()
    row_of(rows, "西塞山区")["spotcheck_score"] = "  "
    (p,) = problems_of(write(tmp_path, header, rows))
    assert (p.unit, p.field) == ("西塞山区", "spotcheck_score")
    assert "不能为空" in p.message() and "西塞山区" in p.message()


def test_blank_1_3_for_an_assessed_unit_is_an_error(tmp_path):
    header, rows = sample_rows()
    row_of(rows, "阳新县")["public_service_categories"] = ""
    (p,) = problems_of(write(tmp_path, header, rows))
    assert (p.unit, p.field) == ("阳新县", "public_service_categories")


def test_1_3_value_for_a_unit_not_assessed_is_a_warning_and_the_result_is_computed(tmp_path):
    # '（只考核大冶市、阳新县）': a 1.3 value for 下陆区 is ignored with a warning
    header, rows = sample_rows()
    row_of(rows, "下陆区")["public_service_categories"] = "9"
    result = score_file(write(tmp_path, header, rows))
    warnings = [p for p in result.problems if p.level == "warning"]
    assert [(p.unit, p.field) for p in warnings] == [("下陆区", "public_service_categories")]
    assert result.errors == []
    units = {u.unit: u for u in result.units}
    assert units["下陆区"].rules["1.3"] is None
    assert units["大冶市"].rules["1.3"] == 10  # 7 still most among 大冶市 and 阳新县 (9 was not counted)
    baseline = {u.unit: u.total for u in score_file(SAMPLE).units}
    assert {u.unit: u.total for u in result.units} == baseline


@pytest.mark.parametrize("ignored, count_line", [(["下陆区"], False), (["下陆区", "西塞山区"], True)])
def test_the_cli_counts_its_notes_when_there_are_several(tmp_path, capsys, ignored, count_line):
    """Hundreds of 提示 run past a screen: after two or more, one line says how many (never with errors)."""
    from hscredit_xl.cli import main

    header, rows = sample_rows()
    for unit in ignored:
        row_of(rows, unit)["public_service_categories"] = "9"
    assert main(["score", str(write(tmp_path, header, rows))]) == 0
    notes = capsys.readouterr().err.splitlines()
    assert sum(line.startswith("[提示]") for line in notes) == len(ignored)
    assert (notes[-1] == f"共 {len(ignored)} 个提示，请逐条核对。") == count_line
    row_of(rows, "大冶市")["objections"] = "很多"  # and an error: the error's own count line, not this one
    assert main(["score", str(write(tmp_path, header, rows, name="bad.csv"))]) != 0
    lines = capsys.readouterr().err.splitlines()
    assert not any("个提示" in line for line in lines) and lines[-1].startswith("共 1 个错误")


def test_adjustment_without_reason_is_an_error(tmp_path):
    # A11 'an optional manual adjustment per unit with a required reason'
    header, rows = sample_rows()
    row_of(rows, "西塞山区").update(adjustment="-2", adjustment_reason="")
    (p,) = problems_of(write(tmp_path, header, rows))
    assert p.unit == "西塞山区" and p.field == "adjustment_reason"
    assert "理由" in p.message()


def test_adjustment_with_reason_is_applied(tmp_path):
    header, rows = sample_rows()
    row_of(rows, "西塞山区").update(adjustment="-2", adjustment_reason="日常工作台账不全")
    units = {u.unit: u for u in score_file(write(tmp_path, header, rows)).units}
    u = units["西塞山区"]
    assert u.adjustment == -2 and u.final == u.total - 2


# ------------------------------------------------------------------------------------------------------
# The command line, as a user runs it


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hscredit_xl", *args], cwd=cwd, capture_output=True, timeout=120)


def out(proc) -> str:
    return proc.stdout.decode("utf-8")


def err(proc) -> str:
    return proc.stderr.decode("utf-8")


def cell_spans(line: str) -> list[tuple[int, int]]:
    """(start, end) display columns of each space-separated cell of a table line."""
    spans, col, start = [], 0, None
    for ch in line + " ":
        if ch == " ":
            if start is not None:
                spans.append((start, col))
                start = None
        elif start is None:
            start = col
        col += display_width(ch)
    return spans


def test_cli_score_prints_an_aligned_ranking(tmp_path):
    proc = run("score", str(SAMPLE), cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    lines = out(proc).strip("\n").split("\n")
    title, header, rule, *data = lines
    assert "黄信用办〔2021〕2号" in title
    assert "名次" in header and "单位" in header and "最终得分" in header
    assert set(rule) <= {"-", " "}
    assert len(data) == 6
    # every line of the table has the header's display width (CJK characters count two columns)
    widths = {display_width(line) for line in [header, rule, *data]}
    assert widths == {display_width(header)}, [display_width(x) for x in [header, rule, *data]]
    # the columns sit under the dashes of the rule line: 单位 (the 2nd) starts where its dashes start, the
    # numbers end where theirs end (display columns, CJK = 2)
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    for line in [header, *data]:
        cells = cell_spans(line)
        assert len(cells) == len(spans), line
        for c, ((start, end), (col_start, col_end)) in enumerate(zip(cells, spans)):
            if c == 1:
                assert start == col_start, (line, c)
            else:
                assert end == col_end, (line, c)
    # every unit once, in order of rank
    assert sorted(line.split()[1] for line in data) == sorted(UNITS)
    ranks = [int(line.split()[0]) for line in data]
    assert ranks == sorted(ranks) and ranks[0] == 1


def test_cli_json_report_has_the_contract_keys(tmp_path):
    proc = run("score", str(SAMPLE), "--json", cwd=tmp_path)
    assert proc.returncode == 0, err(proc)
    report = json.loads(out(proc))
    assert report["year"] == 2020
    assert report["problems"] == []
    assert [u["unit"] for u in report["units"]] and {u["unit"] for u in report["units"]} == set(UNITS)
    keys = {"unit", "rules", "base", "base_scaled", "bonus", "deduction", "total", "rank", "adjustment", "final",
            "self_total", "difference"}
    for u in report["units"]:
        assert keys <= set(u), keys - set(u)
        assert list(u["rules"]) == RULE_IDS
        if u["unit"] in ("大冶市", "阳新县"):
            assert isinstance(u["rules"]["1.3"], (int, float))
        else:
            assert u["rules"]["1.3"] is None  # contract §3 'a rule not applicable to a unit is null'
        # contract §3: total = min(100, base_scaled + bonus) − deduction; final = total + adjustment
        expected_total = max(D(0), min(D(100), D(str(u["base_scaled"])) + D(str(u["bonus"]))) - D(str(u["deduction"])))
        assert D(str(u["total"])) == expected_total
        assert D(str(u["final"])) == D(str(u["total"])) + D(str(u["adjustment"]))
        # numbers rounded to 2 decimals
        for k in ("base", "base_scaled", "total", "final"):
            assert D(str(u[k])) == D(str(u[k])).quantize(D("0.01"))
        # rank: the place by total (A1: ties share the better place)
        better = sum(1 for v in report["units"] if v["total"] > u["total"])
        assert u["rank"] == better + 1
        if u["self_total"] is not None:
            assert D(str(u["difference"])) == D(str(u["self_total"])) - D(str(u["total"]))  # A10 self − review


def test_cli_json_from_gb18030_equals_utf8(tmp_path):
    header, rows = sample_rows()
    gb = write(tmp_path, header, rows, "gb.csv", encoding="gb18030")
    a = json.loads(out(run("score", str(SAMPLE), "--json", cwd=tmp_path)))
    b = json.loads(out(run("score", str(gb), "--json", cwd=tmp_path)))
    assert a["units"] == b["units"]


def test_cli_warning_goes_to_stderr_and_json_still_parses(tmp_path):
    header, rows = sample_rows()
    row_of(rows, "下陆区")["public_service_categories"] = "9"
    proc = run("score", str(write(tmp_path, header, rows)), "--json", cwd=tmp_path)
    assert proc.returncode == 0
    report = json.loads(out(proc))
    assert [(p["unit"], p["field"], p["level"]) for p in report["problems"]] == [
        ("下陆区", "public_service_categories", "warning")]
    assert "下陆区" in err(proc)


def test_cli_bad_input_exit_2_nothing_on_stdout_every_problem_on_stderr(tmp_path):
    header, rows = sample_rows()
    for unit, key, typed, _ in BAD:
        row_of(rows, unit)[key] = typed
    proc = run("score", str(write(tmp_path, header, rows)), "--json", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == b""
    lines = [line for line in err(proc).splitlines() if line.strip()]
    assert "Traceback" not in err(proc)
    for unit, key, typed, expected in BAD:
        # one line per problem, naming the unit, the key, the value and what is expected
        hits = [line for line in lines if unit in line and key in line]
        assert len(hits) == 1, (unit, key, lines)
        assert typed in hits[0] and expected in hits[0]
    assert len([line for line in lines if line.startswith("[错误]")]) == len(BAD)


def test_cli_missing_file(tmp_path):
    proc = run("score", str(tmp_path / "没有这个文件.csv"), cwd=tmp_path)
    assert proc.returncode in (1, 2)
    assert proc.stdout == b""
    text = err(proc)
    assert "Traceback" not in text
    assert "没有这个文件.csv" in text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("没有这个文件", ""))  # a Chinese message


def test_cli_not_a_csv(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\x00\x01\x02\xff\xfe")
    proc = run("score", str(path), cwd=tmp_path)
    assert proc.returncode in (1, 2)
    assert proc.stdout == b"" and "Traceback" not in err(proc)
