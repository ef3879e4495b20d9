"""考核评价结果: the one page a leader reads and signs — every unit's review score, bonus, deduction, 综合评定
adjustment (with its reason), final score and place, the weighted contributions, the issuer and the date.

recompute writes the rows (in the order of the final ranking) and the date; before that the sheet is blank.
"""
from __future__ import annotations

import re

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter as col_letter

from .. import layout as L
from . import style as st
from .context import SheetContext

ONE_PAGE_UNITS = 40  # up to this many units the result fits one A4 page


def title(rubric) -> str:
    """The published result's title: the rubric's `result_title`, else worded from the notice's title."""
    given = rubric.document.get("result_title")
    if given:
        return str(given)
    subject = re.sub(r"^关于(?:开展)?|的通知", "", str(rubric.document["title"]))
    return f"{rubric.year}年度{subject}结果"


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.RESULT)
    lay, rubric = ctx.lay, ctx.rubric
    cols = lay.result_columns()
    last_col = max(c for c, _ in cols.values())
    ws.sheet_properties.tabColor = "70AD47"
    c = st.put(ws, 1, 1, title(rubric), align=st.WRAP_CENTER)
    c.font = Font(name=st.FONT_NAME, size=16, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    ws.row_dimensions[1].height = 30
    doc = rubric.document
    c = st.put(ws, 2, 1, f"依据《{doc['title']}》（{doc['number']}）附件《{doc['attachment']}》考评；"
                         "名次按最终得分排列，并列者名次相同。", align=st.WRAP_CENTER)
    c.font = Font(name=st.FONT_NAME, size=10, color=st.GREY_TEXT)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last_col)
    widths = {"final_rank": 6, "unit": 16, "adjustment_reason": 26}
    for key, (col, text) in cols.items():
        st.header(ws, L.HEADER_ROW, col, text)
        ws.column_dimensions[col_letter(col)].width = widths.get(key, 10.5)
    formats = {"final_rank": "0", "unit": "@", "adjustment_reason": "@"}
    for i in range(len(lay.units)):
        row = lay.unit_row(i)
        for key, (col, _) in cols.items():
            st.computed(ws, row, col, formats.get(key, "0.00"),
                        align=st.WRAP_LEFT if key == "adjustment_reason" else st.WRAP_CENTER)
    issuer_row, date_row = lay.result_sign_rows
    for row, text in ((issuer_row, doc["issuer"]), (date_row, None)):
        c = st.put(ws, row, 1, text, align=Alignment(horizontal="right", vertical="center"))
        c.font = Font(name=st.FONT_NAME, size=12)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
    ws.sheet_view.showGridLines = False
    ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"
    ws.print_area = f"A1:{col_letter(last_col)}{date_row}"
    st.landscape(ws, fit_width=False)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if len(lay.units) <= ONE_PAGE_UNITS else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    st.protect(ws)
