"""From a data file to a result: read, validate, score (what `hscredit-xl score` does)."""
from __future__ import annotations

from pathlib import Path

from .datafile import read_rows
from .engine import Result, score_units
from .inputs import ERROR, Problem, parse_units
from .rubric import Rubric, load_rubric


class InputProblems(Exception):
    """The input has problems; every one of them is listed, none is fixed silently."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} 个问题")
        self.problems = problems


def score_rows(rows: list[dict], rubric: Rubric | None = None, *, choices: dict | None = None,
               public_service: dict | None = None, locate=None, weights: dict | None = None,
               problems: list[Problem] | None = None) -> Result:
    """Validate and score rows keyed by data key; raises InputProblems listing every error."""
    rubric = rubric or load_rubric()
    all_choices = dict(rubric.default_choices, **(choices or {}))
    units, found = parse_units(rubric, rows, choices=all_choices, public_service=public_service, locate=locate)
    found = list(problems or []) + found
    if not units and not any(p.level == ERROR for p in found):
        found.append(Problem(ERROR, "", "unit", "单位名称", "", "没有任何单位的数据，至少应有一行"))
    if any(p.level == ERROR for p in found):
        raise InputProblems(found)
    result = score_units(rubric, units, all_choices, weights)
    result.problems = found + result.problems
    if result.errors:
        raise InputProblems(result.problems)
    return result


def score_file(path: Path, rubric: Rubric | None = None, units=None) -> Result:
    """Score a data file; ``units`` (unitlist.UnitList, default the rubric's list) is who must be in it."""
    from .unitlist import check_unit_names, rubric_units

    rubric = rubric or load_rubric()
    units = units or rubric_units(rubric)
    rows, problems = read_rows(path, rubric)
    if not rows and any(p.level == ERROR for p in problems):
        raise InputProblems(problems)
    if rows or not problems:  # a file whose every line is broken has said so already
        problems = problems + check_unit_names([r.get("unit") for r in rows], units.names)
    # the file's shape problems and every value problem are listed together; a column missing from the
    # header is said once there, not again for every unit
    missing = {p.value for p in problems if p.label == "表头" and p.expected.startswith("缺少")}
    try:
        return score_rows(rows, rubric, problems=problems, public_service=units.flags())
    except InputProblems as exc:
        raise InputProblems([p for p in exc.problems if p.field not in missing or p in problems]) from None
