"""The safety net: every workbook a command replaces is kept, the last KEEP of them, beside it.

``考评2020.xlsx`` replaced by fill, recompute, merge, ``new --force`` or a restore: its previous bytes go to
``.hscredit-history/考评2020.xlsx/<time it was replaced>.xlsx`` (written atomically, like the workbook) before
the new file takes its place. ``hscredit-xl history FILE`` lists them; ``--restore N`` puts one back (the
version it replaces is kept in turn, so a restore never loses anything either).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

FOLDER = ".hscredit-history"
KEEP = 10
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_TIME_FORMAT = "%Y-%m-%d_%H-%M-%S_%f"  # sortable, and legal in a Windows file name


@dataclass(frozen=True)
class Version:
    number: int  # 1 = the newest
    path: Path
    replaced_at: dt.datetime  # when a command replaced it
    modified_at: dt.datetime  # when it had last been written before that
    size: int


def history_folder(target: Path) -> Path:
    target = Path(target)
    return target.parent / FOLDER / target.name


def keeps_history(target: Path) -> bool:
    return Path(target).suffix.lower() in WORKBOOK_SUFFIXES


def keep_version(target: Path, now: dt.datetime | None = None) -> Path | None:
    """Copy the file at ``target`` (when there is one) into its history, atomically; keep the newest KEEP."""
    target = Path(target)
    if not target.is_file() or not keeps_history(target):
        return None
    folder = history_folder(target)
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(folder)
    now = now or dt.datetime.now()
    name = now.strftime(_TIME_FORMAT) + target.suffix.lower()
    while (folder / name).exists():  # two saves within the same microsecond
        now += dt.timedelta(microseconds=1)
        name = now.strftime(_TIME_FORMAT) + target.suffix.lower()
    tmp = tempfile.NamedTemporaryFile(dir=folder, prefix=".", suffix=".tmp", delete=False)
    tmp_path = Path(tmp.name)
    try:
        with tmp, open(target, "rb") as source:
            shutil.copyfileobj(source, tmp)
            tmp.flush()
            os.fsync(tmp.fileno())
        shutil.copystat(target, tmp_path)  # keeps the version's own modification time, for the listing
        os.replace(tmp_path, folder / name)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    for old in versions(target)[KEEP:]:
        old.path.unlink(missing_ok=True)
    return folder / name


def _remove_stale_temporaries(folder: Path) -> None:
    """Half-copied versions a killed process left behind (a kill can't run our clean-up)."""
    from .atomic import STALE_SECONDS

    for leftover in folder.glob(".*.tmp"):
        try:
            if time.time() - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()
        except OSError:
            continue


def versions(target: Path) -> list[Version]:
    """The kept versions of ``target``, newest first, numbered from 1."""
    folder = history_folder(target)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        if not p.is_file() or p.name.startswith("."):
            continue
        try:
            replaced = dt.datetime.strptime(p.name[: -len(p.suffix)], _TIME_FORMAT)
        except ValueError:
            continue  # not one of ours
        st = p.stat()
        found.append((replaced, p, st))
    found.sort(key=lambda item: item[0], reverse=True)
    return [Version(n, p, replaced, dt.datetime.fromtimestamp(st.st_mtime), st.st_size)
            for n, (replaced, p, st) in enumerate(found, start=1)]


def restore(target: Path, number: int) -> Version:
    """Put version ``number`` back at ``target``; the file it replaces is kept as the newest version."""
    from .atomic import atomic_output

    chosen = {v.number: v for v in versions(target)}.get(number)
    if chosen is None:
        raise KeyError(number)
    data = chosen.path.read_bytes()  # read first: keeping the replaced file may drop the oldest version
    with atomic_output(target) as handle:
        handle.write(data)
    return chosen
