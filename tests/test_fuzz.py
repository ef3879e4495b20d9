"""Fuzzing (issue 6): whatever comes in, every run ends in a result or a clear refusal.

Over data files (random headers, cells, values, encodings) and over corrupted workbooks (truncated zips,
shuffled or mutated XML inside a valid template, random bytes), every command run ends with exit 0, 1 or 2
and a message — never a traceback — and never changes an input file. Data files, being plain text, must never
reach exit 1 (an internal error): every way to get them wrong is an input problem (exit 2).

The commands run in-process through hscredit_xl.cli.main (fast); a few run as real processes too.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import random
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hscredit_xl.cli import main
from hscredit_xl.datafile import read_rows
from hscredit_xl.inputs import allowed_keys
from hscredit_xl.rubric import load_rubric
from hscredit_xl.workbook.book import OpenpyxlBook
from hscredit_xl.workbook.demo import sample_path
from hscredit_xl.workbook.fill import fill_book
from hscredit_xl.workbook.safety import open_untrusted
from hscredit_xl.workbook.template import build_template

ROOT = Path(__file__).resolve().parent.parent
RUBRIC = load_rubric()
KEYS = allowed_keys(RUBRIC)
SAMPLE_TEXT = sample_path().read_text(encoding="utf-8-sig")
SAMPLE_ROWS = list(csv.DictReader(io.StringIO(SAMPLE_TEXT, newline="")))
SAMPLE_HEADER = list(SAMPLE_ROWS[0].keys())
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
FUZZ_BOOKS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def assert_clean_end(code: int, out: str, err: str, allowed=(0, 1, 2)) -> None:
    assert code in allowed, (code, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in out
    if code != 0:
        assert err.strip(), "a refusal says why"
        assert re.search(r"[\u4e00-\u9fff]", err), "in Chinese"
    if code == 2:
        assert "[错误]" in err


# ------------------------------------------------------------------------------------------------ data files
ODD_VALUES = ["", " ", "是", "否", "是 ", "有", "无", "Y", "n", "TRUE", "0", "1", "-1", "85", "85%", "85 %", "８５％",
              "0.85", "1,234", "1,2,3", "12.5", "1e20", "1e-30", "NaN", "inf", "-Infinity", "#N/A", "#DIV/0!",
              "2020-12-31", "=1+1", "=SUM(A1:A3)", "@cmd", "+1", "１２３", "一百", "1%;2%", "1%；abc", ";;", "10 %;",
              "\"quoted\"", "a,b", "line\nbreak", "\t", "　", "\ufeff", "\x00", "大冶市", "开发区.铁山区", "9" * 40,
              # what no workbook can hold (issue 15): control characters, non-characters, text over 32,767
              "\x01", "理由\x0b", "\x1f5", "\ufffe", "原因\uffff", "#NAME?", "#SPILL!", "长" * 33_000]


@st.composite
def cell_values(draw, key: str):
    choice = draw(st.integers(0, 9))
    if choice <= 3:  # mostly the sample's own values, so that many files get past the first error
        return draw(st.sampled_from([r.get(key, "") or "" for r in SAMPLE_ROWS]))
    if choice <= 6:
        return draw(st.sampled_from(ODD_VALUES))
    if choice == 7:
        return str(draw(st.one_of(st.integers(-10**25, 10**25), st.floats(allow_nan=True, allow_infinity=True),
                                  st.decimals(allow_nan=True, allow_infinity=True))))
    return draw(st.text(max_size=12))


@st.composite
def data_files(draw) -> bytes:
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.binary(max_size=400))
    header = list(SAMPLE_HEADER)
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    for _ in range(draw(st.sampled_from([0] * 6 + [1, 2]))):
        action = draw(st.sampled_from(["drop", "junk", "dup", "extra_key"]))
        if action == "drop" and header:
            header.pop(draw(st.integers(0, len(header) - 1)))
        elif action == "junk":
            header.append(draw(st.text(max_size=8)))
        elif action == "dup" and header:
            header.append(draw(st.sampled_from(header)))
        else:
            header.append(draw(st.sampled_from(KEYS)))
    n_rows = draw(st.sampled_from([0, 1, 3, 6, 6, 6, 7]))  # 7: one unit twice
    table = [dict(SAMPLE_ROWS[n % len(SAMPLE_ROWS)]) for n in range(n_rows)]
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3, 8])) if table else 0):
        key = draw(st.sampled_from(header)) if header else "unit"
        table[draw(st.integers(0, len(table) - 1))][key] = draw(cell_values(key))
    rows = []
    for base in table:
        row = [base.get(k, "") for k in header]
        if draw(st.integers(0, 29)) == 0:  # a ragged row
            row = row[: draw(st.integers(0, len(row)))] if draw(st.booleans()) else row + ["多"]
        rows.append(row)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])))
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8"] * 4 + ["utf-8-sig"] * 2 + ["gb18030"] * 3 + ["utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:  # a few bytes damaged
        raw = bytearray(data)
        for _ in range(draw(st.integers(1, 5))):
            if raw:
                raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        data = bytes(raw)
    return data


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.xlsx"
    OpenpyxlBook(path, build_template()).save(path)
    return path


@FUZZ
@given(data=data_files())
def test_score_any_data_file(data, tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    code, out, err = run_cli("score", path, "--json")
    assert_clean_end(code, out, err, allowed=(0, 2))
    if code == 0:
        report = json.loads(out)
        assert report["units"]
    assert path.read_bytes() == data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=data_files())
def test_fill_any_data_file(data, template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fill")
    path = folder / "data.csv"
    path.write_bytes(data)
    before = template.read_bytes()
    out = folder / "out.xlsx"
    code, stdout, err = run_cli("fill", template, path, "-o", out)
    assert_clean_end(code, stdout, err, allowed=(0, 2))
    assert out.exists() == (code == 0)
    if code == 0:  # what was written opens again: never a file nothing can read
        open_untrusted(out)
    assert template.read_bytes() == before and path.read_bytes() == data
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------------------------ workbooks
@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> dict:
    """The sample filled into a template, and a unit's own file: the bytes every corruption starts from."""
    folder = tmp_path_factory.mktemp("wb")
    rows, problems = read_rows(sample_path(), RUBRIC)
    filled = folder / "filled.xlsx"
    book = OpenpyxlBook(filled, build_template())
    fill_book(book, rows, problems)
    book.save(filled)
    unit = folder / "unit.xlsx"
    book = OpenpyxlBook(unit, build_template())
    fill_book(book, [rows[1]], [])
    book.save(unit)
    template = folder / "template.xlsx"
    OpenpyxlBook(template, build_template()).save(template)
    return {"filled": filled.read_bytes(), "unit": unit.read_bytes(), "template": template}


def zip_members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i, zf.read(i.filename)) for i in zf.infolist()]


def build_zip(members: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info.filename, data)
    return out.getvalue()


def mutate_xml(draw, text: str) -> str:
    """One of: shuffle sibling elements (rows, cells, sheets), drop or duplicate a slice, swap two tags, change
    a value or attribute, splice in junk."""
    how = draw(st.sampled_from(["shuffle_rows", "shuffle_cells", "drop", "dup", "swap_tags", "attr", "value",
                                "junk", "cut"]))
    if how == "shuffle_rows":
        rows = re.findall(r"<row\b.*?</row>", text, re.S)
        if len(rows) > 1:
            shuffled = draw(st.permutations(rows))
            it = iter(shuffled)
            return re.sub(r"<row\b.*?</row>", lambda m: next(it), text, flags=re.S)
    if how == "shuffle_cells":
        cells = re.findall(r"<c\b[^>]*?(?:/>|>.*?</c>)", text, re.S)
        if len(cells) > 1:
            shuffled = draw(st.permutations(cells))
            it = iter(shuffled)
            return re.sub(r"<c\b[^>]*?(?:/>|>.*?</c>)", lambda m: next(it), text, flags=re.S)
    if how == "swap_tags":
        tags = [m.span() for m in re.finditer(r"<[^>]+>", text)]
        if len(tags) > 1:
            a, b = sorted(draw(st.lists(st.integers(0, len(tags) - 1), min_size=2, max_size=2, unique=True)))
            (a0, a1), (b0, b1) = tags[a], tags[b]
            return text[:a0] + text[b0:b1] + text[a1:b0] + text[a0:a1] + text[b1:]
    if how == "attr":
        attrs = [m.span(1) for m in re.finditer(r'="([^"]*)"', text)]
        if attrs:
            s, e = draw(st.sampled_from(attrs))
            new = draw(st.sampled_from(["", "0", "-1", "XFD1048576", "A1:XFD1048576", "99999999", "e", "s", "str",
                                        "inlineStr", "&amp;", "数据录入", "1E999"]))
            return text[:s] + new + text[e:]
    if how == "value":
        values = [m.span(1) for m in re.finditer(r"<(?:v|t)(?:\s[^>]*)?>([^<]*)</(?:v|t)>", text)]
        if values:
            s, e = draw(st.sampled_from(values))
            new = draw(st.sampled_from(["", "NaN", "inf", "1E999", "-0", "#N/A", "=1+1", "很多", "999999999999999999",
                                        "0.85", "85", "是", "\u200b", "-5"]))
            return text[:s] + new + text[e:]
    n = len(text)
    if n < 2:
        return text + "<"
    s = draw(st.integers(0, n - 1))
    e = min(n, s + draw(st.integers(1, 400)))
    if how == "drop":
        return text[:s] + text[e:]
    if how == "dup":
        return text[:e] + text[s:e] + text[e:]
    if how == "cut":
        return text[:s]
    return text[:s] + draw(st.sampled_from(["<", ">", "&", "<x>", "</row>", "<c r=\"A1\">", "\x00", "]]>",
                                            "<!-- -->", "<?pi?>", "\ufffd"])) + text[s:]


@st.composite
def corrupted_workbooks(draw, source: bytes) -> bytes:
    kind = draw(st.sampled_from(["xml", "xml", "xml", "xml", "truncate", "bytes", "random", "drop_member",
                                 "rename_member"]))
    if kind == "random":
        return draw(st.binary(min_size=0, max_size=3000))
    if kind == "truncate":
        return source[: draw(st.integers(0, len(source) - 1))]
    if kind == "bytes":
        raw = bytearray(source)
        for _ in range(draw(st.integers(1, 20))):
            raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
        return bytes(raw)
    members = zip_members(source)
    index = draw(st.integers(0, len(members) - 1))
    info, data = members[index]
    if kind == "drop_member":
        del members[index]
    elif kind == "rename_member":
        info = zipfile.ZipInfo(info.filename + draw(st.sampled_from(["x", ".bak", "/"]))[: 200])
        members[index] = (info, data)
    else:
        xml = [i for i, (m, _) in enumerate(members) if m.filename.endswith((".xml", ".rels"))]
        index = draw(st.sampled_from(xml))
        info, data = members[index]
        text = data.decode("utf-8")
        for _ in range(draw(st.integers(1, 3))):
            text = mutate_xml(draw, text)
        members[index] = (info, text.encode("utf-8", errors="surrogatepass"))
    return build_zip(members)


@st.composite
def corrupted_pair(draw):
    which = draw(st.sampled_from(["filled", "unit"]))
    return which, draw(st.data())


@FUZZ_BOOKS
@given(data=st.data())
def test_recompute_and_report_any_corrupted_workbook(data, workbook, tmp_path_factory):
    bad = data.draw(corrupted_workbooks(workbook["filled"]))
    folder = tmp_path_factory.mktemp("bad")
    path = folder / "book.xlsx"
    path.write_bytes(bad)
    out = folder / "out.xlsx"
    code, stdout, err = run_cli("recompute", path, "-o", out)
    assert_clean_end(code, stdout, err)
    assert out.exists() == (code == 0)
    code, stdout, err = run_cli("report", path, "--json")
    assert_clean_end(code, stdout, err)
    if code == 0:
        json.loads(stdout)
    assert path.read_bytes() == bad, "an input was changed"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@FUZZ_BOOKS
@given(data=st.data())
def test_merge_any_corrupted_unit_file(data, workbook, tmp_path_factory):
    bad = data.draw(corrupted_workbooks(workbook["unit"]))
    folder = tmp_path_factory.mktemp("merge")
    unit = folder / "unit.xlsx"
    unit.write_bytes(bad)
    master = folder / "master.xlsx"
    master.write_bytes(workbook["template"].read_bytes())
    before = master.read_bytes()
    code, stdout, err = run_cli("merge", master, unit)
    assert_clean_end(code, stdout, err)
    assert unit.read_bytes() == bad, "a unit file was changed"
    if code != 0:
        assert master.read_bytes() == before, "a refused merge changed the master"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_few_corrupted_files_as_real_processes(workbook, tmp_path):
    """The same, through `python -m hscredit_xl`: the process's own stderr holds no traceback."""
    rng = random.Random(2020)
    source = workbook["filled"]
    files = {
        "truncated.xlsx": source[: len(source) // 3],
        "random.xlsx": rng.randbytes(5000),
        "flipped.xlsx": bytes(b ^ 0xFF if rng.random() < 0.001 else b for b in source),
        "data.csv": SAMPLE_TEXT.encode("utf-8")[:500] + b"\x00\xff",
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        command = ["score", str(path)] if name.endswith(".csv") else ["recompute", str(path)]
        done = subprocess.run([sys.executable, "-m", "hscredit_xl", *command], capture_output=True, text=True,
                              encoding="utf-8", errors="replace", cwd=ROOT, timeout=120)
        assert done.returncode in (1, 2), (name, done.returncode)
        assert "Traceback" not in done.stderr and done.stderr.strip(), (name, done.stderr)
        assert path.read_bytes() == data
