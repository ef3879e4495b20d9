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
    if lay.handout:  # 综合评定 is the city's: a 填报版 has no place for it, and says so rather than drop it
        found += [Problem(WARNING, unit.name, "adjustment", "综合评定调整分", str(unit.adjustment),
                          "填报版不含综合评定调整（由市信用办确定），未写入") for unit in units
                  if unit.adjustment or unit.adjustment_reason]
    for i, unit in targets.items():
        _write_unit(book, lay, i, unit)
    _write_concealment(book, lay, targets)
    return found


def _write_unit(book: Book, lay: L.Layout, i: int, unit: UnitInput) -> None:
    values = dict(unit.values)
    values["adjustment"] = unit.adjustment if unit.adjustment else None
    values["adjustment_reason"] = unit.adjustment_reason or None
    write_data(book, lay, i, {c.key: values.get(c.key) for c in lay.data_columns})
    write_self_scores(book, lay, i, unit.self_scores)


def write_data(book: Book, lay: L.Layout, i: int, values: dict[str, object]) -> None:
    """A unit's 数据录入 values (data key -> value), as one block: a row on the master, a column in a 填报版."""
    keys = [c.key for c in lay.data_columns if c.key in values]
    block = [_cell_value(values[k]) for k in keys]
    if lay.handout:
        rows = [lay.data_rows[k] for k in keys]
        if rows == list(range(rows[0], rows[0] + len(rows))):
            book.write(L.DATA, rows[0], L.HANDOUT_DATA_COLUMNS["value"], [[v] for v in block])
            return
    for k, v in zip(keys, block):
        book.write(L.DATA, *lay.data_cell(i, k), [[v]])


def write_self_scores(book: Book, lay: L.Layout, i: int, self_scores: dict) -> None:
    """The 考评表's 自评得分 per rule (the totals there are formulas). A typed self total goes to 报送情况, where
    recompute compares it with the unit's own items; a 填报版 has no place for it."""
    sheet = form_sheet_name(lay.units[i])
    rule_ids = [r.id for r in lay.rubric.rules]
    book.write(sheet, lay.form_rows[rule_ids[0]], L.FORM_COLUMNS["self"],
               [[_cell_value(self_scores.get(rid))] for rid in rule_ids])
    if "total" in self_scores and not lay.handout and L.RETURNS in book.sheet_names:
        col = lay.returns_columns()["self_total_typed"][0]
        book.write(L.RETURNS, lay.unit_row(i), col, [[_cell_value(self_scores["total"])]])


def _write_concealment(book: Book, lay: L.Layout, targets: dict[int, UnitInput]) -> None:
    """Replace the detail rows of the units in the data file; keep every other unit's rows as they are."""
    write_concealment(book, lay, {i: [(f"被抽查部门{k}", rate) for k, rate in
                                      enumerate(unit.values["concealment_rates"], start=1)]
                                  for i, unit in targets.items()})


def write_concealment(book: Book, lay: L.Layout, targets: dict[int, list[tuple[object, Decimal]]]) -> None:
    """瞒报率明细: the rows of the units in `targets` (unit index -> [(department, rate)]) are replaced."""
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
