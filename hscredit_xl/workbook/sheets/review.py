"""复核明细 (the master): each unit's 复核得分 per rule and its totals, then how each came about (计分依据),
one row per unit. Recompute writes the whole table in one block; the master's 考评表 shows the picked unit's
row, and `export` prints every unit's 考评表 from it."""
from __future__ import annotations

from openpyxl.utils import get_column_letter as col_letter

from .. import layout as L
from . import style as st
from .context import SheetContext


def headers(lay: L.Layout) -> dict[str, str]:
    """复核明细's column headers by key (Layout.review_columns)."""
    cap = st.fmt(lay.rubric.totals["cap"])
    out = {}
    for key in lay.review_columns:
        kind, _, rule_id = key.partition(":")
        if kind == "score":
            out[key] = f"{rule_id} 复核得分"
        elif kind == "why":
            out[key] = f"{rule_id} 计分依据"
        else:
            out[key] = {"base": "基础分小计", "base_scaled": "折算后基础分",
                        "total": f"考评总分（加分后不超过{cap}分，再扣减）", "why_total": "考评总分的计分依据"}[key]
    return out


def build(ctx: SheetContext) -> None:
    ws = ctx.wb.create_sheet(L.REVIEW)
    lay = ctx.lay
    ws.sheet_properties.tabColor = "A5A5A5"
    st.title(ws, "复核明细")
    st.title_at(ws, 1, 2, "各单位逐条复核得分和计分依据（一键重算写入）")
    st.note(ws, 2, 2, f"由一键重算（或 hscredit-xl recompute）写入，请勿手工填写。「{L.FORM}」表按所选单位从本表取复核得分和"
                      "计分依据；hscredit-xl export --pdf 按本表打印每个单位的考评表。")
    st.header(ws, L.HEADER_ROW, 1, "单位")
    for i, unit in enumerate(lay.units):
        st.put(ws, lay.unit_row(i), 1, unit, bold=True, border=st.BORDER)
    for key, text in headers(lay).items():
        col = lay.review_columns[key]
        st.header(ws, L.HEADER_ROW, col, text)
        ws.column_dimensions[col_letter(col)].width = 40 if key.startswith("why") else 10
    st.unit_column(ws, lay.units, L.FIRST_ROW)
    st.landscape(ws, fit_width=False)
    ws.print_title_cols = "A:A"
    ws.print_title_rows = f"{L.HEADER_ROW}:{L.HEADER_ROW}"
    st.protect(ws)
