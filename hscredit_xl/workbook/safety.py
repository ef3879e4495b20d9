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
  before any XML parser sees it).

openpyxl then parses the XML through defusedxml (checked: it refuses to run without it), VBA is never kept or
run (keep_vba=False), external links are dropped (keep_links=False), and formulas are never evaluated:
openpyxl has no evaluator; with data_only=True it reads the values Excel last saved.
"""
from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

from ..inputs import ERROR, Problem
from ..scoring import InputProblems

MAX_FILE_BYTES = 50 * 1024 * 1024  # compressed
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per member (a member above RATIO_FLOOR bytes)
RATIO_FLOOR = 10 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_SHEET_ROWS = 100_000  # a template has a few hundred rows; the readers scan every row a sheet uses
CHUNK = 1024 * 1024

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_XML_PARTS = (".xml", ".rels", ".vml")
# '<!DOCTYPE' / '<!ENTITY' in UTF-8 (any case), and in UTF-16 either byte order
_DECLARATION = re.compile(rb"<!(?i:doctype|entity)|<\x00!\x00[dDeE]\x00|\x00<\x00!\x00[dDeE]")
_OVERLAP = 32
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


def check_xlsx(path: Path) -> None:
    """Raise InputProblems (with a Chinese message) unless the file is a plausible, sane xlsx package."""
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
            _check_directory(path, members)
            for m in members:
                _scan_member(path, zf, m)
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


def _check_directory(path: Path, members: list[zipfile.ZipInfo]) -> None:
    """Everything the zip directory says, checked before one byte is decompressed."""
    if len(members) > MAX_MEMBERS:
        raise _refuse(path, f"工作簿内部文件过多（{len(members):,} 个），疑似压缩炸弹，已拒绝")
    total = 0
    for m in members:
        total += m.file_size
        if m.file_size > MAX_UNCOMPRESSED_BYTES or total > MAX_UNCOMPRESSED_BYTES:
            raise _refuse(path, f"工作簿解压后过大（超过 {MAX_UNCOMPRESSED_BYTES // 1024 // 1024} MB），"
                                "疑似压缩炸弹，已拒绝")
        if m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * max(1, m.compress_size):
            raise _refuse(path, f"工作簿内部文件「{m.filename}」压缩比异常"
                                f"（{m.compress_size:,} 字节解压为 {m.file_size:,} 字节），疑似压缩炸弹，已拒绝")
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refuse(path, "不是 .xlsx 工作簿（压缩包里缺少工作簿结构）", _HINT_SAVE_AS)


def _scan_member(path: Path, zf: zipfile.ZipFile, m: zipfile.ZipInfo) -> None:
    """Decompress one member in bounded chunks: CRC checked at its end; XML parts must declare no DOCTYPE."""
    is_xml = m.filename.lower().endswith(_XML_PARTS)
    tail = b""
    with zf.open(m) as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            if is_xml:
                window = tail + chunk
                if _DECLARATION.search(window):
                    raise _refuse(path, f"工作簿内部文件「{m.filename}」含有 XML 文档类型/实体声明"
                                        "（可能是 XML 实体炸弹），已拒绝", "正常的 Excel 工作簿不含这种内容")
                tail = window[-_OVERLAP:]


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
        raise _refuse(path, f"工作簿内容无法解析（{type(exc).__name__}）", "文件可能已损坏或不是本工具的模板") from None
    for ws in wb.worksheets:
        rows = max((r for r, _ in ws._cells), default=0)
        if rows > MAX_SHEET_ROWS:
            raise _refuse(path, f"工作表「{ws.title}」用到了第 {rows:,} 行，远超模板的范围（不超过 {MAX_SHEET_ROWS:,} 行），已拒绝",
                          "文件可能已损坏或被改动")
    return wb
