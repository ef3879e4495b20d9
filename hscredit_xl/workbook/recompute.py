"""一键重算: read a template's inputs, validate them, score with the engine, write the results.

The same function serves the ribbon button (an ExcelBook over xw.Book.caller()) and the command line (an
OpenpyxlBook saved atomically). It writes only output cells — never a cell a person typed.

Reading a workbook is reading data, never running it. What people do to a template besides typing values,
and what we make of it:

* a formula in an input cell: its result as last saved by Excel is used, with a warning that says so (the
  formula itself is never evaluated here); a formula without a saved result is an error;
* text that starts with '=' in a text cell stays text (the cell's type decides, not its first character);
* a hidden row or column with input data: a warning, and the data is scored as if visible. Hiding is a
  matter of view; silently dropping a hidden unit, or refusing the whole book for it, would both surprise.
  The warning makes sure nobody prints or signs a result without having seen every scored cell;
* merged cells over input cells: an error (the structure was changed; a merged range shows one value where
  several were typed);
* rows with data below the unit rows, a column inserted, moved or deleted, a renamed or deleted sheet, two
  units of the same name: errors.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from openpyxl.utils.cell import coordinate_to_tuple

from .. import __version__
from ..engine import Result
from ..inputs import (ERROR, WARNING, BadValue, Problem, UncomputedFormula, ValueParser, normalize_unit_name,
                      shown)
from ..kinds import round_half_up
from ..rubric import Rubric
from ..scoring import InputProblems, score_rows
from . import layout as L
from .book import Book, Formula, Grid
from .layout import Layout, cell, form_sheet_name

FORM_HEADERS = ("序号", "考评项目", "考评指标", "分值", "考评内容", "评分办法", "考评方式", "自评得分", "复核得分")
STAMP_PREFIX = "复核时间："
_STAMP = re.compile(r"^复核时间：(?P<time>[^；]*)；工具 hscredit-xl (?P<tool>[^；]*)；细则 (?P<document>.*?)（版本 "
                    r"(?P<rubric>[^）]*)）；输入数据 SHA-256：(?P<digest>[0-9a-f]{64})$")


@dataclass(frozen=True)
class ConcealmentRow:
    """One row of 瞒报率明细 as read: the unit it belongs to (index in the layout), the department, the rate."""

    row: int
    unit: int
    department: object
    rate: Decimal


@dataclass
class Inputs:
    """Everything recompute reads from a workbook, ready for the engine."""

    rubric: Rubric
    layout: Layout | None = None
    choices: dict[str, str] = field(default_factory=dict)
    weights: dict[str, Decimal] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    public_service: dict[str, bool] = field(default_factory=dict)
    locations: dict[tuple[int, str], str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    digest: str = ""
    concealment: list[ConcealmentRow] = field(default_factory=list)  # the rows read without error
    concealment_first: dict[int, int] = field(default_factory=dict)  # unit index -> its first 瞒报率明细 row
    blocked: bool = False  # the data sheet could not be read at all (its columns changed)
    skipped: set[str] = field(default_factory=set)  # units whose 数据录入 row could not be read
    returns: object = None  # returns.Returns: 佐证资料 rows and submission facts (报送信息 / 报送情况)

    def locate(self, index: int, key: str) -> str:
        return self.locations.get((index, key), key)

    def error(self, unit: str, where: str, label: str, value: object, expected: str, hint: str = "") -> None:
        self.problems.append(Problem(ERROR, unit, where, label, shown(value), expected, hint))

    def warn(self, unit: str, where: str, label: str, value: object, expected: str, hint: str = "") -> None:
        self.problems.append(Problem(WARNING, unit, where, label, shown(value), expected, hint))


def _at(sheet: str, row: int, col: int) -> str:
    return f"{sheet}!{cell(row, col)}"


def _value(book: Book, grid: Grid, sheet: str, row: int, col: int, inp: Inputs | None = None, unit: str = "",
           label: str = "") -> object:
    """An input cell's value. A formula gives its saved result (with a warning in inp), or an
    UncomputedFormula when the file holds none; blank text reads as None."""
    v = grid.get(row, col)
    if isinstance(v, Formula):  # a formula typed into an input cell: use what it last computed, never run it
        cached = book.cached_value(sheet, row, col)
        text = v.text if v.text.startswith("=") else "=" + v.text
        if cached is None or (isinstance(cached, str) and cached.strip() == ""):
            return UncomputedFormula(text)
        if inp is not None:
            inp.warn(unit, _at(sheet, row, col), label or "输入单元格", text,
                     f"单元格是公式，按文件中保存的计算结果「{shown(cached)}」读取（公式不会被重新计算）",
                     "建议直接填写数值")
        v = cached
    if isinstance(v, str) and v.strip() == "":
        return None
    return v


def _parse_cell(raw: object, parse):
    """A typed cell through a parser; an Excel error value or a date is refused first. None stays None."""
    found = ValueParser._common(raw)
    if found:
        raise BadValue(*found)
    return None if raw is None else parse(raw)


def read_structure(book: Book, rubric: Rubric | None = None, *, per_unit_forms_ok: bool = False) -> Inputs:
    """Check that the book is our template and read 设置 (units, switches, weights): what fill and recompute share.

    The book is read by the rubric it records (rubricof.py); `rubric`: the one given (`--rubric`, or the master's
    rubric already found), which must be the recorded one. A rubric that can not be found is a problem here.
    per_unit_forms_ok: a master of layout 1 (one 考评表-<unit> per unit) is read too (merge takes one as a unit's
    file); otherwise it is refused with what to do (new template, merge the old file into it)."""
    from .rubricof import resolve

    rubric, problems = resolve(book, rubric)
    inp = Inputs(rubric)
    if problems:
        inp.problems += problems
        return inp
    names = set(book.sheet_names)
    if L.HANDOUT_GUIDE in names and L.GUIDE not in names:
        return _read_handout_structure(book, inp, names)
    forms = [n for n in book.sheet_names if n.startswith(L.FORM_PREFIX)]
    layout = _layout_of(book)
    # layout 1: one 考评表 per unit, by the version 说明 names, or by its sheets (no 自评得分, forms per unit)
    per_unit_master = ((L.GUIDE in names and layout in L.PER_UNIT_FORM_LAYOUTS)
                       or (L.SELF_SCORES not in names and bool(forms)))
    if L.GUIDE in names and per_unit_master:
        if not per_unit_forms_ok:
            inp.error("", forms[0] if forms else f"{L.GUIDE}!{L.GUIDE_ID_CELLS['layout']}", "模板格式",
                      f"格式版本 {layout or '?'}",
                      f"这是旧版格式的主工作簿：每个单位一张考评表（如「{forms[0] if forms else L.FORM_PREFIX + '单位'}」），"
                      f"没有「{L.SELF_SCORES}」表；本版本的主工作簿只有一张「{L.FORM}」表（顶部选择单位），"
                      f"自评得分逐单位填在「{L.SELF_SCORES}」表，不能直接用于本版本",
                      "请用  hscredit-xl new -o 新模板.xlsx  生成新模板（其他单位名单加 --units），再运行  hscredit-xl merge "
                      "新模板.xlsx 旧文件.xlsx  把旧文件中各单位的数据、自评得分和报送信息合并进来（旧文件不会被改动）")
            return inp
    required = [L.GUIDE, L.SETTINGS, L.DATA, L.CONCEALMENT, L.SCORES, L.SUMMARY, L.CHECK]
    if not per_unit_master:
        required[5:5] = [L.SELF_SCORES, L.FORM, L.REVIEW]
    if not rubric.rates_key:
        required.remove(L.CONCEALMENT)
    for sheet in required:
        if sheet not in names:
            inp.error("", sheet, "工作表", "", f"缺少工作表「{sheet}」：不是本工具生成的模板，或工作表被改名/删除",
                      "请用 hscredit-xl new 生成新模板后重新填写")
    if inp.problems:
        return inp
    expected = Layout.build(rubric).identity()
    if per_unit_master:
        expected = dict(expected, layout=layout if layout in L.PER_UNIT_FORM_LAYOUTS else "1")
    _check_identity(book.read(L.GUIDE), inp, L.GUIDE, expected, "模板",
                    "请用 hscredit-xl new 生成新模板后重新填写")
    if inp.problems:
        return inp
    units, flags = _read_settings_units(book, inp)
    if inp.problems:
        return inp
    per_unit = expected["layout"] in L.PER_UNIT_FORM_LAYOUTS
    inp.layout = Layout.build(rubric, units, flags, per_unit_forms=per_unit)
    inp.public_service = {normalize_unit_name(u): f for u, f in zip(units, flags)}
    _read_switches_and_weights(book, inp)
    if per_unit:
        for unit in units:
            if form_sheet_name(unit) not in names:
                inp.error(unit, form_sheet_name(unit), "考评表", "", f"缺少单位「{unit}」的考评表：工作表被改名或删除")
    elif forms:  # a 报送版: the 考评表 export added are values of that export
        inp.warn("", "、".join(forms[:3]) + ("等" if len(forms) > 3 else ""), "考评表", f"{len(forms)} 张",
                 f"这些考评表是导出报送版时的数值，重算不会更新它们；以「{L.FORM}」「{L.REVIEW}」「{L.SUMMARY}」表为准",
                 "需要打印的考评表请重新运行 hscredit-xl export --pdf")
    _check_merged(book, inp)
    return inp


def _layout_of(book: Book) -> object:
    """The layout version 说明 names (None when the cell is missing)."""
    row, col = _coords(L.GUIDE_ID_CELLS["layout"])
    return book.read(L.GUIDE).get(row, col) if L.GUIDE in book.sheet_names else None


def _check_identity(guide: Grid, inp: Inputs, sheet: str, expected: dict[str, str], what: str, hint: str) -> None:
    """The identity cells (template, rubric, layout) say the file is ours and of this version."""
    for key in ("template", "rubric", "layout"):
        row, col = _coords(L.GUIDE_ID_CELLS[key])
        found = guide.get(row, col)
        if found != expected[key] and key == "rubric" and isinstance(found, str) and "|" in found:
            inp.error("", _at(sheet, row, col), "模板标识", found,
                      f"应为「{expected[key]}」：细则版本不同，该{what}不是按细则 {inp.rubric.document['number']} "
                      f"版本 {inp.rubric.version} 生成的",
                      f"请用 --rubric 路径 指定生成它的那份细则文件；{hint}")
        elif found != expected[key]:
            inp.error("", _at(sheet, row, col), "模板标识", found,
                      f"应为「{expected[key]}」：该文件不是本工具当前版本的{what}（或细则版本不同）", hint)


def _read_handout_structure(book: Book, inp: Inputs, names: set[str]) -> Inputs:
    """A unit's 填报版: its identity (填报说明's cells), its one unit and that unit's 1.3 flag."""
    for sheet in (L.HANDOUT_GUIDE, L.SUBMISSION, L.DATA, L.CONCEALMENT, L.EVIDENCE):
        if sheet == L.CONCEALMENT and not inp.rubric.rates_key:
            continue
        if sheet not in names:
            inp.error("", sheet, "工作表", "", f"缺少工作表「{sheet}」：填报版的工作表被改名或删除",
                      "请用市信用办发的填报版重新填写")
    if inp.problems:
        return inp
    guide = book.read(L.HANDOUT_GUIDE)
    expected = Layout.build(inp.rubric, ["-"], [False], handout=True).identity()
    found = guide.get(*_coords(L.GUIDE_ID_CELLS["layout"]))
    if found in L.HANDOUT_LAYOUTS:  # a 填报版's own layout did not change from layout 1 to 2
        expected["layout"] = found
    _check_identity(guide, inp, L.HANDOUT_GUIDE, expected, "填报版", "请用市信用办发的填报版重新填写")
    row, col = _coords(L.HANDOUT_ID_CELLS["unit"])
    unit = guide.get(row, col)
    if not isinstance(unit, str) or not unit.strip():
        inp.error("", _at(L.HANDOUT_GUIDE, row, col), "填报单位", unit, "填报版中没有单位名称：文件被改动")
    if inp.problems:
        return inp
    flag_at = _coords(L.HANDOUT_ID_CELLS["group"])
    flag = guide.get(*flag_at) == "是"
    inp.layout = Layout.build(inp.rubric, [unit.strip()], [flag], handout=True)
    inp.public_service = {normalize_unit_name(unit): flag}
    if L.form_sheet_name(unit.strip()) not in names:
        inp.error(unit, L.form_sheet_name(unit.strip()), "考评表", "", "缺少本单位的考评表：工作表被改名或删除")
    _check_merged(book, inp)
    return inp


def read_inputs(book: Book, rubric: Rubric | None = None, *, choices: dict[str, str] | None = None,
                per_unit_forms_ok: bool = False) -> Inputs:
    """Read and check the template's structure and inputs; every problem is collected in Inputs.problems.

    choices: switch choices that override the book's own 设置 (merge reads a unit's file by the master's);
    per_unit_forms_ok: read a master of layout 1 too (merge: an old full template as a unit's file).
    """
    inp = read_structure(book, rubric, per_unit_forms_ok=per_unit_forms_ok)
    if inp.layout is None or any(p.level == ERROR and p.label in ("工作表", "考评表") for p in inp.problems):
        return inp
    if choices is not None:
        inp.choices = dict(choices)
    inp.rows = [{"unit": u} for u in inp.layout.units]
    _read_data_sheet(book, inp)
    _read_concealment(book, inp)
    if inp.layout.per_unit_forms:
        _read_forms(book, inp)
    else:
        _read_self_scores(book, inp)
    from .returns import read_returns

    inp.returns = read_returns(book, inp.layout)
    inp.problems += inp.returns.problems
    for i, facts in inp.returns.facts.items():  # a self total the unit typed (报送情况 keeps it)
        if facts.get("self_total_typed") is not None and inp.rows[i].get("self_total") is None:
            inp.rows[i]["self_total"] = facts["self_total_typed"]
            col = inp.layout.returns_columns()["self_total_typed"][0]
            inp.locations[(i, "self_total")] = _at(L.RETURNS, inp.layout.unit_row(i), col)
    inp.digest = _digest(inp)
    return inp


_coords = coordinate_to_tuple  # "A2" -> (2, 1)


def _read_settings_units(book: Book, inp: Inputs) -> tuple[list[str], list[bool]]:
    grid = book.read(L.SETTINGS)
    parser = ValueParser("reject")
    group = inp.rubric.group
    units, flags = [], []
    seen: dict[str, int] = {}
    row = L.FIRST_ROW
    while isinstance(grid.get(row, 1), str) and grid.get(row, 1).strip():
        name = grid.get(row, 1).strip()
        key = normalize_unit_name(name)
        if key in seen:
            inp.error(name, _at(L.SETTINGS, row, 1), "单位", grid.get(row, 1),
                      f"单位重复（与第 {seen[key]} 行同名），每个单位只能出现一次")
        seen.setdefault(key, row)
        flag = False
        if group:
            raw = _value(book, grid, L.SETTINGS, row, 2, inp, name, group.label)
            try:
                flag = _parse_cell(raw, parser.flag)
            except BadValue as exc:
                inp.error(name, _at(L.SETTINGS, row, 2), group.label, raw, exc.expected, exc.hint)
                flag = False
            if flag is None:
                inp.error(name, _at(L.SETTINGS, row, 2), group.label, raw, "不能为空，应为 是/否")
                flag = False
        units.append(name)
        flags.append(flag)
        row += 1
    if not units:
        inp.error("", _at(L.SETTINGS, L.FIRST_ROW, 1), "单位", "", "设置中没有任何单位")
    return units, flags


def _read_switches_and_weights(book: Book, inp: Inputs) -> None:
    grid = book.read(L.SETTINGS)
    lay = inp.layout
    for sid, row in lay.switch_rows.items():
        switch = inp.rubric.switches[sid]
        if grid.get(row, 1) != sid:
            inp.error("", _at(L.SETTINGS, row, 1), "开关编号", grid.get(row, 1),
                      f"应为「{sid}」：设置表的结构被改动", "请勿插入或删除设置表的行")
            continue
        raw = _value(book, grid, L.SETTINGS, row, 3, inp, "", f"{sid} {switch.title}")
        by_short = {o.short: o.name for o in switch.options.values()}
        text = "" if raw is None or isinstance(raw, UncomputedFormula) else str(raw).strip()
        if text in by_short:
            inp.choices[sid] = by_short[text]
        elif text in switch.options:
            inp.choices[sid] = text
        else:
            inp.error("", _at(L.SETTINGS, row, 3), f"{sid} {switch.title}", raw,
                      "应为下拉列表中的一项：" + "、".join(by_short))
    parser = ValueParser("reject")
    for name, row in lay.weight_rows.items():
        raw = _value(book, grid, L.SETTINGS, row, 2, inp, "", f"{name}权重")
        try:
            weight = _parse_cell(raw, parser.number)
        except BadValue as exc:
            inp.error("", _at(L.SETTINGS, row, 2), f"{name}权重", raw, exc.expected, exc.hint)
            continue
        if weight is None or weight < 0:
            inp.error("", _at(L.SETTINGS, row, 2), f"{name}权重", raw, "应为不小于 0 的数")
            continue
        inp.weights[name] = weight


def input_areas(lay: Layout) -> list[tuple[str, int, int, int, int]]:
    """Every block of cells people type into: (sheet, first row, first col, last row, last col)."""
    evidence = lay.evidence_columns()
    common = [(L.EVIDENCE, L.FIRST_ROW, 1, lay.evidence_last_row, max(evidence.values()))]
    if lay.rubric.rates_key:
        common.insert(0, (L.CONCEALMENT, L.FIRST_ROW, 1, lay.concealment_last_row, max(L.CONCEALMENT_COLUMNS.values())))
    form_rows = list(lay.form_rows.values())
    if lay.handout:
        rows = [lay.data_rows[c.key] for c in lay.data_columns]
        value = L.HANDOUT_DATA_COLUMNS["value"]
        sheet = form_sheet_name(lay.units[0])
        subm = [r for r, _ in lay.submission_rows().values()]
        return common + [(L.DATA, min(rows), value, max(rows), value), (L.SUBMISSION, min(subm), 2, max(subm), 2)] + [
            (sheet, r, L.FORM_COLUMNS["self"], r, L.FORM_COLUMNS["self"]) for r in form_rows]
    cols = [c.col for c in lay.data_columns]
    areas = [
        (L.SETTINGS, L.FIRST_ROW, 1, lay.last_row, 2),
        (L.DATA, L.FIRST_ROW, 1, lay.last_row, max(cols)),
    ] + common
    areas += [(L.SETTINGS, r, 3, r, 3) for r in lay.switch_rows.values()]
    areas += [(L.SETTINGS, r, 2, r, 2) for r in lay.weight_rows.values()]
    if lay.per_unit_forms:  # layout 1
        for unit in lay.units:
            sheet = form_sheet_name(unit)
            areas += [(sheet, r, L.FORM_COLUMNS["self"], r, L.FORM_COLUMNS["self"]) for r in form_rows]
    else:
        rule_cols = [lay.self_columns[r.id] for r in lay.rubric.rules]
        areas.append((L.SELF_SCORES, L.FIRST_ROW, 1, lay.last_row, max(rule_cols)))
    return areas


def _check_merged(book: Book, inp: Inputs) -> None:
    """Merged cells over input cells: the structure was changed (a merged range keeps one value of several)."""
    lay = inp.layout
    by_sheet: dict[str, list[tuple[int, int, int, int]]] = {}
    for sheet, r1, c1, r2, c2 in input_areas(lay):
        by_sheet.setdefault(sheet, []).append((r1, c1, r2, c2))
    names = set(book.sheet_names)
    unit_of_row = {lay.unit_row(i): u for i, u in enumerate(lay.units)}
    for sheet, areas in by_sheet.items():
        if sheet not in names:
            continue
        for (m1, mc1, m2, mc2) in book.merged_ranges(sheet):
            if any(m1 <= r2 and r1 <= m2 and mc1 <= c2 and c1 <= mc2 for r1, c1, r2, c2 in areas):
                ref = f"{cell(m1, mc1)}:{cell(m2, mc2)}"
                unit = ""
                if sheet in (L.DATA, L.SETTINGS, L.SELF_SCORES) and m1 == m2:
                    unit = unit_of_row.get(m1, "")
                elif sheet.startswith(L.FORM_PREFIX):
                    unit = next((u for u in lay.units if form_sheet_name(u) == sheet), "")
                inp.error(unit, f"{sheet}!{ref}", "合并单元格", "",
                          "输入区域中有合并单元格：模板结构被改动（合并后只保留左上角的值，其余输入会丢失）",
                          "请取消合并单元格，核对数据后再试")


def _read_data_sheet(book: Book, inp: Inputs) -> None:
    lay = inp.layout
    grid = book.read(L.DATA)
    for column in lay.data_columns:
        key_row, key_col = lay.data_key_cell(column.key)
        if grid.get(key_row, key_col) != column.key:
            inp.error("", _at(L.DATA, key_row, key_col), "数据键", grid.get(key_row, key_col),
                      f"应为「{column.key}」：数据录入表的行列被插入、删除或移动", "请勿改动模板的行列")
            inp.blocked = True
            return
    hidden_rows = book.hidden_rows(L.DATA)
    letters = {c.key: L.col_letter(c.col) for c in lay.data_columns}  # positions worked out once, not per unit
    for i, unit in enumerate(lay.units):
        name_cell = lay.unit_name_cell(i)
        inp.locations[(i, "unit")] = _at(L.DATA, *name_cell)
        if grid.get(*name_cell) != unit:
            inp.error(unit, _at(L.DATA, *name_cell), "单位名称", grid.get(*name_cell),
                      f"应为「{unit}」（与设置表一致）：数据录入表的行被插入、删除或改动")
            inp.skipped.add(unit)
            continue
        if not lay.handout and name_cell[0] in hidden_rows:
            inp.warn(unit, _at(L.DATA, *name_cell), "隐藏行", unit, "该单位所在的行被隐藏；隐藏行的数据照常计分",
                     "请取消隐藏，核对该行数据")
        values, locations = inp.rows[i], inp.locations
        for column in lay.data_columns:
            if lay.handout:
                row, col = lay.data_cell(i, column.key)
                locations[(i, column.key)] = _at(L.DATA, row, col)
            else:
                row, col = name_cell[0], column.col
                locations[(i, column.key)] = f"{L.DATA}!{letters[column.key]}{row}"
            raw = grid.get(row, col)
            if type(raw) is Formula:  # its saved result, or the problem of a formula with none (_value)
                raw = _value(book, grid, L.DATA, row, col, inp, unit, column.label)
            elif isinstance(raw, str) and not raw.strip():
                raw = None
            values[column.key] = raw
            if lay.handout and row in hidden_rows:
                inp.warn(unit, _at(L.DATA, row, col), "隐藏行", column.label, "该数据所在的行被隐藏；隐藏行的数据照常计分",
                         "请取消隐藏，核对该行数据")
    if lay.handout:
        return
    hidden_cols = book.hidden_columns(L.DATA)
    for column in lay.data_columns:
        if column.col in hidden_cols:
            inp.warn("", _at(L.DATA, L.DATA_KEY_ROW, column.col), column.label, column.key,
                     "该输入列被隐藏；隐藏列的数据照常计分", "请取消隐藏，核对该列数据")
    for row in range(lay.last_row + 1, grid.max_row + 1):
        extra = [grid.get(row, c.col) for c in lay.data_columns] + [grid.get(row, 1)]
        if any(v not in (None, "") for v in extra):
            inp.error("", _at(L.DATA, row, 1), "数据行", grid.get(row, 1),
                      f"单位行之外有数据：只有第 {L.FIRST_ROW}～{lay.last_row} 行参与计分",
                      "如需增加单位，请在设置中添加后重新生成模板")


def _read_concealment(book: Book, inp: Inputs) -> None:
    if not inp.rubric.rates_key:  # the rubric has no rates typed per department: no 瞒报率明细
        return
    lay = inp.layout
    grid = book.read(L.CONCEALMENT)
    index = {normalize_unit_name(u): i for i, u in enumerate(lay.units)}
    parser = ValueParser.for_rubric(inp.rubric, inp.choices)
    hidden = book.hidden_rows(L.CONCEALMENT)
    for row in range(L.FIRST_ROW, grid.max_row + 1):
        unit_raw = _value(book, grid, L.CONCEALMENT, row, 1, inp, "", "单位")
        dept = _value(book, grid, L.CONCEALMENT, row, 2, inp, "", "被抽查部门")
        raw = _value(book, grid, L.CONCEALMENT, row, 3, inp, "", "瞒报率")
        if (unit_raw is None or lay.handout) and dept is None and raw is None:
            continue  # an empty row (a 填报版 has its unit's name on every row)
        unit_name = "" if unit_raw is None else str(unit_raw).strip()
        i = index.get(normalize_unit_name(unit_name))
        if i is None:
            inp.error(unit_name, _at(L.CONCEALMENT, row, 1), "单位", unit_raw,
                      ("不能为空" if not unit_name else "不是设置中的单位") + "，应为：" + "、".join(lay.units))
            continue
        unit = lay.units[i]
        label = f"瞒报率（{shown(dept)}）"
        inp.concealment_first.setdefault(i, row)
        if row in hidden:
            inp.warn(unit, _at(L.CONCEALMENT, row, 1), "隐藏行", shown(dept), "该瞒报率所在的行被隐藏；隐藏行的数据照常计分",
                     "请取消隐藏，核对该行数据")
        if raw is None:
            inp.error(unit, _at(L.CONCEALMENT, row, 3), label, raw, "不能为空，应为 0%～100% 之间的比率")
            continue
        try:
            rate, warning = _parse_cell(raw, parser.rate)
        except BadValue as exc:
            inp.error(unit, _at(L.CONCEALMENT, row, 3), label, raw, exc.expected, exc.hint)
            continue
        if warning:
            inp.warn(unit, _at(L.CONCEALMENT, row, 3), "瞒报率", raw, warning)
        if isinstance(dept, UncomputedFormula):
            inp.error(unit, _at(L.CONCEALMENT, row, 2), "被抽查部门", dept, *ValueParser._common(dept))
            continue
        inp.concealment.append(ConcealmentRow(row, i, dept, rate))
    first_row = inp.concealment_first
    key = inp.rubric.rates_key
    if key is None:
        return
    rates: dict[int, list[Decimal]] = {}
    for c in inp.concealment:  # grouped once: a unit at a time would be quadratic in the number of units
        rates.setdefault(c.unit, []).append(c.rate)
    for i in range(len(lay.units)):
        inp.rows[i][key] = tuple(rates.get(i, ())) or None
        inp.locations[(i, key)] = (
            _at(L.CONCEALMENT, first_row[i], 3) if i in first_row else f"{L.CONCEALMENT}（没有「{lay.units[i]}」的行）")


def _read_forms(book: Book, inp: Inputs) -> None:
    lay = inp.layout
    for i, unit in enumerate(lay.units):
        sheet = form_sheet_name(unit)
        grid = book.read(sheet)
        headers = tuple(grid.get(L.FORM_HEADER_ROW, c) for c in range(1, len(FORM_HEADERS) + 1))
        if headers != FORM_HEADERS:
            inp.error(unit, _at(sheet, L.FORM_HEADER_ROW, 1), "考评表表头", "、".join(shown(h) for h in headers),
                      "考评表的结构被改动（表头应为 " + "、".join(FORM_HEADERS) + "）")
            continue
        col = L.FORM_COLUMNS["self"]
        hidden = book.hidden_rows(sheet)
        rows = {"self_" + r.id: (lay.form_rows[r.id], f"自评得分 {r.id}") for r in inp.rubric.rules}
        rows["self_total"] = (lay.form_total_rows["total"], "自评总分")
        for key, (row, label) in rows.items():
            if key == "self_total" and isinstance(grid.get(row, col), Formula):
                continue  # the 考评表 sums the self scores itself; only an older file has a typed total here
            inp.rows[i][key] = _value(book, grid, sheet, row, col, inp, unit, label)
            inp.locations[(i, key)] = _at(sheet, row, col)
        if hidden & {row for row, _ in rows.values()}:
            inp.warn(unit, _at(sheet, min(hidden & {row for row, _ in rows.values()}), col), "隐藏行", "",
                     "考评表中有自评得分所在的行被隐藏；隐藏行的数据照常读取", "请取消隐藏，核对自评得分")


def _read_self_scores(book: Book, inp: Inputs) -> None:
    """自评得分: each unit's row, one column per rule (the subtotals and the total there are formulas)."""
    from .sheets.self_scores import column_keys

    lay = inp.layout
    grid = book.read(L.SELF_SCORES)
    for key, text in column_keys(lay).items():
        col = lay.self_columns[key]
        if grid.get(L.HEADER_ROW, col) != text:
            inp.error("", _at(L.SELF_SCORES, L.HEADER_ROW, col), "自评得分表头", grid.get(L.HEADER_ROW, col),
                      f"应为「{text}」：{L.SELF_SCORES}表的列被插入、删除或移动", "请勿改动模板的行列")
            return
    hidden = book.hidden_rows(L.SELF_SCORES)
    for i, unit in enumerate(lay.units):
        row = lay.unit_row(i)
        if grid.get(row, 1) != unit:
            inp.error(unit, _at(L.SELF_SCORES, row, 1), "单位名称", grid.get(row, 1),
                      f"应为「{unit}」（与设置表一致）：{L.SELF_SCORES}表的行被插入、删除、排序或改动",
                      f"请按设置表的单位顺序恢复{L.SELF_SCORES}表的各行")
            inp.skipped.add(unit)
            continue
        if row in hidden:
            inp.warn(unit, _at(L.SELF_SCORES, row, 1), "隐藏行", unit,
                     f"该单位在{L.SELF_SCORES}表的行被隐藏；隐藏行的数据照常读取", "请取消隐藏，核对自评得分")
        for rule in inp.rubric.rules:
            col = lay.self_columns[rule.id]
            inp.rows[i]["self_" + rule.id] = _value(book, grid, L.SELF_SCORES, row, col, inp, unit,
                                                   f"自评得分 {rule.id}")
            inp.locations[(i, "self_" + rule.id)] = _at(L.SELF_SCORES, row, col)
    rule_cols = [lay.self_columns[r.id] for r in inp.rubric.rules]
    for row in range(lay.last_row + 1, grid.max_row + 1):
        if any(grid.get(row, c) not in (None, "") for c in [1, *rule_cols]):
            inp.error("", _at(L.SELF_SCORES, row, 1), "自评得分行", grid.get(row, 1),
                      f"单位行之外有数据：只有第 {L.FIRST_ROW}～{lay.last_row} 行是各单位的自评得分",
                      "如需增加单位，请用 hscredit-xl new --units 生成新模板")
            break


_EXACT = 10 ** 28  # whole numbers below this keep every digit through Decimal.normalize()


def _plain(v: object) -> object:
    """A value as the digest sees it: the same number however it was held (0, 0.0, Decimal('0.00'), 1E+1)."""
    if type(v) is int and -_EXACT < v < _EXACT:  # what the rest gives a whole number, at once (within
        return str(v)  # Decimal's 28 digits; normalize() rounds a longer one, and the digest keeps that)
    if type(v) is float and v.is_integer() and abs(v) < 1e15:  # 25446.0, as a number cell holds a count
        return str(int(v))
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, (Decimal, float, int)) and not isinstance(v, bool):
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        if not d.is_finite():
            return str(d)
        d = d.normalize()
        return format(d, "f") if d != 0 else "0"
    return None if v is None else str(v)


def _digest(inp: Inputs) -> str:
    payload = {"units": inp.layout.units, "group": list(inp.layout.public_service),
               "choices": inp.choices, "weights": {k: _plain(v) for k, v in inp.weights.items()},
               "rows": [{k: _plain(v) for k, v in sorted(r.items())} for r in inp.rows]}
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------- the stamp


def parse_stamp(stamp: object) -> dict | None:
    """The pieces of recompute's 汇总 stamp, None when the cell holds no (well-formed) stamp."""
    if not isinstance(stamp, str):
        return None
    m = _STAMP.match(stamp.strip())
    if not m:
        return None
    return {"recomputed_at": m["time"], "tool_version": m["tool"], "rubric_document": m["document"],
            "rubric_version": m["rubric"], "inputs_sha256": m["digest"]}


def stamp_report(book: Book, inp: Inputs) -> dict:
    """What `report --json` says about traceability: the 汇总 stamp's pieces as written by the last recompute,
    and whether the workbook's current inputs are the ones that stamp was written for."""
    raw = book.value_at(L.SUMMARY, *_coords(inp.layout.summary_stamp_cell)) if L.SUMMARY in book.sheet_names else None
    pieces = parse_stamp(raw)
    doc = inp.rubric.document
    stamp = {"text": raw if isinstance(raw, str) and raw.strip() else None,
             "recomputed_at": None, "tool_version": None, "rubric_document": None, "rubric_version": None,
             "inputs_sha256": None}
    if pieces:
        stamp.update(pieces)
    stamp["matches_inputs"] = bool(pieces) and pieces["inputs_sha256"] == inp.digest
    stamp["matches_rubric"] = bool(pieces) and (pieces["rubric_document"], pieces["rubric_version"]) == (
        doc["number"], str(inp.rubric.version))
    return {"inputs_sha256": inp.digest, "tool_version": __version__, "stamp": stamp}


# ------------------------------------------------------------------------------------------------- scoring


def require_master(inp: Inputs) -> None:
    """Refuse a unit's 填报版 where the city's master is meant: one unit alone can not be ranked."""
    if inp.layout is not None and inp.layout.handout:
        raise InputProblems([Problem(ERROR, inp.layout.units[0], L.HANDOUT_GUIDE, "工作簿", "填报版",
                                     "这是单位的填报版，不是市信用办的主工作簿：一个单位无法单独排名计分",
                                     "请用 hscredit-xl merge 主工作簿.xlsx 填报版.xlsx 合并后再重算")])


def score_inputs(inp: Inputs) -> Result:
    """The engine's result for a workbook's inputs; raises InputProblems listing every problem.

    Every problem is listed at once: a structure problem (merged cells, a stray row) does not hide the value
    problems of the rows that could be read. Only when the data sheet itself can not be read (a sheet or a
    column missing) are the values not checked. One error per cell: a cell already reported while reading is
    not reported again by the value checks.
    """
    if any(p.level == ERROR for p in inp.problems) and (inp.layout is None or not inp.rows or inp.blocked):
        raise InputProblems(inp.problems)
    try:
        result = score_rows(inp.rows, inp.rubric, choices=inp.choices, public_service=inp.public_service,
                            locate=inp.locate, weights=inp.weights, problems=inp.problems)
    except InputProblems as exc:
        reported = {p.field for p in inp.problems if p.level == ERROR}
        more = [p for p in exc.problems if p not in inp.problems
                and p.field not in reported and p.unit not in inp.skipped]
        raise InputProblems(list(inp.problems) + more) from None
    result.problems = [_located(inp, p) for p in result.problems]  # the engine names keys; a workbook, cells
    return result


@dataclass
class Outcome:
    inputs: Inputs
    result: Result | None
    problems: list[Problem]
    stamp: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None


def recompute(book: Book, *, rubric: Rubric | None = None, write_problems_on_error: bool = False,
              now: dt.datetime | None = None) -> Outcome:
    """Validate, score and write the results into the book (the caller saves an OpenpyxlBook).

    `rubric`: the one given with `--rubric` (default: the rubric the book records, rubricof.py).
    With problems in the inputs nothing is written, except the 校验结果 sheet when write_problems_on_error
    (Excel: the person sees the list where they work).
    """
    inp = read_inputs(book, rubric)
    try:
        require_master(inp)
        result = score_inputs(inp)
    except InputProblems as exc:
        if write_problems_on_error and L.CHECK in book.sheet_names:
            write_check_sheet(book, exc.problems, now)
        return Outcome(inp, None, exc.problems)
    stamp = write_results(book, inp, result, now)
    if rubric is not None:  # found with --rubric: where it is now is recorded, for the next command and the ribbon
        from .rubricof import record_moved

        record_moved(book, inp.rubric)
    return Outcome(inp, result, result.problems, stamp)


def _f(x: Decimal | None) -> float | None:
    return None if x is None else float(round_half_up(x))


def write_results(book: Book, inp: Inputs, result: Result, now: dt.datetime | None = None) -> str:
    lay, rubric = inp.layout, inp.rubric
    _refresh_formulas(book, lay, inp.choices)
    units = result.units
    cols = lay.summary_columns
    base_ids = [r.id for r in rubric.base_rules]
    first = L.FIRST_ROW
    # 汇总's native sums must add what the engine adds: rounded rule scores, or exact ones (decisions A9)
    exact = inp.rubric.policy(inp.choices, "rounding") == "end_only"
    rule_value = (lambda x: None if x is None else float(x)) if exact else _f
    book.write(L.SUMMARY, first, cols[base_ids[0]], [[rule_value(u.rules[rid]) for rid in base_ids] for u in units])
    for key, get in (("bonus", lambda u: _f(u.bonus)), ("deduction", lambda u: _f(u.deduction)),
                     ("self_total", lambda u: _f(u.self_total)), ("adjustment", lambda u: _f(u.adjustment)),
                     ("adjustment_reason", lambda u: u.adjustment_reason or None)):
        book.write(L.SUMMARY, first, cols[key], [[get(u)] for u in units])

    previous = book.value_at(L.SUMMARY, *_coords(lay.summary_stamp_cell))
    legacy = book.value_at(L.SUMMARY, *_coords(lay.legacy_stamp_cell))  # both read before the sheet is written
    stamp = _stamp(inp, now, previous)
    book.write(L.SUMMARY, *_coords(lay.summary_stamp_cell), [[stamp]])
    if isinstance(legacy, str) and legacy.startswith(STAMP_PREFIX):  # an earlier version's stamp: one stamp only
        book.write(L.SUMMARY, *_coords(lay.legacy_stamp_cell), [[None]])
    if L.RESULT in book.sheet_names:
        _write_result(book, lay, result, stamp)
    write_review(book, lay, rubric, units)
    if L.FORM in book.sheet_names:
        book.write(L.FORM, lay.form_stamp_row, 1, [[stamp]])
    if L.RETURNS in book.sheet_names and inp.returns is not None:
        from .returns import unit_statuses, write_returns_sheet

        write_returns_sheet(book, lay, unit_statuses(rubric, lay, inp.choices, inp.rows, inp.returns))
    write_check_sheet(book, result.problems, now)
    return stamp


def _located(inp: Inputs, p: Problem) -> Problem:
    """A problem the engine names by data key (a typed self total, an adjustment), named by its cell instead."""
    if p.unit in inp.layout.units and (inp.layout.units.index(p.unit), p.field) in inp.locations:
        return replace(p, field=inp.locate(inp.layout.units.index(p.unit), p.field))
    return p


def _write_result(book: Book, lay: Layout, result: Result, stamp: str) -> None:
    """考核评价结果: the units in the order of the final ranking, and the date of the review."""
    cols = lay.result_columns()
    position = {unit: i for i, unit in enumerate(lay.units)}
    order = sorted(result.units, key=lambda u: (u.final_rank, position[u.unit]))

    def value(u, key: str) -> object:
        if key == "unit":
            return u.unit
        if key == "final_rank":
            return u.final_rank
        if key == "adjustment_reason":
            return u.adjustment_reason or None
        if key.startswith("weight:"):
            return _f(u.weighted[key.split(":", 1)[1]])
        return _f(getattr(u, key))

    keys = [k for k, _ in sorted(cols.items(), key=lambda kv: kv[1][0])]
    book.write(L.RESULT, L.FIRST_ROW, 1, [[value(u, k) for k in keys] for u in order])
    pieces = parse_stamp(stamp)
    day = dt.date.fromisoformat(pieces["recomputed_at"][:10]) if pieces else None
    book.write(L.RESULT, lay.result_sign_rows[1], 1, [[f"{day.year}年{day.month}月{day.day}日" if day else None]])


def _stamp(inp: Inputs, now: dt.datetime | None, previous: object) -> str:
    """Time, tool and rubric versions and the inputs' SHA-256; kept as it was when nothing changed."""
    doc = inp.rubric.document
    tail = f"；工具 hscredit-xl {__version__}；细则 {doc['number']}（版本 {inp.rubric.version}）；输入数据 SHA-256：{inp.digest}"
    if isinstance(previous, str) and previous.startswith(STAMP_PREFIX) and previous.endswith(tail):
        return previous
    moment = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    return f"{STAMP_PREFIX}{moment}{tail}"


def review_row(lay: Layout, rubric: Rubric, u) -> dict[str, object]:
    """A unit's 复核得分 and 计分依据 by 复核明细's keys, as its 考评表 shows them: the bonus item and the deduction
    as one score each, a rule the unit is not assessed on as 不参加考核."""
    out: dict[str, object] = {}
    for rule in rubric.rules:
        if rule.role == "bonus":
            value = _f(u.bonus)
        elif rule.role == "deduction":
            value = _f(u.deduction)
        else:
            score = u.rules[rule.id]
            value = L.NOT_ASSESSED if score is None else _f(score)
        out[f"score:{rule.id}"] = value
        out[f"why:{rule.id}"] = u.why.get(rule.id) or None
    out.update(base=_f(u.base), base_scaled=_f(u.base_scaled), total=_f(u.total), why_total=u.why_total or None)
    return out


def write_review(book: Book, lay: Layout, rubric: Rubric, units) -> None:
    """复核明细: every unit's 复核得分 and 计分依据, one row per unit, in one block."""
    keys = sorted(lay.review_columns, key=lay.review_columns.get)
    block = []
    for u in units:
        row = review_row(lay, rubric, u)
        block.append([row[k] for k in keys])
    book.write(L.REVIEW, L.FIRST_ROW, lay.review_columns[keys[0]], block)


def _refresh_formulas(book: Book, lay: Layout, choices: dict[str, str]) -> None:
    """Rewrite the formulas that depend on 设置's switches, when they were written for other choices."""
    signature = L.formula_signature(choices)
    row, col = _coords(lay.score_signature_cell)
    if book.value_at(L.SCORES, row, col) == signature:
        return
    for rule_id, formula in lay.score_formulas(choices).items():
        c = lay.score_columns[rule_id]
        ref = f"{L.col_letter(c)}{L.FIRST_ROW}:{L.col_letter(c)}{lay.last_row}"
        book.write_array_formula(L.SCORES, ref, formula)
    n = len(lay.units)
    book.write_formulas(L.SCORES, L.FIRST_ROW, lay.score_columns["applicable_max"],
                        [[lay.applicable_max_formula(lay.unit_row(i), choices)] for i in range(n)])
    book.write_array_formula(L.SCORES, lay.live_total_ref(), lay.live_total_formula(choices))
    # one block per column (汇总) or per run of columns (数据录入, 自评得分), whatever the number of units
    summary = [lay.summary_formulas(lay.unit_row(i), choices) for i in range(n)]
    for key in summary[0]:
        book.write_formulas(L.SUMMARY, L.FIRST_ROW, lay.summary_columns[key], [[f[key]] for f in summary])
    derived = sorted(lay.derived_columns, key=lay.derived_columns.get)
    if derived:
        rows = [lay.derived_formulas(lay.unit_row(i), choices) for i in range(n)]
        book.write_formulas(L.DATA, L.FIRST_ROW, lay.derived_columns[derived[0]],
                            [[f[k] for k in derived] for f in rows])
    book.write(L.SUMMARY, L.HEADER_ROW, lay.summary_columns["difference"], [[L.difference_header(lay.rubric, choices)]])
    # the self totals follow the group and rounding policies; the 考评表 says which options its rows were scored by
    totals = ("base", "base_scaled", "total")
    rows = [lay.self_row_formulas(i, choices) for i in range(n)]
    book.write_formulas(L.SELF_SCORES, L.FIRST_ROW, lay.self_columns[totals[0]], [[f[k] for k in totals] for f in rows])
    from .sheets.form import form_note, scoring_texts

    texts = scoring_texts(lay.rubric, choices)
    rule_ids = [r.id for r in lay.rubric.rules]
    book.write(L.FORM, lay.form_rows[rule_ids[0]], L.FORM_COLUMNS["scoring"], [[texts[r]] for r in rule_ids])
    book.write(L.FORM, lay.form_note_row, 1, [[form_note(lay.rubric, lay, choices)]])
    _write_picker_formulas(book, lay)  # a 报送版 holds values there: the lookups come back
    book.write(L.SCORES, row, col, [[signature]])


def _write_picker_formulas(book: Book, lay: Layout) -> None:
    """The 考评表's lookups, a block per run of rows in a column (five writes)."""
    cells = lay.picker_formulas()
    by_col: dict[int, list[int]] = {}
    for row, col in sorted(cells, key=lambda rc: (rc[1], rc[0])):
        by_col.setdefault(col, []).append(row)
    for col, rows in by_col.items():
        run = [rows[0]]
        for row in rows[1:] + [None]:
            if row is not None and row == run[-1] + 1:
                run.append(row)
                continue
            book.write_formulas(L.FORM, run[0], col, [[cells[(r, col)]] for r in run])
            run = [row]


def write_check_sheet(book: Book, problems: list[Problem], now: dt.datetime | None = None) -> None:
    """校验结果: every problem, one per row; what a previous run wrote below is cleared."""
    old = book.read(L.CHECK).max_row
    errors = sum(p.level == ERROR for p in problems)
    warnings = len(problems) - errors
    if errors:
        summary = f"发现 {errors} 个错误、{warnings} 个提示：请按下表修改后再重算（本次未计分）。"
    elif warnings:
        summary = f"计分完成；有 {warnings} 个提示，请核对。"
    else:
        summary = "计分完成，未发现问题。"
    book.write(L.CHECK, 2, 1, [[summary]])
    rows = [["错误" if p.level == ERROR else "提示", p.unit, p.field, p.label, p.value, p.expected + (f"。{p.hint}" if p.hint else "")]
            for p in problems]
    blank_rows = max(0, old - 3 - len(rows))
    block = rows + [[None] * 6 for _ in range(blank_rows)]
    if block:
        book.write(L.CHECK, 4, 1, block)
