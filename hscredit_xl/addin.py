"""The Excel add-in ``hscredit_xl.xlam``: the ribbon tab 信用考评 and the worksheet functions.

``hscredit-xl addin build`` (contract §2) calls :func:`build_addin`, ``hscredit-xl addin
install`` calls :func:`install_addin`.

How the add-in is made
----------------------
The starting point is the ribbon add-in template that ships inside the installed
xlwings package (``xlwings/quickstart_addin_ribbon.xlam``), read at build time, so the
add-in always matches the installed xlwings version; neither the template nor VBA
copied from it is kept in this repository. From it:

* the ribbon XML is replaced by ours (:data:`BUTTONS`, Office 2010 ``customUI14.xml``);
* the VBA project is rebuilt with the template's modules (xlwings' BSD-licensed code,
  its licence notice kept), less the template's own ribbon callback, plus
  ``hscredit_addin`` (our ribbon callbacks: Subs that hand the active workbook to Python
  through COM and run an entry point of :mod:`hscredit_xl` in xlwings' UDF server),
  ``hscredit_python`` (the interpreter, checked) and ``xlwings_udfs`` (the
  worksheet-function wrappers xlwings itself generates, from
  :func:`hscredit_xl.udfs_vba.generate_udf_vba`);
* xlwings' VBA is made safe for workbooks from outside the office (issue 15): it becomes
  ``Option Private Module``, so a cell can call only the ``HS_`` wrappers; the procedures
  that build ``cmd.exe`` lines from the active workbook's name, start other programs or
  write the config are left out (:data:`DROPPED_PROCEDURES`); settings are read only from
  the add-in and the user's own ``%USERPROFILE%\\.xlwings\\xlwings.conf``, never from a
  sheet of the workbook or a config file beside it; the interpreter is only that file's
  ``INTERPRETER_WIN``, an absolute path (``hscredit_python``), and the xlwings DLL is
  loaded from its folder by full path; the UDF server's command line holds nothing from
  any workbook and Python starts with ``-E -P`` (no current folder on the import path)
  (:data:`SECURITY_PATCHES`, :data:`UDF_SERVER_COMMAND`). Every patch must match exactly
  as often as expected, so a changed xlwings template fails the build instead of
  silently skipping a patch.

The VBA project (``vbaProject.bin``) is written with ``ms-ovba`` (PyPI; with its
companions ``ms-cfb`` for the OLE container and ``ms-ovba-compression``), the only
maintained PyPI library that writes VBA projects. It writes no ``_VBA_PROJECT``
performance cache, so Excel compiles the modules from their source on first load.
``ms-ovba-compression`` 1.0.1 lets a copy token grow past the length its position
allows (``maxLength`` is computed as ``0xFFFF << (bitCount + 3)`` instead of
``(0xFFFF >> bitCount) + 3``), which corrupts long, repetitive sources such as
xlwings' module; :func:`_ovba_compression_fixed` corrects that one value while the
project is written, and only if the installed version still has the bug. Every
build then reads its own VBA back with oletools (``olevba``) and fails unless every
module's source is byte for byte what was meant.

The package is assembled with :mod:`zipfile`, never openpyxl: openpyxl drops the
Office 2010 ribbon relationship when it saves. :func:`reapply_ribbon` puts the
ribbon back into an add-in that went through openpyxl anyway.
"""
from __future__ import annotations

import io
import locale
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

from .udfs_vba import ADDIN_NAME as ADDIN_FILENAME
from .udfs_vba import REGISTER_SUB, generate_udf_vba, vba_assign, vba_string

TEMPLATE_NAME = "quickstart_addin_ribbon.xlam"
"""xlwings' ribbon add-in template, inside the installed xlwings package."""

VBA_PART = "xl/vbaProject.bin"
RIBBON_PART = "customUI/customUI14.xml"
RIBBON_NS = "http://schemas.microsoft.com/office/2009/07/customui"
"""The Office 2010 ribbon schema (customUI14.xml), read by Excel 2010 and later."""
RIBBON_REL_TYPE = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
"""The package relationship Office 2010+ follows to ``customUI14.xml``."""
RIBBON_REL_TYPE_2007 = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
RIBBON_REL_ID = "hscreditRibbon"
PACKAGE_RELS = "_rels/.rels"
CONTENT_TYPES = "[Content_Types].xml"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

ADDIN_MODULE = "hscredit_addin"
"""Our VBA module: the ribbon callbacks (Subs only, so no cell can call them)."""
PYTHON_MODULE = "hscredit_python"
"""Our VBA module (``Option Private Module``): the checked interpreter path, shared by the ribbon and xlwings."""
TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"
"""The template's own ribbon callback module (``RunMain``), replaced by ours."""
XLWINGS_MODULE = "xlwings"
WORKBOOK_MODULE = "ThisWorkbook"
UDF_MODULE_NAME = "xlwings_udfs"
"""The module xlwings writes the worksheet-function wrappers into."""

VBA_CODEPAGE = "cp1252"
"""The code page ms-ovba writes the project with (and the template's): our VBA stays ASCII."""
PROJECT_ID = "{6A1F4C3E-2B7D-4E58-9C0A-5D3B8E7F1A24}"
"""Fixed, so two builds of the same sources give the same project."""

# Microsoft Office Object Library: IRibbonControl in the callbacks' signature; OLE Automation: stdole
_REFERENCES = (
    ("stdole", "00020430-0000-0000-C000-000000000046", "2.0",
     r"C:\Windows\System32\stdole2.tlb", "OLE Automation"),
    ("Office", "2DF8D04C-5BFA-101B-BDE5-00AA0044DE52", "2.0",
     r"C:\Program Files\Common Files\Microsoft Shared\OFFICE16\MSO.DLL",
     "Microsoft Office 16.0 Object Library"),
)

_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


class AddinBuildError(RuntimeError):
    """The add-in cannot be built as intended (a changed xlwings template, a bad VBA project)."""


# --------------------------------------------------------------------------- the ribbon


@dataclass(frozen=True)
class RibbonButton:
    """One button of the 信用考评 tab and the Python entry point it runs."""

    id: str
    label: str
    sub: str
    """The VBA callback in :data:`ADDIN_MODULE`, ``Sub <sub>(control As IRibbonControl)``."""
    entry: str
    """The function of package :mod:`hscredit_xl` that the button runs."""
    image: str
    """A built-in Office icon (``imageMso``)."""
    screentip: str
    supertip: str
    size: str = "large"

    @property
    def on_action(self) -> str:
        return f"{ADDIN_MODULE}.{self.sub}"

    @property
    def python_command(self) -> str:
        """What the callback runs in xlwings' UDF server (``XLPy.Exec``)."""
        return f"import hscredit_xl; hscredit_xl.{self.entry}()"


TAB_ID, TAB_LABEL = "hscreditTab", "信用考评"
GROUP_ID, GROUP_LABEL = "hscreditGroup", "黄石信用考评"

BUTTONS = (
    RibbonButton(
        "hscreditRecompute", "一键重算", "HsRecompute", "main", "CalculateNow",
        "一键重算",
        "校验当前工作簿的数据，按工作簿记录的考评细则重新计算每个单位的各项得分、总分和排名，"
        "写入结果表和「校验结果」表。只写公式和结果单元格，不改动手工录入的数据。",
    ),
    RibbonButton(
        "hscreditValidate", "校验数据", "HsValidate", "validate", "DataValidation",
        "校验数据",
        "只校验当前工作簿的录入数据，把发现的问题逐条列在「校验结果」表中，不重新计分。",
    ),
    RibbonButton(
        "hscreditExport", "导出报送版", "HsExport", "export", "FileSaveAs",
        "导出报送版",
        "在当前工作簿旁边另存一份只含数值、不含公式的报送版，便于报送和用 WPS 查看。",
    ),
)


def ribbon_xml() -> str:
    """Our customUI14.xml: tab 信用考评 with the :data:`BUTTONS`."""
    buttons = "\n".join(
        f"          <button id={quoteattr(b.id)} label={quoteattr(b.label)} size={quoteattr(b.size)}"
        f" imageMso={quoteattr(b.image)} screentip={quoteattr(b.screentip)}"
        f" supertip={quoteattr(b.supertip)} onAction={quoteattr(b.on_action)}/>"
        for b in BUTTONS
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<customUI xmlns="{RIBBON_NS}">\n'
        "  <ribbon>\n"
        "    <tabs>\n"
        f"      <tab id={quoteattr(TAB_ID)} label={quoteattr(TAB_LABEL)}>\n"
        f"        <group id={quoteattr(GROUP_ID)} label={quoteattr(GROUP_LABEL)}>\n"
        f"{buttons}\n"
        "        </group>\n"
        "      </tab>\n"
        "    </tabs>\n"
        "  </ribbon>\n"
        "</customUI>\n"
    )


# --------------------------------------------------------------------------- our VBA


def addin_module_source() -> str:
    """The ``hscredit_addin`` module: one ribbon callback per button.

    Every procedure is a Sub (a worksheet cell can call only a Function). A button hands
    the calling workbook to Python through COM (xlwings' UDF server: ``BOOK_CALLER``, which
    ``xw.Book.caller()`` reads) and runs its entry point there with ``XLPy.Exec``: no
    command line is built, so the workbook's name and path reach no shell and no import path.
    """
    no_book = vba_string("请先打开要考评的工作簿，再点击信用考评选项卡上的按钮。", ascii_only=True)
    lines = [
        f'Attribute VB_Name = "{ADDIN_MODULE}"',
        "' hscredit-xl: callbacks of the ribbon tab (generated by hscredit_xl.addin at build time).",
        "' Each button runs one entry point of the Python package hscredit_xl in xlwings' UDF server,",
        "' handing it the active workbook through COM (xw.Book.caller()); no command line is built.",
        "Option Explicit",
        "",
    ]
    for b in BUTTONS:
        lines += [
            f"Public Sub {b.sub}(control As IRibbonControl)",
            f'    RunHsCommand "{b.python_command}"',
            "End Sub",
            "",
        ]
    lines += [
        "Private Sub RunHsCommand(ByVal pythonCommand As String)",
        "    Dim problem As String",
        "    If ActiveWorkbook Is Nothing Then",
        f'        MsgBox {no_book}, vbExclamation, "hscredit-xl"',
        "        Exit Sub",
        "    End If",
        f"    problem = {PYTHON_MODULE}.HsInterpreterProblem()",
        '    If problem <> "" Then',
        '        MsgBox problem, vbExclamation, "hscredit-xl"',
        "        Exit Sub",
        "    End If",
        "    On Error GoTo failed",
        '    XLPy.SetAttr XLPy.Module("xlwings._xlwindows"), "BOOK_CALLER", ActiveWorkbook',
        "    XLPy.Exec pythonCommand",
        "    Exit Sub",
        "failed:",
        '    MsgBox Err.Description, vbCritical, "hscredit-xl"',
        "End Sub",
        "",
    ]
    return "\n".join(lines)


UNSAFE_INTERPRETER_CHARS = '%!"'
"""Characters the interpreter path may not hold, besides control characters.

The path is quoted on the UDF server's ``cmd.exe /K`` line, where ``%`` (and ``!`` under
delayed expansion) are still expanded and a ``"`` would end the quotes.
"""

MISSING_INTERPRETER = (
    "没有找到本工具使用的 Python，未运行任何程序。请在「命令提示符」中运行 hscredit-xl addin install"
    "（它把 Python 的完整路径写入 %USERPROFILE%\\.xlwings\\xlwings.conf 的 INTERPRETER_WIN），"
    "然后重新打开 Excel。"
)
BAD_INTERPRETER = (
    "%USERPROFILE%\\.xlwings\\xlwings.conf 中的 INTERPRETER_WIN 应为 python.exe 或 pythonw.exe 的完整路径"
    "（如 C:\\Users\\张三\\hscredit\\Scripts\\pythonw.exe，不含 % ! \" 等字符，文件须存在），"
    "现为「{path}」，未运行任何程序。请重新运行 hscredit-xl addin install。"
)


def interpreter_ok(path: str) -> bool:
    """Whether ``path`` may be the add-in's interpreter: the rules the VBA checks (:func:`python_module_source`).

    An absolute Windows path (``X:\\`` or ``\\\\server\\``) to ``python.exe`` or ``pythonw.exe``
    with none of :data:`UNSAFE_INTERPRETER_CHARS` and no control characters. (The VBA also
    checks that the file exists, on the PC where it runs.)
    """
    absolute = re.match(r"[A-Za-z]:\\", path) or path.startswith("\\\\")
    name = path.rsplit("\\", 1)[-1].lower()
    return bool(absolute and name in ("python.exe", "pythonw.exe")
                and not any(ch in UNSAFE_INTERPRETER_CHARS or ord(ch) < 32 for ch in path))


def python_module_source() -> str:
    """The ``hscredit_python`` module: the interpreter from the user's own config, checked.

    ``Option Private Module``: its functions serve the ribbon and xlwings' module, never a cell.
    The only interpreter is ``INTERPRETER_WIN`` of the user's ``xlwings.conf`` (written by
    ``hscredit-xl addin install``); without a valid one nothing runs and the reason is given
    in Chinese (a message box on the ribbon, the cell's text for a worksheet function).
    """
    before, _, after = BAD_INTERPRETER.partition("{path}")
    unsafe = UNSAFE_INTERPRETER_CHARS.replace('"', '""')
    return "\n".join([
        f'Attribute VB_Name = "{PYTHON_MODULE}"',
        "' hscredit-xl: the Python interpreter of the add-in (generated by hscredit_xl.addin at build time).",
        "' Only INTERPRETER_WIN of the user's own %USERPROFILE%\\.xlwings\\xlwings.conf counts: an absolute path",
        "' to python.exe or pythonw.exe; never a bare name that cmd.exe would look up in the current folder.",
        "Option Explicit",
        "Option Private Module",
        "",
        f'Private Const UNSAFE_CHARS As String = "{unsafe}"',
        "",
        "' The interpreter's full path, or an error (number 1000, Chinese description) when there is no valid one.",
        "Public Function HsInterpreter() As String",
        "    Dim problem As String",
        "    problem = HsInterpreterProblem()",
        '    If problem <> "" Then Err.Raise 1000, "hscredit-xl", problem',
        '    HsInterpreter = GetConfig("INTERPRETER_WIN", "", "user")',
        "End Function",
        "",
        "' Why there is no usable interpreter (Chinese), or an empty string.",
        "Public Function HsInterpreterProblem() As String",
        "    Dim path As String, exe As String, i As Long",
        '    path = GetConfig("INTERPRETER_WIN", "", "user")',
        '    If path = "" Then',
        *("        " + line for line in vba_assign("HsInterpreterProblem", MISSING_INTERPRETER, ascii_only=True)),
        "        Exit Function",
        "    End If",
        '    exe = LCase$(Mid$(path, InStrRev(path, "\\") + 1))',
        '    If Not (path Like "[A-Za-z]:\\*" Or Left$(path, 2) = "\\\\") Then GoTo bad',
        '    If exe <> "python.exe" And exe <> "pythonw.exe" Then GoTo bad',
        "    For i = 1 To Len(path)",
        "        If InStr(UNSAFE_CHARS, Mid$(path, i, 1)) > 0 Or AscW(Mid$(path, i, 1)) < 32 Then GoTo bad",
        "    Next i",
        "    If Not FileExists(path) Then GoTo bad",
        "    Exit Function",
        "bad:",
        *("    " + line for line in vba_assign("HsInterpreterProblem", before, ascii_only=True)),
        *("    " + line for line in vba_assign("HsInterpreterProblem", after, ascii_only=True, append=True,
                                            prefix="path")),
        "End Function",
        "",
    ])


def _workbook_module_source(template_source: str) -> str:
    """ThisWorkbook: the template's attributes plus registering the Function Wizard help on open."""
    return template_source.rstrip("\r\n") + "\n" + "\n".join([
        "' hscredit-xl: Function Wizard category and descriptions for the HS_ functions.",
        "Private Sub Workbook_Open()",
        "    On Error Resume Next",
        f"    {UDF_MODULE_NAME}.{REGISTER_SUB}",
        "End Sub",
        "",
    ])


def udf_module_source() -> str:
    """The ``xlwings_udfs`` module as xlwings generates it (ASCII: Chinese help as ChrW)."""
    text = generate_udf_vba(ADDIN_FILENAME, ascii_only=True)
    first = text.splitlines()[0] if text else ""
    if first != f'Attribute VB_Name = "{UDF_MODULE_NAME}"':
        raise AddinBuildError(f"generate_udf_vba() did not start with the {UDF_MODULE_NAME} module: {first!r}")
    if f"Sub {REGISTER_SUB}(" not in text:
        raise AddinBuildError(f"generate_udf_vba() has no Sub {REGISTER_SUB}")
    return text


# --------------------------------------------------------------------------- patching xlwings' VBA


@dataclass(frozen=True)
class Patch:
    """Replace a run of whole lines (compared without surrounding blanks) that must occur ``count`` times."""

    why: str
    old: tuple[str, ...]
    new: tuple[str, ...]
    count: int = 1


_MARK = "' hscredit-xl:"

SECURITY_PATCHES = (
    Patch(
        "the user's own config file is %USERPROFILE%\\.xlwings\\xlwings.conf (what `addin install` writes)",
        ('Public Const PROJECT_NAME As String = "myaddin"',),
        ('Public Const PROJECT_NAME As String = "xlwings"',),
    ),
    Patch(
        "no settings from a sheet of the workbook being scored",
        (
            "'Workbook Sheet Config",
            'If SheetExists(ActiveWorkbook, PROJECT_NAME & ".conf") = True Then',
            "If GetConfigFromSheet(ActiveWorkbook).Exists(configKey) = True Then",
            "GetConfig = GetConfigFromSheet(ActiveWorkbook).Item(configKey)",
            "GetConfig = ExpandEnvironmentStrings(GetConfig)",
            "Exit Function",
            "End If",
            "End If",
        ),
        (f"{_MARK} settings are never read from a sheet of the workbook being scored",),
    ),
    Patch(
        "no settings from a config file in the folder of the workbook being scored",
        (
            "' Directory Config",
            'If source = "" Or source = "directory" Then',
            '#If App = "Microsoft Excel" Then',
            'If GetFullName(ActiveWorkbook) <> "" Then \' Empty if local dir can\'t be figured out (e.g. SharePoint)',
            "#Else",
            'If InStr(GetDirectoryPath(), "://") = 0 Then \' Other Office apps: skip for synced SharePoint/OneDrive files',
            "#End If",
            "If FileExists(GetDirectoryConfigFilePath()) = True Then",
            "If GetConfigFromFile(GetDirectoryConfigFilePath(), configKey, configValue) Then",
            "GetConfig = configValue",
            "GetConfig = ExpandEnvironmentStrings(GetConfig)",
            "Exit Function",
            "End If",
            "End If",
            "End If",
            "End If",
        ),
        (f"{_MARK} settings are never read from a config file beside the workbook being scored",),
    ),
    Patch(
        "the workbook's folder never goes on Python's import path (the UDF server)",
        ('AddExcelDir = GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "true")',),
        (f'AddExcelDir = "false" {_MARK} the workbook\'s folder never goes on the import path',),
    ),
    Patch(
        "the workbook's name and path never go into the UDF server's command line",
        ('PYTHONPATH = AddExcelDir & ";" & ActiveWorkbook.FullName & ";" & ThisWorkbook.FullName & ";" & '
         'GetConfig("ONEDRIVE_CONSUMER_WIN") & ";" & GetConfig("ONEDRIVE_COMMERCIAL_WIN") & ";" & '
         'GetConfig("SHAREPOINT_WIN") & ";" & GetConfig("PYTHONPATH")',),
        (f'PYTHONPATH = "" {_MARK} no workbook\'s name or path on any command line or import path',),
    ),
    Patch(
        "the interpreter is the checked absolute path of the user's config, never a bare python/pythonw",
        (
            'PYTHON_WIN = GetConfig("INTERPRETER_WIN", "")',
            'If PYTHON_WIN = "" Then',
            "' Legacy",
            'PYTHON_WIN = GetConfig("INTERPRETER", "pythonw")',
            "End If",
        ),
        (f"PYTHON_WIN = {PYTHON_MODULE}.HsInterpreter() {_MARK} an absolute path, or an error in Chinese",),
        count=2,  # the UDF server's command line, and where the xlwings DLL is loaded from
    ),
)
"""Line patches of xlwings' module; each must match exactly ``count`` times."""

UDF_SERVER_FLAGS = ("-E", "-P", "-B")
"""How the UDF server's Python starts: ``-P`` puts no current folder on ``sys.path`` (Excel's
current folder is often that of the workbook opened last), ``-E`` ignores the ``PYTHON*``
environment variables, ``-B`` writes no ``.pyc``. (Not ``-I``: that would also hide a
``pip install --user``.) The package is found in the interpreter's own site-packages."""

UDF_SERVER_COMMAND = (
    'tail = " -B -c ""import sys, os;" & LicenseKeyEnvString & "import xlwings.utils;'
    'xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\"");import xlwings; xlwings.serve(\'$(CLSID)\')"""',
    f'tail = " {" ".join(UDF_SERVER_FLAGS)} -c ""import xlwings; xlwings.serve(\'$(CLSID)\')""" '
    f"{_MARK} no current folder, no PYTHON* variables, no paths handed over",
)
"""The ``python -c`` of the UDF server (the only process the add-in starts), replaced whole:
nothing from a workbook is in it, and Python starts with :data:`UDF_SERVER_FLAGS`."""

DROPPED_PROCEDURES = (
    "RunPython", "ExecuteMac", "ExecuteWindows", "RunFrozenPython", "SaveConfigToFile",
    "ImportPythonUDFsBase", "ImportPythonUDFs", "ImportPythonUDFsToAddin", "ImportXlwingsUdfsModule",
    "GetDLLVersion",
)
"""xlwings procedures the add-in does not ship: they build ``cmd.exe`` lines from the active
workbook's name (RunPython, ExecuteWindows), run other programs, write the user's config,
import VBA into the active workbook, or call the DLL before it is loaded by full path
(GetDLLVersion). The ribbon runs Python through the UDF server instead."""

_NOTICE = (
    f"{_MARK} this module is xlwings' (see the licence above), changed when hscredit_xl.xlam was built:",
    "' Option Private Module (no cell can call its functions); settings only from this add-in and",
    "' %USERPROFILE%\\.xlwings\\xlwings.conf; the interpreter only from INTERPRETER_WIN there, as an absolute",
    "' path; no workbook's name or path in any command line or import path; RunPython and the procedures",
    "' that start programs, write the config or import VBA are left out.",
)


def _norm(line: str) -> str:
    return line.strip()


def _code_part(line: str) -> str:
    """A VBA line without its comment (a ' outside string literals starts one)."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "'" and not in_string:
            return line[:i]
    return line


def _drop_procedures(lines: list[str], names: tuple[str, ...]) -> list[str]:
    """``lines`` without the Subs/Functions ``names``; each must be there once and used nowhere else."""
    for name in names:
        head = re.compile(rf"^\s*(?:(?:Public|Private|Friend)\s+)?(?:Static\s+)?(Sub|Function)\s+{name}\b")
        starts = [i for i, line in enumerate(lines) if head.match(line)]
        if len(starts) != 1:
            raise AddinBuildError(
                f"xlwings' VBA changed: expected one procedure {name}, found {len(starts)}; "
                f"update hscredit_xl/addin.py DROPPED_PROCEDURES for xlwings {_xlwings_version()}"
            )
        kind = head.match(lines[starts[0]]).group(1)
        end = next(i for i in range(starts[0], len(lines)) if re.match(rf"^\s*End {kind}\b", lines[i]))
        del lines[starts[0]:end + 1]
    for line in lines:
        used = [n for n in names if re.search(rf"\b{n}\b", _code_part(line))]
        if used:
            raise AddinBuildError(f"xlwings' VBA still uses {', '.join(used)} after they were left out: {line.strip()}")
    return lines


def patch_xlwings_source(source: str) -> str:
    """xlwings' VBA module made safe for workbooks from outside the office.

    :data:`DROPPED_PROCEDURES` left out, :data:`SECURITY_PATCHES` and :data:`UDF_SERVER_COMMAND`
    applied, ``Option Private Module`` added. Raises :class:`AddinBuildError` naming the patch
    when a pattern is not found exactly as often as expected (a changed xlwings template).
    """
    lines = _drop_procedures(source.replace("\r\n", "\n").split("\n"), DROPPED_PROCEDURES)
    for patch in SECURITY_PATCHES:
        want = [_norm(x) for x in patch.old]
        hits = [i for i in range(len(lines) - len(want) + 1)
                if [_norm(x) for x in lines[i:i + len(want)]] == want]
        if len(hits) != patch.count:
            raise AddinBuildError(
                f"xlwings' VBA changed: expected the code for「{patch.why}」{patch.count} time(s), "
                f"found it {len(hits)} time(s); update hscredit_xl/addin.py SECURITY_PATCHES "
                f"for xlwings {_xlwings_version()}"
            )
        for i in reversed(hits):
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            lines[i:i + len(want)] = [indent + x for x in patch.new]
    text = "\n".join(lines)
    old, new = UDF_SERVER_COMMAND
    found = text.count(old)
    if found != 1:
        raise AddinBuildError(
            f"xlwings' VBA changed: expected {old!r} once, found it {found} time(s); "
            f"update hscredit_xl/addin.py UDF_SERVER_COMMAND for xlwings {_xlwings_version()}"
        )
    text = text.replace(old, new)
    # Option Private Module right after the Attribute lines (which must stay first), before any
    # declaration (MS-VBAL 5.2.1); the notice after xlwings' #Const
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if not line.startswith("Attribute "))
    lines[at + 1:at + 1] = list(_NOTICE)
    lines.insert(at, "Option Private Module")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the VBA project


@dataclass
class VbaModule:
    name: str
    kind: str  # "Module", "Class" or "Document"
    source: str


def _xlwings_version() -> str:
    import xlwings

    return xlwings.__version__


def template_path() -> Path:
    """xlwings' ribbon add-in template in the installed xlwings package."""
    import xlwings

    path = Path(xlwings.__file__).parent / TEMPLATE_NAME
    if not path.is_file():
        raise AddinBuildError(f"xlwings {xlwings.__version__} ships no {TEMPLATE_NAME} (looked in {path.parent})")
    return path


def read_vba_modules(vba_project: bytes, *, strict: bool = True) -> list[VbaModule]:
    """The modules of a vbaProject.bin, in project order, read with oletools (olevba)."""
    import olefile
    from oletools.olevba import VBA_Project

    with olefile.OleFileIO(io.BytesIO(vba_project)) as ole:
        project = VBA_Project(ole, "", "PROJECT", "VBA/dir", relaxed=not strict)
        project.parse_project_stream()
        for _ in project.parse_modules():
            pass
        kinds = {}
        for raw in ole.openstream("PROJECT").read().decode(VBA_CODEPAGE).splitlines():
            key, _, value = raw.partition("=")
            if key in ("Module", "Class", "Document"):
                kinds[value.split("/", 1)[0]] = key
    modules = []
    for m in project.modules:
        if m.code_raw is None:
            raise AddinBuildError(f"VBA module {m.name} has no source")
        modules.append(VbaModule(m.name, kinds.get(m.name, "?"), bytes(m.code_raw).decode(VBA_CODEPAGE)))
    return modules


@contextmanager
def _ovba_compression_fixed() -> Iterator[None]:
    """ms-ovba-compression with the copy-token length limit of MS-OVBA 2.4.1.3.19.3.

    Version 1.0.1 computes ``maxLength`` as ``0xFFFF << (bitCount + 3)``; the limit is
    ``(0xFFFF >> bitCount) + 3``. Corrected for the duration only, and only if wrong.
    """
    from ms_ovba_compression.ms_ovba import MsOvba

    original = MsOvba.__dict__["copytoken_help"]
    if MsOvba.copytoken_help(16)["maxLength"] == (0xFFFF >> 4) + 3:
        yield
        return

    def copytoken_help(difference: int) -> dict:
        help_ = original.__func__(difference)
        help_["maxLength"] = (0xFFFF >> help_["bitCount"]) + 3
        return help_

    MsOvba.copytoken_help = staticmethod(copytoken_help)
    try:
        yield
    finally:
        MsOvba.copytoken_help = original


@contextmanager
def _in_directory(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextmanager
def _seeded_random(seed: int) -> Iterator[None]:
    """ms-ovba-crypto draws its obfuscation seeds from ``random``: fixed for a stable project."""
    state = random.getstate()
    random.seed(seed)
    try:
        yield
    finally:
        random.setstate(state)


def write_vba_project(modules: list[VbaModule]) -> bytes:
    """A vbaProject.bin holding ``modules`` (ms-ovba), with no performance cache."""
    from ms_ovba.Models.Entities.doc_module import DocModule
    from ms_ovba.Models.Entities.reference import Reference
    from ms_ovba.Models.Entities.reference_registered import ReferenceRegistered
    from ms_ovba.Models.Entities.std_module import StdModule
    from ms_ovba.Models.Fields.libid_reference import LibidReference
    from ms_ovba.vbaProject import VbaProject
    from ms_ovba.Views.project_ole_file import ProjectOleFile
    from ms_ovba_compression.ms_ovba import MsOvba

    class _SourceMixin:
        # ms-ovba reads each module from a file it normalises; ours is in memory already
        source = b""

        def write_file(self) -> None:
            Path(self.bin_path).write_bytes(self.cache + MsOvba().compress(self.source))

    class _Std(_SourceMixin, StdModule):
        pass

    class _Doc(_SourceMixin, DocModule):
        pass

    class _Class(_SourceMixin, DocModule):
        # a class module has the document modules' MODULETYPE record (0x0022) in the dir stream
        def to_project_module_string(self) -> str:
            return "Class=" + self.name

    project = VbaProject()
    project.project_id = PROJECT_ID
    project.include_projectwm()
    for name, guid, version, path, description in _REFERENCES:
        libid = LibidReference(uuid.UUID(guid), version, "0", path, description)
        project.add_reference(Reference(ReferenceRegistered(libid), name))

    # ms-ovba writes every stream, and the OLE file, to the current directory
    with tempfile.TemporaryDirectory(prefix="hscredit-vba-") as tmp, _in_directory(Path(tmp)), \
            _ovba_compression_fixed(), _seeded_random(2020):
        for i, module in enumerate(modules):
            cls = {"Module": _Std, "Class": _Class, "Document": _Doc}[module.kind]
            entry = cls(module.name)
            entry.add_file(str(Path(tmp) / f"module{i}"))
            entry.source = _vba_bytes(module)
            project.add_module(entry)
        ProjectOleFile.write_file(project)
        return (Path(tmp) / "vbaProject.bin").read_bytes()


def _vba_bytes(module: VbaModule) -> bytes:
    text = module.source.replace("\r\n", "\n").replace("\n", "\r\n")
    try:
        return text.encode(VBA_CODEPAGE)
    except UnicodeEncodeError as exc:
        raise AddinBuildError(
            f"VBA module {module.name} has a character the project's code page cannot hold: {exc}"
        ) from None


def addin_vba_modules(template_vba: bytes) -> list[VbaModule]:
    """The add-in's modules: the template's (patched, its ribbon callback replaced) plus ours."""
    modules = []
    seen = set()
    for m in read_vba_modules(template_vba):
        seen.add(m.name)
        if m.name == TEMPLATE_RIBBON_MODULE:
            continue
        if m.name == XLWINGS_MODULE:
            m = VbaModule(m.name, m.kind, patch_xlwings_source(m.source))
        elif m.name == WORKBOOK_MODULE:
            m = VbaModule(m.name, m.kind, _workbook_module_source(m.source))
        modules.append(m)
    missing = {XLWINGS_MODULE, WORKBOOK_MODULE} - seen
    if missing:
        raise AddinBuildError(f"xlwings' {TEMPLATE_NAME} has no VBA module {', '.join(sorted(missing))}")
    modules.append(VbaModule(ADDIN_MODULE, "Module", addin_module_source()))
    modules.append(VbaModule(PYTHON_MODULE, "Module", python_module_source()))
    modules.append(VbaModule(UDF_MODULE_NAME, "Module", udf_module_source()))
    return modules


def _check_vba(vba_project: bytes, modules: list[VbaModule]) -> None:
    """Read the written project back: every module there, of its kind, its source unchanged."""
    back = {m.name: m for m in read_vba_modules(vba_project)}
    if list(back) != [m.name for m in modules]:
        raise AddinBuildError(f"VBA project read back has modules {list(back)}, expected {[m.name for m in modules]}")
    for m in modules:
        got = back[m.name]
        if got.kind != m.kind or _vba_bytes(got) != _vba_bytes(m):
            raise AddinBuildError(f"VBA module {m.name} does not read back as written")


# --------------------------------------------------------------------------- the package


def _qname(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _xml_bytes(root: ET.Element, ns: str) -> bytes:
    """A package part like _rels/.rels or [Content_Types].xml: one namespace, a flat list of empty elements.

    Written by hand: ElementTree would either rename the default namespace ``ns0:`` or
    need a process-wide prefix registration.
    """
    def tag(e: ET.Element, leaf: bool = True) -> str:
        namespace, _, local = e.tag.rpartition("}")
        if (namespace != "{" + ns or (leaf and (len(e) or (e.text or "").strip()))
                or any(":" in k or "{" in k for k in e.attrib)):
            raise AddinBuildError(f"unexpected XML in a package part: {ET.tostring(e, encoding='unicode')[:200]}")
        return local

    items = "".join(
        f"<{tag(e)} " + " ".join(f"{k}={quoteattr(v)}" for k, v in e.attrib.items()) + "/>" for e in root
    )
    body = f'<{tag(root, leaf=False)} xmlns="{ns}">{items}</{tag(root, leaf=False)}>'
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body).encode("utf-8")


def _apply_ribbon(parts: dict[str, bytes]) -> dict[str, bytes]:
    """``parts`` with our ribbon: customUI14.xml, its package relationship, its content type.

    Any other ribbon part and relationship (the template's 2006 customUI.xml) goes.
    """
    parts = dict(parts)
    rels = ET.fromstring(parts[PACKAGE_RELS])
    for rel in list(rels):
        if rel.get("Type") in (RIBBON_REL_TYPE, RIBBON_REL_TYPE_2007):
            parts.pop(rel.get("Target", "").lstrip("/"), None)
            rels.remove(rel)
    ids = {rel.get("Id") for rel in rels}
    if RIBBON_REL_ID in ids:
        raise AddinBuildError(f"{PACKAGE_RELS} already uses the relationship id {RIBBON_REL_ID}")
    ET.SubElement(rels, _qname(PKG_REL_NS, "Relationship"),
                  {"Id": RIBBON_REL_ID, "Type": RIBBON_REL_TYPE, "Target": RIBBON_PART})
    parts[PACKAGE_RELS] = _xml_bytes(rels, PKG_REL_NS)
    parts[RIBBON_PART] = ribbon_xml().encode("utf-8")

    types = ET.fromstring(parts[CONTENT_TYPES])
    defaults = {d.get("Extension", "").lower() for d in types.findall(_qname(CT_NS, "Default"))}
    if "xml" not in defaults:
        ET.SubElement(types, _qname(CT_NS, "Default"), {"Extension": "xml", "ContentType": "application/xml"})
        parts[CONTENT_TYPES] = _xml_bytes(types, CT_NS)
    return parts


def _read_package(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist() if not info.is_dir()}


def _package_bytes(parts: dict[str, bytes]) -> bytes:
    """The zip, [Content_Types].xml first, fixed timestamps, so equal parts give equal bytes."""
    buffer = io.BytesIO()
    names = [CONTENT_TYPES] + sorted(n for n in parts if n != CONTENT_TYPES)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, parts[name])
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file in ``path``'s folder, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode)  # mkstemp makes it private to the owner
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def build_addin(path: Path | str | None = None) -> Path:
    """Write the add-in (default ``hscredit_xl.xlam`` in the current directory); return its path."""
    out = Path(path) if path is not None else Path.cwd() / ADDIN_FILENAME
    out = out.resolve()
    parts = _read_package(template_path())
    if VBA_PART not in parts:
        raise AddinBuildError(f"xlwings' {TEMPLATE_NAME} has no {VBA_PART}")
    modules = addin_vba_modules(parts[VBA_PART])
    vba = write_vba_project(modules)
    _check_vba(vba, modules)
    parts[VBA_PART] = vba
    parts = _apply_ribbon(parts)
    _write_atomic(out, _package_bytes(parts))
    return out


def reapply_ribbon(path: Path | str) -> Path:
    """Put our ribbon back into an add-in (e.g. after openpyxl saved it and dropped the relationship)."""
    path = Path(path)
    _write_atomic(path, _package_bytes(_apply_ribbon(_read_package(path))))
    return path


# --------------------------------------------------------------------------- install (Windows)


USER_CONFIG_KEY = "INTERPRETER_WIN"


def user_config_path() -> Path:
    """Where the add-in's VBA reads the user's settings: %USERPROFILE%\\.xlwings\\xlwings.conf."""
    home = os.environ.get("USERPROFILE") or str(Path.home())
    return Path(home) / ".xlwings" / "xlwings.conf"


def xlstart_path() -> Path:
    """Excel's per-user start-up folder: %APPDATA%\\Microsoft\\Excel\\XLSTART."""
    appdata = os.environ.get("APPDATA")
    if not appdata:
        raise OSError("环境变量 APPDATA 未设置，找不到 Excel 的启动文件夹 XLSTART")
    return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"


_CONF_LINE = re.compile(r'^\s*"([^"]*)"\s*,\s*"([^"]*)"\s*$')


def update_user_config(path: Path, settings: dict[str, str], encoding: str) -> None:
    """Set ``settings`` in an xlwings.conf (lines ``"KEY","VALUE"``), keeping every other line.

    Keys compare without case, as xlwings' VBA and Python both read them.
    """
    wanted = {k.lower() for k in settings}
    kept = [line for line in _conf_lines(path, encoding)
            if line.strip() and _conf_key(line) not in wanted]
    kept += [f'"{key}","{value}"' for key, value in settings.items()]
    # surrogateescape: bytes of another code page in lines we keep go back unchanged
    _write_atomic(path, ("\r\n".join(kept) + "\r\n").encode(encoding, errors="surrogateescape"))


def _conf_lines(path: Path, encoding: str) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(encoding=encoding, errors="surrogateescape").splitlines()


def _conf_key(line: str) -> str | None:
    """The key of an xlwings.conf line, lower case (or None for anything else)."""
    m = _CONF_LINE.match(line)
    return m.group(1).lower() if m else None


def _conf_encoding() -> str:
    # xlwings (VBA's Input # and Python's open()) reads the file in the ANSI code page
    return locale.getpreferredencoding(False)


def _checks() -> list[tuple[bool, str]]:
    """What can be checked without Excel: (ok, Chinese line) each."""
    results: list[tuple[bool, str]] = []
    try:
        import xlwings

        results.append((True, f"xlwings {xlwings.__version__} 可以导入"))
        interpreter = Path(sys.executable)
        dlls = [f"xlwings{bits}-{xlwings.__version__}.dll" for bits in ("64", "32")]
        folders = [interpreter.parent, interpreter.parent.parent]
        found = [folder / dll for folder in folders for dll in dlls if (folder / dll).is_file()]
        if found:
            results.append((True, f"找到 xlwings 的 DLL：{found[0]}"))
        else:
            results.append((False, f"在 {folders[0]} 和 {folders[1]} 中都没有找到 {dlls[0]}，"
                                   f"请在本 Python 环境中重新安装 xlwings：pip install --force-reinstall xlwings=="
                                   f"{xlwings.__version__}"))
    except ImportError as exc:
        results.append((False, f"无法导入 xlwings（{exc}），请先运行：pip install xlwings"))
    try:
        import pythoncom  # noqa: F401
        import pywintypes  # noqa: F401
        import win32com.client  # noqa: F401

        results.append((True, "pywin32 已安装"))
    except ImportError:
        results.append((False, "没有 pywin32，xlwings 在 Windows 上需要它，请运行：pip install pywin32"))
    # the worksheet functions import as the UDF server will import them: same flags, a foreign current folder
    with tempfile.TemporaryDirectory(prefix="hscredit-check-") as folder:
        try:
            done = subprocess.run([sys.executable, *UDF_SERVER_FLAGS, "-c", "import xlwings, hscredit_xl.udfs"],
                                  cwd=folder, capture_output=True, text=True, timeout=300)
            error = (done.stderr.strip().splitlines() or [f"退出码 {done.returncode}"])[-1] if done.returncode else ""
        except (OSError, subprocess.TimeoutExpired) as exc:
            error = str(exc)
    if error:
        results.append((False, f"Python 以 UDF 服务器的方式（{' '.join(UDF_SERVER_FLAGS)}）无法导入 hscredit_xl.udfs：{error}"))
    else:
        results.append((True, f"hscredit_xl 的工作表函数能以 UDF 服务器的方式（{' '.join(UDF_SERVER_FLAGS)}）导入"))
    return results


NOT_WINDOWS_MESSAGE = (
    "Excel 加载项只能在 Windows 上安装：本机不是 Windows，未安装任何东西。\n"
    "在本机仍可使用命令行：hscredit-xl demo / score / recompute / export；"
    "也可以用 hscredit-xl addin build 生成 hscredit_xl.xlam，拷到 Windows 电脑上再安装。"
)


def addin_interpreter() -> str:
    """The interpreter the add-in runs: ``pythonw.exe`` beside this Python (no console window), else this one.

    ``hscredit-xl.exe`` of a venv runs ``<venv>\\Scripts\\python.exe``; its ``pythonw.exe`` is
    beside it. The path is absolute, as the add-in requires.
    """
    here = Path(sys.executable).absolute()
    windowless = here.with_name("pythonw.exe")
    return str(windowless if windowless.is_file() else here)


def install_addin() -> int:
    """Windows: build the add-in into XLSTART, set the interpreter in the user's xlwings.conf, check.

    This is the one place that writes the add-in's interpreter (``INTERPRETER_WIN``, an
    absolute path: :func:`addin_interpreter`); the offline bundle's install script runs it.

    Returns 0 when everything checked is in order, 1 otherwise (and always 1 off Windows).
    """
    if not sys.platform.startswith("win"):
        print(NOT_WINDOWS_MESSAGE, file=sys.stderr)
        return 1
    try:
        target = xlstart_path() / ADDIN_FILENAME
    except OSError as exc:
        print(f"安装失败：{exc}", file=sys.stderr)
        return 1
    interpreter = addin_interpreter()
    if not interpreter_ok(interpreter):
        print(f"安装失败：本 Python 的路径「{interpreter}」不能给加载项使用：应为 python.exe 或 pythonw.exe 的完整路径，"
              f"且不含 {' '.join(UNSAFE_INTERPRETER_CHARS)} 或控制字符（cmd.exe 会展开或截断它们）。"
              "请把 Python 和虚拟环境放到路径不含这些字符的文件夹中，再运行 hscredit-xl addin install。未写入任何文件。",
              file=sys.stderr)
        return 1
    try:
        build_addin(target)
    except PermissionError:
        print(f"安装失败：无法写入 {target}。请先关闭所有 Excel 窗口，再运行 hscredit-xl addin install。",
              file=sys.stderr)
        return 1
    print(f"已安装加载项：{target}")

    config = user_config_path()
    encoding = _conf_encoding()
    try:
        update_user_config(config, {USER_CONFIG_KEY: interpreter}, encoding)
    except UnicodeEncodeError:
        print(f"安装失败：Python 的路径 {interpreter} 含有系统代码页（{encoding}）无法表示的字符，"
              "请把 Python 安装到只含英文或本地语言字符的路径。", file=sys.stderr)
        return 1
    print(f"已写入用户配置：{config}（{USER_CONFIG_KEY} = {interpreter}）")

    checks = _checks()
    if any(_conf_key(line) == "license_key" for line in _conf_lines(config, encoding)):
        checks.append((False, f"{config} 中有 LICENSE_KEY（xlwings PRO）：有了它，xlwings 可能运行工作簿中"
                              "内嵌的 Python 代码；审核外来工作簿的电脑上请删除这一行"))
    print("检查：")
    for passed, line in checks:
        print(f"  [{'通过' if passed else '未通过'}] {line}")
    ok = all(passed for passed, _ in checks)
    print(
        "下一步：\n"
        "  1. 关闭所有 Excel 窗口，再重新打开 Excel；\n"
        "  2. 功能区上应出现「信用考评」选项卡，内有「一键重算」「校验数据」「导出报送版」三个按钮；\n"
        "  3. 插入函数（fx）对话框的类别中应有「黄石信用考评」，列出 HS_ 开头的函数及中文说明；\n"
        "  4. 按 docs/windows-checklist.md 的小测试核对各单元格的值。\n"
        "  模板和计分结果仍为 .xlsx，不含宏；所有代码都在加载项中。"
    )
    return 0 if ok else 1
