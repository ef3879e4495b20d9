"""Hostile inputs of issue 15 (item 6), made from a real workbook: used by benchmarks/refusals.py at full size
and by tests/test_bad_inputs.py at a small size (with the limits lowered to match).

* ``add_unread_sheet``: a workbook with one more sheet, holding ``rows × cols`` number cells, that no command
  reads (openpyxl still loads every sheet);
* ``add_shared_strings``: a workbook whose shared-string table holds ``n`` more strings that no cell uses;
* ``wide_csv``: a data file whose header has ``n`` more columns (distinct unknown names, or one name repeated).

The XML is streamed into the zip, so that making a file of millions of cells takes seconds and little memory.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from openpyxl.utils import get_column_letter

WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
SHARED = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _copy_with(src: Path, dst: Path, change: dict, extra: dict) -> Path:
    """dst = src with members rewritten by change[name](bytes) and new members written by extra[name](handle)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in extra:
                continue
            data = zin.read(info.filename)
            if info.filename in change:
                data = change[info.filename](data)
            zout.writestr(info.filename, data)
        for name, write in extra.items():
            with zout.open(name, "w", force_zip64=True) as handle:
                write(handle)
    return dst


def _register(content_type: str, part: str, rel_type: str, rel_id: str):
    def types(data: bytes) -> bytes:
        override = f'<Override PartName="/{part}" ContentType="{content_type}"/>'.encode()
        return data.replace(b"</Types>", override + b"</Types>", 1)

    def rels(data: bytes) -> bytes:
        target = part.removeprefix("xl/")
        rel = f'<Relationship Id="{rel_id}" Type="{REL}{rel_type}" Target="{target}"/>'.encode()
        return data.replace(b"</Relationships>", rel + b"</Relationships>", 1)

    return types, rels


def add_unread_sheet(src: Path, dst: Path, rows: int, cols: int, name: str = "附加", merges: int = 0) -> Path:
    """merges: that many merged ranges (two cells of a row each) in the sheet too."""
    part = "xl/worksheets/sheetExtra.xml"
    types, rels = _register(WORKSHEET, part, "worksheet", "rIdExtra")

    def book(data: bytes) -> bytes:
        sheet = f'<sheet name="{name}" sheetId="9999" state="hidden" r:id="rIdExtra"/>'.encode()
        return data.replace(b"</sheets>", sheet + b"</sheets>", 1)

    def write(handle) -> None:
        handle.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'.encode())
        letters = [get_column_letter(c).encode() for c in range(1, cols + 1)]
        block = []
        for r in range(1, rows + 1):
            cells = b"".join(b'<c r="%s%d"><v>%d</v></c>' % (x, r, r * 7919 + c) for c, x in enumerate(letters))
            block.append(b'<row r="%d">' % r + cells + b"</row>")
            if len(block) == 1000:
                handle.write(b"".join(block))
                block = []
        handle.write(b"".join(block) + b"</sheetData>")
        if merges:
            handle.write(b'<mergeCells count="%d">' % merges
                         + b"".join(b'<mergeCell ref="A%d:B%d"/>' % (r, r) for r in range(1, merges + 1)) + b"</mergeCells>")
        handle.write(b"</worksheet>")

    change = {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels, "xl/workbook.xml": book}
    return _copy_with(src, dst, change, {part: write})


def add_shared_strings(src: Path, dst: Path, n: int) -> Path:
    """The workbooks openpyxl writes hold their text inline: the table is added, holding only the n strings."""
    part = "xl/sharedStrings.xml"
    with zipfile.ZipFile(src) as z:
        if part in z.namelist():
            raise ValueError("the source already has a shared-string table")
    types, rels = _register(SHARED, part, "sharedStrings", "rIdStrings")

    def write(handle) -> None:
        handle.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{n}" uniqueCount="{n}">'
                     .encode())
        for start in range(0, n, 1000):
            handle.write(b"".join(b"<si><t>s%d</t></si>" % i for i in range(start, min(n, start + 1000))))
        handle.write(b"</sst>")

    return _copy_with(src, dst, {"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels}, {part: write})


def wide_csv(sample: Path, dst: Path, n: int, repeated: bool) -> Path:
    """The sample data file with n more header columns (one name repeated, or n unknown names), each row
    with n more cells."""
    rows = list(csv.reader(io.StringIO(sample.read_text(encoding="utf-8-sig"), newline="")))
    header = rows[0] + ([rows[0][1]] * n if repeated else [f"extra{i}" for i in range(n)])
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows[1:]:
        writer.writerow(r + ["1"] * n)
    dst.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return dst
