"""hscredit_xl.office: LibreOffice headless as an independent check, and looking at the printed pages.

LibreOffice runs cost about 2 s of CPU each: every workbook here is converted once per session, through
conftest's ``libreoffice`` fixture, and the tests share the result.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.properties import PageSetupProperties

from hscredit_xl import office
from hscredit_xl.office import OfficeError, OfficeMissing

posix_only = pytest.mark.skipif(os.name != "posix", reason="fake soffice is a shell script")

# ------------------------------------------------------------------------------------------ workbooks

UNITS = ["大冶市", "阳新县", "下陆区"]

# cell -> (formula as openpyxl writes it, LibreOffice's expected result)
NATIVE = {
    "B1": ("=A1*2", 42),
    "B2": ("=SUM(A1:A4)", 45.5),
    "B3": ("=MIN(A1:A4)", 5),
    "B4": ("=MAX(A1:A4)", 21),
    "B5": ("=ROUND(A1/8,2)", 2.63),
    "B6": ('=IF(A1>10,"达标","不达标")', "达标"),
    "B7": ("=_xlfn.RANK.EQ(A2,A1:A4)", 2),
    "B8": ("=_xlfn.RANK.EQ(A3,A1:A4,1)", 1),
    "B9": ('=_xlfn.MAXIFS(A1:A4,A1:A4,"<20")', 12.5),
    "B10": ('=_xlfn.MINIFS(A1:A4,A1:A4,">5")', 7),
    "B11": ('=COUNTIF(A1:A4,">=7")', 3),
    "B12": ("=SUMPRODUCT(A1:A4,A1:A4)", 21 * 21 + 12.5 * 12.5 + 5 * 5 + 7 * 7),
    "B13": ("=IFERROR(1/0,-1)", -1),
    "B14": ("=ABS(A3-A1)", 16),
    "B15": ("=ROUND(输入!B1*0.5,1)", 1.5),  # cross-sheet reference
    "B16": ("=MAX(0,MIN(10,A2))", 10),
}
# an unknown function, and newer functions written without their _xlfn. prefix (Excel would not know them either)
UNKNOWN = {"C1": "=HS_TOTAL(1,2,3)", "C2": "=RANK.EQ(A2,A1:A4)", "C3": '=MAXIFS(A1:A4,A1:A4,"<20")'}
STALE = {"B1": "999", "B2": "-1", "B7": "99", "C1": "6"}  # cached values planted in the file


def _plant_cached_values(path: Path, sheet_xml: str, values: dict[str, str]) -> None:
    """openpyxl writes formula cells with an empty cached value; plant stale numbers like Excel would leave."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == sheet_xml:
                for cell, value in values.items():
                    start = data.index(f'<c r="{cell}"'.encode())
                    empty = data.index(b"<v />", start)
                    data = data[:empty] + f"<v>{value}</v>".encode() + data[empty + len(b"<v />") :]
            zout.writestr(info, data)
    tmp.replace(path)


def make_formula_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "计算"
    for cell, value in {"A1": 21, "A2": 12.5, "A3": 5, "A4": 7}.items():
        ws[cell] = value
    for cell, (formula, _) in NATIVE.items():
        ws[cell] = formula
    for cell, formula in UNKNOWN.items():
        ws[cell] = formula
    ws["D1"] = "大冶市"
    ws["D2"] = "#N/A"
    ws["D2"].data_type = "s"  # text that merely looks like an error value
    inputs = wb.create_sheet("输入")
    inputs["B1"] = 3
    wb.save(path)
    _plant_cached_values(path, "xl/worksheets/sheet1.xml", STALE)
    return path


def _landscape_a4(ws, *, fit_width: bool) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if fit_width:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0


def make_print_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = "汇总"
    summary.append(["黄石市2020年度社会信用体系建设考核评价汇总"])
    summary.append(["序号", "单位"] + [f"指标{i}" for i in range(1, 31)])
    for n in range(1, 151):  # more rows than one page: the title rows must repeat
        summary.append([n, f"单位{n:03d}"] + [n * i for i in range(1, 31)])
    _landscape_a4(summary, fit_width=True)
    summary.print_title_rows = "1:2"
    for unit in UNITS:
        ws = wb.create_sheet(unit)
        ws["A1"] = f"{unit} 社会信用体系建设考评表"
        ws["A2"] = "得分"
        ws["B2"] = 40.25
        ws["B3"] = 35.5
        ws["B4"] = "=ROUND(SUM(B2:B3),1)"  # no cached value: must print 75.8
        ws.column_dimensions["A"].width = 40
        _landscape_a4(ws, fit_width=True)
    wb.save(path)
    return path


# ------------------------------------------------------------------------------------------ shared runs


@pytest.fixture
def recalculated(libreoffice):
    """The formula workbook (Chinese file name, stale cached values, a leftover lock file) after recalculate."""
    return libreoffice.run("office:formula-workbook", _recalculate_formula_workbook)


def _recalculate_formula_workbook(folder: Path) -> dict:
    src = make_formula_workbook(folder / "考评表 2020.xlsx")
    lock = folder / f".~lock.{src.name}#"
    lock.write_text(",某人,某机器,01.01.2020 10:00,file:///tmp;\n", encoding="utf-8")
    before = src.read_bytes()
    t0 = time.perf_counter()
    dst = office.recalculate(src, folder / "out" / "recalculated.xlsx")
    seconds = time.perf_counter() - t0
    return {"src": src, "before": before, "dst": dst, "seconds": seconds, "lock": lock}


@pytest.fixture
def printed(libreoffice, poppler):
    """The print workbook (a long 汇总, one sheet per unit) printed to PDF: ``.pdf``, ``.pages``, ``.sizes``."""
    return libreoffice.printed("office:print-workbook", lambda folder: make_print_workbook(folder / "scored.xlsx"))


# ------------------------------------------------------------------------------------------ recalculation


@pytest.mark.soffice
def test_recalculate_gives_libreoffice_results_for_native_formulas(recalculated):
    values = office.read_values(recalculated["dst"])["计算"]
    for cell, (formula, expected) in NATIVE.items():
        got = values.get(cell)
        if isinstance(expected, str):
            assert got == expected, f"{cell} {formula}"
        else:
            assert got == pytest.approx(expected), f"{cell} {formula}: {got!r}"
    assert values["D1"] == "大冶市"


@pytest.mark.soffice
def test_recalculate_replaces_stale_cached_values(recalculated):
    values = office.read_values(recalculated["dst"])["计算"]
    assert values["B1"] == 42 and values["B2"] == pytest.approx(45.5) and values["B7"] == 2
    # and the planted values were really in the input (openpyxl reads them back)
    planted = office.read_values(recalculated["src"])["计算"]
    assert planted["B1"] == 999 and planted["B2"] == -1 and planted["C1"] == 6


@pytest.mark.soffice
def test_unknown_functions_are_the_only_error_cells(recalculated):
    errors = office.error_cells(recalculated["dst"])
    assert errors == {"计算": {cell: "#NAME?" for cell in UNKNOWN}}
    # text that merely reads like an error is not an error cell
    assert office.read_values(recalculated["dst"])["计算"]["D2"] == "#N/A"


@pytest.mark.soffice
def test_original_untouched_and_lock_file_ignored(recalculated):
    assert recalculated["src"].read_bytes() == recalculated["before"]
    assert recalculated["lock"].exists()  # left where it was; LibreOffice only ever saw a copy
    assert sorted(p.name for p in recalculated["dst"].parent.iterdir()) == ["recalculated.xlsx"]
    assert recalculated["seconds"] < office.TIMEOUT


@pytest.mark.soffice
def test_without_forced_recalculation_libreoffice_keeps_stale_values(recalculated, tmp_path):
    """The control: the same file through a profile that does NOT force recalculation keeps 999.

    This is why recalculate() forces it; if a LibreOffice release ever recalculates by default,
    this test fails and the forcing is merely redundant.
    """
    out = office._run_soffice(
        recalculated["src"], office._XLSX_FILTER, ".xlsx", tmp_path / "kept.xlsx", timeout=office.TIMEOUT, recalc=False
    )
    values = office.read_values(out)["计算"]
    assert values["B1"] == 999 and values["B2"] == -1


@pytest.mark.soffice
def test_file_libreoffice_cannot_load_raises_with_stderr(soffice, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(OfficeError) as info:
        office.recalculate(bad, tmp_path / "out.xlsx")
    message = str(info.value)
    assert "bad.xlsx" in message and "错误输出" in message
    assert not (tmp_path / "out.xlsx").exists()


def test_missing_input_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        office.recalculate(tmp_path / "nope.xlsx", tmp_path / "out.xlsx")


# ------------------------------------------------------------------------------------------ printing


@pytest.mark.soffice
def test_pdf_pages_are_a4_landscape(printed):
    sizes = printed.sizes
    assert len(sizes) >= 1 + len(UNITS) + 1  # 汇总 spans two pages or more, one page per unit
    for width, height in sizes:
        assert width == pytest.approx(841.9, abs=2) and height == pytest.approx(595.3, abs=2)


@pytest.mark.soffice
def test_pdf_honours_fit_to_width_and_print_titles(printed):
    pages = printed.pages
    summary = [p for p in pages if re.search(r"单位\d{3}", p)]
    assert len(summary) >= 2, "150 rows should not fit on one landscape page"
    assert "单位001" in summary[0] and "单位150" in summary[-1]
    for page in summary:
        assert "指标30" in page  # all 32 columns on the width of every page
        assert "序号" in page and "黄石市2020年度" in page  # title rows 1:2 repeated


@pytest.mark.soffice
def test_pdf_prints_chinese_unit_names_and_computed_values(printed):
    pages = printed.pages
    for unit in UNITS:
        own = [p for p in pages if f"{unit} 社会信用体系建设考评表" in p]
        assert len(own) == 1, f"{unit}: {len(own)} pages"
        assert "75.8" in own[0]  # =ROUND(SUM(B2:B3),1), computed by LibreOffice while printing
    assert any("大冶市" in p for p in pages)


@pytest.mark.soffice
def test_render_pages_gives_non_blank_a4_landscape_pngs(printed, tmp_path):
    out = tmp_path / "png"
    pngs = office.render_pages(printed.pdf, out, dpi=60)
    assert len(pngs) == len(printed.sizes)
    assert [p.name for p in pngs] == [f"page-{i}.png" for i in range(1, len(pngs) + 1)]
    for png in pngs:
        width, height = office.png_size(png)
        assert abs(width - 702) <= 2 and abs(height - 496) <= 2  # A4 landscape at 60 dpi
        ink = office.png_ink(png)
        assert 0.0002 < ink < 0.5, f"{png.name}: {ink:.4f} of the page is ink"
    # cross-check the PNG reader against pdftoppm's own grey PGM of page 1
    pgm = tmp_path / "p1"
    subprocess.run(
        [shutil.which("pdftoppm"), "-r", "60", "-gray", "-f", "1", "-l", "1", "-singlefile", str(printed.pdf), str(pgm)],
        check=True,
    )
    w, h, pixels = _read_pgm(pgm.with_suffix(".pgm"))
    assert (w, h) == office.png_size(pngs[0])
    grey_ink = sum(1 for v in pixels if v < 200) / (w * h)
    assert office.png_ink(pngs[0]) == pytest.approx(grey_ink, rel=0.15, abs=0.002)


def _read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    fields: list[bytes] = []
    pos = 0
    while len(fields) < 4:  # P5, width, height, maxval
        while data[pos : pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end : end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P5" and fields[3] == b"255"
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1 : pos + 1 + w * h]


# ------------------------------------------------------------------------------------------ the PNG reader


def _png(width: int, rows: list[bytes], ctype: int, filters: list[int]) -> bytes:
    """A PNG with the given row filter per row (the encoder side of png_ink's decoder)."""
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    prev = bytes(width * bpp)
    raw = bytearray()
    for row, f in zip(rows, filters):
        out = bytearray()
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = a
            elif f == 2:
                pred = b
            elif f == 3:
                pred = (a + b) >> 1
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((x - pred) & 0xFF)
        raw += bytes([f]) + out
        prev = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, ctype, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


@pytest.mark.parametrize("ctype", [0, 2, 6])
def test_png_ink_decodes_every_row_filter(tmp_path, ctype):
    width, height = 7, 10
    bpp = {0: 1, 2: 3, 6: 4}[ctype]
    dark = {(x, y) for y in range(height) for x in range(width) if (x * 3 + y * 5) % 7 == 0}
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            v = 10 + x * 3 if (x, y) in dark else 250 - y
            row += bytes([v] * (bpp - (1 if ctype == 6 else 0))) + (b"\xff" if ctype == 6 else b"")
        rows.append(bytes(row))
    png = tmp_path / "t.png"
    png.write_bytes(_png(width, rows, ctype, [y % 5 for y in range(height)]))
    assert office.png_size(png) == (width, height)
    assert office.png_ink(png) == pytest.approx(len(dark) / (width * height))
    blank = tmp_path / "blank.png"
    blank.write_bytes(_png(width, [bytes([255] * width * bpp)] * 3, ctype, [4, 3, 1]))
    assert office.png_ink(blank) == 0.0


# ------------------------------------------------------------------------------------------ failures without LibreOffice


def test_missing_soffice_raises_office_missing_in_chinese(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(office, "_candidates_outside_path", lambda: [])
    with pytest.raises(OfficeMissing) as info:
        office.find_soffice()
    message = str(info.value)
    assert "未找到 LibreOffice" in message
    assert "sudo apt-get install libreoffice-calc-nogui fonts-noto-cjk" in message
    assert "Windows" in message and "PATH" in message
    src = make_formula_workbook(tmp_path / "book.xlsx")
    with pytest.raises(OfficeMissing):
        office.recalculate(src, tmp_path / "out.xlsx")
    with pytest.raises(OfficeMissing):
        office.to_pdf(src, tmp_path / "out.pdf")


def test_missing_poppler_raises_office_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(OfficeMissing, match="poppler-utils"):
        office.pdf_page_sizes(tmp_path / "x.pdf")


def _fake_soffice(folder: Path, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "soffice"
    script.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    script.chmod(0o755)
    return script


@posix_only
def test_exit_zero_without_output_is_an_error(monkeypatch, tmp_path):
    _fake_soffice(tmp_path / "bin", 'echo "Error: source file could not be loaded" >&2\nexit 0')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    src = tmp_path / "a.xlsx"
    src.write_bytes(b"x")
    with pytest.raises(OfficeError) as info:
        office.to_pdf(src, tmp_path / "a.pdf")
    assert "source file could not be loaded" in str(info.value)
    assert "退出码 0" in str(info.value)


@posix_only
def test_timeout_kills_libreoffice_and_its_children(monkeypatch, tmp_path):
    pidfile = tmp_path / "child.pid"
    _fake_soffice(tmp_path / "bin", f"/bin/sleep 60 &\necho $! > '{pidfile}'\nwait")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    src = tmp_path / "a.xlsx"
    src.write_bytes(b"x")
    t0 = time.monotonic()
    with pytest.raises(OfficeError, match="超过 1 秒"):
        office.recalculate(src, tmp_path / "out.xlsx", timeout=1)
    assert time.monotonic() - t0 < 20
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the child {child} of the timed-out soffice is still running")


def test_profile_forces_recalculation_of_excel_files():
    xcu = office._PROFILE_XCU.format(mode=0)
    assert '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"' in xcu
    assert "<value>0</value>" in xcu
