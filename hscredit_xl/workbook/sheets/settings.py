"""设置: the units, the switch choices (the rubric's switches) and the result weights."""
from __future__ import annotations

from decimal import Decimal

from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .. import layout as L
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.SETTINGS)
    lay, rubric = ctx.lay, ctx.rubric
    S, W = L.SWITCH_COLUMNS, L.WEIGHT_COLUMNS
    ws.sheet_properties.tabColor = "FFC000"
    st.title(ws, "设置：参加考评的单位、口径选择与结果运用权重")
    st.note(ws, 2, 1, "浅黄色单元格可修改。单位名单在生成模板时确定（已锁定）；如需增减单位，请用 hscredit-xl new 重新生成模板。")

    st.section(ws, lay.settings_units_header - 1, "一、参加考评的单位")
    st.header(ws, lay.settings_units_header, L.SETTINGS_COLUMNS["unit"], "单位")
    for i, unit in enumerate(lay.units):
        st.put(ws, lay.unit_row(i), L.SETTINGS_COLUMNS["unit"], unit, border=st.BORDER)
    group = rubric.group
    if group:  # whether each unit is in the group some rules apply to (是/否)
        flag_col = L.SETTINGS_COLUMNS["group"]
        st.header(ws, lay.settings_units_header, flag_col, group.label)
        for i, flag in enumerate(lay.public_service):
            st.input_cell(ws, lay.unit_row(i), flag_col, "是" if flag else "否")
        dv = st.list_validation(["是", "否"], group.label, group.help, "只能选择「是」或「否」。")
        dv.add(st.col_range(flag_col, L.FIRST_ROW, lay.last_row))
        ws.add_data_validation(dv)
        rule = rubric.rule(group.rule_ids[0])  # the official scope note, e.g. 「（只考核大冶市、阳新县）」
        indicator = next(ind for ind in rubric.indicators if ind.id == rule.indicator)
        st.note(ws, lay.settings_units_header, 3, f"{rule.id} {indicator.method}")

    st.section(ws, lay.settings_switch_header - 1, "二、口径选择（细则不明确或前后矛盾之处；默认即推荐读法）")
    for key, text in (("id", "编号"), ("title", "事项"), ("choice", "选择"), ("options", "各选项说明"),
                      ("quote", "依据原文"), ("reason", "理由"), ("note", "提示")):
        st.header(ws, lay.settings_switch_header, S[key], text)
    notes = _switch_notes(ctx)
    for sid, sw in rubric.switches.items():
        row = lay.switch_rows[sid]
        st.put(ws, row, S["id"], sid, border=st.BORDER, align=st.WRAP_CENTER)
        st.put(ws, row, S["title"], sw.title, border=st.BORDER, wrap=True)
        chosen = sw.options[ctx.choices[sid]]
        st.input_cell(ws, row, S["choice"], chosen.short, align=st.WRAP_LEFT)
        st.put(ws, row, S["options"], "\n".join(f"{o.short}：{o.label}" for o in sw.options.values()),
             border=st.BORDER, wrap=True)
        st.put(ws, row, S["quote"], sw.quote, border=st.BORDER, wrap=True)
        st.put(ws, row, S["reason"], sw.reason, border=st.BORDER, wrap=True)
        note = st.put(ws, row, S["note"], notes.get(sid, ""), border=st.BORDER, wrap=True)
        if sid in notes:
            note.font = Font(name=st.FONT_NAME, size=10, bold=True, color=st.NOTE_TEXT)
            note.fill = PatternFill("solid", fgColor=st.NOTE_FILL)
        dv = st.list_validation([o.short for o in sw.options.values()], f"{sid} {sw.title}"[:32],
                              f"从下拉列表选择「{sw.title}」的口径；各选项的含义见右侧「各选项说明」。",
                              "请从下拉列表中选择一个选项。")
        dv.add(f"{col_letter(S['choice'])}{row}")
        ws.add_data_validation(dv)

    full = st.fmt(Decimal(rubric.totals["full"]))
    st.section(ws, lay.settings_weight_header - 1, "三、结果运用权重")
    st.header(ws, lay.settings_weight_header, W["name"], "结果运用")
    st.header(ws, lay.settings_weight_header, W["weight"], "权重")
    for w in rubric.weights:
        row = lay.weight_rows[w.name]
        st.put(ws, row, W["name"], w.name, border=st.BORDER)
        st.input_cell(ws, row, W["weight"], st.number(w.weight))
    dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                        showInputMessage=True, showErrorMessage=True, errorStyle="stop",
                        promptTitle="结果运用权重", prompt="填写该项考核中本考评结果所占的权重（不小于0的数）；"
                        f"贡献分＝最终得分÷{full}×权重。",
                        errorTitle="权重有误", error="权重应为不小于0的数。")
    rows = [lay.weight_rows[w.name] for w in rubric.weights]
    dv.add(st.col_range(W["weight"], min(rows), max(rows)))
    ws.add_data_validation(dv)
    weights_switch = rubric.policy_switch("weights")
    st.note(ws, lay.settings_weight_header, 3, f"贡献分＝最终得分÷{full}×权重。"
          + (f"依据：{weights_switch.quote}。" if weights_switch else ""))

    for key, width in (("id", 8), ("title", 22), ("choice", 20), ("options", 46), ("quote", 36),
                       ("reason", 46), ("note", 36)):
        ws.column_dimensions[col_letter(S[key])].width = width
    ws.column_dimensions[col_letter(S["id"])].width = max(16, *(st.text_width(u) + 2 for u in lay.units))
    st.landscape(ws)
    st.protect(ws)


def _switch_notes(ctx: SheetContext) -> dict[str, str]:
    """The visible warnings beside the switches whose text the reader must see (the rubric's `note`)."""
    return {sid: sw.note for sid, sw in ctx.rubric.switches.items() if sw.note}
