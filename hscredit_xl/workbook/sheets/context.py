"""What every sheet builder is given: the rubric, the layout, the switch choices in force and the workbook."""
from __future__ import annotations

from dataclasses import dataclass

from openpyxl import Workbook

from ...rubric import Rubric
from ..layout import Layout


@dataclass
class SheetContext:
    rubric: Rubric
    lay: Layout
    choices: dict[str, str]
    wb: Workbook
