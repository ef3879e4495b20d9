"""`hscredit-xl explain`, `new --data-file` and the plain messages of issue 12, run as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hscredit_xl.rubric import load_rubric

RUBRIC = load_rubric()
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "hscredit_xl" / "samples" / "huangshi-2020-sample.csv"
SCORED = ROOT / "workbook" / "hscredit_2020_sample.xlsx"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "hscredit_xl", *map(str, args)], cwd=cwd, capture_output=True,
                          timeout=300)
    proc.out, proc.err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    return proc


@pytest.fixture(scope="module")
def sample_json(tmp_path_factory) -> dict:
    proc = run("score", SAMPLE, "--json", cwd=tmp_path_factory.mktemp("json"))
    assert proc.returncode == 0, proc.err
    return json.loads(proc.out)


def why_of(report: dict, unit: str) -> dict:
    return next(u for u in report["units"] if u["unit"] == unit)["why"]


# ------------------------------------------------------------------------------------------------------
# explain


def test_explain_a_data_file_prints_the_json_why_of_every_rule(tmp_path, sample_json):
    proc = run("explain", SAMPLE, "西塞山区", cwd=tmp_path)
    assert proc.returncode == 0, proc.err
    why = why_of(sample_json, "西塞山区")
    assert set(why) == {r.id for r in RUBRIC.rules}
    for rule in RUBRIC.rules:
        assert f"\n{rule.id} {rule.name}（" in proc.out
        assert f"  {why[rule.id]}\n" in proc.out
    entry = next(u for u in sample_json["units"] if u["unit"] == "西塞山区")
    assert entry["why_total"] in proc.out
    assert f"复核总分 {entry['total']:.2f}，第 {entry['rank']} 名" in proc.out


def test_explain_a_workbook_and_one_rule_matches_report_json(tmp_path):
    report = run("report", SCORED, "--json", cwd=tmp_path)
    assert report.returncode == 0, report.err
    why = why_of(json.loads(report.out), "大冶市")
    proc = run("explain", SCORED, "大冶市", "1.2.5", cwd=tmp_path)
    assert proc.returncode == 0, proc.err
    assert why["1.2.5"] in proc.out
    assert "1.2.3" not in proc.out and "总分与名次" not in proc.out  # the one rule asked for


def test_explain_an_indicator_shows_its_rules(tmp_path, sample_json):
    proc = run("explain", SAMPLE, "下陆区", "1.2", cwd=tmp_path)
    assert proc.returncode == 0, proc.err
    why = why_of(sample_json, "下陆区")
    for rule_id in ("1.2.1", "1.2.2", "1.2.3", "1.2.4", "1.2.5", "1.2.6"):
        assert why[rule_id] in proc.out
    assert why["1.1"] not in proc.out


@pytest.mark.parametrize("typed,meant", [("大冶", "大冶市"), ("开发区铁山区", "开发区·铁山区"), ("铁山区", "开发区·铁山区"),
                                         ("西赛山区", "西塞山区"), ("开发区.铁山区", None), ("开发区・铁山区", None)])
def test_explain_a_unit_near_miss_suggests_the_unit_meant(tmp_path, typed, meant):
    proc = run("explain", SAMPLE, typed, cwd=tmp_path)
    if meant is None:  # the same name with its dot typed another way is that unit
        assert proc.returncode == 0, proc.err
        assert proc.out.startswith("开发区·铁山区：")
        return
    assert proc.returncode == 2 and proc.out == ""
    assert f"没有单位「{typed}」。是否为「{meant}」？" in proc.err
    assert "全部单位：大冶市、阳新县、黄石港区、西塞山区、下陆区、开发区·铁山区" in proc.err


def test_explain_an_unknown_rule_lists_the_ids(tmp_path):
    proc = run("explain", SAMPLE, "大冶市", "1.4", cwd=tmp_path)
    assert proc.returncode == 2 and proc.out == ""
    assert "细则中没有规则「1.4」" in proc.err
    assert "可用的规则编号：" + "、".join(r.id for r in RUBRIC.rules) in proc.err


def test_explain_a_missing_file(tmp_path):
    proc = run("explain", "没有.xlsx", "大冶市", cwd=tmp_path)
    assert proc.returncode == 2 and proc.out == ""
    assert f"文件不存在：没有.xlsx（工作簿或数据文件；完整路径：{tmp_path / '没有.xlsx'}）" in proc.err


# ------------------------------------------------------------------------------------------------------
# Messages


def test_fill_with_a_data_file_first_says_the_first_argument_is_a_workbook(tmp_path):
    data = tmp_path / "x.csv"
    data.write_bytes(SAMPLE.read_bytes())
    before = data.read_bytes()
    proc = run("fill", "x.csv", "x.csv", cwd=tmp_path)
    assert proc.returncode == 2
    assert "第一个参数应为模板工作簿（.xlsx）" in proc.err and "请使用 .csv" not in proc.err
    assert data.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_fill_with_the_arguments_swapped_asks_if_they_are(tmp_path):
    (tmp_path / "x.csv").write_bytes(SAMPLE.read_bytes())
    (tmp_path / "t.xlsx").write_bytes(SCORED.read_bytes())
    proc = run("fill", "x.csv", "t.xlsx", cwd=tmp_path)
    assert proc.returncode == 2 and "两个参数是否写反了？" in proc.err
    assert (tmp_path / "t.xlsx").read_bytes() == SCORED.read_bytes()


def test_score_a_workbook_points_to_report(tmp_path):
    proc = run("score", SCORED, cwd=tmp_path)
    assert proc.returncode == 2 and proc.out == ""
    assert f"hscredit-xl report {SCORED}" in proc.err and "编码" not in proc.err


def test_report_a_data_file_points_to_score(tmp_path):
    proc = run("report", SAMPLE, cwd=tmp_path)
    assert proc.returncode == 2 and f"hscredit-xl score {SAMPLE}" in proc.err


@pytest.mark.parametrize("args", [("score", "无.csv"), ("report", "无.xlsx"), ("recompute", "无.xlsx"),
                                  ("fill", "无.xlsx", "无.csv"), ("export", "无.xlsx"), ("merge", "无.xlsx", "无2.xlsx")])
def test_a_missing_file_says_so_with_its_path(tmp_path, args):
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.out == ""
    for name in args[1:]:
        assert f"文件不存在：{name}（" in proc.err and str(tmp_path / name) in proc.err
    assert "值（空）" not in proc.err and "Traceback" not in proc.err


def test_version_and_help_are_chinese(tmp_path):
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0 and "版本" in version.out
    help_text = run("--help", cwd=tmp_path).out
    assert "显示版本号并退出" in help_text and "show program" not in help_text
    assert "explain" in help_text


def test_a_skipped_test_names_no_path_outside_the_repository(monkeypatch):
    from tests import test_rubric

    monkeypatch.setattr(test_rubric, "SHARED_NOTICE", Path("/nowhere/rubric-2020-notice.txt"))
    with pytest.raises(pytest.skip.Exception) as skipped:
        test_rubric.test_shipped_notice_equals_the_shared_source_byte_for_byte()
    message = str(skipped.value)
    assert "/nowhere" not in message and os.sep + "work" not in message and str(ROOT.parent) not in message


# ------------------------------------------------------------------------------------------------------
# new --data-file


def test_new_data_file_writes_a_blank_file_and_refuses_an_existing_one(tmp_path):
    proc = run("new", "--data-file", "数据.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.err
    path = tmp_path / "数据.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["数据.csv"]  # the data file alone, no template
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("单位名称,1月入库总量（条，≥0 整数）,")
    assert [line.split(",")[0] for line in lines[1:]] == [u.name for u in RUBRIC.units]

    path.write_text("已填写的数据", encoding="utf-8")
    again = run("new", "--data-file", "数据.csv", cwd=tmp_path)
    assert again.returncode == 2 and "文件已存在" in again.err and "--force" in again.err
    assert path.read_text(encoding="utf-8") == "已填写的数据"

    forced = run("new", "--data-file", "数据.csv", "--force", cwd=tmp_path)
    assert forced.returncode == 0 and path.read_text(encoding="utf-8-sig").splitlines() == lines
