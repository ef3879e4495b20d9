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


# ------------------------------------------------------------------------------------------------ export
# `export --pdf` writes two files as one step (issue 15): the values-only copy and the PDF appear together or
# not at all. LibreOffice is replaced by a stand-in that writes a small PDF (or waits, to be killed there),
# so that the moments of the kill are exact.
EXPORT_SCRIPT = r"""
import os, signal, sys, time
from pathlib import Path
import hscredit_xl.export as e

workbook, out, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
e.find_soffice = lambda: "soffice"

def fake_pdf(src, dst, **kw):
    if mode == "wait-in-pdf":
        print("IN-PDF", flush=True)
        time.sleep(120)
    Path(dst).write_bytes(b"%PDF-1.4 new")
    return Path(dst)

e.to_pdf = fake_pdf
if mode == "kill-between":  # SIGKILL right after the new copy replaced the old one, before the PDF did
    real = os.replace
    def replace(a, b):
        real(a, b)
        if str(b).endswith(e.EXPORT_SUFFIX):
            os.kill(os.getpid(), signal.SIGKILL)
    os.replace = replace
e.export(workbook, out, pdf=True)
print("DONE", flush=True)
"""


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    from hscredit_xl.workbook.demo import build_scored_sample

    return build_scored_sample(tmp_path_factory.mktemp("scored") / "考评.xlsx")[0]


def old_pair(out: Path) -> dict[str, bytes]:
    from hscredit_xl.export import export_names

    out.mkdir(exist_ok=True)
    xlsx, pdf = export_names(Path("考评.xlsx"), out)
    xlsx.write_bytes(b"the old values-only copy")
    pdf.write_bytes(b"%PDF the old PDF")
    return {xlsx.name: xlsx.read_bytes(), pdf.name: pdf.read_bytes()}


def folder(out: Path) -> dict[str, bytes]:
    """Its files (the history folder beside them keeps replaced copies, issue 11)."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def run_export(scored: Path, out: Path, mode: str, tmp: Path) -> subprocess.Popen:
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp))
    return subprocess.Popen([sys.executable, "-c", EXPORT_SCRIPT, str(scored), str(out), mode], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_export_killed_between_the_two_files_never_shows_a_new_copy_beside_an_old_pdf(scored, tmp_path):
    from hscredit_xl.export import EXPORT_SUFFIX, PDF_SUFFIX, recover_export

    out = tmp_path / "out"
    before = old_pair(out)
    proc = run_export(scored, out, "kill-between", tmp_path / "tmp")
    proc.communicate(timeout=240)
    assert proc.returncode == -signal.SIGKILL
    xlsx, pdf = out / f"考评{EXPORT_SUFFIX}", out / f"考评{PDF_SUFFIX}"
    assert xlsx.read_bytes() != before[xlsx.name], "killed after the copy was replaced"
    assert not pdf.exists(), "the old PDF must not stand beside the new copy"
    # the next export (or anything calling recover_export) puts the old pair back, and leaves nothing else
    assert recover_export([xlsx, pdf])
    assert folder(out) == before
    # and the export after it writes the new pair, nothing else
    proc = run_export(scored, out, "plain", tmp_path / "tmp")
    assert proc.communicate(timeout=240)[0].strip() == "DONE"
    after = folder(out)
    assert sorted(after) == sorted(before) and after[pdf.name] == b"%PDF-1.4 new"
    assert after[xlsx.name].startswith(b"PK")


def test_export_killed_while_printing_leaves_the_old_pair_and_its_temp_folder_is_cleaned_next_time(
        scored, tmp_path, monkeypatch):
    import tempfile

    from hscredit_xl.office import remove_stale_temp_dirs

    out, tmp = tmp_path / "out", tmp_path / "tmp"
    before = old_pair(out)
    proc = run_export(scored, out, "wait-in-pdf", tmp)
    assert proc.stdout.readline().strip() == "IN-PDF"
    left = list(tmp.glob(f"hscredit-export-{proc.pid}-*"))
    assert left and (left[0] / "values.xlsx").is_file(), "the temp folder holds the copy being made"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert folder(out) == before, "the old pair is untouched, and nothing new is beside it"
    assert left[0].exists(), "a SIGKILL runs no clean-up"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    assert remove_stale_temp_dirs() == left  # the next run removes it: its process is gone
    assert list(tmp.iterdir()) == []


def test_export_terminated_removes_its_temp_folder(scored, tmp_path):
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    before = old_pair(out)
    proc = run_export(scored, out, "wait-in-pdf", tmp)
    assert proc.stdout.readline().strip() == "IN-PDF"
    assert list(tmp.glob(f"hscredit-export-{proc.pid}-*"))
    proc.terminate()  # SIGTERM, as a service manager or `kill` sends it
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert list(tmp.iterdir()) == [], "the temp folder (a copy of the data) is removed on SIGTERM"
    assert folder(out) == before
