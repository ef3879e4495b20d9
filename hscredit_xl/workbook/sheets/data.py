"""数据录入: one row per unit, one column per data key, with the derived helper columns."""
from __future__ import annotations

from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .. import layout as L
from ..layout import DataColumn
from . import style as st
from .context import SheetContext


def data_header(column: DataColumn) -> str:
    """数据录入's Chinese column header: the label, its unit of measure and the allowed range."""
    if column.kind == "adjustment":
        return f"{column.label}（分，{-st.ADJUSTMENT_LIMIT}～{st.ADJUSTMENT_LIMIT}，可不填）"
    if column.kind == "reason":
        return f"{column.label}（文字，≤{st.REASON_MAX_LENGTH}字；填了调整分时必填）"
    f = column.field
    unit = f.unit
    if f.type == "count":
        spec = f"{unit}，≥0 整数" if unit else "≥0 整数"
    elif f.type == "number":
        spec = f"{unit}，数值" if unit else "数值"
    elif f.type == "rate":
        spec = "%，0～100%"
    elif f.type == "flag":
        spec = "是/否"
    elif f.type == "score":
        rng = f"{st.fmt(f.min if f.min is not None else 0)}～{st.fmt(f.max)}" if f.max is not None else "数值"
        spec = f"{unit}，{rng}" if unit else rng
    else:
        spec = "文字"
    text = f"{f.label}（{spec}）"
    if f.applies:
        text += _scope_note(f)
    return text


def _scope_note(f) -> str:
    """The header's note on a field only the units taking its rule fill in."""
    return f"［仅参加{f.rule}考核的单位填写］"


def build(ctx: SheetContext) -> None:
    if ctx.lay.handout:
        return _build_one_unit(ctx)
    ws = ctx.wb.create_sheet(L.DATA)
    lay = ctx.lay
    ws.sheet_properties.tabColor = "FFC000"
    st.title(ws, "数据录入")  # column A repeats on every printed page: what it holds must fit it
    st.title_at(ws, 1, 2, "各单位考核数据（每个单位一行）")
    st.put(ws, L.DATA_RULE_ROW, 1, "细则编号", bold=True, border=st.BORDER, align=st.WRAP_CENTER)
    st.header(ws, L.DATA_HEADER_ROW, 1, "单位")
    key_font = Font(name=st.FONT_NAME, size=8, color=st.GREY_TEXT)
    c = st.put(ws, L.DATA_KEY_ROW, 1, "unit", align=st.WRAP_CENTER)
    c.font = key_font
    for i, unit in enumerate(lay.units):
        st.put(ws, lay.unit_row(i), 1, unit, bold=True, border=st.BORDER)
        ws.row_dimensions[lay.unit_row(i)].height = st.UNIT_ROW_HEIGHT

    for column in lay.data_columns:
        rule_id = column.field.rule if column.field else "综合评定"
        st.put(ws, L.DATA_RULE_ROW, column.col, rule_id, border=st.BORDER, align=st.WRAP_CENTER)
        st.header(ws, L.DATA_HEADER_ROW, column.col, data_header(column))
        c = st.put(ws, L.DATA_KEY_ROW, column.col, column.key, align=st.WRAP_CENTER)
        c.font = key_font
        fmt = _data_format(column)
        for i in range(len(lay.units)):
            st.input_cell(ws, lay.unit_row(i), column.col, None, number_format=fmt)
        dv = _data_validation(column)
        dv.add(st.col_range(column.col, L.FIRST_ROW, lay.last_row))
        ws.add_data_validation(dv)
        width = 30 if column.kind == "reason" else 12
        ws.column_dimensions[col_letter(column.col)].width = width
        if column.kind == "reason":  # a long reason wraps in its cell instead of running off the page
            for i in range(len(lay.units)):
                ws.cell(lay.unit_row(i), column.col).alignment = st.WRAP_LEFT

    derived = {d.key: d for d in ctx.rubric.derived}
    for key, col in lay.derived_columns.items():
        st.put(ws, L.DATA_RULE_ROW, col, "自动", border=st.BORDER, align=st.WRAP_CENTER)
        st.header(ws, L.DATA_HEADER_ROW, col, derived[key].label)
        c = st.put(ws, L.DATA_KEY_ROW, col, key, align=st.WRAP_CENTER)
        c.font = key_font
        ws.column_dimensions[col_letter(col)].width = 12
    for i in range(len(lay.units)):
        row = lay.unit_row(i)
        for key, text in lay.derived_formulas(row, ctx.choices).items():
            st.formula(ws, row, lay.derived_columns[key], text, derived[key].format)

    st.unit_column(ws, lay.units, L.FIRST_ROW)
    st.landscape(ws, fit_width=False)
    # printed a few pages wide, each page's columns whole (about 14 a page), every page with the unit names
    # and the column headers
    last_col = max(lay.derived_columns.values())
    ws.page_setup.fitToWidth = max(1, -(-(last_col - 1) // 14))
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_cols = "A:A"
    ws.print_title_rows = f"{L.DATA_RULE_ROW}:{L.DATA_KEY_ROW}"
    st.protect(ws)


def _build_one_unit(ctx: SheetContext) -> None:
    """A 填报版's 数据录入: the same fields, headers and validations as the master's, one row per field."""
    ws = ctx.wb.create_sheet(L.DATA)
    lay = ctx.lay
    H = L.HANDOUT_DATA_COLUMNS
    ws.sheet_properties.tabColor = "FFC000"
    st.title(ws, f"数据录入：{lay.units[0]}的考核数据")
    label = st.put(ws, L.HANDOUT_UNIT_CELL[0], H["label"], "填报单位", bold=True, border=st.BORDER)
    label.alignment = st.WRAP_CENTER
    st.put(ws, *L.HANDOUT_UNIT_CELL, lay.units[0], bold=True, border=st.BORDER)
    for key, text in (("rule", "细则编号"), ("label", "数据项（单位，范围）"), ("value", "填写"), ("key", "数据键")):
        st.header(ws, L.HEADER_ROW, H[key], text)
    key_font = Font(name=st.FONT_NAME, size=8, color=st.GREY_TEXT)
    for column in lay.data_columns:
        row = lay.data_rows[column.key]
        st.put(ws, row, H["rule"], column.field.rule, border=st.BORDER, align=st.WRAP_CENTER)
        st.put(ws, row, H["key"], column.key, align=st.WRAP_CENTER).font = key_font
        if column.field.applies and not lay.public_service[0]:  # a rule this unit is not scored on
            st.put(ws, row, H["label"], f"{column.field.label}（本单位不参加{column.field.rule}考核，无需填写）",
                   border=st.BORDER, wrap=True)
            st.computed(ws, row, H["value"])
            continue
        label = data_header(column).replace(_scope_note(column.field), "")  # this unit takes the rule
        st.put(ws, row, H["label"], label, border=st.BORDER, wrap=True)
        st.input_cell(ws, row, H["value"], None, number_format=_data_format(column))
        dv = _data_validation(column, handout=True)
        dv.add(f"{col_letter(H['value'])}{row}")
        ws.add_data_validation(dv)
    derived = {d.key: d for d in ctx.rubric.derived}
    for key, text in lay.derived_formulas(L.FIRST_ROW, ctx.choices).items():
        row = lay.data_rows[key]
        st.put(ws, row, H["rule"], "自动", border=st.BORDER, align=st.WRAP_CENTER)
        st.put(ws, row, H["label"], derived[key].label, border=st.BORDER, wrap=True)
        st.formula(ws, row, H["value"], text, derived[key].format)
        st.put(ws, row, H["key"], key, align=st.WRAP_CENTER).font = key_font
    for key, width in (("rule", 9), ("label", 56), ("value", 18), ("key", 16)):
        ws.column_dimensions[col_letter(H[key])].width = width
    ws.freeze_panes = f"A{L.FIRST_ROW}"
    ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    st.protect(ws)


def _data_format(column: DataColumn) -> str | None:
    if column.kind == "rate":
        return "0.00%"
    if column.kind == "count":
        return "0"
    if column.kind == "reason":
        return "@"
    return None


def _data_validation(column: DataColumn, handout: bool = False) -> DataValidation:
    """The data validation of one 数据录入 column, by field type, with Chinese prompt and error texts."""
    kind, label = column.kind, column.label
    if kind == "adjustment":
        return st.validation("decimal", label,
                           f"综合评定调整分：按日常工作情况对复核总分的调整，可正可负（{-st.ADJUSTMENT_LIMIT}～{st.ADJUSTMENT_LIMIT}），"
                           "可不填；填写时必须在「调整理由」列写明理由。",
                           f"调整分应为 {-st.ADJUSTMENT_LIMIT}～{st.ADJUSTMENT_LIMIT} 之间的数。",
                           operator="between", formula1=str(-st.ADJUSTMENT_LIMIT), formula2=str(st.ADJUSTMENT_LIMIT))
    if kind == "reason":
        return st.validation("textLength", label,
                           f"填写综合评定调整的理由（不超过{st.REASON_MAX_LENGTH}字）；填了调整分时必须填写。",
                           f"调整理由不能超过{st.REASON_MAX_LENGTH}字。",
                           operator="lessThanOrEqual", formula1=str(st.REASON_MAX_LENGTH))
    f = column.field
    scope = (f"只填写参加{f.rule}考核的单位（见「设置」表），其他单位留空。"
             if f.applies and not handout else "")
    where = f"（细则 {f.rule}）" if f.rule else ""
    if kind == "count":
        unit = f"，单位：{f.unit}" if f.unit else ""
        return st.validation("whole", label, f"填写{label}{where}：不小于0的整数{unit}。{scope}",
                           f"{label}应为不小于0的整数。", operator="greaterThanOrEqual", formula1="0")
    if kind == "number":
        lo = st.fmt(f.min) if f.min is not None else str(-st.NUMBER_LIMIT)
        hi = st.fmt(f.max) if f.max is not None else str(st.NUMBER_LIMIT)
        unit = f"（单位：{f.unit}）" if f.unit else ""
        return st.validation("decimal", label, f"填写{label}{where}：数值{unit}，越高越好，按高低排名。{scope}",
                           f"{label}应为数值。", operator="between", formula1=lo, formula2=hi)
    if kind == "rate":
        v = st.rate_validation(label)
        v.prompt = (f"填写{label}{where}：0%～100%（可直接输入 85%，也可输入 0.85）。{scope}")[:255]
        return v
    if kind == "flag":
        return st.validation("list", label, f"{label}{where}：从下拉列表选择「是」或「否」。{scope}",
                           f"{label}只能填写「是」或「否」。", formula1='"是,否"')
    if kind == "score":
        lo = st.fmt(f.min if f.min is not None else 0)
        hi = st.fmt(f.max)
        return st.validation("decimal", label, f"填写{label}{where}：{lo}～{hi}分，由复核人员据佐证资料评定。{scope}",
                           f"{label}应为 {lo}～{hi} 之间的数。", operator="between", formula1=lo, formula2=hi)
    raise ValueError(f"数据列 {column.key} 的类型「{kind}」无法生成数据验证")


