"""The add-in runs no code a mailed workbook brings (issue 15, items 1–3), checked on the BUILT add-in.

* Cells can call only ``HS_`` functions: every other standard module is ``Option Private Module``
  or holds no public Function.
* No untrusted string on a command line or the import path: every command line the VBA can build
  is rebuilt for hostile workbook names, split by cmd.exe's documented rules, and must be one
  command with none of the attacker's text; the ribbon builds none (it goes through COM).
* The interpreter is an absolute path from the user's own config; the xlwings DLL is loaded by
  full path before any of its functions is called.

Each check also runs against xlwings' unpatched template, where it must fail: so it can fail.
"""
from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from oletools.olevba import VBA_Parser

import hscredit_xl
import hscredit_xl.udfs
from hscredit_xl import addin
from vba_tools import (PROCEDURE_HEAD, WINDOWS_32, WINDOWS_64, VbaEnvironment, cmd_commands, cmd_remainder,
                       logical_lines, procedure, resolve_conditionals, run_procedure, windows_argv)


def read_modules(path: Path) -> dict[str, tuple[str, str]]:
    """Module name -> (kind, source) of an add-in, read back with olevba (kind from the PROJECT stream)."""
    with zipfile.ZipFile(path) as z:
        project = z.read("xl/vbaProject.bin")
    kinds = {m.name: m.kind for m in addin.read_vba_modules(project)}
    parser = VBA_Parser(str(path))
    try:
        return {Path(f).stem: (kinds[Path(f).stem], code.replace("\r\n", "\n"))
                for _, _, f, code in parser.extract_macros()}
    finally:
        parser.close()


@pytest.fixture(scope="module")
def built(addin_xlam, tmp_path_factory) -> Path:
    return Path(shutil.copy(addin_xlam, tmp_path_factory.mktemp("addin")))  # conftest builds it once


@pytest.fixture(scope="module")
def modules(built) -> dict[str, tuple[str, str]]:
    return read_modules(built)


@pytest.fixture(scope="module")
def template() -> dict[str, tuple[str, str]]:
    return read_modules(addin.template_path())


# --------------------------------------------------------------------------- 1. cells call only HS_


def cell_callable(modules: dict[str, tuple[str, str]]) -> set[str]:
    """Functions a worksheet formula can call: public Functions (and Declares) of standard modules
    without ``Option Private Module``. Document and class modules hold none a cell can reach."""
    found = set()
    for name, (kind, source) in modules.items():
        if kind != "Module":
            continue
        lines = logical_lines(source)
        if any(re.fullmatch(r"Option\s+Private\s+Module", line, re.I) for line in lines):
            continue
        for line in lines:
            m = PROCEDURE_HEAD.match(line)
            if m and m.group("kind").lower() == "function" and (m.group("scope") or "Public").lower() != "private":
                found.add(f"{name}.{m.group('name')}")
            d = re.match(r"(?:(Public|Private|Global)\s+)?Declare\s+(?:PtrSafe\s+)?Function\s+(\w+)", line, re.I)
            if d and (d.group(1) or "Public").lower() != "private":
                found.add(f"{name}.{d.group(2)}")
    return found


def test_cells_can_call_only_the_hs_functions(modules):
    callable_ = cell_callable(modules)
    assert {f for f in callable_ if not f.split(".")[1].startswith("HS_")} == set()
    wrappers = {f.split(".")[1] for f in callable_}
    assert wrappers == {n for n in dir(hscredit_xl.udfs) if n.startswith("HS_")}
    assert all(f.startswith("xlwings_udfs.") for f in callable_)


def test_the_template_lets_cells_call_runpython(template):
    # the same check on xlwings' own template finds RunPython & co: so the test above can fail
    callable_ = {f.split(".")[1] for f in cell_callable(template)}
    assert {"RunPython", "RunFrozenPython", "SaveConfigToFile", "ReadFile", "ExecuteWindows"} <= callable_


def test_private_modules_and_ribbon_callbacks(modules, built):
    for name in ("xlwings", "hscredit_python"):
        assert "Option Private Module" in logical_lines(modules[name][1]), name
    # the ribbon callbacks stay reachable: public Subs of a module that is not private
    ribbon = zipfile.ZipFile(built).read("customUI/customUI14.xml").decode()
    source = modules["hscredit_addin"][1]
    assert "Option Private Module" not in logical_lines(source)
    for on_action in re.findall(r'onAction="([^"]+)"', ribbon):
        module, sub = on_action.split(".")
        assert module == "hscredit_addin"
        head = procedure(source, sub)[0]
        assert re.fullmatch(rf"Public Sub {sub}\(control As IRibbonControl\)", head), head


def test_dropped_procedures_are_gone(modules):
    source = modules["xlwings"][1]
    for name in addin.DROPPED_PROCEDURES:
        assert procedure(source, name) == [], name
        assert not any(re.search(rf"\b{name}\b", line) for line in logical_lines(source)), name


# --------------------------------------------------------------------------- 2. command lines


HOSTILE_NAMES = [
    "阳新县^& calc ^&.xlsx",
    "阳新县& calc &.xlsx",
    "阳新县;1;2;3;4;.;x.xlsx",
    "阳新县%COMSPEC%calc%PATH%.xlsx",
    '阳新县" & calc & ".xlsx',
    "阳新县!COMSPEC! calc !x!.xlsx",
    "阳新县\n calc\r\n.xlsx",
    "阳新县) & calc & (.xlsx",
    "阳新县 | calc > x.xlsx",
]
ATTACKER = "calc"
INTERPRETER = r"C:\Users\张三\hscredit\Scripts\pythonw.exe"
ADDIN_PATH = r"C:\Users\张三\AppData\Roaming\Microsoft\Excel\XLSTART\hscredit_xl.xlam"
CLSID = "{0E4D6A2C-7B1F-4C3A-9D8E-5F6A7B8C9D0E}"

STARTS_A_PROCESS = re.compile(
    r"\b(Shell|WScript\.Run|WScript\.Exec|AppleScriptTask|MacScript|ShellExecute\w*|CreateProcess\w*|system)\b",
    re.I)


def process_calls(source: str, constants: dict) -> list[str]:
    """Lines of the code active in Windows Excel that start a program (other than the UDF server)."""
    active = logical_lines(resolve_conditionals(source, constants))
    return [line for line in active if STARTS_A_PROCESS.search(re.sub(r'"(?:[^"]|"")*"', '""', line))
            and not re.match(r"(Private\s+|Public\s+)?Declare\b", line, re.I)]


def xlpy_command(source: str, constants: dict, settings: dict, book: str) -> str:
    """The UDF server's command line as the VBA of ``XLPyCommand`` builds it, with ``$(CLSID)`` filled in
    as the xlwings DLL does. ``settings`` are the user's xlwings.conf, ``book`` the active workbook."""
    folder = "C:\\Users\\张三\\Downloads\\邮件附件"

    def get_config(key, default="", source=""):
        return settings.get(key, default)

    def problem():
        return "" if addin.interpreter_ok(settings.get("INTERPRETER_WIN", "")) else "无解释器"

    def interpreter():
        if problem():
            raise RuntimeError(problem())
        return settings["INTERPRETER_WIN"]

    env = VbaEnvironment({
        "getconfig": get_config,
        "chr": chr,
        "replace": lambda s, old, new: s.replace(old, new),
        "hscredit_python.hsinterpreter": interpreter,
        "hscredit_python.hsinterpreterproblem": problem,
        "activeworkbook.name": book,
        "activeworkbook.fullname": folder + "\\" + book,
        "activeworkbook.path": folder,
        "thisworkbook.fullname": ADDIN_PATH,
        "thisworkbook.name": "hscredit_xl.xlam",
        "thisworkbook.path": ADDIN_PATH.rsplit("\\", 1)[0],
    })
    lines = procedure(resolve_conditionals(source, constants), "XLPyCommand")
    assert lines, "no XLPyCommand"
    return run_procedure(lines, env)("XLPyCommand").replace("$(CLSID)", CLSID)


# every combination of the settings XLPyCommand branches on
SETTINGS = [
    dict(pair for pair in combo if pair)
    for combo in itertools.product(
        [("SHOW CONSOLE", True), None],
        [("CONDA PATH", r"C:\Users\张三\miniconda3"), None],
        [("CONDA ENV", "base"), None],
        [("LICENSE_KEY", "key"), None],
        [("PYTHONPATH", r"C:\公用\py"), None],
    )
]


def one_command(line: str) -> list[str]:
    """The argv of the single command cmd.exe runs from ``line`` (asserting it is exactly one)."""
    assert line.startswith("cmd.exe "), line
    assert "%" not in line and "!" not in line, line  # nothing for cmd to expand
    commands = cmd_commands(cmd_remainder(line))
    assert len(commands) == 1, commands
    return windows_argv(commands[0])


@pytest.mark.parametrize("constants", [WINDOWS_64, WINDOWS_32], ids=["64-bit", "32-bit"])
def test_only_the_udf_server_starts_a_program(modules, constants):
    for name, (_, source) in modules.items():
        assert process_calls(source, constants) == [], name
    # ...and the UDF server is started only with XLPyCommand
    activations = [line for _, source in modules.values() for line in logical_lines(source)
                   if "XLPyDLLActivateAuto(" in line and "Declare" not in line]
    assert activations and all(re.search(r"XLPyDLLActivateAuto\(\w+, XLPyCommand, -?1\)", a) for a in activations)


def test_the_template_starts_programs(template):
    calls = process_calls(template["xlwings"][1], WINDOWS_64)
    assert any("WScript.Run" in c for c in calls), calls


@pytest.mark.parametrize("book", HOSTILE_NAMES)
@pytest.mark.parametrize("constants", [WINDOWS_64, WINDOWS_32], ids=["64-bit", "32-bit"])
def test_udf_server_command_line_for_hostile_names(modules, constants, book):
    source = modules["xlwings"][1]
    for settings in SETTINGS:
        settings = dict(settings, INTERPRETER_WIN=INTERPRETER)
        for debug in (False, True):
            line = xlpy_command(source, constants, dict(settings, **{"DEBUG UDFS": True} if debug else {}), book)
            if debug:
                assert line == "{506e67c3-55b5-48c3-a035-eed5deea7d6d}"  # connects to a running server
                continue
            assert ATTACKER not in line and "阳新县" not in line and "邮件附件" not in line, (settings, line)
            argv = one_command(line)
            assert argv == [INTERPRETER, "-E", "-P", "-B", "-c", f"import xlwings; xlwings.serve('{CLSID}')"], argv


def test_template_command_line_runs_the_attackers_command(template):
    # xlwings' own XLPyCommand: the name ends up outside cmd's quotes, so `calc` becomes a command
    line = xlpy_command(template["xlwings"][1], WINDOWS_64, {"INTERPRETER_WIN": INTERPRETER}, HOSTILE_NAMES[0])
    commands = cmd_commands(cmd_remainder(line))
    assert len(commands) > 1 and any(c.startswith(ATTACKER) for c in commands), commands
    # and a name with ; puts "." on the import path
    line = xlpy_command(template["xlwings"][1], WINDOWS_64, {"INTERPRETER_WIN": INTERPRETER}, HOSTILE_NAMES[2])
    assert ";.;" in line


def test_cmd_rules_used_here():
    # the splitting rules themselves, on lines whose outcome cmd /? and the C runtime documentation state
    assert cmd_remainder('cmd.exe /K ""C:\\a b\\p.exe" -c "x""') == '"C:\\a b\\p.exe" -c "x"'
    assert cmd_remainder('cmd /C "C:\\a b\\p.exe"') == '"C:\\a b\\p.exe"'
    assert cmd_commands('a "b & c" ^& d & e') == ['a "b & c" & d', "e"]
    assert cmd_commands("a ^^& calc") == ["a ^", "calc"]
    assert cmd_commands("a && b || c | d\r\ne") == ["a", "b", "c", "d"]
    assert windows_argv('"C:\\p y\\p.exe" -c "a \\"b\\" c" d\\\\"e f"') == ["C:\\p y\\p.exe", "-c", 'a "b" c', "d\\e f"]


def test_udf_server_imports_nothing_from_the_current_folder(modules, tmp_path):
    """The UDF server's own Python command, run in a folder holding a mailed hscredit_xl.py and xlwings.py."""
    line = xlpy_command(modules["xlwings"][1], WINDOWS_64, {"INTERPRETER_WIN": INTERPRETER}, HOSTILE_NAMES[2])
    argv = one_command(line)
    code = argv[-1].replace(f"xlwings.serve('{CLSID}')", "import hscredit_xl.udfs as u; print(u.__file__)")
    for name in ("hscredit_xl.py", "xlwings.py"):
        (tmp_path / name).write_text(f"raise SystemExit('mailed {name} was imported')\n")
    done = subprocess.run([sys.executable, *argv[1:-1], code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    # the package as installed (the source tree with an editable install, site-packages otherwise), never the folder
    imported = Path(done.stdout.strip().splitlines()[-1])
    assert imported.name == "udfs.py" and imported.parent.name == "hscredit_xl" and imported.is_file()
    assert tmp_path not in imported.parents
    # without -P the same code imports the mailed module: so the check above can fail
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "was imported" in done.stderr


def test_the_ribbon_builds_no_command_line(modules):
    ribbon = modules["hscredit_addin"][1]
    lines = logical_lines(ribbon)
    assert not any(re.search(r"\bRunPython\b|\bShell\b|cmd\.exe|PYTHONPATH|\.FullName|\.Path\b", x) for x in lines)
    # the only thing taken from the workbook is the COM object itself
    assert [x for x in lines if "ActiveWorkbook" in x] == [
        "If ActiveWorkbook Is Nothing Then",
        'XLPy.SetAttr XLPy.Module("xlwings._xlwindows"), "BOOK_CALLER", ActiveWorkbook',
    ]


def test_no_workbook_name_reaches_python(modules):
    # no module hands a workbook's name or path to Python's import path (prepare_sys_path)
    for name, (_, source) in modules.items():
        active = logical_lines(resolve_conditionals(source, WINDOWS_64))
        assert not any("prepare_sys_path" in line for line in active), name
        assert not any(re.search(r"PYTHONPATH = .*(Workbook|FName)", line) for line in active), name


# --------------------------------------------------------------------------- 3. the interpreter and the DLL


@pytest.mark.parametrize("settings", [{}, {"INTERPRETER_WIN": "pythonw"}, {"INTERPRETER": "python"},
                                      {"INTERPRETER_WIN": r"Scripts\pythonw.exe"}])
def test_no_valid_interpreter_no_command_line(modules, template, settings):
    with pytest.raises(RuntimeError, match="无解释器"):
        xlpy_command(modules["xlwings"][1], WINDOWS_64, settings, "a.xlsx")
    # xlwings' template runs a bare or relative name instead, which cmd.exe looks for in the current folder first
    argv = one_command(xlpy_command(template["xlwings"][1], WINDOWS_64, settings, "a.xlsx"))
    assert not addin.interpreter_ok(argv[0]) and argv[0] in ("python", "pythonw", r"Scripts\pythonw.exe")


def test_interpreter_comes_only_from_the_checked_user_setting(modules):
    source = modules["xlwings"][1]
    active = logical_lines(resolve_conditionals(source, WINDOWS_64))
    reads = [line for line in active if re.search(r'GetConfig\("INTERPRETER', line)]
    assert reads == []  # xlwings' module reads no interpreter setting itself any more
    assert len([line for line in active if line.startswith("PYTHON_WIN = hscredit_python.HsInterpreter()")]) == 2
    python = logical_lines(modules["hscredit_python"][1])
    assert python.count('path = GetConfig("INTERPRETER_WIN", "", "user")') == 1
    # the VBA refuses the same characters as `addin install`
    [const] = [line for line in python if line.startswith("Private Const UNSAFE_CHARS")]
    assert const == 'Private Const UNSAFE_CHARS As String = "' + addin.UNSAFE_INTERPRETER_CHARS.replace('"', '""') + '"'


def test_missing_interpreter_message_is_chinese_and_shown(modules):
    ribbon = "\n".join(logical_lines(modules["hscredit_addin"][1]))
    assert re.search(r'problem = hscredit_python\.HsInterpreterProblem\(\)\nIf problem <> "" Then\n'
                     r'MsgBox problem, vbExclamation, "hscredit-xl"\nExit Sub', ribbon)
    # the message, read back from its ChrW spelling
    python = modules["hscredit_python"][1]
    assert vba_text(python, "If path = \"\" Then", "Exit Function") == addin.MISSING_INTERPRETER
    head, _, tail = addin.BAD_INTERPRETER.partition("{path}")
    assert vba_text(python, "bad:", "End Function", path="«path»") == head + "«path»" + tail


def vba_text(source: str, after: str, until: str, **variables) -> str:
    """The text the assignments to HsInterpreterProblem between two lines build."""
    lines = logical_lines(source)
    start = lines.index(after) + 1
    end = lines.index(until, start)
    env = VbaEnvironment({k.lower(): v for k, v in variables.items()}, chrw=chr)
    run_procedure(["Sub X()", *lines[start:end], "End Sub"], env)
    return env("HsInterpreterProblem")


def test_dll_loaded_by_full_path_before_use(modules):
    source = resolve_conditionals(modules["xlwings"][1], WINDOWS_64)
    declared = set(re.findall(r"Declare PtrSafe Function (XLPyDLL\w+) Lib", source))
    assert declared >= {"XLPyDLLActivateAuto", "XLPyDLLNDims"}
    for line in logical_lines(source):
        m = PROCEDURE_HEAD.match(line)
        if m:
            current = procedure(source, m.group("name"))
            body = current[1:-1]
            if any(re.search(rf"\b{d}\(", x) for x in body for d in declared):
                # the first statement loads the DLL from the interpreter's folders, by full path
                assert body[0] == "XLPyLoadDLL", current
    load = procedure(source, "XLPyLoadDLL")
    assert "PYTHON_WIN = hscredit_python.HsInterpreter()" in load
    loads = [x for x in load if "LoadLibrary(" in x]
    assert loads == [
        'If LoadLibrary(ParentFolder(PYTHON_WIN) + "\\" + XLPyDLLName) = 0 Then',
        'If LoadLibrary(ParentFolder(ParentFolder(PYTHON_WIN)) + "\\" + XLPyDLLName) = 0 Then',
    ]
    assert any(x.startswith("Err.Raise") for x in load)  # not found: an error, never the bare name
    # with an absolute interpreter the full-path branch is always taken
    [condition] = [x for x in load if x.startswith("If (PYTHON_WIN <> \"python\"")]
    assert condition.startswith('If (PYTHON_WIN <> "python" And PYTHON_WIN <> "pythonw") Or')
