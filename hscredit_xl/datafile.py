"""The data file of contract §1: CSV, one row per unit, first row = data keys.

Read as UTF-8 (with or without BOM) or GB18030 (what Excel on a Chinese Windows saves as "CSV").
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from .inputs import ERROR, Problem, allowed_keys, shown, unknown_keys
from .rubric import Rubric

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_LISTED = 20  # header problems of one kind listed one by one; more are counted


def decode(data: bytes) -> str:
    """UTF-8 first (BOM or not); GB18030 otherwise. Raises UnicodeDecodeError when neither fits."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_rows(path: Path, rubric: Rubric) -> tuple[list[dict[str, str]], list[Problem]]:
    """Rows keyed by data key, and the problems of the file's shape (encoding, header, row lengths)."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return [], [Problem(ERROR, "", name, "数据文件", "", "文件不存在，请检查路径")]
    except IsADirectoryError:
        return [], [Problem(ERROR, "", name, "数据文件", "", "这是一个文件夹，应为 CSV 数据文件")]
    except PermissionError:
        return [], [Problem(ERROR, "", name, "数据文件", "", "没有读取该文件的权限")]
    except OSError as exc:
        return [], [Problem(ERROR, "", name, "数据文件", "", f"无法读取文件（错误号 {exc.errno}）")]
    if len(data) > MAX_FILE_BYTES:
        return [], [Problem(ERROR, "", name, "数据文件", f"{len(data)} 字节",
                            f"文件过大，应不超过 {MAX_FILE_BYTES // 1024 // 1024} MB")]
    try:
        text = decode(data)
    except UnicodeDecodeError:
        return [], [Problem(ERROR, "", name, "数据文件", "", "文件编码无法识别，应为 UTF-8 或 GB18030（Excel 另存为 CSV）")]
    if "\x00" in text:
        return [], [Problem(ERROR, "", name, "数据文件", "", "文件含有二进制内容，不是 CSV 文本文件")]
    return parse_csv(text, rubric, name)


def parse_csv(text: str, rubric: Rubric, name: str = "数据文件") -> tuple[list[dict[str, str]], list[Problem]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    try:
        records = [r for r in reader]
    except csv.Error as exc:
        return [], [Problem(ERROR, "", name, "数据文件", "", f"CSV 格式有误：{exc}")]
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        return [], [Problem(ERROR, "", name, "数据文件", "", "文件是空的，第一行应为数据键（unit, volume_m01, …）")]
    header = [h.strip() for h in records[0]]
    # every check of the header is linear in its length: a hostile header has 100,000 columns
    unknown = list(dict.fromkeys(unknown_keys(rubric, header)))
    for key in unknown[:MAX_LISTED]:
        problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", shown(key),
                                "是未知的列名（拼写错误的列不会被静默忽略）",
                                "允许的列名：" + "、".join(allowed_keys(rubric)[:8]) + " …（见说明文档）"))
    if len(unknown) > MAX_LISTED:
        problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", f"{len(unknown):,} 个",
                                f"未知的列名共 {len(unknown):,} 个（以上只列出前 {MAX_LISTED} 个）",
                                "第一行应为数据键（unit, volume_m01, …），见说明文档"))
    counts = Counter(header)
    duplicates = sorted(h for h, n in counts.items() if n > 1)
    for key in duplicates[:MAX_LISTED]:
        problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", shown(key), "列名重复，每列只能出现一次"))
    if len(duplicates) > MAX_LISTED:
        problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", f"{len(duplicates):,} 个",
                                f"重复的列名共 {len(duplicates):,} 个（以上只列出前 {MAX_LISTED} 个）"))
    for f in rubric.fields:
        if f.key not in counts:
            problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", f.key, f"缺少必需的列（{f.label}）"))
    unit_col = header.index("unit") if "unit" in counts else None
    rows = []
    for line_no, record in enumerate(records[1:], start=2):
        if len(record) != len(header):
            unit = record[unit_col].strip() if unit_col is not None and unit_col < len(record) else ""
            problems.append(Problem(ERROR, shown(unit), f"{name} 第 {line_no} 行", "数据行", f"{len(record)} 列",
                                    f"列数应与表头相同（{len(header)} 列）"))
            continue
        rows.append(dict(zip(header, record)))
    return rows, problems


def write_csv(path: Path, rows: list[dict[str, object]], keys: list[str]) -> None:
    """A data file others can read back: UTF-8 with BOM (Excel opens it with the right encoding)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in keys})
    Path(path).write_bytes(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))
