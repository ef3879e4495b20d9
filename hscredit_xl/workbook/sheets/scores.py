"""计分: the live HS_ formulas (one array formula per rule column; needs the add-in)."""
from __future__ import annotations

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.formula import ArrayFormula

from ...rubric import Rule
from .. import layout as L
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.SCORES)
    lay, rubric = ctx.lay, ctx.rubric
    ws.sheet_properties.tabColor = "A5A5A5"
    st.title(ws, "计分：逐条复核得分（实时公式）")
    st.note(ws, 2, 1, "本表公式调用 HS_ 工作表函数，需要安装「信用考评」加载项（Excel）才能计算；在 WPS、LibreOffice 或"
                      "未装加载项的 Excel 中显示 #NAME?，属正常现象。正式结果以一键重算（或 hscredit-xl recompute）"
                      "写入的考评表和汇总为准。")
    c = ws[lay.score_signature_cell]
    st.set_text(c, L.formula_signature(ctx.choices))
    c.font = Font(name=st.FONT_NAME, size=8, color=st.GREY_TEXT)

    st.header(ws, L.HEADER_ROW, 1, "单位")
    for rule in rubric.rules:
        st.header(ws, L.HEADER_ROW, lay.score_columns[rule.id], _score_header(rule))
    st.header(ws, L.HEADER_ROW, lay.score_columns["applicable_max"], "适用满分")
    st.header(ws, L.HEADER_ROW, lay.score_columns["live_total"], "复核总分（实时）")
    first, last = L.FIRST_ROW, lay.last_row
    for i, unit in enumerate(lay.units):
        st.put(ws, lay.unit_row(i), 1, unit, bold=True, border=st.BORDER)
        ws.row_dimensions[lay.unit_row(i)].height = st.UNIT_ROW_HEIGHT
    formulas = lay.score_formulas(ctx.choices)
    for rule in rubric.rules:
        col = lay.score_columns[rule.id]
        letter = col_letter(col)
        for row in range(first, last + 1):
            st.computed(ws, row, col, "0.00")
        ws.cell(first, col).value = ArrayFormula(f"{letter}{first}:{letter}{last}", formulas[rule.id])
        ws.column_dimensions[letter].width = 13
    for i in range(len(lay.units)):
        row = lay.unit_row(i)
        st.formula(ws, row, lay.score_columns["applicable_max"], lay.applicable_max_formula(row, ctx.choices), "0.##")
        st.computed(ws, row, lay.score_columns["live_total"], "0.00")
    ws.cell(first, lay.score_columns["live_total"]).value = ArrayFormula(lay.live_total_ref(),
                                                                        lay.live_total_formula(ctx.choices))
    ws.column_dimensions[col_letter(lay.score_columns["applicable_max"])].width = 10
    ws.column_dimensions[col_letter(lay.score_columns["live_total"])].width = 12
    st.unit_column(ws, lay.units, L.FIRST_ROW)
    st.landscape(ws)
    st.protect(ws)


def _score_header(rule: Rule) -> str:
    points = st.fmt(rule.points)
    if rule.role == "bonus":
        return f"{rule.id} 加分：{rule.name}（最高{points}分）"
    if rule.role == "deduction":
        return f"{rule.id} 扣分：{rule.name}（{points}分）"
    return f"{rule.id} {rule.name}（{points}分）"


