"""xlsxfile.XlsxBook (the command line's reader and writer) against OpenpyxlBook on the same files.

Both are a `Book`: the same values, formula markers, cached results, hidden rows and columns and merged
ranges must be read from every kind of file (openpyxl's own, LibreOffice's with shared strings and saved
results, files edited by hand: namespace prefixes, cells that do not name their position, dates, 1904
calendar, rich text); the same writes must give the same workbook as openpyxl saving it. Speed is measured
in benchmarks/, not here.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import build_scored_sample
from hscredit_xl.workbook.xlsxfile import XlsxBook

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "workbook" / "hscredit_2020_sample.xlsx"
OLD = ROOT / "tests" / "data" / "layout1_sample.xlsx"


def rewrite(path: Path, change) -> None:
    """Every member through change(name, data) -> data (None: dropped)."""
    with zipfile.ZipFile(path) as zf:
        members = [(i.filename, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in members:
            new = change(name, data)
            if new is not None:
                out.writestr(name, new)


def part_of(path: Path, sheet: str) -> str:
    from hscredit_xl.workbook.book import _sheet_parts

    with zipfile.ZipFile(path) as zf:
        return _sheet_parts(zf)[sheet]


def same_reads(path: Path) -> None:
    a, b = OpenpyxlBook(path), XlsxBook(path)
    assert a.sheet_names == b.sheet_names
    for sheet in a.sheet_names:
        ga, gb = a.read(sheet), b.read(sheet)
        assert dict(ga._cells) == dict(gb._cells), sheet
        assert ga.max_row == gb.max_row, sheet
        assert a.hidden_rows(sheet) == b.hidden_rows(sheet), sheet
        assert a.hidden_columns(sheet) == b.hidden_columns(sheet), sheet
        assert sorted(a.merged_ranges(sheet)) == sorted(b.merged_ranges(sheet)), sheet
        for (r, c), v in ga._cells.items():
            if type(v).__name__ == "Formula":
                assert a.cached_value(sheet, r, c) == b.cached_value(sheet, r, c), (sheet, r, c)


def cells(path: Path) -> dict:
    """Every cell with a value or a style, as openpyxl reads it back: value (array formulas by text and range),
    type, style, number format, lock."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for (r, c), cell in ws._cells.items():
            v = cell.value
            if isinstance(v, ArrayFormula):
                v = ("array", v.ref, v.text)
            if v is None and not cell.has_style:
                continue
            out[(ws.title, r, c)] = (v, cell.data_type if v is not None else None, cell.style, cell.number_format,
                                     cell.protection.locked)
    return out


# ------------------------------------------------------------------------------------------------ reading
@pytest.mark.parametrize("path", [SAMPLE, OLD, ROOT / "workbook" / "hscredit_2020.xlsx"], ids=["sample", "layout1", "blank"])
def test_reads_what_openpyxl_reads(path):
    same_reads(path)


@pytest.mark.soffice
def test_reads_a_file_libreoffice_saved(libreoffice):
    """Shared strings, saved formula results, LibreOffice's own styles: the sample as LibreOffice saves it."""
    run = libreoffice.recalculated("xlsxfile:sample", lambda folder: Path(shutil.copy(SAMPLE, folder)))
    same_reads(run.out)
    book = XlsxBook(run.out)
    cached = book.cached_value(L.SUMMARY, L.FIRST_ROW, book_layout().summary_columns["total"])
    assert isinstance(cached, (int, float))  # LibreOffice saved what the formula computed


def book_layout():
    from hscredit_xl.rubric import load_rubric

    return L.Layout.build(load_rubric())


@pytest.fixture
def odd(tmp_path) -> Path:
    """A workbook with what spreadsheet programs and people put in one: dates, a time span, booleans, an error
    value, a formula with its saved result, an array formula, a shared formula, hidden rows and columns,
    a merged range with a stray value, rich text, a phonetic run, text needing escapes."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "表"
    ws["A1"] = dt.datetime(2021, 2, 3)
    ws["A2"] = dt.date(2021, 2, 4)
    ws["A2"].number_format = "yyyy年m月d日"
    ws["A3"] = dt.timedelta(hours=36)
    ws["A3"].number_format = "[h]:mm"
    ws["B1"], ws["B2"] = True, False
    ws["C1"] = "a < b & c > d"
    ws["C2"] = "  前后有空格  "
    ws["C3"] = "=不是公式"
    ws["C3"].data_type = "s"
    ws["D1"] = 0.1
    ws["D2"] = 12345678901234
    ws["D3"] = -2.5e-7
    ws["E1"] = "=SUM(D1:D3)"
    ws["E2"] = ArrayFormula("E2:E3", "=D1:D2*2")
    ws["F5"] = "下面隐藏"
    ws.row_dimensions[6].hidden = True
    ws.column_dimensions["G"].hidden = True
    ws["G6"] = 7
    ws.merge_cells("H1:I2")
    ws["H1"] = "合并"
    second = wb.create_sheet("二")
    second["A1"] = 1
    path = tmp_path / "odd.xlsx"
    wb.save(path)
    part = part_of(path, "表")

    def change(name, data):
        if name != part:
            return data
        text = data.decode("utf-8")
        text = text.replace('<c r="E1">', '<c r="E1" t="n">', 1)
        text = re.sub(r'(<c r="E1"[^>]*><f>[^<]*</f>)<v\s*/>', r"\1<v>12345678901234.1</v>", text)
        # a stray value in a merged cell, an error value, shared formulas (D5 defines, D6:D7 use it)
        text = text.replace("</sheetData>", '<row r="9"><c r="I2"><v>99</v></c></row>'
                            '<row r="10"><c r="A10" t="e"><v>#N/A</v></c>'
                            '<c r="D10"><f t="shared" ref="D10:D12" si="0">A10+1</f><v>3</v></c></row>'
                            '<row r="11"><c r="D11"><f t="shared" si="0"/><v>4</v></c></row>'
                            '<row r="12"><c r="D12"><f t="shared" si="0"/><v>5</v></c></row></sheetData>')
        text = text.replace('<row r="9">', '<row r="2x">') if False else text
        return text.encode("utf-8")
    rewrite(path, change)
    return path


def test_reads_odd_cells_like_openpyxl(odd):
    same_reads(odd)
    book = XlsxBook(odd)
    grid = book.read("表")
    assert grid.get(1, 1) == dt.datetime(2021, 2, 3) and grid.get(2, 2) is False
    assert grid.get(2, 9) is None  # the stray value inside a merged range: not shown, not read
    assert grid.get(11, 4).text == "=A11+1"  # a shared formula, translated to its cell
    assert book.cached_value("表", 1, 5) == 12345678901234.1
    assert 6 in book.hidden_rows("表") and 7 in book.hidden_columns("表")


def test_reads_prefixed_tags_cells_without_positions_and_shared_rich_text(tmp_path):
    """XML as other writers make it: namespace prefixes (x:c), cells placed by their order (no r=), rich text
    and phonetic runs in shared strings, the 1904 calendar."""
    path = Path(shutil.copy(SAMPLE, tmp_path / "other.xlsx"))
    part = part_of(path, L.SETTINGS)
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    def change(name, data):
        text = data.decode("utf-8") if name.endswith((".xml", ".rels")) else None
        if name == part:
            text = text.replace(f'<worksheet xmlns="{ns}"', f'<x:worksheet xmlns:x="{ns}"', 1)
            text = re.sub(r"<(/?)(?!x:|\?)([A-Za-z])", r"<\1x:\2", text)
            text = text.replace("<x:x:", "<x:").replace("</x:x:", "</x:")
            text, n = re.subn(r'<x:c r="B5"( s="\d+")? t="inlineStr"><x:is><x:t>[^<]*</x:t></x:is>',
                              r'<x:c r="B5"\1 t="s"><x:v>0</x:v>', text)
            assert n == 1
            text = re.sub(r'<x:c r="A6"', "<x:c", text, count=1)  # placed by its order
            return text.encode("utf-8")
        if name == "[Content_Types].xml":
            return text.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                "vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml\"/></Types>").encode()
        if name == "xl/_rels/workbook.xml.rels":
            return text.replace("</Relationships>", '<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/'
                                'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                "</Relationships>").encode()
        if name == "xl/workbook.xml":
            return re.sub(r"<workbookPr\b", '<workbookPr date1904="1"', text, count=1).encode() \
                if "<workbookPr" in text else text.replace("<bookViews>", '<workbookPr date1904="1"/><bookViews>').encode()
        return data

    rewrite(path, change)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{ns}" count="1" '
                                            'uniqueCount="1"><si><r><t>是</t></r><rPh sb="0" eb="1"><t>しー</t></rPh>'
                                            "</si></sst>")
    same_reads(path)
    assert XlsxBook(path).read(L.SETTINGS).get(5, 2) == "是"


def test_a_damaged_sheet_is_refused_in_chinese(tmp_path):
    from hscredit_xl.scoring import InputProblems

    path = Path(shutil.copy(SAMPLE, tmp_path / "broken.xlsx"))
    part = part_of(path, L.DATA)
    rewrite(path, lambda name, data: data.replace(b"</sheetData>", b"<row>") if name == part else data)
    book = XlsxBook(path)
    with pytest.raises(InputProblems) as err:
        book.read(L.DATA)
    assert "无法解析" in err.value.problems[0].expected and L.DATA in err.value.problems[0].expected


# ------------------------------------------------------------------------------------------------ writing
WRITES = [  # (method, sheet, row, col, payload)
    ("write", L.SUMMARY, L.FIRST_ROW, 2, [[1.25, 2, None], [True, "文字", "=看似公式"]]),
    ("write", L.RETURNS, L.FIRST_ROW, 3, [[dt.date(2021, 2, 3), " 前后空格 ", "a<b&c"]]),
    ("write", L.CHECK, 40, 1, [["新行", 3.5]]),  # a row the sheet does not have yet
    ("write", L.CHECK, 2, 1, [["状态"]]),
    ("write_formulas", L.SUMMARY, L.FIRST_ROW + 1, 3, [["=1+1"], ['=IF(A1="","",1)']]),
    ("write_array_formula", L.SCORES, "B5:B7", "=HS_TOTAL(1,2,3)"),
    ("write", L.FORM, 2, 4, [["合并单元格内部：不写入"]]),
]


def apply(book, writes=WRITES) -> None:
    for method, sheet, *args in writes:
        if method == "write_array_formula":
            book.write_array_formula(sheet, args[0], args[1])
        else:
            getattr(book, method)(sheet, *args)


def test_the_same_writes_give_the_same_workbook(tmp_path):
    a_path, b_path = (Path(shutil.copy(SAMPLE, tmp_path / n)) for n in ("a.xlsx", "b.xlsx"))
    a, b = OpenpyxlBook(a_path), XlsxBook(b_path)
    apply(a)
    apply(b)
    for sheet in (L.SUMMARY, L.RETURNS, L.CHECK, L.SCORES):  # what was written reads back the same, before saving
        assert dict(a.read(sheet)._cells) == dict(b.read(sheet)._cells), sheet
        assert a.formula_at(sheet, L.FIRST_ROW + 1, 3) == b.formula_at(sheet, L.FIRST_ROW + 1, 3)
    a.save()
    b.save()
    assert cells(a_path) == cells(b_path)
    with zipfile.ZipFile(b_path) as zf:
        assert zf.testzip() is None
    same_reads(b_path)


def test_saving_without_writes_changes_no_value(tmp_path):
    path = Path(shutil.copy(SAMPLE, tmp_path / "same.xlsx"))
    before = cells(path)
    XlsxBook(path).save()
    assert cells(path) == before


@pytest.mark.soffice
def test_formula_results_are_dropped_but_those_read_and_a_recalculation_is_asked(libreoffice, tmp_path):
    """As openpyxl saves: no formula keeps a result the inputs may have changed (a typed formula whose result
    was read keeps it); Excel's calculation chain goes; the file asks to be recalculated on opening."""
    run = libreoffice.recalculated("xlsxfile:sample", lambda folder: Path(shutil.copy(SAMPLE, folder)))
    path = Path(shutil.copy(run.out, tmp_path / "saved-by-lo.xlsx"))
    lay = book_layout()
    total = (L.SUMMARY, L.FIRST_ROW, lay.summary_columns["total"])
    derived = (L.DATA, L.FIRST_ROW, lay.derived_columns["volume_total"])

    def add_chain(name, data):
        if name == "[Content_Types].xml":
            return data.replace(b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/'
                                              b'vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>')
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"</Relationships>", b'<Relationship Id="rIdC" Type="http://schemas.openxmlformats.org/'
                                                      b'officeDocument/2006/relationships/calcChain" '
                                                      b'Target="calcChain.xml"/></Relationships>')
        return data
    rewrite(path, add_chain)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("xl/calcChain.xml", '<calcChain xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                        '<c r="A1" i="1"/></calcChain>')
    book = XlsxBook(path)
    assert book.cached_value(*derived) is not None  # read: kept
    book.write(L.CHECK, 2, 1, [["x"]])
    book.save()
    values = openpyxl.load_workbook(path, data_only=True)
    assert values[total[0]].cell(*total[1:]).value is None
    assert values[derived[0]].cell(*derived[1:]).value is not None
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert "xl/calcChain.xml" not in names
        assert b"calcChain" not in zf.read("[Content_Types].xml") + zf.read("xl/_rels/workbook.xml.rels")
        assert re.search(rb'<calcPr\b[^>]*fullCalcOnLoad="1"', zf.read("xl/workbook.xml"))


def test_overwriting_the_cell_that_defines_a_shared_formula_keeps_the_others(odd, tmp_path):
    book = XlsxBook(odd)
    book.write("表", 10, 4, [[1]])
    book.save()
    ws = openpyxl.load_workbook(odd)["表"]
    assert ws["D10"].value == 1 and ws["D11"].value == "=A11+1" and ws["D12"].value == "=A12+1"


def test_recompute_through_either_book_gives_the_same_workbook(tmp_path):
    """The command line's recompute (XlsxBook) and the library's (OpenpyxlBook) write the same cells."""
    from hscredit_xl.workbook.recompute import recompute

    now = dt.datetime(2021, 2, 10, 9, 0)
    paths = []
    for name, make in (("openpyxl.xlsx", OpenpyxlBook), ("direct.xlsx", XlsxBook)):
        path, _ = build_scored_sample(tmp_path / name)
        wb = openpyxl.load_workbook(path)
        wb[L.DATA].cell(L.FIRST_ROW, 3).value = 99999  # something to recompute
        wb.save(path)
        book = make(path)
        assert recompute(book, now=now).ok
        book.save()
        paths.append(path)
    assert cells(paths[0]) == cells(paths[1])
