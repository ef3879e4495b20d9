"""Save an openpyxl workbook as openpyxl does, its cells written five times faster (issue 13).

openpyxl writes a sheet's cells one XML element at a time through a pure-Python serializer (without lxml,
which it would need to be faster, and lxml barely helps: BENCHMARKS.md): about 10 µs a cell, most of a
3,000-unit template's save. `save_workbook_fast` is openpyxl's own `ExcelWriter` — every part but the rows
of each sheet written by openpyxl itself — whose sheet writer puts the rows out as text, cell by cell the
same XML openpyxl writes: the same attributes (r, s, t), numbers as `%.16g`, text as inline strings (with
xml:space="preserve" where openpyxl puts it), formulas and array formulas with an empty result, dates as
serial numbers. A sheet with anything else in a cell (a comment, a hyperlink, rich text, a data-table
formula) is written by openpyxl's own writer; so is every sheet where openpyxl is not the standard-library
writer (lxml installed). tests/test_fastsave.py compares the two on every kind of cell.
"""
from __future__ import annotations

import datetime as dt
import math
from functools import cache
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.writer.excel import ExcelWriter

_letters = cache(get_column_letter)  # 28 -> "AB", worked out once per column


class _Unsupported(Exception):
    """A cell this writer does not write: the sheet goes to openpyxl's own writer."""


def _cell_text(cell, style_id: int | None) -> str:
    """One <c> element as openpyxl's etree_write_cell writes it."""
    ref = f"{_letters(cell.column)}{cell.row}"
    s = f' s="{style_id}"' if style_id is not None else ""
    value = cell._value
    kind = cell.data_type
    if getattr(cell, "_comment", None) is not None or getattr(cell, "hyperlink", None) is not None:
        raise _Unsupported
    if kind == "s":
        if value is None or value == "":
            return f'<c r="{ref}"{s} t="inlineStr" />'
        if not isinstance(value, str):  # rich text
            raise _Unsupported
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and stripped != value else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'
    if kind == "f":
        if value is None or value == "":
            return f'<c r="{ref}"{s} />'
        if isinstance(value, ArrayFormula):
            text = value.text
            attrs = f' t="array" ref="{value.ref}"'
        elif isinstance(value, str):
            text, attrs = value, ""
        else:  # a data table
            raise _Unsupported
        return f'<c r="{ref}"{s}><f{attrs}>{escape(text[1:])}</f><v /></c>'
    if kind == "d":
        from openpyxl.utils.datetime import to_ISO8601, to_excel

        if getattr(value, "tzinfo", None) is not None:
            raise _Unsupported
        if cell.parent.parent.iso_dates and not isinstance(value, dt.timedelta):
            return f'<c r="{ref}"{s} t="d"><v>{to_ISO8601(value)}</v></c>'
        value, kind = to_excel(value, cell.parent.parent.epoch), "n"
    if value is None or value == "":
        return f'<c r="{ref}"{s} t="{kind}" />'
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        text = "" if (isinstance(value, float) and not math.isfinite(value)) else "%.16g" % value
    else:
        text = escape(str(value))
    return f'<c r="{ref}"{s} t="{kind}"><v>{text}</v></c>'


class _FastSheetWriter(WorksheetWriter):
    def write_rows(self):
        xf = self.xf.send(True)
        out = getattr(xf, "_file", None)
        if not callable(out):  # lxml's writer: openpyxl's own way
            return self._openpyxl_rows(xf)
        try:
            text = self._rows_text()
        except _Unsupported:
            return self._openpyxl_rows(xf)
        with xf.element("sheetData"):
            out(text)
        self.xf.send(None)

    def _openpyxl_rows(self, xf):
        with xf.element("sheetData"):
            for row_idx, row in self.rows():
                self.write_row(xf, row, row_idx)
        self.xf.send(None)

    def _rows_text(self) -> str:
        ws = self.ws
        styles = ws.parent._cell_styles
        ids: dict[tuple, int] = {}
        dims = ws.row_dimensions
        pieces: list[str] = []
        for row_idx, row in self.rows():
            attrs = {"r": f"{row_idx}"}
            attrs.update(dims.get(row_idx, {}))
            pieces.append("<row" + "".join(f' {k}="{escape(str(v), {chr(34): "&quot;"})}"' for k, v in attrs.items())
                          + ">")
            for cell in row:
                style = cell._style
                styled = style is not None and any(style)
                if cell._value is None and not styled and getattr(cell, "_comment", None) is None:
                    continue
                style_id = None
                if styled:
                    key = tuple(style)
                    style_id = ids.get(key)
                    if style_id is None:
                        style_id = ids[key] = styles.add(style)
                pieces.append(_cell_text(cell, style_id))
            pieces.append("</row>")
        return "".join(pieces)


class _FastExcelWriter(ExcelWriter):
    def write_worksheet(self, ws):
        from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing

        if self.workbook.write_only:
            return super().write_worksheet(ws)
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = _FastSheetWriter(ws)
        writer.write()
        ws._rels = writer._rels
        self._archive.write(writer.out, ws.path[1:])
        self.manifest.append(ws)
        writer.cleanup()


def save_workbook_fast(wb, handle) -> None:
    """wb.save(handle), the sheets' rows written as text (see the module docstring)."""
    from zipfile import ZIP_DEFLATED, ZipFile

    if wb.read_only or wb.write_only:
        wb.save(handle)
        return
    archive = ZipFile(handle, "w", ZIP_DEFLATED, allowZip64=True)
    wb.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)
    _FastExcelWriter(wb, archive).save()
