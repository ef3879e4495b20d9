"""Time the worksheet functions of hscredit_xl.udfs as plain Python calls.

Run: python benchmarks/bench_udfs.py
Prints microseconds per call for a scalar call of every function, and
milliseconds for one array call scoring 3,000 units with HS_RANKSCORE and
HS_TIERSCORE (the way a worksheet scores a whole column in one formula).
"""
from __future__ import annotations

import random
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hscredit_xl.udfs import (  # noqa: E402
    HS_COUNTSCORE,
    HS_FLAGSCORE,
    HS_PLACESCORE,
    HS_PRORATE,
    HS_RANKSCORE,
    HS_RATESCORE,
    HS_TIERSCORE,
    HS_TOTAL,
)

SIX_PEERS = [[912345.0], [803211.0], [1203344.0], [455120.0], [803211.0], [99821.0]]

SCALAR_CALLS = {
    "HS_RANKSCORE (6 peers)": lambda: HS_RANKSCORE(803211.0, SIX_PEERS, 10, 2),
    "HS_PLACESCORE (6 peers)": lambda: HS_PLACESCORE(803211.0, SIX_PEERS, [10, 5, 1]),
    "HS_TIERSCORE": lambda: HS_TIERSCORE(0.8, [1, 0.8, 0.4], [10, 6, 3]),
    "HS_RATESCORE": lambda: HS_RATESCORE(0.85, 5),
    "HS_RATESCORE ('85 %', inverse)": lambda: HS_RATESCORE("85 %", 10, True),
    "HS_COUNTSCORE": lambda: HS_COUNTSCORE(2, 1, 3),
    "HS_FLAGSCORE": lambda: HS_FLAGSCORE("是", 2),
    "HS_PRORATE": lambda: HS_PRORATE(81.5, 90),
    "HS_TOTAL": lambda: HS_TOTAL(88.5, 6, 0),
}


def per_call(fn, seconds: float = 0.3) -> float:
    """Best-of-5 seconds per call, with the loop count chosen by timeit."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    number = max(1, int(number * seconds / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number


def main() -> None:
    print(f"Python {sys.version.split()[0]}")
    print("scalar calls (µs per call):")
    for name, fn in SCALAR_CALLS.items():
        print(f"  {name:40s} {per_call(fn) * 1e6:8.2f}")

    rng = random.Random(2020)
    units = 3000
    volumes = [[float(rng.randint(0, 2_000_000))] for _ in range(units)]
    ratios = [[round(rng.random() * 1.2, 4)] for _ in range(units)]
    array_calls = {
        f"HS_RANKSCORE ({units} units among {units})": lambda: HS_RANKSCORE(volumes, volumes, 10, 2),
        f"HS_TIERSCORE ({units} units)": lambda: HS_TIERSCORE(ratios, [1, 0.8, 0.4], [10, 6, 3]),
    }
    print("array calls (ms per call, µs per unit):")
    for name, fn in array_calls.items():
        seconds = per_call(fn, seconds=1.0)
        print(f"  {name:40s} {seconds * 1e3:8.2f} ms  {seconds * 1e6 / units:6.2f} µs/unit")


if __name__ == "__main__":
    main()
