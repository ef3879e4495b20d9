"""How fast, and in how much memory, hostile inputs are refused (issue 15, item 6).

Each input is made from a real file (benchmarks/hostile_files.py) and given to the command that met it in the
security review, in a fresh process as a user runs it; the figure is that process's wall time and peak
resident memory (``os.wait4``). The goal: every refusal under 10 s and 500 MB, with exit 2 and a message that
says why. No test times anything; tests/test_bad_inputs.py checks the same refusals (smaller, with the limits
lowered) and their messages.

    python benchmarks/refusals.py              # all inputs, best of 3
    python benchmarks/refusals.py --repeat 1
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import hostile_files as hostile  # noqa: E402

GOAL_SECONDS, GOAL_MB = 10.0, 500.0


def run(args: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit code, stderr) of one command in a fresh process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, "-m", "hscredit_xl", *args], stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return seconds, usage.ru_maxrss / 1024, proc.returncode, text  # ru_maxrss: KB on Linux


def inputs(work: Path) -> list[dict]:
    from hscredit_xl.datafile import read_rows
    from hscredit_xl.rubric import load_rubric
    from hscredit_xl.workbook.book import OpenpyxlBook
    from hscredit_xl.workbook.demo import sample_path
    from hscredit_xl.workbook.fill import fill_book
    from hscredit_xl.workbook.template import build_template

    rows, _ = read_rows(sample_path(), load_rubric())
    master = work / "master.xlsx"
    OpenpyxlBook(master, build_template()).save(master)
    unit = work / "阳新县.xlsx"
    book = OpenpyxlBook(unit, build_template())
    fill_book(book, [rows[1]], [])
    book.save(unit)
    cases = [
        {"name": "unit file, 4,000,000 cells in a sheet never read (100,000 rows × 40)", "command": "merge",
         "file": hostile.add_unread_sheet(unit, work / "4M-cells.xlsx", 100_000, 40),
         "expect": "个单元格，远超模板的规模"},
        {"name": "unit file, 3,000,000 shared strings no cell uses", "command": "merge",
         "file": hostile.add_shared_strings(unit, work / "3M-strings.xlsx", 3_000_000),
         "expect": "个共享字符串，远超模板的规模"},
    ]
    for n in (30_000, 100_000):
        for repeated in (False, True):
            kind = "one name repeated" if repeated else "distinct unknown names"
            cases.append({"name": f"data file, header of {n:,} more columns ({kind})", "command": "score",
                          "file": hostile.wide_csv(sample_path(), work / f"wide-{n}-{int(repeated)}.csv", n, repeated),
                          "expect": "列名重复" if repeated else "未知的列名"})
    for case in cases:
        case["args"] = (["merge", str(master), str(case["file"]), "-o", str(work / "out.xlsx")]
                        if case["command"] == "merge" else ["score", str(case["file"])])
        case["bytes"] = case["file"].stat().st_size
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=HERE / "refusals.json")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="hscredit-bench-") as tmp:
        for case in inputs(Path(tmp)):
            samples = [run(case["args"]) for _ in range(args.repeat)]
            best = min(samples, key=lambda s: s[0])
            ok = all(code == 2 and case["expect"] in err for _, _, code, err in samples)
            results.append({"input": case["name"], "command": case["command"], "file_bytes": case["bytes"],
                            "seconds": round(best[0], 2), "peak_mb": round(max(s[1] for s in samples), 1),
                            "exit": best[2], "message_ok": ok,
                            "message": next((line for line in best[3].splitlines() if "[错误]" in line), "")})
            print(f"{case['name']}: {best[0]:.2f} s, {results[-1]['peak_mb']} MB, exit {best[2]}, "
                  f"message {'ok' if ok else 'MISSING'}", file=sys.stderr, flush=True)
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"| input | command | file | time (s, best of {args.repeat}) | peak memory (MB) | exit | goal (< {GOAL_SECONDS:g} s, "
          f"< {GOAL_MB:g} MB) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        met = r["seconds"] < GOAL_SECONDS and r["peak_mb"] < GOAL_MB and r["exit"] == 2 and r["message_ok"]
        print(f"| {r['input']} | `{r['command']}` | {r['file_bytes'] / 1e6:.1f} MB | {r['seconds']} | {r['peak_mb']} | "
              f"{r['exit']} | {'met' if met else '**not met**'} |")
    return 0 if all(r["exit"] == 2 and r["message_ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
