"""The Windows offline bundle (`hscredit-xl bundle`, issue 14): built once per session (it downloads the
win_amd64 wheels from the package index), then pip resolves the package for 64-bit Windows and each Python
version from the unpacked bundle alone, and the install/uninstall scripts are read step by step.

Nothing here runs cmd.exe: the scripts' behaviour on a real Windows PC is on the Windows checklist."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hscredit_xl import __version__, bundle, cli, udfs
from hscredit_xl.udfs_vba import ADDIN_NAME

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bundle_zip(tmp_path_factory) -> Path:
    return bundle.build_bundle(tmp_path_factory.mktemp("bundle"), log=lambda line: None)


@pytest.fixture(scope="session")
def unpacked(bundle_zip, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(bundle_zip) as z:
        z.extractall(out)
    return out / bundle.bundle_name()


def _script(unpacked: Path, name: str) -> str:
    return (unpacked / name).read_bytes().decode("utf-8")


def _windows_environment(python_version: str) -> dict[str, str]:
    """What pip on 64-bit Windows would evaluate markers against."""
    return {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows", "platform_machine": "AMD64",
            "platform_python_implementation": "CPython", "implementation_name": "cpython",
            "python_version": python_version, "python_full_version": f"{python_version}.0",
            "implementation_version": f"{python_version}.0", "platform_release": "10"}


# --------------------------------------------------------------------------- what the zip holds


def test_the_zip_holds_one_folder_with_the_scripts_guide_template_addin_and_wheels(bundle_zip, unpacked):
    assert bundle_zip.name == f"hscredit-xl-{__version__}-windows-x64.zip"
    with zipfile.ZipFile(bundle_zip) as z:
        tops = {name.split("/")[0] for name in z.namelist()}
        chinese = [i for i in z.infolist() if not i.filename.isascii()]
    assert tops == {bundle.bundle_name()}
    # Chinese names carry the zip's UTF-8 flag, which Windows' own "extract all" reads
    assert chinese and all(i.flag_bits & 0x800 for i in chinese)
    for name in (bundle.INSTALL_SCRIPT, bundle.UNINSTALL_SCRIPT, bundle.GUIDE, bundle.CHECKLIST, bundle.TEMPLATE):
        assert (unpacked / name).is_file(), name
    with zipfile.ZipFile(unpacked / bundle.ADDIN_DIR / ADDIN_NAME) as xlam:
        assert {"customUI/customUI14.xml", "xl/vbaProject.bin"} <= set(xlam.namelist())
    assert "汇总" in load_workbook(unpacked / bundle.TEMPLATE, read_only=True).sheetnames


def test_every_wheel_is_for_64_bit_windows_or_any_platform(unpacked):
    wheels = sorted((unpacked / bundle.WHEELS_DIR).iterdir())
    assert wheels and all(w.suffix == ".whl" for w in wheels)
    for w in wheels:
        platform = w.stem.split("-")[-1]
        assert platform in (bundle.PLATFORM, "any"), w.name
    names = [w.name for w in wheels]
    assert f"hscredit_xl-{__version__}-py3-none-any.whl" in names
    for version in bundle.PYTHON_VERSIONS:
        tag = "cp" + version.replace(".", "")
        for project in ("pywin32", "xlwings", "pyyaml"):
            assert any(n.startswith(f"{project}-") and f"-{tag}-{tag}-win_amd64" in n for n in names), (project, tag)


# --------------------------------------------------------------------------- pip, from the bundle alone


@pytest.mark.parametrize("python_version", bundle.PYTHON_VERSIONS)
def test_pip_installs_the_package_for_windows_from_the_bundle_alone(unpacked, python_version, tmp_path):
    wheels = unpacked / bundle.WHEELS_DIR
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # no index or find-links from this machine's pip settings
    report = tmp_path / "report.json"
    # pip evaluates markers for this Linux machine, so the Windows-only dependencies are named here;
    # the marker check below makes sure nothing else that Windows needs is missing
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--platform", bundle.PLATFORM, "--python-version", python_version, "--implementation", "cp",
         "--only-binary=:all:", "--target", str(tmp_path / "target"), "--no-index", "--find-links", str(wheels),
         "--report", str(report), bundle.REQUIREMENT, *bundle.WINDOWS_ONLY],
        capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    items = json.loads(report.read_text(encoding="utf-8"))["install"]
    resolved = {canonicalize_name(i["metadata"]["name"]): i for i in items}
    assert {"hscredit-xl", "xlwings", "pywin32", "openpyxl", "pyyaml", "defusedxml", "ms-ovba", "oletools"} <= set(resolved)
    for item in items:
        assert item["download_info"]["url"].startswith(wheels.as_uri() + "/"), item["download_info"]["url"]

    windows = _windows_environment(python_version)
    for name, item in resolved.items():
        extras = [""] + (item.get("requested_extras") or ([bundle.EXTRA] if name == "hscredit-xl" else []))
        for line in item["metadata"].get("requires_dist") or []:
            req = Requirement(line)
            needed = req.marker is None or any(
                Marker(str(req.marker)).evaluate({**windows, "extra": extra}) for extra in extras)
            if needed and not (name == "hscredit-xl" and req.name == "hscredit-xl"):
                assert canonicalize_name(req.name) in resolved, f"{name} needs {line} on Windows; not in the bundle"


# --------------------------------------------------------------------------- the scripts


def _lines(text: str) -> list[str]:
    return text.split("\r\n")


def _code(text: str) -> list[str]:
    """The script's command lines, without echo and rem lines (their text is only shown)."""
    return [ln.strip() for ln in _lines(text)
            if ln.strip() and not re.match(r"(?i)^(@?echo|rem)\b", ln.strip())]


@pytest.mark.parametrize("name", [bundle.INSTALL_SCRIPT, bundle.UNINSTALL_SCRIPT])
def test_the_scripts_are_utf8_crlf_and_switch_the_console_to_utf8_before_any_chinese(unpacked, name):
    raw = (unpacked / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "a BOM makes cmd fail on the first line"
    text = raw.decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "bare LF: cmd mis-finds labels"
    lines = _lines(text)
    chcp = next(i for i, ln in enumerate(lines) if ln.strip() == "chcp 65001 >nul")
    assert all(ln.isascii() for ln in lines[:chcp + 1])
    assert any(not ln.isascii() for ln in lines[chcp + 1:])


@pytest.mark.parametrize("name", [bundle.INSTALL_SCRIPT, bundle.UNINSTALL_SCRIPT])
def test_every_goto_has_its_label_and_every_variable_is_set_or_windows_own(unpacked, name):
    text = _script(unpacked, name)
    labels = {ln[1:].strip().lower() for ln in _lines(text) if ln.startswith(":")}
    for target in re.findall(r"(?i)goto :(\w+)", text):
        assert target.lower() in labels, target
    set_here = {v.upper() for v in re.findall(r'(?i)\bset "(\w+)=', text)}
    used = {v.upper() for v in re.findall(r"(?<!%)%([A-Za-z_]\w*)(?::[^%\r\n]*)?%", text.replace("%%", ""))}
    assert used - set_here <= {"LOCALAPPDATA", "APPDATA", "USERPROFILE"}, used - set_here
    # a multi-line ( … ) block would end early at a ')' in a message: the scripts use goto instead
    assert not [ln for ln in _code(text) if ln.endswith("(")]


def test_the_install_script_installs_from_the_bundle_only_into_the_user_profile_and_runs_addin_install(unpacked):
    text = _script(unpacked, bundle.INSTALL_SCRIPT)
    code = _code(text)
    assert 'set "WHEELS=%~dp0wheels"' in code
    assert f'set "VENV=%LOCALAPPDATA%\\{bundle.APP_DIR}\\venv"' in code
    assert 'set "PIP_CONFIG_FILE=nul"' in code
    tags = " ".join(reversed(bundle.PYTHON_VERSIONS))
    assert any(ln.startswith(f"for %%V in ({tags}) do") and "py -V:%%V" in ln for ln in code)
    assert 'py -V:%PYTAG% -m venv "%VENV%"' in code
    pip = [ln for ln in code if " -m pip " in ln]
    assert pip == [
        '"%VENV%\\Scripts\\python.exe" -m pip install --no-index --find-links "%WHEELS%" --only-binary=:all:'
        ' --upgrade --disable-pip-version-check --no-warn-script-location "' + bundle.REQUIREMENT + '"'
    ]
    assert '"%VENV%\\Scripts\\hscredit-xl.exe" addin install' in code
    assert pip[0] in code[code.index('py -V:%PYTAG% -m venv "%VENV%"'):code.index(
        '"%VENV%\\Scripts\\hscredit-xl.exe" addin install')]
    assert not re.search(r"(?i)https?://|\b(x?copy|move|robocopy)\b", "\n".join(code))
    # run twice: an existing, working environment is kept
    assert 'if not exist "%VENV%\\Scripts\\python.exe" goto :make_venv' in code
    assert "安装完成" in text and "=HS_RANKSCORE(5,{9,5,1},10,2)" in text


def test_the_uninstall_script_removes_the_addin_and_the_environment_only(unpacked):
    code = _code(_script(unpacked, bundle.UNINSTALL_SCRIPT))
    assert f'set "APP=%LOCALAPPDATA%\\{bundle.APP_DIR}"' in code
    assert f'set "ADDIN_FILE=%APPDATA%\\Microsoft\\Excel\\XLSTART\\{ADDIN_NAME}"' in code
    removals = [ln for ln in code if re.match(r"(?i)(del|rmdir|rd)\b", ln)]
    assert removals == ['del /f /q "%ADDIN_FILE%"', 'rmdir /s /q "%APP%"']
    guard = code.index("if not defined LOCALAPPDATA goto :no_profile")
    assert all(code.index(r) > guard for r in removals)


# --------------------------------------------------------------------------- the guide


@pytest.mark.parametrize("name,source", [(bundle.GUIDE, "安装说明.md"), (bundle.CHECKLIST, "windows-checklist.md")])
def test_the_texts_in_the_bundle_are_the_docs_with_a_bom_and_crlf_for_notepad(unpacked, name, source):
    raw = (unpacked / name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode("utf-8") == (ROOT / "docs" / source).read_text(encoding="utf-8").replace("\n", "\r\n")


def test_the_guide_names_what_to_ask_it_for_and_its_check_value_is_what_the_function_gives():
    source = (ROOT / "docs" / "安装说明.md").read_text(encoding="utf-8")
    assert re.search(r"=HS_RANKSCORE\(5,\{9,5,1\},10,2\)\s+应显示 8。", source)
    assert udfs.HS_RANKSCORE(5, [9, 5, 1], 10, 2) == 8
    for needed in (bundle.INSTALL_SCRIPT, bundle.UNINSTALL_SCRIPT, bundle.CHECKLIST, "64 位", "全部解压缩", "IT 人员",
                   *bundle.PYTHON_VERSIONS):
        assert needed in source, needed


def test_what_the_guide_says_the_screen_shows_is_what_the_scripts_print(unpacked):
    guide = (ROOT / "docs" / "安装说明.md").read_text(encoding="utf-8")
    install = _script(unpacked, bundle.INSTALL_SCRIPT)
    steps = re.findall(r"^\s+(\[\d/4\] [^（：…\n]+)", guide, re.M)
    assert len(steps) == 4
    for step in steps:
        assert f"echo {step.rstrip()}" in install, step
    for said in ("已创建。", "已安装。", "Excel 正在运行", "安装完成。本程序做了这些事：", "按任意键关闭本窗口",
                 "安装没有完成", "没有找到安装文件", "没有找到可用的 Python", "从本文件夹安装失败", "未通过"):
        assert said in guide and said in install, said
    uninstall = _script(unpacked, bundle.UNINSTALL_SCRIPT)
    for said in ("已删除加载项：", "已删除本工具的 Python 环境：", "卸载完成"):
        assert said in guide and said in uninstall, said


# --------------------------------------------------------------------------- the command and the extra


def test_bundle_refuses_an_existing_zip_unless_forced(tmp_path, capsys):
    existing = tmp_path / f"{bundle.bundle_name()}.zip"
    existing.write_bytes(b"earlier")
    assert cli.main(["bundle", "-o", str(tmp_path)]) == cli.EXIT_FAILED
    assert "--force" in capsys.readouterr().err
    assert existing.read_bytes() == b"earlier"


def test_addin_build_names_the_extra_when_its_modules_are_missing(tmp_path, capsys, monkeypatch):
    from hscredit_xl import addin

    def missing(path=None):
        raise ModuleNotFoundError("No module named 'ms_ovba'", name="ms_ovba")

    monkeypatch.setattr(addin, "build_addin", missing)
    assert cli.main(["addin", "build", "-o", str(tmp_path / ADDIN_NAME)]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert 'pip install "hscredit-xl[addin]"' in err and "ms_ovba" in err
    assert not list(tmp_path.iterdir())


def test_the_add_in_build_libraries_are_an_extra_that_the_tests_install():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {Requirement(r).name for r in project["dependencies"]}
    extra = {Requirement(r).name for r in project["optional-dependencies"][bundle.EXTRA]}
    assert extra == {"ms-ovba", "oletools"} and not extra & runtime
    assert "xlwings" in runtime
    assert f"hscredit-xl[{bundle.EXTRA}]" in project["optional-dependencies"]["test"]
