"""Regenerate the workbooks committed under workbook/ (run after changing the rubric or the template).

    python scripts/build_workbooks.py [--out DIR]

tests/test_template.py fails when workbook/hscredit_2020.xlsx is stale against the generator, and
tests/test_committed_sample.py when workbook/hscredit_2020_sample.xlsx (the scored sample) is.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hscredit_xl.workbook.demo import SCORED_NAME, build_scored_sample  # noqa: E402
from hscredit_xl.workbook.template import write_template  # noqa: E402

TEMPLATE_NAME = "hscredit_2020.xlsx"


def build_template_workbook(out_dir: Path) -> Path:
    """The blank template for the shipped 2020 rubric, with every default."""
    return write_template(out_dir / TEMPLATE_NAME)


def build_sample_workbook(out_dir: Path) -> Path:
    """The template filled with the six units' sample data and recomputed (what `hscredit-xl demo` writes)."""
    return build_scored_sample(out_dir / SCORED_NAME)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the committed workbooks.")
    parser.add_argument("--out", type=Path, default=ROOT / "workbook", help="target folder (default: workbook/)")
    args = parser.parse_args(argv)
    for path in (build_template_workbook(args.out), build_sample_workbook(args.out)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
