"""Another year's rubric, as the city office would use it (issue 16): a fictional schema-2 rubric with its own
notice, switch ids (K1…K5), policies, derived values, group key (pilot_units), four units and a base total of
50 — checked, then driven through every command without touching Python: new, fill, recompute, report,
explain, handout, merge, status, export (with the PDF) and score. The results must equal the engine's."""
from __future__ import annotations

import csv
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hscredit_xl.datafile import read_rows
from hscredit_xl.rubric import read_rubric
from hscredit_xl.scoring import score_rows
from hscredit_xl.workbook import layout as L

from helpers import cli

HERE = Path(__file__).parent / "rubrics"
DATA = """unit,reports_h1,reports_h2,returned,rectified,late_rates,commitment,sectors,training,campaigns,categories,docking,in_plan,benefit,major_event,self_1.1,self_1.2,self_1.3,self_2.1,self_2.2,self_2.3,self_2.4,self_3,self_4
东区,120,80,10,10,5%;12%,是,3,3.5,4,6,是,是,否,否,10,10,8.8,8,3.5,4,3,4,0
西区,100,90,0,0,2%,是,2,2,6,4,否,否,否,否,7,10,9.8,3,2,5,1,0,0
南县,90,95,4,1,20%;1%,否,5,1,1,,是,是,是,是,7,0,8,5,1,1,,5,5
北县·新区,200,10,6,3,0.5%,是,4,4,0,,否,否,否,否,10,5,9.95,8,4,0,,0,0
"""


@pytest.fixture(scope="module")
def office_year(tmp_path_factory):
    """Next year's folder: the rubric and its notice copied beside each other, away from the package."""
    root = tmp_path_factory.mktemp("year2100")
    for name in ("fictional-2100.yaml", "fictional-2100-notice.txt"):
        shutil.copy(HERE / name, root / name)
    (root / "data.csv").write_text(DATA, encoding="utf-8")
    return root


def _expected(root: Path):
    rubric = read_rubric(root / "fictional-2100.yaml")
    rows, problems = read_rows(root / "data.csv", rubric)
    assert not problems
    return score_rows(rows, rubric)


def test_the_rubric_checks_clean(capsys, office_year):
    code, out, err = cli(capsys, "rubric", "check", office_year / "fictional-2100.yaml")
    assert code == 0, err
    assert "示例市信用办〔2100〕1号（虚构）" in out


def test_score_with_the_rubric(capsys, office_year):
    code, out, err = cli(capsys, "score", office_year / "data.csv", "--rubric", office_year / "fictional-2100.yaml",
                         "--json")
    assert code == 0, err
    report = json.loads(out)
    expected = {u.unit: str(u.total) for u in _expected(office_year).units}
    assert {u["unit"]: f"{Decimal(str(u['total'])):.2f}" for u in report["units"]} == expected
    assert set(expected) == {"东区", "西区", "南县", "北县·新区"}


def test_the_whole_workflow_on_the_new_rubric(capsys, office_year, tmp_path, soffice):
    rubric_file = office_year / "fictional-2100.yaml"
    master = tmp_path / "考评2100.xlsx"
    code, _, err = cli(capsys, "new", "--rubric", rubric_file, "-o", master)
    assert code == 0, err
    wb = load_workbook(master)
    assert L.SETTINGS in wb.sheetnames
    settings = wb[L.SETTINGS]
    assert settings.cell(L.FIRST_ROW - 1, L.SETTINGS_COLUMNS["group"]).value == "参加2.4考核"
    texts = " ".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str))
    assert "K5" in texts and "示例市信用办〔2100〕1号（虚构）" in texts
    for word in ("黄信用办", "大冶市", "1.2.5", "瞒报率最高值"):  # nothing of 2020 reaches next year's workbook
        assert word not in texts, word

    # fill and recompute use the rubric the workbook records, without --rubric
    code, _, err = cli(capsys, "fill", master, office_year / "data.csv")
    assert code == 0, err
    code, _, err = cli(capsys, "recompute", master)
    assert code == 0, err
    code, out, err = cli(capsys, "report", master, "--json")
    assert code == 0, err
    report = json.loads(out)
    expected = _expected(office_year)
    assert {u["unit"]: f"{Decimal(str(u['total'])):.2f}" for u in report["units"]} == {
        u.unit: str(u.total) for u in expected.units}
    assert {u["unit"]: u["rank"] for u in report["units"]} == {u.unit: u.rank for u in expected.units}

    code, out, err = cli(capsys, "explain", master, "南县", "2.4")
    assert code == 0, err
    assert "不参加" in out and "K5" in out

    # handouts for the four units, one filled in and merged back
    handouts = tmp_path / "填报版"
    code, _, err = cli(capsys, "handout", master, "-o", handouts)
    assert code == 0, err
    files = sorted(handouts.glob("*.xlsx"))
    assert len(files) == 4
    # what reaches the units opens in a spreadsheet program without the add-in and shows no error value
    from hscredit_xl.office import error_cells, recalculate_many

    recalculated = recalculate_many([(f, tmp_path / "recalculated" / f.name) for f in files])
    assert {f.name: error_cells(f) for f in recalculated} == {f.name: {} for f in recalculated}
    east = next(f for f in files if "东区" in f.name)
    header, first = DATA.splitlines()[:2]
    changed = first.replace(",10,10,5%;12%,", ",10,9,5%;12%,")  # 东区 corrects its rectified count
    (tmp_path / "east.csv").write_text(f"{header}\n{changed}\n", encoding="utf-8")
    code, _, err = cli(capsys, "fill", east, tmp_path / "east.csv")
    assert code == 0, err
    code, _, err = cli(capsys, "merge", master, east, "--received", "2100-01-30")
    assert code == 2 and "整改" in err, err  # a value that differs is a conflict, not replaced silently
    code, _, err = cli(capsys, "merge", master, east, "--received", "2100-01-30", "--replace")
    assert code == 0, err
    code, out, err = cli(capsys, "status", master, "--json")
    assert code == 0, err
    status = json.loads(out)
    assert len(status["units"]) == 4

    # the 报送版 with one 考评表 per unit, printed
    code, _, err = cli(capsys, "recompute", master)
    assert code == 0, err
    code, out, err = cli(capsys, "report", master, "--json")
    east_now = next(u for u in json.loads(out)["units"] if u["unit"] == "东区")
    assert Decimal(str(east_now["rules"]["1.2"])) == 5  # 9 of 10 rectified: 整改比率大于等于50%，小于100%，得5分
    code, out, err = cli(capsys, "export", master, "-o", tmp_path / "报送版", "--pdf")
    assert code == 0, err
    pdfs = list((tmp_path / "报送版").glob("*.pdf"))
    assert len(pdfs) == 1
    from hscredit_xl.office import pdf_text

    printed = "".join(pdf_text(pdfs[0])).replace(" ", "")
    for unit in ("东区", "西区", "南县", "北县·新区"):
        assert unit in printed
    assert "2100年度示例考评（虚构）结果" in printed


def test_a_units_file_uses_the_rubrics_group_key(capsys, office_year, tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("unit,pilot_units\n东区,是\n西区,否\n", encoding="utf-8")
    code, _, err = cli(capsys, "new", "--rubric", office_year / "fictional-2100.yaml", "--units", units,
                       "-o", tmp_path / "two.xlsx")
    assert code == 0, err
    bad = tmp_path / "bad.csv"
    bad.write_text("unit,public_service\n东区,是\n", encoding="utf-8")
    code, _, err = cli(capsys, "new", "--rubric", office_year / "fictional-2100.yaml", "--units", bad,
                       "-o", tmp_path / "bad.xlsx")
    assert code == 2 and "unit,pilot_units" in err


def test_a_rubric_without_rates_per_department_has_no_detail_sheet(capsys, office_year, tmp_path):
    """No field of type `rates`: no 瞒报率明细 in the master or a 填报版, and every command still runs."""
    text = (office_year / "fictional-2100.yaml").read_text(encoding="utf-8")
    text = (text.replace("{key: late_rates, label: 各部门迟报率, type: rates,", "{key: late_rate, label: 迟报率, type: rate,")
            .replace('  - {key: worst_late, label: 最高迟报率（自动）, format: "0.00%", value: {max: late_rates}}\n', "")
            .replace("value: {max: late_rates}", "value: late_rate"))
    rubric_file = tmp_path / "fictional-2100.yaml"
    rubric_file.write_text(text, encoding="utf-8")
    shutil.copy(office_year / "fictional-2100-notice.txt", tmp_path)
    data = tmp_path / "data.csv"
    data.write_text(DATA.replace("late_rates", "late_rate").replace("5%;12%", "12%").replace("20%;1%", "20%"),
                    encoding="utf-8")
    master = tmp_path / "m.xlsx"
    for args in (("new", "--rubric", rubric_file, "-o", master), ("fill", master, data), ("recompute", master),
                 ("handout", master, "-o", tmp_path / "ho")):
        code, _, err = cli(capsys, *args)
        assert code == 0, (args, err)
    assert L.CONCEALMENT not in load_workbook(master).sheetnames
    east = next((tmp_path / "ho").glob("*东区.xlsx"))
    assert L.CONCEALMENT not in load_workbook(east).sheetnames
    header, first = data.read_text(encoding="utf-8").splitlines()[:2]
    (tmp_path / "east.csv").write_text(f"{header}\n{first}\n", encoding="utf-8")
    for args in (("fill", east, tmp_path / "east.csv"), ("merge", master, east), ("recompute", master)):
        code, _, err = cli(capsys, *args)
        assert code == 0, (args, err)
    code, out, err = cli(capsys, "report", master, "--json")
    east_report = next(u for u in json.loads(out)["units"] if u["unit"] == "东区")
    assert Decimal(str(east_report["rules"]["1.3"])) == Decimal("8.8")  # 得分=（1-迟报率）*10 with 12 %
