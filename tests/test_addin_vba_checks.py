"""More of the Excel path checked without Excel (issue 14, item 3), on the BUILT add-in.

* The ribbon XML against the structural rules of the customUI 2009/07 schema that matter here,
  as [MS-CUSTOMUI2] ("Custom UI XML Markup Version 2", the schema of
  http://schemas.microsoft.com/office/2009/07/customui, section 5.1) states them. No copy of
  the schema can be vendored (Microsoft's copyright) and none is in a package here.
* LibreOffice opens the add-in, imports its VBA and compiles every module (``lo_vba_compile.py``,
  run once per session by the system Python, which has LibreOffice's ``uno``); syntax errors
  injected into each of our modules, and into what we inject into xlwings' module, are caught.
* A plain-Python check of what LibreOffice misses but Excel refuses: identifiers reserved by
  [MS-VBAL] 3.3.5.2, lines over 1023 characters, unbalanced parentheses, undeclared variables
  under ``Option Explicit`` in our modules.
* The Function Wizard metadata (``Application.MacroOptions``), read back from the VBA: within
  Excel's 255-character limits and equal to what the Python functions declare.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import defusedxml.ElementTree as DET
import pytest

from conftest import soffice_required
import hscredit_xl.udfs as udfs
from hscredit_xl import udfs_vba
from test_addin_security import read_modules
from vba_tools import (PROCEDURE_HEAD, WINDOWS_32, WINDOWS_64, VbaEnvironment, evaluate, logical_lines,
                       resolve_conditionals)

HERE = Path(__file__).resolve().parent
NS = "{http://schemas.microsoft.com/office/2009/07/customui}"
OUR_MODULES = ("hscredit_addin", "hscredit_python", "xlwings_udfs", "ThisWorkbook")


@pytest.fixture(scope="module")
def built(addin_xlam, tmp_path_factory) -> Path:
    return Path(shutil.copy(addin_xlam, tmp_path_factory.mktemp("addin")))  # conftest builds it once


@pytest.fixture(scope="module")
def modules(built) -> dict[str, tuple[str, str]]:
    return read_modules(built)


# --------------------------------------------------------------------------- the ribbon: [MS-CUSTOMUI2]

# Element nesting we use, with the children [MS-CUSTOMUI2] allows (2.3: CT_CustomUI, CT_Ribbon,
# CT_Tabs, CT_Tab, CT_Group; a button has no children).
CHILDREN = {
    "customUI": {"commands", "ribbon", "backstage", "contextMenus"},
    "ribbon": {"qat", "tabs", "contextualTabs"},
    "tabs": {"tab"},
    "tab": {"group"},
    "group": {"control", "labelControl", "button", "toggleButton", "checkBox", "editBox", "comboBox", "dropDown",
              "gallery", "menu", "dynamicMenu", "splitButton", "box", "buttonGroup", "separator",
              "dialogBoxLauncher"},
    "button": set(),
}
# Attributes of the elements we use (CT_Tab, CT_Group, CT_Button) and their simple types (2.4)
ATTRIBUTES = {
    "customUI": {"onLoad", "loadImage"},
    "ribbon": {"startFromScratch"},
    "tabs": set(),
    "tab": {"id", "idQ", "idMso", "tag", "label", "keytip", "visible", "insertAfterMso", "insertBeforeMso",
            "insertAfterQ", "insertBeforeQ", "getLabel", "getKeytip", "getVisible"},
    "group": {"id", "idQ", "idMso", "tag", "label", "image", "imageMso", "screentip", "supertip", "keytip",
              "visible", "autoScale", "centerVertically", "insertAfterMso", "insertBeforeMso", "insertAfterQ",
              "insertBeforeQ", "getLabel", "getImage", "getScreentip", "getSupertip", "getKeytip", "getVisible"},
    "button": {"id", "idQ", "idMso", "tag", "label", "image", "imageMso", "screentip", "supertip", "keytip",
               "description", "size", "onAction", "enabled", "visible", "showLabel", "showImage",
               "insertAfterMso", "insertBeforeMso", "insertAfterQ", "insertBeforeQ", "getLabel", "getImage",
               "getScreentip", "getSupertip", "getKeytip", "getDescription", "getSize", "getEnabled",
               "getVisible", "getShowLabel", "getShowImage"},
}
NCNAME = re.compile(r"[A-Za-z_][\w.\-]*")  # ASCII subset of xsd:NCName, all we use
ST_STRING = ("label", "screentip", "supertip", "keytip", "tag")  # ST_String: 1..1024 characters (2.4.24)
ST_DELEGATE = ("onAction", "getLabel", "getImage", "getSize", "getEnabled", "getVisible")  # 1..1024 (2.4.12)


def ribbon_problems(xml: bytes, callbacks: set[str]) -> list[str]:
    """What breaks the [MS-CUSTOMUI2] rules (or names a callback the VBA lacks), one line each."""
    root = DET.fromstring(xml)
    problems = []
    if root.tag != NS + "customUI":
        return [f"root is {root.tag}, not customUI in the 2009/07 namespace"]
    ids: list[str] = []
    for parent in root.iter():
        local = parent.tag.removeprefix(NS)
        if not parent.tag.startswith(NS) or local not in CHILDREN:
            problems.append(f"unknown element {parent.tag}")
            continue
        for child in parent:
            if child.tag.removeprefix(NS) not in CHILDREN[local]:
                problems.append(f"{child.tag.removeprefix(NS)} inside {local}")
        for name, value in parent.attrib.items():
            if name not in ATTRIBUTES[local]:
                problems.append(f"{local} has unknown attribute {name}")
        if local in ("tab", "group", "button"):
            given = [a for a in ("id", "idQ", "idMso") if a in parent.attrib]
            if len(given) != 1:  # "Exactly one of these attributes MUST be specified"
                problems.append(f"{local} has {given or 'none'} of id/idQ/idMso")
        if "id" in parent.attrib:
            ident = parent.get("id")
            ids.append(ident)
            if not NCNAME.fullmatch(ident) or len(ident) > 1024:  # ST_UniqueID: xsd:ID, 1..1024 (2.4.27)
                problems.append(f"id {ident!r} is not an xsd:ID of 1..1024 characters")
        if "imageMso" in parent.attrib and not NCNAME.fullmatch(parent.get("imageMso")):  # ST_ID (2.4.13)
            problems.append(f"imageMso {parent.get('imageMso')!r} is not an NCName")
        if "size" in parent.attrib and parent.get("size") not in ("normal", "large"):  # ST_Size (2.4.23)
            problems.append(f"size {parent.get('size')!r} is not normal or large")
        for name in ST_STRING:
            if name in parent.attrib and not 1 <= len(parent.get(name)) <= 1024:
                problems.append(f"{local} {name} has {len(parent.get(name))} characters, not 1..1024")
        for name in ST_DELEGATE:
            if name in parent.attrib:
                value = parent.get(name)
                if not 1 <= len(value) <= 1024:
                    problems.append(f"{local} {name} is empty or longer than 1024")
                elif value not in callbacks:
                    problems.append(f"{local} {name}={value!r} names no ribbon callback in the VBA")
        for a, b in (("label", "getLabel"), ("size", "getSize"), ("image", "imageMso")):
            if a in parent.attrib and b in parent.attrib:  # "mutually exclusive"
                problems.append(f"{local} has both {a} and {b}")
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:  # "All custom controls MUST have unique identifiers"
        problems.append(f"ids used twice: {duplicates}")
    return problems


def ribbon_callbacks(modules: dict[str, tuple[str, str]]) -> set[str]:
    """module.Sub for every ``Sub X(control As IRibbonControl)`` of a standard module."""
    return {f"{name}.{m.group(1)}" for name, (kind, source) in modules.items() if kind == "Module"
            for m in re.finditer(r"^(?:Public )?Sub (\w+)\(control As IRibbonControl\)", source, re.M)}


def test_ribbon_follows_the_customui_rules(built, modules):
    xml = zipfile.ZipFile(built).read("customUI/customUI14.xml")
    assert ribbon_problems(xml, ribbon_callbacks(modules)) == []


@pytest.mark.parametrize("old, new, problem", [
    ('id="hscreditValidate"', 'id="hscreditRecompute"', "ids used twice"),
    ('id="hscreditExport"', 'id="hscredit Export"', "is not an xsd:ID"),
    ('id="hscreditExport"', 'id="1export"', "is not an xsd:ID"),
    ('size="large"', 'size="huge"', "is not normal or large"),
    ('onAction="hscredit_addin.HsExport"', 'onAction=""', "is empty"),
    ('onAction="hscredit_addin.HsExport"', 'onAction="hscredit_addin.HsExprot"', "names no ribbon callback"),
    ('label="导出报送版"', 'label="' + "长" * 1025 + '"', "not 1..1024"),
    ('id="hscreditExport"', 'idMso="FileSave" id="hscreditExport"', "of id/idQ/idMso"),
    ('<group id="hscreditGroup"', '<button id="stray"/><group id="hscreditGroup"', "button inside tab"),
    ('imageMso="FileSaveAs"', 'imageMso="FileSaveAs" colour="red"', "unknown attribute colour"),
])
def test_ribbon_rules_catch_mistakes(built, modules, old, new, problem):
    xml = zipfile.ZipFile(built).read("customUI/customUI14.xml").decode()
    assert xml.count(old) >= 1, old
    problems = ribbon_problems(xml.replace(old, new, 1).encode(), ribbon_callbacks(modules))
    assert any(problem in p for p in problems), problems


# --------------------------------------------------------------------------- LibreOffice compiles every module


CONFIGS = {"64-bit": WINDOWS_64, "32-bit": WINDOWS_32}
INJECTIONS = [  # syntax errors LibreOffice reports (see shared notes), one per module we write or patch
    {"id": "dangling-ampersand", "module": "hscredit_addin",
     "old": "    XLPy.Exec pythonCommand", "new": "    XLPy.Exec pythonCommand &"},
    {"id": "end-functoin", "module": "hscredit_python", "old": "End Function", "new": "End Functoin"},
    {"id": "unescaped-quote", "module": "xlwings_udfs",
     "old": '"hscredit_xl.udfs", "HS_COUNTSCORE"', "new": '"hscredit_xl.udfs", "HS_COUNT"SCORE"'},
    {"id": "patched-udf-server-line", "module": "xlwings",
     "old": 'tail = " -E -P -B -c ""import', "new": 'tail = " -E -P -B -c "import'},
    {"id": "if-without-end", "module": "ThisWorkbook",
     "old": "    xlwings_udfs.RegisterHsFunctions", "new": "    If True Then xlwings_udfs.RegisterHsFunctions\n    If True Then"},
    {"id": "as-as", "module": "xlwings", "old": "Dim PYTHON_WIN As String", "new": "Dim PYTHON_WIN As As String"},
]


def system_python_with_uno() -> str | None:
    for python in ("/usr/bin/python3", shutil.which("python3")):
        if python and subprocess.run([python, "-c", "import uno"], capture_output=True).returncode == 0:
            return python
    return None


@pytest.fixture(scope="session")
def libreoffice_vba(soffice, addin_xlam, tmp_path_factory) -> dict:
    """One LibreOffice run for the session: every module compiled under each config, and the injections."""
    python = system_python_with_uno()
    if python is None:
        message = "LibreOffice's Python bridge is missing (Debian: apt-get install python3-uno)"
        if soffice_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    work = tmp_path_factory.mktemp("lo-vba")
    xlam = shutil.copy(addin_xlam, work)
    spec = work / "spec.json"
    spec.write_text(json.dumps({"soffice": soffice, "addin": str(xlam), "configs": CONFIGS,
                                "injections": INJECTIONS}), encoding="utf-8")
    out = work / "out.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}  # the system Python, untouched
    done = subprocess.run([python, str(HERE / "lo_vba_compile.py"), str(spec), str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and out.exists(), done.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.soffice
def test_libreoffice_imports_every_module(libreoffice_vba, modules):
    assert set(libreoffice_vba["modules"]) == set(modules)
    # what LibreOffice imported is our source (it strips the Attribute lines and adds Option VBASupport 1)
    for name, (_, source) in modules.items():
        ours = [x for x in source.split("\n") if x.strip() and not x.startswith("Attribute ")]
        imported = [x for x in libreoffice_vba["modules"][name].replace("\r\n", "\n").split("\n") if x.strip()]
        assert [x for x in ours if x not in imported] == [], name


@pytest.mark.soffice
@pytest.mark.parametrize("config", CONFIGS)
def test_libreoffice_compiles_every_module(libreoffice_vba, modules, config):
    results = {case: ok for case, ok in libreoffice_vba["results"].items() if case.endswith("@" + config)}
    assert set(results) == {f"{name}@{config}" for name in modules}
    assert [case for case, ok in results.items() if ok is not True] == [], libreoffice_vba["version"]


@pytest.mark.soffice
@pytest.mark.parametrize("injection", [i["id"] for i in INJECTIONS])
def test_libreoffice_catches_an_injected_syntax_error(libreoffice_vba, injection):
    assert libreoffice_vba["results"][f"inject:{injection}"] is False


# --------------------------------------------------------------------------- plain-Python checks ([MS-VBAL])

# [MS-VBAL] 3.3.5.2 Reserved Identifiers: statement-keyword, marker-keyword, operator-identifier,
# special-form, reserved-type-identifier, reserved-name, literal-identifier, rem-keyword,
# reserved-for-implementation-use, future-reserved.
VBA_RESERVED = {w.lower() for w in """
    Call Case Close Const Declare DefBool DefByte DefCur DefDate DefDbl DefInt DefLng DefLngLng DefLngPtr DefObj
    DefSng DefStr Do Else ElseIf End EndIf Enum Erase Event Exit For Friend Function Get Global GoSub GoTo If
    Implements Input Let Lock Loop LSet Next On Open Option Print Private Public Put RaiseEvent ReDim Resume Return
    RSet Seek Select Set Static Stop Sub Type Unlock Wend While With Write
    Any As ByRef ByVal Each In New Shared Until WithEvents Optional ParamArray Preserve Spc Tab Then To
    AddressOf And Eqv Imp Is Like Mod Not Or TypeOf Xor
    Array Circle InputB LBound Scale UBound
    Boolean Byte Currency Date Double Integer Long LongLong LongPtr Single String Variant
    Abs CBool CByte CCur CDate CDbl CDec CInt CLng CLngLng CLngPtr CSng CStr CVar CVErr Debug DoEvents Fix Int Len
    LenB Me PSet Sgn
    True False Nothing Empty Null
    Rem
    Attribute LINEINPUT VB_Base VB_Control VB_Creatable VB_Customizable VB_Description VB_Exposed VB_Ext_KEY
    VB_GlobalNameSpace VB_HelpID VB_Invoke_Func VB_Invoke_Property VB_Invoke_PropertyPut
    VB_Invoke_PropertyPutRef VB_MemberFlags VB_Name VB_PredeclaredId VB_ProcData VB_TemplateDerived
    VB_UserMemId VB_VarDescription VB_VarHelpID VB_VarMemberFlags VB_VarProcData VB_VarUserMemId
    CDecl Decimal DefDec
""".split()}


def declared_names(source: str) -> list[tuple[str, str]]:
    """(what, name) for every procedure, parameter, variable, constant and label a module declares."""
    names = []
    for line in logical_lines(source):
        m = PROCEDURE_HEAD.match(line)
        if m:
            names.append(("procedure", m.group("name")))
            for p in (m.group("params") or "").split(","):
                p = re.sub(r"^\s*((Optional|ByVal|ByRef|ParamArray)\s+)*", "", p.strip(), flags=re.I)
                if p:
                    names.append(("parameter", re.match(r"\w+", p).group(0)))
            continue
        d = re.match(r"(?:(?:Dim|Private|Public|Static|Global|Const|ReDim|Preserve)\s+)+(?!Declare|Enum|Type)(.*)",
                     line, re.I)
        if d:
            for part in re.split(r",(?![^(]*\))", d.group(1)):
                ident = re.match(r"\s*(\w+)", part)
                if ident:
                    names.append(("variable", ident.group(1)))
        label = re.fullmatch(r"(\w+):", line)
        if label:
            names.append(("label", label.group(1)))
    return names


def plain_problems(name: str, source: str) -> list[str]:
    problems = []
    for i, line in enumerate(source.split("\n"), 1):
        if len(line) > 1023:
            problems.append(f"{name}:{i}: {len(line)} characters (VBA's limit is 1023)")
    for line in logical_lines(resolve_conditionals(source, WINDOWS_64)):
        code = re.sub(r'"(?:[^"]|"")*"', '""', line)
        if code.count("(") != code.count(")") or any(code[:i].count(")") > code[:i].count("(") for i in range(len(code))):
            problems.append(f"{name}: unbalanced parentheses: {line[:120]}")
    for what, ident in declared_names(source):
        if ident.lower() in VBA_RESERVED:
            problems.append(f"{name}: {what} {ident!r} is a reserved identifier ([MS-VBAL] 3.3.5.2)")
    return problems


def undeclared(source: str) -> list[str]:
    """Variables assigned but never declared, in a module with Option Explicit (LibreOffice misses these)."""
    lines = logical_lines(source)
    if "Option Explicit" not in lines:
        return []
    module_level = {ident.lower() for what, ident in declared_names(source)}
    missing = []
    for line in lines:
        m = re.match(r"(?:Set\s+)?(\w+)\s*=", line)
        if m and m.group(1).lower() not in module_level:
            missing.append(line)
    return missing


def test_plain_vba_checks(modules):
    problems = [p for name, (_, source) in modules.items() for p in plain_problems(name, source)]
    assert problems == []
    for name in OUR_MODULES:
        assert undeclared(modules[name][1]) == [], name


@pytest.mark.parametrize("mutation, problem", [
    (lambda s: s + "\nSub X()\n    Dim y\n    y = " + "1 + " * 300 + "1\nEnd Sub\n", "characters"),
    (lambda s: s + "\nSub X()\n    Dim y\n    y = Len((\"a\")\nEnd Sub\n", "unbalanced parentheses"),
    (lambda s: s + "\nFunction X(Currency, Optional Nothing)\nEnd Function\n", "parameter 'Currency'"),
    (lambda s: s + "\nSub Y()\n    Dim Event As String\nEnd Sub\n", "variable 'Event'"),
])
def test_plain_checks_catch_mistakes(modules, mutation, problem):
    problems = plain_problems("hscredit_addin", mutation(modules["hscredit_addin"][1]))
    assert any(problem in p for p in problems), problems


def test_undeclared_variable_is_caught(modules):
    source = modules["hscredit_python"][1].replace("    exe = LCase$(", "    exeName = LCase$(")
    assert undeclared(source) == ['exeName = LCase$(Mid$(path, InStrRev(path, "\\") + 1))']


# --------------------------------------------------------------------------- the Function Wizard metadata


def macro_options_in_vba(source: str) -> dict[str, dict]:
    """What RegisterHsFunctions hands Application.MacroOptions, per function, evaluated from the VBA."""
    body = [line for line in logical_lines(source)]
    start = body.index(f"Public Sub {udfs_vba.REGISTER_SUB}()")
    docs: dict[int, str] = {}
    env = VbaEnvironment(chrw=chr, argdocs=lambda i: docs[i])
    env["thisworkbook.name"] = "hscredit_xl.xlam"
    found = {}
    for line in body[start + 1:]:
        if line == "End Sub":
            break
        if line.startswith(("Dim ", "ReDim ")):
            if line.startswith("ReDim argDocs"):
                docs.clear()
            continue
        m = re.fullmatch(r"argDocs\((\d+)\) = (.*)", line)
        if m:
            docs[int(m.group(1))] = evaluate(m.group(2), env)
            continue
        m = re.fullmatch(r"desc = (.*)", line)
        if m:
            env["desc"] = evaluate(m.group(1), env)
            continue
        m = re.fullmatch(r"Application\.MacroOptions (.*)", line)
        assert m, line
        options = {}
        for key, expr in re.findall(r"(\w+):=(.*?)(?=, \w+:=|$)", m.group(1)):
            options[key] = [docs[i] for i in sorted(docs)] if expr == "argDocs" else evaluate(expr, env)
        found[options.pop("Macro").rsplit("!", 1)[1]] = options
    return found


def test_function_wizard_metadata_in_the_vba(modules):
    registered = macro_options_in_vba(modules["xlwings_udfs"][1])
    recorded = {m.rsplit("!", 1)[1]: o for m, o in udfs_vba.run_import_udfs(udfs_vba.RecordingWorkbook()).macro_options}
    assert set(registered) == set(recorded) == {n for n in dir(udfs) if n.startswith("HS_")}
    wrappers = {m.group("name"): [p for p in (m.group("params") or "").split(",") if p.strip()]
                for line in logical_lines(modules["xlwings_udfs"][1]) if (m := PROCEDURE_HEAD.match(line))
                and m.group("name").startswith("HS_")}
    for name, options in registered.items():
        want = {k: v for k, v in recorded[name].items() if v is not None}
        assert options["Description"] == want["Description"]  # nothing cut on the way
        assert options["ArgumentDescriptions"] == list(want["ArgumentDescriptions"])
        assert options["Category"] == want["Category"] == "黄石信用考评"
        # Excel's limits: the description and each argument's description at most 255 characters
        assert 1 <= len(options["Description"]) <= 255, name
        assert all(1 <= len(d) <= 255 for d in options["ArgumentDescriptions"]), name
        assert len(options["Category"]) <= 255
        # one description per argument of the wrapper, in order
        assert len(options["ArgumentDescriptions"]) == len(wrappers[name]), name


def test_metadata_check_sees_a_long_description(modules):
    source = modules["xlwings_udfs"][1]
    first = re.search(r"^    desc = (.*)$", source, re.M)
    longer = source.replace(first.group(0), first.group(0) + ' & "' + "x" * 300 + '"', 1)
    registered = macro_options_in_vba(longer)
    assert max(len(o["Description"]) for o in registered.values()) > 255
