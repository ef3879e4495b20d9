"""`hscredit-xl demo`: template → the six units' sample data → recompute → a scored workbook."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..datafile import read_rows
from ..engine import Result
from ..rubric import load_rubric
from ..scoring import InputProblems
from .book import OpenpyxlBook
from .fill import fill_book
from .recompute import recompute
from .template import build_template

SAMPLE = "huangshi-2020-sample.csv"
SCORED_NAME = "hscredit_2020_sample.xlsx"


def sample_path() -> Path:
    return Path(str(resources.files("hscredit_xl.samples").joinpath(SAMPLE)))


def build_scored_sample(target: Path) -> tuple[Path, Result]:
    """A template filled with the sample data and recomputed, saved atomically at target."""
    rows, problems = read_rows(sample_path(), load_rubric())
    book = OpenpyxlBook(target, build_template())
    fill_book(book, rows, problems)
    outcome = recompute(book)
    if not outcome.ok:  # the shipped sample is valid; this guards the shipped file itself
        raise InputProblems(outcome.problems)
    return book.save(target), outcome.result


def run_demo(out_dir: Path) -> tuple[Path, Result]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return build_scored_sample(out_dir / SCORED_NAME)
