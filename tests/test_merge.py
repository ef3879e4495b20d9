"""`hscredit-xl merge MASTER UNIT_FILE... [-o OUT]` (issue 6): the units' self-evaluations into the master.

The refusals (another unit's data, two files for one unit, other versions, renamed or restructured sheets,
unknown units, unsafe files) are rows of the catalogue in test_bad_inputs.py; this file covers what a merge
does when it succeeds, and that a failed merge writes nothing.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from hscredit_xl.cli import main
from hscredit_xl.datafile import read_rows
from hscredit_xl.rubric import load_rubric
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.fill import fill_book
from hscredit_xl.workbook.recompute import read_inputs
from hscredit_xl.workbook.template import build_template
from helpers import cli
from helpers import sample_rows as sample_csv_rows

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = load_rubric()
LAY = L.Layout.build(RUBRIC)
UNITS = LAY.units


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hscredit_xl", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", cwd=ROOT, timeout=300)


def quiet(*args) -> int:
    """The command in-process, its output swallowed (for building fixtures)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main([str(a) for a in args])
    assert code == 0, err.getvalue()
    return code


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict:
    """Through the command line, as the city and the units do it: `new`, each unit `fill`s its own row."""
    folder = tmp_path_factory.mktemp("merge")
    template = folder / "template.xlsx"
    quiet("new", "-o", template)
    header, rows = sample_csv_rows()
    units = {}
    for n, row in enumerate(rows):
        data = folder / f"unit{n}.csv"
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerow(row)
        data.write_text(buffer.getvalue(), encoding="utf-8")
        path = folder / f"{row['unit']}.xlsx"
        quiet("fill", template, data, "-o", path)
        units[row["unit"]] = path
    direct = folder / "direct.xlsx"
    quiet("fill", template, sample_path(), "-o", direct)
    return {"folder": folder, "template": template, "units": units, "direct": direct}


def fresh_master(env, tmp_path: Path, name: str = "master.xlsx") -> Path:
    return Path(shutil.copy(env["template"], tmp_path / name))


def test_merging_the_six_unit_files_gives_the_result_of_filling_the_same_data_directly(env, tmp_path):
    master = fresh_master(env, tmp_path)
    unit_files = [env["units"][u] for u in UNITS]
    before = {p: p.read_bytes() for p in unit_files}
    done = run("merge", master, *unit_files)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for unit in UNITS:
        assert f"已合并：{unit}" in done.stdout
    assert all(p.read_bytes() == data for p, data in before.items()), "a unit file was changed"
    merged = json.loads(run("report", master, "--json").stdout)
    direct = json.loads(run("report", env["direct"], "--json").stdout)
    assert merged["units"] == direct["units"]
    assert merged["problems"] == direct["problems"] == []
    assert merged["inputs_sha256"] == direct["inputs_sha256"], "the very same inputs"
    # and recomputing both gives the same scored workbook results
    for path in (master, env["direct"]):
        out = tmp_path / f"scored-{path.name}"
        assert run("recompute", path, "-o", out).returncode == 0
    a = json.loads(run("report", tmp_path / "scored-master.xlsx", "--json").stdout)
    b = json.loads(run("report", tmp_path / "scored-direct.xlsx", "--json").stdout)
    assert a["units"] == b["units"] and a["stamp"]["matches_inputs"] and b["stamp"]["matches_inputs"]


def test_units_may_send_their_data_file_instead(env, tmp_path, capsys):
    """contract §1: `merge` reads the data file too — a unit's .csv with its one row merges like its workbook."""
    by_csv = fresh_master(env, tmp_path, "by-csv.xlsx")
    code, _, err = cli(capsys, "merge", by_csv, *sorted(env["folder"].glob("unit*.csv")))
    assert code == 0, err
    by_book = fresh_master(env, tmp_path, "by-book.xlsx")
    assert cli(capsys, "merge", by_book, *[env["units"][u] for u in UNITS])[0] == 0
    assert read_inputs(OpenpyxlBook(by_csv)).digest == read_inputs(OpenpyxlBook(by_book)).digest


def test_merge_with_output_leaves_the_master_as_it_was(env, tmp_path, capsys):
    master = fresh_master(env, tmp_path)
    original = master.read_bytes()
    out = tmp_path / "out" / "merged.xlsx"
    out.parent.mkdir()
    code, stdout, err = cli(capsys, "merge", master, env["units"]["阳新县"], "-o", out)
    assert code == 0, err
    assert master.read_bytes() == original
    inp = read_inputs(OpenpyxlBook(out))
    i = UNITS.index("阳新县")
    assert inp.rows[i]["volume_m01"] == 20211
    assert all(inp.rows[k]["volume_m01"] is None for k in range(len(UNITS)) if k != i)
    assert "已写入" in stdout


def test_what_is_copied_row_concealment_and_self_scores_as_values(env, tmp_path, capsys):
    master = fresh_master(env, tmp_path)
    unit = "大冶市"
    source = tmp_path / "unit.xlsx"
    wb = openpyxl.load_workbook(env["units"][unit])
    sheet, row, col = LAY.self_cell(0, "1.1")
    assert sheet == L.SELF_SCORES  # a full template keeps the self scores on 自评得分, one row per unit
    wb[sheet].cell(row, col).value = 9.5
    # the unit names its departments; typed text values are copied as the values they stand for
    detail = wb[L.CONCEALMENT]
    detail.cell(L.FIRST_ROW, 2).value = "=市场监管局"  # text that starts with '=' stays text
    detail.cell(L.FIRST_ROW, 2).data_type = "s"
    detail.cell(L.FIRST_ROW + 1, 3).value = "１．２％"
    data = wb[L.DATA]
    data.cell(LAY.unit_row(0), LAY.data_column("volume_m01").col).value = "22,843"
    data.cell(LAY.unit_row(0), LAY.data_column("typical_case").col).value = " 是 "
    wb.save(source)
    code, _, err = cli(capsys, "merge", master, source)
    assert code == 0, err
    out = openpyxl.load_workbook(master)
    row = LAY.unit_row(0)
    ws = out[L.DATA]
    assert ws.cell(row, LAY.data_column("volume_m01").col).value == 22843
    assert ws.cell(row, LAY.data_column("typical_case").col).value == "是"
    assert ws.cell(row, LAY.data_column("dec_pass_rate").col).value == pytest.approx(0.992)
    rows = [[c.value for c in r[:3]] for r in out[L.CONCEALMENT].iter_rows(min_row=L.FIRST_ROW, max_row=L.FIRST_ROW + 3)]
    assert rows[0] == ["大冶市", "=市场监管局", pytest.approx(0.008)]
    assert out[L.CONCEALMENT].cell(L.FIRST_ROW, 2).data_type == "s"
    assert rows[1] == ["大冶市", "被抽查部门2", pytest.approx(0.012)]
    assert rows[2][0] == "大冶市" and rows[3] == [None, None, None]
    selfs = out[L.SELF_SCORES]
    assert selfs.cell(row, col).value == 9.5
    assert selfs.cell(row, LAY.self_columns["total"]).data_type == "f"  # 自评得分 sums the self scores itself
    # every cell written is a value: a unit's file never brings a formula into the master
    for sheet in (L.DATA, L.CONCEALMENT, L.SELF_SCORES):
        before = openpyxl.load_workbook(env["template"])[sheet]
        for r in out[sheet].iter_rows():
            for c in r:
                if c.data_type == "f":
                    assert before[c.coordinate].data_type == "f", (sheet, c.coordinate)


def test_merging_units_one_by_one_keeps_the_others_and_replaces_a_resent_file(env, tmp_path, capsys):
    master = fresh_master(env, tmp_path)
    for unit in ("大冶市", "阳新县"):
        assert cli(capsys, "merge", master, env["units"][unit])[0] == 0
    # 大冶市 sends a corrected file: its rows are replaced, 阳新县's stay where they were, untouched
    detail_before = [[c.value for c in r[:3]] for r in openpyxl.load_workbook(master)[L.CONCEALMENT].iter_rows(
        min_row=L.FIRST_ROW, max_row=L.FIRST_ROW + 6)]
    corrected = tmp_path / "大冶市-更正.xlsx"
    wb = openpyxl.load_workbook(env["units"]["大冶市"])
    wb[L.DATA].cell(LAY.unit_row(0), LAY.data_column("objections").col).value = 13
    ws = wb[L.CONCEALMENT]
    ws.cell(L.FIRST_ROW + 2, 1).value = None  # one department fewer
    ws.cell(L.FIRST_ROW + 2, 2).value = None
    ws.cell(L.FIRST_ROW + 2, 3).value = None
    wb.save(corrected)
    # what the master already holds is not replaced silently: every difference listed, nothing written
    before = master.read_bytes()
    code, _, err = cli(capsys, "merge", master, corrected)
    assert code == 2 and master.read_bytes() == before
    assert "主工作簿 12 → 文件 13" in err and "瞒报率明细" in err and "--replace" in err
    code, _, err = cli(capsys, "merge", master, corrected, "--replace")
    assert code == 0, err
    assert "已按 --replace 用单位文件的值替换" in err
    inp = read_inputs(OpenpyxlBook(master))
    assert inp.rows[0]["objections"] == 13
    assert [float(r) for r in inp.rows[0]["concealment_rates"]] == pytest.approx([0.008, 0.012])
    assert [float(r) for r in inp.rows[1]["concealment_rates"]] == pytest.approx([0.015, 0.028])
    detail_after = [[c.value for c in r[:3]] for r in openpyxl.load_workbook(master)[L.CONCEALMENT].iter_rows(
        min_row=L.FIRST_ROW, max_row=L.FIRST_ROW + 6)]
    assert detail_after[3:5] == detail_before[3:5], "阳新县's rows stay where they were"
    assert detail_after[2] == [None, None, None]
    assert "本次没有该单位的文件" in err


def test_the_city_s_adjustment_is_never_overwritten_by_a_unit(env, tmp_path, capsys):
    master = fresh_master(env, tmp_path)
    wb = openpyxl.load_workbook(master)
    row = LAY.unit_row(UNITS.index("下陆区"))
    wb[L.DATA].cell(row, LAY.data_column("adjustment").col).value = 2
    wb[L.DATA].cell(row, LAY.data_column("adjustment_reason").col).value = "市里的评定"
    wb.save(master)
    code, _, err = cli(capsys, "merge", master, env["units"]["下陆区"])  # the unit's file says 1
    assert code == 0, err
    assert "保留主工作簿的值" in err
    ws = openpyxl.load_workbook(master)[L.DATA]
    assert ws.cell(row, LAY.data_column("adjustment").col).value == 2
    assert ws.cell(row, LAY.data_column("adjustment_reason").col).value == "市里的评定"


def test_a_unit_from_a_template_for_that_unit_alone_is_merged(env, tmp_path, capsys):
    """A unit may have been sent a template generated for itself only: the unit lists differ, the columns
    and rows that matter do not."""
    master = fresh_master(env, tmp_path)
    rows, _ = read_rows(sample_path(), RUBRIC)
    path = tmp_path / "阳新县-单独模板.xlsx"
    book = OpenpyxlBook(path, build_template(units=["阳新县"], public_service=[True]))
    fill_book(book, [next(r for r in rows if r["unit"] == "阳新县")], [])
    book.save(path)
    code, _, err = cli(capsys, "merge", master, path)
    assert code == 0, err
    plain = fresh_master(env, tmp_path, "plain.xlsx")
    assert cli(capsys, "merge", plain, env["units"]["阳新县"])[0] == 0
    assert read_inputs(OpenpyxlBook(master)).digest == read_inputs(OpenpyxlBook(plain)).digest


def test_a_refused_merge_writes_nothing(env, tmp_path, capsys):
    """One bad file among good ones: nothing is merged, the master and -o target are as they were."""
    master = fresh_master(env, tmp_path)
    original = master.read_bytes()
    bad = tmp_path / "bad.xlsx"
    wb = openpyxl.load_workbook(env["units"]["西塞山区"])
    wb[L.DATA].cell(LAY.unit_row(3), LAY.data_column("objections").col).value = "五十五"
    wb.save(bad)
    existing_out = tmp_path / "out.xlsx"
    existing_out.write_bytes(b"an existing file the merge must not touch")
    for extra in ([], ["-o", existing_out]):
        code, out, err = cli(capsys, "merge", master, env["units"]["大冶市"], bad, *extra)
        assert code == 2 and out == ""
        assert "「五十五」" in err and "未写入任何文件" in err
    assert master.read_bytes() == original
    assert existing_out.read_bytes() == b"an existing file the merge must not touch"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx", "master.xlsx", "out.xlsx"]


def test_a_failure_while_saving_the_merge_leaves_the_master_byte_for_byte(env, tmp_path, capsys, monkeypatch):
    master = fresh_master(env, tmp_path)
    original = master.read_bytes()

    real = zipfile.ZipFile.writestr
    written = []

    def exploding_writestr(self, info, data, *args, **kwargs):  # the master is written as a zip, part by part
        written.append(info)
        if len(written) > 3:
            raise OSError("disk full")
        return real(self, info, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", exploding_writestr)
    code, _, err = cli(capsys, "merge", master, env["units"]["阳新县"])
    assert code == 1 and "disk full" in err and "Traceback" not in err
    assert master.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.xlsx"], "no temp file left behind"


def test_a_master_that_is_not_a_template_is_refused(env, tmp_path, capsys):
    master = tmp_path / "master.xlsx"
    wb = openpyxl.Workbook()
    wb.save(master)
    original = master.read_bytes()
    code, _, err = cli(capsys, "merge", master, env["units"]["阳新县"])
    assert code == 2 and "主工作簿" in err and "缺少工作表" in err
    assert master.read_bytes() == original


def test_merge_help_names_the_arguments():
    done = run("merge", "--help")
    assert done.returncode == 0 and "UNIT_FILE" in done.stdout and "-o" in done.stdout


def test_report_json_carries_the_stamp_and_says_whether_it_matches_the_inputs(env, tmp_path, capsys):
    """Traceable results: `report --json` carries what recompute stamped into 汇总 (time, tool and rubric
    versions, the inputs' SHA-256) and whether the workbook's inputs are still the ones stamped; a merge after
    the recompute changes the inputs, and the report says so until the next recompute."""
    master = fresh_master(env, tmp_path)
    code, out, _ = cli(capsys, "report", env["direct"], "--json")
    stamp = json.loads(out)["stamp"]
    assert stamp["recomputed_at"] is None and stamp["matches_inputs"] is False  # never recomputed
    assert cli(capsys, "merge", master, *[env["units"][u] for u in UNITS])[0] == 0
    assert cli(capsys, "recompute", master)[0] == 0
    report = json.loads(cli(capsys, "report", master, "--json")[1])
    stamp = report["stamp"]
    text = openpyxl.load_workbook(master)[L.SUMMARY][LAY.summary_stamp_cell].value
    assert stamp["text"] == text
    assert text.startswith(f"复核时间：{stamp['recomputed_at']}；")
    assert stamp["tool_version"] == __import__("hscredit_xl").__version__ == report["tool_version"]
    assert stamp["rubric_document"] == RUBRIC.document["number"] and stamp["rubric_version"] == str(RUBRIC.version)
    assert stamp["inputs_sha256"] == report["inputs_sha256"] and len(stamp["inputs_sha256"]) == 64
    assert stamp["inputs_sha256"] in text
    assert stamp["matches_inputs"] is True and stamp["matches_rubric"] is True
    # 阳新县 re-sends its file with one number changed: the stamp no longer matches the inputs
    changed = tmp_path / "阳新县-更正.xlsx"
    wb = openpyxl.load_workbook(env["units"]["阳新县"])
    wb[L.DATA].cell(LAY.unit_row(1), LAY.data_column("objections").col).value = 28
    wb.save(changed)
    assert cli(capsys, "merge", master, changed)[0] == 2  # a changed value is a conflict …
    assert cli(capsys, "merge", master, changed, "--replace")[0] == 0  # … replaced only when asked
    report = json.loads(cli(capsys, "report", master, "--json")[1])
    assert report["stamp"]["matches_inputs"] is False
    assert report["stamp"]["inputs_sha256"] != report["inputs_sha256"]
    assert report["stamp"]["recomputed_at"] == stamp["recomputed_at"]  # as written by the last recompute


# ------------------------------------------------------------------------------------------ layout 1 (issue 13)
OLD_MASTER = ROOT / "tests" / "data" / "layout1_sample.xlsx"  # the scored sample as the tool made it with one
# 考评表 per unit (workbook layout 1), kept to check that an old master is refused and can be merged


def test_an_old_master_is_refused_with_what_to_do(env, tmp_path, capsys):
    old = Path(shutil.copy(OLD_MASTER, tmp_path / "old.xlsx"))
    before = old.read_bytes()
    one_row = tmp_path / "unit.csv"
    header, rows = sample_csv_rows()
    with one_row.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerow(rows[0])
    for args in (("recompute", old), ("fill", old, sample_path()), ("merge", old, one_row), ("report", old)):
        code, _, err = cli(capsys, *args)
        assert code == 2, (args, err)
        assert "旧版格式" in err and "考评表-大冶市" in err and L.SELF_SCORES in err, (args, err)
        assert "hscredit-xl new" in err and "hscredit-xl merge" in err, (args, err)
        assert "Traceback" not in err
    assert old.read_bytes() == before


def test_an_old_master_merges_into_a_new_one_unit_by_unit(env, tmp_path, capsys):
    """`new`, then `merge NEW.xlsx OLD.xlsx`: every unit's data, 瞒报率明细, self scores (read from the old
    per-unit 考评表) arrive; the inputs are exactly those of the same data filled into a new template."""
    master = fresh_master(env, tmp_path)
    before = OLD_MASTER.read_bytes()
    code, out, err = cli(capsys, "merge", master, OLD_MASTER)
    assert code == 0, err
    assert OLD_MASTER.read_bytes() == before
    assert "旧版格式" in err
    for unit in UNITS:
        assert f"已合并：{unit}" in out
    merged, direct = read_inputs(OpenpyxlBook(master)), read_inputs(OpenpyxlBook(env["direct"]))
    assert any(v is not None for r in merged.rows for k, v in r.items() if k.startswith("self_"))
    assert [{k: v for k, v in r.items() if k.startswith("self_")} for r in merged.rows] == \
           [{k: v for k, v in r.items() if k.startswith("self_")} for r in direct.rows]
    assert merged.digest == direct.digest, "the very same inputs"


def test_an_old_full_template_of_one_unit_merges(env, tmp_path, capsys):
    """A unit that filled last version's full template (one 考评表 per unit): its self scores are read from its
    own 考评表."""
    wb = openpyxl.load_workbook(OLD_MASTER)
    keep = "阳新县"
    for i, unit in enumerate(UNITS):  # the other units' inputs cleared: a unit's own copy
        if unit == keep:
            continue
        for column in LAY.data_columns:
            wb[L.DATA].cell(LAY.unit_row(i), column.col).value = None
        for rule in RUBRIC.rules:
            wb[L.form_sheet_name(unit)][LAY.form_self_cell(rule.id)].value = None
        wb[L.RETURNS].cell(LAY.unit_row(i), LAY.returns_columns()["self_total_typed"][0]).value = None
    detail = wb[L.CONCEALMENT]
    for row in range(L.FIRST_ROW, detail.max_row + 1):
        if detail.cell(row, 1).value not in (None, keep):
            for col in (1, 2, 3):
                detail.cell(row, col).value = None
    own = tmp_path / "阳新县-old.xlsx"
    wb.save(own)
    master = fresh_master(env, tmp_path)
    code, out, err = cli(capsys, "merge", master, own)
    assert code == 0, err
    assert "已合并：阳新县" in out
    i = UNITS.index(keep)
    merged, direct = read_inputs(OpenpyxlBook(master)), read_inputs(OpenpyxlBook(env["direct"]))
    assert merged.rows[i] == direct.rows[i]
    assert merged.locate(i, "self_1.1") == f"{L.SELF_SCORES}!{L.cell(*LAY.self_cell(i, '1.1')[1:])}"
    assert all(r.get("self_1.1") is None for k, r in enumerate(merged.rows) if k != i)
