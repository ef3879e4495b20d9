"""The catalogue of bad inputs (issue 6): what people get wrong in data files, typed cells and unit files.

CATALOGUE is a table: one row per bad (or odd but allowed) input — how it is injected, and the fragments the
message must hold. Every row is one test. Channels:

* ``csv``   — a data file scored with ``hscredit-xl score DATA.csv --json``;
* ``cell``  — a cell of the filled sample workbook, then ``hscredit-xl recompute WORKBOOK`` (in place);
* ``merge`` — a unit's file merged into a fresh master, ``hscredit-xl merge MASTER UNIT_FILE…``;
* ``file``  — a file that is not a sane workbook, given to both ``recompute`` and ``merge``.

For an error (``level="error"``): exit 2, nothing on stdout, one stderr line holds every fragment (the unit,
the key or sheet!cell, the value as typed, what is expected), no input file changed, nothing written.
For a warning: exit 0, the warning is on stderr, in the JSON report's problems and (workbooks) in 校验结果.
For ``ok``: exit 0, the odd spelling gives the same result as the plain one (``same_as``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from hscredit_xl.cli import main
from hscredit_xl.datafile import read_rows
from hscredit_xl.rubric import load_rubric
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook import safety
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.fill import fill_book
from hscredit_xl.workbook.recompute import read_inputs
from hscredit_xl.workbook.template import build_template

RUBRIC = load_rubric()
LAY = L.Layout.build(RUBRIC)
UNITS = LAY.units  # 大冶市, 阳新县, 黄石港区, 西塞山区, 下陆区, 开发区·铁山区


# ------------------------------------------------------------------------------------------------ helpers
def sample() -> tuple[list[str], list[dict]]:
    text = sample_path().read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames), [dict(r) for r in reader]


def csv_bytes(header: list[str], rows: list[dict], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(k, "") for k in header] + r.get("__extra__", []))
    return buffer.getvalue().encode(encoding)


def data_ref(unit: str, key: str) -> str:
    return f"{L.DATA}!{L.cell(LAY.unit_row(UNITS.index(unit)), LAY.data_column(key).col)}"


def self_ref(unit: str, rule_id: str) -> str:
    sheet, row, col = LAY.self_cell(UNITS.index(unit), rule_id)
    return f"{sheet}!{L.cell(row, col)}"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def line_with(err: str, fragments) -> str | None:
    for line in err.splitlines():
        if all(f in line for f in fragments):
            return line
    return None


def sheet_part(zf: zipfile.ZipFile, sheet: str) -> str:
    """The zip member of a sheet, by its name (xl/workbook.xml → its relationship → the part)."""
    book = zf.read("xl/workbook.xml").decode("utf-8")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    for m in re.finditer(r"<sheet\b[^>]*>", book):
        tag = m.group(0)
        if f'name="{sheet}"' in tag:
            rid = re.search(r'r:id="([^"]+)"', tag) or re.search(r'\bid="([^"]+)"', tag)
            rel = re.search(rf'<Relationship\b[^>]*Id="{rid.group(1)}"[^>]*>', rels).group(0)
            target = re.search(r'Target="([^"]+)"', rel).group(1)
            return target.lstrip("/") if target.startswith("/") else "xl/" + target
    raise KeyError(sheet)


def rewrite_zip(path: Path, change: Callable[[str, bytes], bytes | None]) -> None:
    """Rewrite every member through change(name, data) (None: drop the member)."""
    with zipfile.ZipFile(path) as zf:
        members = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in members:
            new = change(info.filename, data)
            if new is not None:
                out.writestr(info.filename, new)


@dataclass(frozen=True)
class XmlCell:
    """A cell whose XML is written by hand after openpyxl saved the book (what openpyxl can not write: an
    error value, a formula with a saved result, an infinite number)."""

    sheet: str
    coord: str
    inner: str  # the XML inside <c>
    t: str | None = None  # the cell's type attribute


def apply_xml_cells(path: Path, cells: list[XmlCell]) -> None:
    with zipfile.ZipFile(path) as zf:
        parts = {c.sheet: sheet_part(zf, c.sheet) for c in cells}

    def change(name: str, data: bytes) -> bytes:
        text = data.decode("utf-8")
        for c in cells:
            if parts[c.sheet] == name:
                pattern = re.compile(rf'<c r="{c.coord}"((?: s="\d+")?)(?: t="\w+")?\s*(?:/>|>.*?</c>)', re.S)
                t = f' t="{c.t}"' if c.t else ""
                text, n = pattern.subn(lambda m: f'<c r="{c.coord}"{m.group(1)}{t}>{c.inner}</c>', text, count=1)
                assert n == 1, (c, name)
        return text.encode("utf-8")

    rewrite_zip(path, change)


def mark(ws, coord: str) -> None:
    """Make sure the cell exists in the saved XML, so apply_xml_cells finds it."""
    ws[coord].value = 0


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    """A blank template, the sample filled in, and each unit's own file (the template with only its row)."""
    folder = tmp_path_factory.mktemp("books")
    rows, problems = read_rows(sample_path(), RUBRIC)
    out = {}
    template = folder / "template.xlsx"
    OpenpyxlBook(template, build_template()).save(template)
    out["template"] = template
    filled = folder / "filled.xlsx"
    book = OpenpyxlBook(filled, build_template())
    fill_book(book, rows, problems)
    book.save(filled)
    out["filled"] = filled
    for row in rows:
        path = folder / f"unit-{UNITS.index(row['unit'])}.xlsx"
        book = OpenpyxlBook(path, build_template())
        fill_book(book, [row], [])
        book.save(path)
        out[row["unit"]] = path
    return out


# ------------------------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Case:
    id: str
    description: str
    channel: str  # csv | cell | merge | file
    inject: Callable
    expect: tuple[str, ...] = ()  # fragments of one message line
    level: str = "error"  # error | warning | ok
    same_as: Callable | None = None  # ok: an injection of the plain spelling, giving the same result
    check: Callable | None = None  # more assertions on the written workbook (cell, merge)


# --- csv injections: (header, rows) mutated in place
def csv_set(unit: str, key: str, value: str):
    def inject(header, rows):
        next(r for r in rows if r["unit"] == unit)[key] = value
    return inject


def csv_blank_unit(unit: str):
    def inject(header, rows):
        row = next(r for r in rows if r["unit"] == unit)
        for k in header:
            if k != "unit":
                row[k] = ""
    return inject


def csv_duplicate(unit: str, spelled: str):
    def inject(header, rows):
        rows.append(dict(next(r for r in rows if r["unit"] == unit), unit=spelled))
    return inject


def csv_rename_column(old: str, new: str):
    def inject(header, rows):
        header[header.index(old)] = new
        for r in rows:
            r[new] = r.pop(old)
    return inject


def csv_drop_column(key: str):
    def inject(header, rows):
        header.remove(key)
    return inject


def csv_extra_cell(unit: str):
    def inject(header, rows):
        next(r for r in rows if r["unit"] == unit)["__extra__"] = ["多出的一格"]
    return inject


def csv_raw(data: bytes):
    return ("raw", data)


# --- cell injections: an openpyxl workbook mutated in place; may return XmlCells to write after saving
def cell_set(sheet_ref: str, value, data_type: str | None = None):
    def inject(wb):
        sheet, coord = sheet_ref.split("!")
        c = wb[sheet][coord]
        c.value = value
        if data_type:
            c.data_type = data_type
    return inject


def cell_xml(sheet_ref: str, inner: str, t: str | None = None):
    def inject(wb):
        sheet, coord = sheet_ref.split("!")
        mark(wb[sheet], coord)
        return [XmlCell(sheet, coord, inner, t)]
    return inject


def cell_blank_row(unit: str):
    def inject(wb):
        row = LAY.unit_row(UNITS.index(unit))
        for c in LAY.data_columns:
            wb[L.DATA].cell(row, c.col).value = None
        ws = wb[L.CONCEALMENT]
        for r in range(L.FIRST_ROW, LAY.concealment_last_row + 1):
            if ws.cell(r, 1).value == unit:
                for col in (1, 2, 3):
                    ws.cell(r, col).value = None
        for rule in RUBRIC.rules:
            sheet, row, col = LAY.self_cell(UNITS.index(unit), rule.id)
            wb[sheet].cell(row, col).value = None
    return inject


def cell_hide_row(sheet: str, row: int):
    def inject(wb):
        wb[sheet].row_dimensions[row].hidden = True
    return inject


def cell_merge(sheet: str, ref: str):
    def inject(wb):
        wb[sheet].merge_cells(ref)
    return inject


def cell_rename_sheet(old: str, new: str):
    def inject(wb):
        wb[old].title = new
    return inject


def concealment_row_of(unit: str, wb) -> int:
    ws = wb[L.CONCEALMENT]
    return next(r for r in range(L.FIRST_ROW, LAY.concealment_last_row + 1) if ws.cell(r, 1).value == unit)


def cell_concealment(unit: str, col: int, value):
    def inject(wb):
        ws = wb[L.CONCEALMENT]
        ws.cell(concealment_row_of(unit, wb), col).value = value
    return inject


def cell_add_concealment(unit: str, dept, rate):
    def inject(wb):
        ws = wb[L.CONCEALMENT]
        row = next(r for r in range(L.FIRST_ROW, LAY.concealment_last_row + 1) if ws.cell(r, 1).value is None)
        for col, v in ((1, unit), (2, dept), (3, rate)):
            ws.cell(row, col).value = v
    return inject


def both(*injects):
    def inject(wb):
        out = []
        for f in injects:
            out += f(wb) or []
        return out
    return inject


# --- merge injections: (books, tmp_path) -> (master, [unit files], extra CLI args)
def unit_file(unit: str, *mutations: Callable, name: str | None = None):
    """The unit's own file, changed by each mutation(wb); returns the merge arguments."""
    def inject(books, tmp_path):
        master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
        path = tmp_path / (name or f"{unit}-自评.xlsx")
        wb = openpyxl.load_workbook(books[unit])
        xml = []
        for m in mutations:
            xml += m(wb) or []
        wb.save(path)
        if xml:
            apply_xml_cells(path, xml)
        return master, [path], []
    return inject


def merge_files_of(*units: str):
    def inject(books, tmp_path):
        master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
        files = []
        for n, unit in enumerate(units):
            files.append(Path(shutil.copy(books[unit], tmp_path / f"file{n}.xlsx")))
        return master, files, []
    return inject


def merge_custom_template(units: list[str], row_unit: str, spelled: str):
    """A unit file from a template generated for another unit list, the sample row typed under `spelled`."""
    def inject(books, tmp_path):
        master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
        rows, _ = read_rows(sample_path(), RUBRIC)
        row = dict(next(r for r in rows if r["unit"] == row_unit), unit=spelled)
        path = tmp_path / "custom.xlsx"
        book = OpenpyxlBook(path, build_template(units=units, public_service=[False] * len(units)))
        fill_book(book, [row], [])
        book.save(path)
        return master, [path], []
    return inject


def merge_blank_template(books, tmp_path):
    master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
    return master, [Path(shutil.copy(books["template"], tmp_path / "blank.xlsx"))], []


def merge_master_itself(books, tmp_path):
    master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
    return master, [master], []


def merge_output_is_unit_file(books, tmp_path):
    master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
    unit = Path(shutil.copy(books["阳新县"], tmp_path / "阳新县.xlsx"))
    return master, [unit], ["-o", str(unit)]


def merge_raw_file(data: bytes, name: str = "unit.xlsx"):
    def inject(books, tmp_path):
        master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
        path = tmp_path / name
        path.write_bytes(data)
        return master, [path], []
    return inject


def with_vba(books, tmp_path):
    master, files, extra = unit_file("阳新县")(books, tmp_path)
    with zipfile.ZipFile(files[0], "a") as zf:
        zf.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 not really VBA, never run" * 10)
    return master, files, extra


# --- file injections: (books, tmp_path) -> the bad file
def entity_bomb(books, tmp_path):
    path = Path(shutil.copy(books["filled"], tmp_path / "bomb.xlsx"))
    lol = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)) + "]>"

    def change(name, data):
        if name == "xl/worksheets/sheet3.xml":
            text = data.decode("utf-8")
            head, rest = text.split("?>", 1) if text.startswith("<?xml") else ("", text)
            text = (head + "?>" if head else "") + lol + rest.replace("<sheetData>", "<sheetData>&lol9;", 1)
            return text.encode("utf-8")
        return data
    rewrite_zip(path, change)
    return path


def zip_bomb_ratio(books, tmp_path):
    path = Path(shutil.copy(books["filled"], tmp_path / "ratio.xlsx"))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/media/image1.png", b"\0" * (safety.RATIO_FLOOR + 1024 * 1024))
    return path


def zip_bomb_declared(books, tmp_path):
    """A member whose directory entry claims 3 GB (the header says it; nothing that big is in the file)."""
    path = Path(shutil.copy(books["filled"], tmp_path / "declared.xlsx"))
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for sig, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        start = 0
        while True:
            i = data.find(sig, start)
            if i < 0:
                break
            name_at = i + (46 if sig == b"PK\x01\x02" else 30)
            if data[name_at:name_at + len(name)] == name:
                data[i + offset:i + offset + 4] = (3 * 1024 ** 3).to_bytes(4, "little")
            start = i + 4
    path.write_bytes(bytes(data))
    return path


def far_cell(books, tmp_path):
    """One cell at row 1,000,000: a reader that walks the used range would walk a million rows."""
    path = Path(shutil.copy(books["filled"], tmp_path / "far.xlsx"))
    with zipfile.ZipFile(path) as zf:
        part = sheet_part(zf, L.DATA)

    def change(name, data):
        if name == part:
            return data.replace(b"</sheetData>", b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>x</t></is>'
                                                 b"</c></row></sheetData>", 1)
        return data
    rewrite_zip(path, change)
    return path


def truncated(books, tmp_path):
    path = tmp_path / "truncated.xlsx"
    data = books["filled"].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def random_bytes(books, tmp_path):
    path = tmp_path / "random.xlsx"
    path.write_bytes(random.Random(6).randbytes(20_000))
    return path


def xls_renamed(books, tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088))
    return path


def csv_renamed(books, tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(sample_path().read_bytes())
    return path


def empty_file(books, tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    return path


# --- extra checks on the written workbook
def summary_reason_is_text(path: Path):
    ws = openpyxl.load_workbook(path)[L.SUMMARY]
    c = ws.cell(LAY.unit_row(UNITS.index("阳新县")), LAY.summary_columns["adjustment_reason"])
    assert c.value == "=1+1" and c.data_type == "s"


def master_cell_is_value(sheet_ref: str, value):
    def check(path: Path):
        sheet, coord = sheet_ref.split("!")
        c = openpyxl.load_workbook(path)[sheet][coord]
        assert c.value == value and c.data_type == "n", (c.value, c.data_type)
    return check


def master_has_no_vba(path: Path):
    with zipfile.ZipFile(path) as zf:
        assert not any("vba" in n.lower() for n in zf.namelist())


def reason_is_text_and_exports(value: str):
    """The reason reached 汇总 as a text cell (not an error cell), and the workbook exports."""
    def check(path: Path):
        from hscredit_xl.export import export

        ws = openpyxl.load_workbook(path)[L.SUMMARY]
        c = ws.cell(LAY.unit_row(UNITS.index("阳新县")), LAY.summary_columns["adjustment_reason"])
        assert c.value == value and c.data_type == "s", (c.value, c.data_type)
        assert export(path, path.parent / "export")
    return check


def cell_text(sheet_ref_or_fn, value: str):
    """A text cell (type s) holding value, whatever it looks like."""
    def inject(wb):
        sheet, coord = sheet_ref_or_fn(wb).split("!") if callable(sheet_ref_or_fn) else sheet_ref_or_fn.split("!")
        wb[sheet][coord].value = value
        wb[sheet][coord].data_type = "s"
    return inject


def department_ref(unit: str):
    return lambda wb: f"{L.CONCEALMENT}!B{concealment_row_of(unit, wb)}"


def cell_long_text(sheet_ref_or_fn, n: int):
    """n characters in a cell's XML (openpyxl itself cuts a longer value it is given to 32,767, silently)."""
    def inject(wb):
        ref = sheet_ref_or_fn(wb) if callable(sheet_ref_or_fn) else sheet_ref_or_fn
        return cell_xml(ref, f"<is><t>{'长' * n}</t></is>", "inlineStr")(wb)
    return inject


def master_department_is_text(value: str):
    def check(path: Path):
        ws = openpyxl.load_workbook(path)[L.CONCEALMENT]
        cells = [ws.cell(r, 2) for r in range(L.FIRST_ROW, LAY.concealment_last_row + 1) if ws.cell(r, 1).value == "阳新县"]
        assert any(c.value == value and c.data_type == "s" for c in cells), [(c.value, c.data_type) for c in cells]
    return check


R_DAYE = LAY.unit_row(0)
CONCEALMENT_HEADERS = f"{L.CONCEALMENT}!A{L.HEADER_ROW}"

CATALOGUE: list[Case] = [
    # ---------------------------------------------------------------------------------- data files (CSV)
    Case("csv-text-in-number", "text in a number cell", "csv", csv_set("黄石港区", "objections", "很多"),
         ("黄石港区", "objections", "「很多」", "应为不小于 0 的整数")),
    Case("csv-rate-85", "a rate typed as 85 where 85 % was meant", "csv", csv_set("阳新县", "dec_late_rate", "85"),
         ("阳新县", "dec_late_rate", "「85」", "0%～100%", "是否应为 85%？")),
    Case("csv-rate-above-100", "a rate above 100 %", "csv", csv_set("大冶市", "dec_pass_rate", "120%"),
         ("大冶市", "dec_pass_rate", "「120%」", "0%～100%")),
    Case("csv-rate-negative", "a negative rate", "csv", csv_set("西塞山区", "oct_return_pass_rate", "-5%"),
         ("西塞山区", "oct_return_pass_rate", "「-5%」", "0%～100%")),
    Case("csv-count-negative", "a negative count", "csv", csv_set("阳新县", "returned_issues", "-3"),
         ("阳新县", "returned_issues", "「-3」", "不小于 0 的整数")),
    Case("csv-count-fraction", "a fractional count", "csv", csv_set("下陆区", "media_reports", "2.5"),
         ("下陆区", "media_reports", "「2.5」", "整数")),
    Case("csv-blank", "a blank required cell (spaces only)", "csv", csv_set("西塞山区", "spotcheck_score", "  "),
         ("西塞山区", "spotcheck_score", "不能为空", "应为数值")),
    Case("csv-div0", "an Excel error value #DIV/0! exported into the file", "csv",
         csv_set("大冶市", "spotcheck_score", "#DIV/0!"), ("大冶市", "spotcheck_score", "「#DIV/0!」", "Excel 错误值")),
    Case("csv-na", "an Excel error value #N/A", "csv", csv_set("下陆区", "dec_pass_rate", "#N/A"),
         ("下陆区", "dec_pass_rate", "「#N/A」", "Excel 错误值")),
    Case("csv-date", "a date where a count belongs", "csv", csv_set("阳新县", "volume_m05", "2020-05-31"),
         ("阳新县", "volume_m05", "「2020-05-31」", "应为不小于 0 的整数")),
    Case("csv-huge", "a huge number", "csv", csv_set("大冶市", "volume_m01", "1e20"),
         ("大冶市", "volume_m01", "「1e20」", "数值过大")),
    Case("csv-nan", "NaN", "csv", csv_set("黄石港区", "spotcheck_score", "NaN"),
         ("黄石港区", "spotcheck_score", "「NaN」", "有限数值")),
    Case("csv-infinity", "Infinity", "csv", csv_set("黄石港区", "volume_m02", "Infinity"),
         ("黄石港区", "volume_m02", "「Infinity」", "有限数值")),
    Case("csv-duplicate-unit", "the same unit twice, spelled differently", "csv",
         csv_duplicate("开发区·铁山区", "开发区.铁山区"), ("开发区.铁山区", "unit", "单位重复")),
    Case("csv-missing-unit-data", "a unit listed without any data", "csv", csv_blank_unit("西塞山区"),
         ("西塞山区", "unit", "全部为空")),
    Case("csv-unknown-column", "a misspelt column", "csv", csv_rename_column("objections", "objection"),
         ("objection", "未知的列名")),
    Case("csv-missing-column", "a required column missing", "csv", csv_drop_column("media_reports"),
         ("media_reports", "缺少必需的列")),
    Case("csv-extra-cell", "a row with more cells than the header", "csv", csv_extra_cell("下陆区"),
         ("下陆区", "第 6 行", "列数应与表头相同")),
    Case("csv-flag-word", "a yes/no answered in words", "csv", csv_set("西塞山区", "typical_case", "是的"),
         ("西塞山区", "typical_case", "「是的」", "是/否")),
    Case("csv-score-range", "a reviewer score above its maximum", "csv", csv_set("开发区·铁山区", "training_score", "4"),
         ("开发区·铁山区", "training_score", "「4」", "0～3")),
    Case("csv-rates-item", "one department's rate unreadable", "csv", csv_set("阳新县", "concealment_rates", "1%;abc"),
         ("阳新县", "concealment_rates", "「abc」", "分号")),
    Case("csv-comma-decimal", "a decimal comma (0,85) is not a thousands separator", "csv",
         csv_set("大冶市", "volume_m03", "24,14"), ("大冶市", "volume_m03", "「24,14」", "千位分隔符")),
    Case("csv-formula-text", "a formula typed into a data file", "csv", csv_set("阳新县", "volume_m04", "=SUM(A1:A3)"),
         ("阳新县", "volume_m04", "「=SUM(A1:A3)」", "公式不会被计算")),
    Case("csv-adjustment-no-reason", "an adjustment without its reason", "csv",
         lambda h, rows: next(r for r in rows if r["unit"] == "西塞山区").update(adjustment="-2"),
         ("西塞山区", "adjustment_reason", "理由")),
    Case("csv-self-score-range", "a self score above the rule's points", "csv", csv_set("大冶市", "self_1.2.3", "12"),
         ("大冶市", "self_1.2.3", "「12」", "0～10")),
    Case("csv-blank-unit-name", "a row without a unit name", "csv", csv_set("下陆区", "unit", ""),
         ("unit", "单位名称不能为空")),
    Case("csv-binary", "a binary file given as CSV", "csv", csv_raw(b"unit,volume_m01\r\n\x00\x00\x01\x02" * 10),
         ("二进制内容",)),
    Case("csv-undecodable", "bytes in neither UTF-8 nor GB18030", "csv", csv_raw(b"\x00\x01\x02\xff\xfe" * 10),
         ("编码无法识别", "UTF-8 或 GB18030")),
    Case("csv-empty", "an empty file", "csv", csv_raw(b""), ("文件是空的",)),
    # units (issue 11): a name not in the list, even one a dot or a space away, and a unit left out
    Case("csv-unit-no-dot", "开发区铁山区 without its dot", "csv", csv_set("开发区·铁山区", "unit", "开发区铁山区"),
         ("开发区铁山区", "unit", "不是考核名单中的单位", "是否为「开发区·铁山区」？")),
    Case("csv-unit-other-dot", "开发区・铁山区 with a katakana dot", "csv", csv_set("开发区·铁山区", "unit", "开发区・铁山区"),
         ("开发区・铁山区", "unit", "是否为「开发区·铁山区」？")),
    Case("csv-unit-zero-width", "a zero-width space inside a name", "csv", csv_set("黄石港区", "unit", "黄石\u200b港区"),
         ("黄石\u200b港区", "unit", "是否为「黄石港区」？")),
    Case("csv-unit-typo", "a unit name mistyped", "csv", csv_set("西塞山区", "unit", "西塞区"),
         ("西塞区", "unit", "是否为「西塞山区」？")),
    Case("csv-unit-missing", "a file without one of the units (the others' ranks would change)", "csv",
         lambda h, rows: rows.remove(next(r for r in rows if r["unit"] == "下陆区")),
         ("下陆区", "unit", "没有该单位的一行")),
    Case("csv-commitment-inconsistent", "6 sectors reported commitments, but reported = 否", "csv",
         lambda h, rows: next(r for r in rows if r["unit"] == "阳新县").update(commitment_reported="否",
                                                                              commitment_sectors="6"),
         ("阳新县", "commitment_sectors", "「6」", "5 个以上", "否"), level="warning"),
    Case("csv-zero-count-points", "no categories at all, yet second place on 1.3 earns 5 points", "csv",
         csv_set("阳新县", "public_service_categories", "0"),
         ("阳新县", "public_service_categories", "数量为 0", "5", "1.3"), level="warning"),
    Case("csv-fullwidth", "full-width digits ８５％ (accepted)", "csv", csv_set("大冶市", "dec_pass_rate", "９９．２％"),
         level="ok", same_as=csv_set("大冶市", "dec_pass_rate", "99.2%")),
    Case("csv-thousands", "thousands separators 22,843 (accepted)", "csv", csv_set("大冶市", "volume_m01", "22,843"),
         level="ok", same_as=csv_set("大冶市", "volume_m01", "22843")),
    Case("csv-yes-spaces", "是 with spaces, full-width too (accepted)", "csv",
         csv_set("阳新县", "typical_case", " 是　"), level="ok", same_as=csv_set("阳新县", "typical_case", "是")),
    Case("csv-1.3-not-assessed", "a 1.3 value for a unit not assessed on 1.3 (ignored)", "csv",
         csv_set("下陆区", "public_service_categories", "9"),
         ("下陆区", "public_service_categories", "「9」", "不参加 1.3 考核"), level="warning"),
    Case("csv-rectified-above-returned", "more rectified than returned (A4: ≥ 100 %)", "csv",
         csv_set("阳新县", "rectified_issues", "40"), ("阳新县", "rectified_issues", "「40」", "A4"), level="warning"),
    Case("csv-noncharacter", "U+FFFE (legal UTF-8, illegal XML) in a reason", "csv",
         lambda h, rows: next(r for r in rows if r["unit"] == "阳新县").update(adjustment="-1", adjustment_reason="理由\ufffe坏"),
         ("阳新县", "adjustment_reason", "「理由⟨U+FFFE⟩坏」", "第 3 个字符（U+FFFE）", "无法保存")),
    Case("csv-control-in-number", "a control character inside a number", "csv", csv_set("黄石港区", "objections", "2\x017"),
         ("黄石港区", "objections", "第 2 个字符（U+0001）", "无法保存")),
    Case("csv-control-in-name", "a control character in a unit's name", "csv", csv_set("下陆区", "unit", "下陆\x0b区"),
         ("下陆⟨U+000B⟩区", "unit", "第 3 个字符（U+000B）")),
    Case("csv-long-text", "a reason longer than a cell holds", "csv",
         lambda h, rows: next(r for r in rows if r["unit"] == "阳新县").update(adjustment="-1", adjustment_reason="长" * 40_000),
         ("阳新县", "adjustment_reason", "40,000 个字符", "32,767")),
    Case("csv-minus-inf", "-inf as a self score", "csv", csv_set("大冶市", "self_1.2.3", "-inf"),
         ("大冶市", "self_1.2.3", "「-inf」", "有限数值")),

    # ---------------------------------------------------------------------------------- typed cells (recompute)
    Case("cell-text-in-number", "text in a number cell", "cell", cell_set(data_ref("黄石港区", "objections"), "很多"),
         ("黄石港区", data_ref("黄石港区", "objections"), "「很多」", "应为不小于 0 的整数")),
    Case("cell-rate-85", "a rate typed as 85 where 85 % was meant", "cell",
         cell_set(data_ref("大冶市", "dec_pass_rate"), 85),
         ("大冶市", data_ref("大冶市", "dec_pass_rate"), "「85」", "是否应为 85%？")),
    Case("cell-rate-250", "a rate far outside 0…100 %", "cell", cell_set(data_ref("阳新县", "dec_late_rate"), 250),
         ("阳新县", data_ref("阳新县", "dec_late_rate"), "「250」", "0%～100%")),
    Case("cell-rate-negative", "a negative rate", "cell", cell_set(data_ref("下陆区", "oct_return_pass_rate"), -0.05),
         ("下陆区", data_ref("下陆区", "oct_return_pass_rate"), "「-0.05」", "0%～100%")),
    Case("cell-count-negative", "a negative count", "cell", cell_set(data_ref("阳新县", "returned_issues"), -3),
         ("阳新县", data_ref("阳新县", "returned_issues"), "「-3」", "不小于 0")),
    Case("cell-count-fraction", "a fractional count", "cell", cell_set(data_ref("下陆区", "media_reports"), 2.5),
         ("下陆区", data_ref("下陆区", "media_reports"), "「2.5」", "整数")),
    Case("cell-blank", "a blank required cell", "cell", cell_set(data_ref("西塞山区", "spotcheck_score"), None),
         ("西塞山区", data_ref("西塞山区", "spotcheck_score"), "不能为空")),
    Case("cell-div0", "an Excel error value #DIV/0! in an input cell", "cell",
         cell_xml(data_ref("大冶市", "spotcheck_score"), "<v>#DIV/0!</v>", "e"),
         ("大冶市", data_ref("大冶市", "spotcheck_score"), "「#DIV/0!」", "Excel 错误值")),
    Case("cell-na-self", "#N/A in a 自评得分 cell", "cell", cell_xml(self_ref("阳新县", "1.1"), "<v>#N/A</v>", "e"),
         ("阳新县", self_ref("阳新县", "1.1"), "「#N/A」", "Excel 错误值")),
    Case("cell-date", "a date in a count cell", "cell", cell_set(data_ref("黄石港区", "volume_m07"), dt.datetime(2020, 7, 31)),
         ("黄石港区", data_ref("黄石港区", "volume_m07"), "2020-07-31", "日期/时间")),
    Case("cell-huge", "a huge number", "cell", cell_set(data_ref("大冶市", "volume_m01"), 1e20),
         ("大冶市", data_ref("大冶市", "volume_m01"), "数值过大")),
    Case("cell-infinity", "an infinite number in the cell XML", "cell", cell_xml(data_ref("西塞山区", "volume_m02"), "<v>1E999</v>", "n"),
         (data_ref("西塞山区", "volume_m02"), "「inf」", "不是有限数")),
    Case("cell-nan-text", "NaN typed into a number cell", "cell", cell_set(data_ref("西塞山区", "spotcheck_score"), "NaN"),
         ("西塞山区", data_ref("西塞山区", "spotcheck_score"), "「NaN」", "有限数值")),
    Case("cell-bool", "TRUE in a count cell", "cell", cell_set(data_ref("阳新县", "objections"), True),
         ("阳新县", data_ref("阳新县", "objections"), "「True」", "不是是/否")),
    Case("cell-comma", "1,2,3 in a count cell (not a thousands separator)", "cell",
         cell_set(data_ref("阳新县", "volume_m09"), "1,2,3"), ("阳新县", data_ref("阳新县", "volume_m09"), "「1,2,3」", "逗号")),
    Case("cell-duplicate-unit", "the same unit twice in 设置", "cell", cell_set(f"{L.SETTINGS}!A8", "大冶市"),
         (f"{L.SETTINGS}!A8", "「大冶市」", "单位重复")),
    Case("cell-missing-unit-data", "a unit row left empty (the unit's data missing)", "cell", cell_blank_row("西塞山区"),
         ("西塞山区", f"{L.DATA}!A{LAY.unit_row(3)}", "全部为空")),
    Case("cell-missing-unit-row", "a unit's name deleted from 数据录入", "cell", cell_set(f"{L.DATA}!A{LAY.unit_row(3)}", None),
         ("西塞山区", f"{L.DATA}!A{LAY.unit_row(3)}", "应为「西塞山区」")),
    Case("cell-extra-row", "data typed below the unit rows", "cell", both(
        cell_set(f"{L.DATA}!A{LAY.last_row + 2}", "铁山区"), cell_set(f"{L.DATA}!B{LAY.last_row + 2}", 100)),
        (f"{L.DATA}!A{LAY.last_row + 2}", "「铁山区」", "单位行之外有数据")),
    Case("cell-merged-input", "input cells merged", "cell", cell_merge(L.DATA, f"B{R_DAYE}:C{R_DAYE}"),
         ("大冶市", f"{L.DATA}!B{R_DAYE}:C{R_DAYE}", "合并单元格", "结构被改动")),
    Case("cell-formula-no-result", "a formula in an input cell, never calculated", "cell",
         cell_set(data_ref("下陆区", "objections"), "=10+9"),
         ("下陆区", data_ref("下陆区", "objections"), "「=10+9」", "没有保存它的计算结果")),
    Case("cell-concealment-unknown-unit", "a 瞒报率明细 row for a unit that is not in 设置", "cell",
         cell_add_concealment("铁山区", "某局", 0.01), ("「铁山区」", "不是设置中的单位", "大冶市、阳新县")),
    Case("cell-concealment-blank-rate", "a department without its rate", "cell",
         cell_concealment("阳新县", 3, None), ("阳新县", f"{L.CONCEALMENT}!C", "不能为空")),
    Case("cell-column-inserted", "a column inserted in 数据录入", "cell", lambda wb: wb[L.DATA].insert_cols(5),
         (f"{L.DATA}!E{L.DATA_KEY_ROW}", "数据键", "列被插入")),
    Case("cell-sheet-renamed", "a sheet renamed", "cell", cell_rename_sheet(L.CONCEALMENT, "瞒报率"),
         (L.CONCEALMENT, "缺少工作表", "改名")),
    Case("cell-other-rubric", "a template of another rubric version", "cell",
         cell_set(f"{L.GUIDE}!{L.GUIDE_ID_CELLS['rubric']}", "黄信用办〔2020〕1号|2019.1"),
         (f"{L.GUIDE}!{L.GUIDE_ID_CELLS['rubric']}", "「黄信用办〔2020〕1号|2019.1」", "细则版本不同")),
    Case("cell-bad-switch", "a switch set to something not in its list", "cell",
         cell_set(f"{L.SETTINGS}!C{LAY.switch_rows['A3']}", "随便"), (f"{L.SETTINGS}!C{LAY.switch_rows['A3']}", "「随便」", "下拉列表")),
    Case("cell-fullwidth", "full-width digits ９９．２％ typed as text (accepted)", "cell",
         cell_set(data_ref("大冶市", "dec_pass_rate"), "９９．２％"), level="ok",
         same_as=cell_set(data_ref("大冶市", "dec_pass_rate"), 0.992)),
    Case("cell-thousands", "thousands separators typed as text (accepted)", "cell",
         cell_set(data_ref("大冶市", "volume_m01"), "22,843"), level="ok",
         same_as=cell_set(data_ref("大冶市", "volume_m01"), 22843)),
    Case("cell-yes-spaces", "是 with spaces (accepted)", "cell", cell_set(data_ref("阳新县", "typical_case"), "是 "),
         level="ok", same_as=cell_set(data_ref("阳新县", "typical_case"), "是")),
    Case("cell-text-like-formula", "text starting with = in a text cell (kept as text)", "cell",
         both(cell_set(data_ref("阳新县", "adjustment"), -1), cell_set(data_ref("阳新县", "adjustment_reason"), "=1+1", "s")),
         level="ok", same_as=both(cell_set(data_ref("阳新县", "adjustment"), -1),
                                  cell_set(data_ref("阳新县", "adjustment_reason"), "=1+1", "s")),
         check=summary_reason_is_text),
    Case("cell-formula-with-result", "a formula typed into an input cell, with its saved result", "cell",
         cell_xml(data_ref("大冶市", "returned_issues"), "<f>40+8</f><v>48</v>"),
         ("大冶市", data_ref("大冶市", "returned_issues"), "「=40+8」", "公式", "「48」"), level="warning",
         same_as=cell_set(data_ref("大冶市", "returned_issues"), 48)),
    Case("cell-hidden-unit-row", "a unit's row hidden (scored, with a warning)", "cell",
         cell_hide_row(L.DATA, LAY.unit_row(1)), ("阳新县", f"{L.DATA}!A{LAY.unit_row(1)}", "隐藏", "照常计分"),
         level="warning", same_as=lambda wb: None),
    Case("cell-hidden-concealment-row", "a 瞒报率明细 row hidden (scored, with a warning)", "cell",
         lambda wb: cell_hide_row(L.CONCEALMENT, concealment_row_of("大冶市", wb))(wb),
         ("大冶市", f"{L.CONCEALMENT}!A", "隐藏", "照常计分"), level="warning", same_as=lambda wb: None),
    Case("cell-1.3-not-assessed", "a 1.3 value for a unit not assessed on 1.3 (ignored)", "cell",
         cell_set(data_ref("下陆区", "public_service_categories"), 9),
         ("下陆区", data_ref("下陆区", "public_service_categories"), "「9」", "不参加 1.3 考核"), level="warning",
         same_as=lambda wb: None),
    Case("cell-rectified-above-returned", "more rectified than returned (A4)", "cell",
         cell_set(data_ref("阳新县", "rectified_issues"), 40),
         ("阳新县", data_ref("阳新县", "rectified_issues"), "「40」", "A4"), level="warning"),
    Case("cell-long-text", "a reason longer than a cell holds", "cell",
         both(cell_set(data_ref("阳新县", "adjustment"), -1), cell_long_text(data_ref("阳新县", "adjustment_reason"), 40_000)),
         (data_ref("阳新县", "adjustment_reason"), "40,000 个字符", "32,767")),
    Case("cell-nan", "NaN as a number in the cell XML (openpyxl can not read it)", "cell",
         cell_xml(data_ref("大冶市", "volume_m03"), "<v>NaN</v>"), (data_ref("大冶市", "volume_m03"), "「NaN」", "不是有限数")),
    Case("cell-minus-inf-unread", "-inf in a cell of a sheet nothing reads", "cell", cell_xml(f"{L.GUIDE}!H40", "<v>-inf</v>"),
         (f"{L.GUIDE}!H40", "「-inf」", "不是有限数")),
    Case("cell-error-text-reason", "a reason that reads #N/A (text, kept as text)", "cell",
         both(cell_set(data_ref("阳新县", "adjustment"), -1), cell_text(data_ref("阳新县", "adjustment_reason"), "#N/A")),
         level="ok", check=reason_is_text_and_exports("#N/A")),
    Case("cell-commitment-inconsistent", "6 sectors reported commitments, but reported = 否 (2.1)", "cell",
         both(cell_set(data_ref("西塞山区", "commitment_reported"), "否"),
              cell_set(data_ref("西塞山区", "commitment_sectors"), 6)),
         ("西塞山区", data_ref("西塞山区", "commitment_sectors"), "「6」", "5 个以上"), level="warning"),
    Case("cell-zero-count-points", "no categories at all, yet second place on 1.3 earns 5 points", "cell",
         cell_set(data_ref("阳新县", "public_service_categories"), 0),
         ("阳新县", data_ref("阳新县", "public_service_categories"), "数量为 0", "1.3"), level="warning"),

    # ---------------------------------------------------------------------------------- unit files (merge)
    Case("merge-other-units-data", "a unit file that also holds another unit's row", "merge",
         unit_file("阳新县", cell_set(data_ref("大冶市", "volume_m01"), 5)),
         ("阳新县-自评.xlsx", "2 个单位的数据", f"大冶市（{data_ref('大冶市', 'volume_m01')}）", "阳新县", "只能含本单位")),
    Case("merge-other-units-concealment", "a unit file with another unit's 瞒报率明细 row", "merge",
         unit_file("阳新县", cell_add_concealment("黄石港区", "某局", 0.01)),
         ("2 个单位的数据", "黄石港区（瞒报率明细!A", "阳新县")),
    Case("merge-whole-workbook", "last year's whole workbook sent as a unit file", "merge",
         lambda books, tmp: (Path(shutil.copy(books["template"], tmp / "master.xlsx")),
                             [Path(shutil.copy(books["filled"], tmp / "全部.xlsx"))], []),
         ("全部.xlsx", "6 个单位的数据")),
    Case("merge-two-files-one-unit", "two files for one unit", "merge", merge_files_of("阳新县", "阳新县"),
         ("阳新县", "file0.xlsx", "file1.xlsx", "同一单位有 2 个文件")),
    Case("merge-unknown-unit", "a unit the master does not know", "merge",
         merge_custom_template(["铁山区"], "开发区·铁山区", "铁山区"),
         ("custom.xlsx", "「铁山区」", "不是主工作簿中的单位", "大冶市、阳新县、黄石港区、西塞山区、下陆区、开发区·铁山区")),
    Case("merge-other-layout", "a file from another template version", "merge",
         unit_file("阳新县", cell_set(f"{L.GUIDE}!{L.GUIDE_ID_CELLS['layout']}", "0")),
         ("阳新县-自评.xlsx", f"{L.GUIDE}!{L.GUIDE_ID_CELLS['layout']}", "「0」", "模板")),
    Case("merge-other-rubric", "a file for another rubric version", "merge",
         unit_file("阳新县", cell_set(f"{L.GUIDE}!{L.GUIDE_ID_CELLS['rubric']}", "黄信用办〔2022〕1号|2021.1")),
         ("阳新县-自评.xlsx", f"{L.GUIDE}!{L.GUIDE_ID_CELLS['rubric']}", "细则版本不同")),
    Case("merge-not-a-template", "an unrelated workbook (no identity cells)", "merge",
         unit_file("阳新县", lambda wb: [wb.remove(wb[s]) for s in list(wb.sheetnames)[1:]] and None),
         ("阳新县-自评.xlsx", "缺少工作表")),
    Case("merge-sheet-renamed", "数据录入 renamed", "merge", unit_file("阳新县", cell_rename_sheet(L.DATA, "数据")),
         ("阳新县-自评.xlsx", "缺少工作表「数据录入」")),
    Case("merge-self-scores-deleted", "the 自评得分 sheet deleted", "merge",
         unit_file("阳新县", lambda wb: wb.remove(wb[L.SELF_SCORES])),
         ("阳新县-自评.xlsx", "缺少工作表「自评得分」")),
    Case("merge-header-changed", "a column header of 数据录入 changed", "merge",
         unit_file("阳新县", cell_set(f"{L.DATA}!C{L.DATA_HEADER_ROW}", "二月")),
         ("阳新县-自评.xlsx", f"{L.DATA}!C{L.DATA_HEADER_ROW}", "「二月」", "与主工作簿的模板不一致")),
    Case("merge-column-moved", "a column inserted in 数据录入", "merge", unit_file("阳新县", lambda wb: wb[L.DATA].insert_cols(3)),
         ("阳新县-自评.xlsx", f"{L.DATA}!C{L.DATA_KEY_ROW}", "列被插入")),
    Case("merge-self-row-inserted", "a row inserted in 自评得分", "merge",
         unit_file("阳新县", lambda wb: wb[L.SELF_SCORES].insert_rows(6)),
         ("阳新县-自评.xlsx", f"{L.SELF_SCORES}!A6", "应为「阳新县」", "改动")),
    Case("merge-self-column-inserted", "a column inserted in 自评得分", "merge",
         unit_file("阳新县", lambda wb: wb[L.SELF_SCORES].insert_cols(3)),
         ("阳新县-自评.xlsx", f"{L.SELF_SCORES}!C{L.HEADER_ROW}", "列被插入")),
    Case("merge-concealment-header", "瞒报率明细's header changed", "merge",
         unit_file("阳新县", cell_set(f"{L.CONCEALMENT}!B{L.HEADER_ROW}", "部门")),
         ("阳新县-自评.xlsx", f"{L.CONCEALMENT}!B{L.HEADER_ROW}", "「部门」", "不一致")),
    Case("merge-blank-template", "an empty template sent back", "merge", merge_blank_template,
         ("blank.xlsx", "没有任何单位的数据")),
    Case("merge-bad-value", "a bad value in a unit file", "merge",
         unit_file("阳新县", cell_set(data_ref("阳新县", "objections"), "很多")),
         ("阳新县", f"阳新县-自评.xlsx：{data_ref('阳新县', 'objections')}", "「很多」", "应为不小于 0 的整数")),
    Case("merge-rate-85", "85 for 85 % in a unit file", "merge",
         unit_file("阳新县", cell_set(data_ref("阳新县", "dec_pass_rate"), 85)),
         ("阳新县", data_ref("阳新县", "dec_pass_rate"), "「85」", "是否应为 85%？")),
    Case("merge-merged-cells", "merged cells over the unit's input cells", "merge",
         unit_file("阳新县", cell_merge(L.DATA, f"B{LAY.unit_row(1)}:D{LAY.unit_row(1)}")),
         ("阳新县", f"{L.DATA}!B{LAY.unit_row(1)}:D{LAY.unit_row(1)}", "合并单元格")),
    Case("merge-formula-no-result", "a formula never calculated in a unit file", "merge",
         unit_file("阳新县", cell_set(data_ref("阳新县", "objections"), "=20+7")),
         ("阳新县", data_ref("阳新县", "objections"), "「=20+7」", "没有保存它的计算结果")),
    Case("merge-csv-renamed", "a CSV renamed to .xlsx sent as a unit file", "merge",
         merge_raw_file(sample_path().read_bytes(), "阳新县.xlsx"), ("阳新县.xlsx", "文本文件")),
    Case("merge-same-file-twice", "the same file given twice", "merge",
         lambda books, tmp: (lambda m, f: (m, [f, f], []))(Path(shutil.copy(books["template"], tmp / "master.xlsx")),
                                                          Path(shutil.copy(books["阳新县"], tmp / "阳新县.xlsx"))),
         ("阳新县.xlsx", "同一个文件被指定了不止一次")),
    Case("merge-csv-two-units", "a unit's data file (.csv) with two units' rows", "merge",
         merge_raw_file(csv_bytes(sample()[0], sample()[1][:2]), "阳新县.csv"),
         ("阳新县.csv", "只有本单位的一行数据", "现有 2 行", "大冶市、阳新县")),
    Case("merge-csv-bad-value", "a unit's data file (.csv) with a rate typed as 85", "merge",
         merge_raw_file(csv_bytes(sample()[0], [dict(sample()[1][1], dec_pass_rate="85")]), "阳新县.csv"),
         ("阳新县", "阳新县.csv：dec_pass_rate", "「85」", "是否应为 85%？")),
    Case("merge-master-itself", "the master given as a unit file", "merge", merge_master_itself,
         ("master.xlsx", "主工作簿本身")),
    Case("merge-output-is-unit-file", "-o pointing at a unit file", "merge", merge_output_is_unit_file,
         ("阳新县.xlsx", "输出文件")),
    Case("merge-unit-spelling", "the unit's name spelled 开发区．铁山区 in its file (accepted)", "merge",
         merge_custom_template(["开发区．铁山区"], "开发区·铁山区", "开发区．铁山区"), level="ok",
         same_as=merge_files_of("开发区·铁山区")),
    Case("merge-formula-with-result", "a formula with its saved result in a unit file (value copied)", "merge",
         unit_file("阳新县", cell_xml(data_ref("阳新县", "objections"), "<f>20+7</f><v>27</v>")),
         ("阳新县", data_ref("阳新县", "objections"), "「=20+7」", "「27」"), level="warning",
         same_as=merge_files_of("阳新县"), check=master_cell_is_value(data_ref("阳新县", "objections"), 27)),
    Case("merge-macros", "a unit file carrying a VBA project (ignored, never copied)", "merge", with_vba,
         level="ok", same_as=merge_files_of("阳新县"), check=master_has_no_vba),
    Case("merge-adjustment", "a unit typing its own 综合评定 adjustment (copied, with a warning)", "merge",
         unit_file("下陆区"), ("下陆区", data_ref("下陆区", "adjustment"), "「1」", "调整分由市里确定"), level="warning",
         same_as=merge_files_of("下陆区")),
    Case("merge-file-name", "a file named after another unit (merged by its content, with a warning)", "merge",
         unit_file("阳新县", name="大冶市.xlsx"), ("大冶市.xlsx", "阳新县", "文件名提到「大冶市」"), level="warning",
         same_as=merge_files_of("阳新县")),
    Case("merge-csv-noncharacter", "U+FFFE in a unit's data file (.csv)", "merge",
         merge_raw_file(csv_bytes(sample()[0], [dict(sample()[1][1], adjustment="-1", adjustment_reason="理由\ufffe")]),
                        "阳新县.csv"), ("阳新县", "阳新县.csv：adjustment_reason", "U+FFFE", "第 3 个字符")),
    Case("merge-nan-unread", "NaN in a sheet of a unit file that nothing reads", "merge",
         unit_file("阳新县", cell_xml(f"{L.GUIDE}!H40", "<v>NaN</v>")), ("阳新县-自评.xlsx", f"{L.GUIDE}!H40", "「NaN」", "不是有限数")),
    Case("merge-long-department", "a department name longer than a cell holds", "merge",
         unit_file("阳新县", cell_long_text(department_ref("阳新县"), 33_000)),
         ("阳新县-自评.xlsx", f"{L.CONCEALMENT}!B", "33,000 个字符", "32,767")),
    Case("merge-error-text-department", "a department named #DIV/0! (text, merged as text)", "merge",
         unit_file("阳新县", cell_text(department_ref("阳新县"), "#DIV/0!")), level="ok",
         check=master_department_is_text("#DIV/0!")),

    # ---------------------------------------------------------------------------------- files that are not sane
    Case("file-entity-bomb", "an entity-expansion bomb inside a sheet's XML", "file", entity_bomb,
         ("bomb.xlsx", "实体", "已拒绝")),
    Case("file-zip-bomb-ratio", "a member that inflates 200-fold and more", "file", zip_bomb_ratio,
         ("ratio.xlsx", "压缩比异常", "压缩炸弹")),
    Case("file-zip-bomb-declared", "a member declaring 3 GB", "file", zip_bomb_declared,
         ("declared.xlsx", "解压后过大", "压缩炸弹")),
    Case("file-far-cell", "a sheet that uses row 1,000,000", "file", far_cell, ("far.xlsx", "数据录入", "远超模板的范围")),
    Case("file-truncated", "a truncated workbook", "file", truncated, ("truncated.xlsx", "截断")),
    Case("file-random", "random bytes", "file", random_bytes, ("random.xlsx", "不是 .xlsx 工作簿")),
    Case("file-xls", "an old .xls renamed .xlsx", "file", xls_renamed, ("old.xlsx", ".xls")),
    Case("file-csv", "a CSV renamed .xlsx", "file", csv_renamed, ("data.xlsx", "文本文件", "CSV")),
    Case("file-empty", "an empty file", "file", empty_file, ("empty.xlsx", "空的")),
]


def test_the_catalogue_is_big_enough_and_its_ids_are_unique():
    ids = [c.id for c in CATALOGUE]
    assert len(ids) == len(set(ids))
    errors = [c for c in CATALOGUE if c.level == "error"]
    assert len(errors) >= 30
    assert {c.channel for c in errors} == {"csv", "cell", "merge", "file"}


# ------------------------------------------------------------------------------------------------ runners
def run_csv(case: Case, tmp_path: Path, capsys, inject=None, name="data.csv"):
    inject = inject or case.inject
    if isinstance(inject, tuple):
        data = inject[1]
    else:
        header, rows = sample()
        inject(header, rows)
        data = csv_bytes(header, rows)
    path = tmp_path / name
    path.write_bytes(data)
    code, out, err = cli(capsys, "score", path, "--json")
    assert path.read_bytes() == data, "the data file was changed"
    return code, out, err


def make_cell_book(books, tmp_path: Path, inject, name: str) -> Path:
    path = tmp_path / name
    wb = openpyxl.load_workbook(books["filled"])
    xml = inject(wb) or []
    wb.save(path)
    if xml:
        apply_xml_cells(path, xml)
    return path


def check_sheet_rows(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)[L.CHECK]
    return [" ".join("" if v is None else str(v) for v in row)
            for row in ws.iter_rows(min_row=L.CHECK_HEADER_ROW + 1, values_only=True)]


def report_units(capsys, path: Path) -> tuple[dict, list]:
    code, out, err = cli(capsys, "report", path, "--json")
    assert code == 0, err
    report = json.loads(out)
    return report["units"], report["problems"]


def assert_error(case: Case, code: int, out: str, err: str) -> None:
    assert code == 2, (code, err)
    assert out == ""
    assert "Traceback" not in err
    assert line_with(err, case.expect), f"no line holds all of {case.expect}:\n{err}"
    assert "未写入任何文件" in err or "未计分" in err


# ------------------------------------------------------------------------------------------------ the tests
@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.channel == "csv"], ids=lambda c: c.id)
def test_data_file(case: Case, tmp_path, capsys):
    code, out, err = run_csv(case, tmp_path, capsys)
    if case.level == "error":
        assert_error(case, code, out, err)
        return
    assert code == 0, err
    report = json.loads(out)
    if case.level == "warning":
        assert line_with(err, ("[提示]", *case.expect)), err
        assert any(all(f in p["message"] for f in case.expect) and p["level"] == "warning" for p in report["problems"])
    else:
        assert "[错误]" not in err and "[提示]" not in err, err
        code, plain, _ = run_csv(case, tmp_path, capsys, inject=case.same_as, name="plain.csv")
        assert code == 0
        assert report["units"] == json.loads(plain)["units"]


@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.channel == "cell"], ids=lambda c: c.id)
def test_typed_cell(case: Case, books, tmp_path, capsys):
    path = make_cell_book(books, tmp_path, case.inject, "book.xlsx")
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "recompute", path)
    if case.level == "error":
        assert_error(case, code, out, err)
        assert folder_state(tmp_path) == before, "a failed recompute changed or left a file"
        return
    assert code == 0, err
    # no temporary file left; the book it replaced is kept in its history (issue 11)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hscredit-history", "book.xlsx"]
    units, problems = report_units(capsys, path)
    if case.level == "warning":
        assert line_with(err, ("[提示]", *case.expect)), err
        assert any(all(f in p["message"] for f in case.expect) for p in problems if p["level"] == "warning")
        assert any(all(f.strip("「」") in row for f in case.expect) and row.startswith("提示")
                   for row in check_sheet_rows(path)), check_sheet_rows(path)
    else:
        assert "[错误]" not in err and "[提示]" not in err, err
    if case.same_as:
        plain = make_cell_book(books, tmp_path, case.same_as, "plain.xlsx")
        assert report_units(capsys, plain)[0] == units
    if case.check:
        case.check(path)


@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.channel == "merge"], ids=lambda c: c.id)
def test_unit_file(case: Case, books, tmp_path, capsys):
    master, files, extra = case.inject(books, tmp_path)
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "merge", master, *files, *extra)
    if case.level == "error":
        assert_error(case, code, out, err)
        assert folder_state(tmp_path) == before, "a refused merge changed or left a file"
        return
    assert code == 0, err
    after = folder_state(tmp_path)
    assert {k: v for k, v in after.items() if k != "master.xlsx"} == {k: v for k, v in before.items() if k != "master.xlsx"}
    if case.level == "warning":
        assert line_with(err, ("[提示]", *case.expect)), err
    else:  # only the reminders that the other units' files did not come this time
        assert "[错误]" not in err
        assert all("本次没有该单位的文件" in line for line in err.splitlines() if line.startswith("[提示]")), err
    if case.same_as:
        other = tmp_path / "plain"
        other.mkdir()
        plain_master, plain_files, _ = case.same_as(books, other)
        assert cli(capsys, "merge", plain_master, *plain_files)[0] == 0
        # the master now holds the one unit's data, exactly as a plain file of that unit gives it
        assert merged_inputs(master) == merged_inputs(plain_master)
    if case.check:
        case.check(master)


def merged_inputs(path: Path) -> tuple:
    inp = read_inputs(OpenpyxlBook(path))
    return inp.digest, [(c.unit, c.department, c.rate) for c in inp.concealment]


@pytest.mark.parametrize("case", [c for c in CATALOGUE if c.channel == "file"], ids=lambda c: c.id)
def test_unsafe_or_broken_file(case: Case, books, tmp_path, capsys, monkeypatch):
    bad = case.inject(books, tmp_path)
    master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "recompute", bad)  # how fast: benchmarks/refusals.py, not a timed test
    assert_error(case, code, out, err)
    code, out, err = cli(capsys, "merge", master, bad)
    assert_error(case, code, out, err)
    assert folder_state(tmp_path) == before


# ------------------------------------------------------------------------------------------------ together
TOGETHER_CSV = ["csv-text-in-number", "csv-rate-85", "csv-rate-above-100", "csv-count-fraction", "csv-div0", "csv-nan",
                "csv-flag-word", "csv-rates-item", "csv-comma-decimal"]
TOGETHER_CELLS = ["cell-text-in-number", "cell-rate-85", "cell-count-negative", "cell-blank", "cell-div0",
                  "cell-na-self", "cell-date", "cell-merged-input", "cell-extra-row",
                  "cell-concealment-blank-rate"]


def test_every_problem_of_a_data_file_is_listed_at_once(tmp_path, capsys):
    cases = [c for c in CATALOGUE if c.id in TOGETHER_CSV]
    header, rows = sample()
    for c in cases:
        c.inject(header, rows)
    header.append("remarks")  # a shape problem does not hide the value problems
    path = tmp_path / "many.csv"
    path.write_bytes(csv_bytes(header, rows))
    code, out, err = cli(capsys, "score", path)
    assert code == 2 and out == ""
    for c in cases:
        assert line_with(err, c.expect), (c.id, err)
    assert line_with(err, ("remarks", "未知的列名"))
    assert f"共 {len(cases) + 1} 个错误" in err


def test_every_problem_of_a_workbook_is_listed_at_once_and_nothing_is_written(books, tmp_path, capsys):
    cases = [c for c in CATALOGUE if c.id in TOGETHER_CELLS]
    path = make_cell_book(books, tmp_path, both(*[c.inject for c in cases]), "many.xlsx")
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "recompute", path)
    assert code == 2 and out == ""
    for c in cases:
        assert line_with(err, c.expect), (c.id, err)
    assert folder_state(tmp_path) == before


def test_every_problem_of_every_unit_file_is_listed_at_once(books, tmp_path, capsys):
    master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
    files = []
    for case in ("merge-bad-value", "merge-other-units-data", "merge-header-changed"):
        folder = tmp_path / case
        folder.mkdir()
        files += next(c for c in CATALOGUE if c.id == case).inject(books, folder)[1]
    good = Path(shutil.copy(books["大冶市"], tmp_path / "大冶市.xlsx"))
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "merge", master, good, *files)
    assert code == 2 and out == ""
    for case in ("merge-bad-value", "merge-other-units-data", "merge-header-changed"):
        assert line_with(err, next(c for c in CATALOGUE if c.id == case).expect), (case, err)
    assert folder_state(tmp_path) == before


# ------------------------------------------------------------------------------------------------ read as data
def test_defusedxml_alone_refuses_an_entity_bomb(books, tmp_path, monkeypatch):
    """The pre-scan refuses a DOCTYPE first; without it, openpyxl's parse through defusedxml still does."""
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML, "openpyxl must parse through defusedxml"
    bomb = entity_bomb(books, tmp_path)
    monkeypatch.setattr(safety, "_DECLARATION", re.compile(rb"(?!)"))  # a pattern that never matches
    with pytest.raises(safety.InputProblems) as exc:
        safety.open_untrusted(bomb)
    (problem,) = exc.value.problems
    assert "不安全的 XML" in problem.message() and "EntitiesForbidden" in problem.message()


def test_without_defusedxml_untrusted_files_are_not_opened(books, monkeypatch):
    import openpyxl.xml

    monkeypatch.setattr(openpyxl.xml, "DEFUSEDXML", False)
    with pytest.raises(RuntimeError, match="defusedxml"):
        safety.open_untrusted(books["filled"])


@pytest.mark.parametrize("make", [zip_bomb_ratio, zip_bomb_declared], ids=["ratio", "declared"])
def test_a_zip_bomb_is_refused_before_anything_is_decompressed(make, books, tmp_path, monkeypatch):
    bomb = make(books, tmp_path)
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(safety.InputProblems) as exc:
        safety.check_xlsx(bomb)
    assert opened == [], "a member was decompressed before the refusal"
    assert "压缩炸弹" in exc.value.problems[0].message()


def reason_data(tmp_path: Path, reason: str) -> Path:
    """The sample data file with an adjustment of −1 for 阳新县 and `reason` as its 调整理由."""
    header, rows = sample()
    next(r for r in rows if r["unit"] == "阳新县").update(adjustment="-1", adjustment_reason=reason)
    data = tmp_path / "data.csv"
    data.write_bytes(csv_bytes(header, rows))
    return data


def test_text_starting_with_equals_stays_text_through_fill(books, tmp_path, capsys):
    data = reason_data(tmp_path, "=HYPERLINK(\"x\")")
    out = tmp_path / "filled.xlsx"
    assert cli(capsys, "fill", books["template"], data, "-o", out)[0] == 0
    c = openpyxl.load_workbook(out)[L.DATA][data_ref("阳新县", "adjustment_reason").split("!")[1]]
    assert c.value == '=HYPERLINK("x")' and c.data_type == "s"
    assert cli(capsys, "recompute", out)[0] == 0
    summary = openpyxl.load_workbook(out)[L.SUMMARY]
    s = summary.cell(LAY.unit_row(1), LAY.summary_columns["adjustment_reason"])
    assert s.value == '=HYPERLINK("x")' and s.data_type == "s"


def test_a_formula_in_an_input_cell_keeps_its_result_through_a_headless_recompute(books, tmp_path, capsys):
    """openpyxl saves formulas without results; recompute puts the scored result back, so the next reader
    (recompute again, report, export) finds it."""
    case = next(c for c in CATALOGUE if c.id == "cell-formula-with-result")
    path = make_cell_book(books, tmp_path, case.inject, "book.xlsx")
    assert cli(capsys, "recompute", path)[0] == 0
    for _ in range(2):
        code, _, err = cli(capsys, "recompute", path)
        assert code == 0 and "「48」" in err
    coord = data_ref("大冶市", "returned_issues").split("!")[1]
    assert openpyxl.load_workbook(path)[L.DATA][coord].value == "=40+8"  # the person's formula is kept
    assert openpyxl.load_workbook(path, data_only=True)[L.DATA][coord].value == 48


# ------------------------------------------------------------------------------------------------ text is text
@pytest.mark.parametrize("reason, fragments", [
    ("理由\ufffe坏", ("第 3 个字符（U+FFFE）", "「理由⟨U+FFFE⟩坏」")),
    ("理由\x01坏", ("第 3 个字符（U+0001）",)),
    ("长" * 40_000, ("40,000 个字符", "32,767")),
], ids=["noncharacter", "control", "too-long"])
def test_fill_refuses_text_no_workbook_can_hold_and_writes_nothing(reason, fragments, books, tmp_path, capsys):
    """Before: U+FFFE was written into a master nothing could open again, \\x01 ended in exit 1, long text was
    cut without a word."""
    data = reason_data(tmp_path, reason)
    template = Path(shutil.copy(books["template"], tmp_path / "template.xlsx"))
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "fill", template, data)
    assert code == 2 and out == "" and "Traceback" not in err
    assert line_with(err, ("阳新县", "adjustment_reason", "调整理由", *fragments)), err
    assert folder_state(tmp_path) == before


def test_text_that_reads_as_an_error_value_is_written_as_text_through_fill_recompute_and_export(books, tmp_path, capsys):
    data = reason_data(tmp_path, "#DIV/0!")
    out = tmp_path / "filled.xlsx"
    assert cli(capsys, "fill", books["template"], data, "-o", out)[0] == 0
    c = openpyxl.load_workbook(out)[L.DATA][data_ref("阳新县", "adjustment_reason").split("!")[1]]
    assert c.value == "#DIV/0!" and c.data_type == "s"
    assert cli(capsys, "recompute", out)[0] == 0
    reason_is_text_and_exports("#DIV/0!")(out)


def test_the_writer_refuses_text_no_workbook_can_hold(books):
    """The last guard: whatever reaches a cell through Book.write is checked there, and named by that cell."""
    from hscredit_xl.scoring import InputProblems

    book = OpenpyxlBook(books["template"], openpyxl.load_workbook(books["template"]))
    for text in ("a\x00b", "\ud800", "\uffff", "x" * 32_768):
        with pytest.raises(InputProblems) as exc:
            book.write(L.CHECK, 4, 2, [["fine", text]])
        (p,) = exc.value.problems
        assert p.field == f"{L.CHECK}!C4" and p.level == "error"
    book.write(L.CHECK, 4, 2, [["x" * 32_767, "tab\tnew\nline\r"]])  # what a cell can hold is written


def test_parse_units_names_a_lone_surrogate_with_its_unit_field_and_position():
    """A lone surrogate can not come from a file (no UTF-8 encodes one) but can from a caller of the API."""
    from hscredit_xl.inputs import parse_units

    header, rows = sample()
    rows[0]["adjustment_reason"] = "ab\udc80"
    _, problems = parse_units(RUBRIC, rows, choices=RUBRIC.default_choices)
    (p,) = [p for p in problems if p.level == "error"]
    assert (p.unit, p.field) == ("大冶市", "adjustment_reason") and "第 3 个字符（U+DC80）" in p.expected


# ------------------------------------------------------------------------------------------------ limits before parsing
def hostile():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import hostile_files

    return hostile_files


@pytest.fixture
def openpyxl_loads(monkeypatch):
    """The names of the files openpyxl is asked to load (and loads)."""
    loads = []
    real = openpyxl.load_workbook

    def spy(filename, *args, **kwargs):
        loads.append(Path(filename).name)
        return real(filename, *args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return loads


def refused_by_merge(capsys, books, tmp_path, unit_path: Path, fragments) -> None:
    master = Path(shutil.copy(books["template"], tmp_path / "master.xlsx"))
    before = folder_state(tmp_path)
    code, out, err = cli(capsys, "merge", master, unit_path)
    assert code == 2 and out == "", err
    assert line_with(err, (unit_path.name, *fragments)), err
    assert folder_state(tmp_path) == before


@pytest.mark.parametrize("limit, value, make, fragments", [
    ("MAX_SHEET_CELLS", 2_000, lambda h, src, dst: h.add_unread_sheet(src, dst, 50, 60),
     ("工作表「附加」", "超过 2,000 个单元格", "未读取")),
    ("MAX_CELLS", 8_000, lambda h, src, dst: h.add_unread_sheet(src, dst, 100, 60), ("工作簿含有超过 8,000 个单元格",)),
    ("MAX_SHARED_STRINGS", 1_000, lambda h, src, dst: h.add_shared_strings(src, dst, 1_001), ("超过 1,000 个共享字符串",)),
    ("MAX_SHEET_MERGES", 20, lambda h, src, dst: h.add_unread_sheet(src, dst, 30, 2, merges=21),
     ("工作表「附加」", "超过 20 个合并单元格区域")),
    ("MAX_PART_TAGS", 20_000, lambda h, src, dst: h.add_unread_sheet(src, dst, 100, 80), ("XML 标记",)),
], ids=["cells-in-a-sheet", "cells-in-all", "shared-strings", "merged-ranges", "tags"])
def test_a_file_over_a_limit_is_refused_before_anything_is_parsed(limit, value, make, fragments, books, tmp_path,
                                                                  capsys, monkeypatch, openpyxl_loads):
    """The limits are lowered so the files stay small (the master, a 6-unit template, stays under them: 3,857
    cells, 1,007 in its biggest sheet, 17 merged ranges in a sheet); benchmarks/refusals.py refuses the
    full-size ones (4 M cells, 3 M shared strings) and records how fast."""
    unit = make(hostile(), books["阳新县"], tmp_path / "unit.xlsx")
    monkeypatch.setattr(safety, limit, value)
    refused_by_merge(capsys, books, tmp_path, unit, fragments)
    assert "unit.xlsx" not in openpyxl_loads, "the unit file was refused before openpyxl parsed any of it"


def test_files_under_the_limits_still_load(books, tmp_path, capsys):
    """The same kind of files, small, within the default limits: merged (the extra sheet and strings are
    not read, and do not stop anything)."""
    h = hostile()
    for n, path in enumerate((h.add_unread_sheet(books["阳新县"], tmp_path / "sheet.xlsx", 50, 30),
                              h.add_shared_strings(books["阳新县"], tmp_path / "strings.xlsx", 1_001))):
        master = Path(shutil.copy(books["template"], tmp_path / f"master{n}.xlsx"))
        code, _, err = cli(capsys, "merge", master, path)
        assert code == 0, err


def test_an_xml_part_in_utf16_is_refused(books, tmp_path, capsys):
    """Counting tags in another encoding would let a file slip past the limits; Excel writes UTF-8 only."""
    path = Path(shutil.copy(books["阳新县"], tmp_path / "utf16.xlsx"))
    with zipfile.ZipFile(path) as zf:
        part = sheet_part(zf, L.GUIDE)

    def change(name, data):
        if name != part:
            return data
        text = data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
        return text.encode("utf-16")
    rewrite_zip(path, change)
    refused_by_merge(capsys, books, tmp_path, path, ("不是 UTF-8 编码",))


@pytest.mark.parametrize("repeated", [False, True], ids=["unknown", "repeated"])
def test_a_header_of_30000_columns_is_refused_with_a_short_list(repeated, tmp_path, capsys):
    """The header checks are linear (100,000 columns: benchmarks/refusals.py); a long list of the same
    problem is cut to its first 20 and a count."""
    path = hostile().wide_csv(sample_path(), tmp_path / "wide.csv", 30_000, repeated)
    code, out, err = cli(capsys, "score", path)
    assert code == 2 and out == ""
    lines = [line for line in err.splitlines() if line.startswith("[错误]")]
    if repeated:
        assert len(lines) == 1 and "列名重复" in lines[0]
    else:
        assert len(lines) == 21 and "未知的列名共 30,000 个" in lines[-1]
