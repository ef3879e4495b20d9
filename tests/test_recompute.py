"""The template workflow end to end, headless: new → fill → recompute → report, as the command line runs it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.recompute import recompute

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hscredit_xl", *args], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd or ROOT)


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Path:
    """A fresh template with the sample data filled in (not yet recomputed)."""
    folder = tmp_path_factory.mktemp("wb")
    template = folder / "template.xlsx"
    assert run("new", "-o", str(template)).returncode == 0
    out = folder / "filled.xlsx"
    done = run("fill", str(template), str(sample_path()), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def scored(filled, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scored") / "scored.xlsx"
    done = run("recompute", str(filled), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def snapshot(path: Path) -> dict:
    """Every cell of every sheet (values and formula texts)."""
    wb = openpyxl.load_workbook(path)
    cells = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula):
                    v = ("array", v.ref, v.text)
                if v is not None:
                    cells[(ws.title, c.coordinate)] = v
    return cells


def input_cells(path: Path) -> dict:
    """The cells a person types into: every unlocked cell of every sheet."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.protection is not None and c.protection.locked is False:
                    out[(ws.title, c.coordinate)] = c.value
    return out


def test_report_of_recomputed_workbook_equals_score_of_the_same_data(scored):
    from_workbook = json.loads(run("report", str(scored), "--json").stdout)
    from_data = json.loads(run("score", str(sample_path()), "--json").stdout)
    assert [u["unit"] for u in from_workbook["units"]] == [u["unit"] for u in from_data["units"]]
    for a, b in zip(from_workbook["units"], from_data["units"]):
        for key in ("rules", "base", "base_scaled", "bonus", "deduction", "total", "rank", "adjustment", "final",
                    "self_total", "difference", "weighted"):
            assert a[key] == b[key], (a["unit"], key)


def test_recompute_writes_review_scores_into_the_review_rows_and_the_summary(scored):
    report = json.loads(run("score", str(sample_path()), "--json").stdout)
    wb = openpyxl.load_workbook(scored)
    from hscredit_xl.rubric import load_rubric

    rubric = load_rubric()
    lay = L.Layout.build(rubric)
    review = wb[L.REVIEW]  # one row per unit: what each unit's 考评表 shows (issue 13)
    for i, unit in enumerate(report["units"]):
        row = lay.unit_row(i)
        got = {key: review.cell(row, col).value for key, col in lay.review_columns.items()}
        assert review.cell(row, 1).value == unit["unit"]
        for rule in rubric.base_rules:
            expected = unit["rules"][rule.id]
            assert got[f"score:{rule.id}"] == (expected if expected is not None else "不参加考核"), (unit["unit"], rule.id)
        assert got["score:5"] == unit["bonus"] and got["score:6"] == unit["deduction"]
        assert (got["base"], got["base_scaled"], got["total"]) == (unit["base"], unit["base_scaled"], unit["total"])
        # 计分依据 beside each score: the engine's own explanation (issue 12), printed with the form
        for rule in rubric.rules:
            assert got[f"why:{rule.id}"] == unit["why"][rule.id]
        assert got["why_total"] == unit["why_total"]
        summary = wb[L.SUMMARY]
        assert summary.cell(row, 1).value == unit["unit"]
        for rule in rubric.base_rules:
            assert summary.cell(row, lay.summary_columns[rule.id]).value == unit["rules"][rule.id]
    form = wb[L.FORM]  # the one 考评表 looks the picked unit up, prints 计分依据 with the table, and the stamp
    assert form.cell(L.FORM_HEADER_ROW, L.FORM_EXTRA_COLUMN).value == "计分依据"
    assert form.print_area[0].endswith(f"$J${lay.form_stamp_row}") if isinstance(form.print_area, list) \
        else form.print_area.endswith(f"$J${lay.form_stamp_row}")
    stamp = wb[L.SUMMARY][lay.summary_stamp_cell].value
    assert stamp.startswith("复核时间：") and "SHA-256：" in stamp and "黄信用办〔2021〕2号" in stamp
    assert form[lay.form_stamp_cell].value == stamp
    assert all(form.cell(r, c).value == f for (r, c), f in lay.picker_formulas().items())


def test_recompute_never_changes_an_input_cell(filled, scored):
    before, after = input_cells(filled), input_cells(scored)
    assert before, "the template has input cells"
    assert before == after


def test_recompute_twice_gives_the_same_workbook_contents(scored, tmp_path):
    again = tmp_path / "again.xlsx"
    assert run("recompute", str(scored), "-o", str(again)).returncode == 0
    assert snapshot(again) == snapshot(scored)  # the stamp stays as it was: the inputs did not change


def test_bad_input_is_listed_and_nothing_is_written(filled, tmp_path):
    wb = openpyxl.load_workbook(filled)
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric())
    ws = wb[L.DATA]
    ws.cell(lay.unit_row(0), lay.data_column("dec_pass_rate").col).value = 85  # meant 85 %
    ws.cell(lay.unit_row(2), lay.data_column("objections").col).value = "很多"
    broken = tmp_path / "broken.xlsx"
    wb.save(broken)
    original = broken.read_bytes()
    done = run("recompute", str(broken))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert any("大冶市" in x and "数据录入!" in x and "「85」" in x and "是否应为 85%" in x for x in lines)
    assert any("黄石港区" in x and "「很多」" in x for x in lines)
    assert broken.read_bytes() == original


def test_text_that_looks_like_a_formula_is_written_as_text(filled, tmp_path):
    wb = openpyxl.load_workbook(filled)
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric())
    ws = wb[L.DATA]
    row = lay.unit_row(1)
    ws.cell(row, lay.data_column("adjustment").col).value = -1
    reason = '=HYPERLINK("http://example.invalid","点我")'
    cell = ws.cell(row, lay.data_column("adjustment_reason").col)
    cell.value = reason
    cell.data_type = "s"
    path = tmp_path / "reason.xlsx"
    wb.save(path)
    assert run("recompute", str(path)).returncode == 0
    out = openpyxl.load_workbook(path)
    written = out[L.SUMMARY].cell(row, lay.summary_columns["adjustment_reason"])
    assert written.value == reason
    assert written.data_type == "s"  # text, not a formula


def test_a_failure_while_saving_leaves_the_original_byte_for_byte(scored, tmp_path, monkeypatch):
    target = tmp_path / "target.xlsx"
    target.write_bytes(scored.read_bytes())
    original = target.read_bytes()
    book = OpenpyxlBook(target)
    assert recompute(book).ok

    def exploding_save(wb, filename):
        if hasattr(filename, "write"):
            filename.write(b"half a file")
        else:
            Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    from hscredit_xl.workbook import fastsave

    monkeypatch.setattr(fastsave, "save_workbook_fast", exploding_save)  # how every workbook is saved
    with pytest.raises(OSError):
        book.save(target)
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target.xlsx"], "no temp file left behind"


def test_changing_a_switch_in_settings_rewrites_the_formulas_and_rescores(scored, tmp_path):
    from hscredit_xl.rubric import load_rubric

    rubric = load_rubric()
    lay = L.Layout.build(rubric)
    wb = openpyxl.load_workbook(scored)
    option = rubric.switches["A3"].options["literal_10"]
    wb[L.SETTINGS].cell(lay.switch_rows["A3"], 3).value = option.short
    path = tmp_path / "a3.xlsx"
    wb.save(path)
    done = run("report", str(path), "--json")
    report = json.loads(done.stdout)
    assert report["switches"]["A3"] == "literal_10"
    # 大冶市: highest concealment rate 1.2 % → (1 − 0.012) × 10 = 9.88 instead of × 20 = 19.76
    assert report["units"][0]["rules"]["1.2.5"] == 9.88
    assert run("recompute", str(path)).returncode == 0
    out = openpyxl.load_workbook(path)
    signature = out[L.SCORES][lay.score_signature_cell].value
    assert "A3=literal_10" in signature
    formula = out[L.SCORES].cell(L.FIRST_ROW, lay.score_columns["1.2.5"]).value
    assert isinstance(formula, ArrayFormula) and "HS_RATESCORE" in formula.text and ",10,TRUE" in formula.text
    # the printed forms say the option now in force, and no longer call it the default (issue 12)
    form = out[L.FORM]
    assert form.cell(lay.form_rows["1.2.5"], L.FORM_COLUMNS["scoring"]).value.endswith(f"〔口径 A3 {option.short}〕")
    note = form.cell(lay.form_note_row, 1).value
    assert f"口径 A3 {rubric.switches['A3'].title}：{option.label}（非默认）" in note
    assert "口径 A7" in note and "（默认）" in note and "备注：1. 考评方式为查看系统" in note


def test_demo_writes_the_scored_sample_and_prints_the_ranking(tmp_path):
    done = run("demo", "-o", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "名次" in done.stdout and "大冶市" in done.stdout
    assert (tmp_path / "demo" / "hscredit_2020_sample.xlsx").exists()


def test_a_file_that_is_not_a_workbook_is_refused_with_a_message(tmp_path):
    path = tmp_path / "not.xlsx"
    path.write_text("unit,volume_m01\n", encoding="utf-8")
    done = run("recompute", str(path))
    assert done.returncode == 2
    assert "不是 .xlsx 工作簿" in done.stderr and "Traceback" not in done.stderr


def test_recompute_keeps_the_chart_style(scored, tmp_path):
    import re
    import zipfile

    again = tmp_path / "again.xlsx"
    assert run("recompute", str(scored), "-o", str(again)).returncode == 0
    for path in (scored, again):  # openpyxl drops <c:style> when it reads a chart; the save puts it back
        with zipfile.ZipFile(path) as zf:
            chart = zf.read("xl/charts/chart1.xml").decode("utf-8")
        assert re.search(r'<(?:\w+:)?style val="10"', chart), path.name
