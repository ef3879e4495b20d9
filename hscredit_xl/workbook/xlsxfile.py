"""A workbook file read and written in place, without building it in memory (issue 13).

openpyxl builds an object for every cell of every sheet to read one value, and writes every one of them back
to change a few thousand: at 3,000 units that was the whole cost of `recompute` (BENCHMARKS.md). `XlsxBook`
is the same `Book` as `OpenpyxlBook` — the same values, formula markers, cached results, hidden rows and
columns, merged ranges — read straight from the sheet XML of the sheets asked for (expat, one pass), and on
`save` it rewrites only the rows that were written, copying every other byte of the package as it was.

What it keeps exactly as openpyxl does (the tests compare the two on the same files): numbers (int or float
by their text), shared and inline strings (rich text as its plain text), booleans, error values, dates by
the cell's number format (1900 and 1904 calendars), formulas as `Formula('=…')` with shared formulas
translated to each cell, array formulas, the value of a merged range in its top-left cell only.
What it writes as openpyxl would: numbers as `%.16g`, text as inline strings (never a formula, whatever it
starts with), dates as serial numbers, formulas without a cached result, the cell's style kept.
Because nothing else is rewritten, formula results saved by Excel stay in the file: every formula's result
is dropped (as openpyxl drops them) except where a person typed a formula whose result was read, and the
workbook asks to be recalculated when it is opened (`fullCalcOnLoad`); Excel's calculation chain, which
may name cells that are no longer formulas, is dropped (Excel rebuilds it).

Files from outside are checked by `safety.check_xlsx` first, with limits set for this reader's cost (about
1 µs a cell rather than openpyxl's 25 µs): the same refusals, for workbooks of up to 30,000 units. The XML
is parsed by expat with any DOCTYPE refused (check_xlsx refuses one first); nothing is ever evaluated.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import coordinate_from_string, column_index_from_string

from ..inputs import ERROR, Problem, shown, text_problem
from ..scoring import InputProblems
from .book import Book, Formula, SparseGrid, _check_text, _sheet_parts

_LOCAL = {}


def _local(name: str) -> str:
    """A tag's name without its namespace prefix (x:c -> c)."""
    found = _LOCAL.get(name)
    if found is None:
        found = _LOCAL[name] = name.rpartition(":")[2]
    return found


def _refuse_dtd(*_args) -> None:
    raise ValueError("DOCTYPE")


def _parser():
    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartDoctypeDeclHandler = _refuse_dtd  # check_xlsx refuses these before; never expand an entity
    p.EntityDeclHandler = _refuse_dtd
    return p


def _cast_number(text: str):
    """As openpyxl reads a number: a float when it has '.', 'e' or 'E', else an int."""
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


def _cell_ref(ref: str) -> tuple[int, int]:
    letters, row = coordinate_from_string(ref)
    return row, column_index_from_string(letters)


# ------------------------------------------------------------------------------------------------ reading
@dataclass
class _Sheet:
    """One worksheet part as read: what the Book interface answers, and where its rows are in the XML."""

    xml: bytes
    values: dict[tuple[int, int], object] = field(default_factory=dict)
    cached: dict[tuple[int, int], object] = field(default_factory=dict)
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # formula text (array: its text)
    shared_masters: dict[str, tuple[int, int]] = field(default_factory=dict)  # si -> the cell defining it
    shared_of: dict[tuple[int, int], str] = field(default_factory=dict)  # formula cell -> its si
    max_row: int = 0
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    bad: list[Problem] = field(default_factory=list)


_COORD = re.compile(r"([A-Z]{1,3})(\d+)$")
_COLUMNS_B: dict[bytes, int] = {}
_column = cache(column_index_from_string)  # "AB" -> 28, worked out once per column
_letters = cache(get_column_letter)  # 28 -> "AB"


class _SheetReader:
    """Fills a _Sheet from its XML in one expat pass (the handlers do as little as they can per cell: most
    cells of a template are empty input cells)."""

    def __init__(self, name: str, xml: bytes, strings, date_styles: set[int], timedelta_styles: set[int],
                 epoch: dt.datetime):
        self.name, self.sheet = name, _Sheet(xml)
        self.strings, self.dates, self.timedeltas, self.epoch = strings, date_styles, timedelta_styles, epoch
        self.row = 0
        self.col = 0
        self.in_cell = False
        self.t = "n"
        self.s = 0
        self.v: list[str] | None = None
        self.f: tuple[dict, list[str]] | None = None
        self.inline: list[str] | None = None
        self.text: list[str] | None = None  # the characters of the element being collected
        self.in_phonetic = 0
        self.translators: dict[str, object] = {}

    def parse(self) -> _Sheet:
        """The sheet read. Expat checks first that the XML is well formed (at C speed, no handler); then the
        cells are read by patterns, which is five times faster than a handler per element — for XML as
        spreadsheet programs write it (each cell naming its position, no CDATA or comment in a cell). Any
        other sheet is read by expat's handlers, element by element."""
        xml = self.sheet.xml
        _parser().Parse(xml, True)  # well formed (a DOCTYPE refused): the patterns below run in linear time
        if self._fast():
            self._unmerge()
            return self.sheet
        slim = _without_empty_cells(xml)
        p = self.p = _parser()
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.chars
        p.Parse(slim, True)
        if slim is not xml:
            self.sheet.max_row = max(self.sheet.max_row, _last_cell_row(xml))
        self._unmerge()
        return self.sheet

    def _fast(self) -> bool:
        xml = self.sheet.xml
        m = _SHEET_DATA.search(xml)
        if not m:
            return False
        p = m.group(1)
        cells = sum(xml.count(b"<" + p + b"c" + end) for end in (b" ", b">", b"/", b"\n", b"\r", b"\t"))
        if cells != xml.count(b"<" + p + b'c r="'):
            return False  # a cell placed by its order (or written otherwise): read element by element
        sheet = self.sheet
        # rows hidden, columns hidden, merged ranges
        if b'hidden="' in xml:
            number = 0
            for tag in _ROW_TAG.finditer(xml):
                r = _ROW_NUMBER.search(tag.group(2))
                number = int(r.group(1)) if r else number + 1
                if _HIDDEN.search(tag.group(2)):
                    sheet.hidden_rows.add(number)
            for tag in _COL_TAG.finditer(xml, 0, m.start()):
                if _HIDDEN.search(tag.group(1)):
                    lo, hi = _MIN.search(tag.group(1)), _MAX.search(tag.group(1))
                    if lo and hi:
                        sheet.hidden_cols.update(range(int(lo.group(1)), int(hi.group(1)) + 1))
        data_end = xml.rfind(b"sheetData")
        for ref in _MERGE_REF.findall(xml, max(0, data_end)):
            ref = _unescape(ref.decode("utf-8"))
            if ":" in ref:
                c1, r1, c2, r2 = range_boundaries(ref)
                sheet.merged.append((r1, c1, r2, c2))
        sheet.max_row = _last_cell_row(xml, p)
        values = sheet.values
        dates = self.dates
        columns = _COLUMNS_B
        formulas, cached = sheet.formulas, sheet.cached
        for cm in _full_cell_pattern(p).finditer(xml):  # the cells with content (an empty one never matches)
            letters, row, s, t, attrs, v, inline, ftext, fv, other = cm.groups()
            col = columns.get(letters)
            if col is None:
                col = columns[letters] = column_index_from_string(letters.decode())
            row = int(row)
            if attrs:  # attributes in another order, or others besides
                if s is None:
                    found = _S.search(attrs)
                    s = found.group(1) if found else None
                if t is None:
                    found = _T.search(attrs)
                    t = found.group(1) if found else None
            t = t.decode() if t is not None else "n"
            style = int(s) if s is not None else 0
            if ftext is not None:  # <f>…</f> and its saved result: a plain formula
                text = "=" + _unescape(ftext.decode("utf-8"))
                key = (row, col)
                formulas[key] = text
                values[key] = Formula(text)
                if fv:
                    self.row, self.col, self.t, self.s = row, col, t, style
                    self.inline = None
                    cached[key] = self._value(key, t, _unescape(fv.decode("utf-8")), cached=True)
                continue
            if v is not None:  # <v>…</v> alone: most cells
                if t == "n" and style not in dates and b"&" not in v:
                    try:
                        value = _cast_number(v.decode())
                    except ValueError:
                        value = None
                    if value is not None and (not isinstance(value, float) or math.isfinite(value)):
                        values[(row, col)] = value
                        continue
                self.row, self.col, self.t, self.s = row, col, t, style
                self.v, self.f, self.inline = [_unescape(v.decode("utf-8"))], None, None
                self._cell()
                continue
            if inline is not None and t == "inlineStr":
                text = inline.decode("utf-8")
                if "&" in text:
                    text = _unescape(text)
                if text and not text_problem(text):
                    values[(row, col)] = text
                    continue
                self.row, self.col, self.t, self.s = row, col, t, style
                self.v, self.f, self.inline = None, None, [text]
                self._cell()
                continue
            if other is None:
                continue
            if b"<![CDATA[" in other or b"<!--" in other or b"<?" in other:
                return self._restart()
            self.row, self.col, self.t, self.s = row, col, t, style
            self.v = self.f = self.inline = None
            text = other.decode("utf-8")
            fm = _f_pattern(p).search(text)
            if fm:
                fattrs = {k: _unescape(v) for k, v in _ATTRS.findall(fm.group(1) or "")}
                self.f = (fattrs, [_unescape(fm.group(2) or "")])
            vm = _v_in(p).search(text)
            if vm:
                self.v = [_unescape(vm.group(1))]
            if t == "inlineStr":
                body = _RPH.sub("", text) if "rPh" in text else text
                self.inline = [_unescape(x) for x in _t_pattern(p).findall(body)]
            if self.v is not None or self.f is not None or self.inline is not None:
                self._cell()
        return True

    def _restart(self) -> bool:
        """Back to the element-by-element reader (what was read so far is read again)."""
        name, xml = self.name, self.sheet.xml
        self.sheet = _Sheet(xml)
        self.row = self.col = 0
        return False

    def chars(self, data: str) -> None:
        if self.text is not None and not self.in_phonetic:
            self.text.append(data)

    def start(self, name: str, attrs: dict) -> None:
        tag = name if ":" not in name else _local(name)
        if tag == "c":
            ref = attrs.get("r")
            m = _COORD.match(ref) if ref else None
            if m:
                self.col, self.row = _column(m.group(1)), int(m.group(2))
            else:
                self.col += 1
            self.in_cell = True
            self.t = attrs.get("t", "n")
            s = attrs.get("s")
            self.s = int(s) if s else 0
            if self.row > self.sheet.max_row:
                self.sheet.max_row = self.row
        elif self.in_cell:
            if tag == "v":
                self.text = self.v = []
            elif tag == "f":
                self.text = []
                self.f = (attrs, self.text)
            elif tag == "t":
                if self.inline is None:
                    self.inline = []
                self.text = self.inline
            elif tag == "rPh":
                self.in_phonetic += 1
        elif tag == "row":
            r = attrs.get("r")
            self.row = int(float(r)) if r else self.row + 1
            self.col = 0
            if attrs.get("hidden") in ("1", "true"):
                self.sheet.hidden_rows.add(self.row)
        elif tag == "col":
            if attrs.get("hidden") in ("1", "true"):
                first, last = int(attrs.get("min", 0)), int(attrs.get("max", 0))
                self.sheet.hidden_cols.update(range(first, last + 1))
        elif tag == "mergeCell":
            ref = attrs.get("ref", "")
            if ":" in ref:
                c1, r1, c2, r2 = range_boundaries(ref)
                self.sheet.merged.append((r1, c1, r2, c2))

    def end(self, name: str) -> None:
        tag = name if ":" not in name else _local(name)
        if self.in_cell:
            if tag == "c":
                if self.v is not None or self.f is not None or self.inline is not None:
                    self._cell()
                    self.v = self.f = self.inline = None
                self.in_cell = False
                self.text = None
            elif tag == "rPh":
                self.in_phonetic -= 1
            elif tag == "v" or tag == "f" or tag == "t":
                self.text = None

    def _cell(self) -> None:
        key = (self.row, self.col)
        sheet = self.sheet
        v = "".join(self.v) if self.v is not None else None
        if self.f is not None:
            attrs, parts = self.f
            text = self._formula(key, attrs, "".join(parts))
            sheet.formulas[key] = text
            sheet.values[key] = Formula(text)
            if v:  # the result the program that saved the file computed
                sheet.cached[key] = self._value(key, self.t, v, cached=True)
            return
        value = self._value(key, self.t, v)
        if value is not None:
            sheet.values[key] = value

    def _formula(self, key: tuple[int, int], attrs: dict, text: str) -> str:
        kind = attrs.get("t")
        value = "=" + text
        if kind == "shared":
            si = attrs.get("si")
            self.sheet.shared_of[key] = si
            if si in self.translators:
                value = self.translators[si].translate_formula(f"{get_column_letter(key[1])}{key[0]}")
            elif text:
                from openpyxl.formula.translate import Translator

                self.translators[si] = Translator(value, f"{get_column_letter(key[1])}{key[0]}")
                self.sheet.shared_masters[si] = key
        return value

    def _value(self, key: tuple[int, int], t: str, v: str | None, cached: bool = False):
        if t == "inlineStr":
            value = "".join(self.inline) if self.inline is not None else None
        elif v is None or v == "":
            return None
        elif t == "n":
            try:
                value = _cast_number(v)
            except ValueError:
                self._bad(key, v.strip(), _NOT_FINITE)
                return None
            if isinstance(value, float) and not math.isfinite(value):
                self._bad(key, value, _NOT_FINITE)
                return None
            if self.s in self.dates:
                from openpyxl.utils.datetime import from_excel

                try:
                    value = from_excel(value, self.epoch, timedelta=self.s in self.timedeltas)
                except (OverflowError, ValueError):
                    value = "#VALUE!"
        elif t == "s":
            value = self.strings()[int(v)]
        elif t == "b":
            value = bool(int(v))
        elif t == "d":
            from openpyxl.utils.datetime import from_ISO8601

            value = from_ISO8601(v)
        else:  # str (a formula's text result), e (an error value)
            value = v
        if isinstance(value, str) and not cached:
            found = text_problem(value)
            if found:
                self._bad(key, value, found)
                return None
        return value

    def _bad(self, key: tuple[int, int], value: object, expected: tuple[str, str]) -> None:
        where = f"{self.name}!{get_column_letter(key[1])}{key[0]}"
        self.sheet.bad.append(Problem(ERROR, "", where, "单元格", shown(value), *expected))

    def _unmerge(self) -> None:
        """Only the top-left cell of a merged range holds a value (openpyxl's MergedCell holds none)."""
        values = self.sheet.values
        for r1, c1, r2, c2 in self.sheet.merged:
            if (r2 - r1 + 1) * (c2 - c1 + 1) > len(values):
                hits = [k for k in values if r1 <= k[0] <= r2 and c1 <= k[1] <= c2 and k != (r1, c1)]
            else:
                hits = [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                        if (r, c) != (r1, c1) and (r, c) in values]
            for k in hits:
                values.pop(k, None)


_EMPTY_CELL = re.compile(rb'<((?:[\w.-]+:)?)c r="[A-Z]{1,3}\d+"(?: s="\d+")?(?: t="\w+")?\s*/>')
_ANY_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s/>]")
_CELL_WITH_REF = re.compile(rb'<(?:[\w.-]+:)?c r="')
_ROW_TAG = re.compile(rb'<((?:[\w.-]+:)?)row\b([^>]*?)(/?)>')
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')


def _without_empty_cells(xml: bytes) -> bytes:
    """The sheet without its empty cells (<c r="B5" s="3"/>), when every cell names its own position (a cell
    without r= is placed after the one before it: then nothing is removed)."""
    if xml.count(b"/>") < 1000:
        return xml
    if len(_ANY_CELL.findall(xml)) != len(_CELL_WITH_REF.findall(xml)):
        return xml
    return _EMPTY_CELL.sub(b"", xml)


def _merges(xml: bytes) -> list[tuple[int, int, int, int]]:
    """A sheet's merged ranges (after its rows), without reading its cells."""
    out = []
    for ref in _MERGE_REF.findall(xml, max(0, xml.rfind(b"sheetData"))):
        ref = _unescape(ref.decode("utf-8"))
        if ":" in ref:
            c1, r1, c2, r2 = range_boundaries(ref)
            out.append((r1, c1, r2, c2))
    return out


def _last_cell_row(xml: bytes, p: bytes = b"") -> int:
    """The number of the last row that holds a cell (empty or not): openpyxl's max_row."""
    pos = max(xml.rfind(b"<" + p + b"c "), xml.rfind(b"<" + p + b"c>"), xml.rfind(b"<" + p + b"c/"))
    if pos >= 0:
        row = xml.rfind(b"<" + p + b"row", 0, pos)
        if row >= 0:
            tag = _ROW_TAG.match(xml, row)
            r = _ROW_NUMBER.search(tag.group(2)) if tag else None
            if r:
                return int(r.group(1))
    rows = list(_ROW_TAG.finditer(xml))  # rows without their numbers: counted
    number_of = {}
    number = 0
    for tag in rows:
        r = _ROW_NUMBER.search(tag.group(2))
        number = int(r.group(1)) if r else number + 1
        number_of[tag.start()] = number
    for i in range(len(rows) - 1, -1, -1):
        tag = rows[i]
        if tag.group(3):  # <row .../>: no cells
            continue
        stop = rows[i + 1].start() if i + 1 < len(rows) else len(xml)
        if _ANY_CELL.search(xml, tag.end(), stop):
            return number_of[tag.start()]
    return 0


@dataclass
class _Layout:
    """Where things are in a sheet's XML, for rewriting rows: found by a scan of its tags when it is saved."""

    prefix: str
    rows: dict[int, tuple[int, int]]  # row number -> (start, end)
    data_span: tuple[int, int]  # <sheetData ...> ... </sheetData> (or <sheetData/>)
    dimension: tuple[int, int] | None


def _scan(xml: bytes) -> _Layout:
    m = re.search(rb"<((?:[\w.-]+:)?)sheetData\b[^>]*?(/?)>", xml)
    if not m:
        raise ValueError("sheetData")
    prefix = m.group(1).decode()
    start = m.start()
    if m.group(2):
        data_end = m.end()
    else:
        close = xml.index(f"</{prefix}sheetData>".encode(), m.end())
        data_end = close + len(f"</{prefix}sheetData>")
    rows: dict[int, tuple[int, int]] = {}
    close_row = f"</{prefix}row>".encode()
    number = 0
    for tag in _ROW_TAG.finditer(xml, m.end(), data_end):
        r = _ROW_NUMBER.search(tag.group(2))
        number = int(r.group(1)) if r else number + 1
        end = tag.end() if tag.group(3) else xml.index(close_row, tag.end()) + len(close_row)
        rows[number] = (tag.start(), end)
    d = re.search(rb"<(?:[\w.-]+:)?dimension\b[^>]*/>", xml[:start])
    return _Layout(prefix, rows, (start, data_end), (d.start(), d.end()) if d else None)


_SHEET_DATA = re.compile(rb"<((?:[\w.-]+:)?)sheetData\b")
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_COL_TAG = re.compile(rb"<(?:[\w.-]+:)?col\b([^>]*)>")
_MIN, _MAX = re.compile(rb'\bmin="(\d+)"'), re.compile(rb'\bmax="(\d+)"')
_MERGE_REF = re.compile(rb'<(?:[\w.-]+:)?mergeCell\b[^>]*?\bref="([^"]*)"')
_T, _S = re.compile(rb'\bt="(\w+)"'), re.compile(rb'\bs="(\d+)"')
_ATTRS = re.compile(r'([\w:]+)="([^"]*)"')
_RPH = re.compile(r"<(?:[\w.-]+:)?rPh\b.*?</(?:[\w.-]+:)?rPh>", re.S)
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_CELL_PATTERNS: dict[bytes, tuple] = {}


def _unescape(text: str) -> str:
    """XML character references and the five predefined entities (a well-formed part has no other)."""
    if "&" not in text:
        return text

    def one(m: re.Match) -> str:
        ref = m.group(1)
        if ref[0] == "#":
            return chr(int(ref[2:], 16) if ref[1] in "xX" else int(ref[1:]))
        return _NAMED[ref]

    return _ENTITY.sub(one, text)


def _patterns(p: bytes) -> tuple:
    if p not in _CELL_PATTERNS:
        q, qs = re.escape(p), re.escape(p.decode())
        _CELL_PATTERNS[p] = (
            re.compile(rb"<" + q + rb'c r="([A-Z]{1,3})(\d+)"(?: s="(\d+)")?(?: t="(\w+)")?([^>]*?)(?<!/)>(?:<' + q
                       + rb"v>([^<]*)</" + q + rb"v>|<" + q + rb"is><" + q + rb't(?: xml:space="preserve")?>([^<]*)</'
                       + q + rb"t></" + q + rb"is>|<" + q + rb"f>([^<]*)</" + q + rb"f>(?:<" + q + rb"v>([^<]*)</" + q
                       + rb"v>|<" + q + rb"v\s*/>)?|(.*?))</" + q + rb"c>", re.S),
            re.compile(rb"<" + q + rb"v>([^<]*)</" + q + rb"v>"),
            re.compile(r"<" + qs + r"f\b([^>]*?)(?:/>|>(.*?)</" + qs + r"f>)", re.S),
            re.compile(r"<" + qs + r"v>([^<]*)</" + qs + r"v>"),
            re.compile(r"<" + qs + r"t\b[^>]*?(?:/>|>(.*?)</" + qs + r"t>)", re.S),
        )
    return _CELL_PATTERNS[p]


def _full_cell_pattern(p: bytes) -> re.Pattern:
    return _patterns(p)[0]


def _value_pattern(p: bytes) -> re.Pattern:
    return _patterns(p)[1]


def _f_pattern(p: bytes) -> re.Pattern:
    return _patterns(p)[2]


def _v_in(p: bytes) -> re.Pattern:
    return _patterns(p)[3]


def _t_pattern(p: bytes) -> re.Pattern:
    return _patterns(p)[4]


_NOT_FINITE = ("数值不是有限数（NaN 或无穷大），工作簿中不能保存这样的数值", "请改为有限的数值（或在 Excel 中重新输入）后再试")


def _read_shared_strings(xml: bytes) -> list[str]:
    """The shared strings as openpyxl reads them: each item's plain text and its runs' (phonetic runs left out)."""
    out: list[str] = []
    state = {"text": None, "item": None, "phonetic": 0}

    def start(name, attrs):
        tag = _local(name)
        if tag == "si":
            state["item"] = []
        elif tag == "rPh":
            state["phonetic"] += 1
        elif tag == "t" and state["item"] is not None and not state["phonetic"]:
            state["text"] = state["item"]

    def end(name):
        tag = _local(name)
        if tag == "si":
            out.append("".join(state["item"]).replace("x005F_", ""))
            state["item"] = None
        elif tag == "rPh":
            state["phonetic"] -= 1
        elif tag == "t":
            state["text"] = None

    def chars(data):
        if state["text"] is not None:
            state["text"].append(data)

    p = _parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    p.Parse(xml, True)
    return out


def _date_styles(xml: bytes | None) -> tuple[set[int], set[int]]:
    """The cell formats (xf index) whose number format is a date / a time span, as openpyxl decides it."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

    if not xml:
        return set(), set()
    custom: dict[int, str] = {}
    xfs: list[int] = []
    state = {"in_xfs": False}

    def start(name, attrs):
        tag = _local(name)
        if tag == "numFmt":
            custom[int(attrs.get("numFmtId", 0))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            xfs.append(int(attrs.get("numFmtId", 0) or 0))

    def end(name):
        if _local(name) == "cellXfs":
            state["in_xfs"] = False

    p = _parser()
    p.StartElementHandler, p.EndElementHandler = start, end
    p.Parse(xml, True)
    dates, spans = set(), set()
    for idx, fmt_id in enumerate(xfs):
        fmt = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, "General"))
        if is_date_format(fmt):
            dates.add(idx)
        if is_timedelta_format(fmt):
            spans.add(idx)
    return dates, spans


# ------------------------------------------------------------------------------------------------ writing
def _number_text(value) -> str:
    return "%.16g" % value


def _cell_xml(prefix: str, ref: str, style: str, kind: str, payload) -> str:
    """One <c> element: kind 'v' (a value), 'f' (a formula), 'a' (an array formula: (ref, text))."""
    c = prefix + "c"
    s = f' s="{style}"' if style and style != "0" else ""
    if kind == "v":
        value = payload
        tp = type(value)
        if tp is float:
            if not math.isfinite(value):
                return f'<{c} r="{ref}"{s}/>'
            return f'<{c} r="{ref}"{s} t="n"><{prefix}v>{value:.16g}</{prefix}v></{c}>'
        if tp is str:
            if value == "":
                return f'<{c} r="{ref}"{s}/>'
            text = escape(value) if ("&" in value or "<" in value or ">" in value) else value
            space = ' xml:space="preserve"' if value != value.strip() and value.strip() else ""
            return (f'<{c} r="{ref}"{s} t="inlineStr"><{prefix}is><{prefix}t{space}>{text}</{prefix}t>'
                    f"</{prefix}is></{c}>")
        if value is None:
            return f'<{c} r="{ref}"{s}/>'
        if tp is bool:
            return f'<{c} r="{ref}"{s} t="b"><{prefix}v>{int(value)}</{prefix}v></{c}>'
        if isinstance(value, (dt.date, dt.datetime, dt.time)):
            from openpyxl.utils.datetime import to_excel

            value = to_excel(value)
        if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
            if isinstance(value, float) and not math.isfinite(value):
                return f'<{c} r="{ref}"{s}/>'
            return f'<{c} r="{ref}"{s} t="n"><{prefix}v>{_number_text(value)}</{prefix}v></{c}>'
        return _cell_xml(prefix, ref, style, "v", str(value))
    if kind == "f":
        text = payload[1:] if payload.startswith("=") else payload
        return f'<{c} r="{ref}"{s}><{prefix}f>{escape(text)}</{prefix}f></{c}>'
    rng, text = payload
    text = text[1:] if text.startswith("=") else text
    return f'<{c} r="{ref}"{s}><{prefix}f t="array" ref="{rng}">{escape(text)}</{prefix}f></{c}>'


def _cells_of_row(row_xml: str, prefix: str) -> tuple[str, dict[int, tuple[str, str]], str]:
    """A <row> element split: its opening tag, its cells by column (their style, their xml), its closing tag."""
    if row_xml.endswith("/>") and row_xml.count("<") == 1:
        return row_xml[:-2] + ">", {}, f"</{prefix}row>"
    head_end = row_xml.index(">") + 1
    close = f"</{prefix}row>"
    body = row_xml[head_end:len(row_xml) - len(close)]
    cells, col = {}, 0
    for m in _cell_pattern(prefix).finditer(body):
        letters, style, rest = m.groups()
        col = _column(letters) if letters else col + 1
        if style is None:
            found = _STYLE.search(rest) if 's="' in rest else None
            style = found.group(1) if found else ""
        cells[col] = (style, m.group(0))
    return row_xml[:head_end], cells, close


_PATTERNS: dict[str, re.Pattern] = {}


def _cell_pattern(prefix: str) -> re.Pattern:
    if prefix not in _PATTERNS:
        p = re.escape(prefix)
        _PATTERNS[prefix] = re.compile(rf'<{p}c\b(?: r="([A-Z]+)\d+")?(?: s="(\d+)")?([^>]*?)(?:/>|>.*?</{p}c>)', re.S)
    return _PATTERNS[prefix]


_STYLE = re.compile(r'\bs="(\d+)"')
_CELL_COLUMN = re.compile(r'\br="([A-Z]+)\d+"')
_SPANS = re.compile(r'\s+spans="[^"]*"')


def _patched_row(row_xml: str, prefix: str, row: int, writes: dict[int, tuple]) -> str:
    head, cells, close = _cells_of_row(row_xml, prefix)
    head = _SPANS.sub("", head)  # the cells may now span other columns
    for col, (kind, payload) in writes.items():
        style = cells[col][0] if col in cells else ""
        cells[col] = (style, _cell_xml(prefix, f"{_letters(col)}{row}", style, kind, payload))
    return head + "".join(cells[c][1] for c in sorted(cells)) + close


_FORMULA_RESULT = re.compile(
    r'(<(?P<p>(?:[\w.-]+:)?)c\b)(?P<a>[^>]*)>(?P<f><(?P=p)f\b(?:[^>]*/>|.*?</(?P=p)f>))'
    r'(?:<(?P=p)v>[^<]*</(?P=p)v>|<(?P=p)v\s*/>)?(?P<rest>(?:(?!</(?P=p)c>).)*)</(?P=p)c>', re.S)
_TYPE = re.compile(r'\s+t="[^"]*"')
_REF = re.compile(r'\br="([A-Z]+)(\d+)"')


def _drop_results(xml: str, keep: set[tuple[int, int]]) -> str:
    """Every formula cell without its saved result (as openpyxl saves), except the cells in `keep`."""
    if "<f" not in xml and ":f" not in xml:
        return xml

    def strip(m: re.Match) -> str:
        if keep:
            ref = _REF.search(m.group("a"))
            if ref and (int(ref.group(2)), column_index_from_string(ref.group(1))) in keep:
                return m.group(0)
        return f"{m.group(1)}{_TYPE.sub('', m.group('a'))}>{m.group('f')}{m.group('rest')}</{m.group('p')}c>"

    return _FORMULA_RESULT.sub(strip, xml)


# ------------------------------------------------------------------------------------------------ the book
class XlsxBook(Book):
    """A workbook file, read sheet by sheet on demand and saved by rewriting only what changed."""

    def __init__(self, path: Path, *, check: bool = True):
        from . import safety

        self.path = Path(path)
        if check:
            safety.check_xlsx(self.path, limits=safety.DIRECT_LIMITS)
        try:
            self._data = self.path.read_bytes()
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
            self._parts = _sheet_parts(self._zip)
            book_xml = self._zip.read("xl/workbook.xml").decode("utf-8")
            self._epoch = _epoch(book_xml)
            self._dates, self._timedeltas = _date_styles(self._member("xl/styles.xml"))
        except (KeyError, ValueError, UnicodeDecodeError, zipfile.BadZipFile, expat.ExpatError) as exc:
            raise safety._refuse(self.path, f"工作簿内容无法解析（{type(exc).__name__}）",
                                 "文件可能已损坏或不是本工具的模板") from None
        self._names = list(self._parts)
        self._strings: list[str] | None = None
        self._sheets: dict[str, _Sheet] = {}
        self._writes: dict[str, dict[tuple[int, int], tuple]] = {}
        self._kept: set[tuple[str, int, int]] = set()
        self._grids: dict[str, SparseGrid] = {}
        self._merged_cells: dict[str, set[tuple[int, int]]] = {}

    # --------------------------------------------------------------------------------------------- reading
    def _member(self, name: str) -> bytes | None:
        try:
            return self._zip.read(name)
        except KeyError:
            return None

    def _shared_strings(self) -> list[str]:
        if self._strings is None:
            rels = self._zip.read("xl/_rels/workbook.xml.rels").decode("utf-8")
            m = re.search(r'<Relationship\b[^>]*Type="[^"]*/sharedStrings"[^>]*>', rels)
            target = re.search(r'\bTarget="([^"]+)"', m.group(0)).group(1) if m else "sharedStrings.xml"
            part = target.lstrip("/") if target.startswith("/") else "xl/" + target
            xml = self._member(part)
            self._strings = _read_shared_strings(xml) if xml else []
        return self._strings

    def _sheet(self, sheet: str) -> _Sheet:
        if sheet not in self._sheets:
            if sheet not in self._parts:
                raise KeyError(sheet)
            from . import safety

            try:
                xml = self._zip.read(self._parts[sheet])
                parsed = _SheetReader(sheet, xml, self._shared_strings, self._dates, self._timedeltas,
                                      self._epoch).parse()
            except (KeyError, ValueError, IndexError, UnicodeDecodeError, zipfile.BadZipFile,
                    expat.ExpatError) as exc:
                raise safety._refuse(self.path, f"工作表「{sheet}」的内容无法解析（{type(exc).__name__}）",
                                     "文件可能已损坏或不是本工具的模板") from None
            if parsed.max_row > safety.DIRECT_LIMITS["MAX_SHEET_ROWS"]:
                raise safety._refuse(self.path, f"工作表「{sheet}」用到了第 {parsed.max_row:,} 行，远超模板的范围"
                                                f"（不超过 {safety.DIRECT_LIMITS['MAX_SHEET_ROWS']:,} 行），已拒绝",
                                     "文件可能已损坏或被改动")
            if parsed.bad:
                raise InputProblems(safety._listed(parsed.bad))
            self._sheets[sheet] = parsed
        return self._sheets[sheet]

    @property
    def sheet_names(self) -> list[str]:
        return list(self._names)

    def read(self, sheet: str) -> SparseGrid:
        if sheet not in self._grids:
            parsed = self._sheet(sheet)
            cells = dict(parsed.values)
            max_row = parsed.max_row
            for (r, c), (kind, payload) in self._writes.get(sheet, {}).items():
                max_row = max(max_row, r)
                if kind == "v":
                    if payload is None or (isinstance(payload, str) and payload == ""):
                        cells.pop((r, c), None)
                    else:
                        cells[(r, c)] = payload
                elif kind == "f":
                    cells[(r, c)] = Formula(payload)
                else:
                    cells[(r, c)] = Formula(payload[1])
            self._grids[sheet] = SparseGrid(cells, max_row)
        return self._grids[sheet]

    def value_at(self, sheet: str, row: int, col: int) -> object:
        """One cell without reading its whole sheet (the 汇总 stamp, the 计分 signature): its element found in
        the XML and read by the same reader; a sheet already read, or a cell written, as read() has it."""
        if sheet in self._sheets or (row, col) in self._writes.get(sheet, {}):
            return self.read(sheet).get(row, col)
        if sheet not in self._parts:
            raise KeyError(sheet)
        xml = self._zip.read(self._parts[sheet])
        m = _SHEET_DATA.search(xml)
        p = m.group(1) if m else b""
        ref = f"{_letters(col)}{row}".encode()
        found = re.search(b"<" + re.escape(p) + b'c r="' + ref + rb'"[^>]*?(?:/>|>.*?</' + re.escape(p) + b"c>)",
                          xml, re.S)
        if not found:
            return None
        if any(r1 <= row <= r2 and c1 <= col <= c2 and (row, col) != (r1, c1)
               for r1, c1, r2, c2 in _merges(xml)):
            return None
        part = (b"<" + p + b"sheetData" + (b' xmlns:' + p[:-1] + b'="x"' if p else b"") + b"><" + p + b'row r="'
                + str(row).encode() + b'">' + found.group(0) + b"</" + p + b"row></" + p + b"sheetData>")
        reader = _SheetReader(sheet, part, self._shared_strings, self._dates, self._timedeltas, self._epoch)
        return reader.parse().values.get((row, col))

    def cached_value(self, sheet: str, row: int, col: int) -> object:
        value = self._sheet(sheet).cached.get((row, col))
        if value is not None:
            self._kept.add((sheet, row, col))
        return value

    def hidden_rows(self, sheet: str) -> set[int]:
        return set(self._sheet(sheet).hidden_rows)

    def hidden_columns(self, sheet: str) -> set[int]:
        return set(self._sheet(sheet).hidden_cols)

    def merged_ranges(self, sheet: str) -> list[tuple[int, int, int, int]]:
        return list(self._sheet(sheet).merged)

    def formula_at(self, sheet: str, row: int, col: int) -> str | None:
        write = self._writes.get(sheet, {}).get((row, col))
        if write is not None:
            kind, payload = write
            return None if kind == "v" else payload if kind == "f" else payload[1]
        return self._sheet(sheet).formulas.get((row, col))

    # --------------------------------------------------------------------------------------------- writing
    def _blocked(self, sheet: str) -> set[tuple[int, int]]:
        """The cells inside a merged range other than its top-left one: a value written there shows nowhere
        (openpyxl's MergedCell takes none). A sheet only written to is not read for it: its merges are found."""
        if sheet not in self._merged_cells:
            if sheet in self._sheets:
                merged = self._sheets[sheet].merged
            elif sheet in self._parts:
                merged = _merges(self._zip.read(self._parts[sheet]))
            else:
                raise KeyError(sheet)
            self._merged_cells[sheet] = {(r, c) for r1, c1, r2, c2 in merged
                                         for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)
                                         if (r, c) != (r1, c1)}
        return self._merged_cells[sheet]

    def _put(self, sheet: str, row: int, col: int, kind: str, payload) -> None:
        if (row, col) in self._blocked(sheet):
            return
        self._writes.setdefault(sheet, {})[(row, col)] = (kind, payload)
        self._grids.pop(sheet, None)

    def write(self, sheet: str, row: int, col: int, block: Sequence[Sequence[object]]) -> None:
        blocked = self._blocked(sheet)
        writes = self._writes.setdefault(sheet, {})
        for i, values in enumerate(block):
            r = row + i
            for j, value in enumerate(values):
                key = (r, col + j)
                if isinstance(value, str):
                    _check_text(sheet, f"{get_column_letter(col + j)}{r}", value)
                if key not in blocked:
                    writes[key] = ("v", value)
        self._grids.pop(sheet, None)

    def write_formulas(self, sheet: str, row: int, col: int, block: Sequence[Sequence[str]]) -> None:
        for i, values in enumerate(block):
            for j, value in enumerate(values):
                if value is None or value == "":
                    self._put(sheet, row + i, col + j, "v", None)
                elif isinstance(value, str) and value.startswith("="):
                    self._put(sheet, row + i, col + j, "f", value)
                else:
                    self._put(sheet, row + i, col + j, "v", value)

    def write_array_formula(self, sheet: str, ref: str, formula: str) -> None:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        for r in range(min_row, max_row + 1):
            for c in range(min_col, max_col + 1):
                self._put(sheet, r, c, "v", None)
        self._put(sheet, min_row, min_col, "a", (ref, formula))

    # --------------------------------------------------------------------------------------------- saving
    def save(self, target: Path | None = None) -> Path:
        """Save atomically: the package as read, with the written rows rewritten and the formula results
        dropped (see the module docstring)."""
        from .atomic import atomic_output

        target = Path(target or self.path)
        with atomic_output(target) as handle:
            self._write_package(handle)
        return target

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self._write_package(out)
        return out.getvalue()

    def _write_package(self, out) -> None:
        parts = {part: sheet for sheet, part in self._parts.items()}
        chain = [i.filename for i in self._zip.infolist() if i.filename.lower().endswith("calcchain.xml")]
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
            for info in self._zip.infolist():
                name = info.filename
                if name in chain:
                    continue
                member = original = self._zip.read(info) if (name in parts or name in _REWRITTEN) else None
                if name in parts:
                    member = self._sheet_bytes(parts[name], member)
                elif name == "xl/workbook.xml":
                    member = _full_calc_on_load(member)
                elif chain and name == "[Content_Types].xml":
                    member = re.sub(rb'<Override\b[^>]*PartName="/[^"]*calcChain\.xml"[^>]*/>', b"", member)
                elif chain and name == "xl/_rels/workbook.xml.rels":
                    member = re.sub(rb'<Relationship\b[^>]*Target="[^"]*calcChain\.xml"[^>]*/>', b"", member)
                if member is original and _copy_raw(self._data, info, new):
                    continue  # as it was: its compressed bytes copied, not compressed again
                if member is None:
                    member = self._zip.read(info)
                copy = zipfile.ZipInfo(name, date_time=info.date_time)
                copy.compress_type = zipfile.ZIP_DEFLATED
                copy.external_attr = info.external_attr
                # a big part rewritten (复核明细's texts run to tens of MB at thousands of units): zlib level 4 makes
                # it a tenth bigger than the default level 6 in half the time
                new.writestr(copy, member, compresslevel=4 if len(member) > 1_000_000 else None)

    def _sheet_bytes(self, sheet: str, member: bytes) -> bytes:
        writes = self._writes.get(sheet)
        keep = {(r, c) for s, r, c in self._kept if s == sheet}
        if not writes:
            if not _HAS_RESULT.search(member):
                return member
            return _drop_results(member.decode("utf-8"), keep).encode("utf-8")
        if sheet in self._sheets or _SHARED_FORMULA.search(member):
            parsed = self._sheet(sheet)
            writes = self._expand_shared(parsed, writes)
        else:  # written to, never read: its shared formulas (none here) would need it read
            parsed = _Sheet(member)
        return self._patched(parsed, writes, keep)

    def _expand_shared(self, parsed: _Sheet, writes: dict) -> dict:
        """A shared formula whose defining cell is overwritten: its other cells get their own formula."""
        gone = {si for si, key in parsed.shared_masters.items() if key in writes}
        if not gone:
            return writes
        writes = dict(writes)
        for key, si in parsed.shared_of.items():
            if si in gone and key not in writes:
                writes[key] = ("f", parsed.formulas[key])
        return writes

    def _patched(self, parsed: _Sheet, writes: dict, keep: set) -> bytes:
        """The sheet's XML with the written rows rewritten (new rows put in order), the other rows as they
        were, every formula's saved result dropped (but `keep`), the dimension widened to the writes."""
        xml = parsed.xml
        where = _scan(xml)
        prefix = where.prefix
        by_row: dict[int, dict[int, tuple]] = {}
        for (r, c), w in writes.items():
            by_row.setdefault(r, {})[c] = w
        start, end = where.data_span
        head_end = xml.index(b">", start) + 1
        if xml[head_end - 2:head_end] == b"/>":  # <sheetData/>: nothing yet
            head, tail = xml[:head_end - 2] + b">", f"</{prefix}sheetData>".encode() + xml[end:]
            inner_start = inner_end = head_end
        else:
            inner_start, inner_end = head_end, xml.rindex(b"<", start, end)
            head, tail = xml[:inner_start], xml[inner_end:]
        pieces: list[bytes] = []
        pos = inner_start
        pending = sorted(by_row)
        k = 0

        def new_row(r: int) -> bytes:
            return _patched_row(f'<{prefix}row r="{r}"/>', prefix, r, by_row[r]).encode("utf-8")

        for row, (a, b) in sorted(where.rows.items(), key=lambda kv: kv[1][0]):
            while k < len(pending) and pending[k] < row:
                pieces.append(xml[pos:a])
                pos = a
                pieces.append(new_row(pending[k]))
                k += 1
            if k < len(pending) and pending[k] == row:
                pieces.append(xml[pos:a])
                pieces.append(_patched_row(xml[a:b].decode("utf-8"), prefix, row, by_row[row]).encode("utf-8"))
                pos = b
                k += 1
        pieces.append(xml[pos:inner_end])
        pieces += [new_row(r) for r in pending[k:]]
        inner = b"".join(pieces)
        if _HAS_RESULT.search(inner):
            inner = _drop_results(inner.decode("utf-8"), keep).encode("utf-8")
        if where.dimension:
            head = _widened(head, where.dimension, writes)
        return head + inner + tail


_SHARED_FORMULA = re.compile(rb'<(?:[\w.-]+:)?f\b[^>]*\bt="shared"')
_REWRITTEN = ("xl/workbook.xml", "[Content_Types].xml", "xl/_rels/workbook.xml.rels")


def _copy_raw(data: bytes, info: zipfile.ZipInfo, out: zipfile.ZipFile) -> bool:
    """Copy a member's compressed bytes from the package `data` into `out` as they are (a member nobody
    changed need not be compressed again). False (nothing written) where that can not be done safely: the
    member is then written the ordinary way."""
    try:
        off = info.header_offset
        head = data[off:off + 30]
        if head[:4] != b"PK\x03\x04" or info.compress_size >= 0xFFFFFFFF or info.file_size >= 0xFFFFFFFF:
            return False
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        start = off + 30 + name_len + extra_len
        raw = data[start:start + info.compress_size]
        if len(raw) != info.compress_size or not hasattr(out, "start_dir") or not hasattr(out, "filelist"):
            return False
        copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
        copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
        copy.CRC, copy.compress_size, copy.file_size = info.CRC, info.compress_size, info.file_size
        copy.flag_bits = info.flag_bits & ~0x08  # sizes and CRC in the header, no data descriptor after the data
        header = copy.FileHeader(False)
    except Exception:  # anything unexpected: the ordinary way
        return False
    if getattr(out, "_seekable", True):
        out.fp.seek(out.start_dir)
    copy.header_offset = out.fp.tell()
    out.fp.write(header)
    out.fp.write(raw)
    out.start_dir = out.fp.tell()
    out.filelist.append(copy)
    out.NameToInfo[copy.filename] = copy
    out._didModify = True
    return True


def _widened(head: bytes, span: tuple[int, int], writes: dict) -> bytes:
    """<dimension ref="A1:X9"/> covering the cells written too."""
    a, b = span
    tag = head[a:b].decode("utf-8")
    m = re.search(r'\bref="([^"]+)"', tag)
    if not m:
        return head
    try:
        c1, r1, c2, r2 = range_boundaries(m.group(1) if ":" in m.group(1) else f"{m.group(1)}:{m.group(1)}")
    except (ValueError, TypeError):
        return head
    r2 = max([r2] + [r for r, _ in writes])
    c2 = max([c2] + [c for _, c in writes])
    ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2}"
    return head[:a] + (tag[:m.start(1)] + ref + tag[m.end(1):]).encode("utf-8") + head[b:]


_HAS_RESULT = re.compile(rb'(?:</(?:[\w.-]+:)?f>|<(?:[\w.-]+:)?f\b[^>]*/>)<(?:[\w.-]+:)?v>[^<]')


def _epoch(book_xml: str) -> dt.datetime:
    from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

    m = re.search(r'<(?:[\w.-]+:)?workbookPr\b[^>]*\bdate1904="(1|true)"', book_xml)
    return CALENDAR_MAC_1904 if m else CALENDAR_WINDOWS_1900


def _full_calc_on_load(xml: bytes) -> bytes:
    """workbook.xml asking the spreadsheet program to recalculate every formula when it opens the file."""
    m = re.search(rb"<(?:[\w.-]+:)?calcPr\b[^>]*?(/?)>", xml)
    if not m:
        return xml
    tag = m.group(0)
    if re.search(rb'\bfullCalcOnLoad="(1|true)"', tag):
        return xml
    tag = re.sub(rb'\s+fullCalcOnLoad="[^"]*"', b"", tag)
    end = len(tag) - (2 if tag.endswith(b"/>") else 1)
    tag = tag[:end] + b' fullCalcOnLoad="1"' + tag[end:]
    return xml[:m.start()] + tag + xml[m.end():]
