"""Open a workbook that came from outside the office as data, never as code.

Units mail their workbooks back: they are untrusted input. Before openpyxl parses anything we check that the
file is a real xlsx zip of sane size (a zip bomb is refused before it fills memory); openpyxl then parses the
XML through defusedxml (entity-expansion bombs refused), and VBA is never kept or run.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

from ..inputs import ERROR, Problem
from ..scoring import InputProblems

MAX_FILE_BYTES = 50 * 1024 * 1024  # compressed
MAX_UNCOMPRESSED_BYTES = 400 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per member
MAX_MEMBERS = 20_000


def _refuse(path: Path, expected: str, hint: str = "") -> InputProblems:
    return InputProblems([Problem(ERROR, "", str(path), "工作簿文件", path.name, expected, hint)])


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
    if not zipfile.is_zipfile(path):
        raise _refuse(path, "不是 .xlsx 工作簿（文件损坏、被截断，或是 .xls/.csv 等其他格式）",
                      "请在 Excel 中“另存为 Excel 工作簿(*.xlsx)”后重试")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise _refuse(path, f"工作簿内部文件过多（{len(members)} 个）")
            total = 0
            for m in members:
                total += m.file_size
                if m.file_size > MAX_UNCOMPRESSED_BYTES or total > MAX_UNCOMPRESSED_BYTES:
                    raise _refuse(path, "工作簿解压后过大，疑似压缩炸弹，已拒绝")
                if m.compress_size and m.file_size / m.compress_size > MAX_RATIO and m.file_size > 10 * 1024 * 1024:
                    raise _refuse(path, "工作簿内部压缩比异常，疑似压缩炸弹，已拒绝")
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise _refuse(path, "不是 .xlsx 工作簿（缺少工作簿结构）")
            bad = zf.testzip()
            if bad is not None:
                raise _refuse(path, f"工作簿已损坏（{bad} 校验失败）")
    except zipfile.BadZipFile as exc:
        raise _refuse(path, f"工作簿已损坏：{exc}") from None
    except (OSError, EOFError, NotImplementedError) as exc:
        raise _refuse(path, f"无法读取工作簿：{exc}") from None


def open_untrusted(path: Path):
    """An openpyxl workbook for a checked file; any parse failure becomes a Chinese refusal, not a traceback."""
    import openpyxl

    check_xlsx(path)
    try:
        return openpyxl.load_workbook(path, keep_vba=False, keep_links=False)
    except InputProblems:
        raise
    except Exception as exc:  # openpyxl raises many kinds on malformed parts
        raise _refuse(Path(path), f"工作簿内容无法解析（{type(exc).__name__}）", "文件可能已损坏或不是本工具的模板") from None
