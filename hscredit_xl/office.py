"""LibreOffice headless as an independent spreadsheet program: recalculate, print to PDF, look at the pages.

Everything here shells out to programs found on PATH — ``soffice`` (LibreOffice) and poppler's
``pdfinfo`` / ``pdftotext`` / ``pdftoppm`` — and nothing is kept between calls:

* every LibreOffice run gets a fresh throwaway user profile (another soffice sharing a profile would
  swallow the request and exit 0 without doing anything);
* the profile forces a FULL recalculation on load of Excel 2007+ and ODF files
  (``org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode = 0``, "always"), so the cached values
  LibreOffice writes back (and the numbers it prints) are its own, never the stale or missing ones a
  file arrived with;
* the input is copied to a temporary folder first, so a leftover ``.~lock.NAME#`` file beside the
  original can not make LibreOffice refuse it, and the original is never touched;
* a timeout (``TIMEOUT`` seconds) kills the whole LibreOffice process group;
* success is judged by the output file existing and not being empty — LibreOffice exits 0 even when
  it could not load the file — and every error message carries LibreOffice's stderr.

The other helpers read results back: :func:`read_values` / :func:`error_cells` (openpyxl with
``data_only=True``) for a recalculated workbook, :func:`pdf_page_sizes`, :func:`pdf_text`,
:func:`render_pages` and :func:`png_ink` for a PDF.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path

__all__ = [
    "ERROR_CODES",
    "OfficeError",
    "OfficeMissing",
    "TIMEOUT",
    "error_cells",
    "find_poppler",
    "find_soffice",
    "pdf_page_sizes",
    "pdf_text",
    "png_ink",
    "png_size",
    "read_values",
    "recalculate",
    "recalculate_many",
    "remove_stale_temp_dirs",
    "render_pages",
    "temp_dir",
    "to_pdf",
]

TIMEOUT = 180.0
"""Seconds one LibreOffice run may take before it is killed."""

TEMP_PREFIXES = ("hscredit-export-", "hscredit-office-")
"""The temporary folders export and LibreOffice runs work in (they hold copies of the data); each is named
``<prefix><pid>-<random>``."""

STALE_TEMP_SECONDS = 60 * 60
"""A temporary folder older than this is left by a killed run (no run takes an hour) and is removed."""

ERROR_CODES = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)
"""Excel's error values, as openpyxl returns them for error cells."""

INSTALL_SOFFICE = (
    "未找到 LibreOffice（soffice）。导出 PDF 和用 LibreOffice 复核公式需要它：\n"
    "  Debian/Ubuntu：sudo apt-get install libreoffice-calc-nogui fonts-noto-cjk\n"
    "  Windows：安装 LibreOffice（https://www.libreoffice.org/download/），"
    "并把其 program 目录（如 C:\\Program Files\\LibreOffice\\program）加入 PATH 环境变量\n"
    "  macOS：安装 LibreOffice 后把 /Applications/LibreOffice.app/Contents/MacOS 加入 PATH\n"
    "装好后在命令行运行 soffice --version 能看到版本号即可。"
)
INSTALL_POPPLER = (
    "未找到 poppler 工具（{tool}）。查看 PDF 页面需要它：\n"
    "  Debian/Ubuntu：sudo apt-get install poppler-utils\n"
    "  Windows：安装 poppler（如 conda install -c conda-forge poppler），并把其 bin 目录加入 PATH"
)

# Calc > Formula > Recalculation on file load: 0 = always, 1 = never, 2 = prompt (headless: never).
_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

_XLSX_FILTER = "xlsx:Calc MS Excel 2007 XML"
_PDF_FILTER = "pdf:calc_pdf_Export"

# One LibreOffice at a time from this process (threads queue here). Each run has its own profile, so
# separate processes do not clash (checked: three at once all succeed), they only share the cores.
_LOCK = threading.Lock()


class OfficeError(RuntimeError):
    """LibreOffice or a poppler tool failed; the message is Chinese, for the user, with the tool's stderr."""


class OfficeMissing(OfficeError):
    """A program this module needs (soffice, pdftoppm, ...) is not installed; the message says how to install it."""


# ---------------------------------------------------------------------------------------------- finding tools


def _candidates_outside_path() -> list[Path]:
    """Where LibreOffice installs itself when it is not on PATH (Windows, macOS)."""
    if sys.platform.startswith("win"):
        roots = [os.environ.get(v) for v in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432")]
        return [Path(r) / "LibreOffice" / "program" / "soffice.exe" for r in roots if r]
    if sys.platform == "darwin":
        return [Path("/Applications/LibreOffice.app/Contents/MacOS/soffice")]
    return []


def find_soffice() -> str:
    """The LibreOffice program to run: ``soffice`` (or ``libreoffice``) on PATH, else its usual install place.

    Raises :class:`OfficeMissing` with Chinese installation instructions when there is none.
    """
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for candidate in _candidates_outside_path():
        if candidate.is_file():
            return str(candidate)
    raise OfficeMissing(INSTALL_SOFFICE)


def find_poppler(tool: str = "pdftoppm") -> str:
    """A poppler-utils program (``pdftoppm``, ``pdfinfo``, ``pdftotext``) on PATH, or :class:`OfficeMissing`."""
    found = shutil.which(tool)
    if not found:
        raise OfficeMissing(INSTALL_POPPLER.format(tool=tool))
    return found


# ---------------------------------------------------------------------------------------------- temporary folders


def pid_alive(pid: int) -> bool | None:
    """Whether a process of this machine is running; None where that can not be asked safely (Windows, where
    os.kill would end the process)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but belongs to somebody else
        return True
    return True


def remove_stale_temp_dirs(now: float | None = None) -> list[Path]:
    """Remove the temporary folders a killed run left behind (a SIGKILL runs no clean-up): those whose process
    is gone, and any older than STALE_TEMP_SECONDS. A running export's own folder is left alone."""
    import time

    now = time.time() if now is None else now
    removed = []
    for prefix in TEMP_PREFIXES:
        for folder in Path(tempfile.gettempdir()).glob(prefix + "*"):
            pid = folder.name[len(prefix):].split("-", 1)[0]
            try:
                if not folder.is_dir() or folder.is_symlink():
                    continue
                dead = pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)) is False
                if dead or now - folder.stat().st_mtime > STALE_TEMP_SECONDS:
                    shutil.rmtree(folder)
                    removed.append(folder)
            except OSError:
                continue  # gone already, or not ours to remove
    return removed


@contextlib.contextmanager
def temp_dir(prefix: str):
    """A private temporary folder (``prefix`` is one of TEMP_PREFIXES), removed however the block ends: on an
    exception, on Ctrl-C, and on SIGTERM (turned into SystemExit while the block runs, in the main thread). A
    SIGKILL leaves it behind: the next run removes it (remove_stale_temp_dirs)."""
    remove_stale_temp_dirs()
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    with _terminate_as_exit():
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _terminate_as_exit():
    """SIGTERM raises SystemExit inside the block, so that `finally` clean-up runs (a plain SIGTERM would not)."""
    sigterm = getattr(signal, "SIGTERM", None)
    if sigterm is None or threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(sigterm) is not signal.SIG_DFL:
        yield
        return
    signal.signal(sigterm, _terminate)
    try:
        yield
    finally:
        signal.signal(sigterm, signal.SIG_DFL)


# ---------------------------------------------------------------------------------------------- running soffice


def _safe_name(src: Path) -> str:
    """The name the input copy gets: the original when plainly ASCII, else ``book`` + suffix."""
    if re.fullmatch(r"[A-Za-z0-9._-]+", src.name) and not src.name.startswith("."):
        return src.name
    return "book" + src.suffix.lower()


def _tail(text: str, limit: int = 4000) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill soffice and everything it started (the ``soffice`` script -> oosplash -> soffice.bin)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True, check=False)
            proc.kill()
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _run_soffice(src: Path, target: str, out_suffix: str, dst: Path, *, timeout: float, recalc: bool) -> Path:
    """Convert ``src`` with ``--convert-to target`` in a fresh profile; the result lands at ``dst``."""
    return _run_soffice_batch([Path(src)], target, out_suffix, [Path(dst)], timeout=timeout, recalc=recalc)[0]


def _run_soffice_batch(srcs: list[Path], target: str, out_suffix: str, dsts: list[Path], *, timeout: float,
                       recalc: bool) -> list[Path]:
    """Convert every file of ``srcs`` in ONE LibreOffice run (one start-up for all); results land at ``dsts``."""
    for src in srcs:
        if not src.is_file():
            raise FileNotFoundError(f"找不到要交给 LibreOffice 的文件：{src}")
    names = "、".join(s.name for s in srcs)
    soffice = find_soffice()
    with temp_dir("hscredit-office-") as work:
        profile = work / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(
            _PROFILE_XCU.format(mode=0 if recalc else 1), encoding="utf-8"
        )
        indir = work / "in"
        outdir = work / "out"
        indir.mkdir()
        outdir.mkdir()
        copies = ([indir / _safe_name(srcs[0])] if len(srcs) == 1
                  else [indir / f"book{n}{s.suffix.lower()}" for n, s in enumerate(srcs)])
        for s, copy in zip(srcs, copies):
            shutil.copyfile(s, copy)  # bytes only: no lock file, no permissions carried over
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            *(str(copy) for copy in copies),
        ]
        popen_kw: dict = {"start_new_session": True} if os.name == "posix" else {}
        with _LOCK:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=work,
                **popen_kw,
            )
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                out, err = proc.communicate()
                raise OfficeError(
                    f"LibreOffice 处理「{names}」超过 {timeout:g} 秒仍未结束，已强制终止。\n"
                    f"命令：{' '.join(cmd)}\n输出：{_tail(out.decode(errors='replace'))}\n"
                    f"错误输出：{_tail(err.decode(errors='replace'))}"
                ) from None
            except BaseException:  # Ctrl-C or SIGTERM: LibreOffice must not go on writing into the folder
                _kill_group(proc)
                proc.wait()
                raise
        stdout = out.decode(errors="replace")
        stderr = err.decode(errors="replace")
        for s, copy in zip(srcs, copies):
            expected = outdir / (copy.stem + out_suffix)
            if proc.returncode != 0 or not expected.is_file() or expected.stat().st_size == 0:
                produced = sorted(p.name for p in outdir.iterdir())
                raise OfficeError(
                    f"LibreOffice 未能把「{s.name}」转换为 {out_suffix}（退出码 {proc.returncode}，"
                    f"未生成 {expected.name}；输出目录内：{produced or '空'}）。\n"
                    f"命令：{' '.join(cmd)}\n输出：{_tail(stdout)}\n错误输出：{_tail(stderr)}"
                )
        for copy, dst in zip(copies, dsts):
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(outdir / (copy.stem + out_suffix), dst)
        return list(dsts)


def recalculate(src: Path, dst: Path, *, timeout: float = TIMEOUT) -> Path:
    """Open ``src`` (.xlsx) in LibreOffice with every formula recalculated and save it as ``dst`` (.xlsx).

    The cached values in ``dst`` are LibreOffice's own results (read them with :func:`read_values`);
    a function LibreOffice does not know (a UDF such as ``HS_TOTAL``, or a newer Excel function
    written without its ``_xlfn.`` prefix) comes out as ``#NAME?``. ``src`` itself is never touched;
    ``dst`` may equal ``src``. Note that LibreOffice rewrites the file in its own way (styles,
    formula spelling): use ``dst`` to read results, not as the deliverable.
    """
    return _run_soffice(Path(src), _XLSX_FILTER, ".xlsx", Path(dst), timeout=timeout, recalc=True)


def recalculate_many(pairs: list[tuple[Path, Path]], *, timeout: float = TIMEOUT) -> list[Path]:
    """:func:`recalculate` for many workbooks in one LibreOffice run (one start-up): ``[(src, dst), …]``."""
    return _run_soffice_batch([Path(s) for s, _ in pairs], _XLSX_FILTER, ".xlsx", [Path(d) for _, d in pairs],
                              timeout=timeout, recalc=True)


def to_pdf(src: Path, dst: Path, *, timeout: float = TIMEOUT) -> Path:
    """Print every sheet of ``src`` to one PDF ``dst`` the way the workbook's print setup says.

    LibreOffice honours the sheet's page setup from the .xlsx: paper size, orientation, fit to
    width / height, print titles (repeated rows), print areas, margins, headers and footers.
    Formulas are recalculated first, so printed numbers are LibreOffice's. Chinese needs a CJK font
    installed (Debian: fonts-noto-cjk), else it prints as boxes.
    """
    return _run_soffice(Path(src), _PDF_FILTER, ".pdf", Path(dst), timeout=timeout, recalc=True)


# ---------------------------------------------------------------------------------------------- reading workbooks


def read_values(xlsx: Path) -> dict[str, dict[str, object]]:
    """``{sheet: {cell: value}}`` of every non-empty cell, cached values (``data_only=True``).

    After :func:`recalculate` these are LibreOffice's results; an error cell's value is its code
    as a string (``'#NAME?'``).
    """
    from openpyxl import load_workbook

    wb = load_workbook(Path(xlsx), data_only=True)
    try:
        return {
            ws.title: {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def error_cells(xlsx: Path) -> dict[str, dict[str, str]]:
    """``{sheet: {cell: error code}}`` of every error cell (``#NAME?``, ``#DIV/0!``, ...); ``{}`` when none.

    Only real error cells count (openpyxl's data type ``'e'``), not a text cell that happens to
    read ``#N/A``.
    """
    from openpyxl import load_workbook

    wb = load_workbook(Path(xlsx), data_only=True)
    try:
        found: dict[str, dict[str, str]] = {}
        for ws in wb.worksheets:
            errs = {
                c.coordinate: str(c.value)
                for row in ws.iter_rows()
                for c in row
                if c.data_type == "e" and c.value is not None
            }
            if errs:
                found[ws.title] = errs
        return found
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------------- reading PDFs


def _poppler(tool: str, args: list[str], *, timeout: float = 120.0) -> str:
    exe = find_poppler(tool)
    try:
        res = subprocess.run(
            [exe, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise OfficeError(f"{tool} 超过 {timeout:g} 秒仍未结束：{' '.join(args)}") from None
    if res.returncode != 0:
        raise OfficeError(
            f"{tool} 失败（退出码 {res.returncode}）：{' '.join(args)}\n"
            f"错误输出：{_tail(res.stderr.decode(errors='replace'))}"
        )
    return res.stdout.decode("utf-8", errors="replace")


def _page_count(pdf: Path) -> int:
    m = re.search(r"^Pages:\s+(\d+)", _poppler("pdfinfo", [str(pdf)]), re.M)
    if not m:
        raise OfficeError(f"pdfinfo 读不出「{pdf}」的页数")
    return int(m.group(1))


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """``[(width_pt, height_pt), ...]`` per page as it is shown (page rotation applied); A4 landscape ≈ (842, 595)."""
    pdf = Path(pdf)
    n = _page_count(pdf)
    if n == 0:
        return []
    info = _poppler("pdfinfo", ["-f", "1", "-l", str(n), str(pdf)])
    sizes = {int(p): (float(w), float(h)) for p, w, h in re.findall(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", info, re.M)}
    rots = {int(p): int(r) for p, r in re.findall(r"^Page\s+(\d+) rot:\s+(-?\d+)", info, re.M)}
    result = []
    for page in range(1, n + 1):
        if page not in sizes:
            raise OfficeError(f"pdfinfo 读不出「{pdf}」第 {page} 页的尺寸")
        w, h = sizes[page]
        if rots.get(page, 0) % 180:
            w, h = h, w
        result.append((w, h))
    return result


def pdf_text(pdf: Path) -> list[str]:
    """The text of each page (pdftotext, UTF-8, layout kept), one string per page."""
    pdf = Path(pdf)
    n = _page_count(pdf)
    text = _poppler("pdftotext", ["-layout", "-enc", "UTF-8", str(pdf), "-"])
    pages = text.split("\f")
    return (pages + [""] * n)[:n]


def render_pages(pdf: Path, out_dir: Path, dpi: int = 60, *, prefix: str = "page") -> list[Path]:
    """One PNG per page (pdftoppm) in ``out_dir``: ``page-1.png``, ``page-2.png``, ... in page order.

    At the default 60 dpi an A4 landscape page is 702 x 496 pixels. Earlier ``{prefix}-*.png`` files
    in ``out_dir`` are removed first, so the list is exactly this PDF's pages.
    """
    pdf = Path(pdf)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{prefix}-*.png"):
        old.unlink()
    _poppler("pdftoppm", ["-r", str(dpi), "-png", str(pdf), str(out_dir / prefix)])

    def number(p: Path) -> int:
        return int(p.stem.rsplit("-", 1)[1])

    # pdftoppm pads the page number (page-01.png) when there are 10 or more pages: rename plainly
    pages = sorted((p for p in out_dir.glob(f"{prefix}-*.png") if re.fullmatch(r"\d+", p.stem.rsplit("-", 1)[1])), key=number)
    result = []
    for p in pages:
        plain = out_dir / f"{prefix}-{number(p)}.png"
        if p != plain:
            p.rename(plain)
        result.append(plain)
    if not result:
        raise OfficeError(f"pdftoppm 没有从「{pdf}」生成任何页面")
    return result


# ---------------------------------------------------------------------------------------------- looking at PNGs


def _png_chunks(data: bytes):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise OfficeError("不是 PNG 文件")
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        yield kind, data[pos + 8 : pos + 8 + length]
        pos += 12 + length


def png_size(png: Path) -> tuple[int, int]:
    """``(width, height)`` in pixels of a PNG."""
    for kind, body in _png_chunks(Path(png).read_bytes()):
        if kind == b"IHDR":
            return struct.unpack(">II", body[:8])
    raise OfficeError(f"PNG 缺少 IHDR：{png}")


def png_ink(png: Path, *, threshold: int = 200) -> float:
    """Share of pixels (0..1) darker than ``threshold`` in any colour channel: 0.0 is a blank page.

    A small pure-Python reader for the PNGs pdftoppm writes (8-bit grey / RGB / with alpha,
    not interlaced), so tests need no imaging library.
    """
    data = Path(png).read_bytes()
    ihdr = None
    idat = bytearray()
    for kind, body in _png_chunks(data):
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if ihdr is None:
        raise OfficeError(f"PNG 缺少 IHDR：{png}")
    width, height, depth, ctype, _comp, _filt, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise OfficeError(f"只支持 8 位、非隔行的灰度/RGB PNG：{png}（位深 {depth}，颜色类型 {ctype}）")
    raw = zlib.decompress(bytes(idat))
    bpp = channels
    stride = width * bpp
    colour = channels - (1 if ctype in (4, 6) else 0)  # ignore alpha
    prev = bytearray(stride)
    dark = 0
    pos = 0
    for _ in range(height):
        ftype = raw[pos]
        line = bytearray(raw[pos + 1 : pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif ftype != 0:
            raise OfficeError(f"PNG 行过滤类型无效（{ftype}）：{png}")
        for x in range(0, stride, bpp):
            if min(line[x : x + colour]) < threshold:
                dark += 1
        prev = line
    return dark / (width * height) if width and height else 0.0
