"""The data file of contract §1: CSV, one row per unit, first row = data keys or their Chinese names.

Read as UTF-8 (with or without BOM) or GB18030 (what Excel on a Chinese Windows saves as "CSV"). A header
may be the data key (`dec_pass_rate`) or the Chinese name the template shows in 数据录入
(`12月双公示数据上报合格率`, with or without the bracketed unit and range after it), mixed as one likes.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

from .inputs import ERROR, OPTIONAL_KEYS, SELF_PREFIX, Problem, allowed_keys, shown, unknown_keys
from .rubric import Field, Rubric

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_LISTED = 20  # header problems of one kind listed one by one; more are counted
# the Chinese names of the columns that are not rubric fields (the template's 数据录入 and 考评表 say the same)
OPTIONAL_LABELS = {"adjustment": "综合评定调整分", "adjustment_reason": "调整理由"}
OPTIONAL_NOTES = {"adjustment": "分，可不填", "adjustment_reason": "有调整分时必填"}
SELF_TOTAL_LABEL = "自评总分"
UNIT_ALIASES = ("单位",)  # 数据录入's own header of the unit column
_CLOSING = {")": "(", "]": "["}


def column_names(rubric: Rubric) -> list[tuple[str, str]]:
    """Every column a data file may have: (data key, Chinese name), in the template's order."""
    labels = {f.key: f.label for f in rubric.fields}
    labels.update(OPTIONAL_LABELS)
    labels.update({SELF_PREFIX + r.id: f"自评得分 {r.id}" for r in rubric.rules})
    labels[SELF_PREFIX + "total"] = SELF_TOTAL_LABEL
    return [(key, labels[key]) for key in allowed_keys(rubric)]


def _squash(text: str) -> str:
    """The same header however typed: full-width forms, spaces, letter case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def header_keys(header: list[str], rubric: Rubric) -> list[str]:
    """The data key of every header cell: a key, or a Chinese name (the unit/range note after it may stay).

    A header that is neither stays as written, for the unknown-column check to report.
    """
    lookup = {_squash(alias): "unit" for alias in UNIT_ALIASES}
    for key, label in column_names(rubric):
        lookup[_squash(label)] = key
        lookup[_squash(key)] = key
    keys = []
    longest = max(len(_squash(name)) for name in lookup) + 100  # room for the note after a name
    for cell in header:
        name = _squash(cell)
        if len(name) > longest:  # no name: and peeling notes off a long hostile cell would take quadratic time
            keys.append(cell)
            continue
        while name not in lookup and name != _without_note(name):
            name = _without_note(name)
        keys.append(lookup.get(name, cell))
    return keys


def _without_note(name: str) -> str:
    """The name without the bracketed note at its end: '1月入库总量(条,≥0整数)' -> '1月入库总量'."""
    if not name or name[-1] not in _CLOSING:
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        if name[i] in _CLOSING:
            depth += 1
        elif name[i] in _CLOSING.values():
            depth -= 1
            if depth == 0:
                return name[:i]
    return name


def accepted_names(rubric: Rubric) -> str:
    """The accepted headers in both forms, for the message of an unknown one."""
    self_keys = {SELF_PREFIX + r.id for r in rubric.rules}
    shown = [f"{key}（{label}）" for key, label in column_names(rubric) if key not in self_keys]
    example = rubric.rules[0].id
    shown.insert(-1, f"{SELF_PREFIX}<规则编号>（自评得分 <规则编号>，如 {SELF_PREFIX}{example} 或 自评得分 {example}）")
    return "可用的列名（数据键或中文列名均可，可混用）：" + "、".join(shown)


def _suggestion(cell: str, rubric: Rubric) -> str:
    names = [n for pair in column_names(rubric) for n in pair]
    close = difflib.get_close_matches(cell.strip(), names, n=1, cutoff=0.6)
    return f"是否为「{close[0]}」？" if close else ""


def field_expectation(f: Field) -> str:
    """What a column holds, in words: the README table and the headers of a new data file."""
    unit = f"（{f.unit}）" if f.unit else ""
    return {
        "text": "文字",
        "count": f"不小于 0 的整数{unit}",
        "number": f"数值{unit}",
        "rate": "比率 0～100%（可写 0.85、85%）",
        "rates": "各被抽查部门的比率，用 ; 分隔（如 0.8%;1.2%）",
        "flag": "是/否（也可写 有/无、Y/N、1/0）",
        "score": f"{_plain(f.min)}～{_plain(f.max)} 的分数",
    }[f.type]


def _plain(x) -> str:
    return "" if x is None else f"{x.normalize():f}"


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
        return [], [Problem(ERROR, "", name, "数据文件", "", "文件是空的，第一行应为数据键（unit 及各数据键，见 hscredit-xl new --data-file 生成的空白数据文件）")]
    header = header_keys([h.strip() for h in records[0]], rubric)  # a data key or its Chinese name
    # every check of the header is linear in its length: a hostile header has 100,000 columns
    unknown = list(dict.fromkeys(unknown_keys(rubric, header)))
    for n, key in enumerate(unknown[:MAX_LISTED]):
        hint = _suggestion(key, rubric)
        hint += accepted_names(rubric) if n == 0 else "可用的列名见上一条"
        problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", shown(key),
                                "是未知的列名（拼写错误的列不会被静默忽略）", hint))
    if len(unknown) > MAX_LISTED:
        problems.append(Problem(ERROR, "", f"{name} 第 1 行", "表头", f"{len(unknown):,} 个",
                                f"未知的列名共 {len(unknown):,} 个（以上只列出前 {MAX_LISTED} 个）",
                                "第一行应为数据键或中文列名，见上面第一条"))
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


def write_csv(path: Path, rows: list[dict[str, object]], keys: list[str], headers: list[str] | None = None) -> None:
    """A data file others can read back: UTF-8 with BOM (Excel opens it with the right encoding), written whole
    or not at all. headers: what the first row says for each key (default: the keys)."""
    from .workbook.atomic import atomic_output

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers or keys)
    for row in rows:
        writer.writerow([row.get(k, "") for k in keys])
    with atomic_output(path) as out:
        out.write(b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8"))


def header_text(f: Field) -> str:
    """A new data file's Chinese header: the name, then what to type (read back as the key)."""
    spec = {"text": "", "count": "≥0 整数", "number": "数值", "rate": "0～100%", "rates": "各部门比率，用;分隔",
            "flag": "是/否", "score": f"{_plain(f.min)}～{_plain(f.max)}"}[f.type]
    spec = "，".join(x for x in (f.unit, spec) if x)
    text = f"{f.label}（{spec}）" if spec else f.label
    if f.applies:
        text += f"［仅参加 {f.rule} 考核的单位填写］"
    return text


def write_blank(path: Path, rubric: Rubric, units: list[str] | None = None) -> Path:
    """An empty data file to fill in: Chinese headers, one row per unit with only its name."""
    keys = [f.key for f in rubric.fields] + list(OPTIONAL_KEYS)
    labels = dict(column_names(rubric))
    headers = [header_text(f) for f in rubric.fields] + [f"{labels[k]}（{OPTIONAL_NOTES[k]}）" for k in OPTIONAL_KEYS]
    names = units if units is not None else [u.name for u in rubric.units]
    write_csv(path, [{"unit": name} for name in names], keys, headers)
    return Path(path)


README_BEGIN = "<!-- data-keys: generated from the rubric by `python scripts/data_keys.py`; tests/test_data_keys.py checks it -->"
README_END = "<!-- /data-keys -->"
OPTIONAL_RANGES = {"adjustment": "数值，−100～100，可不填", "adjustment_reason": "文字，有调整分时必填"}


def key_table(rubric: Rubric) -> str:
    """The README's table of every data-file column: key, Chinese name, rule, type and range."""
    rows = ["| 数据键 | 中文列名（表头也可写这个） | 规则 | 类型与范围 |", "|---|---|---|---|"]
    for f in rubric.fields:
        spec = "文字，每个单位一行，不可重复" if f.key == "unit" else field_expectation(f)
        if f.applies:
            spec += f"；仅参加 {f.rule} 考核的单位填写，其他单位留空"
        rows.append(f"| `{f.key}` | {f.label} | {f.rule or '—'} | {spec} |")
    labels = dict(column_names(rubric))
    for key in OPTIONAL_KEYS:
        rows.append(f"| `{key}` | {labels[key]} | 综合评定 | {OPTIONAL_RANGES[key]} |")
    first = rubric.rules[0]
    rows.append(f"| `{SELF_PREFIX}<规则编号>`（如 `{SELF_PREFIX}{first.id}`） | 自评得分 <规则编号>（如 自评得分 {first.id}） "
                f"| 各规则 | 0～该规则分值，可不填 |")
    rows.append(f"| `{SELF_PREFIX}total` | {labels[SELF_PREFIX + 'total']} | — | "
                f"0～{_plain(Decimal(rubric.totals['full']))}，可不填 |")
    return "\n".join(rows)


def readme_with_key_table(readme: str, rubric: Rubric) -> str:
    """README's text with the generated table between its markers (which must be there)."""
    start, end = readme.index(README_BEGIN) + len(README_BEGIN), readme.index(README_END)
    return readme[:start] + "\n" + key_table(rubric) + "\n" + readme[end:]
