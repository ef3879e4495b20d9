"""`hscredit-xl export`: the 报送版 (a values-only copy of a scored workbook) and the printed 考评表 PDF.

The results leave the office as files for people who may have no Python and may use WPS, and on paper.

Where the values come from
--------------------------
A workbook recomputed headless holds formulas *without* cached values (openpyxl writes formulas only), so
the file's own cached values can not be copied. Every value is computed instead, by the engine, from the
workbook's own inputs:

* the outputs recompute writes as values (rule scores, 加分, 扣分, 自评总分, 调整分, 复核明细's
  复核得分 and 计分依据, 校验结果) are written again by recompute's own writer — idempotent, so the same numbers;
* 自评得分's self subtotals and totals become the engine's (`engine.self_totals`), and the master's one 考评表
  shows the unit picked on it as its lookups would;
* 汇总's native formulas (subtotals, 基础分, 适用满分, 折算, total, rank, difference, final, weighted
  contributions) become the engine's numbers for the same quantities;
* 数据录入's derived columns become what their formulas compute from the typed data (annual total = the
  sum of the months, rectification ratio, the highest 瞒报率 of each unit's detail rows);
* 计分's HS_ formulas (which only Excel with the add-in can compute) become the engine's rule scores, its
  适用满分 and 复核总分 the engine's; its formula-signature cell gets a note instead, so that recompute on a
  报送版 rewrites every formula and the workbook works again;
* any other formula (one somebody typed into an input cell) becomes its cached value, which is what
  recompute scored; without a cached value the export is refused.

No LibreOffice is needed for the 报送版; ``tests/test_libreoffice_check.py`` checks, through LibreOffice,
that every native formula of the workbook computes these very numbers. Styles, merged cells, column widths,
row heights, print setup, data validation, conditional formatting, sheet protection and the 汇总 chart are
kept (openpyxl reads the chart back; its colour style, which openpyxl drops on reading, is restored). No
macros and no external links are kept.

A workbook that was not recomputed, or whose inputs changed since (the SHA-256 in the 汇总 stamp differs
from the inputs' digest now), is refused with :class:`~hscredit_xl.scoring.InputProblems` (Chinese
messages; the command line exits 2), and nothing is written.

Every unit's own 考评表 (考评表-<unit>, the official table as a 填报版 has it: `sheets/form.build`) is added
after the master's 考评表, values only: its 自评得分 as typed, its self totals, 复核得分 and 计分依据 the
engine's, the 汇总 stamp. With ``pdf=True`` LibreOffice prints a copy that holds only 考核评价结果, these
考评表 and 汇总 to one PDF.

The pair is written as one step: the values-only copy and the PDF appear together or not at all. Both are
made in a private temporary folder (``hscredit-export-<pid>-…``, removed however the run ends; one left by a
killed run is removed by the next), copied beside their targets, and only then replace them, following a
journal (``.<name>_报送版.xlsx.export.json``): the old pair is moved aside, the new pair moved in, the journal
removed (the commit point), the old pair deleted. An error on the way puts the old pair back at once; a run
killed on the way is undone by the next export of the same workbook (the old pair is put back, the half-made
new one removed). At no moment does a new copy stand beside an old PDF.
"""
from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from . import __version__
from .engine import Result, Switches, UnitResult, self_totals
from .inputs import ERROR, Problem, parse_units
from .kinds import round_half_up
from .office import ERROR_CODES, pid_alive, find_soffice, temp_dir, to_pdf
from .rubric import Rubric
from .scoring import InputProblems
from .workbook import history
from .workbook import layout as L
from .workbook.atomic import _mode_for, atomic_output
from .workbook.fastsave import save_workbook_fast
from .workbook.book import OpenpyxlBook, restore_chart_styles
from .workbook.recompute import (Inputs, parse_stamp, read_inputs, require_master, review_row, score_inputs,
                                 write_results)
from .workbook.safety import open_untrusted

__all__ = ["EXPORT_SUFFIX", "PDF_SUFFIX", "SCORES_NOTE", "export", "export_names", "stamp_digest"]

EXPORT_SUFFIX = "_报送版.xlsx"
PDF_SUFFIX = "_考评表.pdf"
SCORES_NOTE = ("报送版：本表各条得分是一键重算时计分引擎的结果（数值），不含公式。"
               "如对本文件再执行一键重算，将重新写入公式。")
_RECOMPUTE_HINT = "请先在 Excel 中点击「信用考评 → 一键重算」，或运行  hscredit-xl recompute 文件.xlsx  ，再导出"


def export_names(workbook: Path, out_dir: Path | None = None) -> tuple[Path, Path]:
    """Where export writes: ``(<stem>_报送版.xlsx, <stem>_考评表.pdf)`` in out_dir (default: the workbook's folder)."""
    workbook = Path(workbook)
    folder = Path(out_dir) if out_dir is not None else workbook.parent
    return folder / f"{workbook.stem}{EXPORT_SUFFIX}", folder / f"{workbook.stem}{PDF_SUFFIX}"


def stamp_digest(stamp: object) -> str | None:
    """The inputs' SHA-256 in recompute's 汇总 stamp, None when the cell holds no stamp."""
    pieces = parse_stamp(stamp)
    return pieces["inputs_sha256"] if pieces else None


def export(workbook: Path, out_dir: Path | None = None, pdf: bool = False, rubric: Rubric | None = None) -> list[Path]:
    """Write the 报送版 of a scored workbook (and with pdf=True the 考评表 PDF); return the paths written.

    Raises InputProblems when the workbook is not ours, has input errors, was not recomputed or was changed
    since; OfficeMissing (with installation instructions) when pdf=True and LibreOffice is not installed;
    OfficeError when LibreOffice fails. In every case nothing is written. `rubric`: the one given with
    --rubric (default: the rubric the workbook records).
    """
    src = Path(workbook)
    xlsx_target, pdf_target = export_names(src, out_dir)
    if pdf:
        find_soffice()  # before any work: a missing LibreOffice is said at once, nothing is written
    recover_export([xlsx_target, pdf_target])  # a pair a killed export left half-replaced: the old pair is back

    wb = open_untrusted(src)
    book = OpenpyxlBook(src, wb)
    inp = read_inputs(book, rubric)
    require_master(inp)
    if any(p.level == ERROR for p in inp.problems):
        raise InputProblems([_refusal(src, "工作簿的数据或结构有错误，不能导出",
                                      "请按下列问题改正，重算后再导出")] + inp.problems)
    stamp = _check_recomputed(book, inp)
    result = score_inputs(inp)
    write_results(book, inp, result)  # the values recompute wrote, written again: the same numbers
    if book.read(L.SUMMARY).get(*_coords(inp.layout.summary_stamp_cell)) != stamp:  # a guard: _check_recomputed
        raise _other_version(book, inp, stamp)                                       # let through a stale stamp
    _replace_formulas(src, wb, inp, result)
    add_unit_forms(wb, inp, result, stamp)
    score_sig = _coords(inp.layout.score_signature_cell)
    wb[L.SCORES].cell(*score_sig).value = SCORES_NOTE  # recompute of a 报送版 rewrites every formula
    restore_chart_styles(src, wb)
    wb.calculation.fullCalcOnLoad = False  # nothing to calculate: opening must not mark the file changed
    _check_clean(src, wb)

    with temp_dir("hscredit-export-") as tmp:
        values_copy = tmp / "values.xlsx"
        save_workbook_fast(wb, values_copy)
        written = [(values_copy, xlsx_target)]
        if pdf:
            printed = tmp / "print.xlsx"
            save_workbook_fast(_print_copy(wb, inp), printed)
            out_pdf = to_pdf(printed, tmp / "print.pdf")
            written.append((out_pdf, pdf_target))
        xlsx_target.parent.mkdir(parents=True, exist_ok=True)
        replace_together(written)  # everything made: now the files replace their targets as one step
    return [target for _, target in written]


# ------------------------------------------------------------------------------------------------- one step
JOURNAL_SUFFIX = ".export.json"
BUSY_SECONDS = 60  # moving files aside and in takes milliseconds: a journal this old is a killed run's


def journal_path(first_target: Path) -> Path:
    return first_target.parent / f".{first_target.name}{JOURNAL_SUFFIX}"


def replace_together(pairs: list[tuple[Path, Path]]) -> None:
    """Each made file replaces its target (made, target), all of them or none: on any error the old files are
    back as they were; a kill is undone by the next call of recover_export for the first target."""
    journal = journal_path(pairs[0][1])
    plan: list[dict] = []
    try:
        for made, target in pairs:  # copied beside the target first (same file system: the moves are renames)
            plan.append({"target": str(target), "staged": str(_stage(made, target)),
                         "backup": str(_backup_name(target)) if target.exists() else None})
            history.keep_version(target)  # a workbook replaced is kept (issue 11), as atomic_output does
        with atomic_output(journal) as handle:
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "time": time.time(),
                                     "plan": plan}, ensure_ascii=False).encode("utf-8"))
        for entry in reversed(plan):  # the old files leave (the PDF first) ...
            if entry["backup"]:
                os.replace(entry["target"], entry["backup"])
        for entry in plan:  # ... and the new ones arrive (the copy first): never a new copy beside an old PDF
            os.replace(entry["staged"], entry["target"])
        _sync_folder(journal.parent)
    except BaseException:
        _undo(plan, journal)
        raise
    journal.unlink()  # the commit point: from here on the new pair stands
    _sync_folder(journal.parent)
    for entry in plan:
        if entry["backup"]:
            Path(entry["backup"]).unlink(missing_ok=True)


def recover_export(targets: list[Path]) -> bool:
    """Undo a replace_together of these targets that a killed process left half done (its journal is still
    there); True when something was undone. A journal of a run still moving files (same machine, process
    alive, under a minute old) is waited for, briefly. Without a journal, old files a run killed after its
    commit point left aside are removed."""
    journal = journal_path(targets[0])
    deadline = time.monotonic() + 5
    while True:
        try:
            state = json.loads(journal.read_text(encoding="utf-8"))
        except FileNotFoundError:
            _remove_left_aside(targets)
            return False
        except (OSError, ValueError):
            state = {}
        busy = (state.get("host") == socket.gethostname() and state.get("pid") != os.getpid()
                and pid_alive(int(state.get("pid", 0))) is not False
                and time.time() - float(state.get("time", 0)) < BUSY_SECONDS)
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    _undo(state.get("plan", []), journal)
    return True


def _undo(plan: list[dict], journal: Path) -> None:
    """Back to the old files: each moved-aside file returns; a new file moved in where none was is removed."""
    for entry in plan:
        target, staged = Path(entry["target"]), Path(entry["staged"])
        backup = Path(entry["backup"]) if entry.get("backup") else None
        if backup is not None:
            if backup.exists():
                os.replace(backup, target)
        elif not staged.exists():  # moved in by the run being undone
            target.unlink(missing_ok=True)
        staged.unlink(missing_ok=True)
    journal.unlink(missing_ok=True)


def _remove_left_aside(targets: list[Path]) -> None:
    for target in targets:
        for old in target.parent.glob(f".{glob.escape(target.name)}.*.old"):
            try:
                if time.time() - old.stat().st_ctime > BUSY_SECONDS:
                    old.unlink()
            except OSError:
                continue


def _backup_name(target: Path) -> Path:
    """Where the old file is moved aside: a name nobody uses, not created here (a file there is the old one)."""
    return target.parent / f".{target.name}.{secrets.token_hex(8)}.old"


def _stage(made: Path, target: Path) -> Path:
    """A complete, flushed copy of made beside target, with the mode a normal save would give."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")  # the name
    staged = Path(name)  # atomic.py cleans when a kill leaves it behind
    try:
        with made.open("rb") as source, os.fdopen(handle, "wb") as handle:
            shutil.copyfileobj(source, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(staged, _mode_for(target))
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def _sync_folder(folder: Path) -> None:
    """The renames reach the disk (POSIX; elsewhere the file system does it)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------------- refusals
def _refusal(src: Path, expected: str, hint: str = "", *, where: str | None = None, label: str = "工作簿",
             value: object = None) -> Problem:
    shown = src.name if value is None else str(value)
    return Problem(ERROR, "", where or str(src), label, shown, expected, hint)


_coords = coordinate_to_tuple  # "A2" -> (2, 1)


def _check_recomputed(book: OpenpyxlBook, inp: Inputs) -> str:
    """The 汇总 stamp, when it says the inputs are exactly those of the last recompute, by this tool and rubric
    version; else a refusal."""
    where = f"{L.SUMMARY}!{inp.layout.summary_stamp_cell}"
    stamp = book.read(L.SUMMARY).get(*_coords(inp.layout.summary_stamp_cell))
    pieces = parse_stamp(stamp)
    if pieces is None:
        raise InputProblems([_refusal(
            book.path, "工作簿尚未重算（汇总表没有复核时间和输入数据的 SHA-256），不能导出", _RECOMPUTE_HINT,
            where=where, label="复核标记", value="" if stamp is None else stamp)])
    digest = pieces["inputs_sha256"]
    if digest != inp.digest:
        raise InputProblems([_refusal(
            book.path, f"重算之后输入数据又被改动过（重算时 SHA-256 {digest[:12]}…，现在 {inp.digest[:12]}…），"
                       "表中的复核得分已不是当前数据的结果，不能导出", _RECOMPUTE_HINT,
            where=where, label="复核标记", value=stamp)])
    doc = inp.rubric.document
    if (pieces["tool_version"], pieces["rubric_document"], pieces["rubric_version"]) != (
            __version__, doc["number"], str(inp.rubric.version)):
        raise _other_version(book, inp, stamp)
    return stamp


def _other_version(book: OpenpyxlBook, inp: Inputs, stamp: object) -> InputProblems:
    doc = inp.rubric.document
    return InputProblems([_refusal(
        book.path, f"工作簿是用另一版本的 hscredit-xl 或评分细则重算的（当前为 hscredit-xl {__version__}、"
                   f"细则 {doc['number']} 版本 {inp.rubric.version}），结果可能不同，不能导出", _RECOMPUTE_HINT,
        where=f"{L.SUMMARY}!{inp.layout.summary_stamp_cell}", label="复核标记", value=stamp)])


# ------------------------------------------------------------------------------------------------- values
def _number(x: Decimal | None) -> float | None:
    return None if x is None else float(round_half_up(x))


def _summary_value(u: UnitResult, key: str) -> object:
    """The engine's number for one of 汇总's formula columns."""
    if key.startswith("section_"):
        return _number(u.sections[key[len("section_"):]])
    if key.startswith("weight:"):
        return _number(u.weighted[key[len("weight:"):]])
    if key in ("rank", "final_rank"):
        return int(getattr(u, key))
    if key in ("base", "applicable_max", "base_scaled", "capped", "total", "final", "difference"):
        return _number(getattr(u, key))
    raise KeyError(f"汇总的公式列「{key}」没有对应的计分结果")


def _rule_value(u: UnitResult, rule) -> float | None:
    if rule.role == "bonus":  # as recompute writes the 考评表: the bonus item as one score
        return _number(u.bonus)
    if rule.role == "deduction":
        return _number(u.deduction)
    return _number(u.rules[rule.id])


def _derived_values(inp: Inputs) -> list[dict[str, object]]:
    """数据录入's derived columns per unit, as their formulas compute them from the typed (parsed) data."""
    units, _ = parse_units(inp.rubric, inp.rows, choices=inp.choices, public_service=inp.public_service,
                           locate=inp.locate)
    switches = Switches(inp.rubric, inp.choices)
    out = []
    for unit in units:
        out.append({d.key: _derived_value(d.value, unit.values, switches) for d in inp.rubric.derived})
    return out


def _derived_value(spec: dict, v: dict, switches: Switches) -> object:
    """One declared derived value as 数据录入's formula computes it (blank while its data is not typed)."""
    if "each" in spec:
        parts = [v.get(k) for k in spec["each"] if v.get(k) is not None]
        if not parts:
            return None
        total = sum((Decimal(x) for x in parts), Decimal(0))
        return int(total) if total == total.to_integral_value() else float(total)
    if "ratio" in spec:
        numerator, denominator = (v.get(k) for k in spec["ratio"])
        if denominator is None:
            return None
        if Decimal(denominator) == 0:
            return float(switches.resolve(spec.get("if_zero", 0)))
        return float(numerator or 0) / float(denominator)
    rates = v.get(spec["max"]) or ()
    return float(max(rates)) if rates else None


def _engine_values(inp: Inputs, result: Result, picked: object) -> dict[tuple[str, int, int], object]:
    """(sheet, row, col) -> value for every formula cell the template puts in a workbook."""
    lay = inp.layout
    if [u.unit for u in result.units] != lay.units:
        raise RuntimeError("计分结果的单位顺序与工作簿不一致")
    values: dict[tuple[str, int, int], object] = {}
    derived = _derived_values(inp)
    switches = Switches(inp.rubric, inp.choices)
    for i, u in enumerate(result.units):
        row = lay.unit_row(i)
        for key in lay.summary_formulas(row, inp.choices):
            values[(L.SUMMARY, row, lay.summary_columns[key])] = _summary_value(u, key)
        for key, col in lay.derived_columns.items():
            values[(L.DATA, row, col)] = derived[i][key]
        for rule in inp.rubric.rules:
            values[(L.SCORES, row, lay.score_columns[rule.id])] = _rule_value(u, rule)
        values[(L.SCORES, row, lay.score_columns["applicable_max"])] = _number(u.applicable_max)
        values[(L.SCORES, row, lay.score_columns["live_total"])] = _number(u.total)
        for key, value in _self_total_values(inp, switches, u).items():
            values[(L.SELF_SCORES, row, lay.self_columns[key])] = value
    values.update(_picker_values(inp, result, switches, picked))
    return values


def _self_total_values(inp: Inputs, switches: Switches, u: UnitResult) -> dict[str, object]:
    """What the self-total formulas show for a unit (自评得分's row, a 考评表): the engine's own sums."""
    own = self_totals(inp.rubric, switches, u.self_scores, u.public_service)
    return {"base": _number(own.base), "base_scaled": _number(own.base_scaled),
            "total": _number(own.total) if own.total is not None else f"尚有{own.missing}项未自评"}


def _self_score_value(inp: Inputs, i: int, rule_id: str) -> object:
    """A self score as its cell shows it: the number typed (a formula's saved result), blank when none."""
    value = inp.rows[i].get("self_" + rule_id)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
        return float(value) if not isinstance(value, int) else value
    return value


def _picker_values(inp: Inputs, result: Result, switches: Switches, picked: object) -> dict[tuple[str, int, int], object]:
    """The master's 考评表 for the unit picked on it, as its lookups compute (blank when none is picked)."""
    lay = inp.layout
    out: dict[tuple[str, int, int], object] = {}
    index = lay.units.index(picked) if picked in lay.units else None
    self_row = {} if index is None else {**{r.id: _self_score_value(inp, index, r.id) for r in inp.rubric.rules},
                                         **_self_total_values(inp, switches, result.units[index])}
    review = {} if index is None else review_row(lay, inp.rubric, result.units[index])
    key_of_row = {r: k for k, r in {**lay.form_rows, **lay.form_total_rows}.items()}
    for (row, col), _ in lay.picker_formulas().items():
        if (row, col) == L.FORM_INDEX_CELL:
            value = None if index is None else index + 1
        elif col == L.FORM_COLUMNS["self"]:
            value = self_row.get(key_of_row[row])
        else:
            score_key, why_key = lay.review_keys(key_of_row[row])
            wanted = score_key if col == L.FORM_COLUMNS["review"] else why_key
            value = review.get(wanted) if wanted else None
        out[(L.FORM, row, col)] = value
    return out



def add_unit_forms(wb, inp: Inputs, result: Result, stamp: str) -> None:
    """Every unit's own 考评表 (考评表-<unit>, values only), after the master's 考评表: the official table as the
    master shows it for that unit, its 自评得分 as typed, its self totals, 复核得分 and 计分依据 the engine's."""
    from .workbook.sheets import form, style
    from .workbook.sheets.context import SheetContext

    lay = inp.layout
    ctx = SheetContext(inp.rubric, lay, inp.choices, wb)
    switches = Switches(inp.rubric, inp.choices)
    F = L.FORM_COLUMNS
    for ws in [ws for ws in wb.worksheets if ws.title.startswith(L.FORM_PREFIX)]:
        wb.remove(ws)  # a 报送版 exported again: its forms are made anew
    made = []
    for i, u in enumerate(result.units):
        form.build(ctx, u.unit)
        ws = wb[L.form_sheet_name(u.unit)]
        made.append(ws)
        for rule in inp.rubric.rules:
            _set_value(ws.cell(lay.form_rows[rule.id], F["self"]), _self_score_value(inp, i, rule.id))
        for key, value in _self_total_values(inp, switches, u).items():
            _set_value(ws.cell(lay.form_total_rows[key], F["self"]), value)
        review = review_row(lay, inp.rubric, u)
        for key, row in {**lay.form_rows, **lay.form_total_rows}.items():
            score_key, why_key = lay.review_keys(key)
            _set_value(ws.cell(row, F["review"]), review[score_key])
            if why_key:
                _set_value(ws.cell(row, L.FORM_EXTRA_COLUMN), review[why_key])
        _set_value(ws.cell(lay.form_stamp_row, 1), stamp)
        style.fit_row_heights(ws)
    # after the master's 考评表, in unit order
    sheets = [ws for ws in wb._sheets if ws not in made]
    at = next((n + 1 for n, ws in enumerate(sheets) if ws.title == L.FORM), len(sheets))
    wb._sheets = sheets[:at] + made + sheets[at:]


def _is_formula(cell) -> bool:
    return cell.data_type == "f" or isinstance(cell.value, (ArrayFormula, DataTableFormula))


def _set_value(cell, value: object) -> None:
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # a text that starts with '=' stays text


def _replace_formulas(src: Path, wb, inp: Inputs, result: Result) -> None:
    """Every formula cell gets its value: the engine's for the template's formulas, else the cached one."""
    import openpyxl

    known = _engine_values(inp, result, wb[L.FORM].cell(*L.FORM_PICKER_CELL).value)
    for (sheet, row, col), value in known.items():  # array formulas span cells that hold no formula of their own
        _set_value(wb[sheet].cell(row, col), value)
    cached = None
    missing: list[str] = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not _is_formula(cell):
                    continue
                if cached is None:
                    cached = openpyxl.load_workbook(src, data_only=True, keep_links=False)
                value = cached[ws.title][cell.coordinate].value
                if value is None or (isinstance(value, str) and value in ERROR_CODES):
                    missing.append(f"{ws.title}!{cell.coordinate}")
                    continue
                _set_value(cell, value)
    if cached is not None:
        cached.close()
    if missing:
        shown = "、".join(missing[:10]) + ("等" if len(missing) > 10 else "")
        raise InputProblems([_refusal(
            src, f"这些单元格是公式，但文件里没有它们的计算结果（或结果是错误值），导出无法写成数值：{shown}",
            "请把这些单元格改为直接填写数值，或在 Excel 中打开并保存后再重算、导出", label="公式单元格",
            value=f"{len(missing)} 个")])


def _check_clean(src: Path, wb) -> None:
    """No formula and no error value may be left anywhere (a guard: the code above must have replaced all)."""
    bad = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if _is_formula(cell) or cell.data_type == "e":
                    bad.append(f"{ws.title}!{cell.coordinate}")
    if bad:
        raise InputProblems([_refusal(src, "这些单元格仍是公式或错误值，不能导出：" + "、".join(bad[:10]),
                                      "请改正后重算再导出", label="单元格", value=f"{len(bad)} 个")])


# ------------------------------------------------------------------------------------------------- printing
PRINT_FOOTER = "&A　第 &P 页"
"""Footer of every printed sheet: one PDF holds every unit's 考评表, so each sheet numbers its own pages
(LibreOffice's page total &N would count the whole PDF) and names itself, for a page that gets separated."""
_FOOTER_ROOM = 0.35  # inches between the bottom margin and the footer line: LibreOffice clips a smaller footer


def _print_copy(wb, inp: Inputs):
    """The values-only workbook cut to what is printed: the one-page 考核评价结果, each unit's 考评表, then 汇总
    (wb is changed).

    Each sheet's own print setup (A4 landscape, fit to width, repeated title rows, print area, margins) is
    kept; only the page numbering restarts per sheet, and a footer too close to the bottom margin for
    LibreOffice (which gives the footer just the space between the two) is moved down.
    """
    keep = [L.RESULT] * (L.RESULT in wb.sheetnames) + [L.form_sheet_name(u) for u in inp.layout.units] + [L.SUMMARY]
    for ws in list(wb.worksheets):
        if ws.title not in keep:
            wb.remove(ws)
    order = {name: i for i, name in enumerate(keep)}
    wb._sheets.sort(key=lambda ws: order[ws.title])
    wb.active = 0
    for ws in wb.worksheets:
        ws.sheet_view.tabSelected = ws is wb.worksheets[0]  # several selected sheets: LibreOffice prints only those
        ws.page_setup.useFirstPageNumber = True
        ws.page_setup.firstPageNumber = 1
        ws.oddFooter.center.text = PRINT_FOOTER
        margins = ws.page_margins
        if margins.footer is not None and margins.bottom is not None and margins.bottom - margins.footer < _FOOTER_ROOM:
            margins.footer = round(max(0.1, margins.bottom - _FOOTER_ROOM), 2)
        if margins.header is not None and margins.top is not None and margins.top - margins.header < _FOOTER_ROOM:
            margins.header = round(max(0.1, margins.top - _FOOTER_ROOM), 2)
    wb.properties.title = inp.rubric.document["attachment"]  # the PDF's title
    wb.properties.subject = f"{inp.rubric.document['number']} {inp.rubric.document['title']}"
    return wb
