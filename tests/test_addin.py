"""The Excel add-in, checked on Linux (issue 4): parts, ribbon, VBA read back with oletools, security.

Everything here reads the built file itself (zipfile, defusedxml, oletools' olevba);
what only a real Excel can show is on docs/windows-checklist.md.
"""
from __future__ import annotations

import io
import re
import shutil
import sys
import zipfile
from pathlib import Path

import defusedxml.ElementTree as DET
import pytest
from oletools.olevba import VBA_Parser, decompress_stream

import hscredit_xl
import hscredit_xl.udfs as udfs
from hscredit_xl import addin

RIBBON_NS = "http://schemas.microsoft.com/office/2009/07/customui"
RIBBON_REL = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
CONTRACT_FUNCTIONS = {"HS_RANKSCORE", "HS_PLACESCORE", "HS_TIERSCORE", "HS_RATESCORE", "HS_COUNTSCORE",
                      "HS_FLAGSCORE", "HS_PRORATE", "HS_TOTAL"}


# --------------------------------------------------------------------------- helpers


def vba_modules(path: Path) -> dict[str, str]:
    """Module name -> source (attributes included), read back with olevba."""
    parser = VBA_Parser(str(path))
    try:
        assert parser.detect_vba_macros(), "olevba finds no VBA in the add-in"
        return {Path(vba_filename).stem: code.replace("\r\n", "\n")
                for _, _, vba_filename, code in parser.extract_macros()}
    finally:
        parser.close()


def procedure(source: str, name: str) -> str:
    """The text of one Sub/Function (declaration to End), or '' if absent."""
    m = re.search(rf"^[ \t]*(?:Public |Private )?(Sub|Function) {re.escape(name)}\b.*?^[ \t]*End \1\b",
                  source, re.M | re.S)
    return m.group(0) if m else ""


def ribbon(parts: dict[str, bytes]):
    return DET.fromstring(parts["customUI/customUI14.xml"])


def buttons(parts) -> list:
    return list(ribbon(parts).iter(f"{{{RIBBON_NS}}}button"))


def template_modules() -> dict[str, str]:
    return vba_modules(addin.template_path())


def hs_functions() -> set[str]:
    return {name for name in dir(udfs) if name.startswith("HS_") and callable(getattr(udfs, name))}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return addin.build_addin(tmp_path_factory.mktemp("addin") / "out" / "hscredit_xl.xlam")


@pytest.fixture(scope="module")
def parts(built) -> dict[str, bytes]:
    with zipfile.ZipFile(built) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.fixture(scope="module")
def modules(built) -> dict[str, str]:
    return vba_modules(built)


@pytest.fixture(scope="module")
def xlwings_vba(modules) -> str:
    return modules["xlwings"]


# --------------------------------------------------------------------------- parts and relationships


def test_build_writes_the_named_file_only(built):
    assert built.name == "hscredit_xl.xlam" and built.is_file()
    assert [p.name for p in built.parent.iterdir()] == ["hscredit_xl.xlam"]  # no temp file left
    assert zipfile.is_zipfile(built)


def test_parts_and_content_types(parts):
    for name in ("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                 "xl/vbaProject.bin", "customUI/customUI14.xml"):
        assert name in parts
    assert "customUI/customUI.xml" not in parts  # the template's 2006 ribbon is gone
    types = DET.fromstring(parts["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in types.iter(f"{{{CT_NS}}}Override")}
    defaults = {d.get("Extension"): d.get("ContentType") for d in types.iter(f"{{{CT_NS}}}Default")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
    assert defaults["xml"] == "application/xml"  # what customUI14.xml is served as
    wb_rels = DET.fromstring(parts["xl/_rels/workbook.xml.rels"])
    assert any(r.get("Target") == "vbaProject.bin" for r in wb_rels)


def test_ribbon_relationship(parts):
    rels = list(DET.fromstring(parts["_rels/.rels"]).iter(f"{{{PKG_RELS_NS}}}Relationship"))
    ribbon_rels = [r for r in rels if "ui/extensibility" in r.get("Type")]
    assert len(ribbon_rels) == 1
    assert ribbon_rels[0].get("Type") == RIBBON_REL
    assert ribbon_rels[0].get("Target") == "customUI/customUI14.xml"
    assert len({r.get("Id") for r in rels}) == len(rels)
    assert any(r.get("Target") == "xl/workbook.xml" for r in rels)


def test_reapply_ribbon_restores_a_dropped_relationship(built, tmp_path):
    # what openpyxl does to a workbook it saves: the ribbon relationship and part are gone
    damaged = tmp_path / "damaged.xlam"
    with zipfile.ZipFile(built) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "customUI/customUI14.xml":
                continue
            if item.filename == "_rels/.rels":
                data = re.sub(rb"<Relationship [^>]*ui/extensibility[^>]*/>", b"", data)
            dst.writestr(item, data)
    with zipfile.ZipFile(damaged) as z:
        assert b"ui/extensibility" not in z.read("_rels/.rels")
    addin.reapply_ribbon(damaged)
    with zipfile.ZipFile(damaged) as z:
        again = {name: z.read(name) for name in z.namelist()}
    test_ribbon_relationship(again)
    assert [b.get("label") for b in buttons(again)] == ["一键重算", "校验数据", "导出报送版"]
    assert set(vba_modules(damaged)) == set(vba_modules(built))


# --------------------------------------------------------------------------- the ribbon XML


def test_ribbon_xml(parts):
    root = ribbon(parts)
    assert root.tag == f"{{{RIBBON_NS}}}customUI"
    ids = [e.get("id") for e in root.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
    tabs = list(root.iter(f"{{{RIBBON_NS}}}tab"))
    assert [t.get("label") for t in tabs] == ["信用考评"]
    by_label = {b.get("label"): b for b in buttons(parts)}
    assert set(by_label) == {"一键重算", "校验数据", "导出报送版"}
    recompute = by_label["一键重算"]
    assert recompute.get("size") == "large"
    assert recompute.get("imageMso")
    for b in by_label.values():
        assert b.get("onAction")
        assert re.search(r"[\u4e00-\u9fff]", b.get("screentip") or "")
        assert re.search(r"[\u4e00-\u9fff]", b.get("supertip") or "")


def test_every_on_action_is_a_ribbon_sub(parts, modules):
    for b in buttons(parts):
        module, _, sub = b.get("onAction").rpartition(".")
        source = modules.get(module or "", "") if module else "\n".join(modules.values())
        assert re.search(rf"^[ \t]*(Public )?Sub {re.escape(sub)}\(control As IRibbonControl\)[ \t]*$",
                         source, re.M), f"no Sub {sub}(control As IRibbonControl) for {b.get('label')}"


def _python_command(parts, modules, label: str) -> str:
    """The Python command the button ``label`` runs in xlwings' UDF server (``XLPy.Exec``)."""
    b = next(b for b in buttons(parts) if b.get("label") == label)
    module, _, sub = b.get("onAction").rpartition(".")
    body = procedure(modules[module], sub)
    m = re.search(r'^\s*RunHsCommand "([^"]*)"\s*$', body, re.M)
    assert m, body
    runner = procedure(modules[module], "RunHsCommand")
    # the calling workbook goes to Python through COM, and the command runs in the UDF server
    assert re.search(r'^\s*XLPy\.SetAttr XLPy\.Module\("xlwings\._xlwindows"\), "BOOK_CALLER", ActiveWorkbook\s*$',
                     runner, re.M), runner
    assert re.search(r"^\s*XLPy\.Exec pythonCommand\s*$", runner, re.M), runner
    return m.group(1)


@pytest.mark.parametrize("label, entry", [("一键重算", "main"), ("校验数据", "validate"), ("导出报送版", "export")])
def test_buttons_run_the_package_entry_points(parts, modules, monkeypatch, label, entry):
    command = _python_command(parts, modules, label)
    assert command == f"import hscredit_xl; hscredit_xl.{entry}()"
    calls = []
    monkeypatch.setattr(hscredit_xl, entry, lambda: calls.append(entry))  # raises if the entry point is missing
    exec(command, {})
    assert calls == [entry]


def test_recompute_entry_point_is_callable():
    assert callable(hscredit_xl.main)


# --------------------------------------------------------------------------- the VBA project


def test_vba_modules(modules):
    assert set(modules) == {"ThisWorkbook", "Sheet2", "Dictionary", "xlwings", "hscredit_addin", "hscredit_python",
                            "xlwings_udfs"}
    assert "RibbonMyAddin" not in modules  # the template's own callback (RunMain) is replaced


def test_a_wrapper_per_worksheet_function(modules):
    assert hs_functions() >= CONTRACT_FUNCTIONS
    source = modules["xlwings_udfs"]
    wrapped = set(re.findall(r"^Function (HS_\w+)\(", source, re.M))
    assert wrapped == hs_functions()
    for name in hs_functions():
        body = procedure(source, name)
        assert f'XLPy.CallUDF("hscredit_xl.udfs", "{name}", ' in body
    assert '#Const App = "Microsoft Excel"' in source


def test_function_wizard_help_registered_on_open(modules):
    on_open = procedure(modules["ThisWorkbook"], "Workbook_Open")
    assert "xlwings_udfs.RegisterHsFunctions" in on_open
    register = procedure(modules["xlwings_udfs"], "RegisterHsFunctions")
    for name in hs_functions():
        assert f"'!{name}\"" in register
    assert len(re.findall(r"^\s*Application\.MacroOptions ", register, re.M)) == len(hs_functions())


def test_vba_lines_fit(modules):
    for name, source in modules.items():
        assert all(len(line) <= 1023 for line in source.splitlines()), name


def test_our_vba_is_ascii(modules):
    # the project's code page is 1252: Chinese text is spelled with ChrW
    for name in ("hscredit_addin", "hscredit_python", "xlwings_udfs", "ThisWorkbook"):
        assert modules[name].isascii(), name


def test_licence_notices_kept(modules):
    template = template_modules()
    for name in ("xlwings", "Dictionary"):
        notices = [line for line in template[name].splitlines()
                   if re.search(r"licen[cs]e|copyright|\(c\)", line, re.I) and line.lstrip().startswith("'")]
        assert notices, name
        for line in notices:
            assert line in modules[name], line


def test_vba_project_written_without_performance_cache(parts):
    import olefile

    with olefile.OleFileIO(io.BytesIO(parts["xl/vbaProject.bin"])) as ole:
        vba_project = ole.openstream("VBA/_VBA_PROJECT").read()
    # MS-OVBA 2.3.4.1: Reserved1 0x61CC, Version 0xFFFF on write, and no PerformanceCache
    assert vba_project[:4] == b"\xcc\x61\xff\xff" and len(vba_project) == 7


def test_strict_read_back_matches_what_was_meant(parts):
    template = zipfile.ZipFile(addin.template_path()).read("xl/vbaProject.bin")
    meant = addin.addin_vba_modules(template)
    back = addin.read_vba_modules(parts["xl/vbaProject.bin"], strict=True)
    assert [(m.name, m.kind) for m in back] == [(m.name, m.kind) for m in meant]
    for got, want in zip(back, meant):
        assert got.source.replace("\r\n", "\n") == want.source.replace("\r\n", "\n"), got.name


def test_build_is_deterministic(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    again = addin.build_addin()
    assert again == tmp_path / "hscredit_xl.xlam"
    assert vba_modules(again) == vba_modules(built)
    assert again.read_bytes() == built.read_bytes()


def test_compression_fix_round_trips():
    from ms_ovba_compression.ms_ovba import MsOvba

    before = MsOvba.__dict__["copytoken_help"]
    data = bytes((i * 7) % 251 for i in range(5000))  # long matches far into a chunk
    with addin._ovba_compression_fixed():
        packed = MsOvba().compress(data)
    assert bytes(decompress_stream(bytearray(packed))) == data
    assert MsOvba.__dict__["copytoken_help"] is before


# --------------------------------------------------------------------------- security (issue 4 §2)


def test_settings_never_come_from_the_workbook(xlwings_vba):
    get_config = procedure(xlwings_vba, "GetConfig")
    assert get_config
    assert "ActiveWorkbook" not in get_config
    assert "GetDirectoryConfigFilePath" not in get_config
    assert "GetFullName" not in get_config
    assert "GetConfigFromFile(GetConfigFilePath()" in get_config  # the user's own file is still read
    assert not re.search(r"GetConfigFromSheet\(\s*ActiveWorkbook", xlwings_vba)
    # the directory config path is not used anywhere but its own definition
    outside = xlwings_vba.replace(procedure(xlwings_vba, "GetDirectoryConfigFilePath"), "")
    assert "GetDirectoryConfigFilePath" not in outside


def test_user_config_is_the_users_xlwings_conf(xlwings_vba):
    assert re.search(r'^Public Const PROJECT_NAME As String = "xlwings"', xlwings_vba, re.M)
    path_expr = procedure(xlwings_vba, "GetConfigFilePath")
    assert 'Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"' in path_expr


def test_a_changed_template_fails_the_build():
    source = template_modules()["xlwings"]
    patched = addin.patch_xlwings_source(source)
    assert patched != source
    with pytest.raises(addin.AddinBuildError, match="xlwings' VBA changed"):
        addin.patch_xlwings_source(source.replace("'Workbook Sheet Config", "'Sheet config of the workbook"))
    with pytest.raises(addin.AddinBuildError, match="xlwings' VBA changed"):
        addin.patch_xlwings_source(patched)  # nothing to patch twice


# --------------------------------------------------------------------------- install


def test_install_off_windows_says_so(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    assert addin.install_addin() == 1
    err = capsys.readouterr().err
    assert "Excel 加载项只能在 Windows 上安装" in err


WINDOWS_INTERPRETER = "C:\\Users\\张三\\hscredit\\Scripts\\pythonw.exe"


@pytest.fixture
def windows(monkeypatch, tmp_path, built):
    """install_addin as on Windows: APPDATA and USERPROFILE in tmp_path, the build copied."""
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "me"))
    monkeypatch.setattr(addin, "_checks", lambda: [(True, "检查通过")])
    monkeypatch.setattr(addin, "_conf_encoding", lambda: "gb18030")
    monkeypatch.setattr(addin, "addin_interpreter", lambda: WINDOWS_INTERPRETER)
    targets = []

    def build(path):
        targets.append(Path(path))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, path)
        return Path(path)

    monkeypatch.setattr(addin, "build_addin", build)
    return tmp_path, targets


def test_install_on_windows(windows, capsys):
    tmp_path, targets = windows
    conf = tmp_path / "me" / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True)
    conf.write_bytes('"CONDA PATH","C:\\Users\\张三\\miniconda3"\r\n"interpreter_win","C:\\old\\python.exe"\r\n'
                     .encode("gb18030"))
    assert addin.install_addin() == 0
    assert targets == [tmp_path / "AppData" / "Roaming" / "Microsoft" / "Excel" / "XLSTART" / "hscredit_xl.xlam"]
    lines = conf.read_bytes().decode("gb18030").splitlines()
    assert lines == ['"CONDA PATH","C:\\Users\\张三\\miniconda3"', f'"INTERPRETER_WIN","{WINDOWS_INTERPRETER}"']
    out = capsys.readouterr().out
    assert "下一步" in out and "信用考评" in out and "黄石信用考评" in out


@pytest.mark.parametrize("bad", ["pythonw", "python.exe", "Scripts\\pythonw.exe", "C:\\100%\\Scripts\\pythonw.exe",
                                 "C:\\wow!\\Scripts\\pythonw.exe", "C:\\venv\\Scripts\\hscredit-xl.exe"])
def test_install_refuses_an_interpreter_the_addin_would_refuse(windows, monkeypatch, capsys, bad):
    tmp_path, targets = windows
    monkeypatch.setattr(addin, "addin_interpreter", lambda: bad)
    assert addin.install_addin() == 1
    err = capsys.readouterr().err
    assert f"「{bad}」" in err and "未写入任何文件" in err
    assert targets == [] and not (tmp_path / "me").exists()


def test_install_writes_pythonw_beside_this_python(tmp_path, monkeypatch):
    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").write_bytes(b"")
    monkeypatch.setattr(sys, "executable", str(scripts / "python.exe"))
    assert addin.addin_interpreter() == str(scripts / "python.exe")  # no pythonw.exe: this one
    (scripts / "pythonw.exe").write_bytes(b"")
    assert addin.addin_interpreter() == str(scripts / "pythonw.exe")  # no console window


@pytest.mark.parametrize("path, ok", [
    ("C:\\Users\\张三\\hscredit\\Scripts\\pythonw.exe", True),
    ("d:\\Python312\\PYTHON.EXE", True),
    ("\\\\server\\share\\venv\\Scripts\\pythonw.exe", True),
    ("C:\\Program Files (x86)\\A&B\\python.exe", True),  # quoted on the command line: & ( ) are text
    ("", False), ("pythonw", False), ("python.exe", False), (".\\python.exe", False),
    ("C:python.exe", False), ("C:\\x\\python.exe.bat", False), ("C:\\x\\calc.exe", False),
    ("C:\\%TEMP%\\python.exe", False), ("C:\\a!b!\\python.exe", False), ('C:\\a"\\python.exe', False),
    ("C:\\a\nb\\python.exe", False), ("C:\\a\rb\\python.exe", False),
])
def test_interpreter_rules(path, ok):
    assert addin.interpreter_ok(path) is ok


def test_install_warns_about_a_licence_key(windows, capsys):
    tmp_path, _ = windows
    conf = tmp_path / "me" / ".xlwings" / "xlwings.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('"LICENSE_KEY","abc"\n', encoding="gb18030")
    assert addin.install_addin() == 1
    assert "LICENSE_KEY" in capsys.readouterr().out


def test_install_with_excel_holding_the_file(windows, monkeypatch, capsys):
    def locked(path):
        raise PermissionError(13, "in use", str(path))

    monkeypatch.setattr(addin, "build_addin", locked)
    assert addin.install_addin() == 1
    assert "请先关闭所有 Excel 窗口" in capsys.readouterr().err


def test_atomic_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "hscredit_xl.xlam"
    target.write_bytes(b"old")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(addin.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        addin._write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["hscredit_xl.xlam"]


def test_no_xlwings_template_or_vba_in_the_package():
    package = Path(addin.__file__).parent
    suspicious = [p for p in package.rglob("*") if p.suffix.lower() in {".xlam", ".xlsm", ".bin", ".bas", ".cls"}]
    assert suspicious == []


def test_install_checks_the_import_as_the_udf_server_does(tmp_path, monkeypatch):
    checks = dict((line, ok) for ok, line in addin._checks())
    assert checks["hscredit_xl 的工作表函数能以 UDF 服务器的方式（-E -P -B）导入"] is True
    # a Python that cannot import the package: the check says so, with Python's own last line
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'hscredit_xl'\" >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    failed = [line for ok, line in addin._checks() if not ok and "UDF 服务器" in line]
    assert failed == ["Python 以 UDF 服务器的方式（-E -P -B）无法导入 hscredit_xl.udfs："
                      "ModuleNotFoundError: No module named 'hscredit_xl'"]
