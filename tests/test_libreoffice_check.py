"""LibreOffice as an independent check of the workbook's formulas (issue 5 §3).

The generated template and a scored workbook are opened headless with a full recalculation forced (the
files carry no cached values, or stale ones). Then:

* every native formula gives the engine's numbers — 汇总: section subtotals, 基础分, 适用满分, 折算后基础分,
  加分后, 复核总分, 名次, 差值, 最终得分, 最终名次, 贡献分; 数据录入's derived columns: the annual total is
  the sum of the months typed, the rectification ratio is rectified ÷ returned, the highest 瞒报率 is the
  maximum of the unit's rows on 瞒报率明细;
* the HS_ cells (计分, the add-in's worksheet functions, unknown to LibreOffice) are exactly the ``#NAME?``
  cells, and there is no other error cell in either workbook, the blank template included — which also
  catches a newer Excel function written without its ``_xlfn.`` prefix.

A LibreOffice start-up costs about 2 s of CPU: the template and the three scored variants are recalculated
in ONE run (``office.recalculate_many``), once per session through conftest's ``libreoffice`` fixture, and
what openpyxl reads of each result is read once.
"""
from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries
from conftest import Recalculated
from openpyxl.worksheet.formula import ArrayFormula

from hscredit_xl import office
from hscredit_xl.engine import Switches
from hscredit_xl.rubric import load_rubric
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import build_scored_sample
from hscredit_xl.workbook.layout import Layout
from hscredit_xl.workbook.recompute import read_inputs, recompute
from hscredit_xl.workbook.template import write_template

pytestmark = pytest.mark.soffice

RUBRIC = load_rubric()
LAY = Layout.build(RUBRIC)
NAME_ERROR = "#NAME?"


@cache
def formulas(path: Path) -> openpyxl.Workbook:
    """The workbook LibreOffice was given, formulas and all, read once (read-only)."""
    return openpyxl.load_workbook(path)


@cache
def hs_cells(path: Path) -> dict[str, dict[str, str]]:
    """{sheet: {cell: '#NAME?'}} for every cell whose formula calls an HS_ function (array ranges included)."""
    wb = formulas(path)
    found: dict[str, dict[str, str]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                if isinstance(v, ArrayFormula) and "HS_" in (v.text or ""):
                    min_col, min_row, max_col, max_row = range_boundaries(v.ref)
                    for r in range(min_row, max_row + 1):
                        for col in range(min_col, max_col + 1):
                            found.setdefault(ws.title, {})[f"{get_column_letter(col)}{r}"] = NAME_ERROR
                elif c.data_type == "f" and isinstance(v, str) and "HS_" in v:
                    found.setdefault(ws.title, {})[c.coordinate] = NAME_ERROR
    return found


def formula_cells(path: Path, sheet: str) -> set[str]:
    ws = formulas(path)[sheet]
    return {c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"}


def at(values: dict, key: str, row: int) -> object:
    """A 汇总 value by column key; LibreOffice's empty-string result reads as None."""
    v = values.get(f"{get_column_letter(LAY.summary_columns[key])}{row}")
    return None if v == "" else v


def same(lo_value, engine_value) -> bool:
    if engine_value is None:
        return lo_value is None
    return isinstance(lo_value, (int, float)) and round(lo_value, 9) == pytest.approx(float(engine_value), abs=1e-9)


# switch choices (设置) the scored sample is recomputed under: recompute rewrites the formulas for them
VARIANTS = {
    "default": {},
    "dense-fullmarks": {"A1": "dense", "A4": "none", "A5": "full_marks", "A10": "review_minus_self"},
    "notscored-endonly": {"A5": "not_scored", "A9": "end_only"},
}

def choose(path: Path, choices: dict[str, str]) -> None:
    """Pick switch options in 设置 the way a person does: the option's short text in the choice cell."""
    wb = openpyxl.load_workbook(path)
    ws = wb[L.SETTINGS]
    for sid, option in choices.items():
        ws.cell(LAY.switch_rows[sid], L.SWITCH_COLUMNS["choice"]).value = RUBRIC.switches[sid].options[option].short
    wb.save(path)


def scored_variant(variant: str, folder: Path) -> tuple[Path, object]:
    path, _ = build_scored_sample(folder / f"scored-{variant}.xlsx")
    choose(path, VARIANTS[variant])
    book = OpenpyxlBook(path)  # recompute with the chosen switches, as `hscredit-xl recompute` does
    outcome = recompute(book)
    assert outcome.ok, [p.message() for p in outcome.problems]
    assert {sid: outcome.result.choices[sid] for sid in VARIANTS[variant]} == VARIANTS[variant]
    book.save(path)
    return path, outcome.result


def recalculate_all(folder: Path) -> dict:
    """The blank template and every scored variant, recalculated by LibreOffice in one run."""
    sources = {"template": (write_template(folder / "template.xlsx"), None)}
    sources.update({variant: scored_variant(variant, folder) for variant in VARIANTS})
    outs = office.recalculate_many([(path, folder / "lo" / path.name) for path, _ in sources.values()])
    return {key: (path, result, Recalculated(path, out)) for (key, (path, result)), out in zip(sources.items(), outs)}


@pytest.fixture
def workbooks(libreoffice) -> dict:
    return libreoffice.run("libreoffice_check", recalculate_all)


@pytest.fixture
def template(workbooks) -> Recalculated:
    """The blank template recalculated by LibreOffice."""
    return workbooks["template"][2]


@pytest.fixture(params=list(VARIANTS), ids=list(VARIANTS))
def scored(request, workbooks):
    """(workbook, engine result, LibreOffice's recalculation) per switch variant."""
    return workbooks[request.param]


# ------------------------------------------------------------------------------------------ error cells


def assert_only_hs_errors(run: Recalculated) -> dict[str, str]:
    """Every error cell is an HS_ cell showing #NAME?; an HS_ cell that is not an error is blank (its HS_ call
    sits behind IF(<input blank>,"",…) and LibreOffice, like Excel, does not evaluate it). The errors found."""
    hs = hs_cells(run.src)
    assert set(hs) == {L.SCORES} and hs[L.SCORES], "the template should call HS_ functions on 计分 only"
    errors = run.errors
    assert set(errors) <= {L.SCORES}, {k: v for k, v in errors.items() if k != L.SCORES}
    found = errors.get(L.SCORES, {})
    assert set(found) <= set(hs[L.SCORES]), f"errors outside the HS_ cells: {sorted(set(found) - set(hs[L.SCORES]))}"
    assert set(found.values()) <= {NAME_ERROR}
    values = run.values[L.SCORES]
    quiet = {c: values.get(c) for c in set(hs[L.SCORES]) - set(found)}
    assert all(v in (None, "") for v in quiet.values()), quiet
    return found


def test_template_hs_cells_are_the_only_errors(template):
    assert_only_hs_errors(template)


def test_scored_workbook_hs_cells_are_the_only_errors(scored):
    path, _, recalculated = scored
    found = assert_only_hs_errors(recalculated)
    hs_columns = {c.rstrip("0123456789") for c in hs_cells(path)[L.SCORES]}
    assert {c.rstrip("0123456789") for c in found} == hs_columns  # with data typed, every HS_ column calls HS_


def test_every_native_formula_has_a_value_in_the_scored_workbook(scored):
    path, result, recalculated = scored
    values = recalculated.values
    blank_difference = {f"{get_column_letter(LAY.summary_columns['difference'])}{LAY.unit_row(i)}"
                        for i, u in enumerate(result.units) if u.difference is None}
    from hscredit_xl.engine import self_totals

    switches = Switches(RUBRIC, result.choices)
    incomplete = {L.cell(LAY.unit_row(i), LAY.self_columns[key]) for i, u in enumerate(result.units)
                  for key in ("base", "base_scaled")
                  if self_totals(RUBRIC, switches, u.self_scores, u.public_service).total is None}
    for sheet in (L.SUMMARY, L.DATA, L.SELF_SCORES):
        missing = sorted(c for c in formula_cells(path, sheet) - blank_difference - incomplete
                         if values[sheet].get(c) in (None, ""))
        assert missing == [], sheet


def test_blank_template_formulas_compute_quietly(template):
    """Nothing typed yet: derived columns blank, 汇总 blank (not 0.00 and 名次 1 for everyone), no error anywhere
    but the HS_ cells; each 考评表 says how many self scores are still missing instead of a total."""
    values = template.values
    for i in range(len(LAY.units)):
        row = LAY.unit_row(i)
        for col in LAY.derived_columns.values():
            assert values[L.DATA].get(f"{get_column_letter(col)}{row}") in (None, "")
        for key in LAY.summary_formulas(row, RUBRIC.default_choices):
            assert at(values[L.SUMMARY], key, row) in (None, ""), key
        total = values[L.SELF_SCORES].get(L.cell(row, LAY.self_columns["total"]))
        assert isinstance(total, str) and total.startswith("尚有") and total.endswith("项未自评")
    # the 考评表 shows its picked unit (the first): the same text; nothing reviewed yet, so blank, not 0.00
    form = values[L.FORM]
    assert form.get(L.cell(*L.FORM_INDEX_CELL)) == 1
    assert form.get(LAY.form_self_cell("total")) == values[L.SELF_SCORES].get(L.cell(L.FIRST_ROW, LAY.self_columns["total"]))
    for (row, col) in LAY.picker_formulas():
        if col != L.FORM_COLUMNS["self"] and (row, col) != L.FORM_INDEX_CELL:
            assert form.get(L.cell(row, col)) in (None, ""), L.cell(row, col)


def test_self_totals_and_the_picked_form_give_the_engines_numbers(scored):
    """自评得分's native self subtotals and totals are the engine's for every unit, under every variant's A5/A9;
    the 考评表 (picked: the first unit) shows that unit's row of 自评得分 and of 复核明细 as recompute wrote it."""
    from hscredit_xl.engine import self_totals
    from hscredit_xl.workbook.recompute import review_row

    _, result, recalculated = scored
    values = recalculated.values[L.SELF_SCORES]
    switches = Switches(RUBRIC, result.choices)
    wrong = []
    for i, u in enumerate(result.units):
        own = self_totals(RUBRIC, switches, u.self_scores, u.public_service)
        for key in ("base", "base_scaled", "total"):
            shown = values.get(L.cell(LAY.unit_row(i), LAY.self_columns[key]))
            expected = getattr(own, key)
            if expected is None:  # a self score still missing (A5 full marks: 1.3 for every unit)
                ok = shown == f"尚有{own.missing}项未自评" if key == "total" else shown in (None, "")
            else:
                ok = same(shown, expected)
            if not ok:
                wrong.append((u.unit, key, shown, str(expected)))
    assert wrong == []
    assert any(self_totals(RUBRIC, switches, u.self_scores, u.public_service).total is not None
               for u in result.units)
    form, first = recalculated.values[L.FORM], result.units[0]
    review = review_row(LAY, RUBRIC, first)
    for key, row in {**LAY.form_rows, **LAY.form_total_rows}.items():
        total = key in LAY.form_total_rows
        expected = review[key if total else f"score:{key}"]
        shown = form.get(L.cell(row, L.FORM_COLUMNS["review"]))
        assert shown == expected or same(shown, expected), (key, shown, expected)
        if not total or key == "total":
            assert form.get(L.cell(row, L.FORM_EXTRA_COLUMN)) == review["why_total" if total else f"why:{key}"]
        self_shown = form.get(L.cell(row, L.FORM_COLUMNS["self"]))
        self_typed = values.get(L.cell(L.FIRST_ROW, LAY.self_columns[key]))
        assert self_shown == self_typed, key


# ------------------------------------------------------------------------------------------ 汇总


SUMMARY_KEYS = ("base", "applicable_max", "base_scaled", "capped", "total", "rank", "difference", "final",
                "final_rank")


def test_summary_formulas_give_the_engines_numbers(scored):
    _, result, recalculated = scored
    values = recalculated.values[L.SUMMARY]
    formula_keys = set(LAY.summary_formulas(LAY.unit_row(0), result.choices))
    assert formula_keys == set(SUMMARY_KEYS) | {k for k in LAY.summary_columns if k.startswith(("section_", "weight:"))}
    wrong = []
    for i, u in enumerate(result.units):
        row = LAY.unit_row(i)
        assert values.get(f"A{row}") == u.unit
        engine = {key: getattr(u, key) for key in SUMMARY_KEYS}
        engine.update({f"section_{n}": v for n, v in u.sections.items()})
        engine.update({f"weight:{n}": v for n, v in u.weighted.items()})
        assert set(engine) == formula_keys
        wrong += [(u.unit, key, at(values, key, row), str(v)) for key, v in engine.items()
                  if not same(at(values, key, row), v)]
    assert wrong == []


def test_scores_sheet_native_applicable_max_is_the_engines(scored):
    """计分's one native formula (适用满分, beside the HS_ columns) agrees with the engine and 汇总."""
    _, result, recalculated = scored
    values = recalculated.values[L.SCORES]
    col = get_column_letter(LAY.score_columns["applicable_max"])
    shown = [values.get(f"{col}{LAY.unit_row(i)}") for i in range(len(result.units))]
    engine = [float(u.applicable_max) for u in result.units]
    assert shown == engine


# ------------------------------------------------------------------------------------------ 数据录入


def test_derived_columns_give_what_their_headers_say(scored):
    path, _, recalculated = scored
    typed = formulas(path)
    data, detail = typed[L.DATA], typed[L.CONCEALMENT]
    lo = recalculated.values[L.DATA]
    inputs = read_inputs(OpenpyxlBook(path))
    zero_ratio = float(Switches(RUBRIC, inputs.choices).value("A4"))
    rates: dict[str, list[float]] = {}
    for row in range(L.FIRST_ROW, detail.max_row + 1):
        unit = detail.cell(row, L.CONCEALMENT_COLUMNS["unit"]).value
        rate = detail.cell(row, L.CONCEALMENT_COLUMNS["rate"]).value
        if unit is not None and rate is not None:
            rates.setdefault(unit, []).append(rate)
    assert set(rates) == set(LAY.units)

    def derived(key: str, row: int):
        return lo.get(f"{get_column_letter(LAY.derived_columns[key])}{row}")

    for i, unit in enumerate(LAY.units):
        row = LAY.unit_row(i)
        months = [data.cell(row, LAY.data_column(f"volume_m{m:02d}").col).value for m in range(1, 13)]
        assert derived("volume_total", row) == sum(months), unit
        returned = data.cell(row, LAY.data_column("returned_issues").col).value
        rectified = data.cell(row, LAY.data_column("rectified_issues").col).value
        ratio = zero_ratio if returned == 0 else rectified / returned
        assert derived("rectification_ratio", row) == pytest.approx(ratio, abs=1e-12), unit
        assert derived("max_concealment", row) == pytest.approx(max(rates[unit]), abs=1e-12), unit


def test_sample_exercises_the_interesting_cases(scored):
    """The checks above mean something only if the sample has prorating, a deduction, an adjustment, ties."""
    _, result, _ = scored
    if result.choices["A5"] != "full_marks":
        assert any(u.applicable_max != Decimal(RUBRIC.totals["full"]) for u in result.units)
    assert any(u.deduction for u in result.units)
    assert any(u.final != u.total for u in result.units)
    if result.choices == RUBRIC.default_choices:
        assert len({u.rank for u in result.units}) < len(result.units)  # a tie for a place
