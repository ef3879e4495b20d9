"""hscredit_xl.export: the 报送版 (values only) and the printed 考评表 PDF, looked at rather than assumed.

The values-only copy needs no LibreOffice; the PDF and the check that the copy opens cleanly in another
spreadsheet program do (``soffice`` tests; the PDF export is conftest's session fixture ``exported_pdf``).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

import importlib
from hscredit_xl import office
from hscredit_xl.export import EXPORT_SUFFIX, PDF_SUFFIX, SCORES_NOTE, export, export_names, stamp_digest
from hscredit_xl.office import OfficeError, OfficeMissing
from hscredit_xl.rubric import load_rubric
from hscredit_xl.scoring import InputProblems
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook, restore_chart_styles
from hscredit_xl.workbook.demo import build_scored_sample, sample_path
from hscredit_xl.workbook.fill import fill_book
from hscredit_xl.workbook.layout import Layout, form_sheet_name
from hscredit_xl.workbook.recompute import read_inputs, recompute
from hscredit_xl.workbook.template import build_template, write_template

export_module = importlib.import_module("hscredit_xl.export")  # the package also has a function `export`
RUBRIC = load_rubric()
LAY = Layout.build(RUBRIC)
A4_LANDSCAPE = (841.89, 595.28)
# 计分's array-formula columns and its formula-signature cell: the export rewrites them
SCORE_CELLS = {(L.SCORES, row, col) for col in LAY.score_columns.values() for row in range(L.FIRST_ROW, LAY.last_row + 1)}
SCORE_CELLS.add((L.SCORES, *openpyxl.utils.cell.coordinate_to_tuple(LAY.score_signature_cell)))




def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def two(x) -> float:
    return float(round(x, 2)) if x is not None else None


@pytest.fixture(scope="module")
def scored(scored_sample):
    return scored_sample  # what `demo` writes, as 考评2020.xlsx (shared by the session: copy it to change it)


@pytest.fixture(scope="module")
def exported(scored, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    written = export(scored[0], out)
    assert written == [out / f"考评2020{EXPORT_SUFFIX}"]
    return written[0]


@pytest.fixture(scope="module")
def pdf_text(exported_pdf) -> list[str]:
    return office.pdf_text(exported_pdf[1])


# ------------------------------------------------------------------------------------------ the 报送版


def test_values_only_copy_has_no_formula_and_no_error_value(exported):
    wb = openpyxl.load_workbook(exported)
    offending = [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
                 if c.data_type in ("f", "e") or (isinstance(c.value, str) and c.value in office.ERROR_CODES)]
    assert offending == []
    # every unit's own 考评表 is made here, after the master's one (issue 13)
    assert wb.sheetnames == [L.GUIDE, L.SETTINGS, L.DATA, L.CONCEALMENT, L.SCORES, L.SELF_SCORES, L.FORM,
                             *[form_sheet_name(u) for u in LAY.units], L.REVIEW, L.RESULT, L.SUMMARY, L.RETURNS,
                             L.EVIDENCE, L.CHECK]


def test_summary_holds_the_engines_numbers(exported, scored):
    _, result = scored
    ws = openpyxl.load_workbook(exported)[L.SUMMARY]
    cols = LAY.summary_columns
    for i, u in enumerate(result.units):
        row = LAY.unit_row(i)
        assert ws.cell(row, 1).value == u.unit
        shown = {key: ws.cell(row, cols[key]).value for key in cols}
        assert shown["total"] == two(u.total), u.unit
        assert shown["rank"] == u.rank, u.unit
        assert shown["final"] == two(u.final), u.unit
        assert shown["final_rank"] == u.final_rank, u.unit
        for key in ("base", "applicable_max", "base_scaled", "capped", "bonus", "deduction"):
            assert shown[key] == two(getattr(u, key)), (u.unit, key)
        for number, subtotal in u.sections.items():
            assert shown[f"section_{number}"] == two(subtotal), (u.unit, number)
        for name, weighted in u.weighted.items():
            assert shown[f"weight:{name}"] == two(weighted), (u.unit, name)
        assert shown["difference"] == two(u.difference), u.unit
        for rule_id, score in u.rules.items():
            assert shown[rule_id] == two(score), (u.unit, rule_id)


def test_forms_scores_and_derived_columns_are_values(exported, scored):
    _, result = scored
    wb = openpyxl.load_workbook(exported)
    F = L.FORM_COLUMNS
    for i, u in enumerate(result.units):
        form = wb[form_sheet_name(u.unit)]
        assert form["A2"].value == f"填报单位：{u.unit}（盖章）"
        assert form[LAY.form_review_cell("total")].value == two(u.total)
        assert form[LAY.form_review_cell("base_scaled")].value == two(u.base_scaled)
        assert form.cell(LAY.form_total_rows["total"], F["self"]).value == two(u.self_total)
        assert form.cell(LAY.form_total_rows["total"], L.FORM_EXTRA_COLUMN).value == u.why_total
        for rule in RUBRIC.rules:
            typed = wb[L.SELF_SCORES].cell(LAY.unit_row(i), LAY.self_columns[rule.id]).value
            assert form.cell(LAY.form_rows[rule.id], F["self"]).value == typed, (u.unit, rule.id)
            assert form.cell(LAY.form_rows[rule.id], L.FORM_EXTRA_COLUMN).value == u.why[rule.id]
        assert form[LAY.form_stamp_cell].value == wb[L.SUMMARY][LAY.summary_stamp_cell].value
        assert wb[L.SELF_SCORES].cell(LAY.unit_row(i), LAY.self_columns["total"]).value == two(u.self_total)
    # the master's 考评表 shows the unit picked on it (the first), as its lookups compute it
    picker, first = wb[L.FORM], wb[form_sheet_name(LAY.units[0])]
    assert picker.cell(*L.FORM_PICKER_CELL).value == LAY.units[0] and picker.cell(*L.FORM_INDEX_CELL).value == 1
    for (row, col) in LAY.picker_formulas():
        if (row, col) != L.FORM_INDEX_CELL:
            assert picker.cell(row, col).value == first.cell(row, col).value, (row, col)
    scores = wb[L.SCORES]
    assert scores[LAY.score_signature_cell].value == SCORES_NOTE
    for i, u in enumerate(result.units):
        row = LAY.unit_row(i)
        assert scores.cell(row, LAY.score_columns["live_total"]).value == two(u.total)
        for rule_id, score in u.rules.items():
            assert scores.cell(row, LAY.score_columns[rule_id]).value == two(score), (u.unit, rule_id)
    data = wb[L.DATA]
    months = [LAY.data_column(f"volume_m{m:02d}").col for m in range(1, 13)]
    for i in range(len(LAY.units)):
        row = LAY.unit_row(i)
        typed = sum(data.cell(row, c).value for c in months)
        assert data.cell(row, LAY.derived_columns["volume_total"]).value == typed
        returned = data.cell(row, LAY.data_column("returned_issues").col).value
        rectified = data.cell(row, LAY.data_column("rectified_issues").col).value
        ratio = data.cell(row, LAY.derived_columns["rectification_ratio"]).value
        assert ratio == pytest.approx(1 if returned == 0 else rectified / returned)
        assert isinstance(data.cell(row, LAY.derived_columns["max_concealment"]).value, float)


def test_copy_keeps_layout_protection_print_setup_and_chart(exported, scored):
    src = openpyxl.load_workbook(scored[0])
    out = openpyxl.load_workbook(exported)
    assert out.properties.title == RUBRIC.document["attachment"]
    assert [ws.title for ws in out.worksheets if ws.title not in src.sheetnames] == [
        form_sheet_name(u) for u in LAY.units]
    for a in src.worksheets:
        b = out[a.title]
        assert a.protection.sheet == b.protection.sheet, a.title
        assert sorted(map(str, a.merged_cells.ranges)) == sorted(map(str, b.merged_cells.ranges)), a.title
        assert {k: d.width for k, d in a.column_dimensions.items()} == {k: d.width for k, d in b.column_dimensions.items()}
        assert {k: d.height for k, d in a.row_dimensions.items()} == {k: d.height for k, d in b.row_dimensions.items()}
        assert (a.page_setup.orientation, a.page_setup.paperSize, a.page_setup.fitToWidth) == \
               (b.page_setup.orientation, b.page_setup.paperSize, b.page_setup.fitToWidth), a.title
        assert (a.print_title_rows, a.print_area) == (b.print_title_rows, b.print_area), a.title
        assert len(a.data_validations.dataValidation) == len(b.data_validations.dataValidation), a.title
        assert len(a.conditional_formatting) == len(b.conditional_formatting), a.title
        for ra, rb in zip(a.iter_rows(), b.iter_rows()):
            for ca, cb in zip(ra, rb):
                where = f"{a.title}!{ca.coordinate}"
                assert [repr(x) for x in (ca.font, ca.fill, ca.border, ca.alignment, ca.protection)] == \
                       [repr(x) for x in (cb.font, cb.fill, cb.border, cb.alignment, cb.protection)], where
                assert ca.number_format == cb.number_format, where
                if (a.title, ca.row, ca.column) not in SCORE_CELLS and ca.data_type != "f":
                    # what a person typed, and the values recompute wrote, stay as they were
                    assert ca.value == cb.value, where
    charts = out[L.SUMMARY]._charts
    assert len(charts) == 1
    final = openpyxl.utils.get_column_letter(LAY.summary_columns["final"])
    assert [s.val.numRef.f for s in charts[0].series] == [f"'{L.SUMMARY}'!${final}${L.FIRST_ROW}:${final}${LAY.last_row}"]


def test_copy_has_no_macros_and_no_external_links(exported):
    with zipfile.ZipFile(exported) as zf:
        names = zf.namelist()
        types = zf.read("[Content_Types].xml").decode()
    assert not [n for n in names if "vba" in n.lower() or "externalLink" in n]
    assert "macroEnabled" not in types
    assert "sheet.main+xml" in types


def test_recompute_on_the_copy_puts_the_formulas_back(exported, scored, tmp_path):
    copy = shutil.copy(exported, tmp_path / "again.xlsx")
    book = OpenpyxlBook(Path(copy))
    outcome = recompute(book)
    assert outcome.ok
    # the exported 考评表-<unit> are that export's values: recompute says it does not update them
    [note] = [p for p in outcome.problems if p.label == "考评表"]
    assert note.level == "warning" and "重算不会更新" in note.expected and "export --pdf" in note.hint
    assert book.formula_at(L.SUMMARY, L.FIRST_ROW, LAY.summary_columns["total"]).startswith('=IF(')
    assert book.formula_at(L.SELF_SCORES, L.FIRST_ROW, LAY.self_columns["total"]).startswith('=IF(')
    assert book.formula_at(L.FORM, *L.FORM_INDEX_CELL).startswith("=IFERROR(MATCH(")
    assert "MAX(0," in book.formula_at(L.SUMMARY, L.FIRST_ROW, LAY.summary_columns["total"])
    assert "HS_" in book.formula_at(L.SCORES, L.FIRST_ROW, LAY.score_columns["1.1"])
    assert [u.total for u in outcome.result.units] == [u.total for u in scored[1].units]


def test_default_folder_is_the_workbooks(scored, tmp_path):
    src = Path(shutil.copy(scored[0], tmp_path / "scored.xlsx"))
    assert export(src) == [tmp_path / f"scored{EXPORT_SUFFIX}"]
    assert export_names(src) == (tmp_path / f"scored{EXPORT_SUFFIX}", tmp_path / f"scored{PDF_SUFFIX}")
    again = export(src)  # replaces the earlier copy, which is kept in the history (issue 11)
    assert files_in(tmp_path) == sorted([".hscredit-history", "scored.xlsx", f"scored{EXPORT_SUFFIX}"]) and again
    assert files_in(tmp_path / ".hscredit-history" / f"scored{EXPORT_SUFFIX}")


def test_stamp_digest():
    hexd = "ab" * 32
    assert stamp_digest(f"复核时间：2021-03-01 10:00:00；工具 hscredit-xl 0.1.0；细则 黄信用办〔2021〕2号（版本 2020.1）；"
                        f"输入数据 SHA-256：{hexd}") == hexd
    assert stamp_digest(None) is None
    assert stamp_digest("尚未重算") is None


# ------------------------------------------------------------------------------------------ refusals


def _messages(exc: InputProblems) -> str:
    return "\n".join(p.message() for p in exc.problems)


def test_refuses_a_workbook_that_was_never_recomputed(tmp_path):
    from hscredit_xl.datafile import read_rows

    path = write_template(tmp_path / "未重算.xlsx")
    book = OpenpyxlBook(path)
    rows, problems = read_rows(sample_path(), RUBRIC)
    fill_book(book, rows, problems)
    book.save()
    out = tmp_path / "out"
    with pytest.raises(InputProblems) as err:
        export(path, out)
    assert "尚未重算" in _messages(err.value)
    assert "hscredit-xl recompute" in _messages(err.value)
    assert files_in(out) == []


def test_refuses_a_blank_template(tmp_path):
    path = write_template(tmp_path / "空白.xlsx")
    with pytest.raises(InputProblems):
        export(path, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_refuses_a_workbook_whose_inputs_changed_after_recompute(scored, tmp_path):
    path = Path(shutil.copy(scored[0], tmp_path / "改过.xlsx"))
    wb = openpyxl.load_workbook(path)
    cell = wb[L.DATA].cell(L.FIRST_ROW, LAY.data_column("objections").col)
    cell.value = cell.value + 1
    wb.save(path)
    before = read_inputs(OpenpyxlBook(path)).digest
    with pytest.raises(InputProblems) as err:
        export(path, tmp_path / "out")
    text = _messages(err.value)
    assert "改动" in text and before[:12] in text
    assert files_in(tmp_path / "out") == []


def test_refuses_a_file_that_is_not_a_workbook(tmp_path):
    bad = tmp_path / "假的.xlsx"
    bad.write_text("不是工作簿", encoding="utf-8")
    with pytest.raises(InputProblems):
        export(bad, tmp_path / "out")


def test_missing_libreoffice_says_how_to_install_and_writes_nothing(scored, tmp_path, monkeypatch):
    def missing():
        raise OfficeMissing(office.INSTALL_SOFFICE)

    monkeypatch.setattr(export_module, "find_soffice", missing)
    with pytest.raises(OfficeMissing) as err:
        export(scored[0], tmp_path / "out", pdf=True)
    assert "apt-get install libreoffice-calc-nogui" in str(err.value)
    assert files_in(tmp_path / "out") == []


def test_a_failed_pdf_leaves_nothing_behind(scored, tmp_path, monkeypatch):
    def broken(src, dst, **kw):
        raise OfficeError("LibreOffice 未能转换（测试）")

    monkeypatch.setattr(export_module, "find_soffice", lambda: "soffice")
    monkeypatch.setattr(export_module, "to_pdf", broken)
    out = tmp_path / "out"
    with pytest.raises(OfficeError):
        export(scored[0], out, pdf=True)
    assert not out.exists()  # not even the folder


def test_chart_style_dropped_by_openpyxl_is_restored(tmp_path):
    path, _ = build_scored_sample(tmp_path / "demo.xlsx")  # written straight from the generator: style kept
    wb = openpyxl.load_workbook(path)
    assert wb[L.SUMMARY]._charts[0].style is None  # openpyxl does not read it back
    restore_chart_styles(path, wb)
    style = wb[L.SUMMARY]._charts[0].style
    with zipfile.ZipFile(path) as zf:
        assert f'<style val="{int(style)}"' in zf.read("xl/charts/chart1.xml").decode()


def test_workbook_recomputed_from_the_file_exports_too(scored, tmp_path):
    """`hscredit-xl recompute` (load, recompute, save) keeps the stamp, and the export accepts the result."""
    path = Path(shutil.copy(scored[0], tmp_path / "again.xlsx"))
    book = OpenpyxlBook(path)
    stamp = book.read(L.SUMMARY).get(*openpyxl.utils.cell.coordinate_to_tuple(LAY.summary_stamp_cell))
    assert recompute(book).ok
    book.save()
    assert stamp_digest(stamp) == read_inputs(OpenpyxlBook(path)).digest
    assert export(path, tmp_path / "out") == [tmp_path / "out" / f"again{EXPORT_SUFFIX}"]


def test_refuses_a_workbook_recomputed_by_another_version(scored, tmp_path):
    path = Path(shutil.copy(scored[0], tmp_path / "旧版.xlsx"))
    wb = openpyxl.load_workbook(path)
    ws = wb[L.SUMMARY]
    ws[LAY.summary_stamp_cell] = ws[LAY.summary_stamp_cell].value.replace("工具 hscredit-xl ", "工具 hscredit-xl 0.0.1-")
    wb.save(path)
    with pytest.raises(InputProblems) as err:
        export(path, tmp_path / "out")
    assert "另一版本" in _messages(err.value)
    assert files_in(tmp_path / "out") == []


# ------------------------------------------------------------------------------------------ LibreOffice


@pytest.mark.soffice
def test_values_only_copy_opens_in_libreoffice_without_errors(exported, scored, libreoffice):
    reopened = libreoffice.recalculated("export:values-only", lambda folder: Path(shutil.copy(exported, folder)))
    assert reopened.errors == {}
    summary = reopened.values[L.SUMMARY]
    cols = LAY.summary_columns
    for i, u in enumerate(scored[1].units):
        row = LAY.unit_row(i)
        get = lambda key: summary.get(f"{openpyxl.utils.get_column_letter(cols[key])}{row}")  # noqa: E731
        assert (get("total"), get("rank"), get("final")) == (two(u.total), u.rank, two(u.final)), u.unit


@pytest.mark.soffice
def test_pdf_export_writes_the_copy_and_the_pdf_only(exported_pdf):
    xlsx, pdf = exported_pdf  # export(scored_sample, folder, pdf=True)
    assert (xlsx.name, pdf.name) == (f"考评2020{EXPORT_SUFFIX}", f"考评2020{PDF_SUFFIX}")
    assert xlsx.parent == pdf.parent
    assert files_in(pdf.parent) == sorted([xlsx.name, pdf.name])  # no temporary file left behind


@pytest.mark.soffice
def test_pdf_has_every_form_and_the_summary_on_a4_landscape(exported_pdf, pdf_text, poppler):
    _, pdf = exported_pdf
    sizes = office.pdf_page_sizes(pdf)
    assert len(sizes) >= len(LAY.units) + 1
    for n, (w, h) in enumerate(sizes, 1):
        assert (w, h) == pytest.approx(A4_LANDSCAPE, abs=1.0), f"page {n}: {w} x {h} pt"
    assert len(pdf_text) == len(sizes)
    info = subprocess.run([poppler["pdfinfo"], str(pdf)], capture_output=True, check=True).stdout.decode()
    assert re.search(r"^Title:\s+" + re.escape(RUBRIC.document["attachment"]) + r"\s*$", info, re.M)


@pytest.mark.soffice
def test_the_first_page_is_the_result_a_leader_signs(pdf_text, scored):
    # issue 12: '2020年度县（市）区社会信用体系建设工作考核评价结果' on one page, the issuer and the date below
    _, result = scored
    first = pdf_text[0]
    assert "2020年度县（市）区社会信用体系建设工作考核评价结果" in first
    assert RUBRIC.document["issuer"] in first and re.search(r"\d{4}年\d{1,2}月\d{1,2}日", first)
    for u in result.units:
        assert u.unit in first and f"{u.final:.2f}" in first, u.unit
    assert "2020年度县（市）区社会信用体系建设工作考核评价结果" not in pdf_text[1]  # one page
    ranked = sorted(result.units, key=lambda u: u.final_rank)
    assert [first.index(u.unit) for u in ranked] == sorted(first.index(u.unit) for u in ranked)


@pytest.mark.soffice
def test_each_form_page_carries_its_unit_and_its_review_scores(pdf_text, scored):
    _, result = scored
    seen_pages: set[int] = set()
    for u in result.units:
        pages = [i for i, text in enumerate(pdf_text) if f"填报单位：{u.unit}（盖章）" in text]
        assert pages, f"no page for {u.unit}"
        assert pages == list(range(pages[0], pages[-1] + 1)), f"{u.unit}'s pages are not together"
        seen_pages.update(pages)
        text = "\n".join(pdf_text[i] for i in pages)
        for other in result.units:
            if other.unit != u.unit and other.unit not in u.unit:
                assert f"填报单位：{other.unit}（盖章）" not in text
        for key in ("total", "base_scaled", "base"):
            assert f"{getattr(u, key):.2f}" in text, (u.unit, key)
        for rule_id, score in u.rules.items():
            assert (f"{score:.2f}" if score is not None else "不参加考核") in text, (u.unit, rule_id)
        assert f"{u.bonus:.2f}" in text and f"{u.deduction:.2f}" in text
        assert RUBRIC.document["attachment"] in text
    summary = [i for i, text in enumerate(pdf_text) if i not in seen_pages and i > 0]  # page 1: 考核评价结果
    assert summary, "no 汇总 page"
    text = "\n".join(pdf_text[i] for i in summary)
    assert "汇总" in text
    # printed two pages wide: each page carries a whole title (column A repeats and holds only what fits it)
    assert "各单位复核得分、名次与最终得分" in text and "汇总（续）：总分、名次、自评差值与最终得分" in text
    for u in result.units:
        assert u.unit in text and f"{u.final:.2f}" in text, u.unit
    assert "#NAME?" not in "".join(pdf_text)


@pytest.mark.soffice
def test_pdf_pages_render_with_content(exported_pdf, tmp_path):
    pages = office.render_pages(exported_pdf[1], tmp_path, dpi=20)
    assert len(pages) == len(office.pdf_page_sizes(exported_pdf[1]))
    for page in pages:
        assert office.png_ink(page) > 0.002, page.name


# ------------------------------------------------------------------------------------------ one step (issue 15)
def _fake_office(monkeypatch):
    def fake_pdf(src, dst, **kw):
        Path(dst).write_bytes(b"%PDF-1.4 new")
        return Path(dst)

    monkeypatch.setattr(export_module, "find_soffice", lambda: "soffice")
    monkeypatch.setattr(export_module, "to_pdf", fake_pdf)


def _failing_replace(monkeypatch, suffix: str):
    """os.replace that fails when a new file is moved onto a target ending with suffix (a locked PDF, a full
    disk)."""
    import os

    real = os.replace

    def replace(a, b):
        if str(b).endswith(suffix) and str(a).endswith(".tmp"):
            raise PermissionError(13, "被占用（测试）", str(b))
        return real(a, b)

    monkeypatch.setattr(os, "replace", replace)


@pytest.mark.parametrize("had_old_pair", [True, False], ids=["old-pair", "no-old-pair"])
def test_a_failure_while_replacing_leaves_the_old_pair(scored, tmp_path, monkeypatch, had_old_pair):
    _fake_office(monkeypatch)
    out = tmp_path / "out"
    out.mkdir()
    xlsx, pdf = export_names(scored[0], out)
    if had_old_pair:
        xlsx.write_bytes(b"old copy")
        pdf.write_bytes(b"%PDF old")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}  # (the history is a folder)
    _failing_replace(monkeypatch, PDF_SUFFIX)  # the copy is in place already when the PDF fails
    with pytest.raises(PermissionError):
        export(scored[0], out, pdf=True)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before  # no new copy, temp, journal
    monkeypatch.undo()
    _fake_office(monkeypatch)
    assert export(scored[0], out, pdf=True) == [xlsx, pdf]
    assert pdf.read_bytes() == b"%PDF-1.4 new"
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted([xlsx.name, pdf.name])


def test_export_leaves_no_temp_folder(scored, tmp_path, monkeypatch):
    import tempfile

    _fake_office(monkeypatch)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    export(scored[0], tmp_path / "out", pdf=True)
    with pytest.raises(InputProblems):
        export(sample_path(), tmp_path / "out2", pdf=True)  # refused (not a workbook): nothing left either
    assert list((tmp_path / "tmp").iterdir()) == []


def test_stale_temp_folders_are_removed_and_live_ones_kept(tmp_path, monkeypatch):
    import os
    import sys
    import tempfile
    import time

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(done.stdout)
    live = tmp_path / f"hscredit-office-{os.getpid()}-live"
    old = tmp_path / f"hscredit-export-{os.getpid()}-old"
    dead = tmp_path / f"hscredit-export-{dead_pid}-dead"
    other = tmp_path / "somebody-else-1"
    for d in (live, old, dead, other):
        d.mkdir()
        (d / "copy.xlsx").write_bytes(b"data")
    hours_ago = time.time() - office.STALE_TEMP_SECONDS - 60
    os.utime(old, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    assert sorted(office.remove_stale_temp_dirs()) == sorted([old, dead])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


@pytest.mark.soffice
@pytest.mark.parametrize("units,pages", [(40, 1), (90, 3)])
def test_the_result_fits_one_page_up_to_40_units_and_repeats_its_header_beyond(tmp_path, soffice, poppler, units,
                                                                                pages):
    # issue 12: '考核评价结果 … fits one A4 page for any number of units up to 40, more pages beyond, header repeated'
    names = [f"测试单位{n:02d}" for n in range(1, units + 1)]
    wb = build_template(units=names)
    lay = Layout.build(RUBRIC, names, [False] * units)
    ws = wb[L.RESULT]
    cols = lay.result_columns()
    for i, name in enumerate(names):
        for key, (col, _) in cols.items():
            ws.cell(lay.unit_row(i), col).value = {"unit": name, "final_rank": i + 1,
                                                   "adjustment_reason": None}.get(key, 88.5)
    ws.cell(lay.result_sign_rows[1], 1).value = "2021年2月10日"
    for other in [s for s in wb.sheetnames if s != L.RESULT]:
        del wb[other]
    path = tmp_path / "result.xlsx"
    wb.save(path)
    pdf = office.to_pdf(path, tmp_path / "result.pdf")
    texts = office.pdf_text(pdf)
    assert len(texts) == pages
    for n, text in enumerate(texts):
        assert "名次" in text and "最终得分" in text, f"page {n + 1} has no header"
    assert "测试单位01" in texts[0] and f"测试单位{units:02d}" in texts[-1]
    assert RUBRIC.document["issuer"] in texts[-1] and "2021年2月10日" in texts[-1]
    for w, h in office.pdf_page_sizes(pdf):
        assert (w, h) == pytest.approx(A4_LANDSCAPE, abs=1.0)
