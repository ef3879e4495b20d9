"""`hscredit-xl fill`: put a data file (contract §1) into a template's input cells.

Nothing typed is lost: a blank in the data file writes nothing, a value that differs from one the workbook
already holds is a conflict (all listed, nothing written) unless --replace, and a value equal to the one
there (85% and 0.85) leaves the cell as it was typed. `conflicts` is the one comparison for every writer.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ..inputs import (ERROR, SELF_PREFIX, WARNING, BadValue, Problem, UncomputedFormula, UnitInput, ValueParser,
                      normalize_unit_name, parse_units, shown)
from ..rubric import Rubric
from ..scoring import InputProblems
from ..unitlist import check_unit_names
from . import layout as L
from .book import Book
from .recompute import read_inputs, read_structure

YES, NO = "是", "否"


def _cell_value(value: object) -> object:
    """What a typed value looks like in the template: 是/否 for flags, numbers as numbers."""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)
    return value


@dataclass(frozen=True)
class Conflict:
    """A value the workbook already holds that a new one (data file, unit file) would replace."""

    unit: str
    key: str
    label: str
    cell: str  # sheet!cell
    old: object
    new: object
    kind: str = ""  # the field's type (rates are shown as percentages)

    def problem(self, replaced: bool = False) -> Problem:
        old, new = _shown(self.old, self.kind), _shown(self.new, self.kind)
        where = f"{self.cell}" if self.cell else self.key
        label = f"{self.key} {self.label}" if self.cell else self.label
        if replaced:
            return Problem(WARNING, self.unit, where, label, old, f"已按 --replace 替换为数据文件中的「{new}」")
        return Problem(ERROR, self.unit, where, label, old,
                       f"与数据文件中的「{new}」不同（工作簿「{old}」→ 数据文件「{new}」），未替换",
                       "请核对；确认以数据文件为准时加 --replace（替换前的工作簿保留在历史版本中）")


def _shown(value: object, kind: str = "") -> str:
    if isinstance(value, (tuple, list)):
        return ";".join(_shown(v, kind) for v in value)
    if kind in ("rate", "rates") and isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        return _shown(Decimal(repr(value) if isinstance(value, float) else value) * 100) + "%"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value != value.to_integral_value() else str(int(value))
    return shown(value)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == ()


def _kind(key: str, rubric) -> str:
    if key.startswith(SELF_PREFIX) or key == "adjustment":
        return "number"
    if key == "adjustment_reason":
        return "text"
    try:
        return rubric.field(key).type
    except KeyError:
        return "text"


def same_value(kind: str, old: object, new: object) -> bool:
    """Whether two spellings hold the same value for a field of this kind (85% and 0.85, 是 and Y, 1,000
    and 1000); values that do not parse are the same only as the same text."""
    parser = ValueParser("reject")
    if isinstance(old, UncomputedFormula) or isinstance(new, UncomputedFormula):
        return False

    def parse(value):
        if kind in ("count", "number", "score"):
            return parser.number(value)
        if kind == "rate":
            return parser.rate(value)[0]
        if kind == "rates":
            items = value if isinstance(value, (list, tuple)) else re.split(r"[;；]", str(value))
            return sorted(parser.rate(x)[0] for x in items if not _blank(x))
        if kind == "flag":
            return parser.flag(value)
        raise BadValue("text")

    try:
        if ValueParser._common(old) or ValueParser._common(new):
            raise BadValue("not a value")
        return parse(old) == parse(new)
    except BadValue:
        return unicodedata.normalize("NFKC", _shown(old)).strip() == unicodedata.normalize("NFKC", _shown(new)).strip()


def conflicts(unit: str, old_cells: Mapping[str, tuple[str, object]], new_values: Mapping[str, object],
              rubric) -> list[Conflict]:
    """The keys where ``new_values`` would replace a different value the workbook holds.

    old_cells: key -> (sheet!cell, the value as read); new_values: key -> the new value (typed or as typed).
    A blank new value never conflicts (it replaces nothing), nor does a blank cell, nor an equal value.
    """
    found = []
    for key, new in new_values.items():
        where, old = old_cells.get(key, ("", None))
        kind = _kind(key, rubric)
        if _blank(new) or _blank(old) or same_value(kind, old, new):
            continue
        found.append(Conflict(unit, key, _label(key, rubric), where, old, new, kind))
    return found


def _label(key: str, rubric) -> str:
    if key.startswith(SELF_PREFIX):
        return "自评总分" if key == SELF_PREFIX + "total" else f"自评得分 {key[len(SELF_PREFIX):]}"
    return {"adjustment": "综合评定调整分", "adjustment_reason": "调整理由"}.get(key) or rubric.field(key).label


def fill_book(book: Book, rows: list[dict], problems: list[Problem] | None = None, *,
              replace: bool = False, rubric: Rubric | None = None) -> list[Problem]:
    """Validate the rows against the template and write them; raises InputProblems (nothing written) on errors.

    A blank in ``rows`` writes nothing (it never erases a cell); a value that differs from a non-empty cell is a
    conflict: all are listed and nothing is written, unless ``replace``. Equal values are left as typed."""
    inp = read_structure(book, rubric)  # `rubric`: given with --rubric; default the one the book records
    found = list(problems or []) + inp.problems
    if not rows and not any(p.level == ERROR for p in found):
        found.append(Problem(ERROR, "", "unit", "单位名称", "", "数据文件中没有任何单位的数据行，未写入",
                             "第一行为数据键，其后每个单位一行"))
    if any(p.level == ERROR for p in found):
        raise InputProblems(found)
    lay = inp.layout
    known = {u: i for i, u in enumerate(lay.units)}
    found += check_unit_names([row.get("unit") for row in rows], lay.units, require_all=False,
                              list_name="模板的单位名单", how="见设置表")
    placed = {n: known[str(row.get("unit") or "").strip()] for n, row in enumerate(rows)
              if str(row.get("unit") or "").strip() in known}
    units, parse_problems = parse_units(inp.rubric, rows, choices=dict(inp.rubric.default_choices, **inp.choices),
                                        public_service=inp.public_service)
    found += parse_problems
    if any(p.level == ERROR for p in found):
        raise InputProblems(found)
    for i, unit in enumerate(lay.units):
        if i not in placed.values():
            found.append(Problem(WARNING, unit, "unit", "单位名称", unit, "数据文件中没有该单位，模板中它的数据未改动"))

    old = read_inputs(book, inp.rubric)
    blocking = [p for p in old.problems if p.level == ERROR and (old.blocked or p.unit in old.skipped)]
    if blocking:  # columns moved or unit rows changed: writing by position would hit the wrong cells
        raise InputProblems(found + blocking)
    choices = dict(inp.rubric.default_choices, **inp.choices)
    if lay.handout:  # 综合评定 is the city's: a 填报版 has no place for it, and says so rather than drop it
        found += [Problem(WARNING, unit.name, "adjustment", "综合评定调整分", str(unit.adjustment),
                          "填报版不含综合评定调整（由市信用办确定），未写入") for unit in units
                  if unit.adjustment or unit.adjustment_reason]
    plans = {placed[n]: _new_values(rows[n], unit, inp.rubric, choices) for n, unit in enumerate(units)}
    as_typed = {placed[n]: {k: rows[n].get(k, v) for k, v in plans[placed[n]].items()} for n in range(len(units))}
    clashes = [c for i, new in as_typed.items()
               for c in conflicts(lay.units[i], _old_cells(old, i), new, inp.rubric)]
    if clashes and not replace:
        raise InputProblems(found + [c.problem() for c in clashes])
    found += [c.problem(replaced=True) for c in clashes]

    concealment = {}
    rates_key = inp.rubric.rates_key
    for i, new in plans.items():
        cells = _old_cells(old, i)
        changed = {k: v for k, v in new.items() if _blank(cells.get(k, ("", None))[1])
                   or not same_value(_kind(k, inp.rubric), cells[k][1], v)}
        rates = changed.pop(rates_key, None)
        if rates is not None:
            concealment[i] = [(f"被抽查部门{k}", rate) for k, rate in enumerate(rates, start=1)]
        _write_unit(book, lay, i, changed)
    if concealment:
        write_concealment(book, lay, concealment)
    return found


def _new_values(row: Mapping[str, object], unit: UnitInput, rubric: Rubric, choices: Mapping[str, str]) -> dict[str, object]:
    """What a data-file row puts into the workbook: its non-blank values that were read (typed)."""
    values = {k: v for k, v in unit.values.items() if not _blank(row.get(k))}
    values.update({SELF_PREFIX + rid: score for rid, score in unit.self_scores.items()})
    if not _blank(row.get("adjustment")) and rubric.policy(choices, "adjustment") != "no_adjustment":
        values["adjustment"] = unit.adjustment
    if unit.adjustment_reason:
        values["adjustment_reason"] = unit.adjustment_reason
    return values


def _old_cells(old, i: int) -> dict[str, tuple[str, object]]:
    """key -> (sheet!cell, value as read) of unit i in the workbook as it is."""
    return {key: (old.locate(i, key), value) for key, value in old.rows[i].items() if key != "unit"}


def _write_unit(book: Book, lay: L.Layout, i: int, values: Mapping[str, object]) -> None:
    """Write the given values of unit i (data keys, self_<rule>), each to its own cell; nothing else is touched."""
    write_data(book, lay, i, {c.key: values[c.key] for c in lay.data_columns if c.key in values})
    write_self_scores(book, lay, i, {k[len(SELF_PREFIX):]: v for k, v in values.items() if k.startswith(SELF_PREFIX)})


def write_data(book: Book, lay: L.Layout, i: int, values: dict[str, object]) -> None:
    """A unit's 数据录入 values (data key -> value), as one block: a row on the master, a column in a 填报版."""
    keys = [c.key for c in lay.data_columns if c.key in values]
    if not keys:
        return
    block = [_cell_value(values[k]) for k in keys]
    if lay.handout:
        rows = [lay.data_rows[k] for k in keys]
        if rows == list(range(rows[0], rows[0] + len(rows))):
            book.write(L.DATA, rows[0], L.HANDOUT_DATA_COLUMNS["value"], [[v] for v in block])
            return
    for k, v in zip(keys, block):
        book.write(L.DATA, *lay.data_cell(i, k), [[v]])


def write_self_scores(book: Book, lay: L.Layout, i: int, self_scores: dict) -> None:
    """The unit's 自评得分 of the rules given — its row of 自评得分 (the master), its 考评表 (a 填报版); the
    totals there are formulas. The other rules are left as they are; a run of given rules is one write. A typed
    self total goes to 报送情况, where recompute compares it with the unit's own items; a 填报版 has no place
    for it."""
    cells = [(lay.self_cell(i, rule.id), _cell_value(self_scores[rule.id])) for rule in lay.rubric.rules
             if rule.id in self_scores]
    run: list[tuple[tuple[str, int, int], object]] = []
    for (sheet, row, col), value in cells + [(("", 0, 0), None)]:
        if run and (sheet, row, col) != (run[0][0][0], run[0][0][1], run[0][0][2] + len(run)):
            first = run[0][0]
            book.write(first[0], first[1], first[2], [[v for _, v in run]])
            run = []
        if sheet:
            run.append(((sheet, row, col), value))
    if "total" in self_scores and not lay.handout and L.RETURNS in book.sheet_names:
        col = lay.returns_columns()["self_total_typed"][0]
        book.write(L.RETURNS, lay.unit_row(i), col, [[_cell_value(self_scores["total"])]])


def write_concealment(book: Book, lay: L.Layout, targets: dict[int, list[tuple[object, Decimal]]]) -> None:
    """瞒报率明细: the rows of the units in `targets` (unit index -> [(department, rate)]) are replaced."""
    if not targets or not lay.rubric.rates_key:
        return
    write_unit_rows(book, L.CONCEALMENT, lay.concealment_last_row, lay.units, 3,
                    {i: [[department, float(rate)] for department, rate in rows] for i, rows in targets.items()},
                    given_unit=lay.handout)


def write_unit_rows(book: Book, sheet: str, last: int, units: list[str], width: int,
                    targets: dict[int, list[list[object]]], given_unit: bool = False) -> None:
    """A per-unit list (瞒报率明细, 佐证资料: the unit's name first, then `width` − 1 values): the rows of the
    units in `targets` (unit index -> rows without the name) are replaced.

    Every other unit's rows stay where they are, untouched (never a cell somebody else typed). The old rows
    of the replaced units are cleared, and the new ones go to the first free rows of the input area, in unit
    order. `given_unit`: the name is already on every row and locked (a 填报版): only the values are written.
    Raises InputProblems (nothing written) when the input area is too small.
    """
    grid = book.read(sheet)
    replaced = {normalize_unit_name(units[i]) for i in targets}
    first_col = 2 if given_unit else 1
    cleared, free = [], []
    for row in range(L.FIRST_ROW, max(last, grid.max_row) + 1):
        values = [grid.get(row, c) for c in range(1, width + 1)]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values[first_col - 1:]):
            if row <= last:
                free.append(row)
        elif isinstance(values[0], str) and normalize_unit_name(values[0]) in replaced:
            cleared.append(row)
            if row <= last:
                free.append(row)
    free.sort()
    new = [[units[i], *values] for i in sorted(targets) for values in targets[i]]
    if len(new) > len(free):
        capacity = last - L.FIRST_ROW + 1
        raise InputProblems([Problem(ERROR, "", sheet, sheet, f"{len(new)} 行",
                                     f"模板的 {capacity} 行输入区只剩 {len(free)} 行可用",
                                     "请减少行数，或重新生成更大的模板")])
    for row in cleared:
        book.write(sheet, row, first_col, [[None] * (width + 1 - first_col)])
    for row, values in zip(free, new):
        book.write(sheet, row, first_col, [values[first_col - 1:]])
