"""Nothing of the 2020 rubric is written in code (issue 16): no rule id, data key, derived key, switch id or
group name of huangshi-2020.yaml appears as a string literal in hscredit_xl/**/*.py outside comments and
docstrings. Everything year-specific is read from the rubric file, so next year's notice is a new file."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hscredit_xl.rubric import load_rubric

PACKAGE = Path(__file__).resolve().parents[1] / "hscredit_xl"
# "A4" is also the paper size: a string about printing may say it
PAPER = re.compile(r"A4\s*(?:横向|纵向|纸|landscape|portrait)|(?:横向|纵向|纸张)")


def _names() -> tuple[set[str], set[str]]:
    """(names matched as a token inside any string, names matched only as a whole string)."""
    rubric = load_rubric()
    tokens = {f.key for f in rubric.fields if f.key != "unit"}  # `unit` is the contract's key of every file
    tokens |= {d.key for d in rubric.derived} | set(rubric.switches)
    if rubric.group:
        tokens.add(rubric.group.key)
    whole = set()
    for rule in rubric.rules:
        (tokens if "." in rule.id else whole).add(rule.id)  # "1.2.5" anywhere; "5" only as a whole string
    return tokens, whole


def _cell_addresses(tree: ast.AST) -> set[int]:
    """Literals that are cell addresses ("A2" assigned to a name like CHECK_STATUS_CELL): switch ids look alike."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in targets]
            if any("cell" in n.lower() for n in names) and isinstance(node.value, ast.Constant):
                found.add(id(node.value))
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def literals_in(source: str, tokens: set[str], whole: set[str]) -> list[tuple[int, str, str]]:
    """(line, the literal, the rubric name it contains) for every offending string literal in `source`."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _cell_addresses(tree)
    pattern = re.compile(r"(?<![A-Za-z0-9_.])(" + "|".join(sorted(map(re.escape, tokens), key=len, reverse=True))
                         + r")(?![A-Za-z0-9_]|\.\d)")
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        text = node.value
        if text in whole:
            found.append((node.lineno, text, text))
            continue
        for m in pattern.finditer(text):
            if m.group(1) == "A4" and PAPER.search(text):
                continue
            if text[m.end():m.end() + 1] == ":" or text[m.start() - 1:m.start()] == ":":  # a range: A1:H20
                continue
            found.append((node.lineno, text, m.group(1)))
    return found


def test_the_scanner_finds_a_planted_literal():
    tokens, whole = _names()
    planted = 'def f(c):\n    """Docstrings may say A9 and 1.3."""\n    return c["A9"], f"x{c}（A11）", "6", "1.3"\n'
    found = {name for _, _, name in literals_in(planted, tokens, whole)}
    assert found == {"A9", "A11", "6", "1.3"}
    assert not literals_in('x = "打印 A4 横向"\ny = "15"\nz = "A10x"\nSTATUS_CELL = "A2"\nw = f"A1:{y}"\n',
                           tokens, whole)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_literal_of_the_2020_rubric_in_code(path):
    tokens, whole = _names()
    found = literals_in(path.read_text(encoding="utf-8"), tokens, whole)
    assert not found, "\n".join(f"{path.name}:{line}: {name!r} in {text!r}" for line, text, name in found)
