"""自评得分 (the master): each unit's self score per rule, one row per unit, with its self subtotals and total.

The units type (or merge brings) one row each; the subtotals and the total are native formulas in that row,
exactly as a 考评表 sums them (Layout.self_row_formulas). The master's 考评表 shows the picked unit's row.
"""
from __future__ import annotations

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as col_letter

from ...rubric import Rule
from .. import layout as L
from . import style as st
from .context import SheetContext
from .form import self_score_validation

KEY_PREFIX = "self_"  # row 4 names each column: self_<rule id> (the data key), auto_<total> for the formulas
AUTO_PREFIX = "auto_"


def column_keys(lay: L.Layout) -> dict[str, str]:
    """自评得分's key row: column key (rule id, base, base_scaled, total) -> the text that names it."""
    rule_ids = {r.id for r in lay.rubric.rules}
    return {key: (KEY_PREFIX if key in rule_ids else AUTO_PREFIX) + key for key in lay.self_columns}


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.SELF_SCORES)
    lay, rubric = ctx.lay, ctx.rubric
    ws.sheet_properties.tabColor = "FFC000"
    st.title(ws, "自评得分")
    st.title_at(ws, 1, 2, "各单位逐条自评得分（每个单位一行）")
    st.note(ws, 2, 2, f"每条填写 0～该条分值（可不填；合并单位的填报版时自动填入）。小计、折算后基础分和自评总分由公式计算，"
                      f"与考评表的算法相同。按官方表格查看某个单位：「{L.FORM}」表顶部选择单位。")
    st.header(ws, L.DATA_HEADER_ROW, 1, "单位")
    key_font = Font(name=st.FONT_NAME, size=8, color=st.GREY_TEXT)
    st.put(ws, L.HEADER_ROW, 1, "unit", align=st.WRAP_CENTER).font = key_font
    first, last = L.FIRST_ROW, lay.last_row
    for i, unit in enumerate(lay.units):
        st.put(ws, lay.unit_row(i), 1, unit, bold=True, border=st.BORDER)
        ws.row_dimensions[lay.unit_row(i)].height = st.UNIT_ROW_HEIGHT
    keys = column_keys(lay)
    totals = {"base": f"{_base_items(rubric)}小计（自动）", "base_scaled": "折算后基础分（自动）",
              "total": "自评总分（自动）"}
    for key, col in lay.self_columns.items():
        st.header(ws, L.DATA_HEADER_ROW, col, _header(rubric.rule(key)) if key not in totals else totals[key])
        st.put(ws, L.HEADER_ROW, col, keys[key], align=st.WRAP_CENTER).font = key_font
        ws.column_dimensions[col_letter(col)].width = 11
    for rule in rubric.rules:
        col = lay.self_columns[rule.id]
        for i in range(len(lay.units)):
            st.input_cell(ws, lay.unit_row(i), col, None, number_format="0.00")
        ws.add_data_validation(self_score_validation(rule.role, st.fmt(rule.points),
                                                     [st.col_range(col, first, last)]))
    for i in range(len(lay.units)):
        formulas = lay.self_row_formulas(i, ctx.choices)
        for key in totals:
            st.formula(ws, lay.unit_row(i), lay.self_columns[key], formulas[key], "0.00")
    ws.column_dimensions[col_letter(lay.self_columns["total"])].width = 16
    st.unit_column(ws, lay.units, L.FIRST_ROW)
    st.landscape(ws)
    ws.print_title_cols = "A:A"
    ws.print_title_rows = f"{L.DATA_HEADER_ROW}:{L.HEADER_ROW}"
    st.protect(ws)


def _header(rule: Rule) -> str:
    points = st.fmt(rule.points)
    if rule.role == "bonus":
        return f"{rule.id} 加分（0～{points}）"
    if rule.role == "deduction":
        return f"{rule.id} 扣分（0～{points}）"
    return f"{rule.id} {rule.name}（0～{points}）"


def _base_items(rubric) -> str:
    numbers = [item.number for item in rubric.items if item.role == "base"]
    return f"第{numbers[0]}～{numbers[-1]}项" if len(numbers) > 1 else f"第{numbers[0]}项"
