"""Generate the template workbook from the rubric data (`hscredit-xl new`).

Nothing in the template is typed by hand: every label comes from the rubric file, every position and every
formula from `layout.Layout`, so a new year's rubric yields its own template and the reader, the writer and
recompute find each cell where the sheet builders put it. The workbook is a composition of sheets
(`sheets/`, one module each); the cell conventions are in `sheets/style.py`.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

from .. import __version__
from ..engine import Switches
from ..rubric import Rubric, load_rubric
from . import layout as L
from .atomic import save_workbook_atomic
from .layout import Layout
from .sheets import (check, concealment, data, evidence, form, guide, handout_guide, result, returns, review,
                     scores, self_scores, settings, style, submission, summary)
from .sheets.context import SheetContext
# re-exported: the names tests and other modules know the template by
from .sheets.data import data_header  # noqa: F401
from .sheets.form import item_label, points_label, scoring_segments  # noqa: F401
from .sheets.style import COMPUTED_STYLE, HEADER_STYLE, INPUT_FILL, INPUT_STYLE  # noqa: F401

# ------------------------------------------------------------------------------------------------ public API
def build_template(rubric: Rubric | None = None, units: Sequence[str] | None = None,
                   public_service: Sequence[bool] | None = None,
                   choices: dict[str, str] | None = None) -> Workbook:
    """The template workbook for `rubric` (default: the shipped 2020 rubric) and its units.

    `units` defaults to the rubric's list; `public_service` says per unit whether it is assessed on the
    rule that only some units take (1.3), by default the rubric's flag for a unit it names, else 否.
    `choices` picks switch options (decisions A1–A12); missing switches take their default.
    """
    rubric = rubric or load_rubric()
    unit_names, flags = _units(rubric, units, public_service)
    full_choices = Switches(rubric, choices).choices
    lay = Layout.build(rubric, unit_names, flags)
    return _compose_master(SheetContext(rubric, lay, full_choices, Workbook()))


def write_template(path: str | os.PathLike, rubric: Rubric | None = None, units: Sequence[str] | None = None,
                   public_service: Sequence[bool] | None = None,
                   choices: dict[str, str] | None = None) -> Path:
    """Build the template and save it to `path` atomically (an existing file is replaced only when done)."""
    target = Path(path)
    wb = build_template(rubric, units, public_service, choices)
    target.parent.mkdir(parents=True, exist_ok=True)
    return save_workbook_atomic(wb, target)


def build_handout(rubric: Rubric, units: Sequence[str], public_service: Sequence[bool], unit: str,
                  choices: dict[str, str] | None = None) -> Workbook:
    """A unit's 填报版: that unit alone, native formulas only (no HS_ call, no macro), for any spreadsheet program.

    `units` and `public_service` are the master's list (the unit's flag is taken from it); `choices` the
    master's switch choices, which the 填报版's self-total formulas follow.
    """
    index = list(units).index(unit)
    lay = Layout.build(rubric, [unit], [bool(public_service[index])], handout=True)
    return _compose(SheetContext(rubric, lay, Switches(rubric, choices).choices, Workbook()),
                    [handout_guide.build, submission.build, data.build, *_detail_sheets(rubric),
                     lambda ctx: form.build(ctx, unit), evidence.build])


def _detail_sheets(rubric: Rubric) -> list:
    """瞒报率明细, for a rubric with a field of one rate per department (type `rates`); none otherwise."""
    return [concealment.build] if rubric.rates_key else []


def _compose(ctx: SheetContext, parts) -> Workbook:
    """A workbook of the given sheet builders, in order, with the shared styles and document properties."""
    wb = ctx.wb
    wb.remove(wb.active)
    style.add_named_styles(wb)
    doc = ctx.rubric.document
    wb.properties.title = doc["attachment"]
    wb.properties.subject = f"{doc['number']} {doc['title']}"
    wb.properties.creator = f"hscredit-xl {__version__}"
    wb.calculation.fullCalcOnLoad = True  # no cached values in a fresh workbook: compute on open
    for build in parts:
        build(ctx)
    for ws in wb.worksheets:
        style.fit_row_heights(ws)
    wb.active = 0
    return wb


def _compose_master(ctx: SheetContext) -> Workbook:
    """The master: the same sheets for any number of units (the per-unit 考评表 are made by export and handout;
    the master shows one, for the unit picked on it)."""
    return _compose(ctx, [guide.build, settings.build, data.build, *_detail_sheets(ctx.rubric), scores.build,
                          self_scores.build, form.build_picker, review.build, result.build, summary.build,
                          returns.build, evidence.build, check.build])


def _units(rubric: Rubric, units: Sequence[str] | None,
           public_service: Sequence[bool] | None) -> tuple[list[str], list[bool]]:
    if units is None:
        names = [u.name for u in rubric.units]
        flags = [u.public_service for u in rubric.units] if public_service is None else list(public_service)
    else:
        names = [str(u).strip() for u in units]
        known = {u.name: u.public_service for u in rubric.units}
        flags = [known.get(n, False) for n in names] if public_service is None else [bool(f) for f in public_service]
    if not names:
        raise ValueError("单位名单为空：至少需要一个单位")
    if len(flags) != len(names):
        raise ValueError(f"单位分组（{rubric.group.label if rubric.group else '是否参加'}）的标记有 {len(flags)} 个，"
                         f"单位有 {len(names)} 个，应一一对应")
    seen: dict[str, str] = {}
    for name in names:
        if not name:
            raise ValueError("单位名称不能为空")
        sheet = L.form_sheet_name(name).casefold()
        if sheet in seen:
            raise ValueError(f"单位「{name}」与「{seen[sheet]}」重名或考评表名称相同（工作表名最长31个字符）")
        seen[sheet] = name
    return names, flags


