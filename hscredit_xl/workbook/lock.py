"""One writer at a time: a lock file beside the workbook, and a check that nobody changed it meanwhile.

``with writer_lock(path):`` around read → replace (fill, recompute, merge, history --restore):

* the lock is ``.<name>.hscredit-lock`` beside the workbook, holding the holder's pid, host and command (for
  the message a second writer gets). The holder also holds an operating-system lock on it (``fcntl.lockf`` /
  ``msvcrt.locking``), which the system releases when the holder dies however it dies: a lock file nobody
  holds is stale and taken over, without guessing from pids or ages;
* a second writer waits up to ``HSCREDIT_LOCK_WAIT`` seconds (default 10) and then refuses, naming the
  holder; nothing is written;
* the workbook's SHA-256 is taken when the lock is taken (before anything is read); ``atomic_output`` checks it
  again just before it replaces the file. A file changed in between (Excel saved it, somebody copied over it,
  a program that does not take our lock) is refused, never overwritten.
"""
from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..inputs import ERROR, Problem
from ..scoring import InputProblems

DEFAULT_WAIT_SECONDS = 10.0
POLL_SECONDS = 0.1

_held: dict[str, str | None] = {}  # resolved workbook path -> its SHA-256 as read (None: no file yet)


def lock_path(target: Path) -> Path:
    target = Path(target)
    return target.parent / f".{target.name}.hscredit-lock"


def file_digest(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def _key(path: Path) -> str:
    return str(Path(path).resolve())


def check_unchanged(target: Path) -> None:
    """Raise InputProblems when ``target`` is locked by us and its content is no longer what we read."""
    key = _key(target)
    if key not in _held:
        return
    if file_digest(Path(target)) != _held[key]:
        raise InputProblems([Problem(
            ERROR, "", str(target), "工作簿文件", Path(target).name,
            "在本命令读取之后被其他程序改动过（例如在 Excel 中保存、被复制覆盖），为免丢失别人的修改，未写入",
            "请确认文件现在的内容后重新运行本命令")])


def note_written(target: Path) -> None:
    """After our own replace: what the file now holds is what we hold."""
    key = _key(target)
    if key in _held:
        _held[key] = file_digest(Path(target))


def _wait_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("HSCREDIT_LOCK_WAIT", DEFAULT_WAIT_SECONDS)))
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def _try_os_lock(fd: int) -> bool:
    """True when we got the operating-system lock (or the file system has none); False when somebody else
    holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN, errno.EDEADLK) or sys.platform == "win32":
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            # a file system that can not lock (some network shares): go on; the changed-since-read check in
            # atomic_output still refuses to overwrite another writer's work
            return True
        raise


def _holder(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            fh.seek(1 if sys.platform == "win32" else 0)  # Windows: byte 0 is the locked one
            data = json.loads(fh.read().decode("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _busy(target: Path, holder: dict) -> InputProblems:
    who = "、".join(x for x in (
        f"进程 {holder['pid']}" if holder.get("pid") else "",
        f"主机 {holder['host']}" if holder.get("host") else "",
        f"命令 {holder['command']}" if holder.get("command") else "",
        f"开始于 {holder['since']}" if holder.get("since") else "") if x) or "另一个程序"
    return InputProblems([Problem(
        ERROR, "", str(target), "工作簿文件", Path(target).name,
        f"正被另一个命令写入（{who}），为免互相覆盖，本命令未写入任何内容",
        f"请等它完成后再试；如果确认没有命令在运行，删除锁文件 {lock_path(target)} 后再试")])


def _acquire(target: Path, command: str) -> int:
    path = lock_path(target)
    deadline = time.monotonic() + _wait_seconds()
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        got = False
        try:
            got = _try_os_lock(fd)
            # the lock file we locked must still be the one at the path (a holder removes it on release)
            if got and sys.platform != "win32" and os.fstat(fd).st_ino != os.stat(path).st_ino:
                got = False
                raise FileNotFoundError
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        if got:
            info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                    "since": dt.datetime.now().isoformat(timespec="seconds")}
            data = json.dumps(info, ensure_ascii=False).encode("utf-8")
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            # Windows locks byte 0 exclusively: the holder's details go after it, where others may read
            os.write(fd, b" " + data if sys.platform == "win32" else data)
            return fd
        os.close(fd)
        if time.monotonic() >= deadline:
            raise _busy(target, _holder(path))
        time.sleep(POLL_SECONDS)


def _release(target: Path, fd: int) -> None:
    path = lock_path(target)
    if sys.platform == "win32":  # an open file can not be removed there: close first
        os.close(fd)
        try:
            path.unlink()
        except OSError:
            pass  # the next writer has it open already: it is theirs now
        return
    try:
        path.unlink()
    except OSError:
        pass
    os.close(fd)


@contextmanager
def writer_lock(target: Path, command: str = "") -> Iterator[None]:
    """Hold the workbook for one read → replace; see the module docstring."""
    target = Path(target)
    key = _key(target)
    if key in _held:  # already ours (a command locking the same file twice)
        yield
        return
    fd = _acquire(target, command)
    try:
        _held[key] = file_digest(target)
        yield
    finally:
        _held.pop(key, None)
        _release(target, fd)


@contextmanager
def writer_locks(targets: list[Path], command: str = "") -> Iterator[None]:
    """Several workbooks at once, in a fixed order (two commands never wait for each other in a circle)."""
    unique = sorted({_key(t): Path(t) for t in targets}.items())
    if not unique:
        yield
        return
    (_, first), rest = unique[0], [t for _, t in unique[1:]]
    with writer_lock(first, command), writer_locks(rest, command):
        yield
