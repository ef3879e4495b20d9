"""workbook/hscredit_2020_sample.xlsx — the scored sample — is what the code makes today."""
from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from test_template import _first_difference, snapshot

from hscredit_xl.workbook import layout as L
from hscredit_xl.workbook.demo import SCORED_NAME, build_scored_sample
from hscredit_xl.workbook.recompute import STAMP_PREFIX

COMMITTED = Path(__file__).resolve().parent.parent / "workbook" / SCORED_NAME


def without_stamps(snap: dict) -> dict:
    """The recompute stamp carries the time of the run, 考核评价结果 its date: everything else must be equal."""
    for name in snap["sheets"]:
        cells = snap[name]["cells"]
        for coordinate in [k for k, v in cells.items() if isinstance(v[0], str) and (
                v[0].startswith(STAMP_PREFIX) or (name == L.RESULT and re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", v[0])))]:
            del cells[coordinate]
    return snap


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> openpyxl.Workbook:
    path, _ = build_scored_sample(tmp_path_factory.mktemp("sample") / SCORED_NAME)
    return openpyxl.load_workbook(path)


def test_committed_scored_sample_is_not_stale(fresh):
    assert COMMITTED.exists(), f"{COMMITTED} missing: run python scripts/build_workbooks.py"
    old, new = without_stamps(snapshot(openpyxl.load_workbook(COMMITTED))), without_stamps(snapshot(fresh))
    assert old == new, ("workbook/hscredit_2020_sample.xlsx is stale (run python scripts/build_workbooks.py): "
                        + _first_difference(old, new))


def test_the_sample_is_scored_and_stamped(fresh):
    summary = fresh["汇总"]
    assert summary["B2"].value.startswith(STAMP_PREFIX) and summary["A2"].value is None
    assert summary["B5"].value is not None  # 1.1 of 大冶市 written by recompute
