"""Which units are assessed: the rubric's list, or a units file (`new --units`, `score --units`).

A units file is a CSV with the header ``unit,public_service`` (是/否 = assessed on the rule only some units
take, 1.3), UTF-8 (with or without BOM) or GB18030 like a data file. Every bad line is listed with its number.

A data file's unit names are checked against the list: a name not in it is an error, and a unit of the list
missing from the file is one too. A near miss names the unit meant (``开发区铁山区`` → 是否为「开发区·铁山区」？):
dots of every width, spaces and zero-width characters are ignored for the suggestion, but a name is never
taken for another one silently.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .inputs import ERROR, BadValue, Problem, ValueParser, normalize_unit_name
from .rubric import Rubric

MAX_NAME_LENGTH = 27  # 考评表-<unit> must fit Excel's 31 characters of a sheet name
MAX_FILE_BYTES = 1024 * 1024
_INVISIBLE = re.compile(r"[\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_DOTS = re.compile(r"[.·・•‧∙⋅･．。、]")
_ZERO_WIDTH = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\ufffe\uffff]")


@dataclass(frozen=True)
class UnitList:
    names: list[str]
    public_service: list[bool]

    def flags(self) -> dict[str, bool]:
        """normalised name -> assessed on 1.3 (what inputs.parse_units takes)."""
        return {normalize_unit_name(n): f for n, f in zip(self.names, self.public_service)}


def rubric_units(rubric: Rubric) -> UnitList:
    return UnitList([u.name for u in rubric.units], [u.public_service for u in rubric.units])


def _loose(name: str) -> str:
    """A name with what people vary without meaning to removed: width, spaces, invisible characters, dots."""
    text = unicodedata.normalize("NFKC", str(name))
    return _DOTS.sub("", _INVISIBLE.sub("", text)).casefold()


def suggestion(name: str, known: Sequence[str]) -> str | None:
    """The unit of ``known`` that ``name`` most likely means, or None."""
    loose = _loose(name)
    same = [k for k in known if _loose(k) == loose]
    if same:
        return same[0]
    close = difflib.get_close_matches(loose, [_loose(k) for k in known], n=1, cutoff=0.6)
    if close:
        return next(k for k in known if _loose(k) == close[0])
    return None


def check_unit_names(names: Sequence[str], known: Sequence[str], *, field: str = "unit",
                     require_all: bool = True, where: str = "数据文件",
                     list_name: str = "考核名单", how: str = "名单可用 --units 指定") -> list[Problem]:
    """Every name of a data file must be one of ``known`` exactly; with ``require_all`` every known unit
    must be there. Blank and repeated names are inputs.parse_units' to report, not repeated here."""
    problems = []
    exact = set(known)
    listed = "、".join(known)
    meant_units = set()
    for name in names:
        name = str(name or "").strip()
        if not name or name in exact:
            continue
        meant = suggestion(name, known)
        meant_units.add(meant)
        hint = f"是否为「{meant}」？" if meant else ""
        problems.append(Problem(ERROR, name, field, "单位名称", name, f"不是{list_name}中的单位，应为：{listed}",
                                hint + f"单位名称须与{list_name}完全一致（{how}）"))
    present = {str(n or "").strip() for n in names}
    if require_all:
        for unit in known:
            if unit not in present and unit not in meant_units:  # a near miss has named it already
                problems.append(Problem(ERROR, unit, field, "单位名称", "",
                                        f"{where}中没有该单位的一行：名单中的每个单位都要有数据",
                                        "缺少一个单位会改变其他单位的排名得分；如该单位不参加考核，请用 --units 给出名单"))
    return problems


def read_units_file(path: Path, rubric: Rubric | None = None) -> tuple[UnitList | None, list[Problem]]:
    """The units file at ``path``; None and every problem (with its line) when it is not right."""
    from .datafile import decode

    name = str(path)

    def fail(expected: str, value: str = "", line: int | None = None, unit: str = "", hint: str = "") -> Problem:
        where = f"{name} 第 {line} 行" if line else name
        return Problem(ERROR, unit, where, "单位名单", value, expected, hint)

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None, [fail("文件不存在，请检查路径")]
    except IsADirectoryError:
        return None, [fail("这是一个文件夹，应为单位名单 CSV 文件")]
    except OSError as exc:
        return None, [fail(f"无法读取文件（{exc.strerror or exc.errno}）")]
    if len(data) > MAX_FILE_BYTES:
        return None, [fail(f"文件过大，单位名单应不超过 {MAX_FILE_BYTES // 1024} KB", f"{len(data)} 字节")]
    try:
        text = decode(data)
    except UnicodeDecodeError:
        return None, [fail("文件编码无法识别，应为 UTF-8 或 GB18030（Excel 另存为 CSV）")]
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return None, [fail(f"CSV 格式有误：{exc}")]
    numbered = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    if rubric is None:
        from .rubric import load_rubric

        rubric = load_rubric()
    group = rubric.group
    header = ("unit", group.key) if group else ("unit",)
    expected_header = f"第一行应为 {','.join(header)}"
    if not numbered:
        return None, [fail(f"文件是空的，{expected_header}")]
    (first, found), body = numbered[0], numbered[1:]
    if tuple(h.strip() for h in found) != header:
        return None, [fail(f"表头不对，{expected_header}", ",".join(found), first)]
    problems: list[Problem] = []
    names, flags = [], []
    seen: dict[str, int] = {}
    parser = ValueParser("reject")
    for line, record in body:
        if len(record) != len(header):
            expected = f"应为两列：单位名称,是否{group.label}（是/否）" if group else "应为一列：单位名称"
            problems.append(fail(expected, f"{len(record)} 列", line))
            continue
        unit, raw_flag = record[0].strip(), (record[1] if group else "否")
        if not unit:
            problems.append(fail("单位名称不能为空", unit, line))
            continue
        if _CONTROL.search(unit) or _ZERO_WIDTH.search(unit):
            problems.append(fail("单位名称含有不可见或控制字符", unit.encode("unicode_escape").decode(), line, unit))
            continue
        if len(unit) > MAX_NAME_LENGTH:
            problems.append(fail(f"单位名称过长（{len(unit)} 个字符），应不超过 {MAX_NAME_LENGTH} 个字符"
                                 "（考评表工作表名称的限制）", unit, line, unit))
            continue
        key = _loose(unit)
        if key in seen:
            problems.append(fail(f"单位重复（与第 {seen[key]} 行相同或几乎相同），每个单位只能出现一次", unit, line, unit))
            continue
        seen[key] = line
        try:
            if ValueParser._blank(raw_flag):
                raise BadValue("不能为空，应为 是/否")
            flag = parser.flag(raw_flag)
        except BadValue as exc:
            problems.append(fail(f"{group.key}（是否{group.label}）{exc.expected}", raw_flag.strip(), line, unit))
            continue
        names.append(unit)
        flags.append(flag)
    if not names and not problems:
        problems.append(fail("名单中没有任何单位，第一行之后每行一个单位"))
    if problems:
        return None, problems
    return UnitList(names, flags), []
