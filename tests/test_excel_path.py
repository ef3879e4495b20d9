"""The ribbon button's path: hscredit_xl.main() on xw.Book.caller(), through ExcelBook.

There is no Excel here, so a stand-in for the few xlwings objects ExcelBook uses (sheets, ranges, values,
formulas, protection) is backed by an openpyxl workbook. It records every call into "Excel", so the tests
can hold the Excel side to bulk reads and writes, and compare its result with the headless recompute.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import xlwings as xw
from openpyxl.worksheet.formula import ArrayFormula

import hscredit_xl
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.demo import SCORED_NAME

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "workbook" / SCORED_NAME


class Calls(list):
    def kinds(self, kind: str) -> list:
        return [c for c in self if c[0] == kind]


class FakeApi:
    def __init__(self, sheet: "FakeSheet"):
        self.sheet = sheet

    @property
    def ProtectContents(self) -> bool:  # noqa: N802 - Excel's name
        return self.sheet.protected

    def Unprotect(self):  # noqa: N802
        self.sheet.calls.append(("unprotect", self.sheet.name))
        self.sheet.protected = False

    def Protect(self, **kwargs):  # noqa: N802
        self.sheet.calls.append(("protect", self.sheet.name))
        self.sheet.protected = True


class FakeRange:
    def __init__(self, sheet: "FakeSheet", r1: int, c1: int, r2: int, c2: int):
        self.sheet, self.r1, self.c1, self.r2, self.c2 = sheet, r1, c1, r2, c2

    def options(self, **kwargs):
        return self

    def resize(self, rows: int, cols: int) -> "FakeRange":
        return FakeRange(self.sheet, self.r1, self.c1, self.r1 + rows - 1, self.c1 + cols - 1)

    def _cells(self):
        ws = self.sheet.ws
        return [[ws.cell(r, c) for c in range(self.c1, self.c2 + 1)] for r in range(self.r1, self.r2 + 1)]

    @property
    def value(self):
        self.sheet.calls.append(("read", self.sheet.name))
        out = []
        for row in self._cells():
            values = []
            for c in row:
                v = c.value
                # Excel shows computed values; in this stand-in formulas have none, as after a fresh open
                values.append(None if isinstance(v, ArrayFormula) or (isinstance(v, str) and v.startswith("=")
                                                                       and c.data_type == "f") else v)
            out.append(values)
        return out

    @value.setter
    def value(self, block):
        self.sheet.check_writable(self)
        self.sheet.calls.append(("write", self.sheet.name))
        for row, values in zip(self._cells(), block):
            for c, v in zip(row, values):
                if isinstance(v, str) and v.startswith("'"):
                    v = v[1:]  # Excel stores the text, the apostrophe only says "this is text"
                    c.value = v
                    c.data_type = "s"
                else:
                    assert not (isinstance(v, str) and v[:1] in "=+-@"), f"would become a formula: {v!r}"
                    c.value = v

    @property
    def formula(self):
        return self._cells()[0][0].value

    @formula.setter
    def formula(self, block):
        self.sheet.check_writable(self)
        self.sheet.calls.append(("formula", self.sheet.name))
        for row, values in zip(self._cells(), block):
            for c, v in zip(row, values):
                c.value = v

    @property
    def formula_array(self):
        return None

    @formula_array.setter
    def formula_array(self, text):
        self.sheet.check_writable(self)
        self.sheet.calls.append(("array", self.sheet.name))
        ref = f"{L.col_letter(self.c1)}{self.r1}:{L.col_letter(self.c2)}{self.r2}"
        self.sheet.ws.cell(self.r1, self.c1).value = ArrayFormula(ref, text)


class FakeSheet:
    def __init__(self, ws, calls: Calls):
        self.ws, self.calls, self.name = ws, calls, ws.title
        self.protected = bool(ws.protection.sheet)
        self.api = FakeApi(self)

    def check_writable(self, rng: FakeRange) -> None:
        if not self.protected:
            return
        for row in rng._cells():
            for c in row:
                assert c.protection.locked is False, f"Excel refuses to write {self.name}!{c.coordinate}: protected"

    @property
    def used_range(self):
        sheet = self

        class Used:
            class last_cell:  # noqa: N801
                row = sheet.ws.max_row
                column = sheet.ws.max_column

        return Used

    def range(self, a, b=None) -> FakeRange:
        if isinstance(a, str):
            from openpyxl.utils import range_boundaries

            c1, r1, c2, r2 = range_boundaries(a)
            return FakeRange(self, r1, c1, r2, c2)
        if b is None:
            return FakeRange(self, a[0], a[1], a[0], a[1])
        return FakeRange(self, a[0], a[1], b[0], b[1])

    def activate(self):
        self.calls.append(("activate", self.name))


class FakeBook:
    def __init__(self, wb):
        self.calls = Calls()
        self.wb = wb
        self._sheets = {ws.title: FakeSheet(ws, self.calls) for ws in wb.worksheets}

    @property
    def sheets(self):
        book = self

        class Sheets(list):
            def __getitem__(self, key):
                return book._sheets[key] if isinstance(key, str) else list.__getitem__(self, key)

        return Sheets(self._sheets.values())


@pytest.fixture
def caller(monkeypatch, tmp_path):
    """xw.Book.caller() returns a stand-in over a copy of the filled (not yet recomputed) sample."""
    from hscredit_xl.workbook.book import OpenpyxlBook
    from hscredit_xl.workbook.fill import fill_book
    from hscredit_xl.workbook.template import build_template
    from hscredit_xl.datafile import read_rows
    from hscredit_xl.rubric import load_rubric
    from hscredit_xl.workbook.demo import sample_path

    path = tmp_path / "filled.xlsx"
    book = OpenpyxlBook(path, build_template())
    rows, _ = read_rows(sample_path(), load_rubric())
    fill_book(book, rows)
    book.save(path)
    fake = FakeBook(openpyxl.load_workbook(path))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: fake))
    return fake


def test_main_recomputes_the_caller_like_the_command_line(caller, tmp_path):
    hscredit_xl.main()
    out = tmp_path / "excel.xlsx"
    caller.wb.save(out)
    cli = subprocess.run([sys.executable, "-m", "hscredit_xl", "report", str(out), "--json"],
                         capture_output=True, text=True, encoding="utf-8", cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    from_excel_path = json.loads(cli.stdout)
    expected = json.loads(subprocess.run([sys.executable, "-m", "hscredit_xl", "report", str(SAMPLE), "--json"],
                                         capture_output=True, text=True, encoding="utf-8", cwd=ROOT).stdout)
    assert [u["total"] for u in from_excel_path["units"]] == [u["total"] for u in expected["units"]]
    # what the Excel path wrote equals what the headless recompute wrote for the same data
    headless = openpyxl.load_workbook(SAMPLE)
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric())
    for i, unit in enumerate(lay.units):  # 复核明细: each unit's 复核得分 and 计分依据, what its 考评表 shows
        for key, col in lay.review_columns.items():
            row = lay.unit_row(i)
            assert caller.wb[L.REVIEW].cell(row, col).value == headless[L.REVIEW].cell(row, col).value, (unit, key)
        assert caller.wb[L.REVIEW].cell(lay.unit_row(i), lay.review_columns["total"]).value is not None
    for i in range(len(lay.units)):
        for key in ("1.1", "1.2.5", "bonus", "deduction", "self_total", "adjustment"):
            col = lay.summary_columns[key]
            row = lay.unit_row(i)
            assert caller.wb[L.SUMMARY].cell(row, col).value == headless[L.SUMMARY].cell(row, col).value
    assert ("activate", L.SUMMARY) in caller.calls


def test_the_excel_side_keeps_to_bulk_calls(caller):
    hscredit_xl.main()
    reads = caller.calls.kinds("read")
    read_sheets = [name for _, name in reads]
    assert len(read_sheets) == len(set(read_sheets)), f"one read per sheet, got {read_sheets}"
    writes = caller.calls.kinds("write") + caller.calls.kinds("formula") + caller.calls.kinds("array")
    # 汇总: rule block + 5 value columns + stamp; 复核明细: one block; 考评表: the stamp; 校验结果: status + block;
    # 报送情况: one block; 考核评价结果: the rows and the date — whatever the number of units
    assert len(caller.calls.kinds("write")) <= 7 + 2 + 2 + 3
    assert len(writes) < 100
    # every write into a protected sheet is wrapped in unprotect ... protect
    assert len(caller.calls.kinds("unprotect")) == len(caller.calls.kinds("protect"))


def test_problems_in_excel_write_only_the_check_sheet(caller):
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric())
    caller.wb[L.DATA].cell(lay.unit_row(0), lay.data_column("dec_late_rate").col).value = "很低"
    hscredit_xl.main()
    written = {name for kind, name in caller.calls if kind in ("write", "formula", "array")}
    assert written == {L.CHECK}
    check = caller.wb[L.CHECK]
    texts = [check.cell(r, 6).value for r in range(4, 10)]
    assert any(t and "0%～100%" in t for t in texts)
    assert check["A2"].value.startswith("发现 1 个错误")
    assert ("activate", L.CHECK) in caller.calls


def test_text_written_by_the_excel_side_cannot_become_a_formula(caller):
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric())
    row = lay.unit_row(3)
    caller.wb[L.DATA].cell(row, lay.data_column("adjustment").col).value = 1
    caller.wb[L.DATA].cell(row, lay.data_column("adjustment_reason").col).value = "+1 日常工作突出"
    hscredit_xl.main()
    cell = caller.wb[L.SUMMARY].cell(row, lay.summary_columns["adjustment_reason"])
    assert cell.value == "+1 日常工作突出" and cell.data_type == "s"


def test_validate_lists_problems_without_scoring(caller):
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric())
    caller.wb[L.DATA].cell(lay.unit_row(1), lay.data_column("objections").col).value = -3
    hscredit_xl.validate()
    written = {name for kind, name in caller.calls if kind in ("write", "formula", "array")}
    assert written == {L.CHECK}
    assert any("阳新县" == caller.wb[L.CHECK].cell(r, 2).value for r in range(4, 10))


# ------------------------------------------------------------------------------------------ at size (issue 13)
def _hs_calls(wb) -> int:
    """HS_ calls one full recalculation of 计分 makes: an array formula over every unit counts once per call
    written in it, a formula in one cell once per cell."""
    import re

    calls = 0
    for row in wb[L.SCORES].iter_rows():
        for c in row:
            text = c.value.text if isinstance(c.value, ArrayFormula) else c.value if c.data_type == "f" else ""
            calls += len(re.findall(r"\bHS_[A-Z_]+\(", re.sub(r'"[^"]*"', '""', text or "")))
    return calls


def _excel_run(tmp_path, monkeypatch, copies: int):
    """The ribbon's recompute on a master of 6 × copies units (the sample's rows under other names), through
    the recording stand-in: (calls, the workbook)."""
    from hscredit_xl.datafile import read_rows
    from hscredit_xl.rubric import load_rubric
    from hscredit_xl.workbook.book import OpenpyxlBook
    from hscredit_xl.workbook.demo import sample_path
    from hscredit_xl.workbook.fill import fill_book
    from hscredit_xl.workbook.template import build_template

    rubric = load_rubric()
    sample, _ = read_rows(sample_path(), rubric)
    flags = {u.name: u.public_service for u in rubric.units}
    rows = [dict(r, unit=f"单位{k:04d}-{r['unit']}") for k in range(copies) for r in sample]
    units = [r["unit"] for r in rows]
    wb = build_template(units=units, public_service=[flags[r["unit"].split("-", 1)[1]] for r in rows])
    fill_book(OpenpyxlBook(tmp_path / f"filled-{copies}.xlsx", wb), rows)
    fake = FakeBook(wb)
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: fake))
    hscredit_xl.main()
    assert ("activate", L.SUMMARY) in fake.calls, [c for c in fake.calls if c[0] == "activate"]
    return fake.calls, wb


def test_at_3000_units_the_ribbon_reads_and_writes_one_block_each_and_hs_calls_do_not_grow(tmp_path, monkeypatch):
    """Issue 13 item 4: at 3,000 units the ribbon's recompute makes exactly the calls into Excel it makes at 6
    (one read per sheet, one write per block), and a full recalculation of 计分 makes as many HS_ calls."""
    from collections import Counter

    small, small_wb = _excel_run(tmp_path, monkeypatch, 1)
    big, big_wb = _excel_run(tmp_path, monkeypatch, 500)
    reads = [name for kind, name in big if kind == "read"]
    assert len(reads) == len(set(reads)), f"one read per sheet, got {reads}"
    assert Counter(kind for kind, _ in big) == Counter(kind for kind, _ in small)
    assert Counter(big) == Counter(small)  # the same calls on the same sheets
    review = big_wb[L.REVIEW]
    lay = L.Layout.build(__import__("hscredit_xl.rubric", fromlist=["x"]).load_rubric(),
                         [big_wb[L.SETTINGS].cell(r, 1).value for r in range(L.FIRST_ROW, L.FIRST_ROW + 3000)],
                         [big_wb[L.SETTINGS].cell(r, 2).value == "是" for r in range(L.FIRST_ROW, L.FIRST_ROW + 3000)])
    assert review.cell(lay.last_row, lay.review_columns["total"]).value is not None  # the last unit was written
    assert _hs_calls(big_wb) == _hs_calls(small_wb) > 0
