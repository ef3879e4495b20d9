"""`hscredit-xl handout MASTER -o DIR`: one 填报版 per unit, from the city's master workbook.

A 填报版 holds its unit alone (no other unit's name or data anywhere) and only native formulas that Excel 2010+,
WPS and LibreOffice all compute: no HS_ call, no macro. It takes the master's unit list (the unit's 1.3 flag)
and switch choices (its self-total formulas follow A5 and A9); `merge` brings it back.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..inputs import ERROR
from ..rubric import Rubric
from ..scoring import InputProblems
from .atomic import refuse_existing, save_workbook_atomic
from .recompute import read_structure, require_master
from .template import build_handout
from .xlsxfile import XlsxBook

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def handout_name(rubric: Rubric, unit: str) -> str:
    """The 填报版's file name: it holds the unit's name, so a returned file says whose it is."""
    return f"{rubric.year}年信用考评填报-{_UNSAFE.sub('_', unit).strip(' .') or '单位'}.xlsx"


def write_handouts(master: Path, out_dir: Path, force: bool = False, rubric: Rubric | None = None) -> list[Path]:
    """Write every unit's 填报版 into out_dir; raises InputProblems (nothing written) when the master is not a
    template, or when a file would be replaced without `force`. Each 填报版 records the master's rubric
    (`rubric`: the one given with --rubric, default the one the master records)."""
    master = Path(master)
    book = XlsxBook(master)
    inp = read_structure(book, rubric)
    if any(p.level == ERROR for p in inp.problems):
        raise InputProblems([replace(p, field=f"{master.name}：{p.field}") for p in inp.problems])
    require_master(inp)
    lay, rubric = inp.layout, inp.rubric
    choices = dict(rubric.default_choices, **inp.choices)
    targets = [(unit, Path(out_dir) / handout_name(rubric, unit)) for unit in lay.units]
    refused = []
    for unit, path in targets:  # every file that would be replaced is named, not only the first
        try:
            refuse_existing(path, force)
        except InputProblems as exc:
            refused += [replace(p, unit=unit) for p in exc.problems]
    if refused:
        raise InputProblems(refused)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for unit, path in targets:
        wb = build_handout(rubric, lay.units, lay.public_service, unit, choices)
        written.append(save_workbook_atomic(wb, path))
    return written
