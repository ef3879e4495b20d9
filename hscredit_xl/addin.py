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
  ``hscredit_addin`` (our ribbon callbacks, each calling an entry point of
  :mod:`hscredit_xl` through xlwings' ``RunPython``) and ``xlwings_udfs`` (the
  worksheet-function wrappers xlwings itself generates, from
  :func:`hscredit_xl.udfs_vba.generate_udf_vba`);
* xlwings' VBA is patched for safety (:data:`SECURITY_PATCHES`): units' workbooks come
  from outside the office, so settings are read only from the add-in and the user's
  own ``%USERPROFILE%\\.xlwings\\xlwings.conf``, never from a sheet of the workbook or a
  config file beside it, and neither that workbook's folder nor the current directory
  is ever put on Python's import path. Every patch must match exactly once, so a
  changed xlwings template fails the build instead of silently skipping a patch.

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
from .udfs_vba import REGISTER_SUB, generate_udf_vba, vba_string

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
"""Our VBA module: the ribbon callbacks."""
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
        """What the callback hands to xlwings' ``RunPython``."""
        return f"import hscredit_xl; hscredit_xl.{self.entry}()"


TAB_ID, TAB_LABEL = "hscreditTab", "信用考评"
GROUP_ID, GROUP_LABEL = "hscreditGroup", "黄石信用考评"

BUTTONS = (
    RibbonButton(
        "hscreditRecompute", "一键重算", "HsRecompute", "main", "CalculateNow",
        "一键重算",
        "校验当前工作簿的数据，按 2020 年考评细则重新计算每个单位的各项得分、总分和排名，"
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
    """The ``hscredit_addin`` module: one ribbon callback per button."""
    no_book = vba_string("请先打开要考评的工作簿，再点击信用考评选项卡上的按钮。", ascii_only=True)
    lines = [
        f'Attribute VB_Name = "{ADDIN_MODULE}"',
        "' hscredit-xl: callbacks of the ribbon tab (generated by hscredit_xl.addin at build time).",
        "' Each button runs one entry point of the Python package hscredit_xl through xlwings' RunPython,",
        "' which passes the active workbook to Python (xw.Book.caller()).",
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
        "    If ActiveWorkbook Is Nothing Then",
        f'        MsgBox {no_book}, vbExclamation, "hscredit-xl"',
        "        Exit Sub",
        "    End If",
        "    RunPython pythonCommand",
        "End Sub",
        "",
    ]
    return "\n".join(lines)


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
        "the workbook's folder never goes on Python's import path (RunPython and the UDF server)",
        ('AddExcelDir = GetConfig("ADD_WORKBOOK_TO_PYTHONPATH", "true")',),
        (f'AddExcelDir = "false" {_MARK} the workbook\'s folder never goes on the import path',),
        count=2,
    ),
    Patch(
        "Python code embedded in a workbook's sheets (xlwings PRO) is never run",
        ("uses_embedded_code = True",),
        (f"uses_embedded_code = False {_MARK} code embedded in a workbook never runs",),
    ),
)
"""Line patches of xlwings' module; each must match exactly ``count`` times."""

_DROP_CWD = "sys.path[:]=[p for p in sys.path if p];"
"""Python dropping '' (the current directory) from ``sys.path``.

``python -c`` puts '' first, and xlwings' ``prepare_sys_path`` adds '' again for each
empty setting it is handed (the PYTHONPATH setting is usually empty). Both happen in
Excel's current directory, often the folder of the workbook opened last. So '' goes
before the first import and again right after ``prepare_sys_path``.
"""

SYS_PATH_PATCHES = (
    # RunPython (the ribbon buttons)
    (
        '" -B -c ""import xlwings.utils;xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\""); " & PythonCommand',
        f'" -B -c ""import sys;{_DROP_CWD}import xlwings.utils;xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH'
        f' & "\\""); {_DROP_CWD}" & PythonCommand',
    ),
    # the UDF server (the worksheet functions)
    (
        'tail = " -B -c ""import sys, os;" & LicenseKeyEnvString & "import xlwings.utils;'
        'xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\"");import xlwings;',
        f'tail = " -B -c ""import sys, os;{_DROP_CWD}" & LicenseKeyEnvString & "import xlwings.utils;'
        f'xlwings.utils.prepare_sys_path(\\""" & PYTHONPATH & "\\"");{_DROP_CWD}import xlwings;',
    ),
)
"""Exact substring patches of the ``python -c`` commands; each must match once."""

_NOTICE = (
    f"{_MARK} this module is xlwings' (see the licence above), changed when hscredit_xl.xlam was built:",
    "' settings come only from this add-in and %USERPROFILE%\\.xlwings\\xlwings.conf; the workbook's folder",
    "' and the current directory are never on Python's import path; code embedded in workbooks never runs.",
)


def _norm(line: str) -> str:
    return line.strip()


def patch_xlwings_source(source: str) -> str:
    """xlwings' VBA module with :data:`SECURITY_PATCHES` and :data:`SYS_PATH_PATCHES` applied.

    Raises :class:`AddinBuildError` naming the patch when a pattern is not found
    exactly as often as expected (a changed xlwings template).
    """
    lines = source.replace("\r\n", "\n").split("\n")
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
    for old, new in SYS_PATH_PATCHES:
        found = text.count(old)
        if found != 1:
            raise AddinBuildError(
                f"xlwings' VBA changed: expected {old!r} once, found it {found} time(s); "
                f"update hscredit_xl/addin.py SYS_PATH_PATCHES for xlwings {_xlwings_version()}"
            )
        text = text.replace(old, new)
    # the notice goes after the Attribute lines (which must stay first) and xlwings' #Const
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if not line.startswith("Attribute "))
    lines[at + 1:at + 1] = list(_NOTICE)
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
    try:
        import hscredit_xl.udfs  # noqa: F401

        results.append((True, "hscredit_xl 的工作表函数可以导入"))
    except Exception as exc:  # noqa: BLE001 - reported to the user, not raised
        results.append((False, f"无法导入 hscredit_xl.udfs：{exc}"))
    return results


NOT_WINDOWS_MESSAGE = (
    "Excel 加载项只能在 Windows 上安装：本机不是 Windows，未安装任何东西。\n"
    "在本机仍可使用命令行：hscredit-xl demo / score / recompute / export；"
    "也可以用 hscredit-xl addin build 生成 hscredit_xl.xlam，拷到 Windows 电脑上再安装。"
)


def install_addin() -> int:
    """Windows: build the add-in into XLSTART, set the interpreter in the user's xlwings.conf, check.

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
        update_user_config(config, {USER_CONFIG_KEY: sys.executable}, encoding)
    except UnicodeEncodeError:
        print(f"安装失败：Python 的路径 {sys.executable} 含有系统代码页（{encoding}）无法表示的字符，"
              "请把 Python 安装到只含英文或本地语言字符的路径。", file=sys.stderr)
        return 1
    print(f"已写入用户配置：{config}（{USER_CONFIG_KEY} = {sys.executable}）")

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
