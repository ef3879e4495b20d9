"""Nothing a person typed is lost or silently replaced (issue 11), and one writer at a time (issue 15.5).

`new` refuses an existing path, `fill` refuses conflicts and never erases with a blank, every replaced
workbook is kept in `.hscredit-history` and can be restored, a lock keeps two writers apart, `score` checks the
units. Every refusal: exit 2, the thing it protects named, the file's bytes the same before and after.
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from hscredit_xl.datafile import read_rows
from hscredit_xl.rubric import load_rubric
from hscredit_xl.scoring import InputProblems, score_rows
from hscredit_xl.workbook import history
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.atomic import refuse_existing
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import SCORED_NAME, sample_path
from hscredit_xl.workbook.fill import Conflict, conflicts, fill_book
from hscredit_xl.workbook.lock import lock_path, writer_lock
from hscredit_xl.workbook.recompute import read_inputs
from hscredit_xl.workbook.safety import open_untrusted
from hscredit_xl.workbook.template import build_template
from helpers import cli
from helpers import sample_rows as sample

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = load_rubric()
LAY = L.Layout.build(RUBRIC)
UNITS = LAY.units
D = Decimal


# ------------------------------------------------------------------------------------------------ helpers


def write_csv(path: Path, header: list[str], rows: list[dict], encoding: str = "utf-8") -> Path:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n", extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: r.get(k, "") for k in header})
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def row_of(rows: list[dict], unit: str) -> dict:
    return next(r for r in rows if r["unit"] == unit)


def data_cell(unit: str, key: str) -> tuple[str, str]:
    return L.DATA, L.cell(LAY.unit_row(UNITS.index(unit)), LAY.data_column(key).col)


def set_cells(path: Path, values: dict[tuple[str, str], object]) -> None:
    wb = openpyxl.load_workbook(path)
    for (sheet, coord), value in values.items():
        wb[sheet][coord].value = value
    wb.save(path)


def cell_value(path: Path, sheet: str, coord: str):
    return openpyxl.load_workbook(path)[sheet][coord].value


@pytest.fixture
def filled(tmp_path, capsys) -> Path:
    """A workbook with the sample filled in, as the city would have it after `new` and `fill`."""
    path = tmp_path / "考评2020.xlsx"
    assert cli(capsys, "new", "-o", path)[0] == 0
    assert cli(capsys, "fill", path, sample_path())[0] == 0
    return path


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------------------------ 1. new, demo
def test_new_refuses_an_existing_workbook_unless_force(filled, capsys):
    before = filled.read_bytes()
    code, out, err = cli(capsys, "new", "-o", filled)
    assert code == 2 and out == ""
    assert str(filled) in err and "已存在" in err and "--force" in err and "未写入任何文件" in err
    assert filled.read_bytes() == before

    code, _, err = cli(capsys, "new", "-o", filled, "--force")
    assert code == 0, err
    assert read_inputs(OpenpyxlBook(filled, open_untrusted(filled))).rows[0].get("objections") is None  # blank again
    assert history.versions(filled)[0].path.read_bytes() == before  # the work it replaced is kept


def test_new_refuses_before_it_writes_anything_with_data_file_too(filled, tmp_path, capsys):
    data = tmp_path / "空白.csv"
    before = filled.read_bytes()
    code, _, err = cli(capsys, "new", "-o", filled, "--data-file", data)
    assert code == 2 and str(filled) in err
    assert filled.read_bytes() == before and not data.exists()


def test_plain_new_refuses_the_default_name_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "new")[0] == 0
    before = (tmp_path / "hscredit_2020.xlsx").read_bytes()
    code, _, err = cli(capsys, "new")
    assert code == 2 and "hscredit_2020.xlsx" in err
    assert (tmp_path / "hscredit_2020.xlsx").read_bytes() == before


def test_refuse_existing_is_one_helper_for_every_blank_writer(tmp_path):
    path = tmp_path / "x.xlsx"
    refuse_existing(path, force=False)  # nothing there: fine
    path.write_bytes(b"work")
    with pytest.raises(InputProblems) as exc:
        refuse_existing(path, force=False)
    (problem,) = exc.value.problems
    assert str(path) in problem.message() and "--force" in problem.message()
    refuse_existing(path, force=True)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(InputProblems) as exc:
        refuse_existing(folder, force=False)
    assert "文件夹" in exc.value.problems[0].message()


def test_demo_writes_only_into_its_own_folder(tmp_path, capsys):
    mine = tmp_path / "demo"
    assert cli(capsys, "demo", "-o", mine)[0] == 0
    assert cli(capsys, "demo", "-o", mine)[0] == 0  # its own folder again: replaced, the earlier one kept
    assert (mine / SCORED_NAME).is_file() and len(history.versions(mine / SCORED_NAME)) == 1

    other = tmp_path / "documents"
    other.mkdir()
    (other / "考评2020.xlsx").write_bytes(b"somebody's work")
    code, out, err = cli(capsys, "demo", "-o", other)
    assert code == 2 and "考评2020.xlsx" in err and "示例只写入它自己的文件夹" in err
    assert sorted(p.name for p in other.iterdir()) == ["考评2020.xlsx"]

    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    assert cli(capsys, "demo", "-o", a_file)[0] == 2
    assert a_file.read_text() == "x"


def test_new_with_a_units_file(tmp_path, capsys):
    units = tmp_path / "units.csv"
    units.write_bytes("unit,public_service\r\n甲县,是\r\n乙区,否\r\n".encode("gb18030"))
    out = tmp_path / "two.xlsx"
    code, _, err = cli(capsys, "new", "-o", out, "--units", units)
    assert code == 0, err
    inp = read_inputs(OpenpyxlBook(out, open_untrusted(out)))
    assert inp.layout.units == ["甲县", "乙区"] and inp.layout.public_service == [True, False]


# ------------------------------------------------------------------------------------------------ 2. fill
def test_fill_lists_every_conflict_and_writes_nothing(filled, tmp_path, capsys):
    set_cells(filled, {data_cell("大冶市", "objections"): 80, data_cell("阳新县", "media_reports"): 2})
    before = filled.read_bytes()
    code, out, err = cli(capsys, "fill", filled, sample_path())
    assert code == 2 and out == ""
    sheet, coord = data_cell("大冶市", "objections")
    line = next(l for l in err.splitlines() if "大冶市" in l and "objections" in l)
    assert f"{sheet}!{coord}" in line and "「80」" in line and "「12」" in line and "--replace" in line
    assert any("阳新县" in l and "media_reports" in l for l in err.splitlines())  # every conflict, not the first
    assert filled.read_bytes() == before
    assert no_temporaries(tmp_path)


def test_fill_replace_takes_the_file_and_says_so(filled, capsys):
    set_cells(filled, {data_cell("大冶市", "objections"): 80})
    code, _, err = cli(capsys, "fill", filled, sample_path(), "--replace")
    assert code == 0, err
    assert "[提示]" in err and "已按 --replace 替换" in err and "「80」" in err
    assert cell_value(filled, *data_cell("大冶市", "objections")) == 12
    assert history.versions(filled)[0].path.read_bytes() != filled.read_bytes()


def test_a_blank_in_the_data_file_erases_nothing(filled, tmp_path, capsys):
    """The city's 综合评定 (adjustment and reason) and a unit's self score survive a file without them."""
    form, row, col = LAY.self_cell(0, "1.2.1")  # 大冶市's row of 自评得分
    self_cell = L.cell(row, col)
    set_cells(filled, {data_cell("下陆区", "adjustment"): 2, data_cell("下陆区", "adjustment_reason"): "日常工作突出",
                       (form, self_cell): 6})
    header, rows = sample()
    for r in rows:
        r["adjustment"] = r["adjustment_reason"] = ""
        r["self_1.2.1"] = ""
    data = write_csv(tmp_path / "again.csv", header + [k for k in ["self_1.2.1"] if k not in header], rows)
    code, _, err = cli(capsys, "fill", filled, data)
    assert code == 0, err
    assert cell_value(filled, *data_cell("下陆区", "adjustment")) == 2
    assert cell_value(filled, *data_cell("下陆区", "adjustment_reason")) == "日常工作突出"
    assert cell_value(filled, form, self_cell) == 6


def test_equal_values_are_no_conflict_and_stay_as_typed(filled, tmp_path, capsys):
    set_cells(filled, {data_cell("大冶市", "dec_pass_rate"): "99.2%", data_cell("大冶市", "verification_plan"): "Y",
                       data_cell("阳新县", "volume_m01"): "20,211"})
    header, rows = sample()
    row_of(rows, "大冶市")["dec_pass_rate"] = "0.992"
    data = write_csv(tmp_path / "same.csv", header, rows)
    assert row_of(rows, "阳新县")["volume_m01"] == "20211" and row_of(rows, "大冶市")["verification_plan"] == "是"
    code, _, err = cli(capsys, "fill", filled, data)
    assert code == 0, err
    assert "[错误]" not in err
    assert cell_value(filled, *data_cell("大冶市", "dec_pass_rate")) == "99.2%"  # the cell as the person typed it
    assert cell_value(filled, *data_cell("大冶市", "verification_plan")) == "Y"
    assert cell_value(filled, *data_cell("阳新县", "volume_m01")) == "20,211"


def test_concealment_rows_typed_by_a_reviewer_are_a_conflict_or_kept(filled, tmp_path, capsys):
    wb = openpyxl.load_workbook(filled)
    ws = wb[L.CONCEALMENT]
    row = next(r for r in range(L.FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == "大冶市")
    ws.cell(row, 2).value = "市场监管局"  # a department name typed by the reviewer, same rate
    wb.save(filled)
    assert cli(capsys, "fill", filled, sample_path())[0] == 0
    assert openpyxl.load_workbook(filled)[L.CONCEALMENT].cell(row, 2).value == "市场监管局"

    header, rows = sample()
    row_of(rows, "大冶市")["concealment_rates"] = "5%"
    before = filled.read_bytes()
    code, _, err = cli(capsys, "fill", filled, write_csv(tmp_path / "rates.csv", header, rows))
    assert code == 2 and "concealment_rates" in err and "「0.8%;1.2%;0%」" in err and "「5%」" in err
    assert filled.read_bytes() == before


def test_a_data_file_without_unit_rows_is_an_error_for_fill(filled, tmp_path, capsys):
    header, _ = sample()
    data = write_csv(tmp_path / "header-only.csv", header, [])
    before = filled.read_bytes()
    code, _, err = cli(capsys, "fill", filled, data)
    assert code == 2 and "没有任何单位的数据行" in err
    assert filled.read_bytes() == before


def test_fill_names_the_unit_a_near_miss_means(filled, tmp_path, capsys):
    header, rows = sample()
    row_of(rows, "开发区·铁山区")["unit"] = "开发区铁山区"
    before = filled.read_bytes()
    code, _, err = cli(capsys, "fill", filled, write_csv(tmp_path / "near.csv", header, rows))
    assert code == 2 and "是否为「开发区·铁山区」？" in err
    assert filled.read_bytes() == before


def test_conflicts_is_one_comparison_for_every_writer():
    old = {"dec_pass_rate": ("数据录入!R4", "85%"), "objections": ("数据录入!T4", 80),
           "typical_case": ("数据录入!AB4", "是"), "adjustment_reason": ("数据录入!AL4", "理由"),
           "concealment_rates": ("瞒报率明细!C4", (D("0.008"), D("0.012"))), "media_reports": ("数据录入!Z4", None)}
    new = {"dec_pass_rate": D("0.85"), "objections": 94, "typical_case": "Y", "adjustment_reason": "",
           "concealment_rates": "1.2%;0.8%", "media_reports": 3}
    found = conflicts("大冶市", old, new, RUBRIC)
    assert found == [Conflict("大冶市", "objections", RUBRIC.field("objections").label, "数据录入!T4", 80, 94, "count")]
    message = found[0].problem().message()
    assert all(x in message for x in ("大冶市", "数据录入!T4", "objections", "「80」", "「94」"))


# ------------------------------------------------------------------------------------------------ 3. history
def test_every_replace_is_kept_and_any_version_comes_back(filled, capsys):
    first = filled.read_bytes()
    assert cli(capsys, "recompute", filled)[0] == 0
    set_cells(filled, {data_cell("大冶市", "objections"): 80})  # a reviewer's correction, saved
    corrected = filled.read_bytes()
    assert cli(capsys, "recompute", filled)[0] == 0

    code, out, _ = cli(capsys, "history", filled)
    assert code == 0 and "序号" in out
    kept = history.versions(filled)
    assert [v.number for v in kept] == list(range(1, len(kept) + 1))
    assert kept[0].path.read_bytes() == corrected
    wanted = next(v for v in kept if v.path.read_bytes() == first)
    assert str(wanted.number) in out
    now = filled.read_bytes()
    code, out, err = cli(capsys, "history", filled, "--restore", wanted.number)
    assert code == 0, err
    assert filled.read_bytes() == first
    assert history.versions(filled)[0].path.read_bytes() == now  # the restore kept what it replaced
    assert no_temporaries(filled.parent)


def test_history_keeps_the_last_ten_named_by_time(tmp_path):
    target = tmp_path / "book.xlsx"
    for n in range(13):
        with open(target, "wb") as fh:
            fh.write(f"version {n}".encode())
        with __import__("hscredit_xl.workbook.atomic", fromlist=["x"]).atomic_output(target) as handle:
            handle.write(f"version {n + 1}".encode())
    kept = history.versions(target)
    assert len(kept) == history.KEEP
    assert kept[0].path.read_bytes() == b"version 12" and kept[-1].path.read_bytes() == b"version 3"
    assert all(v.path.parent == tmp_path / ".hscredit-history" / "book.xlsx" for v in kept)
    assert [v.replaced_at for v in kept] == sorted((v.replaced_at for v in kept), reverse=True)


def test_history_of_a_file_never_replaced_and_a_wrong_number(tmp_path, capsys):
    target = tmp_path / "new.xlsx"
    assert cli(capsys, "new", "-o", target)[0] == 0
    code, out, _ = cli(capsys, "history", target)
    assert code == 0 and "没有保存的历史版本" in out
    before = target.read_bytes()
    code, _, err = cli(capsys, "history", target, "--restore", 3)
    assert code == 2 and "--restore" in err and "「3」" in err
    assert target.read_bytes() == before


def test_merge_into_a_master_keeps_the_master_it_replaced(tmp_path, capsys):
    master = tmp_path / "master.xlsx"
    unit = tmp_path / "阳新县.xlsx"
    assert cli(capsys, "new", "-o", master)[0] == 0
    rows, _ = read_rows(sample_path(), RUBRIC)
    book = OpenpyxlBook(unit, build_template())
    fill_book(book, [r for r in rows if r["unit"] == "阳新县"], [])
    book.save(unit)
    before = master.read_bytes()
    code, _, err = cli(capsys, "merge", master, unit)
    assert code == 0, err
    assert history.versions(master)[0].path.read_bytes() == before


# ------------------------------------------------------------------------------------------------ 4. the lock
HOLD = """
import sys, time
from pathlib import Path
from hscredit_xl.workbook.lock import writer_lock
with writer_lock(Path(sys.argv[1]), "测试持有"):
    Path(sys.argv[2]).write_text("held")
    while not Path(sys.argv[3]).exists():
        time.sleep(0.05)
"""


def hold_lock(target: Path, tmp_path: Path):
    ready, release = tmp_path / "ready", tmp_path / "release"
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(target), str(ready), str(release)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, "the lock holder died"
        assert time.monotonic() < deadline, "the lock holder never took the lock"
        time.sleep(0.05)
    return proc, release


def test_a_second_writer_is_refused_naming_the_holder(filled, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HSCREDIT_LOCK_WAIT", "0.3")
    proc, release = hold_lock(filled, tmp_path)
    try:
        before = filled.read_bytes()
        header, rows = sample()
        unit_csv = write_csv(tmp_path / "阳新县.csv", header, [row_of(rows, "阳新县")])
        for args in (("fill", filled, sample_path(), "--replace"), ("recompute", filled),
                     ("merge", filled, unit_csv, "--replace"), ("history", filled, "--restore", 1)):
            code, out, err = cli(capsys, *args)
            assert code == 2, (args, err)
            assert f"进程 {proc.pid}" in err and socket.gethostname() in err and "测试持有" in err
            assert "正被另一个命令写入" in err
            assert filled.read_bytes() == before
    finally:
        release.write_text("go")
        proc.wait(60)
    assert not lock_path(filled).exists()
    assert cli(capsys, "recompute", filled)[0] == 0  # free again


def test_a_lock_left_by_a_killed_writer_is_stale_and_taken_over(filled, tmp_path, capsys):
    proc, _ = hold_lock(filled, tmp_path)
    os.kill(proc.pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
    proc.wait(60)
    assert lock_path(filled).exists()  # left behind: no clean-up ran
    assert json.loads(lock_path(filled).read_text(encoding="utf-8").strip())["pid"] == proc.pid
    code, _, err = cli(capsys, "recompute", filled)
    assert code == 0, err


def test_two_writers_at_once_both_land(tmp_path, capsys):
    """Two fills of different units into one master at the same moment: the second waits, nothing is lost."""
    master = tmp_path / "master.xlsx"
    assert cli(capsys, "new", "-o", master)[0] == 0
    header, rows = sample()
    files = [write_csv(tmp_path / f"{u}.csv", header, [row_of(rows, u)]) for u in ("大冶市", "下陆区")]
    env = dict(os.environ, HSCREDIT_LOCK_WAIT="120")
    procs = [subprocess.Popen([sys.executable, "-m", "hscredit_xl", "fill", str(master), str(f)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    inp = read_inputs(OpenpyxlBook(master, open_untrusted(master)))
    assert inp.rows[UNITS.index("大冶市")]["objections"] == 12
    assert inp.rows[UNITS.index("下陆区")]["objections"] is not None


def test_a_file_changed_between_read_and_replace_is_not_overwritten(filled):
    with writer_lock(filled, "test"):
        book = OpenpyxlBook(filled, open_untrusted(filled))
        book.write(L.DATA, LAY.unit_row(0), LAY.data_column("objections").col, [[1]])
        filled.write_bytes(filled.read_bytes() + b"")  # the same bytes: not a change
        set_cells(filled, {data_cell("阳新县", "objections"): 99})  # somebody saved it meanwhile (e.g. Excel)
        theirs = filled.read_bytes()
        with pytest.raises(InputProblems) as exc:
            book.save(filled)
    assert "被其他程序改动过" in exc.value.problems[0].message()
    assert filled.read_bytes() == theirs
    assert no_temporaries(filled.parent)


# ------------------------------------------------------------------------------------------------ 5. score's units
@pytest.mark.parametrize("spelled", ["开发区铁山区", "开发区・铁山区", "开发区\u200b·铁山区", "开发区 · 铁山区"])
def test_score_names_the_unit_a_near_miss_means(spelled, tmp_path, capsys):
    header, rows = sample()
    row_of(rows, "开发区·铁山区")["unit"] = spelled
    data = write_csv(tmp_path / "near.csv", header, rows)
    code, out, err = cli(capsys, "score", data)
    assert code == 2 and out == ""
    assert "是否为「开发区·铁山区」？" in err and "不是考核名单中的单位" in err


def test_score_refuses_a_file_missing_a_unit(tmp_path, capsys):
    header, rows = sample()
    data = write_csv(tmp_path / "five.csv", header, [r for r in rows if r["unit"] != "下陆区"])
    code, out, err = cli(capsys, "score", data)
    assert code == 2 and out == ""
    assert "下陆区" in err and "没有该单位的一行" in err


def test_score_with_a_units_file(tmp_path, capsys):
    header, rows = sample()
    data = write_csv(tmp_path / "five.csv", header, [r for r in rows if r["unit"] != "下陆区"])
    units = tmp_path / "units.csv"
    units.write_bytes(("\ufeffunit,public_service\r\n" + "".join(
        f"{u},{'是' if u in ('大冶市', '阳新县') else '否'}\r\n" for u in UNITS if u != "下陆区")).encode("utf-8"))
    code, out, err = cli(capsys, "score", data, "--units", units, "--json")
    assert code == 0, err
    assert sorted(u["unit"] for u in json.loads(out)["units"]) == sorted(u for u in UNITS if u != "下陆区")


def test_a_bad_units_file_lists_every_line(tmp_path, capsys):
    units = tmp_path / "units.csv"
    long_name = "很" * 30
    units.write_text(f"unit,public_service\n大冶市,是\n大冶市 ,是\n,否\n黄石港区,也许\n{long_name},否\n阳新县,\n",
                     encoding="utf-8")
    data = sample_path()
    code, out, err = cli(capsys, "score", data, "--units", units)
    assert code == 2 and out == ""
    lines = err.splitlines()
    for fragment in (("第 3 行", "单位重复"), ("第 4 行", "不能为空"), ("第 5 行", "「也许」", "是/否"),
                     ("第 6 行", "过长"), ("第 7 行", "是/否")):
        assert any(all(f in l for f in fragment) for l in lines), (fragment, err)
    header = tmp_path / "header.csv"
    header.write_text("name,flag\n大冶市,是\n", encoding="utf-8")
    code, _, err = cli(capsys, "new", "-o", tmp_path / "x.xlsx", "--units", header)
    assert code == 2 and "unit,public_service" in err and not (tmp_path / "x.xlsx").exists()


# ------------------------------------------------------------------------------------------------ 6. switch corners
def test_full_marks_for_units_not_assessed_accepts_their_self_score():
    _, rows = sample()
    for r in rows:
        r["self_total"] = ""
    for r in rows:
        for rule in RUBRIC.rules:
            r[f"self_{rule.id}"] = "1"
    result = score_rows(rows, choices={"A5": "full_marks"})
    unit = next(u for u in result.units if u.unit == "黄石港区")
    assert unit.rules["1.3"] == D(10)
    assert unit.self_scores["1.3"] == D(1)  # accepted, not "已忽略"
    assert unit.self_total is not None and unit.difference is not None
    assert unit.rule_differences["1.3"] == D(1) - D(10)
    assert not any("1.3" in p.field and "不计" in p.expected for p in result.problems)


def test_end_only_rounding_units_showing_the_same_total_share_a_place():
    assert RUBRIC.switches["A9"].ranking["by"] == "shown_total" and RUBRIC.switches["A9"].ranking["reason"]
    _, rows = sample()
    for key in ("innovation_docking", "innovation_in_plan", "innovation_benefit_apps", "innovation_other"):
        row_of(rows, "大冶市")[key] = "否"  # below the cap of 100
    twin = dict(row_of(rows, "大冶市"), unit="阳新县")
    rows = [row_of(rows, "大冶市"), twin] + [r for r in rows if r["unit"] not in ("大冶市", "阳新县")]
    row_of(rows, "大冶市")["oct_return_pass_rate"] = "0.9000"
    twin["oct_return_pass_rate"] = "0.9006"  # 5 × 0.0006 = 0.003 more: the same total to 2 decimals
    result = score_rows(rows, choices={"A9": "end_only"})
    a, b = (next(u for u in result.units if u.unit == n) for n in ("大冶市", "阳新县"))
    assert a.total != b.total and round(a.total, 2) == round(b.total, 2)  # the case itself
    assert a.rank == b.rank


@pytest.mark.parametrize("change, fragments", [
    ({"commitment_reported": "否", "commitment_sectors": "6"}, ("commitment_sectors", "5 个以上", "否")),
    ({"returned_issues": "10", "rectified_issues": "12"}, ("rectified_issues", "大于返还问题条数")),
])
def test_inconsistent_inputs_get_a_hint(change, fragments, tmp_path, capsys):
    header, rows = sample()
    row_of(rows, "西塞山区").update(change)
    code, out, err = cli(capsys, "score", write_csv(tmp_path / "odd.csv", header, rows), "--json")
    assert code == 0, err
    assert any(l.startswith("[提示]") and "西塞山区" in l and all(f in l for f in fragments) for l in err.splitlines())
    assert any(p["level"] == "warning" and all(f in p["message"] for f in fragments)
               for p in json.loads(out)["problems"])


def test_points_earned_with_a_count_of_zero_get_a_hint(tmp_path, capsys):
    header, rows = sample()
    for unit in ("下陆区", "开发区·铁山区"):  # tied at 0: they share place 5, 10 − 2×4 = 2 points
        row_of(rows, unit).update({f"volume_m{m:02d}": "0" for m in range(1, 13)})
    row_of(rows, "阳新县")["public_service_categories"] = "0"  # second of two: 5 points for nothing
    code, out, err = cli(capsys, "score", write_csv(tmp_path / "zero.csv", header, rows), "--json")
    assert code == 0, err
    hints = [l for l in err.splitlines() if l.startswith("[提示]") and "数量为 0" in l]
    assert any("下陆区" in l and "1.1" in l for l in hints), err
    assert any("阳新县" in l and "1.3" in l and "public_service_categories" in l for l in hints), err
