"""The Windows checklist's small test (docs/windows-checklist.md §三): every value it tells a person to expect
is what our worksheet functions compute, so the checklist cannot drift from the code."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from hscredit_xl import udfs

CHECKLIST = Path(__file__).resolve().parent.parent / "docs" / "windows-checklist.md"
ROW = re.compile(r"^\| (A\d+) \| `=(HS_[A-Z]+\(.*\))` \| ([-\d.]+) \|", re.M)


def rows() -> list[tuple[str, str, str]]:
    return ROW.findall(CHECKLIST.read_text(encoding="utf-8"))


def as_python(formula: str) -> str:
    """An Excel formula with constants only, as a Python call: {1,0.8} → [1,0.8], TRUE → True."""
    return formula.replace("{", "[").replace("}", "]").replace("TRUE", "True").replace("FALSE", "False")


def test_the_checklist_has_its_numeric_examples():
    assert len(rows()) >= 15


@pytest.mark.parametrize("cell,formula,expected", rows(), ids=[r[0] for r in rows()])
def test_each_value_the_checklist_expects_is_what_the_function_gives(cell, formula, expected):
    namespace = {name: getattr(udfs, name) for name in dir(udfs) if name.startswith("HS_")}
    got = eval(as_python(formula), {"__builtins__": {}}, namespace)  # noqa: S307 - constants from our own doc
    assert got == float(expected), f"{cell}: {formula} gives {got}, the checklist says {expected}"
