"""Recompute's own work, in process, without the file load and save (which openpyxl costs either way).

    python benchmarks/own_work.py [--sizes 6,300,3000] [--repeat 3]

run.py measures whole commands; the difference of two ~70 s process times at 3,000 units is too noisy to show
how recompute's own work grows, so this measures it directly: read_inputs + score + write_results on a loaded
workbook, best of N, and the growth exponent between sizes (n log n between 300 and 3,000 units is 1.15).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import openpyxl  # noqa: E402
from datagen import unit_rows  # noqa: E402

from hscredit_xl.workbook import recompute as R  # noqa: E402
from hscredit_xl.workbook.book import OpenpyxlBook  # noqa: E402
from hscredit_xl.workbook.fill import fill_book  # noqa: E402
from hscredit_xl.workbook.template import build_template  # noqa: E402


def filled_workbook(n: int, folder: Path) -> Path:
    rows = unit_rows(n)
    path = folder / f"units{n}.xlsx"
    book = OpenpyxlBook(path, build_template(units=[r["unit"] for r in rows],
                                             public_service=[i % 3 == 0 for i in range(n)]))
    fill_book(book, [{k: str(v) for k, v in r.items()} for r in rows])
    book.save(path)
    return path


def own_work(path: Path, repeat: int) -> dict[str, float]:
    best: dict[str, float] = {}
    for _ in range(repeat):
        book = OpenpyxlBook(path, openpyxl.load_workbook(path))
        t0 = time.perf_counter()
        inputs = R.read_inputs(book)
        t1 = time.perf_counter()
        result = R.score_inputs(inputs)
        t2 = time.perf_counter()
        R.write_results(book, inputs, result)
        t3 = time.perf_counter()
        for key, value in (("read", t1 - t0), ("score", t2 - t1), ("write", t3 - t2), ("total", t3 - t0)):
            best[key] = min(best.get(key, math.inf), value)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="6,300,3000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            results[n] = own_work(filled_workbook(n, Path(folder)), args.repeat)
    print("| units | read inputs (s) | score (s) | write results (s) | own work (s) | growth exponent |")
    print("|---|---|---|---|---|---|")
    previous = None
    for n in sizes:
        r = results[n]
        exponent = "" if previous is None else f"{math.log(r['total'] / results[previous]['total']) / math.log(n / previous):.2f}"
        print(f"| {n:,} | {r['read']:.3f} | {r['score']:.3f} | {r['write']:.3f} | {r['total']:.3f} | {exponent} |")
        previous = n
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
