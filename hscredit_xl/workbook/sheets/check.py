"""校验结果: the problems recompute found (written by recompute; not protected, people sort it)."""
from __future__ import annotations

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as col_letter

from .. import layout as L
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.CHECK)
    ws.sheet_properties.tabColor = "C00000"
    st.title(ws, "校验结果")
    c = st.put(ws, 2, 1, "尚未重算")
    c.font = Font(name=st.FONT_NAME, size=11, color=st.GREY_TEXT)
    headers = {"level": "级别", "unit": "单位", "field": "位置", "label": "字段", "value": "值", "message": "问题说明"}
    widths = {"level": 8, "unit": 14, "field": 22, "label": 30, "value": 16, "message": 80}
    for key, col in L.CHECK_COLUMNS.items():
        st.header(ws, L.CHECK_HEADER_ROW, col, headers[key])
        ws.column_dimensions[col_letter(col)].width = widths[key]
    ws.freeze_panes = f"A{L.CHECK_HEADER_ROW + 1}"
    ws.print_title_rows = f"{L.CHECK_HEADER_ROW}:{L.CHECK_HEADER_ROW}"
    st.landscape(ws)  # one page wide, the header on every page
    # not protected: recompute rewrites it and people sort and filter it


