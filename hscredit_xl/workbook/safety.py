"""Open a workbook that came from outside the office as data, never as code.

Units mail their workbooks back: they are untrusted input. Before openpyxl parses anything we check that the
file is a real xlsx zip of sane size:

* what the file is: an old .xls (or a password-protected workbook, both OLE containers), a text file such as
  a CSV renamed to .xlsx, a truncated or random file: each refused with its own message;
* the zip directory, before anything is decompressed: number of members, each member's declared size, the
  total, and the compression ratio (a zip bomb is refused before it fills memory or disk);
* then one streaming pass over every member (1 MB at a time, never more than a member's declared size:
  Python's zip reader stops there): the CRC of each member (a damaged file is refused), and no XML part may
  declare a DOCTYPE or an entity (an entity-expansion "billion laughs" bomb is refused here, in milliseconds,
  before any XML parser sees it);
* in the same pass, what openpyxl would have to build is counted from the XML stream, before it builds any
  of it: cells (per sheet and in all), shared strings, merged ranges, and XML tags of any kind (per part and
  in all). openpyxl loads every sheet, read or not, at about 1 KB and 25 µs a cell: a file over these limits
  is refused in seconds instead of loading for minutes into gigabytes. The limits leave room for a unit's
  file; the master, which the command line reads with xlsxfile.XlsxBook (about 1 µs a cell, only the sheets
  it needs), is checked against DIRECT_LIMITS, which leave room for 30,000 units. XML parts must be UTF-8, as
  Excel, WPS and LibreOffice write them (counting in another encoding would let a file slip past the limits).

openpyxl then parses the XML through defusedxml (checked: it refuses to run without it), VBA is never kept or
run (keep_vba=False), external links are dropped (keep_links=False), and formulas are never evaluated:
openpyxl has no evaluator; with data_only=True it reads the values Excel last saved.

What openpyxl loaded is checked once more, cell by cell, for what no workbook cell may hold: a number that
is not finite (NaN, ±inf — written back they would make a file nothing can open), text longer than Excel's
32,767 characters (Excel cuts it without a word). Each such cell is named; a number openpyxl can not read at
all (``<v>NaN</v>``) is named too, instead of "can not be parsed".
"""
from __future__ import annotations

import math
import re
import zipfile
import zlib
from collections import Counter
from pathlib import Path

from ..inputs import ERROR, Problem, shown, text_problem
from ..scoring import InputProblems

MAX_FILE_BYTES = 50 * 1024 * 1024  # compressed
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per member (a member above RATIO_FLOOR bytes)
RATIO_FLOOR = 10 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_SHEET_ROWS = 100_000  # a template has a few hundred rows; the readers scan every row a sheet uses
# counted from the XML stream before parsing; a workbook of 3,000 units has ~830,000 cells, ~121,000 in its
# biggest sheet, 51,000 merged ranges (17 in a sheet at most), ~4.2 M tags (~560,000 in a part)
MAX_SHEET_CELLS = 500_000
MAX_CELLS = 2_000_000
MAX_SHARED_STRINGS = 100_000  # openpyxl reads every shared string, used or not (~45 µs each)
MAX_SHEET_MERGES = 2_000  # openpyxl binds each merged range at ~0.6 ms
MAX_MERGES = 200_000
MAX_PART_TAGS = 2_000_000
MAX_TAGS = 12_000_000
MAX_LISTED = 20  # bad cells named one by one; more are counted
# the limits for a workbook read by xlsxfile.XlsxBook (the master: recompute, fill, merge, report): it reads
# at about 1 µs a cell and holds only the cells with a value, so a workbook of 30,000 units (~7 M cells, a
# 佐证资料 sheet of 510,000 rows and 2.6 M cells) passes, and a hostile file is still refused before parsing
DIRECT_LIMITS = {"MAX_SHEET_CELLS": 5_000_000, "MAX_CELLS": 20_000_000, "MAX_SHARED_STRINGS": 2_000_000,
                 "MAX_SHEET_MERGES": 20_000, "MAX_MERGES": 200_000, "MAX_PART_TAGS": 25_000_000,
                 "MAX_TAGS": 120_000_000, "MAX_SHEET_ROWS": 600_000, "MAX_UNCOMPRESSED_BYTES": 1024 * 1024 * 1024}
CHUNK = 1024 * 1024
_MAX_CARRY = 256 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XML_PARTS = (".xml", ".rels", ".vml")
# '<!DOCTYPE' / '<!ENTITY' in UTF-8 (any case), and in UTF-16 either byte order
_DECLARATION = re.compile(rb"<!(?i:doctype|entity)|<\x00!\x00[dDeE]")  # UTF-16 BE holds the LE bytes too
_COUNTED = re.compile(rb"<(?:[\w.-]+:)?(c|si|mergeCell)[\s/>]")  # a cell, a shared string, a merged range
_HINT_SAVE_AS = "请在 Excel 中打开后“另存为”Excel 工作簿(*.xlsx)，再重试"


def _refuse(path: Path, expected: str, hint: str = "") -> InputProblems:
    return InputProblems([Problem(ERROR, "", str(path), "工作簿文件", path.name, expected, hint)])


def _sniff(path: Path) -> str:
    """What a file that is not a zip seems to be, for the message."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return "文件是空的（0 字节），不是 .xlsx 工作簿"
    if head.startswith(_OLE_MAGIC):
        return "这是旧版 .xls 文件或设置了打开密码的工作簿，不是 .xlsx 工作簿"
    if head.startswith(b"PK"):
        return "不是完整的 .xlsx 工作簿（文件被截断或已损坏）"
    sample = head.lstrip(b"\xef\xbb\xbf")
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = sample.decode("gb18030")
        except UnicodeDecodeError:
            text = ""
    if text and "\x00" not in text and sum(ch.isprintable() or ch in "\r\n\t" for ch in text) > 0.95 * len(text):
        if text.lstrip().startswith("<"):
            return "这是网页或 XML 文本文件（可能是另存为“网页”或 .xml 的表格），不是 .xlsx 工作簿"
        return "这是文本文件（如 CSV），不是 .xlsx 工作簿；数据文件请使用 .csv 扩展名"
    return "不是 .xlsx 工作簿（文件损坏、被截断，或是其他格式）"


def check_xlsx(path: Path, limits: dict | None = None) -> None:
    """Raise InputProblems (with a Chinese message) unless the file is a plausible, sane xlsx package.

    `limits` overrides the module's limits by name (DIRECT_LIMITS: a file read by xlsxfile.XlsxBook)."""
    path = Path(path)
    if not path.exists():
        raise _refuse(path, "文件不存在")
    if not path.is_file():
        raise _refuse(path, "不是文件")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _refuse(path, f"文件过大（{size:,} 字节），应不超过 {MAX_FILE_BYTES:,} 字节")
    try:
        if not zipfile.is_zipfile(path):
            raise _refuse(path, _sniff(path), _HINT_SAVE_AS)
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            _check_directory(path, members, limits or {})
            totals: Counter = Counter()
            for m in members:
                _scan_member(path, zf, m, totals, limits or {})
    except InputProblems:
        raise
    except zipfile.BadZipFile as exc:
        raise _refuse(path, f"工作簿已损坏（{_zip_error(exc)}）", _HINT_SAVE_AS) from None
    except FileNotFoundError:
        raise _refuse(path, "文件不存在") from None
    except PermissionError:
        raise _refuse(path, "没有读取该文件的权限") from None
    except zlib.error:
        raise _refuse(path, "工作簿已损坏（压缩数据错误）", _HINT_SAVE_AS) from None
    except Exception as exc:  # an encrypted member, an unknown compression method, …
        raise _refuse(path, f"无法读取工作簿（{type(exc).__name__}）", _HINT_SAVE_AS) from None


def _zip_error(exc: Exception) -> str:
    text = str(exc)
    if "CRC" in text:
        return "内部文件校验失败"
    return "压缩包结构错误"


def _check_directory(path: Path, members: list[zipfile.ZipInfo], limits: dict) -> None:
    """Everything the zip directory says, checked before one byte is decompressed."""
    if len(members) > MAX_MEMBERS:
        raise _refuse(path, f"工作簿内部文件过多（{len(members):,} 个），疑似压缩炸弹，已拒绝")
    total = 0
    most = limits.get("MAX_UNCOMPRESSED_BYTES", MAX_UNCOMPRESSED_BYTES)
    for m in members:
        total += m.file_size
        if m.file_size > most or total > most:
            raise _refuse(path, f"工作簿解压后过大（超过 {most // 1024 // 1024} MB），"
                                "疑似压缩炸弹，已拒绝")
        if m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * max(1, m.compress_size):
            raise _refuse(path, f"工作簿内部文件「{m.filename}」压缩比异常"
                                f"（{m.compress_size:,} 字节解压为 {m.file_size:,} 字节），疑似压缩炸弹，已拒绝")
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refuse(path, "不是 .xlsx 工作簿（压缩包里缺少工作簿结构）", _HINT_SAVE_AS)


def _scan_member(path: Path, zf: zipfile.ZipFile, m: zipfile.ZipInfo, totals: Counter, limits: dict) -> None:
    """Decompress one member in bounded chunks: CRC checked at its end; an XML part must be UTF-8, declare no
    DOCTYPE, and stay within the limits on what it holds (counted here, in `totals` for the whole file)."""
    is_xml = m.filename.lower().endswith(_XML_PARTS)
    carry = b""
    first = True
    counts: Counter = Counter()
    with zf.open(m) as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not is_xml:
                if not chunk:
                    break
                continue
            if first and chunk:
                first = False
                _check_encoding(path, m.filename, chunk)
            # blocks end before their last '<': every tag is counted once and whole
            block = carry + chunk
            cut = block.rfind(b"<") if chunk else -1
            if cut <= 0 or len(block) - cut > _MAX_CARRY:
                cut = len(block)
            block, carry = block[:cut], block[cut:]
            if _DECLARATION.search(block):
                raise _refuse(path, f"工作簿内部文件「{m.filename}」含有 XML 文档类型/实体声明"
                                    "（可能是 XML 实体炸弹），已拒绝", "正常的 Excel 工作簿不含这种内容")
            found = Counter(_COUNTED.findall(block))
            found[b"<"] = block.count(b"<")
            counts.update(found)
            totals.update(found)
            _check_counts(path, zf, m.filename, counts, totals, limits)
            if not chunk:
                break


def _check_encoding(path: Path, name: str, head: bytes) -> None:
    head = head.removeprefix(b"\xef\xbb\xbf")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head[:4]:
        raise _refuse(path, f"工作簿内部文件「{name}」不是 UTF-8 编码的 XML（Excel、WPS 都不会这样保存），已拒绝",
                      _HINT_SAVE_AS)


# what is counted, the names of its limits in one part and in the whole file (module attributes, read at
# each check, so that a test can lower them), and what it is called
_LIMITS = ((b"c", "MAX_SHEET_CELLS", "MAX_CELLS", "单元格"), (b"si", None, "MAX_SHARED_STRINGS", "共享字符串"),
           (b"mergeCell", "MAX_SHEET_MERGES", "MAX_MERGES", "合并单元格区域"), (b"<", "MAX_PART_TAGS", "MAX_TAGS", "XML 标记"))


def _check_counts(path: Path, zf: zipfile.ZipFile, name: str, counts: Counter, totals: Counter,
                  overrides: dict) -> None:
    limits = {**globals(), **overrides}
    for key, in_part, in_file, what in _LIMITS:
        if in_part and counts[key] > limits[in_part]:
            raise _refuse(path, f"{_part_name(zf, name)}含有超过 {limits[in_part]:,} 个{what}，远超模板的规模，"
                                "已拒绝（未读取）", "文件可能已损坏或被改动；请用本工具的模板重新填写")
        if totals[key] > limits[in_file]:
            raise _refuse(path, f"工作簿含有超过 {limits[in_file]:,} 个{what}，远超模板的规模，已拒绝（未读取）",
                          "文件可能已损坏或被改动；请用本工具的模板重新填写")


def _part_name(zf: zipfile.ZipFile, name: str) -> str:
    """「工作表「X」」 for a worksheet part (when the workbook's own parts are of a sane size), else the part."""
    try:
        if all(zf.getinfo(n).file_size < 10 * 1024 * 1024 for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")):
            from .book import _sheet_parts

            sheet = next((s for s, part in _sheet_parts(zf).items() if part == name), None)
            if sheet is not None:
                return f"工作表「{sheet}」"
    except Exception:  # a name for a message only: the part's own name will do
        pass
    return f"工作簿内部文件「{name}」"


def open_untrusted(path: Path, *, data_only: bool = False):
    """An openpyxl workbook for a checked file; any parse failure becomes a Chinese refusal, not a traceback.

    data_only=True reads the values Excel last saved for formula cells (never evaluates anything).
    """
    import openpyxl
    from openpyxl.xml import DEFUSEDXML

    path = Path(path)
    if not DEFUSEDXML:  # OPENPYXL_DEFUSEDXML=False, or defusedxml missing: do not parse untrusted XML at all
        raise RuntimeError("defusedxml 未启用（需要安装 defusedxml，且不要设置 OPENPYXL_DEFUSEDXML=False），"
                           "出于安全考虑不打开外来工作簿")
    check_xlsx(path)
    try:
        wb = openpyxl.load_workbook(path, keep_vba=False, keep_links=False, data_only=data_only)
    except InputProblems:
        raise
    except MemoryError:
        raise _refuse(path, "工作簿内容过大，无法读取") from None
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        cause: BaseException | None = exc
        while cause is not None:  # openpyxl wraps the parser's exception in a ValueError
            if type(cause).__module__.startswith("defusedxml"):
                raise _refuse(path, f"工作簿含有不安全的 XML 内容（{type(cause).__name__}，如实体声明），已拒绝",
                              "正常的 Excel 工作簿不含这种内容") from None
            cause = cause.__cause__ or cause.__context__
        bad = _unreadable_numbers(path, data_only)
        if bad:
            raise InputProblems(_listed(bad)) from None
        raise _refuse(path, f"工作簿内容无法解析（{type(exc).__name__}）", "文件可能已损坏或不是本工具的模板") from None
    _check_cells(path, wb)
    return wb


_NOT_FINITE = ("数值不是有限数（NaN 或无穷大），工作簿中不能保存这样的数值",
               "请改为有限的数值（或在 Excel 中重新输入）后再试")


def _check_cells(path: Path, wb) -> None:
    """What openpyxl loaded, cell by cell: no sheet beyond the template's rows, no number that is not finite, no
    text longer than a cell holds (or that XML can not hold). Every bad cell is named."""
    bad: list[Problem] = []
    for ws in wb.worksheets:
        rows = 0
        for (r, _), c in ws._cells.items():
            rows = max(rows, r)
            v = c._value
            if isinstance(v, float) and not math.isfinite(v):
                bad.append(Problem(ERROR, "", f"{ws.title}!{c.coordinate}", "单元格", shown(v), *_NOT_FINITE))
            elif isinstance(v, str) and (found := text_problem(v)):
                bad.append(Problem(ERROR, "", f"{ws.title}!{c.coordinate}", "单元格", shown(v), *found))
        if rows > MAX_SHEET_ROWS:
            raise _refuse(path, f"工作表「{ws.title}」用到了第 {rows:,} 行，远超模板的范围（不超过 {MAX_SHEET_ROWS:,} 行），已拒绝",
                          "文件可能已损坏或被改动")
    if bad:
        raise InputProblems(_listed(bad))


def _listed(bad: list[Problem]) -> list[Problem]:
    """Every bad cell up to MAX_LISTED, then how many more."""
    if len(bad) <= MAX_LISTED:
        return bad
    more = len(bad) - MAX_LISTED
    return bad[:MAX_LISTED] + [Problem(ERROR, "", "工作簿", "单元格", f"{more:,} 个", f"另有 {more:,} 个单元格有同样的问题")]


_CELL = re.compile(rb"<(?:[\w.-]+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?c>)", re.S)
_ATTR = re.compile(rb"""\b(r|t)\s*=\s*["']([^"']*)["']""")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v>([^<]*)</(?:[\w.-]+:)?v>")
_FORMULA = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")  # without data_only openpyxl reads a formula, not its value


def _unreadable_numbers(path: Path, data_only: bool) -> list[Problem]:
    """The number cells openpyxl can not read (``<v>NaN</v>``, ``<v>-inf</v>``) or reads as not finite, each named;
    looked for only after openpyxl failed, to say where."""
    from .book import _sheet_parts

    bad = []
    try:
        with zipfile.ZipFile(path) as zf:
            for sheet, part in _sheet_parts(zf).items():
                with zf.open(part) as fh:
                    carry = b""
                    while True:
                        chunk = fh.read(CHUNK)
                        block = carry + chunk
                        cut = block.rfind(b"<c") if chunk else -1  # blocks end before a cell: cells come whole
                        if cut <= 0 or len(block) - cut > _MAX_CARRY:
                            cut = len(block)
                        block, carry = block[:cut], block[cut:]
                        for m in _CELL.finditer(block):
                            attrs = dict(_ATTR.findall(m.group(1)))
                            inner = m.group(2) or b""
                            value = _VALUE.search(inner)
                            if attrs.get(b"t", b"n") != b"n" or not value or (not data_only and _FORMULA.search(inner)):
                                continue
                            text = value.group(1).decode("utf-8", "replace").strip()
                            if not _finite_number(text):
                                where = f"{sheet}!{attrs.get(b'r', b'?').decode('ascii', 'replace')}"
                                bad.append(Problem(ERROR, "", where, "单元格", shown(text), *_NOT_FINITE))
                        if not chunk:
                            break
    except Exception:  # only to say where: the caller's message stands without it
        return []
    return bad


def _finite_number(text: str) -> bool:
    """What openpyxl makes of a number cell's text (float when it has '.', 'e' or 'E', else int) is finite."""
    try:
        return math.isfinite(float(text) if any(ch in text for ch in ".eE") else int(text))
    except (ValueError, OverflowError):
        return False
