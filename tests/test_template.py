"""The template workbook: generated from the rubric data, laid out as the official table, safe to type into.

The committed workbook/hscredit_2020.xlsx must equal what the generator makes now. Bytes differ by
timestamps, so the comparison is semantic: every sheet, cell value, formula and array formula, style name,
number format, lock, merge, data validation, conditional format, chart reference, print setup.
"""
from __future__ import annotations

import copy
import os
import re
import stat
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.cell import MergedCell
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.formula import ArrayFormula

from hscredit_xl.rubric import load_rubric, source_text
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.atomic import save_workbook_atomic
from hscredit_xl.workbook.layout import Layout
from hscredit_xl.workbook.template import (
    COMPUTED_STYLE, HEADER_STYLE, INPUT_FILL, INPUT_STYLE, build_template, item_label, points_label, scoring_segments,
    write_template)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbook" / "hscredit_2020.xlsx"
CJK = re.compile(r"[\u4e00-\u9fff]")

RUBRIC = load_rubric()
LAY = Layout.build(RUBRIC)
CHOICES = RUBRIC.default_choices
UNITS = [u.name for u in RUBRIC.units]


def _saved(tmp_path_factory, name: str, **kw) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("tpl") / name
    write_template(path, **kw)
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def fresh_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "fresh.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def wb(fresh_path) -> openpyxl.Workbook:
    """A freshly generated template, saved and read back (as every user of the file sees it)."""
    return openpyxl.load_workbook(fresh_path)


@pytest.fixture(scope="module")
def committed() -> openpyxl.Workbook:
    assert COMMITTED.exists(), f"{COMMITTED} missing: run python scripts/build_workbooks.py"
    return openpyxl.load_workbook(COMMITTED)


# --------------------------------------------------------------------------------------- semantic snapshot
def _cell_state(c):
    value = c.value
    if isinstance(value, ArrayFormula):
        value = ("array", value.ref, value.text)
    fill = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type else None
    return (value, c.data_type, c.style, c.number_format, c.protection.locked, fill, c.font.b, c.font.sz,
            c.font.name, bool(c.alignment.wrap_text))


def _validation_state(dv):
    return (str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.allowBlank, dv.showInputMessage,
            dv.showErrorMessage, dv.errorStyle, dv.promptTitle, dv.prompt, dv.errorTitle, dv.error)


def snapshot(book: openpyxl.Workbook) -> dict:
    out: dict = {"sheets": list(book.sheetnames), "calc": book.calculation.fullCalcOnLoad}
    for ws in book.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c, MergedCell):
                    continue
                state = _cell_state(c)
                if state[0] is None and state[2] == "Normal" and state[5] is None:
                    continue
                cells[c.coordinate] = state
        ps, props = ws.page_setup, ws.sheet_properties.pageSetUpPr
        out[ws.title] = {
            "cells": cells,
            "merges": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted(_validation_state(dv) for dv in ws.data_validations.dataValidation),
            "protection": (ws.protection.sheet, ws.protection.formatColumns, ws.protection.formatRows,
                           ws.protection.selectLockedCells, ws.protection.selectUnlockedCells),
            "print": (ps.paperSize, ps.orientation, ps.fitToWidth, ps.fitToHeight,
                      props.fitToPage if props is not None else None, ws.print_title_rows, ws.print_area,
                      ws.print_options.horizontalCentered, ws.oddFooter.center.text),
            "freeze": ws.freeze_panes,
            "widths": {k: d.width for k, d in ws.column_dimensions.items() if d.width},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "conditional": sorted((str(cf.sqref), tuple(tuple(r.formula) for r in cf.rules))
                                  for cf in ws.conditional_formatting),
            "charts": [(type(ch).__name__, ch.title is not None,
                        [(s.val.numRef.f, s.cat.strRef.f if s.cat and s.cat.strRef else None) for s in ch.series],
                        ch.y_axis.scaling.min, ch.y_axis.scaling.max) for ch in ws._charts],
        }
    return out


def _first_difference(a: dict, b: dict) -> str:
    if a["sheets"] != b["sheets"]:
        return f"sheets {a['sheets']} != {b['sheets']}"
    for name in a["sheets"]:
        for key in a[name]:
            x, y = a[name][key], b[name][key]
            if x != y:
                if isinstance(x, dict):
                    for k in sorted(set(x) | set(y), key=str):
                        if x.get(k) != y.get(k):
                            return f"{name} {key} {k}: committed {x.get(k)!r} != generated {y.get(k)!r}"
                return f"{name} {key}: committed {x!r} != generated {y!r}"
    return "calculation properties differ"


def test_committed_template_is_not_stale(committed, wb):
    old, new = snapshot(committed), snapshot(wb)
    assert old == new, ("workbook/hscredit_2020.xlsx is stale (run python scripts/build_workbooks.py): "
                        + _first_difference(old, new))


def test_snapshot_notices_changes(wb, fresh_path):
    """The staleness check can fail: a changed text, validation, merge or lock each changes the snapshot."""
    base = snapshot(wb)
    for mutate in (
        lambda b: setattr(b[L.FORM].cell(LAY.form_rows["1.2.3"], L.FORM_COLUMNS["scoring"]), "value", "改"),
        lambda b: setattr(b[L.DATA].data_validations.dataValidation[0], "formula1", "1"),
        lambda b: b[L.FORM].unmerge_cells(f"A{LAY.form_rows['1.1']}:A{LAY.form_rows['1.3']}"),
        lambda b: setattr(b[L.SELF_SCORES].cell(L.FIRST_ROW, LAY.self_columns["total"]), "value", "=1"),
        lambda b: setattr(b[L.SETTINGS].cell(LAY.weight_rows["平安建设考核"], 2), "protection",
                          openpyxl.styles.Protection(locked=True)),
        lambda b: setattr(b[L.SCORES].cell(L.FIRST_ROW, LAY.score_columns["1.1"]), "value",
                          ArrayFormula(f"B{L.FIRST_ROW}:B{LAY.last_row - 1}", "=1")),
    ):
        other = openpyxl.load_workbook(fresh_path)
        assert snapshot(other) == base
        mutate(other)
        assert snapshot(other) != base


# --------------------------------------------------------------------------------------- sheets
def test_sheet_names_and_order(wb):
    # the same sheets for any number of units: one 考评表, the unit picked on it (issue 13)
    assert wb.sheetnames == [L.GUIDE, L.SETTINGS, L.DATA, L.CONCEALMENT, L.SCORES, L.SELF_SCORES, L.FORM, L.REVIEW,
                             L.RESULT, L.SUMMARY, L.RETURNS, L.EVIDENCE, L.CHECK]
    assert (L.SELF_SCORES, L.FORM, L.REVIEW) == ("自评得分", "考评表", "复核明细")
    assert L.form_sheet_name(UNITS[0]) == "考评表-大冶市"  # a 填报版's, an exported one
    assert all(len(name) <= 31 for name in wb.sheetnames)


def test_custom_units(tmp_path_factory):
    long_name = "某某市某某县某某经济技术开发区管理委员会及其下属单位"
    units = ["甲县", "乙区", long_name]
    book = _saved(tmp_path_factory, "custom.xlsx", units=units, public_service=[True, False, False])
    assert not [n for n in book.sheetnames if n.startswith(L.FORM_PREFIX)]
    assert len(book.sheetnames) == len(build_template().sheetnames)
    assert all(len(name) <= 31 for name in book.sheetnames)
    settings = book[L.SETTINGS]
    rows = range(L.FIRST_ROW, L.FIRST_ROW + 3)
    assert [settings.cell(r, 1).value for r in rows] == units
    assert [settings.cell(r, 2).value for r in rows] == ["是", "否", "否"]
    lay = Layout.build(RUBRIC, units, [True, False, False])
    scores = book[L.SCORES]
    top = scores.cell(L.FIRST_ROW, lay.score_columns["1.1"]).value
    assert isinstance(top, ArrayFormula) and top.ref == f"B{L.FIRST_ROW}:B{L.FIRST_ROW + 2}"
    assert book[L.FORM].cell(*L.FORM_PICKER_CELL).value == "甲县"
    assert [book[L.SELF_SCORES].cell(r, 1).value for r in rows] == units
    assert [book[L.REVIEW].cell(r, 1).value for r in rows] == units
    assert f"$A${L.FIRST_ROW + 2}" in book[L.FORM].cell(*L.FORM_INDEX_CELL).value


def test_unit_list_is_checked():
    with pytest.raises(ValueError, match="重名"):
        build_template(units=["甲县", "甲县"])
    with pytest.raises(ValueError, match="为空"):
        build_template(units=[])
    with pytest.raises(ValueError, match="一一对应"):
        build_template(units=["甲县", "乙区"], public_service=[True])


def test_text_starting_with_equals_stays_text():
    book = build_template(units=["=1+1", "乙区"])
    c = book[L.SETTINGS].cell(L.FIRST_ROW, 1)
    assert c.value == "=1+1" and c.data_type == "s"


# --------------------------------------------------------------------------------------- 说明
def test_guide_names_source_versions_and_identity(wb):
    ws = wb[L.GUIDE]
    text = "\n".join(str(c.value) for row in ws.iter_rows(max_col=1) for c in row if c.value)
    doc = RUBRIC.document
    for needed in (doc["number"], doc["title"], doc["attachment"], doc["issuer"], "2021年2月1日",
                   RUBRIC.version, "一键重算", "hscredit-xl recompute", "加载项", *(L.GUIDE, L.SETTINGS, L.DATA,
                   L.CONCEALMENT, L.SCORES, L.SUMMARY, L.CHECK)):
        assert needed in text, needed
    from hscredit_xl import __version__
    assert __version__ in text
    for key, coord in L.GUIDE_ID_CELLS.items():
        assert ws[coord].value == LAY.identity()[key]


# --------------------------------------------------------------------------------------- 设置
def test_settings_units_switches_weights(wb):
    ws = wb[L.SETTINGS]
    assert [ws.cell(L.HEADER_ROW, c).value for c in (1, 2)] == ["单位", "参加1.3考核"]
    for i, unit in enumerate(RUBRIC.units):
        row = LAY.unit_row(i)
        assert ws.cell(row, 1).value == unit.name
        assert ws.cell(row, 1).protection.locked
        assert ws.cell(row, 2).value == ("是" if unit.public_service else "否")
    S = L.SWITCH_COLUMNS
    assert [ws.cell(LAY.settings_switch_header, c).value for c in range(1, 8)] == [
        "编号", "事项", "选择", "各选项说明", "依据原文", "理由", "提示"]
    validations = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for sid, sw in RUBRIC.switches.items():
        row = LAY.switch_rows[sid]
        assert ws.cell(row, S["id"]).value == sid
        assert ws.cell(row, S["title"]).value == sw.title
        assert ws.cell(row, S["choice"]).value == sw.options[sw.default].short
        assert ws.cell(row, S["quote"]).value == sw.quote
        assert ws.cell(row, S["reason"]).value == sw.reason
        assert ws.cell(row, S["options"]).value.split("\n") == [f"{o.short}：{o.label}" for o in sw.options.values()]
        dv = validations[f"C{row}"]
        assert dv.type == "list" and dv.formula1 == '"' + ",".join(o.short for o in sw.options.values()) + '"'
    assert "×20" in ws.cell(LAY.switch_rows["A3"], S["note"]).value
    assert "重新归行" in ws.cell(LAY.switch_rows["A7"], S["note"]).value
    assert ws.cell(LAY.settings_weight_header, 1).value == "结果运用"
    for w in RUBRIC.weights:
        assert ws.cell(LAY.weight_rows[w.name], 1).value == w.name
        assert ws.cell(LAY.weight_rows[w.name], 2).value == w.weight
    flag_dv = validations[f"B{L.FIRST_ROW}:B{LAY.last_row}"]
    assert flag_dv.formula1 == '"是,否"'


def test_settings_reflects_chosen_options(tmp_path_factory):
    book = _saved(tmp_path_factory, "literal.xlsx", choices={"A3": "literal_10"})
    a3 = RUBRIC.switches["A3"]
    assert book[L.SETTINGS].cell(LAY.switch_rows["A3"], 3).value == a3.options["literal_10"].short
    formula = book[L.SCORES].cell(L.FIRST_ROW, LAY.score_columns["1.2.5"]).value.text
    assert formula == LAY.score_formulas({**CHOICES, "A3": "literal_10"})["1.2.5"]
    assert "HS_RATESCORE(" in formula and ",10,TRUE)" in formula
    assert book[L.SCORES][LAY.score_signature_cell].value == L.formula_signature({**CHOICES, "A3": "literal_10"})


# --------------------------------------------------------------------------------------- 数据录入
def test_data_headers_keys_and_derived_formulas(wb):
    ws = wb[L.DATA]
    headers = {c.key: ws.cell(L.DATA_HEADER_ROW, c.col).value for c in LAY.data_columns}
    assert headers["dec_pass_rate"] == "12月双公示数据上报合格率（%，0～100%）"
    assert headers["volume_m01"] == "1月入库总量（条，≥0 整数）"
    assert headers["typical_case"] == "报送诚信典型案例（是/否）"
    assert headers["training_score"] == "信用培训评分（据佐证资料）（分，0～3）"
    for c in LAY.data_columns:
        assert ws.cell(L.DATA_KEY_ROW, c.col).value == c.key
        assert ws.cell(L.DATA_RULE_ROW, c.col).value == (c.field.rule if c.field else "综合评定")
    names = {"volume_total": "全年入库总量（自动）", "rectification_ratio": "整改比率（自动）",
             "max_concealment": "最高瞒报率（自动）"}
    for key, col in LAY.derived_columns.items():
        assert ws.cell(L.DATA_HEADER_ROW, col).value == names[key]
        assert ws.cell(L.DATA_RULE_ROW, col).value == "自动"
        assert ws.cell(L.DATA_KEY_ROW, col).value == key
    for i, unit in enumerate(UNITS):
        row = LAY.unit_row(i)
        assert ws.cell(row, 1).value == unit
        for key, text in LAY.derived_formulas(row, CHOICES).items():
            c = ws.cell(row, LAY.derived_columns[key])
            assert c.value == text and c.protection.locked and c.style == COMPUTED_STYLE
        assert ws.cell(row, LAY.derived_columns["max_concealment"]).number_format == "0.00%"
        assert ws.cell(row, LAY.data_column("dec_pass_rate").col).number_format == "0.00%"
    assert ws.freeze_panes == "B5"


EXPECTED_RULE = {  # field kind -> (validation type, operator, formula1, formula2)
    "count": ("whole", "greaterThanOrEqual", "0", None),
    "rate": ("decimal", "between", "0", "1"),
    "flag": ("list", None, '"是,否"', None),
    "score": ("decimal", "between", "0", "3"),
    "adjustment": ("decimal", "between", "-100", "100"),
    "reason": ("textLength", "lessThanOrEqual", "200", None),
}


def test_every_data_column_is_validated_in_chinese(wb):
    ws = wb[L.DATA]
    by_range = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for column in LAY.data_columns:
        letter = col_letter(column.col)
        dv = by_range.get(f"{letter}{L.FIRST_ROW}:{letter}{LAY.last_row}")
        assert dv is not None, f"no validation on {column.key}"
        if column.kind in EXPECTED_RULE:
            assert (dv.type, dv.operator, dv.formula1, dv.formula2) == EXPECTED_RULE[column.kind], column.key
        else:
            assert column.kind == "number" and dv.type == "decimal"
        assert dv.showErrorMessage and dv.errorStyle == "stop" and dv.showInputMessage and dv.allowBlank
        for text in (dv.promptTitle, dv.prompt, dv.errorTitle, dv.error):
            assert text and CJK.search(text), (column.key, text)
        assert len(dv.promptTitle) <= 32 and len(dv.errorTitle) <= 32
        assert len(dv.prompt) <= 255 and len(dv.error) <= 225


def test_concealment_sheet(wb):
    ws = wb[L.CONCEALMENT]
    C = L.CONCEALMENT_COLUMNS
    assert [ws.cell(L.HEADER_ROW, C[k]).value for k in ("unit", "department", "rate")][:2] == ["单位", "被抽查部门"]
    assert ws.cell(L.HEADER_ROW, C["rate"]).value.startswith("瞒报率")
    assert "最高" in ws["A2"].value
    by_range = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    last = LAY.concealment_last_row
    unit_dv = by_range[f"A{L.FIRST_ROW}:A{last}"]
    assert unit_dv.type == "list" and unit_dv.formula1 == f"'{L.SETTINGS}'!$A${L.FIRST_ROW}:$A${LAY.last_row}"
    rate_dv = by_range[f"C{L.FIRST_ROW}:C{last}"]
    assert (rate_dv.type, rate_dv.formula1, rate_dv.formula2) == ("decimal", "0", "1")
    assert ws.cell(last, C["rate"]).number_format == "0.00%"
    assert ws.cell(last, C["rate"]).style == INPUT_STYLE
    assert ws.cell(last + 1, C["rate"]).style != INPUT_STYLE
    assert ws.freeze_panes == f"A{L.FIRST_ROW}"


# --------------------------------------------------------------------------------------- 计分
def test_score_sheet_array_formulas_cover_exactly_the_unit_rows(wb):
    ws = wb[L.SCORES]
    formulas = LAY.score_formulas(CHOICES)
    assert ws[LAY.score_signature_cell].value == L.formula_signature(CHOICES)
    assert "HS_" in ws["A2"].value and "加载项" in ws["A2"].value
    arrays = {}
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, ArrayFormula):
                arrays[c.coordinate] = c.value
    assert len(arrays) == len(RUBRIC.rules) + 1  # one per rule column, and the live total
    for rule in RUBRIC.rules:
        col = LAY.score_columns[rule.id]
        letter = col_letter(col)
        header = ws.cell(L.HEADER_ROW, col).value
        assert header.startswith(f"{rule.id} ") and f"{rule.points.normalize():f}分" in header
        af = arrays[f"{letter}{L.FIRST_ROW}"]
        assert af.ref == f"{letter}{L.FIRST_ROW}:{letter}{LAY.last_row}"
        assert af.text == formulas[rule.id]
        for row in range(L.FIRST_ROW + 1, LAY.last_row + 1):
            assert ws.cell(row, col).value is None
            assert ws.cell(row, col).protection.locked
    assert "加分" in ws.cell(L.HEADER_ROW, LAY.score_columns["5"]).value
    assert "扣分" in ws.cell(L.HEADER_ROW, LAY.score_columns["6"]).value
    assert ws.cell(L.HEADER_ROW, LAY.score_columns["applicable_max"]).value == "适用满分"
    assert ws.cell(L.HEADER_ROW, LAY.score_columns["live_total"]).value == "复核总分（实时）"
    for i, unit in enumerate(UNITS):
        row = LAY.unit_row(i)
        assert ws.cell(row, 1).value == unit
        assert ws.cell(row, LAY.score_columns["applicable_max"]).value == LAY.applicable_max_formula(row, RUBRIC.default_choices)
        if row == L.FIRST_ROW:  # one array formula scores every unit's live total
            live = ws.cell(row, LAY.score_columns["live_total"]).value
            assert isinstance(live, ArrayFormula) and live.ref == LAY.live_total_ref()
            assert live.text == LAY.live_total_formula(CHOICES)


# --------------------------------------------------------------------------------------- 考评表
def _collapse(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def unit_forms(fresh_path) -> openpyxl.Workbook:
    """Every unit's own 考评表 as export makes them from the master (form.build), saved and read back."""
    from hscredit_xl.workbook.sheets import form
    from hscredit_xl.workbook.sheets.context import SheetContext

    book = openpyxl.load_workbook(fresh_path)
    for unit in UNITS:
        form.build(SheetContext(RUBRIC, LAY, CHOICES, book), unit)
    path = fresh_path.parent / "forms.xlsx"
    book.save(path)
    return openpyxl.load_workbook(path)


FORMS = [L.FORM] + UNITS  # the master's one 考评表 (picked unit), each unit's own


def _form(wb, unit_forms, form: str):
    """(sheet, unit shown): the master's 考评表 shows its first unit until another is picked."""
    if form == L.FORM:
        return wb[L.FORM], UNITS[0]
    return unit_forms[L.form_sheet_name(form)], form


@pytest.mark.parametrize("form", FORMS)
def test_form_is_the_official_table(wb, unit_forms, form):
    ws, unit = _form(wb, unit_forms, form)
    picker = form == L.FORM
    F = L.FORM_COLUMNS
    assert ws["A1"].value == RUBRIC.document["attachment"]
    if picker:
        assert (ws["A2"].value, ws.cell(*L.FORM_PICKER_CELL).value, ws["F2"].value) == ("填报单位：", unit, "（盖章）")
    else:
        assert ws["A2"].value == f"填报单位：{unit}（盖章）"
    assert [ws.cell(L.FORM_HEADER_ROW, c).value for c in range(1, 10)] == [
        "序号", "考评项目", "考评指标", "分值", "考评内容", "评分办法", "考评方式", "自评得分", "复核得分"]
    merges = {str(r) for r in ws.merged_cells.ranges}
    notice = _collapse(source_text(RUBRIC))
    for item in RUBRIC.items:
        rows = [LAY.form_rows[r.id] for ind in item.indicators for r in ind.rules]
        assert ws.cell(rows[0], F["number"]).value == item.number
        assert ws.cell(rows[0], F["item"]).value == item_label(item)
        if len(rows) > 1:
            assert f"A{rows[0]}:A{rows[-1]}" in merges and f"B{rows[0]}:B{rows[-1]}" in merges
        for ind in item.indicators:
            rows = [LAY.form_rows[r.id] for r in ind.rules]
            top = rows[0]
            assert ws.cell(top, F["indicator"]).value == ind.name
            assert ws.cell(top, F["points"]).value == points_label(ind)
            assert ws.cell(top, F["content"]).value == ind.content
            assert ws.cell(top, F["method"]).value == ind.method
            shown = [ws.cell(r, F["scoring"]).value for r in rows]
            # each row ends with the options its score depends on, named as chosen: 〔口径 A3 乘以20（分值）〕
            texts = [re.sub(r"〔口径 [^〕]*〕$", "", t) for t in shown]
            if ind.id in ("3.1", "3.2"):  # A7 regrouped (the default): the sentences that actually score the row
                media = RUBRIC.rule("3.1").parts[1].text
                if ind.id == "3.1":
                    assert texts == [f"{ind.scoring} {media}"] and "A7 重新归行" in shown[0]
                else:
                    assert texts == ["开展信用培训：由复核人员据佐证资料评分（0～3分）"] and media not in shown[0]
                continue
            if len(rows) == 1:
                assert texts == [ind.scoring]
            else:
                for letter in "CDEG":
                    assert f"{letter}{top}:{letter}{rows[-1]}" in merges
                assert " ".join(texts) == ind.scoring  # the official text, cut at its own numbering
                for i, (rule, text) in enumerate(zip(ind.rules, texts), 1):
                    assert text.startswith(f"{i}. ") and rule.text in text
            for text in texts:
                assert _collapse(text) in notice, text
            for rule in ind.rules:
                row = LAY.form_rows[rule.id]
                if picker:  # looked up: the unit's row of 自评得分, of 复核明细
                    lookups = LAY.picker_formulas()
                    for col in (F["self"], F["review"], L.FORM_EXTRA_COLUMN):
                        c = ws.cell(row, col)
                        assert c.value == lookups[(row, col)] and c.protection.locked and c.style == COMPUTED_STYLE
                    assert f"'{L.SELF_SCORES}'!${col_letter(LAY.self_columns[rule.id])}$" in lookups[(row, F["self"])]
                    assert f"'{L.REVIEW}'!" in lookups[(row, F["review"])]
                    continue
                assert ws.cell(row, F["self"]).style == INPUT_STYLE
                assert ws.cell(row, F["review"]).value is None
                assert ws.cell(row, F["review"]).protection.locked
    assert ws.cell(LAY.form_rows["1.2.5"], F["scoring"]).value.endswith("〔口径 A3 乘以20（分值）〕")
    # the cells named in the brief, spelled out
    r12 = [LAY.form_rows[f"1.2.{i}"] for i in range(1, 7)]
    assert {f"C{r12[0]}:C{r12[-1]}", f"D{r12[0]}:D{r12[-1]}", f"E{r12[0]}:E{r12[-1]}", f"G{r12[0]}:G{r12[-1]}"} <= merges
    assert r12[-1] - r12[0] == 5
    assert ws.cell(r12[0], F["points"]).value == "60分"
    assert ws.cell(LAY.form_rows["1.1"], F["points"]).value == "10分"
    assert ws.cell(LAY.form_rows["6"], F["points"]).value == "扣10分"
    assert ws.cell(LAY.form_rows["1.1"], F["item"]).value == "信用信息归集、披露与共享（80分）"
    assert ws.cell(LAY.form_rows["2.1"], F["item"]).value == "信用信息应用（10分）"
    assert ws.cell(LAY.form_rows["3.1"], F["item"]).value == "信用宣传教育（10分）"
    assert ws.cell(LAY.form_rows["6"], F["item"]).value == "扣减项目"
    assert ws.cell(r12[4], F["scoring"]).value.startswith("5. 双公示数据瞒报率，总分20分。")


@pytest.mark.parametrize("form", FORMS[:2])
def test_form_totals_note_validation_and_print_setup(wb, unit_forms, form):
    ws, unit = _form(wb, unit_forms, form)
    picker = form == L.FORM
    F = L.FORM_COLUMNS
    merges = {str(r) for r in ws.merged_cells.ranges}
    labels = {k: ws.cell(r, 1).value for k, r in LAY.form_total_rows.items()}
    assert labels["base"] == "第1～3项小计"
    assert labels["base_scaled"].startswith("折算后基础分") and "A5" in labels["base_scaled"]
    assert labels["total"] == "考评总分（加分后不超过100分，再扣减）"
    for row in LAY.form_total_rows.values():
        assert f"A{row}:G{row}" in merges
        review = ws.cell(row, F["review"])
        assert review.value == (LAY.picker_formulas()[(row, F["review"])] if picker else None)
        assert review.protection.locked
    total = LAY.form_total_rows["total"]
    # the self subtotals and total are formulas, as the 填报版 does (issue 10): nothing typed there; the master's
    # 考评表 looks up 自评得分's, which sums them the same way
    for key in ("base", "base_scaled", "total"):
        c = ws.cell(LAY.form_total_rows[key], F["self"])
        assert c.data_type == "f" and c.protection.locked and c.style == COMPUTED_STYLE
        if picker:
            assert f"${col_letter(LAY.self_columns[key])}$" in c.value
        else:
            assert c.value == LAY.form_self_formulas(UNITS.index(unit), CHOICES)[key]
    note = ws.cell(LAY.form_note_row, 1).value
    assert "1.2.5" in note and "×20" in note and "3.2" in note and "佐证资料" in note
    assert ws[LAY.form_stamp_cell].value is None
    assert LAY.form_stamp_cell == f"A{LAY.form_stamp_row}" and LAY.form_stamp_row == LAY.form_note_row + 1
    assert LAY.form_self_cell("1.2.5") == f"H{LAY.form_rows['1.2.5']}" and LAY.form_self_cell("total") == f"H{total}"
    assert LAY.form_review_cell("3.2") == f"I{LAY.form_rows['3.2']}"
    assert LAY.form_review_cell("base_scaled") == f"I{LAY.form_total_rows['base_scaled']}"
    by_cell = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                by_cell[(row, rng.min_col)] = dv
    if picker:  # the one input: which unit, from 设置's list
        assert list(by_cell) == [L.FORM_PICKER_CELL]
        dv = by_cell[L.FORM_PICKER_CELL]
        assert dv.type == "list" and dv.formula1 == f"'{L.SETTINGS}'!$A${L.FIRST_ROW}:$A${LAY.last_row}"
        assert CJK.search(dv.prompt) and dv.showErrorMessage and not ws.cell(*L.FORM_PICKER_CELL).protection.locked
        assert f"A2:B2" in merges and "C2:E2" in merges
    else:
        for rule in RUBRIC.rules:
            dv = by_cell[(LAY.form_rows[rule.id], F["self"])]
            assert (dv.type, dv.operator, dv.formula1) == ("decimal", "between", "0")
            assert dv.formula2 == f"{rule.points.normalize():f}"
            assert CJK.search(dv.prompt) and CJK.search(dv.error) and dv.showErrorMessage
        assert "扣" in by_cell[(LAY.form_rows["6"], F["self"])].prompt
    assert (total, F["self"]) not in by_cell
    ps = ws.page_setup
    assert (ps.paperSize, ps.orientation, ps.fitToWidth, ps.fitToHeight) == (9, "landscape", 1, 0)
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$3"
    assert ws.print_options.horizontalCentered
    assert "&P" in ws.oddFooter.center.text
    assert ws.column_dimensions["F"].width >= 40  # 评分办法 is the wide column


def test_self_scores_one_row_per_unit_typed_per_rule_summed_by_formulas(wb):
    """自评得分 (issue 13): what each 考评表 held per unit, as one row per unit: a typed cell per rule, validated
    0…the rule's points, and the self subtotals and total by the same native formulas, re-targeted at the row."""
    from hscredit_xl.workbook.sheets.self_scores import column_keys

    ws = wb[L.SELF_SCORES]
    keys = column_keys(LAY)
    assert keys["1.1"] == "self_1.1" and keys["total"] == "auto_total"
    for key, col in LAY.self_columns.items():
        assert ws.cell(L.HEADER_ROW, col).value == keys[key]
        assert ws.cell(L.DATA_HEADER_ROW, col).style == HEADER_STYLE
    by_range = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}
    for rule in RUBRIC.rules:
        col = col_letter(LAY.self_columns[rule.id])
        dv = by_range[f"{col}{L.FIRST_ROW}:{col}{LAY.last_row}"]
        assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("decimal", "between", "0",
                                                                     f"{rule.points.normalize():f}")
    for i, unit in enumerate(UNITS):
        row = LAY.unit_row(i)
        assert ws.cell(row, 1).value == unit
        for rule in RUBRIC.rules:
            c = ws.cell(row, LAY.self_columns[rule.id])
            assert c.value is None and c.style == INPUT_STYLE and not c.protection.locked
        formulas = LAY.self_row_formulas(i, CHOICES)
        for key in ("base", "base_scaled", "total"):
            c = ws.cell(row, LAY.self_columns[key])
            assert c.value == formulas[key] and c.protection.locked and c.style == COMPUTED_STYLE
        # the same formula as a 考评表's, its cells moved from a column of rule rows to the unit's row
        form = LAY.form_self_formulas(i, CHOICES)["total"]
        for rule in RUBRIC.rules:
            form = form.replace(f"H{LAY.form_rows[rule.id]}", f"{col_letter(LAY.self_columns[rule.id])}{row}")
        for key in ("base", "base_scaled"):
            form = form.replace(f"H{LAY.form_total_rows[key]}", f"{col_letter(LAY.self_columns[key])}{row}")
        assert formulas["total"] == form
    assert ws.freeze_panes == "B5"


def test_review_sheet_one_row_per_unit_for_recompute_to_fill(wb):
    ws = wb[L.REVIEW]
    headers = {key: ws.cell(L.HEADER_ROW, col).value for key, col in LAY.review_columns.items()}
    assert headers["score:1.2.5"] == "1.2.5 复核得分" and headers["why:1.2.5"] == "1.2.5 计分依据"
    assert headers["total"].startswith("考评总分") and headers["why_total"] == "考评总分的计分依据"
    assert sorted(LAY.review_columns.values()) == list(range(2, 2 + len(LAY.review_columns)))
    for i, unit in enumerate(UNITS):
        assert ws.cell(LAY.unit_row(i), 1).value == unit
        assert all(ws.cell(LAY.unit_row(i), col).value is None for col in LAY.review_columns.values())
    assert ws.protection.sheet


# --------------------------------------------------------------------------------------- 汇总
def test_summary_formulas_headers_chart_and_formatting(wb):
    ws = wb[L.SUMMARY]
    c = LAY.summary_columns
    assert ws[LAY.summary_stamp_cell].value is None
    headers = {k: ws.cell(L.HEADER_ROW, col).value for k, col in c.items()}
    assert headers["1.2.5"] == "1.2.5" and headers["section_1"] == "第1项小计"
    assert headers["difference"] == "差值（自评－复核）" and headers["final"] == "最终得分"
    assert headers["weight:平安建设考核"] == "平安建设考核贡献分"
    assert headers["capped"] == "加分后（≤100）"
    for i, unit in enumerate(UNITS):
        row = LAY.unit_row(i)
        assert ws.cell(row, 1).value == unit
        formulas = LAY.summary_formulas(row, CHOICES)
        for key, col in c.items():
            cell = ws.cell(row, col)
            assert cell.value == formulas.get(key), (key, cell.value)
            assert cell.protection.locked and cell.style == COMPUTED_STYLE
    for key in ("bonus", "deduction", "self_total", "adjustment", "adjustment_reason", "1.1", "1.3"):
        assert ws.cell(L.FIRST_ROW, c[key]).value is None
    [chart] = ws._charts
    assert type(chart).__name__ == "BarChart"
    [series] = chart.series
    final = col_letter(c["final"])
    assert series.val.numRef.f == f"'{L.SUMMARY}'!${final}${L.FIRST_ROW}:${final}${LAY.last_row}"
    assert series.cat.strRef.f == f"'{L.SUMMARY}'!$A${L.FIRST_ROW}:$A${LAY.last_row}"
    assert (chart.y_axis.scaling.min, chart.y_axis.scaling.max) == (0, 100)
    assert chart.dataLabels.showVal
    title = "".join(r.t for p in chart.title.tx.rich.p for r in (p.r or []))
    assert title == "各单位最终得分"
    assert chart.anchor._from.row + 1 > LAY.last_row  # below the table
    diff = col_letter(c["difference"])
    [cf] = list(ws.conditional_formatting)
    assert str(cf.sqref) == f"{diff}{L.FIRST_ROW}:{diff}{LAY.last_row}"
    assert sorted(r.formula[0] for r in cf.rules) == sorted([
        f"AND(ISNUMBER({diff}{L.FIRST_ROW}),{diff}{L.FIRST_ROW}>0)",
        f"AND(ISNUMBER({diff}{L.FIRST_ROW}),{diff}{L.FIRST_ROW}<0)"])
    assert ws.freeze_panes == "B5"
    # two pages wide, unit names repeated, a break after 基础分: readable instead of 30-odd columns at ~40 %
    assert (ws.page_setup.orientation, ws.page_setup.fitToWidth) == ("landscape", 2)
    assert ws.print_title_cols == "$A:$A"
    assert [b.id for b in ws.col_breaks.brk] == [LAY.summary_columns["base"]]


def test_check_sheet(wb):
    ws = wb[L.CHECK]
    assert ws["A1"].value == "校验结果" and ws[L.CHECK_STATUS_CELL].value == "尚未重算"
    assert [ws.cell(L.CHECK_HEADER_ROW, col).value for col in L.CHECK_COLUMNS.values()] == [
        "级别", "单位", "位置", "字段", "值", "问题说明"]
    assert not ws.protection.sheet


# --------------------------------------------------------------------------------------- inputs and locks
def _validated_cells(ws) -> set[str]:
    cells = set()
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            for row in range(rng.min_row, rng.max_row + 1):
                for col in range(rng.min_col, rng.max_col + 1):
                    cells.add(f"{col_letter(col)}{row}")
    return cells


def test_inputs_unlocked_styled_and_validated_everything_else_locked(wb):
    total_inputs = 0
    for ws in wb.worksheets:
        if ws.title == L.CHECK:
            continue
        assert ws.protection.sheet, ws.title
        assert ws.protection.formatColumns is False and ws.protection.formatRows is False
        validated = _validated_cells(ws)
        for coord in validated:
            c = ws[coord]
            assert c.style == INPUT_STYLE and not c.protection.locked, (ws.title, coord)
            assert c.fill.fgColor.rgb.endswith(INPUT_FILL)
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c, MergedCell):
                    continue
                if not c.protection.locked:
                    assert c.coordinate in validated, f"{ws.title}!{c.coordinate} is unlocked without validation"
                    total_inputs += 1
                if c.data_type == "f" or isinstance(c.value, ArrayFormula):
                    assert c.protection.locked and c.style == COMPUTED_STYLE, (ws.title, c.coordinate)
    n = len(UNITS)
    expected = (n + len(RUBRIC.switches) + len(RUBRIC.weights)  # 设置
                + n * len(LAY.data_columns)  # 数据录入
                + 3 * (LAY.concealment_last_row - L.FIRST_ROW + 1)  # 瞒报率明细
                + 5 * (LAY.evidence_last_row - L.FIRST_ROW + 1)  # 佐证资料 (unit, rule, requirement, files, note)
                + n * len(RUBRIC.rules)  # 自评得分 per rule and unit (the totals are formulas)
                + 1)  # 考评表: which unit it shows
    assert total_inputs == expected


def test_fonts_are_cjk_friendly(wb):
    for ws in (wb[L.DATA], wb[L.FORM], wb[L.SELF_SCORES], wb[L.REVIEW], wb[L.SUMMARY]):
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    assert c.font.name == "等线", (ws.title, c.coordinate, c.font.name)


# --------------------------------------------------------------------------------------- helpers
def test_scoring_segments_fall_back_to_numbered_rule_texts():
    ind = RUBRIC.indicators[1]
    assert ind.id == "1.2" and len(scoring_segments(ind)) == 6
    broken = copy.copy(ind)
    object.__setattr__(broken, "scoring", "没有编号的文字")
    assert scoring_segments(broken) == [f"{i}. {r.text}" for i, r in enumerate(ind.rules, 1)]


# --------------------------------------------------------------------------------------- atomic save
class _Boom(Exception):
    pass


class _FailingWorkbook:
    """Writes some bytes, then fails: the moment a crash would leave a half-written file."""

    def save(self, handle):
        handle.write(b"PK partial")
        raise _Boom("disk full")


def test_atomic_save_failure_keeps_the_original(tmp_path):
    target = tmp_path / "book.xlsx"
    write_template(target)
    before = target.read_bytes()
    with pytest.raises(_Boom):
        save_workbook_atomic(_FailingWorkbook(), target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]  # no temporary file left


def test_atomic_save_replaces_and_keeps_the_mode(tmp_path):
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"old")
    os.chmod(target, 0o644)
    path = save_workbook_atomic(build_template(units=["甲县"]), target)
    assert path == target
    assert openpyxl.load_workbook(target).sheetnames[0] == L.GUIDE
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    # no temporary file left; the replaced file is kept in the history (workbook/history.py)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hscredit-history", "book.xlsx"]
    (kept,) = (tmp_path / ".hscredit-history" / "book.xlsx").iterdir()
    assert kept.read_bytes() == b"old"


def test_data_sheet_prints_unit_names_and_headers_on_every_page(wb):
    ws = wb[L.DATA]
    assert ws.print_title_cols == "$A:$A"
    assert ws.print_title_rows == f"${L.DATA_RULE_ROW}:${L.DATA_KEY_ROW}"


def test_a_temp_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    import os
    import time

    from hscredit_xl.workbook.atomic import STALE_SECONDS, save_workbook_atomic

    target = tmp_path / "book.xlsx"
    old = tmp_path / ".book.xlsx.abc123.tmp"
    fresh = tmp_path / ".book.xlsx.def456.tmp"  # perhaps another save running right now: left alone
    other = tmp_path / ".other.xlsx.abc123.tmp"
    for leftover in (old, fresh, other):
        leftover.write_bytes(b"half a file")
    long_ago = time.time() - STALE_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    save_workbook_atomic(openpyxl.Workbook(), target)
    assert not old.exists() and fresh.exists() and other.exists() and target.exists()
