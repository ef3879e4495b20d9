"""A small workbook reader/writer with two implementations: openpyxl (headless) and xlwings (Excel).

Recompute talks only to this interface, so the ribbon button and the command line run the same code. The
Excel side keeps to bulk calls: one read per sheet, one write per block (each call into Excel costs
milliseconds).

Text is text: a string is always written as a text cell — never a formula (text starting with = + - @),
never an error value (text reading #N/A, #DIV/0!, …), never a number or a date Excel would make of it. Text
no workbook can hold (a control character, U+FFFE, a lone surrogate; more than 32,767 characters) is never
written: the write raises InputProblems naming the cell, before anything is saved.
"""
from __future__ import annotations

import re
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter, range_boundaries

from ..inputs import ERROR, Problem, shown, text_problem

@dataclass(frozen=True)
class Formula:
    """A cell that holds a formula where a value was expected (openpyxl sees the formula, not its result)."""

    text: str


class Grid:
    """The values of one sheet from A1, addressed 1-based as in Excel; missing cells read as None."""

    def __init__(self, rows: Sequence[Sequence[object]]):
        self.rows = [list(r) for r in rows]

    def get(self, row: int, col: int) -> object:
        if 1 <= row <= len(self.rows):
            r = self.rows[row - 1]
            if 1 <= col <= len(r):
                return r[col - 1]
        return None

    @property
    def max_row(self) -> int:
        return len(self.rows)


class SparseGrid(Grid):
    """A Grid over the cells a sheet really has: a sheet with one cell at XFD1048576 costs one entry."""

    def __init__(self, cells: dict[tuple[int, int], object], max_row: int):
        self._cells = cells
        self._max_row = max_row

    def get(self, row: int, col: int) -> object:
        return self._cells.get((row, col))

    @property
    def max_row(self) -> int:
        return self._max_row

    @property
    def rows(self) -> list[list[object]]:
        width = max((c for _, c in self._cells), default=0)
        return [[self._cells.get((r, c)) for c in range(1, width + 1)] for r in range(1, self._max_row + 1)]


class Book(ABC):
    @property
    @abstractmethod
    def sheet_names(self) -> list[str]: ...

    @abstractmethod
    def read(self, sheet: str) -> Grid: ...

    def cached_value(self, sheet: str, row: int, col: int) -> object:
        """The last computed value of a formula cell (only openpyxl needs this)."""
        return self.read(sheet).get(row, col)

    def value_at(self, sheet: str, row: int, col: int) -> object:
        """One cell's value, as read() would give it (a file book need not read the whole sheet for it)."""
        return self.read(sheet).get(row, col)

    # What a person can do to a sheet without typing a value. Only the file side reports these; in Excel the
    # button works on the live workbook, whose protected sheets keep the structure.
    def hidden_rows(self, sheet: str) -> set[int]:
        """Rows hidden (by hand, by a filter or a collapsed outline)."""
        return set()

    def hidden_columns(self, sheet: str) -> set[int]:
        return set()

    def merged_ranges(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """Merged ranges as (min_row, min_col, max_row, max_col)."""
        return []

    @abstractmethod
    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[object]]) -> None:
        """Values; a string is written as text, whatever it looks like (see the module docstring)."""

    @abstractmethod
    def write_formulas(self, sheet: str, row: int, col: int, block: Sequence[Sequence[str]]) -> None: ...

    @abstractmethod
    def write_array_formula(self, sheet: str, ref: str, formula: str) -> None: ...

    @abstractmethod
    def formula_at(self, sheet: str, row: int, col: int) -> str | None:
        """The formula text of a cell (array formulas included), None for a value."""


class OpenpyxlBook(Book):
    """A workbook file read and written with openpyxl; `save` replaces the target atomically."""

    def __init__(self, path: Path, workbook=None, values=None):
        """`workbook` as loaded (formulas as formulas); `values` the same file loaded with data_only=True (the
        cached values), loaded on first need when not given. Files from outside come through
        safety.open_untrusted for both."""
        import openpyxl

        self.path = Path(path)
        self.wb = workbook if workbook is not None else openpyxl.load_workbook(self.path, keep_vba=False)
        self._cached = values
        self._kept: dict[tuple[str, int, int], object] = {}  # formula results read, to be saved again
        # openpyxl finds a sheet by name by scanning every sheet: with one 考评表 per unit that made recompute
        # quadratic in the number of units (BENCHMARKS.md); the sheets never change while we work
        self._sheets = {ws.title: ws for ws in self.wb.worksheets}

    def _ws(self, sheet: str):
        return self._sheets[sheet]

    @property
    def sheet_names(self) -> list[str]:
        return list(self.wb.sheetnames)

    def read(self, sheet: str) -> Grid:
        """Values; a formula cell reads as a Formula marker. Text that merely starts with '=' (a text cell) stays
        text: what decides is the cell's type, not its first character."""
        from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

        ws = self._ws(sheet)
        cells: dict[tuple[int, int], object] = {}
        max_row = 0
        # the sheet's own cell store (openpyxl keeps it sparse); iter_rows would create every cell of the
        # used range, which a hostile file can make as large as a whole sheet
        for (r, c), cell_ in ws._cells.items():
            max_row = max(max_row, r)
            v = cell_.value
            if v is None:
                continue
            if isinstance(v, ArrayFormula):
                v = Formula(v.text or "")
            elif isinstance(v, DataTableFormula):
                v = Formula(str(v))
            elif cell_.data_type == "f" and isinstance(v, str):
                v = Formula(v)
            cells[(r, c)] = v
        return SparseGrid(cells, max_row)

    def cached_value(self, sheet: str, row: int, col: int) -> object:
        """The value Excel last computed for a formula cell, as saved in the file; None when there is none (a
        file written by openpyxl, or a book not saved yet)."""
        if self._cached is None:
            if not self.path.is_file():
                return None
            from .safety import open_untrusted

            self._cached = open_untrusted(self.path, data_only=True)
        if sheet not in self._cached.sheetnames:
            return None
        value = self._cached[sheet].cell(row=row, column=col).value
        if value is not None:
            self._kept[(sheet, row, col)] = value
        return value

    def hidden_rows(self, sheet: str) -> set[int]:
        return {r for r, dim in self._ws(sheet).row_dimensions.items() if dim.hidden}

    def hidden_columns(self, sheet: str) -> set[int]:
        from openpyxl.utils import column_index_from_string

        out: set[int] = set()
        for letter, dim in self._ws(sheet).column_dimensions.items():
            if dim.hidden:
                first = dim.min or column_index_from_string(letter)
                out.update(range(first, (dim.max or first) + 1))
        return out

    def merged_ranges(self, sheet: str) -> list[tuple[int, int, int, int]]:
        return [(r.min_row, r.min_col, r.max_row, r.max_col) for r in self._ws(sheet).merged_cells.ranges]

    def _cell_style_safe_set(self, ws, row: int, col: int, value: object, as_formula: bool) -> None:
        cell = ws.cell(row=row, column=col)
        if isinstance(cell, MergedCell):  # inside a merged range, not its top-left cell: nothing to show
            return
        if isinstance(value, str):
            _check_text(ws.title, cell.coordinate, value)
        cell.value = value
        if not as_formula and isinstance(value, str):
            cell.data_type = "s"  # openpyxl guesses a formula from '=', an error value from '#N/A': text stays text

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[object]]) -> None:
        ws = self._ws(sheet)
        for i, values in enumerate(block):
            for j, value in enumerate(values):
                self._cell_style_safe_set(ws, row + i, col + j, value, as_formula=False)

    def write_formulas(self, sheet: str, row: int, col: int, block: Sequence[Sequence[str]]) -> None:
        ws = self._ws(sheet)
        for i, values in enumerate(block):
            for j, value in enumerate(values):
                self._cell_style_safe_set(ws, row + i, col + j, value, as_formula=True)

    def write_array_formula(self, sheet: str, ref: str, formula: str) -> None:
        from openpyxl.worksheet.formula import ArrayFormula

        ws = self._ws(sheet)
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                ws.cell(row=r, column=c).value = None
        ws.cell(row=min_row, column=min_col).value = ArrayFormula(ref, formula)

    def formula_at(self, sheet: str, row: int, col: int) -> str | None:
        from openpyxl.worksheet.formula import ArrayFormula

        v = self._ws(sheet).cell(row=row, column=col).value
        if isinstance(v, ArrayFormula):
            return v.text
        if isinstance(v, str) and v.startswith("="):
            return v
        return None

    def save(self, target: Path | None = None) -> Path:
        """Save atomically. openpyxl writes formulas without their results; the results of the formulas
        somebody typed into input cells (read through cached_value) are put back into the file, so the next
        reader (recompute, export) finds the value that was scored, as Excel would have saved it."""
        import io

        from .atomic import atomic_output, save_workbook_atomic

        target = Path(target or self.path)
        if self.path.is_file():  # openpyxl dropped the chart styles when it read the file: put them back
            restore_chart_styles(self.path, self.wb)
        if not self._kept:
            return save_workbook_atomic(self.wb, target)
        buffer = io.BytesIO()
        from .fastsave import save_workbook_fast

        save_workbook_fast(self.wb, buffer)
        data = with_cached_values(buffer.getvalue(), self._kept)
        with atomic_output(target) as handle:
            handle.write(data)
        return target


class ExcelBook(Book):
    """An open Excel workbook through xlwings (the ribbon button's side).

    Sheets are protected (input cells unlocked); writing to locked cells needs the protection lifted for the
    write and put back afterwards.
    """

    def __init__(self, xw_book):
        self.book = xw_book
        self._grids: dict[str, Grid] = {}

    @property
    def sheet_names(self) -> list[str]:
        return [s.name for s in self.book.sheets]

    def read(self, sheet: str) -> Grid:
        if sheet not in self._grids:
            sht = self.book.sheets[sheet]
            last = sht.used_range.last_cell
            values = sht.range((1, 1), (last.row, last.column)).options(ndim=2).value
            self._grids[sheet] = Grid(values or [])
        return self._grids[sheet]

    def _unprotected(self, sheet: str):
        sht = self.book.sheets[sheet]
        return _Unprotected(sht)

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[object]]) -> None:
        if not block:
            return
        for i, values in enumerate(block):
            for j, v in enumerate(values):
                if isinstance(v, str):
                    _check_text(sheet, column_letter(col + j) + str(row + i), v)
        # a leading apostrophe makes Excel keep what follows as text: no formula, error value, number or date
        safe = [["'" + v if isinstance(v, str) else v for v in values] for values in block]
        with self._unprotected(sheet) as sht:
            sht.range((row, col)).resize(len(safe), len(safe[0])).value = safe
        self._grids.pop(sheet, None)

    def write_formulas(self, sheet: str, row: int, col: int, block: Sequence[Sequence[str]]) -> None:
        if not block:
            return
        with self._unprotected(sheet) as sht:
            sht.range((row, col)).resize(len(block), len(block[0])).formula = [list(r) for r in block]
        self._grids.pop(sheet, None)

    def write_array_formula(self, sheet: str, ref: str, formula: str) -> None:
        with self._unprotected(sheet) as sht:
            sht.range(ref).formula_array = formula
        self._grids.pop(sheet, None)

    def activate(self, sheet: str) -> None:
        """Show the person a sheet after a button press (the list of problems, or the summary)."""
        self.book.sheets[sheet].activate()

    def formula_at(self, sheet: str, row: int, col: int) -> str | None:
        f = self.book.sheets[sheet].range((row, col)).formula
        return f if isinstance(f, str) and f.startswith("=") else None


class _Unprotected:
    def __init__(self, sht):
        self.sht = sht
        self.was_protected = False

    def __enter__(self):
        api = self.sht.api
        self.was_protected = bool(getattr(api, "ProtectContents", False))
        if self.was_protected:
            api.Unprotect()
        return self.sht

    def __exit__(self, *exc):
        if self.was_protected:
            self.sht.api.Protect(DrawingObjects=True, Contents=True, Scenarios=True, AllowFormattingColumns=True,
                                 AllowFormattingRows=True)
        return False


def column_letter(col: int) -> str:
    return get_column_letter(col)


def _check_text(sheet: str, coord: str, text: str) -> None:
    """The last guard before a text reaches a cell: the readers refuse such text first, naming where it was typed."""
    found = text_problem(text)
    if found:
        from ..scoring import InputProblems

        raise InputProblems([Problem(ERROR, "", f"{sheet}!{coord}", "要写入的文字", shown(text), *found)])


_TYPE_ATTR = re.compile(r'\s+t="[^"]*"')


def _sheet_parts(archive) -> dict[str, str]:
    """Sheet name -> its zip member, from xl/workbook.xml and its relationships."""
    from xml.sax.saxutils import unescape

    book = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for m in re.finditer(r"<Relationship\b[^>]*>", rels):
        rid, target = re.search(r'\bId="([^"]+)"', m.group(0)), re.search(r'\bTarget="([^"]+)"', m.group(0))
        if rid and target:
            t = target.group(1)
            targets[rid.group(1)] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    parts = {}
    for m in re.finditer(r"<sheet\b[^>]*>", book):
        name, rid = re.search(r'\bname="([^"]*)"', m.group(0)), re.search(r'\br:id="([^"]+)"', m.group(0))
        if name and rid and rid.group(1) in targets:
            parts[unescape(name.group(1), {"&quot;": '"', "&apos;": "'"})] = targets[rid.group(1)]
    return parts


def _value_xml(value: object) -> tuple[str, str] | None:
    """(type attribute, <v> text) of a cached value; None for what a cell can not hold as a result."""
    import math
    from xml.sax.saxutils import escape

    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, int):
        return "n", str(value)
    if isinstance(value, float):
        return ("n", repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):
        from ..inputs import EXCEL_ERRORS

        return ("e", value) if value in EXCEL_ERRORS else ("str", escape(value))
    return None


def with_cached_values(data: bytes, values: dict[tuple[str, int, int], object]) -> bytes:
    """An xlsx (bytes, as openpyxl wrote it) with the given formula cells' results written back."""
    import io
    import zipfile

    by_part: dict[str, list[tuple[str, tuple[str, str]]]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = _sheet_parts(archive)
        for (sheet, row, col), value in values.items():
            xml = _value_xml(value)
            if sheet in parts and xml:
                by_part.setdefault(parts[sheet], []).append((f"{get_column_letter(col)}{row}", xml))
        if not by_part:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
            for info in archive.infolist():
                member = archive.read(info.filename)
                if info.filename in by_part:
                    text = member.decode("utf-8")
                    for coord, (t, v) in by_part[info.filename]:
                        pattern = re.compile(rf'<c r="{coord}"([^>]*?)>(<f\b[^>]*?(?:/>|>.*?</f>))(?:<v\s*/>|<v>.*?</v>)?</c>',
                                             re.S)

                        def put(m, coord=coord, t=t, v=v):
                            attrs = _TYPE_ATTR.sub("", m.group(1))
                            return f'<c r="{coord}"{attrs} t="{t}">{m.group(2)}<v>{v}</v></c>'

                        text = pattern.sub(put, text, count=1)
                    member = text.encode("utf-8")
                new.writestr(info, member)
    return out.getvalue()


def restore_chart_styles(src: Path, wb) -> None:
    """openpyxl reads charts back but drops their style number; put back what the source file says.

    Charts are matched in order (chart1.xml, chart2.xml, ... against the worksheets' charts), which is how
    openpyxl numbers the charts it writes; when the counts differ nothing is changed.
    """
    charts = [chart for ws in wb.worksheets for chart in ws._charts]
    if not charts:
        return
    with zipfile.ZipFile(src) as zf:
        parts = sorted((n for n in zf.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)),
                       key=lambda n: int(re.search(r"(\d+)\.xml$", n).group(1)))
        styles = []
        for name in parts:
            head = zf.read(name)[:4000].decode("utf-8", errors="replace")
            m = re.search(r"<(?:\w+:)?style\s+val=\"(\d+)\"", head)
            styles.append(int(m.group(1)) if m else None)
    if len(styles) != len(charts):
        return
    for chart, style in zip(charts, styles):
        if chart.style is None and style is not None and 1 <= style <= 48:
            chart.style = style
