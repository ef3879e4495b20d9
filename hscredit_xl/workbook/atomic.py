"""Write a file so that it is either the old one or the complete new one, never half of each.

The new content goes to a temporary file in the target's own folder (same file system, so the final
``os.replace`` is atomic), is flushed to disk, and only then replaces the target. On any exception -- an
error while saving, a full disk, Ctrl-C -- the temporary file is removed and the target is untouched.

Just before the replace, the one save path every writer shares also: refuses when the target changed since a
command holding its writer lock read it (lock.py), and keeps the workbook it replaces (history.py).
"""
from __future__ import annotations

import glob
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


STALE_SECONDS = 15 * 60  # no save of ours takes this long: an older temp file is left by a killed process


def remove_stale_temporaries(target: Path, now: float | None = None) -> list[Path]:
    """Temp files of ``target`` that a killed process left behind (a kill can't run our clean-up)."""
    now = time.time() if now is None else now
    removed = []
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        try:
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
                removed.append(leftover)
        except OSError:
            continue  # gone already, or not ours to remove
    return removed


def refuse_existing(path: str | os.PathLike, force: bool, option: str = "--force") -> None:
    """For commands that write a blank (new, handout): an existing file is refused unless ``force``.

    Raises InputProblems naming the path; with ``force`` the file is replaced (its history keeps it).
    """
    from ..inputs import ERROR, Problem
    from ..scoring import InputProblems

    target = Path(path)
    if force or not (target.exists() or target.is_symlink()):
        return
    what = "文件夹" if target.is_dir() else "文件"
    raise InputProblems([Problem(ERROR, "", str(target), "输出文件", target.name,
                                 f"已存在同名{what}，为免覆盖已有的工作，未写入任何文件",
                                 f"请换一个文件名（-o），或确认要替换时加 {option}（原文件会保留在历史版本中）")])


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Yield a binary file to write; on a clean exit it replaces ``path``, on an exception it vanishes.

    A workbook it replaces is kept in the history first; a workbook changed since its writer lock was taken
    is not replaced (InputProblems)."""
    from . import history, lock

    target = Path(path)
    folder = target.parent
    remove_stale_temporaries(target)
    mode = _mode_for(target)
    tmp = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=".tmp", delete=False)
    tmp_path = Path(tmp.name)
    try:
        with tmp:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_path, mode)  # NamedTemporaryFile is 0600; keep the mode a normal save would give
        lock.check_unchanged(target)
        history.keep_version(target)
        os.replace(tmp_path, target)
        lock.note_written(target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def save_workbook_atomic(wb: Any, path: str | os.PathLike) -> Path:
    """Save an openpyxl workbook to ``path`` atomically (see the module docstring); return the path.

    A failure at any point leaves an existing file at ``path`` byte-for-byte as it was, and no temporary
    file behind.
    """
    from .fastsave import save_workbook_fast

    target = Path(path)
    with atomic_output(target) as handle:
        save_workbook_fast(wb, handle) if hasattr(wb, "_sheets") else wb.save(handle)
    return target


def _mode_for(target: Path) -> int:
    """The permission bits the file should end with: the existing file's, else what the umask allows."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
