"""Data files in people's words (issue 12): Chinese headers read as keys, a blank file to fill, README's table."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from hscredit_xl.datafile import (accepted_names, column_names, header_keys, key_table, parse_csv, read_rows,
                                  readme_with_key_table, write_blank)
from hscredit_xl.inputs import allowed_keys
from hscredit_xl.rubric import load_rubric
from hscredit_xl.scoring import score_file

RUBRIC = load_rubric()
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "hscredit_xl" / "samples" / "huangshi-2020-sample.csv"
LABEL = dict(column_names(RUBRIC))


def sample_records() -> list[list[str]]:
    return list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8-sig"))))


def write_records(path: Path, records: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    path.write_text(buffer.getvalue(), encoding=encoding)
    return path


def view(result) -> list:
    return [(u.unit, u.rules, u.total, u.final, u.rank) for u in result.units]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_chinese_headers_score_the_same_as_keys(tmp_path, encoding):
    records = sample_records()
    chinese = [[LABEL[k] for k in records[0]], *records[1:]]
    by_keys = score_file(SAMPLE)
    by_labels = score_file(write_records(tmp_path / "中文表头.csv", chinese, encoding))
    assert view(by_labels) == view(by_keys)
    assert by_labels.units[0].why == by_keys.units[0].why


def test_headers_may_be_mixed_and_carry_the_templates_notes(tmp_path):
    records = sample_records()
    header = []
    for n, key in enumerate(records[0]):
        if n % 3 == 0:
            header.append(key)
        elif n % 3 == 1:
            header.append(LABEL[key])
        else:  # as 数据录入 shows it: the name, then its unit and range; full-width or not
            header.append(f"{LABEL[key]}（说明，≥0）" if n % 2 else f" {LABEL[key]} (说明) ")
    result = score_file(write_records(tmp_path / "混用.csv", [header, *records[1:]]))
    assert view(result) == view(score_file(SAMPLE))


def test_template_headers_map_to_their_keys():
    # what 数据录入 prints (sheets/data.py data_header), and the unit column's own header
    headers = ["单位", "1月入库总量（条，≥0 整数）", "12月双公示数据上报合格率（%，0～100%）",
               "公共服务领域数据采集种类数（类，≥0 整数）［仅参加1.3考核的单位填写］", "信用培训评分（据佐证资料）（分，0～3）",
               "综合评定调整分（分，-100～100，可不填）", "调整理由（文字，≤200字；填了调整分时必填）", "自评得分 1.2.3", "自评总分"]
    assert header_keys(headers, RUBRIC) == ["unit", "volume_m01", "dec_pass_rate", "public_service_categories",
                                            "training_score", "adjustment", "adjustment_reason", "self_1.2.3",
                                            "self_total"]


def test_every_key_and_every_label_is_accepted():
    names = column_names(RUBRIC)
    assert [k for k, _ in names] == allowed_keys(RUBRIC)
    assert header_keys([k for k, _ in names], RUBRIC) == [k for k, _ in names]
    assert header_keys([label for _, label in names], RUBRIC) == [k for k, _ in names]
    assert len({label for _, label in names}) == len(names)  # no two columns share a name


def test_unknown_header_lists_the_accepted_names_in_both_forms_and_suggests_one():
    text = "unit,1月入库总,乱写的列\n大冶市,1,2\n"
    _, problems = parse_csv(text, RUBRIC, "数据.csv")
    unknown = [p for p in problems if "未知的列名" in p.expected]
    assert [p.value for p in unknown] == ["1月入库总", "乱写的列"]
    first = unknown[0].message()
    assert "是否为「1月入库总量」？" in first
    for key, label in column_names(RUBRIC):
        if not key.startswith("self_") or key == "self_total":
            assert f"{key}（{label}）" in first
    assert "self_<规则编号>" in first and "自评得分 <规则编号>" in first
    assert accepted_names(RUBRIC) in unknown[0].hint
    assert "见上一条" in unknown[1].message()  # the long list once, not once per column


def test_a_key_and_its_label_together_are_one_column_twice(tmp_path):
    records = sample_records()
    header = records[0] + ["单位名称"]
    rows = [r + [r[0]] for r in records[1:]]
    _, problems = read_rows(write_records(tmp_path / "重复.csv", [header, *rows]), RUBRIC)
    assert any(p.value == "unit" and "重复" in p.expected for p in problems)


def test_blank_data_file_has_chinese_headers_and_one_row_per_unit(tmp_path):
    path = write_blank(tmp_path / "数据.csv", RUBRIC)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8
    records = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    header = records[0]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header)
    assert not any(h in allowed_keys(RUBRIC) for h in header)  # names, not keys
    assert [r[0] for r in records[1:]] == [u.name for u in RUBRIC.units]
    assert all(cell == "" for r in records[1:] for cell in r[1:])
    # read back, every header is the column it names
    assert header_keys(header, RUBRIC) == [f.key for f in RUBRIC.fields] + ["adjustment", "adjustment_reason"]


def test_blank_data_file_filled_in_scores_like_the_sample(tmp_path):
    path = write_blank(tmp_path / "数据.csv", RUBRIC)
    header = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[0]
    sample = sample_records()
    by_key = {r[0]: dict(zip(sample[0], r)) for r in sample[1:]}
    keys = header_keys(header, RUBRIC)
    rows = [[by_key[u.name].get(k, "") for k in keys] for u in RUBRIC.units]
    filled = write_records(tmp_path / "填好.csv", [header, *rows])
    assert view(score_file(filled)) == view(score_file(SAMPLE))


def test_readme_table_is_the_one_generated_from_the_rubric():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_key_table(readme, RUBRIC) == readme, "README 的数据键表已过时：python scripts/data_keys.py"
    table = key_table(RUBRIC)
    for f in RUBRIC.fields:  # the table names every key with its label, rule and type
        line = next(line for line in table.splitlines() if line.startswith(f"| `{f.key}` |"))
        assert f"| {f.label} |" in line and (f.rule or "—") in line
    assert "0～3 的分数" in table and "比率 0～100%" in table


def test_readme_check_can_fail():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stale = readme.replace("| `dec_pass_rate` | 12月双公示数据上报合格率 |", "| `dec_pass_rate` | 合格率 |")
    assert stale != readme
    assert readme_with_key_table(stale, RUBRIC) != stale
