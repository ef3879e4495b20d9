"""fastsave.save_workbook_fast writes what openpyxl's own save writes (every workbook is saved through it)."""
from __future__ import annotations

import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.formula import ArrayFormula

from hscredit_xl.workbook.fastsave import save_workbook_fast
from hscredit_xl.workbook.template import build_template


def state(data: bytes) -> dict:
    wb = openpyxl.load_workbook(io.BytesIO(data), rich_text=True)
    out = {"sheets": wb.sheetnames}
    for ws in wb.worksheets:
        cells = {}
        for (r, c), cell in ws._cells.items():
            v = cell.value
            if isinstance(v, ArrayFormula):
                v = ("array", v.ref, v.text)
            cells[(r, c)] = (repr(v), cell.data_type, cell.style, cell.number_format, cell.font.b,
                             cell.fill.fgColor.rgb, cell.alignment.wrap_text, cell.protection.locked,
                             cell.comment.text if cell.comment else None, cell.hyperlink.target if cell.hyperlink else None)
        out[ws.title] = (cells, {k: (d.height, d.hidden) for k, d in ws.row_dimensions.items()},
                         sorted(map(str, ws.merged_cells.ranges)))
    return out


def both(wb) -> tuple[bytes, bytes]:
    a, b = io.BytesIO(), io.BytesIO()
    wb.save(a)
    save_workbook_fast(wb, b)
    return a.getvalue(), b.getvalue()


@pytest.fixture
def every_kind():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "值"
    ws["A1"], ws["A2"], ws["A3"], ws["A4"] = 1, 2.5, 0.1, 1e-7
    ws["A5"], ws["A6"] = True, False
    ws["A7"] = 12345678901234567
    ws["B1"], ws["B2"], ws["B3"] = "文字", "  前后空格 ", "a < b & c > \"d\""
    ws["B4"] = "=不是公式"
    ws["B4"].data_type = "s"
    ws["B5"] = "   "
    ws["C1"] = "=SUM(A1:A3)"
    ws["C2"] = ArrayFormula("C2:C3", "=A1:A2*2")
    ws["C4"] = '=IF(A1>0,"是","否")'
    ws["D1"] = dt.datetime(2021, 2, 3, 4, 5, 6)
    ws["D2"] = dt.date(2021, 2, 4)
    ws["D3"] = dt.time(12, 30)
    ws["D4"] = dt.timedelta(hours=36)
    ws["E1"] = "#N/A"
    ws["E1"].data_type = "e"
    ws["F1"].font = Font(bold=True)  # styled, no value
    ws["F2"].fill = PatternFill("solid", fgColor="FFF2CC")
    ws["F3"].alignment = Alignment(wrap_text=True)
    ws["F3"] = "换\n行"
    ws.merge_cells("G1:H2")
    ws["G1"] = "合并"
    ws.row_dimensions[10].height = 30  # a row with no cell
    ws.row_dimensions[11].hidden = True
    ws["A11"] = 5
    return wb


def test_every_kind_of_cell_is_written_as_openpyxl_writes_it(every_kind):
    a, b = both(every_kind)
    assert state(a) == state(b)


def test_a_sheet_with_what_this_writer_leaves_to_openpyxl_is_written_by_openpyxl(every_kind):
    ws = every_kind.create_sheet("其他")
    ws["A1"] = CellRichText("普通", TextBlock(InlineFont(b=True), "粗体"))
    ws["A2"] = "批注"
    ws["A2"].comment = Comment("说明", "作者")
    ws["A3"] = "链接"
    ws["A3"].hyperlink = "https://example.org/"
    a, b = both(every_kind)
    assert state(a) == state(b)
    with zipfile.ZipFile(io.BytesIO(b)) as zf:
        assert any("comments" in n for n in zf.namelist())


def test_the_template_is_written_as_openpyxl_writes_it():
    a, b = both(build_template(units=["甲县", "乙区", "丙市"], public_service=[True, False, True]))
    assert state(a) == state(b)
