"""Nothing lost, ever (issue 6): a process killed while it saves leaves the original workbook intact.

Every command that writes a workbook writes a temporary file `.<name>.<random>.tmp` next to the target and
replaces the target with it only when it is complete (atomic.atomic_output). Here a real process recomputes
(or merges into) a big workbook and is killed with SIGKILL — no cleanup code runs — the moment the temporary
file starts to fill; the target must be byte-for-byte what it was, and still open.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hscredit_xl.datafile import read_rows
from hscredit_xl.rubric import load_rubric
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.fill import fill_book
from hscredit_xl.workbook.recompute import read_inputs
from hscredit_xl.workbook.safety import open_untrusted
from hscredit_xl.workbook.template import build_template

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

ROOT = Path(__file__).resolve().parent.parent
N_UNITS = 150  # big enough that saving takes a good fraction of a second
UNITS = [f"测试单位{i:03d}" for i in range(N_UNITS)]


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("big")
    rows, _ = read_rows(sample_path(), load_rubric())
    data = [dict(rows[i % len(rows)], unit=unit) for i, unit in enumerate(UNITS)]
    workbook = folder / "big.xlsx"
    book = OpenpyxlBook(workbook, build_template(units=UNITS))
    fill_book(book, data, [])
    book.save(workbook)
    unit_file = folder / "unit.xlsx"  # one unit's own file, for merge
    book = OpenpyxlBook(unit_file, build_template(units=[UNITS[7]]))
    fill_book(book, [dict(data[7], objections="3")], [])
    book.save(unit_file)
    return {"workbook": workbook, "unit": unit_file}


def temp_files(folder: Path, name: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(f".{name}.") and p.name.endswith(".tmp")]


def kill_while_saving(args: list[str], target: Path, timeout: float = 240) -> bool:
    """Run the command; SIGKILL it once its temporary file holds data. True when it was killed mid-save."""
    proc = subprocess.Popen([sys.executable, "-m", "hscredit_xl", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            tmp = temp_files(target.parent, target.name)
            if tmp:
                try:
                    started = tmp[0].stat().st_size > 0
                except FileNotFoundError:  # replaced already: too late this time
                    started = False
                if started:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(30)
                    return proc.returncode == -signal.SIGKILL
            if proc.poll() is not None:
                return False
            time.sleep(0.002)
        raise AssertionError("the command neither saved nor finished in time")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()


@pytest.mark.parametrize("command", ["recompute", "merge"])
def test_killed_while_saving_the_original_is_intact(command, big, tmp_path):
    target = tmp_path / "big.xlsx"
    for attempt in range(3):
        target.write_bytes(big["workbook"].read_bytes())
        original = target.read_bytes()
        # the unit file changes a value the master holds: merge takes it only with --replace (issue 11)
        args = [command, str(target)] + ([str(big["unit"]), "--replace"] if command == "merge" else [])
        if kill_while_saving(args, target):
            break
    else:
        pytest.fail("could not catch the process while it saved (it always finished first)")
    assert temp_files(tmp_path, target.name), "killed mid-save: the half-written temp file is there"
    assert target.read_bytes() == original, "the original was changed"
    # and it still opens, as the tool's own reader sees it
    inp = read_inputs(OpenpyxlBook(target, open_untrusted(target)))
    assert not [p for p in inp.problems if p.level == "error"]
    assert len(inp.layout.units) == N_UNITS
    # the next run is not disturbed by the leftover temp file
    done = subprocess.run([sys.executable, "-m", "hscredit_xl", "report", str(target)], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=240)
    assert done.returncode == 0, done.stderr
