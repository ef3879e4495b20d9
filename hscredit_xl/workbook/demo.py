"""`hscredit-xl demo`: template → the six units' sample data → recompute → a scored workbook."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..datafile import read_rows
from ..engine import Result
from ..rubric import Rubric, load_rubric
from ..scoring import InputProblems
from .book import OpenpyxlBook
from .fill import fill_book
from .recompute import recompute
from .template import build_template

SAMPLE = "huangshi-2020-sample.csv"
SCORED_NAME = "hscredit_2020_sample.xlsx"  # the shipped rubric's (scored_name)


def sample_path() -> Path:
    return Path(str(resources.files("hscredit_xl.samples").joinpath(SAMPLE)))


def build_scored_sample(target: Path, rubric: Rubric | None = None, data: Path | None = None) -> tuple[Path, Result]:
    """A template filled with the sample data and recomputed, saved atomically at target. `rubric` (default: the
    shipped one) and `data` (default: the shipped sample) for another rubric and its data; InputProblems when
    the data does not fit the rubric."""
    rubric = rubric or load_rubric()
    rows, problems = read_rows(Path(data) if data else sample_path(), rubric)
    book = OpenpyxlBook(target, build_template(rubric))
    fill_book(book, rows, problems, rubric=rubric)
    outcome = recompute(book, rubric=rubric)
    if not outcome.ok:  # the shipped sample is valid; this guards the shipped file itself
        raise InputProblems(outcome.problems)
    return book.save(target), outcome.result


def scored_name(rubric: Rubric) -> str:
    """The demo's workbook: named by the rubric's year (SCORED_NAME for the shipped 2020 rubric)."""
    return f"hscredit_{rubric.year}_sample.xlsx"


def _not_ours(out_dir: Path, name: str = SCORED_NAME) -> list[str]:
    """What a folder holds that the demo did not write (the demo writes only into a folder of its own)."""
    from .history import FOLDER

    if not out_dir.is_dir():
        return []
    ours = {name, FOLDER, f".{name}.hscredit-lock"}
    return sorted(p.name for p in out_dir.iterdir()
                  if p.name not in ours and not (p.name.startswith(f".{name}.") and p.name.endswith(".tmp")))


def run_demo(out_dir: Path, rubric: Rubric | None = None, data: Path | None = None) -> tuple[Path, Result]:
    """Write the scored sample into ``out_dir``: a new folder, or one holding nothing but an earlier demo's
    output (replaced, the earlier one kept in its history). Any other folder is refused (InputProblems)."""
    from ..inputs import ERROR, Problem

    out_dir = Path(out_dir)
    name = scored_name(rubric or load_rubric())
    if out_dir.exists() and not out_dir.is_dir():
        raise InputProblems([Problem(ERROR, "", str(out_dir), "示例输出文件夹", out_dir.name,
                                     "已存在同名文件，示例只写入它自己的文件夹", "请用 -o 指定一个新的文件夹")])
    others = _not_ours(out_dir, name)
    if others:
        shown = "、".join(others[:5]) + (" 等" if len(others) > 5 else "")
        raise InputProblems([Problem(ERROR, "", str(out_dir), "示例输出文件夹", shown,
                                     "文件夹中已有不是示例生成的文件；示例只写入它自己的文件夹，未写入任何文件",
                                     "请用 -o 指定一个新的（或空的）文件夹")])
    out_dir.mkdir(parents=True, exist_ok=True)
    return build_scored_sample(out_dir / name, rubric, data)
