"""`hscredit-xl fill`: put a data file (contract §1) into a template's input cells."""
from __future__ import annotations

from decimal import Decimal

from ..inputs import ERROR, WARNING, Problem, UnitInput, normalize_unit_name, parse_units
from ..scoring import InputProblems
from . import layout as L
from .book import Book
from .layout import form_sheet_name
from .recompute import read_structure

YES, NO = "是", "否"


def _cell_value(value: object) -> object:
    """What a typed value looks like in the template: 是/否 for flags, numbers as numbers."""
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 10**15 else float(value)
    return value


def fill_book(book: Book, rows: list[dict], problems: list[Problem] | None = None) -> list[Problem]:
    """Validate the rows against the template and write them; raises InputProblems (nothing written) on errors."""
    inp = read_structure(book)
    found = list(problems or []) + inp.problems
    if any(p.level == ERROR for p in found):
        raise InputProblems(found)
    lay = inp.layout
    known = {normalize_unit_name(u): i for i, u in enumerate(lay.units)}
    placed: dict[int, int] = {}
    for n, row in enumerate(rows):
        name = str(row.get("unit") or "").strip()
        i = known.get(normalize_unit_name(name))
        if name and i is None:
            found.append(Problem(ERROR, name, "unit", "单位名称", name, "不是模板中的单位，应为：" + "、".join(lay.units)))
        elif i is not None:
            placed[n] = i
    units, parse_problems = parse_units(inp.rubric, rows, choices=dict(inp.rubric.default_choices, **inp.choices),
                                        public_service=inp.public_service)
    found += parse_problems
    if any(p.level == ERROR for p in found):
        raise InputProblems(found)
    for i, unit in enumerate(lay.units):
        if i not in placed.values():
            found.append(Problem(WARNING, unit, "unit", "单位名称", unit, "数据文件中没有该单位，模板中它的数据未改动"))

    targets = {placed[n]: unit for n, unit in enumerate(units)}
    for i, unit in targets.items():
        _write_unit(book, lay, i, unit)
    _write_concealment(book, lay, targets)
    return found


def _write_unit(book: Book, lay: L.Layout, i: int, unit: UnitInput) -> None:
    row = lay.unit_row(i)
    values = dict(unit.values)
    values["adjustment"] = unit.adjustment if unit.adjustment else None
    values["adjustment_reason"] = unit.adjustment_reason or None
    block = [_cell_value(values.get(c.key)) for c in lay.data_columns]
    book.write(L.DATA, row, lay.data_columns[0].col, [block])
    sheet = form_sheet_name(lay.units[i])
    rule_ids = [r.id for r in lay.rubric.rules]
    book.write(sheet, lay.form_rows[rule_ids[0]], L.FORM_COLUMNS["self"],
               [[_cell_value(unit.self_scores.get(rid))] for rid in rule_ids])
    book.write(sheet, lay.form_total_rows["total"], L.FORM_COLUMNS["self"], [[_cell_value(unit.self_scores.get("total"))]])


def _write_concealment(book: Book, lay: L.Layout, targets: dict[int, UnitInput]) -> None:
    """Replace the detail rows of the units in the data file; keep every other unit's rows as they are."""
    write_concealment(book, lay, {i: [(f"被抽查部门{k}", rate) for k, rate in
                                      enumerate(unit.values["concealment_rates"], start=1)]
                                  for i, unit in targets.items()})


def write_concealment(book: Book, lay: L.Layout, targets: dict[int, list[tuple[object, Decimal]]]) -> None:
    """瞒报率明细: the rows of the units in `targets` (unit index -> [(department, rate)]) are replaced.

    Every other unit's rows stay where they are, untouched (never a cell somebody else typed). The old rows
    of the replaced units are cleared, and the new ones go to the first free rows of the input area, in unit
    order. Raises InputProblems (nothing written) when the input area is too small.
    """
    grid = book.read(L.CONCEALMENT)
    replaced = {normalize_unit_name(lay.units[i]) for i in targets}
    last = lay.concealment_last_row
    cleared, free = [], []
    for row in range(L.FIRST_ROW, max(last, grid.max_row) + 1):
        values = [grid.get(row, c) for c in (1, 2, 3)]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            if row <= last:
                free.append(row)
        elif isinstance(values[0], str) and normalize_unit_name(values[0]) in replaced:
            cleared.append(row)
            if row <= last:
                free.append(row)
    free.sort()
    new = [[lay.units[i], department, float(rate)]
           for i in sorted(targets) for department, rate in targets[i]]
    if len(new) > len(free):
        capacity = last - L.FIRST_ROW + 1
        raise InputProblems([Problem(ERROR, "", L.CONCEALMENT, "瞒报率明细", f"{len(new)} 行",
                                     f"模板的 {capacity} 行输入区只剩 {len(free)} 行可用",
                                     "请减少部门数，或重新生成更大的模板")])
    for row in cleared:
        book.write(L.CONCEALMENT, row, 1, [[None, None, None]])
    for row, values in zip(free, new):
        book.write(L.CONCEALMENT, row, 1, [values])
