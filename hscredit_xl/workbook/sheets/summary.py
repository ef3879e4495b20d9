"""汇总: every unit's rule scores, totals, ranks, self-score differences, adjustments and a chart."""
from __future__ import annotations

from decimal import Decimal

from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.pagebreak import Break

from .. import layout as L
from . import style as st
from .context import SheetContext


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.SUMMARY)
    lay, rubric = ctx.lay, ctx.rubric
    ws.sheet_properties.tabColor = "70AD47"
    # printed two pages wide with column A repeated: what A holds must fit A (a longer text would be cut on
    # page 2), so the title runs on from B, and page 2 gets its own
    st.title(ws, "汇总")
    st.title_at(ws, 1, 2, "各单位复核得分、名次与最终得分")
    st.title_at(ws, 1, lay.summary_columns["base_scaled"], "汇总（续）：总分、名次、自评差值与最终得分")
    ws[lay.summary_stamp_cell].font = Font(name=st.FONT_NAME, size=9, color=st.GREY_TEXT)
    headers = _summary_headers(ctx)
    st.header(ws, L.HEADER_ROW, 1, "单位")
    for key, col in lay.summary_columns.items():
        st.header(ws, L.HEADER_ROW, col, headers[key])
        ws.column_dimensions[col_letter(col)].width = 40 if key == "adjustment_reason" else 9.5
    rule_cols = [lay.summary_columns[r.id] for r in rubric.base_rules]
    group = st.put(ws, L.HEADER_ROW - 1, min(rule_cols), "各条复核得分", bold=True, border=st.BORDER,
                 align=st.WRAP_CENTER)
    group.fill = PatternFill("solid", fgColor=st.HEADER_FILL)
    ws.merge_cells(start_row=L.HEADER_ROW - 1, start_column=min(rule_cols), end_row=L.HEADER_ROW - 1,
                   end_column=max(rule_cols))
    formats = {"rank": "0", "final_rank": "0", "adjustment_reason": "@"}
    reason_col = lay.summary_columns["adjustment_reason"]
    for i, unit in enumerate(lay.units):
        row = lay.unit_row(i)
        st.put(ws, row, 1, unit, bold=True, border=st.BORDER)
        ws.row_dimensions[row].height = st.UNIT_ROW_HEIGHT
        formulas = lay.summary_formulas(row, ctx.choices)
        for key, col in lay.summary_columns.items():
            fmt = formats.get(key, "0.00")
            if key in formulas:
                st.formula(ws, row, col, formulas[key], fmt)
            else:  # recompute writes the value
                st.computed(ws, row, col, fmt)
        ws.cell(row, reason_col).alignment = st.WRAP_LEFT
    first, last = L.FIRST_ROW, lay.last_row
    diff = col_letter(lay.summary_columns["difference"])
    target = f"{diff}{first}:{diff}{last}"
    ws.conditional_formatting.add(target, FormulaRule(
        formula=[f"AND(ISNUMBER({diff}{first}),{diff}{first}>0)"],
        fill=PatternFill("solid", fgColor=st.DIFF_ABOVE_FILL, bgColor=st.DIFF_ABOVE_FILL)))
    ws.conditional_formatting.add(target, FormulaRule(
        formula=[f"AND(ISNUMBER({diff}{first}),{diff}{first}<0)"],
        fill=PatternFill("solid", fgColor=st.DIFF_BELOW_FILL, bgColor=st.DIFF_BELOW_FILL)))
    ties = ctx.rubric.policy_switch("ties")
    legend = st.put(ws, last + 1, 2, "差值：浅红＝自评高于复核，浅蓝＝自评低于复核。名次按复核总分/最终得分排列"
                    + (f"，并列时的名次见「{L.SETTINGS}」表口径 {ties.id}。" if ties else "。"))
    legend.font = Font(name=st.FONT_NAME, size=9, color=st.GREY_TEXT)
    st.unit_column(ws, lay.units, L.FIRST_ROW)

    chart = BarChart()
    chart.type = "col"
    chart.title = "各单位最终得分"
    chart.style = 10
    final_col = lay.summary_columns["final"]
    chart.add_data(Reference(ws, min_col=final_col, min_row=L.HEADER_ROW, max_row=last), titles_from_data=True)
    categories = Reference(ws, min_col=1, min_row=first, max_row=last)
    for series in chart.series:  # unit names are text: a string reference, not openpyxl's default numRef
        series.cat = AxDataSource(strRef=StrRef(f=str(categories)))
    chart.y_axis.scaling.min = 0
    full = Decimal(ctx.rubric.totals["cap"])
    chart.y_axis.scaling.max = float(full)
    chart.y_axis.majorUnit = float(full / 5)
    chart.y_axis.title = "分"
    chart.x_axis.delete = False  # openpyxl ≥ 3.1 hides axes unless told otherwise
    chart.y_axis.delete = False
    chart.legend = None
    chart.y_axis.number_format = "0"
    chart.dataLabels = DataLabelList(showVal=True, showSerName=False, showCatName=False,
                                     showLegendKey=False, showPercent=False)
    chart.dataLabels.numFmt = "0.00"
    chart.width, chart.height = 18, 9
    ws.add_chart(chart, f"B{last + 3}")  # not in column A, which repeats on every printed page

    st.landscape(ws, fit_width=False)
    # one page wide would print 30-odd columns at ~40 %: two pages wide, the unit names repeated,
    # the break after 基础分 (rule scores on the first page, totals and ranks on the second)
    ws.page_setup.fitToWidth = 2
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_cols = "A:A"
    ws.col_breaks.append(Break(id=lay.summary_columns["base"]))
    st.protect(ws)


def _summary_headers(ctx: SheetContext) -> dict[str, str]:
    rubric = ctx.rubric
    headers = {r.id: r.id for r in rubric.base_rules}
    for item in rubric.items:
        if item.role == "base":
            headers[f"section_{item.number}"] = f"第{item.number}项小计"
    cap = st.fmt(Decimal(rubric.totals["cap"]))
    headers.update({
        "base": "基础分", "applicable_max": "适用满分", "base_scaled": "折算后基础分", "bonus": "加分",
        "capped": f"加分后（≤{cap}）", "deduction": "扣分", "total": "复核总分", "rank": "名次",
        "self_total": "自评总分", "difference": L.difference_header(ctx.rubric, ctx.choices),
        "adjustment": "调整分", "adjustment_reason": "调整理由", "final": "最终得分", "final_rank": "最终名次"})
    for w in rubric.weights:
        headers["weight:" + w.name] = f"{w.name}贡献分"
    return headers

