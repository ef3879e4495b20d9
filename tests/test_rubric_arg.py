"""`--rubric FILE`, and a workbook that records which rubric made it (issue 16, item 1).

The rubric used here is a "2020 variant outside the package": a copy of the shipped rubric in a temporary folder,
with its notice beside it, another rubric_version (so its 说明!H2 matches no shipped rubric) and another weight
for 平安建设考核 (so a score made by it is told apart from one made by the shipped file). It is driven through
the command line: new, fill, recompute, report, explain, status, handout, merge, export (without --pdf: no
LibreOffice here), the ribbon's entry points; then the recorded file is moved, changed, and given again.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw

import hscredit_xl
from hscredit_xl.rubric import (load_rubric, notice_path, parse_rubric, read_rubric, rubric_path, source_text)
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.handout import handout_name
from hscredit_xl.workbook.recompute import recompute
from hscredit_xl.workbook.rubricof import resolve, rubric_for
from helpers import cli, sample_rows

SHIPPED = load_rubric()
SHIPPED_TEXT = rubric_path().read_text(encoding="utf-8")
H2, H8, H9 = L.GUIDE_ID_CELLS["rubric"], L.RUBRIC_ID_CELLS["sha256"], L.RUBRIC_ID_CELLS["path"]


def write_variant(folder: Path, version: str = "2020.9", extra: str = "") -> Path:
    """The shipped 2020 rubric copied into `folder` (its notice beside it), with another version and weight."""
    text = SHIPPED_TEXT.replace('rubric_version: "2020.1"', f'rubric_version: "{version}"')
    text = text.replace("{name: 平安建设考核, weight: 100}", "{name: 平安建设考核, weight: 50}")
    assert text.count(version) >= 1 and "weight: 50" in text
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(notice_path(SHIPPED), folder / notice_path(SHIPPED).name)
    path = folder / "variant.yaml"
    path.write_bytes((text + extra).encode("utf-8"))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def guide_cells(path: Path, sheet: str = L.GUIDE) -> dict[str, object]:
    ws = openpyxl.load_workbook(path)[sheet]
    return {c: ws[c].value for c in (H2, H8, H9)}


def unit_csv(folder: Path, unit: str) -> Path:
    """The sample's row of one unit, as that unit's data file."""
    header, rows = sample_rows()
    header = [h for h in header if h not in ("adjustment", "adjustment_reason")]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(next(r for r in rows if r["unit"] == unit))
    path = folder / f"{unit}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def run(*args) -> tuple[int, str, str]:
    """The command in this process, outside a test function (module fixtures have no capsys)."""
    import contextlib

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = hscredit_xl.cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def variant_master(tmp_path_factory):
    """A master made with `new --rubric` of the variant, filled with the sample and recomputed: (folder, rubric
    file, master). Read-only: tests copy what they change."""
    folder = tmp_path_factory.mktemp("variant")
    rubric_file = write_variant(folder / "细则")
    master = folder / "考评.xlsx"
    for args in (("new", "-o", master, "--rubric", rubric_file), ("fill", master, sample_path()),
                 ("recompute", master)):
        code, _, err = run(*args)
        assert code == 0, (args, err)
    return folder, rubric_file, master


# ------------------------------------------------------------------------------------------ the rubric file
def test_a_rubric_read_from_a_file_knows_its_path_and_hash(tmp_path):
    path = write_variant(tmp_path / "elsewhere")
    rubric = read_rubric(path)
    assert rubric.path == str(path.absolute()) and rubric.sha256 == sha(path)
    assert rubric.version == "2020.9"
    # its notice is found beside it, outside the package
    assert notice_path(rubric) == path.parent / "rubric-2020-notice.txt"
    assert source_text(rubric) == source_text(SHIPPED)
    assert SHIPPED.sha256 == sha(rubric_path()) and SHIPPED.path == str(rubric_path())
    assert parse_rubric(SHIPPED_TEXT).sha256 is None


def test_a_relative_path_is_recorded_absolute(tmp_path, capsys, monkeypatch):
    write_variant(tmp_path / "r")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "new", "-o", "m.xlsx", "--rubric", "r/variant.yaml")
    assert code == 0, err
    assert guide_cells(tmp_path / "m.xlsx")[H9] == str(Path.cwd() / "r" / "variant.yaml")


def test_score_with_the_variant(tmp_path, capsys):
    path = write_variant(tmp_path)
    code, out, err = cli(capsys, "score", sample_path(), "--json", "--rubric", path)
    assert code == 0, err
    by_variant = json.loads(out)
    code, out, _ = cli(capsys, "score", sample_path(), "--json")
    shipped = json.loads(out)
    assert by_variant["rubric"]["version"] == "2020.9" and shipped["rubric"]["version"] == "2020.1"
    for v, s in zip(by_variant["units"], shipped["units"]):
        assert v["final"] == s["final"]
        halved, whole = Decimal(str(v["weighted"]["平安建设考核"])), Decimal(str(s["weighted"]["平安建设考核"]))
        assert whole != 0 and abs(halved * 2 - whole) <= Decimal("0.01")  # each rounded to 2 decimals


def test_a_rubric_that_is_not_there_or_not_a_rubric(tmp_path, capsys):
    code, out, err = cli(capsys, "score", sample_path(), "--rubric", tmp_path / "nope.yaml")
    assert code == 2 and out == ""
    assert "--rubric" in err and "nope.yaml" in err and "文件不存在" in err
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: 1\n", encoding="utf-8")
    code, _, err = cli(capsys, "new", "-o", tmp_path / "x.xlsx", "--rubric", broken)
    assert code == 2 and "不是有效的细则文件" in err and "缺少必需的键" in err
    assert not (tmp_path / "x.xlsx").exists()


# ------------------------------------------------------------------------------------------ what is recorded
def test_the_shipped_template_records_the_shipped_rubric_the_same_on_every_machine(tmp_path, capsys):
    code, _, err = cli(capsys, "new", "-o", tmp_path / "m.xlsx")
    assert code == 0, err
    cells = guide_cells(tmp_path / "m.xlsx")
    assert cells == {H2: "黄信用办〔2021〕2号|2020.1", H8: SHIPPED.sha256,
                     H9: "hscredit_xl/rubrics/huangshi-2020.yaml"}
    committed = Path(__file__).resolve().parent.parent / "workbook" / "hscredit_2020.xlsx"
    assert guide_cells(committed) == cells
    # found again among the shipped rubrics by its SHA-256 (H9 names no file on this machine)
    assert rubric_for(tmp_path / "m.xlsx") is SHIPPED and rubric_for(committed) is SHIPPED


def test_the_variant_master_records_its_file(variant_master):
    folder, rubric_file, master = variant_master
    assert guide_cells(master) == {H2: "黄信用办〔2021〕2号|2020.9", H8: sha(rubric_file), H9: str(rubric_file)}
    ws = openpyxl.load_workbook(master)[L.GUIDE]
    for coord in (H8, H9):  # small grey print outside the printed area, like the other identity cells
        assert ws[coord].font.sz == 8 and ws[coord].font.color.rgb.endswith("808080")
    assert ws.print_area == f"'{L.GUIDE}'!$A$1:$A${ws.max_row}" and ws.max_column == 8
    assert any(str(sha(rubric_file)) in str(c.value) for c in ws["A"])  # and said in words for people
    settings = openpyxl.load_workbook(master)[L.SETTINGS]
    assert 50 in [settings.cell(r, 2).value for r in range(1, settings.max_row + 1)
                  if settings.cell(r, 1).value == "平安建设考核"]


# ------------------------------------------------------------------------------------------ the whole round
def test_every_command_reads_the_variant_master_by_its_rubric(variant_master, tmp_path, capsys):
    folder, rubric_file, master = variant_master
    work = tmp_path / "m.xlsx"
    shutil.copy(master, work)
    code, out, err = cli(capsys, "report", work, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rubric"] == {"document": "黄信用办〔2021〕2号", "version": "2020.9"}
    assert report["stamp"]["matches_rubric"] and report["stamp"]["matches_inputs"]
    assert all(u["weighted"]["平安建设考核"] * 2 == pytest.approx(u["final"], abs=0.011) for u in report["units"])
    code, out, err = cli(capsys, "explain", work, "大冶市", "1.1")
    assert code == 0 and "大冶市" in out, err
    code, out, err = cli(capsys, "status", work, "--json")
    assert code == 0 and len(json.loads(out)["units"]) == 6, err

    # handout: every 填报版 records the master's rubric; a unit fills one, merge takes it back
    code, out, err = cli(capsys, "handout", work, "-o", tmp_path / "填报版")
    assert code == 0, err
    rubric = read_rubric(rubric_file)
    handout = tmp_path / "填报版" / handout_name(rubric, "阳新县")
    assert guide_cells(handout, L.HANDOUT_GUIDE) == guide_cells(master)
    code, _, err = cli(capsys, "fill", handout, unit_csv(tmp_path, "阳新县"))
    assert code == 0, err
    code, out, err = cli(capsys, "merge", work, handout, "--received", "2021-02-03")
    assert code == 0 and "已合并：阳新县" in out, err
    code, out, err = cli(capsys, "recompute", work)
    assert code == 0, err

    code, out, err = cli(capsys, "export", work, "-o", tmp_path / "报送")
    assert code == 0, err
    exported = tmp_path / "报送" / "m_报送版.xlsx"
    assert exported.exists() and guide_cells(exported) == guide_cells(master)
    code, out, err = cli(capsys, "report", exported, "--json")
    assert code == 0 and json.loads(out)["rubric"]["version"] == "2020.9", err


def test_the_ribbon_reads_by_the_recorded_rubric(variant_master, tmp_path, monkeypatch):
    from test_excel_path import FakeBook

    folder, rubric_file, master = variant_master
    fake = FakeBook(openpyxl.load_workbook(master))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: fake))
    hscredit_xl.main()
    assert ("activate", L.SUMMARY) in fake.calls
    hscredit_xl.validate()
    assert fake.wb[L.CHECK]["A2"].value.startswith("计分完成")

    # the recorded file moved: the ribbon lists the problem in 校验结果 and scores nothing
    moved = write_variant(tmp_path / "elsewhere")
    fake = FakeBook(openpyxl.load_workbook(master))
    fake.wb[L.GUIDE][H9].value = str(tmp_path / "gone" / "variant.yaml")
    assert sha(moved) == fake.wb[L.GUIDE][H8].value
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: fake))
    hscredit_xl.main()
    written = {name for kind, name in fake.calls if kind in ("write", "formula", "array")}
    assert written == {L.CHECK} and ("activate", L.CHECK) in fake.calls
    assert fake.wb[L.CHECK].cell(4, 3).value == f"{L.GUIDE}!{H8}"
    assert "不存在" in fake.wb[L.CHECK].cell(4, 6).value


def test_demo_with_the_variant(tmp_path, capsys):
    path = write_variant(tmp_path / "r")
    code, out, err = cli(capsys, "demo", "-o", tmp_path / "demo", "--rubric", path)
    assert code == 0, err
    scored = tmp_path / "demo" / "hscredit_2020_sample.xlsx"
    assert guide_cells(scored)[H8] == sha(path)


# ------------------------------------------------------------------------------------------ refusals
def moved_master(variant_master, tmp_path) -> tuple[Path, Path, Path]:
    """A copy of the variant master whose rubric (a fresh copy) was moved after the master was made:
    (master, where the rubric was, where it is now)."""
    _, _, master = variant_master
    here = write_variant(tmp_path / "here")
    work = tmp_path / "m.xlsx"
    shutil.copy(master, work)
    wb = openpyxl.load_workbook(work)
    wb[L.GUIDE][H9].value = str(here)
    wb.save(work)
    assert wb[L.GUIDE][H8].value == sha(here)
    moved = tmp_path / "moved"
    shutil.move(here.parent, moved)
    return work, here, moved / here.name


@pytest.mark.parametrize("command", [
    ("recompute",), ("report",), ("status",), ("explain", "大冶市"), ("handout", "-o", "OUT"), ("export", "-o", "OUT"),
    ("fill", sample_path()), ("merge", "UNIT")])
def test_a_moved_rubric_is_refused_by_every_command(variant_master, tmp_path, capsys, command):
    work, was, _ = moved_master(variant_master, tmp_path)
    before = work.read_bytes()
    unit = tmp_path / "unit.csv"
    unit.write_text("unit\n大冶市\n", encoding="utf-8")
    args = [str(tmp_path / "out") if a == "OUT" else str(unit) if a == "UNIT" else a for a in command]
    code, out, err = cli(capsys, args[0], work, *args[1:])
    assert code == 2, (out, err)
    line = next(x for x in err.splitlines() if f"{L.GUIDE}!{H8}" in x)
    for needed in ("黄信用办〔2021〕2号 版本 2020.9", f"{L.GUIDE}!{H2}", sha(work.parent / "moved" / was.name),
                   f"{L.GUIDE}!{H9}", str(was), "不存在", "--rubric 路径"):
        assert needed in line, (needed, line)
    assert work.read_bytes() == before and not (tmp_path / "out").exists()


def test_the_moved_rubric_given_with_rubric_works(variant_master, tmp_path, capsys):
    work, _, moved = moved_master(variant_master, tmp_path)
    code, out, err = cli(capsys, "recompute", work, "--rubric", moved)
    assert code == 0, err
    code, out, err = cli(capsys, "report", work, "--json", "--rubric", moved)
    assert code == 0 and json.loads(out)["rubric"]["version"] == "2020.9", err
    for command in (("status",), ("explain", "大冶市"), ("handout", "-o", tmp_path / "h"),
                    ("export", "-o", tmp_path / "e")):
        code, out, err = cli(capsys, command[0], work, *command[1:], "--rubric", moved)
        assert code == 0, (command, err)
    # the 填报版s record the master's rubric: the same SHA-256, at the place it was found
    handout = next((tmp_path / "h").iterdir())
    assert guide_cells(handout, L.HANDOUT_GUIDE)[H8] == sha(moved)
    assert guide_cells(handout, L.HANDOUT_GUIDE)[H9] == str(moved)


def test_a_changed_rubric_is_refused_even_when_given(tmp_path, capsys):
    rubric_file = write_variant(tmp_path / "r")
    work = tmp_path / "m.xlsx"
    code, _, err = cli(capsys, "new", "-o", work, "--rubric", rubric_file)
    assert code == 0, err
    recorded = sha(rubric_file)
    original = rubric_file.read_bytes()
    rubric_file.write_bytes(original + "# 改了一行注释\n".encode("utf-8"))
    code, _, err = cli(capsys, "recompute", work)
    assert code == 2
    assert recorded in err and str(rubric_file) in err and "被修改过" in err and sha(rubric_file) in err
    code, _, err = cli(capsys, "recompute", work, "--rubric", rubric_file)
    assert code == 2 and "--rubric 给出的细则文件" in err and "与记录的不同" in err and recorded in err
    # the shipped 2020 rubric is not the variant either
    code, _, err = cli(capsys, "report", work, "--rubric", rubric_path())
    assert code == 2 and "与记录的不同" in err
    rubric_file.write_bytes(original)
    code, _, err = cli(capsys, "fill", work, sample_path())
    assert code == 0, err


def test_merge_refuses_a_unit_file_of_another_rubric(variant_master, tmp_path, capsys):
    """Same number and version (H2 alike), other bytes: the 填报版 was not made from the master's rubric."""
    _, _, master = variant_master
    work = tmp_path / "m.xlsx"
    shutil.copy(master, work)
    other_rubric = write_variant(tmp_path / "other", extra="# 另一份\n")
    other_master = tmp_path / "other.xlsx"
    for args in (("new", "-o", other_master, "--rubric", other_rubric),
                 ("handout", other_master, "-o", tmp_path / "h")):
        code, _, err = cli(capsys, *args)
        assert code == 0, err
    handout = tmp_path / "h" / handout_name(read_rubric(other_rubric), "阳新县")
    code, _, err = cli(capsys, "fill", handout, unit_csv(tmp_path, "阳新县"))
    assert code == 0, err
    before = work.read_bytes()
    code, _, err = cli(capsys, "merge", work, handout)
    assert code == 2 and work.read_bytes() == before
    line = next(x for x in err.splitlines() if f"{L.HANDOUT_GUIDE}!{H8}" in x)
    assert handout.name in line and sha(other_rubric) in line and "主工作簿的细则" in line
    assert read_rubric(rubric_path()).sha256 not in line


def test_a_workbook_made_before_the_rubric_was_recorded(tmp_path, capsys):
    """No SHA-256 in H8: the shipped rubric of the same H2 reads it; another H2 needs --rubric."""
    legacy = tmp_path / "old.xlsx"
    code, _, err = cli(capsys, "new", "-o", legacy)
    assert code == 0, err
    wb = openpyxl.load_workbook(legacy)
    wb[L.GUIDE][H8].value = wb[L.GUIDE][H9].value = None
    wb.save(legacy)
    for args in (("fill", legacy, sample_path()), ("recompute", legacy), ("report", legacy)):
        code, _, err = cli(capsys, *args)
        assert code == 0, (args, err)
    assert rubric_for(legacy).sha256 == SHIPPED.sha256
    code, _, err = cli(capsys, "handout", legacy, "-o", tmp_path / "h")
    assert code == 0, err
    handout = tmp_path / "h" / handout_name(SHIPPED, "大冶市")
    assert guide_cells(handout, L.HANDOUT_GUIDE)[H8] == SHIPPED.sha256  # found by its H2: recorded from now on

    # a variant's workbook without its SHA-256: only --rubric can say which rubric it is
    rubric_file = write_variant(tmp_path / "r")
    old_variant = tmp_path / "old-variant.xlsx"
    code, _, err = cli(capsys, "new", "-o", old_variant, "--rubric", rubric_file)
    assert code == 0, err
    wb = openpyxl.load_workbook(old_variant)
    wb[L.GUIDE][H8].value = wb[L.GUIDE][H9].value = None
    wb.save(old_variant)
    code, _, err = cli(capsys, "recompute", old_variant)
    assert code == 2 and f"{L.GUIDE}!{H2}" in err and "细则版本不同" in err and "--rubric 路径" in err
    code, _, err = cli(capsys, "fill", old_variant, sample_path(), "--rubric", rubric_file)
    assert code == 0, err


def test_a_recorded_network_path_is_not_followed(variant_master, tmp_path):
    _, _, master = variant_master
    wb = openpyxl.load_workbook(master)
    for path, said in (("//server/share/variant.yaml", "网络路径"), ("\\\\server\\share\\variant.yaml", "网络路径"),
                       (str(tmp_path), "不是细则文件"), ("variant.yaml", "不是完整路径")):
        wb[L.GUIDE][H9].value = path
        rubric, problems = resolve(OpenpyxlBook(master, wb))
        assert len(problems) == 1 and said in problems[0].expected and path in problems[0].expected, path


def test_recompute_of_a_book_in_memory_uses_what_it_records(variant_master, tmp_path):
    """The library call (no --rubric) finds the rubric the same way the commands do."""
    _, rubric_file, master = variant_master
    book = OpenpyxlBook(master, openpyxl.load_workbook(master))
    outcome = recompute(book)
    assert outcome.ok and outcome.inputs.rubric.sha256 == sha(rubric_file)
    assert outcome.inputs.rubric.path == str(rubric_file)


def test_recompute_with_the_moved_rubric_records_where_it_is_now(variant_master, tmp_path, capsys):
    work, was, moved = moved_master(variant_master, tmp_path)
    assert guide_cells(work)[H9] == str(was)
    code, out, err = cli(capsys, "recompute", work, "--rubric", moved)
    assert code == 0, err
    assert guide_cells(work)[H9] == str(moved) and guide_cells(work)[H8] == sha(moved)
    code, out, err = cli(capsys, "report", work, "--json")  # no --rubric: found at the recorded place
    assert code == 0 and json.loads(out)["rubric"]["version"] == "2020.9", err
