"""`hscredit-xl merge MASTER UNIT_FILE... [-o OUT]`: the units' self-evaluations into the city's workbook.

The notice's workflow: each unit fills its data and 自评得分 in its copy of the template (自查自评) and mails
it back; the city merges the copies into its master workbook, reviews (复核打分) and ranks (综合评定).

What is copied, per unit file, into the master:
* the unit's row of 数据录入 (every input column);
* the unit's rows of 瞒报率明细 (department and rate), replacing the master's rows of that unit; every other
  unit's rows stay where they are;
* the unit's 自评得分: from its 考评表 (a 填报版, or a full template of layout 1, which had one 考评表 per unit)
  or its row of 自评得分 (a full template), into the master's 自评得分 row of the unit; a typed self total
  into 报送情况.
Values are copied as read and checked (a rate typed "８５％" arrives as 0.85, "是 " as 是), never as formulas.
A unit may also send its data file (contract §1, a .csv with its one row): the same checks, the same copy.

Which unit a file belongs to — the rule: **a unit file holds data for exactly one unit.** A unit "has data"
in a file when any of its input cells holds something: a cell of its 数据录入 row, a 瞒报率明细 row naming
it, or one of its 自评得分 cells. A file with no unit's data (an empty template) and a file with data for
two or more units (another unit's data, or last year's whole workbook) are refused; the message says where
each unit's data is. The unit's name is that of the file's own unit list, matched to the master's after
normalising what people type (full-width forms, spaces, '.'/'・' for '·'); a name the master does not know
is an error that lists the known ones. Names are not guessed from the file name (people rename files);
a file name that names a different unit only gives a warning.

Refused (exit 2, nothing written, every problem listed): a file that is not an xlsx workbook or not sane
(safety.check_xlsx), a template of another version or rubric (说明's identity cells), renamed, deleted or
restructured sheets (header and key rows compared with the master's), two files for one unit, bad values
(the same checks as recompute, with the master's switches), a unit file that is the master or the output.

Unit files are untrusted: opened through safety.open_untrusted (defusedxml, size limits, no VBA, no external
links), values read from the values Excel saved (data_only); a formula in an input cell is never evaluated
and never copied — its saved result is, with a warning.

The city's own entries are not overwritten by a unit: 设置 (units, 1.3 flags, switches, weights) is the
master's, and a unit file's 设置 is not read beyond its unit list; the 综合评定 adjustment and its reason are
the city's: a unit file's adjustment is copied only into empty master cells (with a warning), never over
the master's.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from ..datafile import read_rows
from ..inputs import (ERROR, WARNING, Problem, UnitInput, ValueParser, normalize_unit_name, parse_units,
                      shown)
from ..rubric import Rubric
from ..scoring import InputProblems
from . import layout as L
from .book import Book, OpenpyxlBook
from .fill import _cell_value, conflicts, write_concealment, write_data, write_self_scores, write_unit_rows
from .layout import Layout, form_sheet_name
from .recompute import Inputs, _at, _value, read_inputs, read_structure, require_master
from .rubricof import same_rubric
from .safety import open_untrusted

# problems after which a file's data can not be located reliably: stop reading that file there
_STRUCTURAL = {"工作表", "模板标识", "模板格式", "数据键", "单位名称", "考评表", "考评表表头", "自评得分表头",
               "合并单元格", "表头"}
_ADJUSTMENT_KEYS = ("adjustment", "adjustment_reason")


@dataclass
class UnitFile:
    """One unit's file, read and checked: what merge writes into the master for it."""

    path: Path
    unit: int  # index of the unit in the master's layout
    written_as: str  # the unit's name as the file writes it
    data: UnitInput
    concealment: list[tuple[object, Decimal]] = field(default_factory=list)
    adjustment: tuple[object, object] = (None, None)  # the unit file's raw (adjustment, reason)
    evidence: list[tuple[str, str, str, str]] = field(default_factory=list)  # (rule, requirement, files, note)
    facts: dict[str, object] = field(default_factory=dict)  # 报送信息: submitted_on, person, phone, doc:…


@dataclass
class MergeOutcome:
    merged: list[UnitFile]
    problems: list[Problem]


def _in_file(path: Path, problems: list[Problem]) -> list[Problem]:
    """Problems of a unit file name the file before the cell."""
    out = []
    for p in problems:
        where = p.field if p.field.startswith(str(path)) or p.field.startswith(path.name) else f"{path.name}：{p.field}"
        out.append(replace(p, field=where))
    return out


def _file_problem(path: Path, expected: str, hint: str = "", level: str = ERROR, unit: str = "",
                  where: str = "", value: str = "") -> Problem:
    return Problem(level, unit, f"{path.name}：{where}" if where else path.name, "单位文件", value or path.name,
                   expected, hint)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def merge_books(master: Book, unit_paths: list[Path], *, replace_values: bool = False,
                received: dt.date | None = None, rubric: Rubric | None = None) -> MergeOutcome:
    """Read and check every unit file against the master, then copy; raises InputProblems (the master book is
    not touched) when anything is wrong — and when a unit's file disagrees with a value the master already
    holds for that unit, unless `replace_values` (every conflict listed; a blank in a file erases nothing).

    `received`: the date the city received the files (报送情况); without it, each 填报版's own 填报日期.
    `rubric`: the one given with `--rubric` (default: the rubric the master records); every unit file must record
    the same rubric as the master (rubricof.same_rubric)."""
    minp = read_structure(master, rubric)
    problems = list(minp.problems)
    if minp.layout is None or any(p.level == ERROR for p in problems):
        raise InputProblems([replace(p, field=f"主工作簿：{p.field}") for p in problems])
    try:
        require_master(minp)
    except InputProblems as exc:
        raise InputProblems([replace(p, field=f"主工作簿：{p.field}") for p in exc.problems]) from None
    lay = minp.layout
    choices = dict(minp.rubric.default_choices, **minp.choices)
    merged: list[UnitFile] = []
    for path in unit_paths:
        unit_files, found = read_unit_files(path, master, minp, choices)
        problems += found
        merged += unit_files

    by_unit: dict[int, list[UnitFile]] = {}
    for uf in merged:
        by_unit.setdefault(uf.unit, []).append(uf)
    for i, files in by_unit.items():
        if len(files) > 1:
            names = "、".join(f"「{f.path.name}」" for f in files)
            problems.append(Problem(ERROR, lay.units[i], "、".join(f.path.name for f in files), "单位文件",
                                    lay.units[i], f"同一单位有 {len(files)} 个文件：{names}，每个单位只能合并一个文件",
                                    "请确认哪一个是最终版本，只合并那一个"))
    if any(p.level == ERROR for p in problems):
        raise InputProblems(problems)

    current = read_inputs(master, minp.rubric)
    for uf in merged:
        uf.facts.setdefault("source", shown(uf.path.name))  # a file name is information: shown as text a workbook holds
        if received is not None or uf.facts.get("submitted_on"):
            uf.facts["received_on"] = received or uf.facts["submitted_on"]
    conflicts = [c for uf in merged for c in _conflicts(current, uf)]
    if conflicts and not replace_values:
        raise InputProblems(problems + conflicts)
    for i, unit in enumerate(lay.units):
        if i not in by_unit:
            problems.append(Problem(WARNING, unit, f"{L.DATA}!A{lay.unit_row(i)}", "单位名称", unit,
                                    "本次没有该单位的文件，主工作簿中它的数据未改动"))
    problems += [replace(c, level=WARNING, expected=c.expected + "：已按 --replace 用单位文件的值替换", hint="")
                 for c in conflicts]
    master_grid = master.read(L.DATA)
    for uf in merged:
        problems += _write_unit(master, lay, master_grid, uf)
    try:
        write_concealment(master, lay, {uf.unit: uf.concealment for uf in merged if uf.concealment})
        write_unit_rows(master, L.EVIDENCE, lay.evidence_last_row, lay.units, len(lay.evidence_columns()),
                        {uf.unit: [list(e) for e in uf.evidence] for uf in merged if uf.evidence})
    except InputProblems as exc:
        raise InputProblems(problems + exc.problems) from None
    _write_facts(master, current, merged)
    return MergeOutcome(merged, problems)


def read_unit_files(path: Path, master: Book, minp: Inputs, choices: dict[str, str]) -> tuple[list[UnitFile],
                                                                                              list[Problem]]:
    """What a file brings: one unit's (a 填报版, a full template, a data file), or — a master of layout 1, which
    the city brings into a new master (hscredit-xl new, then merge OLD.xlsx) — every unit's it holds data for."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        unit_file, problems = read_unit_csv(path, minp, choices)
        return [unit_file] if unit_file is not None else [], problems
    try:
        book = OpenpyxlBook(path, open_untrusted(path), values=open_untrusted(path, data_only=True))
    except InputProblems as exc:
        return [], _in_file(path, exc.problems)
    other = same_rubric(book, minp.rubric, "该文件")
    if other:
        return [], _in_file(path, other)
    inp = read_inputs(book, minp.rubric, choices=minp.choices, per_unit_forms_ok=True)  # an old full template too
    if inp.layout is not None and inp.layout.per_unit_forms and not inp.layout.handout \
            and not _structural(inp.problems):
        units = _units_with_data(inp)
        if len(units) > 1:
            return _read_old_master(path, book, inp, units, master, minp, choices)
    unit_file, problems = _read_unit_book(path, book, inp, master, minp, choices)
    return [unit_file] if unit_file is not None else [], problems


def _read_old_master(path: Path, book: Book, inp: Inputs, units: dict[int, str], master: Book, minp: Inputs,
                     choices: dict[str, str]) -> tuple[list[UnitFile], list[Problem]]:
    """A master of layout 1 with several units' data (`units`: _units_with_data): each unit is read and checked as
    a unit's file would be (its name must be one of the new master's); the file name names no unit, so it is not
    compared."""
    problems = _in_file(path, _own_problems(inp)) + _in_file(path, _compare_structure(book, master, inp.layout))
    problems.append(_file_problem(path, f"旧版格式（每个单位一张考评表）的主工作簿，含 {len(units)} 个单位的"
                                        "数据：逐个单位合并", level=WARNING))
    if _structural(problems):
        return [], problems
    out = []
    for i in units:
        unit_file, found = _unit_of_file(path, book, inp, i, master, minp, choices, [], name_hint=False)
        problems += found
        if unit_file is not None:
            out.append(unit_file)
    if any(p.level == ERROR for p in problems):
        return [], problems
    return out, problems


def _own_problems(inp: Inputs) -> list[Problem]:
    """A unit's file's problems that are its own: its 设置 is not the city's (its switches, weights and group flags
    are neither used nor checked), except its unit names, hidden rows and merged cells."""
    return [p for p in inp.problems
            if not (p.field.startswith(f"{L.SETTINGS}!") and p.label not in ("单位", "隐藏行", "合并单元格"))]


def _read_unit_book(path: Path, book: Book, inp: Inputs, master: Book, minp: Inputs,
                    choices: dict[str, str]) -> tuple[UnitFile | None, list[Problem]]:
    if inp.layout is None:
        return None, _in_file(path, inp.problems)
    problems = _in_file(path, _own_problems(inp))
    if not inp.rows or inp.blocked or _structural(problems):
        return None, problems
    if not inp.layout.handout:  # a 填报版 has its own layout, checked cell by cell as it is read
        problems += _in_file(path, _compare_structure(book, master, inp.layout))
    if _structural(problems):
        return None, problems

    units = _units_with_data(inp)
    if not units:
        return None, problems + [_file_problem(
            path, "文件中没有任何单位的数据（是空白模板？）：单位文件应填写本单位在「数据录入」中的一行、"
                  "「瞒报率明细」中的各行和考评表的自评得分", "请确认收到的是填好的文件")]
    if len(units) > 1:
        where = "、".join(f"{inp.layout.units[i]}（{cell}）" for i, cell in units.items())
        problems.append(_file_problem(
            path, f"文件中有 {len(units)} 个单位的数据：{where}；一个单位的文件只能含本单位的数据",
            "请确认文件来自哪个单位，删去其他单位的数据后重新报送；主工作簿不会被改动"))
        # the values typed are still checked, so that everything to fix is said at once (not the blanks: a
        # stray cell in another unit's row would bring a blank error for each of its other cells)
        master_names = {normalize_unit_name(u): u for u in minp.layout.units}
        for i in units:
            name = master_names.get(normalize_unit_name(inp.layout.units[i]))
            if name:
                _, (_, found) = _parse(inp, i, name, minp, choices)
                problems += [p for p in _in_file(path, found) if p.level == ERROR and p.value != ""]
        return None, problems
    (i, _), = units.items()
    return _unit_of_file(path, book, inp, i, master, minp, choices, problems)


def _unit_of_file(path: Path, book: Book, inp: Inputs, i: int, master: Book, minp: Inputs,
                  choices: dict[str, str], problems: list[Problem],
                  name_hint: bool = True) -> tuple[UnitFile | None, list[Problem]]:
    """Unit i of a file read: checked as the master's unit of that name, with what merge writes for it.
    `problems`: the file's own (every error is kept, of the warnings those of this unit)."""
    written_as = inp.layout.units[i]
    known = {normalize_unit_name(u): k for k, u in enumerate(minp.layout.units)}
    target = known.get(normalize_unit_name(written_as))
    if target is None:
        return None, problems + [_file_problem(
            path, f"文件中的单位「{written_as}」不是主工作簿中的单位，应为：" + "、".join(minp.layout.units),
            "请核对单位名称（或在主工作簿的设置中添加该单位后重新生成模板）", unit=written_as,
            where=inp.locate(i, "unit"), value=written_as)]
    name = minp.layout.units[target]

    # only the problems of this unit (and of the file as a whole) matter: other units' rows are empty
    problems = [p for p in problems if p.level == ERROR or p.unit in ("", written_as, name)]
    problems += _in_file(path, _compare_form(book, master, inp.layout, written_as, name))
    row, (units_read, found) = _parse(inp, i, name, minp, choices)
    reported = {p.field for p in problems if p.level == ERROR}  # one error per cell
    problems += [p for p in _in_file(path, found) if p.field not in reported]
    hint = _file_name_hint(path, name, minp.layout.units) if name_hint else None
    if hint:
        problems.append(hint)
    if any(p.level == ERROR for p in problems) or not units_read:
        return None, problems
    concealment = [(c.department, c.rate) for c in inp.concealment if c.unit == i]
    returns = inp.returns
    evidence = [(e.rule, e.requirement, e.files, e.note) for e in returns.evidence if e.unit == i]
    return UnitFile(path, target, written_as, units_read[0], concealment,
                    (row.get("adjustment"), row.get("adjustment_reason")), evidence,
                    dict(returns.facts.get(i, {}))), problems


def read_unit_csv(path: Path, minp: Inputs, choices: dict[str, str]) -> tuple[UnitFile | None, list[Problem]]:
    """A unit's data file (contract §1) with its one row: the same checks and the same copy as a workbook's.
    Departments are not named in a data file: they are copied as 被抽查部门1, 2, … (as `fill` does)."""
    rows, problems = read_rows(path, minp.rubric)
    problems = _in_file(path, problems)
    if any(p.level == ERROR for p in problems):
        return None, problems
    names = [str(r.get("unit") or "").strip() for r in rows]
    if len(rows) != 1:
        listed = "、".join(n or "（空）" for n in names) or "没有数据行"
        return None, problems + [_file_problem(
            path, f"单位的数据文件应只有本单位的一行数据，现有 {len(rows)} 行（{listed}）",
            "多个单位的数据请用 fill 命令填入；合并时每个单位一个文件")]
    known = {normalize_unit_name(u): u for u in minp.layout.units}
    name = known.get(normalize_unit_name(names[0]))
    if name is None:
        return None, problems + [_file_problem(
            path, f"文件中的单位「{names[0]}」不是主工作簿中的单位，应为：" + "、".join(minp.layout.units),
            "请核对单位名称", unit=names[0], where="unit", value=names[0])]
    row = dict(rows[0], unit=name)
    units_read, found = parse_units(minp.rubric, [row], choices=choices, public_service=minp.public_service)
    problems += _in_file(path, found)
    hint = _file_name_hint(path, name, minp.layout.units)
    if hint:
        problems.append(hint)
    if any(p.level == ERROR for p in problems) or not units_read:
        return None, problems
    unit = units_read[0]
    concealment = [(f"被抽查部门{k}", rate) for k, rate in enumerate(unit.values.get(minp.rubric.rates_key) or (), start=1)]
    return UnitFile(path, minp.layout.units.index(name), names[0], unit, concealment,
                    (row.get("adjustment"), row.get("adjustment_reason"))), problems


def _parse(inp: Inputs, i: int, name: str, minp: Inputs, choices: dict[str, str]):
    """The file's row of unit i checked as the master's unit `name` (the master's 设置 decides)."""
    row = dict(inp.rows[i], unit=name)
    return row, parse_units(minp.rubric, [row], choices=choices, public_service=minp.public_service,
                            locate=lambda _n, key: inp.locate(i, key))


def _structural(problems: list[Problem]) -> bool:
    return any(p.level == ERROR and p.label in _STRUCTURAL for p in problems)


def _units_with_data(inp: Inputs) -> dict[int, str]:
    """unit index -> the first cell holding its data (数据录入 row, 瞒报率明细 rows, 自评得分 cells)."""
    found: dict[int, str] = {}
    for i, row in enumerate(inp.rows):
        for key, value in row.items():
            if key in ("unit", inp.rubric.rates_key):
                continue
            if value is not None:
                found[i] = inp.locate(i, key)
                break
    for i, row in sorted(inp.concealment_first.items()):
        found.setdefault(i, _at(L.CONCEALMENT, row, 1))
    return dict(sorted(found.items()))


def _header_cells(lay: Layout) -> list[tuple[str, int, int]]:
    """The cells that say what each input column and row is: compared between a unit file and the master."""
    last_col = max([c.col for c in lay.data_columns] + list(lay.derived_columns.values()))
    cells = [(L.DATA, r, c) for r in (L.DATA_RULE_ROW, L.DATA_HEADER_ROW, L.DATA_KEY_ROW)
             for c in range(1, last_col + 1)]
    if lay.rubric.rates_key:
        cells += [(L.CONCEALMENT, L.HEADER_ROW, c) for c in L.CONCEALMENT_COLUMNS.values()]
    return cells


def _compare_structure(book: Book, master: Book, lay: Layout) -> list[Problem]:
    return _compare_cells(book, master, _header_cells(lay))


def _compare_cells(book: Book, master: Book, cells: list[tuple[str, int, int]]) -> list[Problem]:
    problems = []
    grids: dict[tuple[int, str], object] = {}
    for sheet, row, col in cells:
        for n, b in ((0, book), (1, master)):
            if (n, sheet) not in grids:
                grids[(n, sheet)] = b.read(sheet)
        mine, theirs = grids[(0, sheet)].get(row, col), grids[(1, sheet)].get(row, col)
        if mine != theirs:
            problems.append(Problem(ERROR, "", _at(sheet, row, col), "表头", shown(mine),
                                    f"与主工作簿的模板不一致（应为「{shown(theirs)}」）：工作表的列或表头被插入、删除、移动或改动",
                                    "请用主工作簿同一版本的模板重新填写"))
            break  # one difference says it; the rest follow from it
    return problems


def _compare_form(book: Book, master: Book, lay: Layout, unit: str, name: str) -> list[Problem]:
    """The unit's 考评表 against the master's (a 填报版, an old full template): header row, each rule's row, the
    total rows — the same rows as the master's one 考评表. A full template of this layout: 自评得分's key row."""
    if not lay.per_unit_forms:
        return _compare_cells(book, master, [(L.SELF_SCORES, L.HEADER_ROW, c) for c in lay.self_columns.values()])
    sheet, master_sheet = form_sheet_name(unit), L.FORM
    mine, theirs = book.read(sheet), master.read(master_sheet)
    cells = [(L.FORM_HEADER_ROW, c) for c in L.FORM_COLUMNS.values()]
    cells += [(r, L.FORM_COLUMNS["points"]) for r in lay.form_rows.values()]  # 评分办法 names the options in force
    cells += [(r, 1) for r in lay.form_total_rows.values()]
    for row, col in cells:
        if mine.get(row, col) != theirs.get(row, col):
            return [Problem(ERROR, unit, _at(sheet, row, col), "考评表", shown(mine.get(row, col))[:40],
                            "与主工作簿的考评表不一致：考评表的行或列被插入、删除、移动或改动",
                            "请用主工作簿同一版本的模板重新填写")]
    return []


def _file_name_hint(path: Path, unit: str, units: list[str]) -> Problem | None:
    stem = normalize_unit_name(path.stem)
    named = [u for u in units if normalize_unit_name(u) in stem]
    if named and unit not in named:
        return _file_problem(path, f"文件名提到「{'、'.join(named)}」，文件中填写的却是「{unit}」的数据",
                             "请核对文件是否发错；按文件内容合并", WARNING, unit)
    return None


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _write_unit(master: Book, lay: Layout, grid, uf: UnitFile) -> list[Problem]:
    """The unit's data and 自评得分 into the master (a blank in the file erases nothing); the city's adjustment
    is never overwritten."""
    problems: list[Problem] = []
    i, unit = uf.unit, lay.units[uf.unit]
    row = lay.unit_row(i)
    values = {c.key: uf.data.values[c.key] for c in lay.data_columns
              if c.key not in _ADJUSTMENT_KEYS and uf.data.values.get(c.key) is not None}
    write_data(master, lay, i, values)

    file_adj, file_reason = uf.adjustment
    if not (_blank(file_adj) and _blank(file_reason)):
        cols = {k: lay.data_column(k).col for k in _ADJUSTMENT_KEYS}
        current = [_value(master, grid, L.DATA, row, cols[k]) for k in _ADJUSTMENT_KEYS]
        where = _at(L.DATA, row, cols["adjustment"])
        if all(_blank(v) for v in current):
            master.write(L.DATA, row, cols["adjustment"],
                         [[_cell_value(uf.data.adjustment) if uf.data.adjustment else None,
                           uf.data.adjustment_reason or None]])
            problems.append(Problem(WARNING, unit, where, "综合评定调整分", shown(file_adj),
                                    f"单位文件「{uf.path.name}」中填写了综合评定调整分，已复制；调整分由市里确定，请复核"))
        elif not _same_adjustment(current, uf):
            problems.append(Problem(WARNING, unit, where, "综合评定调整分", shown(file_adj),
                                    f"单位文件「{uf.path.name}」中的调整分与主工作簿中的（{shown(current[0])}）不同："
                                    "保留主工作簿的值"))

    write_self_scores(master, lay, i, {rule.id: uf.data.self_scores[rule.id] for rule in lay.rubric.rules
                                       if uf.data.self_scores.get(rule.id) is not None})
    if "total" in uf.data.self_scores:
        uf.facts["self_total_typed"] = uf.data.self_scores["total"]
    return problems


def _write_facts(master: Book, current: Inputs, merged: list[UnitFile]) -> None:
    """报送情况: what each merged file brings (a blank erases nothing), then every unit's status rewritten."""
    from .returns import unit_statuses, write_returns_sheet

    if L.RETURNS not in master.sheet_names:
        return
    lay = current.layout
    after = read_inputs(master, current.rubric)  # the data and evidence as merged, for the claims
    for uf in merged:
        facts = after.returns.facts.setdefault(uf.unit, {})
        facts.update({k: v for k, v in uf.facts.items() if v not in (None, "")})
    choices = dict(current.rubric.default_choices, **current.choices)
    write_returns_sheet(master, lay, unit_statuses(current.rubric, lay, choices, after.rows, after.returns))


def _conflicts(current: Inputs, uf: UnitFile) -> list[Problem]:
    """Where the unit's file disagrees with a value the master already holds for that unit (both non-blank)."""
    lay, rubric = current.layout, current.rubric
    i, unit = uf.unit, lay.units[uf.unit]
    old_row = current.rows[i] if i < len(current.rows) else {}
    out = []

    def conflict(where: str, label: str, old: object, new: object) -> None:
        out.append(Problem(ERROR, unit, where, label, shown(new),
                           f"与主工作簿中该单位已有的值「{shown(old)}」不同（主工作簿 {shown(old)} → 文件 {shown(new)}）",
                           f"来自「{uf.path.name}」；核对后如以单位文件为准，请加 --replace 重新合并"))

    # the data and the self scores: fill's comparison (85% and 0.85 are the same; a blank replaces nothing)
    new_values = {f.key: uf.data.values.get(f.key) for f in rubric.fields
                  if f.key not in ("unit", rubric.rates_key)}
    new_values.update({"self_" + r.id: uf.data.self_scores.get(r.id) for r in rubric.rules})
    old_cells = {key: (current.locate(i, key), old_row.get(key)) for key in new_values}
    for c in conflicts(unit, old_cells, new_values, rubric):
        conflict(c.cell, c.label, c.old, _cell_value(c.new))
    old_rates = sorted((shown(c.department), c.rate) for c in current.concealment if c.unit == i)
    new_rates = sorted((shown(d), r) for d, r in uf.concealment)
    if uf.concealment and old_rates and old_rates != new_rates:
        conflict(current.locate(i, rubric.rates_key), L.CONCEALMENT,
                 "；".join(f"{d} {r:.2%}" for d, r in old_rates), "；".join(f"{d} {r:.2%}" for d, r in new_rates))
    returns = current.returns
    if returns is not None:
        old_ev = sorted((e.rule, e.files, e.note) for e in returns.evidence if e.unit == i)
        new_ev = sorted((rule, files, note) for rule, _, files, note in uf.evidence if files or note)
        if new_ev and old_ev and old_ev != new_ev:
            conflict(f"{L.EVIDENCE}（{unit}）", "佐证资料", f"{len(old_ev)} 行", f"{len(new_ev)} 行（内容不同）")
        old_facts = returns.facts.get(i, {})
        for key, (col, header) in lay.returns_columns().items():
            old, new = old_facts.get(key), uf.facts.get(key)
            if key in ("source",) or new in (None, "") or old in (None, ""):
                continue
            if (old if not isinstance(old, Decimal) else float(old)) != (
                    new if not isinstance(new, Decimal) else float(new)):
                conflict(f"{L.RETURNS}!{L.cell(lay.unit_row(i), col)}", header, old, new)
    return out


def _same_adjustment(current: list[object], uf: UnitFile) -> bool:
    try:
        adj = ValueParser("reject").number(current[0]) if not _blank(current[0]) else Decimal(0)
    except Exception:
        return False
    reason = "" if _blank(current[1]) else str(current[1]).strip()
    return adj == uf.data.adjustment and reason == uf.data.adjustment_reason


def merge_files(master_path: Path, unit_paths: list[Path], out: Path | None = None, *, replace_values: bool = False,
                received: dt.date | None = None, rubric: Rubric | None = None) -> tuple[Path, MergeOutcome]:
    """Merge unit files into the master workbook and save it (atomically) at `out` or over the master.

    Raises InputProblems when anything is wrong; then nothing is written, the master is byte-for-byte as it was.
    """
    master_path, target = Path(master_path), Path(out or master_path)
    unit_paths = [Path(p) for p in unit_paths]
    problems = []
    for n, p in enumerate(unit_paths):
        if any(_same_file(p, q) or p.resolve() == q.resolve() for q in unit_paths[:n]):
            problems.append(_file_problem(p, "同一个文件被指定了不止一次"))
        elif _same_file(p, master_path):
            problems.append(_file_problem(p, "这是主工作簿本身，不能作为单位文件合并"))
        elif _same_file(p, target) or p.resolve() == target.resolve():
            problems.append(_file_problem(p, "输出文件（-o）不能是单位文件：单位文件不会被改动"))
    if problems:
        raise InputProblems(problems)
    from .xlsxfile import XlsxBook

    master = XlsxBook(master_path)  # read and rewritten in place: only the rows merged are rewritten
    outcome = merge_books(master, unit_paths, replace_values=replace_values, received=received, rubric=rubric)
    master.save(target)
    return target, outcome
