"""Which rubric a workbook was made with, and finding that rubric again.

A workbook records its rubric on 说明 (a 填报版: 填报说明), in small grey print outside the printed area:
H2 the document number and rubric version ("number|version"), H8 the SHA-256 of the rubric file's bytes and
H9 its path — absolute, or for a rubric shipped with the tool its place in the package
("hscredit_xl/rubrics/huangshi-2020.yaml", the same on every machine). A 填报版 records its master's rubric.

Every command that reads a workbook scores it by that rubric (`rubric_for`), found in this order:
1. the file given with `--rubric FILE`: its SHA-256 must be the recorded one;
2. a rubric shipped with the tool whose SHA-256 is the recorded one;
3. the recorded path, when the file is there and its SHA-256 is the recorded one.
Otherwise the workbook is refused, saying what was recorded, what was found and how to go on (`--rubric 路径`).
A workbook made before the rubric was recorded (no SHA-256 in H8) is read with the shipped rubric whose
number|version is its H2 (or the one given with `--rubric`); the identity check of recompute.read_structure
then compares H2 with the rubric used.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from openpyxl.utils.cell import coordinate_to_tuple

from ..inputs import ERROR, Problem
from ..rubric import (RUBRIC_PACKAGE, Rubric, RubricError, file_sha256, is_shipped, load_rubric, read_rubric,
                      shipped_digests, shipped_rubrics)
from ..scoring import InputProblems
from . import layout as L
from .book import Book

SHIPPED_PREFIX = RUBRIC_PACKAGE.replace(".", "/") + "/"  # hscredit_xl/rubrics/
MAX_RUBRIC_BYTES = 5_000_000  # a rubric file is tens of kilobytes; a recorded path to anything larger is not one
_FIX = "用 --rubric 路径 指定生成本工作簿的那份细则文件（如 hscredit-xl recompute 工作簿.xlsx --rubric 细则.yaml）"


def recorded_path(rubric: Rubric) -> str:
    """What a workbook records as the rubric's path: the file's absolute path, or for a shipped rubric its place
    in the package; empty for a rubric not read from a file."""
    if rubric.sha256 is None:
        return ""
    if is_shipped(rubric):
        return SHIPPED_PREFIX + Path(rubric.path).name
    return rubric.path


def record_cells(rubric: Rubric) -> dict[str, str | None]:
    """The cells (coordinate -> text) that record the rubric in a workbook it makes (empty: not from a file)."""
    values = {"sha256": rubric.sha256, "path": recorded_path(rubric) or None}
    return {coord: values[key] for key, coord in L.RUBRIC_ID_CELLS.items()}


def _identity(rubric: Rubric) -> str:
    return f"{rubric.document['number']}|{rubric.version}"


def _named(identity: str) -> str:
    """'number|version' as people read it."""
    number, _, version = identity.partition("|")
    return f"{number} 版本 {version}" if version else number


@dataclass(frozen=True)
class Record:
    """The rubric a workbook says it was made with."""

    sheet: str  # 说明, or 填报说明 in a 填报版
    identity: str  # H2: "number|version" as found
    sha256: str | None
    path: str | None

    def at(self, key: str) -> str:
        cells = {"identity": L.GUIDE_ID_CELLS["rubric"], **L.RUBRIC_ID_CELLS}
        return f"{self.sheet}!{cells[key]}"

    def said(self) -> str:
        """What was recorded, in one phrase: the document, the SHA-256 and the path, with their cells."""
        text = f"工作簿记录的细则为 {_named(self.identity)}（{self.at('identity')}）"
        if self.sha256:
            text += f"、SHA-256 {self.sha256}（{self.at('sha256')}）"
        if self.path:
            text += f"、文件「{self.path}」（{self.at('path')}）"
        return text


def read_record(book: Book) -> Record | None:
    """The rubric recorded in a workbook of ours; None for a workbook that is not (its identity check says so)."""
    names = set(book.sheet_names)
    sheet = L.GUIDE if L.GUIDE in names else L.HANDOUT_GUIDE if L.HANDOUT_GUIDE in names else None
    if sheet is None:
        return None
    grid = book.read(sheet)

    def text(coord: str) -> str | None:
        v = grid.get(*coordinate_to_tuple(coord))
        return v.strip() if isinstance(v, str) and v.strip() else None

    if text(L.GUIDE_ID_CELLS["template"]) not in (L.TEMPLATE_ID, L.HANDOUT_ID):
        return None
    return Record(sheet, text(L.GUIDE_ID_CELLS["rubric"]) or "", text(L.RUBRIC_ID_CELLS["sha256"]),
                  text(L.RUBRIC_ID_CELLS["path"]))


def record_moved(book: Book, rubric: Rubric) -> bool:
    """When the rubric the book records (same SHA-256) was found at another path, record that path (H9): the
    next command, and the ribbon, find it without `--rubric`. True when the cell was rewritten."""
    record = read_record(book)
    new = recorded_path(rubric)
    if record is None or not record.sha256 or record.sha256 != rubric.sha256 or not new or new == record.path:
        return False
    row, col = coordinate_to_tuple(L.RUBRIC_ID_CELLS["path"])
    book.write(record.sheet, row, col, [[new]])
    return True


def load_given(path: str | os.PathLike) -> Rubric:
    """The rubric of `--rubric FILE`; InputProblems when the file is missing or not a rubric."""
    try:
        return read_rubric(Path(path))
    except FileNotFoundError:
        expected = "文件不存在"
    except IsADirectoryError:
        expected = "是文件夹，应为细则文件（.yaml）"
    except (RubricError, OSError) as exc:
        expected = f"不是有效的细则文件：{exc}"
    raise InputProblems([Problem(ERROR, "", "--rubric", "细则文件", str(path), expected,
                                 "--rubric 应为细则文件（.yaml）的路径，通知原文按其 document.source 放在同一文件夹")])


def resolve(book: Book, given: Rubric | None = None) -> tuple[Rubric, list[Problem]]:
    """The rubric to read `book` by, and the problems that stop it (then the rubric returned is a stand-in:
    `given`, or the shipped default). See the module's docstring for the order."""
    record = read_record(book)

    def stand_in() -> Rubric:  # parsed only when it is returned: a rubric found elsewhere needs no default
        return given or load_rubric()

    if record is None:  # not a workbook of ours: read_structure says what is missing
        return stand_in(), []
    if given is not None:
        if record.sha256 and given.sha256 and given.sha256 != record.sha256:
            return stand_in(), [Problem(
                ERROR, "", record.at("sha256"), "细则文件 SHA-256", record.sha256,
                f"{record.said()}；--rubric 给出的细则文件「{given.path}」（{_named(_identity(given))}）"
                f"的 SHA-256 为 {given.sha256}，与记录的不同：不是生成本工作簿的那份细则，用它计分结果会不同",
                "请" + _FIX + "；该文件若已被修改，请找回修改前的版本")]
        return given, []
    if not record.sha256:  # made before the rubric was recorded: a shipped rubric of the same number|version
        for name in shipped_rubrics():
            if _identity(load_rubric(name)) == record.identity:
                return load_rubric(name), []
        return stand_in(), []  # the identity check names H2 and what it should be
    shipped = shipped_digests().get(record.sha256)
    if shipped is not None:
        return load_rubric(shipped), []
    found = _at_recorded_path(record)
    if isinstance(found, Rubric):
        return found, []
    return stand_in(), [Problem(ERROR, "", record.at("sha256"), "细则文件 SHA-256", record.sha256,
                              f"{record.said()}；找不到这份细则：随工具提供的细则中没有 SHA-256 相同的，{found}",
                              "请" + _FIX)]


def _at_recorded_path(record: Record) -> Rubric | str:
    """The rubric at the recorded path when it is the recorded one; else what was found there, said.

    The path comes from a workbook, which may have come from outside: it is followed only to a local regular
    file named .yaml/.yml of sane size (never a network path: opening one can hand the account's credentials to
    the server), and the file is parsed only when its bytes have the recorded SHA-256."""
    path = record.path or ""
    if not path:
        return f"{record.at('path')} 没有记录细则文件的路径"
    if path.startswith(SHIPPED_PREFIX):
        return (f"记录的是随工具提供的细则「{path}」，但本版本工具所带的细则文件与之不同（工具升级后细则文件有改动）"
                f"：当前为 {'、'.join(shipped_rubrics())}")
    if path.startswith(("\\\\", "//")):
        return f"记录的路径「{path}」是网络路径，出于安全考虑不读取"
    file = Path(path)
    if not file.is_absolute():
        return f"记录的路径「{path}」不是完整路径"
    if file.suffix.lower() not in (".yaml", ".yml"):
        return f"记录的路径「{path}」不是细则文件（.yaml）"
    try:
        info = file.stat()
    except FileNotFoundError:
        return f"记录的细则文件「{path}」不存在（已被移动、改名或删除）"
    except OSError as exc:
        return f"记录的细则文件「{path}」无法读取：{exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RUBRIC_BYTES:
        return f"记录的路径「{path}」不是细则文件（不是普通文件，或大于 {MAX_RUBRIC_BYTES // 1_000_000} MB）"
    try:
        data = file.read_bytes()
    except OSError as exc:
        return f"记录的细则文件「{path}」无法读取：{exc.strerror or exc}"
    digest = file_sha256(data)
    if digest != record.sha256:
        return (f"记录的细则文件「{path}」在，但它的 SHA-256 现在为 {digest}，与记录的不同："
                "文件在生成工作簿之后被修改过")
    try:
        return read_rubric(file, data)  # the bytes whose SHA-256 was just checked, not the file read again
    except (RubricError, OSError) as exc:
        return f"记录的细则文件「{path}」无法读取：{exc}"


def rubric_for(book_or_path: Book | str | os.PathLike, given: Rubric | str | os.PathLike | None = None) -> Rubric:
    """The rubric a workbook was made with (see the module's docstring); `given`: the rubric of `--rubric`, or
    its path. Raises InputProblems, saying what was recorded and found, when it can not be found or differs."""
    if given is not None and not isinstance(given, Rubric):
        given = load_given(given)
    if isinstance(book_or_path, Book):
        book = book_or_path
    else:
        from .book import OpenpyxlBook
        from .safety import open_untrusted

        book = OpenpyxlBook(Path(book_or_path), open_untrusted(Path(book_or_path)))
    rubric, problems = resolve(book, given)
    if problems:
        raise InputProblems(problems)
    return rubric


def same_rubric(book: Book, rubric: Rubric, what: str) -> list[Problem]:
    """A unit's file must record the master's rubric (merge): the same SHA-256, or none and the same H2 (the
    identity check compares H2). `what` names the file for the message."""
    record = read_record(book)
    if record is None or not record.sha256 or rubric.sha256 is None or record.sha256 == rubric.sha256:
        return []
    return [Problem(ERROR, "", record.at("sha256"), "细则文件 SHA-256", record.sha256,
                    f"{record.said()}；主工作簿的细则（{_named(_identity(rubric))}）的 SHA-256 为 {rubric.sha256}，"
                    f"与之不同：{what}不是按主工作簿的细则生成的，不能合并",
                    "请让该单位用市信用办按主工作簿发出的填报版（hscredit-xl handout）重新填报")]
