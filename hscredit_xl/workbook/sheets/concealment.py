"""瞒报率明细: one row per spot-checked department (unit, department, rate)."""
from __future__ import annotations

from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .. import layout as L
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.CONCEALMENT)
    lay = ctx.lay
    C = L.CONCEALMENT_COLUMNS
    ws.sheet_properties.tabColor = "FFC000"
    rates = ctx.rubric.rates_field  # made only for a rubric that has one (template._detail_sheets)
    highest = next((d for d in ctx.rubric.derived if d.value.get("max") == rates.key), None)
    st.title(ws, f"{L.CONCEALMENT}：{rates.label}")
    what = "填写部门名称和瞒报率" if lay.handout else "选择单位、填写部门名称和瞒报率"
    scored = (f"{rates.rule} 取每个单位各部门瞒报率的最高值计分，最高值显示在「{L.DATA}」表的「{highest.label}」。"
              if highest else "")
    st.note_across(ws, 2, C["rate"], f"每个被抽查部门一行：{what}。{scored}")
    for key, text in (("unit", "单位"), ("department", "被抽查部门"), ("rate", "瞒报率（%，0～100%）")):
        st.header(ws, L.HEADER_ROW, C[key], text)
    first, last = L.FIRST_ROW, lay.concealment_last_row
    for row in range(first, last + 1):
        if lay.handout:  # a 填报版's rows are all its own unit's: the name is there, locked
            st.computed(ws, row, C["unit"])
            st.set_text(ws.cell(row, C["unit"]), lay.units[0])
        else:
            st.input_cell(ws, row, C["unit"], None)
        st.input_cell(ws, row, C["department"], None)
        st.input_cell(ws, row, C["rate"], None, number_format="0.00%")
    if not lay.handout:
        unit_names = lay.column_range(L.SETTINGS, L.SETTINGS_COLUMNS["unit"])
        dv = DataValidation(type="list", formula1=unit_names, allow_blank=True, showInputMessage=True,
                            showErrorMessage=True, errorStyle="stop", promptTitle="单位",
                            prompt=f"从下拉列表选择被抽查部门所属的单位（单位名单见「{L.SETTINGS}」表）。",
                            errorTitle="单位有误", error=f"只能选择「{L.SETTINGS}」表中列出的单位。")
        dv.add(st.col_range(C["unit"], first, last))
        ws.add_data_validation(dv)
    dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="100", allow_blank=True,
                        showInputMessage=True, showErrorMessage=True, errorStyle="stop",
                        promptTitle="被抽查部门", prompt="填写被抽查部门的名称（不超过100字）。",
                        errorTitle="部门名称过长", error="部门名称不能超过100字。")
    dv.add(st.col_range(C["department"], first, last))
    ws.add_data_validation(dv)
    dv = st.rate_validation("瞒报率")
    dv.add(st.col_range(C["rate"], first, last))
    ws.add_data_validation(dv)
    ws.column_dimensions[col_letter(C["unit"])].width = max(16, *(st.text_width(u) + 4 for u in lay.units))
    ws.column_dimensions[col_letter(C["department"])].width = 30
    ws.column_dimensions[col_letter(C["rate"])].width = 18
    ws.freeze_panes = f"A{L.FIRST_ROW}"
    ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"
    st.portrait(ws)
    st.protect(ws)

