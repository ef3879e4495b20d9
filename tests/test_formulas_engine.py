"""An independent engine computes the template's formulas and must equal the engine's scores (issue 3, item 6).

The `formulas` library (vinci1it2000/formulas) parses and calculates the scored sample workbook — the template
filled with the six units' sample data and recomputed by `demo.build_scored_sample` — with no Excel. The HS_
worksheet functions are registered in `formulas.get_functions()` under their own names. What is registered is a
thin adapter per function that calls the very same function object as `hscredit_xl.udfs.HS_*` (asserted by
identity below) and adapts only what Excel/xlwings would hand over and take back:

* a range (`formulas` passes a `Ranges` or a 2-D numpy `Array`) becomes a list of row lists, a single cell a
  scalar; an empty cell (`formulas`' `EMPTY` sentinel) becomes None; numbers arrive as Python floats (numpy
  scalars and ints converted), text and TRUE/FALSE as they are;
* a result list (one row per unit) becomes a 2-D `Array` for the array formula to spill, a scalar a 1×1 `Array`;
* an error value (#N/A, #DIV/0!, …) in any argument is returned as the result without calling the function (as
  Excel propagates errors); an exception raised by the function becomes #VALUE! and is logged, and the tests
  assert that the log is empty, so a KindError can never hide behind an error cell.

Then every formula of 计分 (one array formula per rule column, the applicable maximum, the live total with
HS_PRORATE/HS_TOTAL), of 数据录入's derived columns (SUM, IF, COUNTIF, _xlfn.MAXIFS) and of 汇总 (SUM, ROUND,
MIN, MAX, _xlfn.RANK.EQ, N, ISNUMBER) is computed by `formulas` and compared with `Result` from the engine, as
Decimals rounded half up to 2 places. A second workbook, with one unit's data changed and recomputed by the
engine, proves the comparison can fail: the formula results move exactly where the engine's do.

The whole workbook is computed (13 sheets; about 1 s to load and calculate), so no sheet is trimmed.
"""
from __future__ import annotations

import re
import shutil
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import formulas
import numpy as np
import pytest
import schedula as sh
from formulas.functions import Array
from formulas.ranges import Ranges
from formulas.tokens.operand import Error, XlError
from openpyxl.utils.cell import range_boundaries

from hscredit_xl import udfs
from hscredit_xl.engine import Result, UnitResult
from hscredit_xl.kinds import round_half_up
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import build_scored_sample
from hscredit_xl.workbook.layout import Layout
from hscredit_xl.workbook.recompute import read_structure, recompute

HS_NAMES = tuple(f.__name__ for f in udfs.WORKSHEET_FUNCTIONS)
VALUE_ERROR = Error.errors["#VALUE!"]

# The change that must move the results: 西塞山区 (4th unit) becomes first in 1.1 (annual volume) and gets a
# worse 1.2.5 (its highest concealment rate, read by _xlfn.MAXIFS from 瞒报率明细).
CHANGED_UNIT = "西塞山区"
CHANGED_VOLUME_M01 = 211708  # was 11708: annual total 351710, above 大冶市's 267300
CHANGED_CONCEALMENT = 0.3  # one of its 瞒报率明细 rows (all below 5% in the sample)


# ------------------------------------------------------------------------------------------------ the adapter
class AdapterLog:
    """What the adapters saw: calls per function, and every exception a function raised."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.failures: list[tuple[str, tuple, str]] = []


def _cell(x):
    """One cell as xlwings hands it to a worksheet function: None for empty, floats for numbers."""
    if x is sh.EMPTY:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, int) and not isinstance(x, bool):
        return float(x)
    return x


def _argument(x):
    """A `formulas` argument (Ranges, numpy Array or scalar) as a scalar or a list of row lists."""
    if isinstance(x, Ranges):
        x = x.value
    if isinstance(x, np.ndarray):
        if x.size == 1:
            return _cell(x.ravel()[0])
        return [[_cell(v) for v in row] for row in np.atleast_2d(x)]
    return _cell(x)


def _first_error(args) -> XlError | None:
    for a in args:
        values = a.value if isinstance(a, Ranges) else a
        for v in (np.ravel(values) if isinstance(values, np.ndarray) else (values,)):
            if isinstance(v, XlError):
                return v
    return None


def _result(out) -> Array:
    """A worksheet function's result as `formulas` carries values: a 2-D object Array."""
    block = out if isinstance(out, list) else [[out]]
    return np.asarray(block, object).view(Array)


def adapt(func, log: AdapterLog):
    """`func` (an hscredit_xl.udfs function, called as is) made callable by `formulas`."""
    name = func.__name__

    def call(*args):
        log.calls[name] += 1
        error = _first_error(args)
        if error is not None:
            return _result(error)
        plain = tuple(_argument(a) for a in args)
        try:
            out = func(*plain)
        except Exception as exc:  # noqa: BLE001 - Excel shows an error cell; the tests check the log is empty
            log.failures.append((name, plain, f"{type(exc).__name__}: {exc}"))
            return _result(VALUE_ERROR)
        return _result(out)

    call.__name__ = call.__qualname__ = name
    call.__wrapped__ = func  # the very function object, checked by identity
    return call


@pytest.fixture(scope="module")
def hs_functions():
    """The HS_ adapters registered in `formulas`' function table for this module, the table restored after."""
    table = formulas.get_functions()
    saved = {n: table[n] for n in HS_NAMES if n in table}
    log = AdapterLog()
    adapters = {f.__name__: adapt(f, log) for f in udfs.WORKSHEET_FUNCTIONS}
    table.update(adapters)
    yield adapters, log
    for n in HS_NAMES:
        table.pop(n, None)
    table.update(saved)


# ----------------------------------------------------------------------------------------- computing a book
_KEY = re.compile(r"^'?\[(?P<book>[^\]]+)\](?P<sheet>.+?)'?!(?P<ref>[A-Z]+\d+(?::[A-Z]+\d+)?)$")


@dataclass
class Computed:
    """What `formulas` calculated for one workbook, cell by cell: values[(SHEET, row, col)]."""

    path: Path
    values: dict[tuple[str, int, int], object] = field(default_factory=dict)

    def get(self, sheet: str, row: int, col: int):
        return self.values.get((sheet.upper(), row, col), sh.EMPTY)


def compute(path: Path) -> Computed:
    model = formulas.ExcelModel().loads(str(path)).finish()
    solution = model.calculate()
    out = Computed(path)
    for key, ranges in solution.items():
        m = _KEY.match(key)
        if m is None or not isinstance(ranges, Ranges):
            continue
        min_col, min_row, max_col, max_row = range_boundaries(m["ref"])
        grid = np.atleast_2d(ranges.value)
        if grid.shape != (max_row - min_row + 1, max_col - min_col + 1):
            continue
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                out.values[(m["sheet"].upper(), min_row + i, min_col + j)] = grid[i, j]
    return out


def is_blank(v) -> bool:
    return v is sh.EMPTY or v is None or v == ""


def dec(v):
    """A computed cell as the Decimal it shows to 2 places; blank as None; anything else (an error) as is."""
    if is_blank(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (int, float)) and not isinstance(v, (bool, XlError)):
        return round_half_up(v)
    return v


def eng(x: Decimal | None) -> Decimal | None:
    return None if x is None else round_half_up(x)


@dataclass
class Case:
    path: Path
    result: Result
    layout: Layout
    computed: Computed
    calls: Counter[str]  # HS_ function calls while `formulas` calculated this book
    failures: list  # exceptions the HS_ functions raised meanwhile (must stay empty)


def _case(path: Path, result: Result, log: AdapterLog) -> Case:
    layout = read_structure(OpenpyxlBook(path)).layout
    calls, failures = Counter(log.calls), len(log.failures)
    computed = compute(path)
    return Case(path, result, layout, computed, log.calls - calls, log.failures[failures:])


@pytest.fixture(scope="module")
def sample(hs_functions, tmp_path_factory) -> Case:
    path, result = build_scored_sample(tmp_path_factory.mktemp("formulas") / "sample.xlsx")
    return _case(path, result, hs_functions[1])


@pytest.fixture(scope="module")
def changed(hs_functions, sample, tmp_path_factory) -> Case:
    """A copy of the sample with one unit's data changed, recomputed by the engine, then by `formulas`."""
    path = tmp_path_factory.mktemp("formulas-changed") / "changed.xlsx"
    shutil.copyfile(sample.path, path)
    book = OpenpyxlBook(path)
    lay = read_structure(book).layout
    i = lay.units.index(CHANGED_UNIT)
    book.write(L.DATA, lay.unit_row(i), lay.data_column("volume_m01").col, [[CHANGED_VOLUME_M01]])
    grid = book.read(L.CONCEALMENT)
    row = next(r for r in range(L.FIRST_ROW, grid.max_row + 1) if grid.get(r, 1) == CHANGED_UNIT)
    book.write(L.CONCEALMENT, row, L.CONCEALMENT_COLUMNS["rate"], [[CHANGED_CONCEALMENT]])
    outcome = recompute(book)
    assert outcome.ok, outcome.problems
    book.save(path)
    return _case(path, outcome.result, hs_functions[1])


# ------------------------------------------------------------------------------------ what must be compared
def expected_scores(case: Case) -> dict[tuple[str, str], Decimal | None]:
    """计分's cells as the engine has them: (unit, column key) -> value; None = a blank cell."""
    out = {}
    rubric = case.result.rubric
    roles = Counter(r.role for r in rubric.rules)
    assert roles["bonus"] == roles["deduction"] == 1  # 5 and 6: their column is the unit's bonus / deduction
    for u in case.result.units:
        for rule in rubric.rules:
            if rule.role == "bonus":
                out[(u.unit, rule.id)] = eng(u.bonus)
            elif rule.role == "deduction":
                out[(u.unit, rule.id)] = eng(u.deduction)
            else:
                out[(u.unit, rule.id)] = eng(u.rules[rule.id])
        out[(u.unit, "applicable_max")] = eng(u.applicable_max)
        out[(u.unit, "live_total")] = eng(u.total)
    return out


def computed_scores(case: Case) -> dict[tuple[str, str], object]:
    lay = case.layout
    return {(unit, key): dec(case.computed.get(L.SCORES, lay.unit_row(i), col))
            for i, unit in enumerate(lay.units) for key, col in lay.score_columns.items()}


def _summary_expected(u: UnitResult) -> dict[str, object]:
    out: dict[str, object] = {f"section_{n}": eng(v) for n, v in u.sections.items()}
    out.update(base=eng(u.base), applicable_max=eng(u.applicable_max), base_scaled=eng(u.base_scaled),
               capped=eng(u.capped), total=eng(u.total), rank=u.rank, difference=eng(u.difference),
               final=eng(u.final), final_rank=u.final_rank)
    out.update({"weight:" + name: eng(v) for name, v in u.weighted.items()})
    return out


def expected_summary(case: Case) -> dict[tuple[str, str], object]:
    """汇总's formula cells as the engine has them: (unit, column key) -> value."""
    return {(u.unit, key): v for u in case.result.units for key, v in _summary_expected(u).items()}


def computed_summary(case: Case) -> dict[tuple[str, str], object]:
    lay = case.layout
    out = {}
    for (unit, key) in expected_summary(case):
        v = dec(case.computed.get(L.SUMMARY, lay.unit_row(lay.units.index(unit)), lay.summary_columns[key]))
        if key in ("rank", "final_rank") and isinstance(v, Decimal) and v == v.to_integral_value():
            v = int(v)
        out[(unit, key)] = v
    return out


def _differences(expected: dict, computed: dict) -> list[str]:
    return [f"{unit} {key}: engine {expected[(unit, key)]!r}, formulas {computed.get((unit, key), '—')!r}"
            for (unit, key) in expected if computed.get((unit, key), sh.EMPTY) != expected[(unit, key)]]


# -------------------------------------------------------------------------------------------------- tests
def test_the_registered_functions_are_the_udfs_themselves(hs_functions):
    adapters, _ = hs_functions
    table = formulas.get_functions()
    assert set(adapters) == set(HS_NAMES) == {
        "HS_RANKSCORE", "HS_PLACESCORE", "HS_TIERSCORE", "HS_RATESCORE", "HS_COUNTSCORE", "HS_FLAGSCORE",
        "HS_PRORATE", "HS_TOTAL"}
    for name in HS_NAMES:
        assert table[name] is adapters[name]
        assert adapters[name].__wrapped__ is getattr(udfs, name)
        assert any(adapters[name].__wrapped__ is f for f in udfs.WORKSHEET_FUNCTIONS)


def test_every_hs_function_in_the_workbook_is_registered(sample):
    import openpyxl
    from openpyxl.worksheet.formula import ArrayFormula

    wb = openpyxl.load_workbook(sample.path)
    used = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                text = c.value.text if isinstance(c.value, ArrayFormula) else c.value
                if isinstance(text, str) and text.startswith("="):
                    used |= set(re.findall(r"\bHS_[A-Z]+(?=\()", text))
    assert used == set(HS_NAMES)  # all eight are in the template's formulas, none unknown


def test_adapter_shapes_blanks_and_errors():
    log = AdapterLog()
    adapters = {f.__name__: adapt(f, log) for f in udfs.WORKSHEET_FUNCTIONS}
    tier = adapters["HS_TIERSCORE"]
    column = np.asarray([[0.9], [sh.EMPTY], [0.5], [0.1]], object).view(Array)
    got = tier(column, np.asarray([[1, 0.8, 0.4]], object).view(Array), np.asarray([[10, 6, 3]], object), 0)
    assert got.shape == (4, 1) and got.ravel().tolist() == [6.0, "", 3.0, 0.0]
    single = tier(np.asarray([[0.85]], object), np.asarray([[1, 0.8]], object), np.asarray([[10, 6]], object), 0)
    assert single.shape == (1, 1) and single[0, 0] == 6.0
    na = Error.errors["#N/A"]
    err = adapters["HS_FLAGSCORE"](np.asarray([["是"], [na]], object).view(Array), 2)
    assert err.ravel().tolist() == [na]
    bad = adapters["HS_FLAGSCORE"]("也许", 2)
    assert bad.ravel().tolist() == [VALUE_ERROR]
    assert len(log.failures) == 1 and log.failures[0][0] == "HS_FLAGSCORE" and "KindError" in log.failures[0][2]
    assert log.calls == {"HS_TIERSCORE": 2, "HS_FLAGSCORE": 2}


def test_the_comparison_is_not_vacuous(sample):
    assert sample.failures == [], sample.failures
    assert set(sample.calls) == set(HS_NAMES), sample.calls  # every function was called by the workbook's formulas
    lay = sample.layout
    assert len(lay.units) == len(sample.result.units) == 6
    assert [u.unit for u in sample.result.units] == lay.units
    rubric = sample.result.rubric
    assert set(lay.score_columns) == {r.id for r in rubric.rules} | {"applicable_max", "live_total"}
    computed = computed_scores(sample)
    assert len(computed) == 6 * len(lay.score_columns)
    # every computed score is a number, except 1.3 of the units not assessed on it: blank
    for (unit, key), v in computed.items():
        public = lay.public_service[lay.units.index(unit)]
        if key == "1.3" and not public:
            assert v is None, (unit, key, v)
        else:
            assert isinstance(v, Decimal), (unit, key, v)
    assert sum(lay.public_service) == 2 and sum(not p for p in lay.public_service) == 4
    # the data spread: most rule columns differ between units, and totals are not all equal
    varied = [key for key in lay.score_columns
              if len({computed[(u, key)] for u in lay.units if computed[(u, key)] is not None}) > 1]
    assert len(varied) >= len(rubric.rules) - 1, varied
    assert len({computed[(u, "live_total")] for u in lay.units}) >= 5


def test_scores_sheet_equals_the_engine(sample):
    """计分: every rule column (HS_ array formulas), bonus 5, deduction 6, applicable max, live total."""
    assert sample.failures == []
    expected, computed = expected_scores(sample), computed_scores(sample)
    assert set(expected) == set(computed)
    assert _differences(expected, computed) == []


def test_summary_sheet_equals_the_engine(sample):
    """汇总: section subtotals, base, scaled base, capped, total, rank, difference, final, final rank, weights."""
    expected, computed = expected_summary(sample), computed_summary(sample)
    assert len(expected) == 6 * len(_summary_expected(sample.result.units[0]))
    assert _differences(expected, computed) == []


def test_live_total_equals_the_summary_total(sample):
    lay = sample.layout
    for i, _ in enumerate(lay.units):
        row = lay.unit_row(i)
        live = dec(sample.computed.get(L.SCORES, row, lay.score_columns["live_total"]))
        summary = dec(sample.computed.get(L.SUMMARY, row, lay.summary_columns["total"]))
        assert isinstance(live, Decimal) and live == summary


def test_a_changed_input_moves_the_formulas_with_the_engine(sample, changed):
    """The same comparison on a changed copy: the formulas follow the engine, and both differ from the sample."""
    assert changed.failures == [] and set(changed.calls) == set(HS_NAMES)
    expected, computed = expected_scores(changed), computed_scores(changed)
    assert _differences(expected, computed) == []
    assert _differences(expected_summary(changed), computed_summary(changed)) == []

    before = computed_scores(sample)
    moved = {k for k in computed if computed[k] != before[k]}
    engine_moved = {k for k in expected if expected[k] != expected_scores(sample)[k]}
    assert moved == engine_moved
    assert {(CHANGED_UNIT, "1.1"), (CHANGED_UNIT, "1.2.5"), (CHANGED_UNIT, "live_total")} <= moved
    assert ("大冶市", "1.1") in moved  # 大冶市 lost first place in 1.1
    old, new = computed_summary(sample), computed_summary(changed)
    summary_moved = {k for k in new if new[k] != old[k]}
    engine_summary_moved = {k for k, v in expected_summary(changed).items() if v != expected_summary(sample)[k]}
    assert summary_moved == engine_summary_moved
    assert {(CHANGED_UNIT, "section_1"), (CHANGED_UNIT, "total"), (CHANGED_UNIT, "final")} <= summary_moved
