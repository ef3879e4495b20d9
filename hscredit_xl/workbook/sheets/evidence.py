"""佐证资料: the evidence behind each claimed score (规则, 佐证要求, 文件名, 说明).

A unit's 填报版 lists one row per item the rubric asks the units for (each rule's `evidence`, read off its
考评方式), the unit typing the file names, and free rows below for further evidence. The master holds every
unit's rows, the unit first: merge brings them in, people may add or correct rows.
"""
from __future__ import annotations

from openpyxl.utils import get_column_letter as col_letter

from .. import layout as L
from . import style as st
from .context import SheetContext

TEXT_LIMIT = 255


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.EVIDENCE)
    lay = ctx.lay
    E = lay.evidence_columns()
    ws.sheet_properties.tabColor = "FFC000"
    sub = ctx.rubric.submission
    st.title(ws, "佐证资料：各项得分的佐证文件" + (f"（{lay.units[0]}）" if lay.handout else ""))
    note = ("每项佐证资料一行：在「文件名」列填写随本表报送的文件名（多个文件用“；”分隔），需要时在「说明」列补充。"
            if lay.handout else "各单位报送的佐证资料（合并单位的填报版时自动写入），每项一行。")
    if sub and sub.guidance:
        note += "考评方式为查看系统、平台、网站、工作台账的，不用提供（细则备注1）。"
    st.note_across(ws, 2, max(E.values()), note)
    for key, col in E.items():
        st.header(ws, L.HEADER_ROW, col, L.EVIDENCE_HEADERS[key])
    first, last = L.FIRST_ROW, lay.evidence_last_row
    fixed = lay.evidence_items(ctx.choices) if lay.handout else []
    for n, row in enumerate(range(first, last + 1)):
        if n < len(fixed):  # the rubric's own items: rule and requirement locked
            rule, ev = fixed[n]
            st.computed(ws, row, E["rule"])
            st.set_text(ws.cell(row, E["rule"]), rule.id)
            ws.cell(row, E["rule"]).alignment = st.WRAP_CENTER
            st.computed(ws, row, E["requirement"])
            st.set_text(ws.cell(row, E["requirement"]), f"{ev.requirement}（{ev.method}）")
            ws.cell(row, E["requirement"]).alignment = st.WRAP_LEFT
        else:
            for key in ("unit", "rule", "requirement"):
                if key in E:
                    st.input_cell(ws, row, E[key], None)
        st.input_cell(ws, row, E["files"], None, align=st.WRAP_LEFT)
        st.input_cell(ws, row, E["note"], None, align=st.WRAP_LEFT)
    rule_ids = list(dict.fromkeys(rule.id for rule, _ in lay.evidence_items(ctx.choices)))
    free = first + len(fixed)
    if rule_ids and free <= last:
        dv = st.list_validation(rule_ids, "规则", "选择这份佐证资料对应的细则编号。", "请从下拉列表选择细则编号。")
        dv.add(st.col_range(E["rule"], free, last))
        ws.add_data_validation(dv)
    if "unit" in E:
        dv = st.validation("list", "单位", f"选择单位（单位名单见「{L.SETTINGS}」表）。", "只能选择设置表中列出的单位。",
                           formula1=lay.column_range(L.SETTINGS, L.SETTINGS_COLUMNS["unit"]))
        dv.add(st.col_range(E["unit"], first, last))
        ws.add_data_validation(dv)
    for key in ("requirement", "files", "note"):
        dv = st.validation("textLength", L.EVIDENCE_HEADERS[key][:3], f"不超过{TEXT_LIMIT}字。",
                           f"不能超过{TEXT_LIMIT}字。", operator="lessThanOrEqual", formula1=str(TEXT_LIMIT))
        dv.add(st.col_range(E[key], free if key == "requirement" else first, last))
        ws.add_data_validation(dv)
    widths = {"unit": 14, "rule": 7, "requirement": 50, "files": 40, "note": 30}
    for key, col in E.items():
        ws.column_dimensions[col_letter(col)].width = widths[key]
    ws.freeze_panes = f"A{first}"
    ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"
    st.landscape(ws)
    st.protect(ws)
