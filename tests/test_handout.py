"""The units' side (issue 10): a 填报版 per unit, filled in any spreadsheet program, merged back, tracked.

The notice: '2021年2月4日前将自查评分结果、考评佐证资料、2020年信用体系建设工作总结及2021年工作打算报市信用办邮箱。'
A 填报版 holds its unit alone and native formulas only; LibreOffice (the stand-in for WPS here) recalculates
it with no error value, and its self total is the engine's. The end-to-end test runs the whole round:
handout → fill → edit 报送信息/佐证资料 → re-save through LibreOffice → merge → status → recompute.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from hscredit_xl.cli import main
from hscredit_xl.rubric import load_rubric
from hscredit_xl.scoring import score_file
from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.handout import handout_name, write_handouts
from hscredit_xl.workbook.layout import Layout
from hscredit_xl.workbook.recompute import read_inputs
from hscredit_xl.workbook.template import write_template
from helpers import cli, sample_rows

RUBRIC = load_rubric()
UNITS = [u.name for u in RUBRIC.units]
FLAGS = {u.name: u.public_service for u in RUBRIC.units}
# what Excel 2010, WPS and LibreOffice all compute: every function a 填报版 may call
NATIVE = {"IF", "OR", "AND", "COUNT", "SUM", "N", "MIN", "MAX", "ROUND", "DATE"}
FUNCTION = re.compile(r"([A-Z][A-Z0-9._]*)\(")


def unit_csv(folder: Path, unit: str, change=None) -> Path:
    """The sample's row of one unit, as that unit's own data file (its self scores included)."""
    header, rows = sample_rows()
    header = [h for h in header if h not in ("adjustment", "adjustment_reason")]
    row = next(r for r in rows if r["unit"] == unit)
    if change:
        change(row)
    header += [k for k in row if k not in header]
    path = folder / f"{unit}.csv"
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=header, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerow(row)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def cell_texts(path: Path) -> list[str]:
    """Every text a workbook holds: cell values, sheet names, data-validation texts, properties."""
    wb = openpyxl.load_workbook(path)
    texts = list(wb.sheetnames) + [wb.properties.title or "", wb.properties.subject or ""]
    for ws in wb.worksheets:
        texts += [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        for dv in ws.data_validations.dataValidation:
            texts += [dv.prompt or "", dv.error or "", dv.formula1 or "", dv.formula2 or ""]
    return texts


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("handout")
    master = write_template(folder / "master.xlsx")
    handouts = {path.name: path for path in write_handouts(master, folder / "out")}
    files = {unit: handouts[handout_name(RUBRIC, unit)] for unit in UNITS}
    filled = {}
    for unit in UNITS:
        target = folder / "filled" / handout_name(RUBRIC, unit)
        target.parent.mkdir(exist_ok=True)
        assert main(["fill", str(files[unit]), str(unit_csv(folder, unit)), "-o", str(target)]) == 0
        filled[unit] = target
    engine = {u.unit: u for u in score_file(sample_path()).units}
    return {"folder": folder, "master": master, "blank": files, "filled": filled, "engine": engine}


@pytest.fixture(scope="module")
def recalculated(world, soffice):
    """Every blank and every filled 填报版 through LibreOffice (one run), as a unit opening it would see it."""
    from hscredit_xl.office import read_values, recalculate_many

    out = world["folder"] / "lo"
    pairs = [(world[kind][u], out / kind / world[kind][u].name) for kind in ("blank", "filled") for u in UNITS]
    recalculate_many(pairs)
    return {(kind, u): dst for (src, dst), (kind, u) in
            zip(pairs, [(k, u) for k in ("blank", "filled") for u in UNITS])}, read_values


# ------------------------------------------------------------------------------------------- what it holds


def test_one_handout_per_unit_named_by_the_unit(world):
    assert sorted(p.name for p in (world["folder"] / "out").iterdir()) == sorted(
        f"2020年信用考评填报-{u}.xlsx" for u in UNITS)


@pytest.mark.parametrize("unit", UNITS)
def test_a_handout_holds_its_unit_alone(world, unit):
    texts = "\n".join(cell_texts(world["filled"][unit]))
    assert unit in texts
    for other in UNITS:
        if other != unit:
            assert other not in texts, f"{unit}'s 填报版 names {other}"


@pytest.mark.parametrize("unit", UNITS)
def test_a_handout_has_native_formulas_only_and_no_macro(world, unit):
    path = world["filled"][unit]
    with zipfile.ZipFile(path) as z:
        assert not [n for n in z.namelist() if "vba" in n.lower() or n.endswith(".bin")]
    wb = openpyxl.load_workbook(path)
    formulas = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas, "the self total and the reference scores are formulas"
    used = {name for f in formulas for name in FUNCTION.findall(str(f))}
    assert used <= NATIVE, used - NATIVE
    assert not any("HS_" in str(f) or "_xlfn" in str(f) for f in formulas)


def test_sheets_and_the_contract_s_two_sheets(world):
    wb = openpyxl.load_workbook(world["blank"]["大冶市"])
    assert wb.sheetnames == [L.HANDOUT_GUIDE, L.SUBMISSION, L.DATA, L.CONCEALMENT, "考评表-大冶市", L.EVIDENCE]
    labels = [wb[L.SUBMISSION].cell(r, 1).value for r in range(1, 12)]
    for label in ("填报单位", "填报人", "联系电话", "填报日期", "2020年工作总结（文件名）", "2021年工作打算（文件名）"):
        assert label in labels
    assert wb[L.SUBMISSION].cell(labels.index("填报单位") + 1, 2).value == "大冶市"
    ev = wb[L.EVIDENCE]
    header = next(r for r in range(1, 11) if any("规则" in str(ev.cell(r, c).value or "") for c in range(1, 6)))
    heads = [str(ev.cell(header, c).value or "") for c in range(1, 6)]
    assert "规则" in heads[0] and heads[1] == "佐证要求" and "文件名" in heads[2] and heads[3] == "说明"
    guide = "\n".join(str(c.value) for c in wb[L.HANDOUT_GUIDE]["A"] if c.value)
    assert "2021年2月4日" in guide and "hsxyb2016@163.com" in guide and "复核打分" in guide


def test_evidence_rows_are_the_rubric_s_items_in_force(world):
    # 2.2 '1. 各单位提供佐证资料', 3.1 and 3.2 '各单位提供佐证资料', 5 '2-4项由各单位提供佐证资料'; none for the
    # rules checked on the platform or the city's 台账 ('备注: 1. 考评方式为查看系统、平台、网站、工作台账的, 不用提供纸质文件资料。')
    ws = openpyxl.load_workbook(world["blank"]["下陆区"])[L.EVIDENCE]
    rules = [ws.cell(r, 1).value for r in range(L.FIRST_ROW, ws.max_row + 1) if ws.cell(r, 2).value]
    assert rules == ["2.2", "3.1", "3.1", "3.2", "5", "5", "5"]
    free = ws.cell(L.FIRST_ROW + len(rules), 1)
    assert not free.protection.locked and free.value is None  # room for further evidence


def test_data_entry_has_the_master_s_fields_labels_and_validations(world):
    master = openpyxl.load_workbook(world["master"])[L.DATA]
    mlay = Layout.build(RUBRIC)
    hlay = Layout.build(RUBRIC, ["下陆区"], [False], handout=True)
    ws = openpyxl.load_workbook(world["blank"]["下陆区"])[L.DATA]

    def dv_of(sheet, coord):
        return next((dv.type, dv.operator, dv.formula1, dv.formula2, dv.prompt)
                    for dv in sheet.data_validations.dataValidation if coord in dv.sqref)

    ps = "public_service_categories"  # 下陆区 is not scored on 1.3: nothing to fill there
    assert ws.cell(*hlay.data_cell(0, ps)).protection.locked and "不参加" in ws.cell(
        hlay.data_rows[ps], L.HANDOUT_DATA_COLUMNS["label"]).value

    assert [c.key for c in hlay.data_columns] == [c.key for c in mlay.data_columns
                                                  if c.key not in ("adjustment", "adjustment_reason")]
    for column in hlay.data_columns:
        if column.key == ps:
            continue
        row, col = hlay.data_cell(0, column.key)
        mrow, mcol = mlay.data_cell(0, column.key)
        assert ws.cell(row, L.HANDOUT_DATA_COLUMNS["label"]).value == master.cell(L.DATA_HEADER_ROW, mcol).value
        assert ws.cell(row, L.HANDOUT_DATA_COLUMNS["key"]).value == column.key
        assert not ws.cell(row, col).protection.locked
        assert dv_of(ws, ws.cell(row, col).coordinate) == dv_of(master, master.cell(mrow, mcol).coordinate)


@pytest.mark.parametrize("unit", ["大冶市", "下陆区"])
def test_self_scores_are_validated_to_each_rule_s_points_and_the_totals_are_formulas(world, unit):
    ws = openpyxl.load_workbook(world["blank"][unit])[L.form_sheet_name(unit)]
    lay = Layout.build(RUBRIC, [unit], [FLAGS[unit]], handout=True)
    col = L.FORM_COLUMNS["self"]
    for rule in RUBRIC.rules:
        c = ws.cell(lay.form_rows[rule.id], col)
        dvs = [dv for dv in ws.data_validations.dataValidation if c.coordinate in dv.sqref]
        if rule.applies and not FLAGS[unit]:  # '（只考核大冶市、阳新县）': nothing to fill
            assert c.protection.locked and not dvs
            assert ws.cell(c.row, L.FORM_COLUMNS["review"]).value == L.NOT_ASSESSED
            continue
        (dv,) = dvs
        assert (dv.type, dv.formula1, Decimal(dv.formula2)) == ("decimal", "0", rule.points)
        assert not c.protection.locked
    for key in ("base", "base_scaled", "total"):
        assert ws.cell(lay.form_total_rows[key], col).data_type == "f"


# ------------------------------------------------------------------------------------------- LibreOffice


@pytest.mark.soffice
@pytest.mark.parametrize("kind", ["blank", "filled"])
def test_libreoffice_shows_no_error_value_at_all(recalculated, kind):
    from hscredit_xl.office import error_cells

    files, _ = recalculated
    for unit in UNITS:
        assert error_cells(files[(kind, unit)]) == {}, (kind, unit)


@pytest.mark.soffice
def test_the_self_total_libreoffice_computes_is_the_engine_s(world, recalculated):
    files, read_values = recalculated
    for unit in UNITS:
        lay = Layout.build(RUBRIC, [unit], [FLAGS[unit]], handout=True)
        form = read_values(files[("filled", unit)])[L.form_sheet_name(unit)]
        shown = form[L.cell(lay.form_total_rows["total"], L.FORM_COLUMNS["self"])]
        expected = world["engine"][unit].self_total
        assert expected is not None and shown == pytest.approx(float(expected), abs=0.005), unit
        blank = read_values(files[("blank", unit)])[L.form_sheet_name(unit)]
        text = blank[L.cell(lay.form_total_rows["total"], L.FORM_COLUMNS["self"])]
        assert isinstance(text, str) and text.startswith("尚有") and "项未自评" in text


@pytest.mark.soffice
def test_reference_scores_are_the_engine_s_where_one_unit_can_compute_them(world, recalculated):
    files, read_values = recalculated
    ranked = {r.id for r in RUBRIC.rules if any(p.kind in ("rank", "place") for p in r.parts)}
    assert ranked == {"1.1", "1.2.1", "1.3"}
    col = max(L.FORM_COLUMNS.values()) + 1
    for unit in UNITS:
        lay = Layout.build(RUBRIC, [unit], [FLAGS[unit]], handout=True)
        form = read_values(files[("filled", unit)])[L.form_sheet_name(unit)]
        result = world["engine"][unit]
        for rule in RUBRIC.rules:
            shown = form[L.cell(lay.form_rows[rule.id], col)]
            if rule.applies and not FLAGS[unit]:
                assert shown == L.NOT_ASSESSED
            elif rule.id in ranked:
                assert shown == L.RANKED_BY_CITY  # no number that misleads
            else:
                review = {"bonus": result.bonus, "deduction": result.deduction}.get(rule.role, result.rules.get(rule.id))
                assert shown == pytest.approx(float(review), abs=0.005), (unit, rule.id)


# ------------------------------------------------------------------------------------------- refusals


def test_fill_refuses_another_unit_s_row(world, capsys):
    path = world["blank"]["阳新县"]
    before = path.read_bytes()
    code, _, err = cli(capsys, "fill", path, unit_csv(world["folder"] / "filled", "大冶市"))
    assert code == 2 and path.read_bytes() == before
    assert "大冶市" in err and "阳新县" in err


def test_handout_refuses_to_replace_existing_files_unless_forced(world, capsys):
    out = world["folder"] / "out"
    before = {p: p.read_bytes() for p in out.iterdir()}
    code, _, err = cli(capsys, "handout", world["master"], "-o", out)
    assert code == 2 and "已存在" in err and "--force" in err
    assert {p: p.read_bytes() for p in out.iterdir()} == before
    again = world["folder"] / "again"
    assert cli(capsys, "handout", world["master"], "-o", again)[0] == 0
    assert cli(capsys, "handout", world["master"], "-o", again, "--force")[0] == 0


@pytest.mark.parametrize("command", ["recompute", "report", "status", "handout"])
def test_a_handout_is_not_a_master(world, capsys, command):
    path = world["filled"]["下陆区"]
    before = path.read_bytes()
    args = [command, path] + (["-o", world["folder"] / "x"] if command == "handout" else [])
    code, _, err = cli(capsys, *args)
    assert code == 2 and "填报版" in err and path.read_bytes() == before


# ------------------------------------------------------------------------------------------- the round


def _edit(path: Path, unit: str, submitted: dt.date, evidence: dict[str, str], docs: bool = True) -> None:
    """What a unit's staff does besides the data: 报送信息 and 佐证资料 (openpyxl as the stand-in for a person)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[L.SUBMISSION]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    ws.cell(rows["填报人"], 2).value = "张三"
    ws.cell(rows["联系电话"], 2).value = "0714-1234567"
    ws.cell(rows["填报日期"], 2).value = submitted
    if docs:
        ws.cell(rows["2020年工作总结（文件名）"], 2).value = f"{unit}2020年工作总结.docx"
        ws.cell(rows["2021年工作打算（文件名）"], 2).value = f"{unit}2021年工作打算.docx"
    ev = wb[L.EVIDENCE]
    for r in range(L.FIRST_ROW, ev.max_row + 1):
        rule = ev.cell(r, 1).value
        if rule in evidence and not ev.cell(r, 3).value:
            ev.cell(r, 3).value = evidence[rule]
    wb.save(path)


@pytest.mark.soffice
def test_the_units_round_handout_fill_edit_resave_merge_status(world, tmp_path, capsys, soffice):
    from hscredit_xl.office import recalculate

    returned = {}
    evidence_all = {"2.2": "核查方案.pdf", "3.1": "宣传活动.pdf；报道汇编.pdf", "3.2": "培训签到表.pdf", "5": "创新材料.pdf"}
    dates = {"大冶市": dt.date(2021, 2, 3), "阳新县": dt.date(2021, 2, 4), "黄石港区": dt.date(2021, 2, 6),
             "西塞山区": dt.date(2021, 2, 1), "下陆区": dt.date(2021, 2, 2)}
    for unit, submitted in dates.items():
        path = tmp_path / handout_name(RUBRIC, unit)
        path.write_bytes(world["filled"][unit].read_bytes())
        # 西塞山区 claims the bonus (its items marked 是) but lists no evidence for rule 5
        evidence = {k: v for k, v in evidence_all.items() if not (unit == "西塞山区" and k == "5")}
        _edit(path, unit, submitted, evidence, docs=unit != "下陆区")
        returned[unit] = path
    # 大冶市 fills it in LibreOffice (re-saved by a real spreadsheet program)
    resaved = tmp_path / "resaved" / returned["大冶市"].name
    recalculate(returned["大冶市"], resaved)
    returned["大冶市"] = resaved
    master = tmp_path / "master.xlsx"
    master.write_bytes(world["master"].read_bytes())

    code, out, err = cli(capsys, "merge", master, *returned.values())
    assert code == 0, err
    for unit in dates:
        assert f"已合并：{unit}" in out
    status = json.loads(cli(capsys, "status", master, "--json")[1])
    assert status["deadline"] == "2021-02-04"
    units = {u["unit"]: u for u in status["units"]}
    assert set(units) == set(UNITS)
    for u in units.values():
        assert set(u) >= {"unit", "received", "submitted_on", "received_on", "on_time", "self_total",
                          "evidence_missing", "summary", "plan"}
    assert units["开发区·铁山区"]["received"] is False and units["开发区·铁山区"]["on_time"] is None
    assert units["大冶市"]["received"] and units["大冶市"]["submitted_on"] == "2021-02-03"
    assert units["大冶市"]["received_on"] == "2021-02-03" and units["大冶市"]["on_time"] is True
    assert units["阳新县"]["on_time"] is True  # the deadline day itself (“2021年2月4日前”)
    assert units["黄石港区"]["on_time"] is False
    assert units["西塞山区"]["evidence_missing"] == ["5"]
    assert units["大冶市"]["evidence_missing"] == []
    assert units["下陆区"]["summary"] is False and units["下陆区"]["plan"] is False and units["大冶市"]["summary"]
    for unit in dates:
        assert units[unit]["self_total"] == pytest.approx(float(world["engine"][unit].self_total), abs=0.005)
    table = cli(capsys, "status", master)[1]
    assert "逾期" in table and "黄石港区" in table

    # the city receives 开发区·铁山区's file late, on 2021-02-08
    last = tmp_path / handout_name(RUBRIC, "开发区·铁山区")
    last.write_bytes(world["filled"]["开发区·铁山区"].read_bytes())
    _edit(last, "开发区·铁山区", dt.date(2021, 2, 4), evidence_all)
    assert cli(capsys, "merge", master, last, "--received", "2021-02-08")[0] == 0
    units = {u["unit"]: u for u in json.loads(cli(capsys, "status", master, "--json")[1])["units"]}
    assert units["开发区·铁山区"]["received_on"] == "2021-02-08" and units["开发区·铁山区"]["on_time"] is False
    assert units["开发区·铁山区"]["submitted_on"] == "2021-02-04"

    # the merged master scores as the data file does, and its 报送情况 and 佐证资料 say what came in
    assert cli(capsys, "recompute", master)[0] == 0
    merged = json.loads(cli(capsys, "report", master, "--json")[1])
    direct = json.loads(cli(capsys, "score", sample_path(), "--json")[1])
    for a, b in zip(merged["units"], direct["units"]):
        assert (a["unit"], a["rules"], a["total"], a["rank"], a["self_total"]) == (
            b["unit"], b["rules"], b["total"], b["rank"], b["self_total"])
    wb = openpyxl.load_workbook(master)
    lay = Layout.build(RUBRIC)
    cols = lay.returns_columns()
    ret = wb[L.RETURNS]
    row = lay.unit_row(UNITS.index("黄石港区"))
    assert ret.cell(row, cols["on_time"][0]).value == "逾期"
    assert ret.cell(lay.unit_row(UNITS.index("西塞山区")), cols["evidence_missing"][0]).value == "5"
    ev = wb[L.EVIDENCE]
    listed = [(ev.cell(r, 1).value, ev.cell(r, 2).value, ev.cell(r, 4).value) for r in range(L.FIRST_ROW, ev.max_row + 1)
              if ev.cell(r, 1).value]
    assert ("大冶市", "3.1", "宣传活动.pdf；报道汇编.pdf") in listed
    assert not any(u == "西塞山区" and rule == "5" for u, rule, _ in listed)


def test_a_typed_self_total_that_disagrees_with_the_items_is_listed_not_used(world, tmp_path, capsys):
    # an older file: the unit typed 95 as its total while its items add up to something else
    data = unit_csv(tmp_path, "下陆区", change=lambda row: row.update({"self_total": "95"}))
    master = tmp_path / "master.xlsx"
    master.write_bytes(world["master"].read_bytes())
    full = tmp_path / "all.csv"
    full.write_text(sample_path().read_text(encoding="utf-8-sig"), encoding="utf-8")
    assert cli(capsys, "fill", master, full)[0] == 0
    code, _, err = cli(capsys, "merge", master, data, "--replace")
    assert code == 0, err
    assert cli(capsys, "recompute", master)[0] == 0
    check = openpyxl.load_workbook(master)[L.CHECK]
    messages = [str(check.cell(r, 6).value) for r in range(4, check.max_row + 1)]
    expected = world["engine"]["下陆区"].self_total
    assert any("不一致" in m and str(expected.quantize(Decimal("0.01"))) in m for m in messages), messages
    report = json.loads(cli(capsys, "report", master, "--json")[1])
    unit = next(u for u in report["units"] if u["unit"] == "下陆区")
    assert unit["self_total"] == pytest.approx(float(expected)) and unit["self_total"] != 95


def test_reading_a_handout_gives_its_one_unit(world):
    inp = read_inputs(OpenpyxlBook(world["filled"]["阳新县"]))
    assert inp.layout.handout and inp.layout.units == ["阳新县"] and inp.layout.public_service == [True]
    assert not [p for p in inp.problems if p.level == "error"]
    assert inp.rows[0]["objections"] is not None and inp.rows[0]["self_1.1"] is not None


def test_a_handout_of_layout_1_is_still_read_and_another_layout_is_not(world, tmp_path):
    """A 填报版's layout did not change when the master's did (issue 13): one sent out before still merges."""
    import shutil

    for version, ok in (("1", True), (L.LAYOUT_VERSION, True), ("0", False)):
        path = Path(shutil.copy(world["filled"]["阳新县"], tmp_path / f"v{version}.xlsx"))
        wb = openpyxl.load_workbook(path)
        wb[L.HANDOUT_GUIDE][L.GUIDE_ID_CELLS["layout"]].value = version
        wb.save(path)
        inp = read_inputs(OpenpyxlBook(path))
        errors = [p for p in inp.problems if p.level == "error"]
        assert (not errors) == ok, (version, [p.message() for p in errors])
        if ok:
            assert inp.rows[0]["self_1.1"] is not None
