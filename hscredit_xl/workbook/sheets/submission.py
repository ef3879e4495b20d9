"""报送信息 (a unit's 填报版): who fills it, when, and the files sent with it — labels in A, values in B."""
from __future__ import annotations

from openpyxl.styles import Font

from .. import layout as L
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.SUBMISSION)
    lay = ctx.lay
    ws.sheet_properties.tabColor = "FFC000"
    st.title(ws, f"报送信息：{lay.units[0]}")
    sub = ctx.rubric.submission
    if sub:
        st.note_across(ws, 2, 2, f"请于 {sub.deadline.year}年{sub.deadline.month}月{sub.deadline.day}日前报送"
                          f"（{sub.send_to}）。填报日期填写实际报送的日期。")
    for key, (row, label) in lay.submission_rows().items():
        st.put(ws, row, 1, label, bold=True, border=st.BORDER)
        if key == "unit":
            st.computed(ws, row, 2)
            st.set_text(ws.cell(row, 2), lay.units[0])
            ws.cell(row, 2).font = Font(name=st.FONT_NAME, size=11, bold=True)
            continue
        c = st.input_cell(ws, row, 2, None, number_format="yyyy-mm-dd" if key == "date" else "@")
        if key == "date":
            dv = st.validation("date", "填报日期", "填写报送日期，如 2021-02-03。", "请填写有效的日期，如 2021-02-03。",
                               operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2099,12,31)")
        else:
            what = "文件名（多个用“；”分隔）" if key.startswith("doc:") else label
            dv = st.validation("textLength", label[:32], f"填写{what}，不超过100字。", "不能超过100字。",
                               operator="lessThanOrEqual", formula1="100")
        dv.add(c.coordinate)
        ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 50
    ws.sheet_view.showGridLines = False
    st.portrait(ws)
    st.protect(ws)
