"""报送情况 (the master): per unit, whether its 填报版 came back, when, on time or late, its self total and the
evidence it lists or lacks. merge writes the facts a return brings; merge and recompute write what follows."""
from __future__ import annotations

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter as col_letter

from .. import layout as L
from . import style as st
from .context import SheetContext

LATE_FILL = "FFC7CE"


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.RETURNS)
    lay, sub = ctx.lay, ctx.rubric.submission
    ws.sheet_properties.tabColor = "70AD47"
    st.title(ws, "报送情况：各单位填报版的收到时间、自评总分和佐证资料")
    if sub:
        st.note_across(ws, 2, len(lay.returns_columns()), f"截止日期 {sub.deadline.isoformat()}（“{sub.quote}”）。合并单位的填报版（hscredit-xl merge）时"
                          "自动填写；也可用 hscredit-xl status 查看。")
    cols = lay.returns_columns()
    for key, (col, text) in cols.items():
        st.header(ws, L.HEADER_ROW, col, text)
        width = {"unit": 14, "evidence_listed": 18, "evidence_missing": 22, "source": 30}.get(key, 11)
        ws.column_dimensions[col_letter(col)].width = width
    for i, unit in enumerate(lay.units):
        row = lay.unit_row(i)
        st.put(ws, row, 1, unit, bold=True, border=st.BORDER)
        for key, (col, _) in cols.items():
            if key == "unit":
                continue
            fmt = {"submitted_on": "yyyy-mm-dd", "received_on": "yyyy-mm-dd", "self_total": "0.00",
                   "self_total_typed": "0.00"}.get(key)
            st.computed(ws, row, col, fmt, align=st.WRAP_LEFT)
    if lay.units:
        on_time = col_letter(cols["on_time"][0])
        target = f"{on_time}{L.FIRST_ROW}:{on_time}{lay.last_row}"
        ws.conditional_formatting.add(target, FormulaRule(
            formula=[f'{on_time}{L.FIRST_ROW}="逾期"'], fill=PatternFill("solid", fgColor=LATE_FILL, bgColor=LATE_FILL)))
    ws.freeze_panes = f"B{L.FIRST_ROW}"
    ws.print_title_cols = "A:A"
    ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"
    st.landscape(ws)
    st.protect(ws)
