"""The real xlwings Windows registration of the worksheet functions, run on Linux.

``xlwings.udfs`` (the Windows-only module with the real ``xlfunc``/``xlarg``/
``xlret`` and ``generate_vba_wrapper``) is imported with stand-ins for pywin32 in
``sys.modules``; ``hscredit_xl.udfs`` is reloaded with ``xw.func``/``xw.arg``/``xw.ret``
pointing at the real decorators. Everything is put back afterwards.
"""
from __future__ import annotations

import importlib
import inspect
import io
import re
import sys
import unicodedata

import pytest

import hscredit_xl.udfs
import xlwings
from hscredit_xl import udfs_vba
from hscredit_xl.udfs import CATEGORY

FUNCTION_NAMES = [
    "HS_RANKSCORE", "HS_PLACESCORE", "HS_TIERSCORE", "HS_RATESCORE",
    "HS_COUNTSCORE", "HS_FLAGSCORE", "HS_PRORATE", "HS_TOTAL",
]
ARGUMENTS = {
    "HS_RANKSCORE": ["value", "peers", "top", "step", "floor", "order", "ties"],
    "HS_PLACESCORE": ["value", "peers", "points", "order", "ties"],
    "HS_TIERSCORE": ["value", "thresholds", "points", "otherwise", "inclusive"],
    "HS_RATESCORE": ["rate", "points", "inverse"],
    "HS_COUNTSCORE": ["count", "per_item", "cap"],
    "HS_FLAGSCORE": ["flag", "points"],
    "HS_PRORATE": ["score", "applicable_max", "full"],
    "HS_TOTAL": ["base", "bonus", "deduction", "cap"],
}
OPTIONAL = {
    "HS_RANKSCORE": {"floor": 0, "order": 0, "ties": 0},
    "HS_PLACESCORE": {"order": 0, "ties": 0},
    "HS_TIERSCORE": {"otherwise": 0, "inclusive": True},
    "HS_RATESCORE": {"inverse": False},
    "HS_PRORATE": {"full": 100},
    "HS_TOTAL": {"cap": 100},
}
RANGE_ARGUMENTS = {  # read as 2-D lists whatever the shape of the range
    "HS_RANKSCORE": {"peers"},
    "HS_PLACESCORE": {"peers", "points"},
    "HS_TIERSCORE": {"thresholds", "points", "inclusive"},
}
# VBA keywords (MS-VBAL 3.3.5.2) a parameter of a generated Function must not be named
VBA_RESERVED = {
    "abs", "addressof", "and", "any", "as", "boolean", "byref", "byte", "byval", "call", "case",
    "cbool", "cbyte", "ccur", "cdate", "cdbl", "cdec", "cint", "clng", "close", "const", "csng",
    "cstr", "currency", "cvar", "cverr", "date", "debug", "declare", "dim", "do", "double",
    "each", "else", "elseif", "empty", "end", "endif", "enum", "eqv", "erase", "error", "event",
    "exit", "false", "fix", "for", "friend", "function", "get", "global", "gosub", "goto", "if",
    "imp", "implements", "in", "input", "int", "integer", "is", "len", "let", "like", "lock",
    "long", "loop", "lset", "me", "mod", "new", "next", "not", "nothing", "null", "object", "on",
    "open", "option", "optional", "or", "paramarray", "preserve", "print", "private", "pset",
    "public", "put", "raiseevent", "redim", "rem", "resume", "return", "rset", "scale", "seek",
    "select", "set", "sgn", "shared", "single", "spc", "static", "stop", "string", "sub", "tab",
    "then", "to", "type", "typeof", "unlock", "until", "variant", "wend", "while", "with",
    "withevents", "write", "xor",
}


def has_chinese(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK UNIFIED IDEOGRAPH") for ch in text)


class FakeWorkbook:
    """generate_vba_wrapper only asks the COM workbook for its name."""

    def __init__(self, name: str):
        self.Name = name


@pytest.fixture
def windows_xlwings():
    """(xlwings.udfs, hscredit_xl.udfs) as on Windows: the real decorators applied."""
    names = list(udfs_vba.PYWIN32_MODULES) + ["xlwings.udfs"]
    saved_modules = {name: sys.modules.get(name) for name in names}
    had_attr = hasattr(xlwings, "udfs")
    saved_attr = getattr(xlwings, "udfs", None)
    saved_decorators = {name: getattr(xlwings, name) for name in ("func", "arg", "ret")}
    try:
        sys.modules.pop("xlwings.udfs", None)
        for name, module in udfs_vba.pywin32_stand_ins().items():
            sys.modules.setdefault(name, module)
        xlu = importlib.import_module("xlwings.udfs")
        xlwings.func, xlwings.arg, xlwings.ret = xlu.xlfunc, xlu.xlarg, xlu.xlret
        module = importlib.reload(hscredit_xl.udfs)
        yield xlu, module
    finally:
        for name, value in saved_decorators.items():
            setattr(xlwings, name, value)
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if had_attr:
            xlwings.udfs = saved_attr
        elif hasattr(xlwings, "udfs"):
            del xlwings.udfs
        importlib.reload(hscredit_xl.udfs)


# --------------------------------------------------------------------------- recorded metadata


def test_real_xlwings_udfs_was_imported(windows_xlwings):
    xlu, module = windows_xlwings
    assert xlu.__file__.endswith("xlwings/udfs.py")
    assert callable(xlu.generate_vba_wrapper)
    assert sys.modules["pythoncom"].__doc__.startswith("pywin32 stand-in")


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_recorded_metadata(windows_xlwings, name):
    _, module = windows_xlwings
    f = getattr(module, name)
    meta = f.__xlfunc__
    assert meta["name"] == name
    assert meta["category"] == CATEGORY == "黄石信用考评"
    assert meta["sub"] is False
    assert meta["volatile"] is False
    assert meta["call_in_wizard"] is True
    assert meta["async_mode"] is None

    args = meta["args"]
    assert [a["name"] for a in args] == ARGUMENTS[name]
    assert [a["pos"] for a in args] == list(range(len(args)))
    for a in args:
        assert has_chinese(a["doc"]), (name, a["name"], a["doc"])
        assert not a["doc"].startswith("Positional argument")
        assert len(a["doc"]) <= 255  # MacroOptions' limit; xlwings would cut it silently
        assert a["vba"] is None
        assert a["vararg"] is False
        assert "convert" not in a["options"]  # an annotation would have become a converter
    optional = {a["name"]: a["optional"] for a in args if "optional" in a}
    assert optional == OPTIONAL.get(name, {})
    ranges = {a["name"] for a in args if a["options"].get("ndim") == 2}
    assert ranges == RANGE_ARGUMENTS.get(name, set())

    description = meta["ret"]["doc"]
    assert description == f.__doc__
    assert has_chinese(description) and "\n" not in description and len(description) <= 255
    assert meta["ret"]["options"] == {}


def test_decorated_functions_still_compute(windows_xlwings):
    _, module = windows_xlwings
    assert module.HS_TIERSCORE(0.8, [[1, 0.8, 0.4]], [[10, 6, 3]]) == 6.0
    assert module.HS_RANKSCORE(90, [[98], [95], [91], [90], [85], [80]], 6, 0.4) == 4.8


def test_argument_names_are_valid_vba_parameters(windows_xlwings):
    _, module = windows_xlwings
    for name in FUNCTION_NAMES:
        for a in getattr(module, name).__xlfunc__["args"]:
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", a["name"])
            assert a["name"].lower() not in VBA_RESERVED


# --------------------------------------------------------------------------- generate_vba_wrapper


def wrapper_vba(xlu, module, workbook_name: str) -> str:
    out = io.StringIO()
    xlu.generate_vba_wrapper("hscredit_xl.udfs", module, out, FakeWorkbook(workbook_name))
    return out.getvalue()


SIGNATURES = {
    "HS_RANKSCORE": "Function HS_RANKSCORE(value, peers, top, step, Optional floor, Optional order, Optional ties)",
    "HS_PLACESCORE": "Function HS_PLACESCORE(value, peers, points, Optional order, Optional ties)",
    "HS_TIERSCORE": "Function HS_TIERSCORE(value, thresholds, points, Optional otherwise, Optional inclusive)",
    "HS_RATESCORE": "Function HS_RATESCORE(rate, points, Optional inverse)",
    "HS_COUNTSCORE": "Function HS_COUNTSCORE(count, per_item, cap)",
    "HS_FLAGSCORE": "Function HS_FLAGSCORE(flag, points)",
    "HS_PRORATE": "Function HS_PRORATE(score, applicable_max, Optional full)",
    "HS_TOTAL": "Function HS_TOTAL(base, bonus, deduction, Optional cap)",
}


def test_generate_vba_wrapper_writes_one_function_per_udf(windows_xlwings):
    xlu, module = windows_xlwings
    vba = wrapper_vba(xlu, module, "hscredit_xl.xlam")
    lines = vba.splitlines()
    functions = [line for line in lines if line.startswith("Function ")]
    assert sorted(functions) == sorted(SIGNATURES.values())
    assert vba.count("End Function") == len(FUNCTION_NAMES)
    for name, args in ARGUMENTS.items():
        array = f"Array({', '.join(args)})"
        assert (f'{name} = XLPy.CallUDF("hscredit_xl.udfs", "{name}", {array}, '
                "ActiveWorkbook, Application.Caller)") in vba
        assert f'{name} = XLPy.CallUDF("hscredit_xl.udfs", "{name}", {array})' in vba
        assert f"{name} = Err.Description" in vba  # the Chinese error text shows in the cell
    assert "Application.Volatile" not in vba
    assert all(len(line) <= udfs_vba.MAX_VBA_LINE for line in lines)


def test_generate_vba_wrapper_outside_an_addin_uses_thisworkbook(windows_xlwings):
    xlu, module = windows_xlwings
    vba = wrapper_vba(xlu, module, "考评.xlsm")
    assert "ThisWorkbook, Application.Caller)" in vba
    assert "ActiveWorkbook" not in vba


# --------------------------------------------------------------------------- generate_udf_vba


def test_generate_udf_vba_is_the_xlwings_module_plus_the_register_sub():
    vba = udfs_vba.generate_udf_vba()
    lines = vba.splitlines()
    assert lines[0] == 'Attribute VB_Name = "xlwings_udfs"'
    for signature in SIGNATURES.values():
        assert signature in lines
    assert f"Public Sub {udfs_vba.REGISTER_SUB}()" in lines
    assert vba.rstrip().endswith("End Sub")
    assert all(len(line) <= udfs_vba.MAX_VBA_LINE for line in lines)


def register_blocks(vba: str) -> dict[str, list[str]]:
    """The statements of RegisterHsFunctions, grouped by the function they register."""
    body = vba.split(f"Public Sub {udfs_vba.REGISTER_SUB}()", 1)[1].split("End Sub", 1)[0]
    blocks: dict[str, list[str]] = {}
    current = None
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("' HS_"):
            current = line[2:]
            blocks[current] = []
        elif current:
            blocks[current].append(line)
    return blocks


def test_register_sub_sets_category_and_chinese_descriptions():
    vba = udfs_vba.generate_udf_vba()
    blocks = register_blocks(vba)
    assert sorted(blocks) == sorted(FUNCTION_NAMES)
    for name, statements in blocks.items():
        f = getattr(hscredit_xl.udfs, name)
        call = statements[-1]
        assert call.startswith("Application.MacroOptions ")
        assert f"Macro:=\"'\" & ThisWorkbook.Name & \"'!{name}\"" in call
        assert 'Category:="黄石信用考评"' in call
        assert "Description:=desc" in call
        assert "ArgumentDescriptions:=argDocs" in call
        assert "HasMenu:=False" in call and "HasShortcutKey:=False" in call
        assert f'desc = "{f.__doc__}"' in statements
        n = len(ARGUMENTS[name])
        assert f"ReDim argDocs(0 To {n - 1})" in statements
        docs = [s for s in statements if s.startswith("argDocs(")]
        assert len(docs) == n
        for i, doc in enumerate(docs):
            assert doc.startswith(f'argDocs({i}) = "')
            assert has_chinese(doc)


def test_register_sub_repeats_the_macrooptions_calls_xlwings_makes():
    book = udfs_vba.run_import_udfs(udfs_vba.RecordingWorkbook())
    calls = {macro: options for macro, options in book.macro_options}
    assert sorted(calls) == sorted(f"'hscredit_xl.xlam'!{name}" for name in FUNCTION_NAMES)
    for name in FUNCTION_NAMES:
        options = calls[f"'hscredit_xl.xlam'!{name}"]
        assert options["Category"] == "黄石信用考评"
        assert options["Description"] == getattr(hscredit_xl.udfs, name).__doc__
        assert len(options["ArgumentDescriptions"]) == len(ARGUMENTS[name])
        assert all(has_chinese(doc) for doc in options["ArgumentDescriptions"])
    assert book.module_text.startswith('Attribute VB_Name = "xlwings_udfs"')


def decode_vba_string(expression: str) -> str:
    """The text of a VBA expression made of "literals" and ChrW(n) joined by &."""
    text = []
    for literal, code in re.findall(r'"((?:[^"]|"")*)"|ChrW\((\d+)\)', expression):
        text.append(chr(int(code)) if code else literal.replace('""', '"'))
    units = "".join(text).encode("utf-16-le", "surrogatepass")
    return units.decode("utf-16-le")


def test_ascii_only_spells_the_same_text_with_chrw():
    readable = register_blocks(udfs_vba.generate_udf_vba())
    vba = udfs_vba.generate_udf_vba(ascii_only=True)
    assert vba.isascii()
    assert all(len(line) <= udfs_vba.MAX_VBA_LINE for line in vba.splitlines())
    spelled = register_blocks(vba)
    for name in FUNCTION_NAMES:
        def values(statements, var):
            text = ""
            for s in statements:
                if s.startswith(f"{var} = {var} & "):
                    text += decode_vba_string(s[len(f"{var} = {var} & "):])
                elif s.startswith(f"{var} = "):
                    text = decode_vba_string(s[len(f"{var} = "):])
            return text

        assert values(spelled[name], "desc") == values(readable[name], "desc") == getattr(hscredit_xl.udfs, name).__doc__
        for i in range(len(ARGUMENTS[name])):
            assert values(spelled[name], f"argDocs({i})") == values(readable[name], f"argDocs({i})")
        category = re.search(r"Category:=(.*?), ArgumentDescriptions", spelled[name][-1]).group(1)
        assert decode_vba_string(category) == "黄石信用考评"


@pytest.mark.parametrize(
    "text",
    ['他说"好"', "第一行\n第二行", "𠀀 beyond the BMP", "a" * 1500, "黄石" * 400],
)
def test_vba_strings_round_trip_and_fit_a_line(text):
    for ascii_only in (False, True):
        lines = udfs_vba.vba_assign("x", text, ascii_only)
        assert all(len(line) <= udfs_vba.MAX_VBA_LINE for line in lines)
        decoded = ""
        for line in lines:
            expression = line.split(" = ", 1)[1]
            if expression.startswith("x & "):
                expression = expression[len("x & "):]
            decoded += decode_vba_string(expression)
        assert decoded == text
        assert all(line.isascii() for line in lines) or not ascii_only


def test_generate_udf_vba_leaves_nothing_changed():
    watched = list(udfs_vba.PYWIN32_MODULES) + ["xlwings.udfs"]
    before = {name: sys.modules.get(name) for name in watched}
    decorators = (xlwings.func, xlwings.arg, xlwings.ret)
    shared = sys.modules["hscredit_xl.udfs"]
    functions = {name: getattr(shared, name) for name in FUNCTION_NAMES}

    udfs_vba.generate_udf_vba()

    assert {name: sys.modules.get(name) for name in watched} == before
    assert (xlwings.func, xlwings.arg, xlwings.ret) == decorators
    assert sys.modules["hscredit_xl.udfs"] is shared
    for name, f in functions.items():
        assert getattr(shared, name) is f
        assert not hasattr(f, "__xlfunc__")


def test_real_pywin32_modules_are_never_replaced(monkeypatch):
    sentinel = type(sys)("pythoncom")
    sentinel.CoInitialize = lambda: None
    monkeypatch.setitem(sys.modules, "pythoncom", sentinel)
    with udfs_vba.pywin32_in_sys_modules() as installed:
        assert sys.modules["pythoncom"] is sentinel
        assert "pythoncom" not in installed
        assert sys.modules["win32com.client"] is installed["win32com.client"]
    assert sys.modules["pythoncom"] is sentinel
    assert "win32com.client" not in sys.modules or sys.modules["win32com.client"] is not installed["win32com.client"]


def test_stand_ins_fail_loudly_when_called():
    stand_ins = udfs_vba.pywin32_stand_ins()
    with pytest.raises(udfs_vba.StandInError, match="pywin32 stand-in"):
        stand_ins["win32com.client"].Dispatch("Excel.Application")
    with pytest.raises(udfs_vba.StandInError):
        stand_ins["pythoncom"].CoInitialize()
    assert issubclass(stand_ins["pywintypes"].com_error, Exception)


def test_wrapper_parameters_match_python_signatures():
    # the VBA wrappers pass arguments positionally: their order must be Python's
    for name, signature in SIGNATURES.items():
        f = getattr(hscredit_xl.udfs, name)
        vba_params = [p.replace("Optional ", "") for p in signature.split("(", 1)[1].rstrip(")").split(", ")]
        assert vba_params == list(inspect.signature(f).parameters)
