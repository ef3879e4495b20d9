"""考评表: the official table of the rubric for one unit (序号 … 自评得分, 复核得分)."""
from __future__ import annotations

import re
from decimal import Decimal

from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ...engine import Switches
from ...rubric import Indicator, Item
from .. import layout as L
from . import style as st
from .context import SheetContext

_NUMBERED = re.compile(r"(?:^|(?<=\s))\d+\.\s")


WRAP_TOP = Alignment(horizontal="left", vertical="top", wrap_text=True)


def scoring_segments(indicator: Indicator) -> list[str]:
    """The official 评分办法 of an indicator cut into one piece per rule, verbatim.

    For 1.2 the text numbers its six sub-rules "1. … 6."; each piece is the official text from one number
    to the next (so `" ".join(pieces) == indicator.scoring`). An indicator with one rule keeps its text
    whole. Should a text ever not split cleanly, each rule's own sentence is numbered instead.
    """
    rules = indicator.rules
    if len(rules) == 1:
        return [indicator.scoring]
    text = indicator.scoring
    starts = [m.start() for m in _NUMBERED.finditer(text)]
    if len(starts) == len(rules):
        pieces = [text[a:b].strip() for a, b in zip(starts, starts[1:] + [len(text)])]
        if all(rule.text in piece for rule, piece in zip(rules, pieces)):
            return pieces
    return [f"{i}. {rule.text}" for i, rule in enumerate(rules, 1)]


def item_label(item: Item) -> str:
    """考评项目 as the official table prints it: name with its points, the bonus heading, 扣减项目."""
    if item.heading:
        return item.heading
    if item.role == "deduction":
        return item.name
    return f"{item.name}（{st.fmt(item.points)}分）"


def _policy_id(rubric, name: str) -> str:
    switch = rubric.policy_switch(name)
    return switch.id if switch else ""


def points_label(indicator: Indicator) -> str:
    """分值 as the official table prints it: 「10分」, or the indicator's own text (「扣10分」)."""
    return indicator.points_text or f"{st.fmt(indicator.points)}分"


def build(ctx: SheetContext, unit: str) -> None:
    """A unit's own 考评表 (考评表-<unit>): in its 填报版, and each one `export` prints from the master.
    自评得分 is typed per rule (validated 0…the rule's points) and summed by formulas; from the master 复核得分 and
    计分依据 are written by export, in a 填报版 复核得分 is left to the city and a reference column beside the
    official table shows what the unit's own data gives for the rules one unit can compute."""
    ws = ctx.wb.create_sheet(L.form_sheet_name(unit))
    index = ctx.lay.units.index(unit)
    _table(ctx, ws, index)
    c = st.put(ws, 2, 1, f"填报单位：{unit}（盖章）", align=Alignment(horizontal="left", vertical="center"))
    c.font = Font(name=st.FONT_NAME, size=12)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=max(L.FORM_COLUMNS.values()))


def build_picker(ctx: SheetContext) -> None:
    """The master's one 考评表: the official table for the unit picked at the top (a list of 设置's units).
    Its self scores and self totals are looked up from 自评得分, its 复核得分 and 计分依据 from 复核明细 (recompute
    writes them there), by native formulas: the sheet is the same size for any number of units."""
    lay = ctx.lay
    ws = ctx.wb.create_sheet(L.FORM)
    _table(ctx, ws, None)
    F = L.FORM_COLUMNS
    label = st.put(ws, 2, 1, "填报单位：", align=Alignment(horizontal="right", vertical="center"))
    label.font = Font(name=st.FONT_NAME, size=12)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=F["item"])
    row, col = L.FORM_PICKER_CELL
    picker = st.input_cell(ws, row, col, lay.units[0], align=Alignment(horizontal="left", vertical="center"))
    picker.font = Font(name=st.FONT_NAME, size=12, bold=True)
    ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=F["content"])
    seal = st.put(ws, 2, F["scoring"], "（盖章）", align=Alignment(horizontal="left", vertical="center"))
    seal.font = Font(name=st.FONT_NAME, size=12)
    dv = st.validation("list", "选择单位", f"从下拉列表选择要显示的单位（「{L.SETTINGS}」表中的单位）；"
                       f"表中的自评得分取自「{L.SELF_SCORES}」表，复核得分和计分依据取自「{L.REVIEW}」表。",
                       f"请从下拉列表中选择「{L.SETTINGS}」表中的单位。",
                       formula1=f"'{L.SETTINGS}'!$A${L.FIRST_ROW}:$A${lay.last_row}")
    dv.allow_blank = False
    dv.add(L.cell(row, col))
    ws.add_data_validation(dv)
    small = Font(name=st.FONT_NAME, size=8, color=st.GREY_TEXT)
    index_row, index_col = L.FORM_INDEX_CELL
    st.put(ws, index_row - 1, index_col, "所选单位在自评得分、复核明细表中的序号（自动）", wrap=True).font = small
    ws.column_dimensions[col_letter(index_col)].width = 16
    for (r, c), text in lay.picker_formulas().items():
        if (r, c) == L.FORM_INDEX_CELL:
            st.formula(ws, r, c, text, "0")
        else:  # the table styled the cell (computed, its font and border): only the formula is added
            ws.cell(r, c).value = text
    # 计分依据 of the total is the longest text (to about 250 characters): its row is made tall enough for it, the
    # text from the top (the texts arrive by lookup: the row can not be fitted to them when the sheet is made)
    total_row = lay.form_total_rows["total"]
    ws.row_dimensions[total_row].height = 100
    why = ws.cell(total_row, L.FORM_EXTRA_COLUMN)
    why.alignment = st.WRAP_TOP
    ws.freeze_panes = f"A{L.FORM_HEADER_ROW + 1}"


def _table(ctx: SheetContext, ws, index: int | None) -> None:
    """The official table (rows 1, 3 and below; row 2 names the unit) of unit `index`, or of the master's
    picked unit (index None: every score cell is a formula the picker fills in)."""
    lay, rubric = ctx.lay, ctx.rubric
    F = L.FORM_COLUMNS
    last_col = max(F.values())
    ws.sheet_properties.tabColor = "5B9BD5"
    widths = {"number": 5, "item": 13, "indicator": 15, "points": 7, "content": 34, "scoring": 46,
              "method": 20, "self": 9, "review": 9}
    for key, width in widths.items():
        ws.column_dimensions[col_letter(F[key])].width = width

    c = st.put(ws, 1, 1, rubric.document["attachment"], align=st.WRAP_CENTER)
    c.font = Font(name=st.FONT_NAME, size=16, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    for key, text in (("number", "序号"), ("item", "考评项目"), ("indicator", "考评指标"), ("points", "分值"),
                      ("content", "考评内容"), ("scoring", "评分办法"), ("method", "考评方式"),
                      ("self", "自评得分"), ("review", "复核得分")):
        st.header(ws, L.FORM_HEADER_ROW, F[key], text)

    body = Font(name=st.FONT_NAME, size=10)
    texts = scoring_texts(rubric, ctx.choices)
    self_groups: dict[tuple[str, str], list[str]] = {}
    for item in rubric.items:
        item_rows = [lay.form_rows[r.id] for ind in item.indicators for r in ind.rules]
        st.merged(ws, item_rows, F["number"], item.number, body, st.WRAP_CENTER)
        st.merged(ws, item_rows, F["item"], item_label(item), body, st.WRAP_CENTER)
        for ind in item.indicators:
            rows = [lay.form_rows[r.id] for r in ind.rules]
            st.merged(ws, rows, F["indicator"], ind.name, body, st.WRAP_CENTER)
            st.merged(ws, rows, F["points"], points_label(ind), body, st.WRAP_CENTER)
            st.merged(ws, rows, F["content"], ind.content, body, st.WRAP_LEFT)
            st.merged(ws, rows, F["method"], _for_unit(ctx, index, ind.method), body, st.WRAP_LEFT)
            for rule in ind.rules:
                row = lay.form_rows[rule.id]
                c = st.put(ws, row, F["scoring"], texts[rule.id], align=st.WRAP_LEFT)
                c.font = body
                st.computed(ws, row, F["review"], "0.00")
                if index is None:  # the master's picked unit: looked up
                    st.computed(ws, row, F["self"], "0.00")
                    continue
                if lay.self_applies(index, rule, ctx.choices) == "FALSE":  # a 填报版 of a unit not scored on it
                    st.computed(ws, row, F["self"], "0.00")
                    st.set_text(ws.cell(row, F["review"]), L.NOT_ASSESSED)
                    continue
                st.input_cell(ws, row, F["self"], None, number_format="0.00")
                self_groups.setdefault((rule.role, st.fmt(rule.points)), []).append(
                    f"{col_letter(F['self'])}{row}")
    for (role, points), cells in self_groups.items():
        ws.add_data_validation(self_score_validation(role, points, cells))

    labels = {"base": f"{_base_items_text(ctx)}小计",
              "base_scaled": f"折算后基础分（见「{L.SETTINGS}」表口径 {_policy_id(rubric, 'group_absent')}）",
              "total": f"考评总分（加分后不超过{st.fmt(Decimal(rubric.totals['cap']))}分，再扣减）"}
    self_formulas = lay.form_self_formulas(index, ctx.choices) if index is not None else {}
    for key, row in lay.form_total_rows.items():
        st.put(ws, row, 1, labels[key], bold=True, align=Alignment(horizontal="right", vertical="center", indent=1))
        ws.row_dimensions[row].height = 21
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=F["method"])
        if key in self_formulas:
            st.formula(ws, row, F["self"], self_formulas[key], "0.00")
        else:
            st.computed(ws, row, F["self"], "0.00")
        st.computed(ws, row, F["review"], "0.00")
    if lay.handout:
        _reference_column(ctx, ws, index)
    else:
        _why_column(ctx, ws)

    # borders over the whole table, merged cells included, so the printout shows every line
    last_row = max(lay.form_total_rows.values())
    for row in ws.iter_rows(min_row=L.FORM_HEADER_ROW, max_row=last_row, min_col=1, max_col=last_col):
        for c in row:
            c.border = st.BORDER

    printed = last_col if lay.handout else L.FORM_EXTRA_COLUMN  # the master prints 计分依据 with the table
    note = st.put(ws, lay.form_note_row, 1, form_note(rubric, lay, ctx.choices), wrap=True, align=st.WRAP_TOP)
    note.font = Font(name=st.FONT_NAME, size=9, color=st.NOTE_TEXT)
    ws.merge_cells(start_row=lay.form_note_row, start_column=1, end_row=lay.form_note_row, end_column=printed)
    ws[lay.form_stamp_cell].font = Font(name=st.FONT_NAME, size=8, color=st.GREY_TEXT)
    ws.merge_cells(start_row=lay.form_stamp_row, start_column=1, end_row=lay.form_stamp_row, end_column=printed)

    ws.sheet_view.showGridLines = False
    ws.print_title_rows = f"1:{L.FORM_HEADER_ROW}"
    ws.print_area = f"A1:{col_letter(printed)}{lay.form_stamp_row}"
    st.landscape(ws)
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    st.protect(ws)


def _for_unit(ctx: SheetContext, index: int | None, text: str) -> str:
    """An official text as a 填报版 shows it: a parenthesis naming other units (the scope note of a rule only
    some units take, '（只考核大冶市、阳新县）') says instead whether this unit takes it — a 填报版 names no other
    unit. The master shows the text as written."""
    lay = ctx.lay
    if not lay.handout:
        return text
    others = [u.name for u in ctx.rubric.units if u.name != lay.units[index]]
    if not others:
        return text
    scope = "（本单位参加该项考核）" if lay.public_service[index] else "（本单位不参加该项考核）"
    return re.sub("（[^（）]*(?:" + "|".join(map(re.escape, others)) + ")[^（）]*）", scope, text)


def _base_items_text(ctx: SheetContext) -> str:
    numbers = [item.number for item in ctx.rubric.items if item.role == "base"]
    return f"第{numbers[0]}～{numbers[-1]}项" if len(numbers) > 1 else f"第{numbers[0]}项"


def _switch_refs(node) -> list[str]:
    """The switches a part's parameters or value read ({switch: A3} anywhere in them)."""
    if isinstance(node, dict):
        if set(node) == {"switch"}:
            return [node["switch"]]
        return [sid for v in node.values() for sid in _switch_refs(v)]
    if isinstance(node, list):
        return [sid for v in node for sid in _switch_refs(v)]
    return []


def scoring_texts(rubric, choices: dict[str, str]) -> dict[str, str]:
    """The 评分办法 a form prints per rule, for the options in force: the official text; where an option moves a
    sentence to another rule (A7) the sentences that actually score this one; then, in 〔〕, every option this
    rule's score depends on, named as chosen — a stamped form says what was applied."""
    switches = Switches(rubric, choices)
    out = {}
    for ind in rubric.indicators:
        for rule, segment in zip(ind.rules, scoring_segments(ind)):
            active = [p for p in rule.parts if switches.active(p)]
            moved = [p for p in active if p.when]
            if moved:
                pieces = [segment] if any(not p.when for p in active) else []
                for p in moved:
                    if p.kind == "manual":
                        lo, hi = (st.fmt(switches.resolve(p.params)[k]) for k in ("min", "max"))
                        pieces.append(f"{rule.text}：由复核人员据佐证资料评分（{lo}～{hi}分）")
                    else:
                        pieces.append(p.text)
                text = " ".join(x for x in pieces if x)
            else:
                text = segment
            sids = list(dict.fromkeys(sid for p in active for sid in [*p.when, *_switch_refs(p.params),
                                                                      *_switch_refs(p.value)]
                                      if rubric.switches[sid].on_form))
            if sids:
                tags = "；".join(f"{sid} {rubric.switches[sid].options[choices[sid]].short}" for sid in sids)
                text += f"〔口径 {tags}〕"
            out[rule.id] = text
    return out


def form_note(rubric, lay, choices: dict[str, str]) -> str:
    """The note under a 考评表: the options in force (默认 only where it is the default), how the self total is
    summed, who writes 复核得分, and the official 备注."""
    where = "市信用办选定" if lay.handout else f"见「{L.SETTINGS}」表"
    lines = [f"说明：〔口径 …〕为该条计分所依据的口径（{where}）。"]
    for sid, sw in rubric.switches.items():
        if not sw.on_form:
            continue
        chosen = sw.options[choices[sid]]
        state = "默认" if choices[sid] == sw.default else "非默认"
        lines.append(f"{len(lines)}. 口径 {sid} {sw.title}：{chosen.label}（{state}）。")
    cap = st.fmt(Decimal(rubric.totals["cap"]))
    typed = "" if lay.handout else f"自评得分由各单位填写（主工作簿的「{L.SELF_SCORES}」表）；"
    lines.append(f"{len(lines)}. {typed}自评小计和自评总分由公式按各条自评得分计算（加分后不超过{cap}分，再扣减）。")
    if lay.handout:
        lines.append(f"{len(lines)}. 复核得分由市信用办填写。右侧「按填报数据测算」一列按本单位填报的数据计算，仅供自评参考；"
                     "按各单位排名计分的规则须由市信用办排名后复核。")
    else:
        lines.append(f"{len(lines)}. 复核得分由一键重算写入，请勿手工填写。")
    if rubric.remarks:
        lines.append("备注：" + " ".join(rubric.remarks))
    return "\n".join(lines)


def _why_column(ctx: SheetContext, ws) -> None:
    """Beside the official table, printed with it: how each review score came about (recompute writes it)."""
    lay = ctx.lay
    col = L.FORM_EXTRA_COLUMN
    st.header(ws, L.FORM_HEADER_ROW, col, "计分依据")
    ws.column_dimensions[col_letter(col)].width = 40
    small = Font(name=st.FONT_NAME, size=8)
    for row in list(lay.form_rows.values()) + list(lay.form_total_rows.values()):
        c = st.computed(ws, row, col)
        c.font = small
        c.alignment = st.WRAP_LEFT


def _reference_column(ctx: SheetContext, ws, index: int) -> None:
    """Beside the official table (not printed): the scores the unit's own data gives, by native formulas."""
    lay = ctx.lay
    col = L.FORM_EXTRA_COLUMN
    st.header(ws, L.FORM_HEADER_ROW, col, "按填报数据测算（参考）")
    ws.column_dimensions[col_letter(col)].width = 14
    for rule_id, formula in lay.reference_formulas(index, ctx.choices).items():
        row = lay.form_rows[rule_id]
        if formula.startswith("="):
            st.formula(ws, row, col, formula, "0.00")
        else:
            st.computed(ws, row, col)
            st.set_text(ws.cell(row, col), formula)
            ws.cell(row, col).alignment = st.WRAP_CENTER


def self_score_validation(role: str, points: str, cells: list[str]) -> DataValidation:
    """The validation of 自评得分 cells (a 考评表's, or a column of 自评得分): 0…the rule's points."""
    if role == "deduction":
        dv = st.validation("decimal", "自评扣分", f"填写自评扣分（0～{points}分，填扣减的分数；无则填0）。",
                         f"自评扣分应为 0～{points} 之间的数。", operator="between", formula1="0", formula2=points)
    else:
        what = "自评加分" if role == "bonus" else "自评得分"
        dv = st.validation("decimal", what, f"填写本单位对该项的{what}（0～{points}分，可不填）。",
                         f"{what}应为 0～{points} 之间的数。", operator="between", formula1="0", formula2=points)
    for coord in cells:
        dv.add(coord)
    return dv


