"""``hscredit-xl bundle -o DIR``: one zip that installs the Excel add-in on a 64-bit Windows PC with no network.

Office PCs on the government intranet reach no package index, so everything comes in the zip:

* ``wheels/`` — win_amd64 wheels of every runtime dependency for each of :data:`PYTHON_VERSIONS`
  (xlwings and pywin32 included), the ``addin`` extra (``addin install`` builds the add-in on the PC
  itself, so it matches the xlwings installed there), and this project's own wheel;
* ``addin/hscredit_xl.xlam`` — the add-in as built here (for IT to inspect or to copy by hand);
* the blank template, ``安装.cmd`` / ``卸载.cmd`` (from the templates in :mod:`hscredit_xl.windows`)
  ``安装说明.txt`` (``docs/安装说明.md``, the guide for office staff) and ``核对清单.txt``
  (``docs/windows-checklist.md``: what to check in Excel).

Only the build needs the network (pip downloads the wheels). pip evaluates environment markers such as
``platform_system == "Windows"`` on the building machine, not for the target, so a dependency that only
Windows needs is asked for by name (:data:`WINDOWS_ONLY`); tests/test_bundle.py evaluates every marker
of the resolved set for Windows, so a new one cannot go unnoticed.

The scripts are UTF-8 without BOM with CRLF line ends and switch the console to UTF-8 (``chcp 65001``)
on an ASCII line before any Chinese one: cmd decodes each line of a batch file in the console's code
page when it reads it. A GBK file would show right only where that code page is 936, and turns to
garbage on a PC set to another one, or to the "Unicode UTF-8 for worldwide language support" option.
"""
from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from string import Template

from . import __version__
from .udfs_vba import ADDIN_NAME

PYTHON_VERSIONS = ("3.11", "3.12", "3.13")
"""The CPython versions the bundle has wheels for (64-bit Windows)."""
PLATFORM = "win_amd64"
EXTRA = "addin"
"""The extra the bundle installs: `addin install` builds the add-in on the PC."""
REQUIREMENT = f"hscredit-xl[{EXTRA}]=={__version__}"
"""What the install script asks pip for."""
WINDOWS_ONLY_WHEELS = ("pywin32",)
"""Behind a Windows-only marker, with win_amd64 wheels (xlwings: ``pywin32; platform_system == "Windows"``)."""
WINDOWS_ONLY_SOURCES = ("win-unicode-console",)
"""Behind a Windows-only marker, published as source only (pcodedmp, under oletools): pure Python, so its
wheel is built here."""
WINDOWS_ONLY = WINDOWS_ONLY_WHEELS + WINDOWS_ONLY_SOURCES

APP_DIR = "hscredit-xl"
"""The folder in %LOCALAPPDATA% that holds the virtual environment."""
WHEELS_DIR = "wheels"
ADDIN_DIR = "addin"
INSTALL_SCRIPT = "安装.cmd"
UNINSTALL_SCRIPT = "卸载.cmd"
GUIDE = "安装说明.txt"
CHECKLIST = "核对清单.txt"
TEMPLATE = "考评2020-空白模板.xlsx"

_SCRIPTS = {"install.cmd": INSTALL_SCRIPT, "uninstall.cmd": UNINSTALL_SCRIPT}
_GUIDE_SOURCE = Path("docs") / "安装说明.md"
_TEXTS = {GUIDE: _GUIDE_SOURCE, CHECKLIST: Path("docs") / "windows-checklist.md"}
_STORED = (".whl", ".xlam", ".xlsx")  # already compressed
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class BundleError(RuntimeError):
    """The bundle cannot be built; the message is for the user (Chinese)."""


def bundle_name() -> str:
    return f"hscredit-xl-{__version__}-windows-x64"


def source_root() -> Path:
    """The source tree this package runs from (the project's wheel is built from it)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file() or not all((root / s).is_file() for s in _TEXTS.values()):
        raise BundleError(
            f"生成安装包要用本工具的源码目录（含 pyproject.toml 和 {_GUIDE_SOURCE.as_posix()}），"
            f"但本工具装在 {root}。请在源码目录中以 pip install -e \".[addin]\" 安装后再运行。"
        )
    return root


def build_bundle(out_dir: Path | str, *, force: bool = False, log=print) -> Path:
    """Write ``<out_dir>/<bundle_name()>.zip``; refuse an existing one unless ``force``. Returns its path."""
    from .addin import build_addin
    from .workbook.template import write_template

    target = Path(out_dir).resolve() / f"{bundle_name()}.zip"
    if target.exists() and not force:
        raise BundleError(f"{target} 已存在，未改动。要覆盖请加 --force。")
    root = source_root()
    with tempfile.TemporaryDirectory(prefix="hscredit-bundle-") as tmp:
        stage = Path(tmp) / bundle_name()
        stage.mkdir()
        log("生成加载项……")
        build_addin(stage / ADDIN_DIR / ADDIN_NAME)  # first: fails fast without the addin extra
        write_template(stage / TEMPLATE)
        log("生成本工具的 wheel……")
        wheel = _project_wheel(root, Path(tmp) / "project")
        for version in PYTHON_VERSIONS:
            log(f"下载 Python {version}（Windows 64 位）所需的 wheel……")
            _download(wheel, version, stage / WHEELS_DIR)
        _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(stage / WHEELS_DIR), *WINDOWS_ONLY_SOURCES)
        for template, name in _SCRIPTS.items():
            (stage / name).write_bytes(_script(template, wheel.name))
        for name, source in _TEXTS.items():
            text = (root / source).read_text(encoding="utf-8")
            # BOM: Notepad on older Windows takes a file without one for the ANSI code page
            (stage / name).write_bytes(b"\xef\xbb\xbf" + _crlf(text).encode("utf-8"))
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_zip(stage, target)
    return target


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BundleError(f"pip {args[0]} 失败（生成安装包时需要联网）：\n{tail}")


def _project_wheel(root: Path, out: Path) -> Path:
    """Build this project's wheel from a clean copy of the sources (no stale build/ from earlier builds)."""
    src = out / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(root / "hscredit_xl", src / "hscredit_xl", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, src / name)
    _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(src))
    wheels = sorted(out.glob("hscredit_xl-*.whl"))
    if len(wheels) != 1:
        raise BundleError(f"没有生成本工具的 wheel（{out} 中有：{[w.name for w in wheels]}）")
    return wheels[0]


def _download(project_wheel: Path, python_version: str, dest: Path) -> None:
    # xlwings as installed here: the add-in built here is made from this version's template
    xlwings = f"xlwings=={importlib.metadata.version('xlwings')}"
    _pip("download", "--quiet", "--only-binary=:all:", "--platform", PLATFORM,
         "--python-version", python_version, "--implementation", "cp", "--dest", str(dest),
         f"{project_wheel}[{EXTRA}]", xlwings, *WINDOWS_ONLY_WHEELS)


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def script_text(template: str, project_wheel: str) -> str:
    """An install/uninstall script with this bundle's values filled in (LF line ends)."""
    source = (Path(__file__).parent / "windows" / template).read_text(encoding="utf-8")
    return Template(source).substitute(
        VERSION=__version__, REQUIREMENT=REQUIREMENT, PROJECT_WHEEL=project_wheel,
        PYTHON_TAGS=" ".join(reversed(PYTHON_VERSIONS)),  # the newest first
        PYTHON_LIST="、".join(PYTHON_VERSIONS),
        APP_DIR=APP_DIR, WHEELS_DIR=WHEELS_DIR, ADDIN=ADDIN_NAME,
    )


def _script(template: str, project_wheel: str) -> bytes:
    # CRLF: cmd mis-finds labels (goto) in files with bare LF line ends
    return _crlf(script_text(template, project_wheel)).encode("utf-8")


def _write_zip(stage: Path, target: Path) -> None:
    """Zip ``stage`` (its folder name first in every entry) to a temp file, then replace ``target``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w") as z:
            for path in sorted(p for p in stage.rglob("*") if p.is_file()):
                info = zipfile.ZipInfo(f"{stage.name}/{path.relative_to(stage).as_posix()}", date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_STORED if path.suffix in _STORED else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, path.read_bytes())  # non-ASCII names get the zip's UTF-8 flag
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
