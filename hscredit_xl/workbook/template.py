"""Generate the template workbook from the rubric data (`hscredit-xl new`).

Nothing in the template is typed by hand: every label comes from the rubric file, every position and every
formula from `layout.Layout`, so a new year's rubric yields its own template and the reader, the writer and
recompute find each cell where this module put it.

Cell conventions the rest of the package relies on:
- an input cell (anything a person types) has the named style INPUT_STYLE (light yellow), is unlocked and
  carries a data validation with Chinese prompt and error texts;
- a computed cell (a formula, or a value recompute writes) has COMPUTED_STYLE (light grey) and is locked;
- every sheet except 校验结果 is protected without a password, so a formula cannot be overwritten by
  accident (recompute must unprotect before writing through Excel, and protect again afterwards).
"""
from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from .. import __version__
from ..engine import Switches
from ..rubric import Indicator, Item, Rubric, Rule, load_rubric
from . import layout as L
from .atomic import save_workbook_atomic
from .layout import DataColumn, Layout

FONT_NAME = "等线"
INPUT_STYLE, COMPUTED_STYLE, HEADER_STYLE = "考评-录入", "考评-计算", "考评-表头"
INPUT_FILL, COMPUTED_FILL, HEADER_FILL, NOTE_FILL = "FFF2CC", "EDEDED", "DDEBF7", "FCE4D6"
GREY_TEXT, NOTE_TEXT = "808080", "9C0006"
DIFF_ABOVE_FILL, DIFF_BELOW_FILL = "FFC7CE", "BDD7EE"  # 汇总 差值: self-score above / below the review
NUMBER_LIMIT = 10**12  # same bound as inputs.MAX_NUMBER: larger is a typing accident
REASON_MAX_LENGTH = 200
ADJUSTMENT_LIMIT = 100
UNIT_ROW_HEIGHT = 20

DERIVED_HEADERS = {"volume_total": "全年入库总量（自动）", "rectification_ratio": "整改比率（自动）",
                   "max_concealment": "最高瞒报率（自动）"}
DERIVED_FORMATS = {"volume_total": "0", "rectification_ratio": "0.00%", "max_concealment": "0.00%"}

_THIN = Side(style="thin", color="000000")
_HAIR = Side(style="thin", color="BFBFBF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LIGHT_BORDER = Border(left=_HAIR, right=_HAIR, top=_HAIR, bottom=_HAIR)
_WRAP_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WRAP_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
_WRAP_TOP = Alignment(horizontal="left", vertical="top", wrap_text=True)
_NUMBERED = re.compile(r"(?:^|(?<=\s))\d+\.\s")


# ------------------------------------------------------------------------------------------------ public API
def build_template(rubric: Rubric | None = None, units: Sequence[str] | None = None,
                   public_service: Sequence[bool] | None = None,
                   choices: dict[str, str] | None = None) -> Workbook:
    """The template workbook for `rubric` (default: the shipped 2020 rubric) and its units.

    `units` defaults to the rubric's list; `public_service` says per unit whether it is assessed on the
    rule that only some units take (1.3), by default the rubric's flag for a unit it names, else 否.
    `choices` picks switch options (decisions A1–A12); missing switches take their default.
    """
    rubric = rubric or load_rubric()
    unit_names, flags = _units(rubric, units, public_service)
    full_choices = Switches(rubric, choices).choices
    lay = Layout.build(rubric, unit_names, flags)
    return _Builder(rubric, lay, full_choices).build()


def write_template(path: str | os.PathLike, rubric: Rubric | None = None, units: Sequence[str] | None = None,
                   public_service: Sequence[bool] | None = None,
                   choices: dict[str, str] | None = None) -> Path:
    """Build the template and save it to `path` atomically (an existing file is replaced only when done)."""
    target = Path(path)
    wb = build_template(rubric, units, public_service, choices)
    target.parent.mkdir(parents=True, exist_ok=True)
    return save_workbook_atomic(wb, target)


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
    return f"{item.name}（{_fmt(item.points)}分）"


def points_label(indicator: Indicator) -> str:
    """分值 as the official table prints it: 「10分」, or the indicator's own text (「扣10分」)."""
    return indicator.points_text or f"{_fmt(indicator.points)}分"


def data_header(column: DataColumn) -> str:
    """数据录入's Chinese column header: the label, its unit of measure and the allowed range."""
    if column.kind == "adjustment":
        return f"{column.label}（分，{-ADJUSTMENT_LIMIT}～{ADJUSTMENT_LIMIT}，可不填）"
    if column.kind == "reason":
        return f"{column.label}（文字，≤{REASON_MAX_LENGTH}字；填了调整分时必填）"
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
        rng = f"{_fmt(f.min if f.min is not None else 0)}～{_fmt(f.max)}" if f.max is not None else "数值"
        spec = f"{unit}，{rng}" if unit else rng
    else:
        spec = "文字"
    text = f"{f.label}（{spec}）"
    if f.applies == "public_service":
        text += "［仅参加1.3考核的单位填写］"
    return text


# ------------------------------------------------------------------------------------------------ the builder
class _Builder:
    def __init__(self, rubric: Rubric, lay: Layout, choices: dict[str, str]):
        self.rubric = rubric
        self.lay = lay
        self.choices = choices
        self.wb = Workbook()

    def build(self) -> Workbook:
        wb = self.wb
        wb.remove(wb.active)
        self._styles()
        doc = self.rubric.document
        wb.properties.title = doc["attachment"]
        wb.properties.subject = f"{doc['number']} {doc['title']}"
        wb.properties.creator = f"hscredit-xl {__version__}"
        wb.calculation.fullCalcOnLoad = True  # no cached values in a fresh template: compute on open

        self._guide()
        self._settings()
        self._data()
        self._concealment()
        self._scores()
        for unit in self.lay.units:
            self._form(unit)
        self._summary()
        self._check()
        for ws in wb.worksheets:
            _fit_row_heights(ws)
        wb.active = 0
        return wb

    # ------------------------------------------------------------------------------------------- styles
    def _styles(self) -> None:
        font = Font(name=FONT_NAME, size=11)
        self.wb.add_named_style(NamedStyle(
            name=INPUT_STYLE, font=font, fill=PatternFill("solid", fgColor=INPUT_FILL), border=_LIGHT_BORDER,
            alignment=Alignment(vertical="center"), protection=Protection(locked=False)))
        self.wb.add_named_style(NamedStyle(
            name=COMPUTED_STYLE, font=font, fill=PatternFill("solid", fgColor=COMPUTED_FILL), border=_LIGHT_BORDER,
            alignment=Alignment(vertical="center"), protection=Protection(locked=True)))
        self.wb.add_named_style(NamedStyle(
            name=HEADER_STYLE, font=Font(name=FONT_NAME, size=11, bold=True),
            fill=PatternFill("solid", fgColor=HEADER_FILL), border=_BORDER, alignment=_WRAP_CENTER,
            protection=Protection(locked=True)))

    # ------------------------------------------------------------------------------------------- 说明
    def _guide(self) -> None:
        ws = self.wb.create_sheet(L.GUIDE)
        doc, rubric, lay = self.rubric.document, self.rubric, self.lay
        base_items = "、".join(f"第{item.number}项" for item in rubric.items if item.role == "base")
        form_example = L.form_sheet_name(lay.units[0])
        lines: list[tuple[str, str]] = [  # (kind, text); kind: title, head, text, input, computed, small
            ("title", f"{doc['attachment']} · 考评工作簿使用说明"),
            ("text", f"本工作簿按{doc['issuer']}《{doc['title']}》（{doc['number']}）附件《{doc['attachment']}》"
                     f"逐条计分，由 hscredit-xl 根据评分细则数据自动生成，请勿手工增删行列。"),
            ("head", "一、使用步骤"),
            ("text", f"1. 在「{L.SETTINGS}」表核对参加考评的单位及是否参加1.3考核；查看各项口径选择（细则不明确之处，"
                     f"默认即推荐读法，每项列出依据原文和理由）；填写结果运用的权重。"),
            ("text", f"2. 在「{L.DATA}」表逐单位填写各项考核数据：每个单位一行，第2行是对应的评分细则编号，第3行写明计量单位和"
                     f"允许范围；填写不合要求的值会被拒绝并提示原因。带「（自动）」的列由公式计算，无需填写。"),
            ("text", f"3. 在「{L.CONCEALMENT}」表逐个填写被抽查部门的瞒报率（每个部门一行）；1.2.5 取每个单位的最高值计分。"),
            ("text", f"4. 在各「{L.FORM_PREFIX}单位」表（如「{form_example}」）的「自评得分」列填写该单位的自评得分"
                     f"（可不填；填写后汇总表列出自评与复核的差值）。"),
            ("text", "5. 点击功能区「信用考评」选项卡的「一键重算」，或在命令行运行  hscredit-xl recompute 文件.xlsx  ："
                     "先校验全部数据，再按细则计分，把复核得分写入各考评表、汇总表，并把发现的问题写入校验结果表。"),
            ("text", f"6. 先看「{L.CHECK}」表：有错误时不计分，请按提示改正后再重算；只有提示时照常计分。"),
            ("head", "二、各工作表"),
            ("text", f"{L.GUIDE}：本页。"),
            ("text", f"{L.SETTINGS}：参加考评的单位、是否参加1.3考核；口径选择（A1～A12）；结果运用权重。"),
            ("text", f"{L.DATA}：各单位的考核数据，每个单位一行，每项数据一列。"),
            ("text", f"{L.CONCEALMENT}：各单位被抽查部门的双公示数据瞒报率，每个部门一行。"),
            ("text", f"{L.SCORES}：逐条计分公式（调用 HS_ 工作表函数），随数据实时显示各单位每条细则的得分和复核总分；"
                     f"需安装「信用考评」加载项，未安装时显示 #NAME?，不影响一键重算。"),
            ("text", f"{L.FORM_PREFIX}单位：按官方考评细则格式排版的考评表，每个单位一张，A4 横向打印；"
                     f"「自评得分」由单位填写，「复核得分」由一键重算写入。"),
            ("text", f"{L.SUMMARY}：各单位的逐条复核得分、{base_items}小计、基础分、折算、加分、扣分、复核总分与名次、"
                     f"自评差值、综合评定调整、最终得分与名次、结果运用贡献分，以及最终得分柱形图。"),
            ("text", f"{L.CHECK}：一键重算时写入的数据问题清单（级别、单位、位置、字段、值、问题说明）。"),
            ("head", "三、单元格颜色与保护"),
            ("input", "浅黄色单元格：需要填写的单元格（未锁定，带数据验证和填写提示）。"),
            ("computed", "浅灰色单元格：公式或一键重算写入的结果（已锁定，请勿修改）。"),
            ("text", "各表已设工作表保护（无密码），防止误改公式；确需修改时可在「审阅 → 撤销工作表保护」解除。"),
            ("head", "四、计分依据"),
            ("text", f"文号：{doc['number']}"),
            ("text", f"标题：{doc['title']}"),
            ("text", f"附件：{doc['attachment']}"),
            ("text", f"发文单位：{doc['issuer']}"),
            ("text", f"发文日期：{_chinese_date(str(doc['issued']))}"),
            ("text", f"细则中不明确或前后矛盾之处按「{L.SETTINGS}」表的口径选择计分（默认：1.2.5 按分值20分计，"
                     f"第3项按内容重新归行，1.3 不参加考核的单位按适用满分折算到100分）。"),
            ("head", "五、版本"),
            ("text", f"工具版本：hscredit-xl {__version__}"),
            ("text", f"细则数据版本：{rubric.version}"),
            ("text", f"模板格式版本：{L.LAYOUT_VERSION}"),
        ]
        ws.column_dimensions["A"].width = 78  # fits A4 portrait unscaled
        for row, (kind, text) in enumerate(lines, 1):
            c = _put(ws, row, 1, text, wrap=kind != "title")
            if kind == "title":
                c.font = Font(name=FONT_NAME, size=16, bold=True)
            elif kind == "head":
                c.font = Font(name=FONT_NAME, size=12, bold=True)
            elif kind in ("input", "computed"):  # a legend cell: coloured like the cells it explains, still locked
                c.fill = PatternFill("solid", fgColor=INPUT_FILL if kind == "input" else COMPUTED_FILL)
                c.border = _LIGHT_BORDER
        ws.column_dimensions["H"].width = 34
        for key, coord in L.GUIDE_ID_CELLS.items():
            c = ws[coord]
            _set_text(c, lay.identity()[key])
            c.font = Font(name=FONT_NAME, size=8, color=GREY_TEXT)
        ws.sheet_view.showGridLines = False
        ws.print_area = f"A1:A{len(lines)}"  # the identity cells are for machines, not for the printout
        ws.page_margins.left = ws.page_margins.right = 0.5
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        _protect(ws)

    # ------------------------------------------------------------------------------------------- 设置
    def _settings(self) -> None:
        ws = self.wb.create_sheet(L.SETTINGS)
        lay, rubric = self.lay, self.rubric
        S, W = L.SWITCH_COLUMNS, L.WEIGHT_COLUMNS
        ws.sheet_properties.tabColor = "FFC000"
        _title(ws, "设置：参加考评的单位、口径选择与结果运用权重")
        _note(ws, 2, 1, "浅黄色单元格可修改。单位名单在生成模板时确定（已锁定）；如需增减单位，请用 hscredit-xl new 重新生成模板。")

        _section(ws, lay.settings_units_header - 1, "一、参加考评的单位")
        _header(ws, lay.settings_units_header, L.SETTINGS_COLUMNS["unit"], "单位")
        _header(ws, lay.settings_units_header, L.SETTINGS_COLUMNS["public_service"], "参加1.3考核")
        rule_13 = [r for r in rubric.rules if r.applies == "public_service"]
        flag_col = L.SETTINGS_COLUMNS["public_service"]
        for i, (unit, flag) in enumerate(zip(lay.units, lay.public_service)):
            row = lay.unit_row(i)
            _put(ws, row, L.SETTINGS_COLUMNS["unit"], unit, border=_BORDER)
            _input(ws, row, flag_col, "是" if flag else "否")
        dv = _list_validation(["是", "否"], "参加1.3考核",
                              "该单位是否参加1.3（公共服务领域信用信息数据归集情况）考核：从下拉列表选择 是 或 否。",
                              "只能选择「是」或「否」。")
        dv.add(_col_range(flag_col, L.FIRST_ROW, lay.last_row))
        ws.add_data_validation(dv)
        for rule in rule_13[:1]:  # the official scope note, e.g. 「（只考核大冶市、阳新县）」
            indicator = next(ind for ind in rubric.indicators if ind.id == rule.indicator)
            _note(ws, lay.settings_units_header, 3, f"{rule.id} {indicator.method}")

        _section(ws, lay.settings_switch_header - 1, "二、口径选择（细则不明确或前后矛盾之处；默认即推荐读法）")
        for key, text in (("id", "编号"), ("title", "事项"), ("choice", "选择"), ("options", "各选项说明"),
                          ("quote", "依据原文"), ("reason", "理由"), ("note", "提示")):
            _header(ws, lay.settings_switch_header, S[key], text)
        notes = self._switch_notes()
        for sid, sw in rubric.switches.items():
            row = lay.switch_rows[sid]
            _put(ws, row, S["id"], sid, border=_BORDER, align=_WRAP_CENTER)
            _put(ws, row, S["title"], sw.title, border=_BORDER, wrap=True)
            chosen = sw.options[self.choices[sid]]
            _input(ws, row, S["choice"], chosen.short, align=_WRAP_LEFT)
            _put(ws, row, S["options"], "\n".join(f"{o.short}：{o.label}" for o in sw.options.values()),
                 border=_BORDER, wrap=True)
            _put(ws, row, S["quote"], sw.quote, border=_BORDER, wrap=True)
            _put(ws, row, S["reason"], sw.reason, border=_BORDER, wrap=True)
            note = _put(ws, row, S["note"], notes.get(sid, ""), border=_BORDER, wrap=True)
            if sid in notes:
                note.font = Font(name=FONT_NAME, size=10, bold=True, color=NOTE_TEXT)
                note.fill = PatternFill("solid", fgColor=NOTE_FILL)
            dv = _list_validation([o.short for o in sw.options.values()], f"{sid} {sw.title}"[:32],
                                  f"从下拉列表选择「{sw.title}」的口径；各选项的含义见右侧「各选项说明」。",
                                  "请从下拉列表中选择一个选项。")
            dv.add(f"{col_letter(S['choice'])}{row}")
            ws.add_data_validation(dv)

        _section(ws, lay.settings_weight_header - 1, "三、结果运用权重")
        _header(ws, lay.settings_weight_header, W["name"], "结果运用")
        _header(ws, lay.settings_weight_header, W["weight"], "权重")
        for w in rubric.weights:
            row = lay.weight_rows[w.name]
            _put(ws, row, W["name"], w.name, border=_BORDER)
            _input(ws, row, W["weight"], _number(w.weight))
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            showInputMessage=True, showErrorMessage=True, errorStyle="stop",
                            promptTitle="结果运用权重", prompt="填写该项考核中本考评结果所占的权重（不小于0的数）；"
                            "贡献分＝最终得分÷100×权重。",
                            errorTitle="权重有误", error="权重应为不小于0的数。")
        rows = [lay.weight_rows[w.name] for w in rubric.weights]
        dv.add(_col_range(W["weight"], min(rows), max(rows)))
        ws.add_data_validation(dv)
        switch_a12 = rubric.switches.get("A12")
        _note(ws, lay.settings_weight_header, 3, "贡献分＝最终得分÷100×权重。"
              + (f"依据：{switch_a12.quote}。" if switch_a12 else ""))

        for key, width in (("id", 8), ("title", 22), ("choice", 20), ("options", 46), ("quote", 36),
                           ("reason", 46), ("note", 36)):
            ws.column_dimensions[col_letter(S[key])].width = width
        ws.column_dimensions[col_letter(S["id"])].width = max(16, *(_width(u) + 2 for u in lay.units))
        _landscape(ws)
        _protect(ws)

    def _switch_notes(self) -> dict[str, str]:
        """The visible warnings beside the switches the decisions page asks to show (A3, A7)."""
        notes = {}
        a3 = self.rubric.switches.get("A3")
        if a3:
            notes["A3"] = ("注意：1.2.5 原文“总分20分”而公式为“（1-瞒报率）*10”，二者矛盾。默认按分值20分计"
                           "（得分＝（1－瞒报率）×20），使1.2合计60分、总分100分成立；需按原文公式时改选"
                           f"「{a3.options['literal_10'].short if 'literal_10' in a3.options else ''}」。")
        a7 = self.rubric.switches.get("A7")
        if a7:
            notes["A7"] = ("注意：原文第3项各行错位。默认重新归行：媒体宣传报道（3分）并入3.1，与宣传教育活动（2分）合计5分；"
                           f"3.2 无评分规则，由复核人员据佐证资料在「{L.DATA}」表评0～3分。")
        return notes

    # ------------------------------------------------------------------------------------------- 数据录入
    def _data(self) -> None:
        ws = self.wb.create_sheet(L.DATA)
        lay = self.lay
        ws.sheet_properties.tabColor = "FFC000"
        _title(ws, "数据录入：各单位考核数据（每个单位一行）")
        _put(ws, L.DATA_RULE_ROW, 1, "细则编号", bold=True, border=_BORDER, align=_WRAP_CENTER)
        _header(ws, L.DATA_HEADER_ROW, 1, "单位")
        key_font = Font(name=FONT_NAME, size=8, color=GREY_TEXT)
        c = _put(ws, L.DATA_KEY_ROW, 1, "unit", align=_WRAP_CENTER)
        c.font = key_font
        for i, unit in enumerate(lay.units):
            _put(ws, lay.unit_row(i), 1, unit, bold=True, border=_BORDER)
            ws.row_dimensions[lay.unit_row(i)].height = UNIT_ROW_HEIGHT

        for column in lay.data_columns:
            rule_id = column.field.rule if column.field else "综合评定"
            _put(ws, L.DATA_RULE_ROW, column.col, rule_id, border=_BORDER, align=_WRAP_CENTER)
            _header(ws, L.DATA_HEADER_ROW, column.col, data_header(column))
            c = _put(ws, L.DATA_KEY_ROW, column.col, column.key, align=_WRAP_CENTER)
            c.font = key_font
            fmt = _data_format(column)
            for i in range(len(lay.units)):
                _input(ws, lay.unit_row(i), column.col, None, number_format=fmt)
            dv = _data_validation(column)
            dv.add(_col_range(column.col, L.FIRST_ROW, lay.last_row))
            ws.add_data_validation(dv)
            width = 24 if column.kind == "reason" else 15
            ws.column_dimensions[col_letter(column.col)].width = width

        for key, col in lay.derived_columns.items():
            _put(ws, L.DATA_RULE_ROW, col, "自动", border=_BORDER, align=_WRAP_CENTER)
            _header(ws, L.DATA_HEADER_ROW, col, DERIVED_HEADERS[key])
            c = _put(ws, L.DATA_KEY_ROW, col, key, align=_WRAP_CENTER)
            c.font = key_font
            ws.column_dimensions[col_letter(col)].width = 15
        for i in range(len(lay.units)):
            row = lay.unit_row(i)
            for key, text in lay.derived_formulas(row, self.choices).items():
                _formula(ws, row, lay.derived_columns[key], text, DERIVED_FORMATS[key])

        ws.column_dimensions["A"].width = max(14, *(_width(u) + 2 for u in lay.units))
        ws.freeze_panes = f"B{L.FIRST_ROW}"
        _landscape(ws, fit_width=False)
        # printed across several pages: every page shows the unit names and the column headers
        ws.print_title_cols = "A:A"
        ws.print_title_rows = f"{L.DATA_RULE_ROW}:{L.DATA_KEY_ROW}"
        _protect(ws)

    # ------------------------------------------------------------------------------------------- 瞒报率明细
    def _concealment(self) -> None:
        ws = self.wb.create_sheet(L.CONCEALMENT)
        lay = self.lay
        C = L.CONCEALMENT_COLUMNS
        ws.sheet_properties.tabColor = "FFC000"
        _title(ws, "瞒报率明细：被抽查部门的双公示数据瞒报率")
        _note(ws, 2, 1, "每个被抽查部门一行：选择单位、填写部门名称和瞒报率。1.2.5 取每个单位各部门瞒报率的最高值计分"
                        f"（“取被抽查部门瞒报率最高值”），最高值显示在「{L.DATA}」表的「最高瞒报率（自动）」列。")
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=C["rate"] + 2)
        for key, text in (("unit", "单位"), ("department", "被抽查部门"), ("rate", "瞒报率（%，0～100%）")):
            _header(ws, L.HEADER_ROW, C[key], text)
        first, last = L.FIRST_ROW, lay.concealment_last_row
        for row in range(first, last + 1):
            _input(ws, row, C["unit"], None)
            _input(ws, row, C["department"], None)
            _input(ws, row, C["rate"], None, number_format="0.00%")
        unit_names = lay.column_range(L.SETTINGS, L.SETTINGS_COLUMNS["unit"])
        dv = DataValidation(type="list", formula1=unit_names, allow_blank=True, showInputMessage=True,
                            showErrorMessage=True, errorStyle="stop", promptTitle="单位",
                            prompt=f"从下拉列表选择被抽查部门所属的单位（单位名单见「{L.SETTINGS}」表）。",
                            errorTitle="单位有误", error=f"只能选择「{L.SETTINGS}」表中列出的单位。")
        dv.add(_col_range(C["unit"], first, last))
        ws.add_data_validation(dv)
        dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="100", allow_blank=True,
                            showInputMessage=True, showErrorMessage=True, errorStyle="stop",
                            promptTitle="被抽查部门", prompt="填写被抽查部门的名称（不超过100字）。",
                            errorTitle="部门名称过长", error="部门名称不能超过100字。")
        dv.add(_col_range(C["department"], first, last))
        ws.add_data_validation(dv)
        dv = _rate_validation("瞒报率")
        dv.add(_col_range(C["rate"], first, last))
        ws.add_data_validation(dv)
        ws.column_dimensions[col_letter(C["unit"])].width = max(16, *(_width(u) + 4 for u in lay.units))
        ws.column_dimensions[col_letter(C["department"])].width = 30
        ws.column_dimensions[col_letter(C["rate"])].width = 18
        ws.freeze_panes = f"A{L.FIRST_ROW}"
        _protect(ws)

    # ------------------------------------------------------------------------------------------- 计分
    def _scores(self) -> None:
        ws = self.wb.create_sheet(L.SCORES)
        lay, rubric = self.lay, self.rubric
        ws.sheet_properties.tabColor = "A5A5A5"
        _title(ws, "计分：逐条复核得分（实时公式）")
        _note(ws, 2, 1, "本表公式调用 HS_ 工作表函数，安装「信用考评」加载项后随数据实时计算；"
                        "正式结果以一键重算写入的考评表和汇总为准。")
        c = ws[lay.score_signature_cell]
        _set_text(c, L.formula_signature(self.choices))
        c.font = Font(name=FONT_NAME, size=8, color=GREY_TEXT)

        _header(ws, L.HEADER_ROW, 1, "单位")
        for rule in rubric.rules:
            _header(ws, L.HEADER_ROW, lay.score_columns[rule.id], _score_header(rule))
        _header(ws, L.HEADER_ROW, lay.score_columns["applicable_max"], "适用满分")
        _header(ws, L.HEADER_ROW, lay.score_columns["live_total"], "复核总分（实时）")
        first, last = L.FIRST_ROW, lay.last_row
        for i, unit in enumerate(lay.units):
            _put(ws, lay.unit_row(i), 1, unit, bold=True, border=_BORDER)
            ws.row_dimensions[lay.unit_row(i)].height = UNIT_ROW_HEIGHT
        formulas = lay.score_formulas(self.choices)
        for rule in rubric.rules:
            col = lay.score_columns[rule.id]
            letter = col_letter(col)
            for row in range(first, last + 1):
                _computed(ws, row, col, "0.00")
            ws.cell(first, col).value = ArrayFormula(f"{letter}{first}:{letter}{last}", formulas[rule.id])
            ws.column_dimensions[letter].width = 13
        for i in range(len(lay.units)):
            row = lay.unit_row(i)
            _formula(ws, row, lay.score_columns["applicable_max"], lay.applicable_max_formula(row, self.choices), "0.##")
            _computed(ws, row, lay.score_columns["live_total"], "0.00")
        ws.cell(first, lay.score_columns["live_total"]).value = ArrayFormula(lay.live_total_ref(),
                                                                            lay.live_total_formula(self.choices))
        ws.column_dimensions[col_letter(lay.score_columns["applicable_max"])].width = 10
        ws.column_dimensions[col_letter(lay.score_columns["live_total"])].width = 12
        ws.column_dimensions["A"].width = max(14, *(_width(u) + 2 for u in lay.units))
        ws.freeze_panes = f"B{L.FIRST_ROW}"
        _landscape(ws)
        _protect(ws)

    # ------------------------------------------------------------------------------------------- 考评表
    def _form(self, unit: str) -> None:
        ws = self.wb.create_sheet(L.form_sheet_name(unit))
        lay, rubric = self.lay, self.rubric
        F = L.FORM_COLUMNS
        last_col = max(F.values())
        ws.sheet_properties.tabColor = "5B9BD5"
        widths = {"number": 5, "item": 13, "indicator": 15, "points": 7, "content": 34, "scoring": 46,
                  "method": 20, "self": 9, "review": 9}
        for key, width in widths.items():
            ws.column_dimensions[col_letter(F[key])].width = width

        c = _put(ws, 1, 1, rubric.document["attachment"], align=_WRAP_CENTER)
        c.font = Font(name=FONT_NAME, size=16, bold=True)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
        c = _put(ws, 2, 1, f"填报单位：{unit}（盖章）", align=Alignment(horizontal="left", vertical="center"))
        c.font = Font(name=FONT_NAME, size=12)
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last_col)
        for key, text in (("number", "序号"), ("item", "考评项目"), ("indicator", "考评指标"), ("points", "分值"),
                          ("content", "考评内容"), ("scoring", "评分办法"), ("method", "考评方式"),
                          ("self", "自评得分"), ("review", "复核得分")):
            _header(ws, L.FORM_HEADER_ROW, F[key], text)

        body = Font(name=FONT_NAME, size=10)
        self_groups: dict[tuple[str, str], list[str]] = {}
        for item in rubric.items:
            item_rows = [lay.form_rows[r.id] for ind in item.indicators for r in ind.rules]
            _merged(ws, item_rows, F["number"], item.number, body, _WRAP_CENTER)
            _merged(ws, item_rows, F["item"], item_label(item), body, _WRAP_CENTER)
            for ind in item.indicators:
                rows = [lay.form_rows[r.id] for r in ind.rules]
                _merged(ws, rows, F["indicator"], ind.name, body, _WRAP_CENTER)
                _merged(ws, rows, F["points"], points_label(ind), body, _WRAP_CENTER)
                _merged(ws, rows, F["content"], ind.content, body, _WRAP_LEFT)
                _merged(ws, rows, F["method"], ind.method, body, _WRAP_LEFT)
                for rule, text in zip(ind.rules, scoring_segments(ind)):
                    row = lay.form_rows[rule.id]
                    c = _put(ws, row, F["scoring"], text, align=_WRAP_LEFT)
                    c.font = body
                    _input(ws, row, F["self"], None, number_format="0.00")
                    _computed(ws, row, F["review"], "0.00")
                    self_groups.setdefault((rule.role, _fmt(rule.points)), []).append(
                        f"{col_letter(F['self'])}{row}")
        for (role, points), cells in self_groups.items():
            ws.add_data_validation(_self_score_validation(role, points, cells))

        labels = {"base": f"{self._base_items_text()}小计",
                  "base_scaled": f"折算后基础分（见「{L.SETTINGS}」表口径 A5）",
                  "total": f"考评总分（加分后不超过{_fmt(Decimal(rubric.totals['cap']))}分，再扣减）"}
        for key, row in lay.form_total_rows.items():
            _put(ws, row, 1, labels[key], bold=True, align=Alignment(horizontal="right", vertical="center", indent=1))
            ws.row_dimensions[row].height = 21
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=F["method"])
            if key == "total":
                _input(ws, row, F["self"], None, number_format="0.00")
            else:
                ws.cell(row, F["self"]).font = body
            _computed(ws, row, F["review"], "0.00")
        total_self = f"{col_letter(F['self'])}{lay.form_total_rows['total']}"
        cap = _fmt(Decimal(rubric.totals["cap"]))
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2=cap, allow_blank=True,
                            showInputMessage=True, showErrorMessage=True, errorStyle="stop",
                            promptTitle="单位自评总分",
                            prompt=f"填写单位自评总分（0～{cap}分，可不填；不填时按各条自评得分合计）。",
                            errorTitle="自评总分有误", error=f"自评总分应为 0～{cap} 之间的数。")
        dv.add(total_self)
        ws.add_data_validation(dv)

        # borders over the whole table, merged cells included, so the printout shows every line
        last_row = max(lay.form_total_rows.values())
        for row in ws.iter_rows(min_row=L.FORM_HEADER_ROW, max_row=last_row, min_col=1, max_col=last_col):
            for c in row:
                c.border = _BORDER

        note = _put(ws, lay.form_note_row, 1, self._form_note(), wrap=True, align=_WRAP_TOP)
        note.font = Font(name=FONT_NAME, size=9, color=NOTE_TEXT)
        ws.merge_cells(start_row=lay.form_note_row, start_column=1, end_row=lay.form_note_row, end_column=last_col)
        ws[lay.form_stamp_cell].font = Font(name=FONT_NAME, size=8, color=GREY_TEXT)
        ws.merge_cells(start_row=lay.form_stamp_row, start_column=1, end_row=lay.form_stamp_row, end_column=last_col)

        ws.sheet_view.showGridLines = False
        ws.print_title_rows = f"1:{L.FORM_HEADER_ROW}"
        ws.print_area = f"A1:{col_letter(last_col)}{lay.form_stamp_row}"
        _landscape(ws)
        ws.page_margins.left = ws.page_margins.right = 0.4
        ws.page_margins.top = ws.page_margins.bottom = 0.6
        _protect(ws)

    def _base_items_text(self) -> str:
        numbers = [item.number for item in self.rubric.items if item.role == "base"]
        return f"第{numbers[0]}～{numbers[-1]}项" if len(numbers) > 1 else f"第{numbers[0]}项"

    def _form_note(self) -> str:
        lines = ["说明："]
        if "A3" in self.rubric.switches:
            lines.append("1. 1.2.5 原文“总分20分”而公式为“（1-瞒报率）*10”，默认按分值20分计（得分＝（1－瞒报率）×20），"
                         f"可在「{L.SETTINGS}」表口径 A3 改选。")
        if "A7" in self.rubric.switches:
            lines.append(f"{len(lines)}. 原文第3项各行错位，默认重新归行：媒体宣传报道（3分）计入3.1（2＋3＝5分）；"
                         f"3.2 由复核人员据佐证资料评分（0～3分）。见「{L.SETTINGS}」表口径 A7。")
        if "A5" in self.rubric.switches:
            lines.append(f"{len(lines)}. 1.3 只考核参加该项考核的单位；其他单位按「{L.SETTINGS}」表口径 A5 处理"
                         "（默认基础分按适用满分折算到100分）。")
        lines.append(f"{len(lines)}. 复核得分由一键重算写入，请勿手工填写。")
        return "\n".join(lines)

    # ------------------------------------------------------------------------------------------- 汇总
    def _summary(self) -> None:
        ws = self.wb.create_sheet(L.SUMMARY)
        lay, rubric = self.lay, self.rubric
        ws.sheet_properties.tabColor = "70AD47"
        _title(ws, "汇总：各单位复核得分、名次与最终得分")
        ws[lay.summary_stamp_cell].font = Font(name=FONT_NAME, size=9, color=GREY_TEXT)
        headers = self._summary_headers()
        _header(ws, L.HEADER_ROW, 1, "单位")
        for key, col in lay.summary_columns.items():
            _header(ws, L.HEADER_ROW, col, headers[key])
            ws.column_dimensions[col_letter(col)].width = 40 if key == "adjustment_reason" else 9.5
        rule_cols = [lay.summary_columns[r.id] for r in rubric.base_rules]
        group = _put(ws, L.HEADER_ROW - 1, min(rule_cols), "各条复核得分", bold=True, border=_BORDER,
                     align=_WRAP_CENTER)
        group.fill = PatternFill("solid", fgColor=HEADER_FILL)
        ws.merge_cells(start_row=L.HEADER_ROW - 1, start_column=min(rule_cols), end_row=L.HEADER_ROW - 1,
                       end_column=max(rule_cols))
        formats = {"rank": "0", "final_rank": "0", "adjustment_reason": "@"}
        reason_col = lay.summary_columns["adjustment_reason"]
        for i, unit in enumerate(lay.units):
            row = lay.unit_row(i)
            _put(ws, row, 1, unit, bold=True, border=_BORDER)
            ws.row_dimensions[row].height = UNIT_ROW_HEIGHT
            formulas = lay.summary_formulas(row, self.choices)
            for key, col in lay.summary_columns.items():
                fmt = formats.get(key, "0.00")
                if key in formulas:
                    _formula(ws, row, col, formulas[key], fmt)
                else:  # recompute writes the value
                    _computed(ws, row, col, fmt)
            ws.cell(row, reason_col).alignment = _WRAP_LEFT
        first, last = L.FIRST_ROW, lay.last_row
        diff = col_letter(lay.summary_columns["difference"])
        target = f"{diff}{first}:{diff}{last}"
        ws.conditional_formatting.add(target, FormulaRule(
            formula=[f"AND(ISNUMBER({diff}{first}),{diff}{first}>0)"],
            fill=PatternFill("solid", fgColor=DIFF_ABOVE_FILL, bgColor=DIFF_ABOVE_FILL)))
        ws.conditional_formatting.add(target, FormulaRule(
            formula=[f"AND(ISNUMBER({diff}{first}),{diff}{first}<0)"],
            fill=PatternFill("solid", fgColor=DIFF_BELOW_FILL, bgColor=DIFF_BELOW_FILL)))
        legend = _put(ws, last + 1, 1, "差值：浅红＝自评高于复核，浅蓝＝自评低于复核。名次按复核总分/最终得分排列，"
                                       "并列时的名次见「设置」表口径 A1。")
        legend.font = Font(name=FONT_NAME, size=9, color=GREY_TEXT)
        ws.column_dimensions["A"].width = max(14, *(_width(u) + 2 for u in lay.units))

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
        chart.y_axis.scaling.max = 100
        chart.y_axis.majorUnit = 20
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

        ws.freeze_panes = f"B{L.FIRST_ROW}"
        _landscape(ws, fit_width=False)
        # one page wide would print 30-odd columns at ~40 %: two pages wide, the unit names repeated,
        # the break after 基础分 (rule scores on the first page, totals and ranks on the second)
        ws.page_setup.fitToWidth = 2
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.print_title_cols = "A:A"
        ws.col_breaks.append(Break(id=lay.summary_columns["base"]))
        _protect(ws)

    def _summary_headers(self) -> dict[str, str]:
        rubric = self.rubric
        headers = {r.id: r.id for r in rubric.base_rules}
        for item in rubric.items:
            if item.role == "base":
                headers[f"section_{item.number}"] = f"第{item.number}项小计"
        cap = _fmt(Decimal(rubric.totals["cap"]))
        headers.update({
            "base": "基础分", "applicable_max": "适用满分", "base_scaled": "折算后基础分", "bonus": "加分",
            "capped": f"加分后（≤{cap}）", "deduction": "扣分", "total": "复核总分", "rank": "名次",
            "self_total": "自评总分", "difference": L.difference_header(self.choices),
            "adjustment": "调整分", "adjustment_reason": "调整理由", "final": "最终得分", "final_rank": "最终名次"})
        for w in rubric.weights:
            headers["weight:" + w.name] = f"{w.name}贡献分"
        return headers

    # ------------------------------------------------------------------------------------------- 校验结果
    def _check(self) -> None:
        ws = self.wb.create_sheet(L.CHECK)
        ws.sheet_properties.tabColor = "C00000"
        _title(ws, "校验结果")
        c = _put(ws, 2, 1, "尚未重算")
        c.font = Font(name=FONT_NAME, size=11, color=GREY_TEXT)
        headers = {"level": "级别", "unit": "单位", "field": "位置", "label": "字段", "value": "值", "message": "问题说明"}
        widths = {"level": 8, "unit": 14, "field": 22, "label": 30, "value": 16, "message": 80}
        for key, col in L.CHECK_COLUMNS.items():
            _header(ws, L.CHECK_HEADER_ROW, col, headers[key])
            ws.column_dimensions[col_letter(col)].width = widths[key]
        ws.freeze_panes = f"A{L.CHECK_HEADER_ROW + 1}"
        # not protected: recompute rewrites it and people sort and filter it


# ------------------------------------------------------------------------------------------------ helpers
def _units(rubric: Rubric, units: Sequence[str] | None,
           public_service: Sequence[bool] | None) -> tuple[list[str], list[bool]]:
    if units is None:
        names = [u.name for u in rubric.units]
        flags = [u.public_service for u in rubric.units] if public_service is None else list(public_service)
    else:
        names = [str(u).strip() for u in units]
        known = {u.name: u.public_service for u in rubric.units}
        flags = [known.get(n, False) for n in names] if public_service is None else [bool(f) for f in public_service]
    if not names:
        raise ValueError("单位名单为空：至少需要一个单位")
    if len(flags) != len(names):
        raise ValueError(f"参加1.3考核的标记有 {len(flags)} 个，单位有 {len(names)} 个，应一一对应")
    seen: dict[str, str] = {}
    for name in names:
        if not name:
            raise ValueError("单位名称不能为空")
        sheet = L.form_sheet_name(name).casefold()
        if sheet in seen:
            raise ValueError(f"单位「{name}」与「{seen[sheet]}」重名或考评表名称相同（工作表名最长31个字符）")
        seen[sheet] = name
    return names, flags


def _fmt(x) -> str:
    """A Decimal (or number) as the official text writes it: 10, 0.4 — no trailing zeros."""
    d = Decimal(str(x)).normalize()
    return format(d, "f")


def _number(x: Decimal) -> int | float:
    d = Decimal(str(x))
    return int(d) if d == d.to_integral_value() else float(d)


def _width(text: str) -> float:
    """Display width in Excel column units (a CJK character is about two digits wide)."""
    return sum(1.9 if unicodedata.east_asian_width(ch) in "WF" else 1.05 for ch in str(text))


def _chinese_date(iso: str) -> str:
    try:
        y, m, d = (int(p) for p in iso.split("-"))
    except ValueError:
        return iso
    return f"{y}年{m}月{d}日"


def _set_text(c, text) -> None:
    """A literal text cell: a leading '=' must never turn a label into a formula."""
    c.value = text
    if isinstance(text, str) and text.startswith("="):
        c.data_type = "s"


def _put(ws: Worksheet, row: int, col: int, value, *, bold: bool = False, border: Border | None = None,
         wrap: bool = False, align: Alignment | None = None):
    c = ws.cell(row, col)
    _set_text(c, value)
    c.font = Font(name=FONT_NAME, size=11, bold=bold)
    if border is not None:
        c.border = border
    if align is not None:
        c.alignment = align
    elif wrap:
        c.alignment = _WRAP_TOP
    return c


def _title(ws: Worksheet, text: str) -> None:
    c = _put(ws, 1, 1, text)
    c.font = Font(name=FONT_NAME, size=14, bold=True)


def _section(ws: Worksheet, row: int, text: str) -> None:
    c = _put(ws, row, 1, text)
    c.font = Font(name=FONT_NAME, size=12, bold=True)


def _note(ws: Worksheet, row: int, col: int, text: str) -> None:
    c = _put(ws, row, col, text)
    c.font = Font(name=FONT_NAME, size=10, color=NOTE_TEXT)


def _header(ws: Worksheet, row: int, col: int, text: str) -> None:
    c = ws.cell(row, col)
    c.style = HEADER_STYLE
    _set_text(c, text)


def _input(ws: Worksheet, row: int, col: int, value, *, number_format: str | None = None,
           align: Alignment | None = None):
    c = ws.cell(row, col)
    c.style = INPUT_STYLE
    if value is not None:
        _set_text(c, value)
    if number_format:
        c.number_format = number_format
    if align is not None:
        c.alignment = align
    return c


def _computed(ws: Worksheet, row: int, col: int, number_format: str | None = None):
    c = ws.cell(row, col)
    c.style = COMPUTED_STYLE
    if number_format:
        c.number_format = number_format
    return c


def _formula(ws: Worksheet, row: int, col: int, text: str, number_format: str | None = None):
    c = _computed(ws, row, col, number_format)
    c.value = text
    return c


def _merged(ws: Worksheet, rows: Sequence[int], col: int, value, font: Font, align: Alignment) -> None:
    c = ws.cell(min(rows), col)
    _set_text(c, value)
    c.font = font
    c.alignment = align
    if len(rows) > 1:
        ws.merge_cells(start_row=min(rows), start_column=col, end_row=max(rows), end_column=col)


def _col_range(col: int, first: int, last: int) -> str:
    letter = col_letter(col)
    return f"{letter}{first}:{letter}{last}"


def _protect(ws: Worksheet) -> None:
    """Sheet protection without a password: formulas are safe from slips, columns and rows stay adjustable."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _landscape(ws: Worksheet, fit_width: bool = True) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    if fit_width:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.header = ws.page_margins.footer = 0.25  # leave the footer room below the body
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9


def _score_header(rule: Rule) -> str:
    points = _fmt(rule.points)
    if rule.role == "bonus":
        return f"{rule.id} 加分：{rule.name}（最高{points}分）"
    if rule.role == "deduction":
        return f"{rule.id} 扣分：{rule.name}（{points}分）"
    return f"{rule.id} {rule.name}（{points}分）"


def _data_format(column: DataColumn) -> str | None:
    if column.kind == "rate":
        return "0.00%"
    if column.kind == "count":
        return "0"
    if column.kind == "reason":
        return "@"
    return None


def _validation(type_: str, title: str, prompt: str, error: str, **kw) -> DataValidation:
    return DataValidation(type=type_, allow_blank=True, showInputMessage=True, showErrorMessage=True,
                          errorStyle="stop", promptTitle=title[:32], prompt=prompt[:255],
                          errorTitle="输入有误", error=error[:225], **kw)


def _list_validation(options: Iterable[str], title: str, prompt: str, error: str) -> DataValidation:
    options = list(options)
    if any("," in o or '"' in o for o in options):
        raise ValueError(f"下拉选项不能含英文逗号或引号：{options}")
    return _validation("list", title, prompt, error, formula1='"' + ",".join(options) + '"')


def _rate_validation(label: str) -> DataValidation:
    return _validation("decimal", label, f"填写{label}：0%～100%（可直接输入 85%，也可输入 0.85）。",
                       f"{label}应在 0%～100% 之间；例如 85% 请输入「85%」或「0.85」，不要输入「85」。",
                       operator="between", formula1="0", formula2="1")


def _data_validation(column: DataColumn) -> DataValidation:
    """The data validation of one 数据录入 column, by field type, with Chinese prompt and error texts."""
    kind, label = column.kind, column.label
    if kind == "adjustment":
        return _validation("decimal", label,
                           f"综合评定调整分：按日常工作情况对复核总分的调整，可正可负（{-ADJUSTMENT_LIMIT}～{ADJUSTMENT_LIMIT}），"
                           "可不填；填写时必须在「调整理由」列写明理由。",
                           f"调整分应为 {-ADJUSTMENT_LIMIT}～{ADJUSTMENT_LIMIT} 之间的数。",
                           operator="between", formula1=str(-ADJUSTMENT_LIMIT), formula2=str(ADJUSTMENT_LIMIT))
    if kind == "reason":
        return _validation("textLength", label,
                           f"填写综合评定调整的理由（不超过{REASON_MAX_LENGTH}字）；填了调整分时必须填写。",
                           f"调整理由不能超过{REASON_MAX_LENGTH}字。",
                           operator="lessThanOrEqual", formula1=str(REASON_MAX_LENGTH))
    f = column.field
    scope = "只填写参加1.3考核的单位（见「设置」表），其他单位留空。" if f.applies == "public_service" else ""
    where = f"（细则 {f.rule}）" if f.rule else ""
    if kind == "count":
        unit = f"，单位：{f.unit}" if f.unit else ""
        return _validation("whole", label, f"填写{label}{where}：不小于0的整数{unit}。{scope}",
                           f"{label}应为不小于0的整数。", operator="greaterThanOrEqual", formula1="0")
    if kind == "number":
        lo = _fmt(f.min) if f.min is not None else str(-NUMBER_LIMIT)
        hi = _fmt(f.max) if f.max is not None else str(NUMBER_LIMIT)
        unit = f"（单位：{f.unit}）" if f.unit else ""
        return _validation("decimal", label, f"填写{label}{where}：数值{unit}，越高越好，按高低排名。{scope}",
                           f"{label}应为数值。", operator="between", formula1=lo, formula2=hi)
    if kind == "rate":
        v = _rate_validation(label)
        v.prompt = (f"填写{label}{where}：0%～100%（可直接输入 85%，也可输入 0.85）。{scope}")[:255]
        return v
    if kind == "flag":
        return _validation("list", label, f"{label}{where}：从下拉列表选择「是」或「否」。{scope}",
                           f"{label}只能填写「是」或「否」。", formula1='"是,否"')
    if kind == "score":
        lo = _fmt(f.min if f.min is not None else 0)
        hi = _fmt(f.max)
        return _validation("decimal", label, f"填写{label}{where}：{lo}～{hi}分，由复核人员据佐证资料评定。{scope}",
                           f"{label}应为 {lo}～{hi} 之间的数。", operator="between", formula1=lo, formula2=hi)
    raise ValueError(f"数据列 {column.key} 的类型「{kind}」无法生成数据验证")


def _self_score_validation(role: str, points: str, cells: list[str]) -> DataValidation:
    if role == "deduction":
        dv = _validation("decimal", "自评扣分", f"填写自评扣分（0～{points}分，填扣减的分数；无则填0）。",
                         f"自评扣分应为 0～{points} 之间的数。", operator="between", formula1="0", formula2=points)
    else:
        what = "自评加分" if role == "bonus" else "自评得分"
        dv = _validation("decimal", what, f"填写本单位对该项的{what}（0～{points}分，可不填）。",
                         f"{what}应为 0～{points} 之间的数。", operator="between", formula1="0", formula2=points)
    for coord in cells:
        dv.add(coord)
    return dv


# ------------------------------------------------------------------------------------------------ row heights
def _fit_row_heights(ws: Worksheet) -> None:
    """Set row heights so wrapped text shows whole (Excel does not grow rows for merged cells by itself)."""
    widths = {}

    def col_width(col: int) -> float:
        if col not in widths:
            w = ws.column_dimensions[col_letter(col)].width
            widths[col] = w if w else 8.43
        return widths[col]

    spans = {(r.min_row, r.min_col): r for r in ws.merged_cells.ranges}
    need: dict[int, float] = {}
    tall: list[tuple[list[int], float]] = []
    for row in ws.iter_rows():
        for c in row:
            if not isinstance(c.value, str) or c.data_type == "f" or not (c.alignment and c.alignment.wrap_text):
                continue
            size = (c.font.sz if c.font and c.font.sz else 11)
            span = spans.get((c.row, c.column))
            cols = range(span.min_col, span.max_col + 1) if span else [c.column]
            rows = list(range(span.min_row, span.max_row + 1)) if span else [c.row]
            width = sum(col_width(col) for col in cols)
            height = _text_height(c.value, width, size)
            if len(rows) == 1:
                need[rows[0]] = max(need.get(rows[0], 15.0), height)
            else:
                tall.append((rows, height))
    for rows, height in tall:
        have = sum(need.get(r, 15.0) for r in rows)
        if have < height:
            extra = (height - have) / len(rows)
            for r in rows:
                need[r] = need.get(r, 15.0) + extra
    for r, h in need.items():
        ws.row_dimensions[r].height = round(min(409.0, h), 1)


def _text_height(text: str, width: float, size: float) -> float:
    usable = max(1.0, width - 1.5)
    scale = size / 11
    lines = 0
    for para in text.split("\n"):
        lines += max(1, math.ceil(_width(para) * scale / usable))
    return lines * size * 1.4 + 5
