"""Reading VBA source in tests: conditional compilation, procedures, a tiny evaluator, cmd.exe's rules.

Standard library only: ``lo_vba_compile.py`` imports it under the system Python (the one with
LibreOffice's ``uno``), which has none of the project's dependencies.
"""
from __future__ import annotations

import re

WINDOWS_64 = {"VBA7": True, "Win64": True, "Win32": True, "Mac": False, "App": "Microsoft Excel",
              "MAC_OFFICE_VERSION": 0}
WINDOWS_32 = dict(WINDOWS_64, Win64=False)
"""The conditional-compilation constants of 64-bit and 32-bit Excel 2010+ on Windows (VBA7)."""


def code_part(line: str) -> str:
    """A VBA line without its comment (a ' outside string literals starts one)."""
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "'" and not in_string:
            return line[:i]
    return line


def _pp_value(expression: str, constants: dict) -> object:
    """The value of a #If condition: constants, string literals, = <> >= <=, And, Or, Not."""
    python = []
    for token in re.findall(r'"[^"]*"|<>|>=|<=|[=<>()]|\w+', expression):
        if token.startswith('"'):
            python.append(repr(token[1:-1]))
        elif token == "=":
            python.append("==")
        elif token == "<>":
            python.append("!=")
        elif token.lower() in ("and", "or", "not"):
            python.append(token.lower())
        elif token.lower() in ("true", "false"):
            python.append(token.capitalize())
        elif token.isdigit() or token in "()<>" or token in (">=", "<="):
            python.append(token)
        else:
            python.append(repr(constants.get(token, False)))  # VBA: an undefined constant is Empty (False)
    return eval(" ".join(python), {"__builtins__": {}})  # noqa: S307 - tokens above only


def resolve_conditionals(source: str, constants: dict) -> str:
    """``source`` with ``#If``/``#Const`` evaluated: inactive lines and directives commented out.

    Line numbers stay as they are (each line is kept, prefixed with ``'`` when inactive).
    """
    constants = dict(constants)
    out = []
    stack: list[list[bool]] = []  # per #If: [this branch active, some branch taken]

    def active() -> bool:
        return all(frame[0] for frame in stack)

    for line in source.split("\n"):
        stripped = line.strip()
        m = re.match(r"#(If|ElseIf|Else|End If|Const)\b\s*(.*?)\s*(?:Then)?\s*$", code_part(stripped), re.I)
        if not m:
            out.append(line if active() else "'" + line)
            continue
        word, rest = m.group(1).lower(), m.group(2)
        if word == "if":
            value = bool(_pp_value(rest, constants)) if active() else False
            stack.append([value, value])
        elif word == "elseif":
            frame = stack[-1]
            frame[0] = not frame[1] and bool(_pp_value(rest, constants))
            frame[1] = frame[1] or frame[0]
        elif word == "else":
            frame = stack[-1]
            frame[0] = not frame[1]
            frame[1] = True
        elif word == "end if":
            stack.pop()
        elif word == "const" and active():
            name, _, value = rest.partition("=")
            constants[name.strip()] = _pp_value(value, constants)
        out.append("'" + line)
    if stack:
        raise ValueError("unbalanced #If in VBA source")
    return "\n".join(out)


def logical_lines(source: str) -> list[str]:
    """Code lines (comments removed, blank lines dropped), with ``_`` line continuations joined."""
    lines, pending = [], ""
    for raw in source.split("\n"):
        code = code_part(raw).rstrip()
        if code.endswith(" _"):
            pending += code[:-2] + " "
            continue
        code = (pending + code).strip()
        pending = ""
        if code:
            lines.append(code)
    return lines


PROCEDURE_HEAD = re.compile(
    r"^\s*(?:(?P<scope>Public|Private|Friend|Global)\s+)?(?:Static\s+)?"
    r"(?P<kind>Sub|Function|Property\s+(?:Get|Let|Set))\s+(?P<name>\w+)\s*(?:\((?P<params>.*?)\))?",
    re.I,
)


def procedure(source: str, name: str) -> list[str]:
    """The logical lines of one Sub/Function, declaration to End (empty when absent)."""
    lines = logical_lines(source)
    for i, line in enumerate(lines):
        m = PROCEDURE_HEAD.match(line)
        if m and m.group("name").lower() == name.lower():
            kind = m.group("kind").split()[0]
            end = next(j for j in range(i, len(lines)) if re.match(rf"End {kind}\b", lines[j], re.I))
            return lines[i:end + 1]
    return []


# --------------------------------------------------------------------------- a tiny evaluator


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"]|"")*")|(?P<num>\d+)|(?P<name>[A-Za-z_][\w.]*\$?)|(?P<op><>|<=|>=|[()=,&+<>]))')


def _python_expression(expression: str, comparison: bool) -> str:
    out, pos = [], 0
    while pos < len(expression.rstrip()):
        m = _TOKEN.match(expression, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot evaluate VBA expression {expression!r} at {expression[pos:]!r}")
        pos = m.end()
        if m.group("str"):
            out.append(repr(m.group("str")[1:-1].replace('""', '"')))
        elif m.group("num"):
            out.append(m.group("num"))
        elif m.group("name"):
            name = m.group("name").rstrip("$")
            lower = name.lower()
            if lower in ("and", "or", "not"):
                out.append(lower)
            elif lower in ("true", "false"):
                out.append(lower.capitalize())
            else:
                out.append(f"E({name!r})")
        else:
            op = m.group("op")
            out.append({"&": "+", "=": "==" if comparison else "=", "<>": "!="}.get(op, op))
    return " ".join(out)


class VbaEnvironment(dict):
    """Variables (lower-case names; undefined ones are ``""``) and the functions an expression may call."""

    def __call__(self, name: str):
        return self.get(name.lower(), "")


def evaluate(expression: str, env: VbaEnvironment, comparison: bool = True):
    return eval(_python_expression(expression, comparison), {"__builtins__": {}, "E": env})  # noqa: S307


def run_procedure(lines: list[str], env: VbaEnvironment) -> VbaEnvironment:
    """Run the straight-line statements of a procedure: assignments, block and one-line If.

    Enough for procedures that build strings (as XLPyCommand does); anything else raises.
    """
    stack: list[list[bool]] = []  # per If block: [this branch runs, a branch ran]

    def running() -> bool:
        return all(frame[0] for frame in stack)

    for line in lines[1:-1]:
        if re.match(r"(Dim|Const)\b", line, re.I):
            continue
        m = re.match(r"(If|ElseIf)\s+(.*)\s+Then$", line, re.I)
        if m:
            if m.group(1).lower() == "if":
                value = running() and bool(evaluate(m.group(2), env))
                stack.append([value, value])
            else:
                frame = stack[-1]
                frame[0] = not frame[1] and running_outer(stack) and bool(evaluate(m.group(2), env))
                frame[1] = frame[1] or frame[0]
            continue
        if re.match(r"Else$", line, re.I):
            stack[-1][0] = not stack[-1][1]
            stack[-1][1] = True
            continue
        if re.match(r"End If$", line, re.I):
            stack.pop()
            continue
        if not running():
            continue
        m = re.match(r"If\s+(.*?)\s+Then\s+(.*)$", line, re.I)
        if m:
            if evaluate(m.group(1), env):
                _statement(m.group(2), env)
            continue
        if re.match(r"Exit (Function|Sub)$", line, re.I):
            break
        _statement(line, env)
    return env


def running_outer(stack: list[list[bool]]) -> bool:
    return all(frame[0] for frame in stack[:-1])


def _statement(line: str, env: VbaEnvironment) -> None:
    m = re.match(r"(\w+)\s*=\s*(.*)$", line)
    if not m:
        raise ValueError(f"cannot run VBA statement {line!r}")
    env[m.group(1).lower()] = evaluate(m.group(2), env)


# --------------------------------------------------------------------------- cmd.exe and the C runtime


def cmd_remainder(command_line: str) -> str:
    """What ``cmd.exe /C`` or ``/K`` runs, after its documented quote rule (``cmd /?``).

    Quotes are kept only when there are exactly two, with no special character (``&<>()@^|``)
    and some whitespace between them (and they name a program); otherwise a leading quote and
    the last quote on the line are removed.
    """
    m = re.match(r'\s*cmd(?:\.exe)?((?:\s+/(?!c\b|k\b)\w+)*)\s+/([ck])\s*(.*)$', command_line, re.I | re.S)
    if not m:
        raise ValueError(f"not a cmd.exe /C or /K line: {command_line!r}")
    rest = m.group(3)
    quotes = [i for i, ch in enumerate(rest) if ch == '"']
    if len(quotes) == 2 and rest.startswith('"'):
        between = rest[quotes[0] + 1:quotes[1]]
        if not re.search(r"[&<>()@^|]", between) and re.search(r"\s", between):
            return rest
    if rest.startswith('"') and len(quotes) >= 2:
        last = quotes[-1]
        return rest[1:last] + rest[last + 1:]
    return rest


def cmd_commands(line: str) -> list[str]:
    """The commands cmd.exe runs from one line: split on ``&``, ``&&``, ``|``, ``||`` outside quotes.

    ``^`` outside quotes escapes the next character; a quote toggles quoting; a line feed or
    carriage return ends the line (cmd reads no further). Redirections ``<`` ``>`` outside
    quotes are returned as commands of their own (``"<"``/``">"`` followed by the rest), so a
    caller sees them.
    """
    commands, current, quoted, i = [], "", False, 0
    while i < len(line):
        ch = line[i]
        if ch in "\r\n":
            break
        if ch == '"':
            quoted = not quoted
            current += ch
        elif quoted:
            current += ch
        elif ch == "^" and i + 1 < len(line):
            i += 1
            current += line[i]
        elif ch in "&|":
            commands.append(current)
            current = ""
            if i + 1 < len(line) and line[i + 1] == ch:
                i += 1
        elif ch in "<>":
            commands.append(current)
            current = ch
        else:
            current += ch
        i += 1
    commands.append(current)
    return [c.strip() for c in commands if c.strip()]


def windows_argv(command: str) -> list[str]:
    """Split a command line as the Microsoft C runtime does (``CommandLineToArgvW``'s rules).

    The program name ends at the first whitespace outside quotes (quotes removed, backslashes
    literal); in arguments, 2n backslashes before a quote give n and toggle quoting, 2n+1 give
    n and a literal quote, and ``""`` inside quotes is a literal quote.
    """
    s = command.lstrip()
    argv, i = [], 0
    # the program name
    name, quoted = "", False
    while i < len(s) and (quoted or not s[i].isspace()):
        if s[i] == '"':
            quoted = not quoted
        else:
            name += s[i]
        i += 1
    argv.append(name)
    while True:
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s):
            return argv
        arg, quoted = "", False
        while i < len(s) and (quoted or not s[i].isspace()):
            if s[i] == "\\":
                j = i
                while j < len(s) and s[j] == "\\":
                    j += 1
                count = j - i
                if j < len(s) and s[j] == '"':
                    arg += "\\" * (count // 2)
                    if count % 2:
                        arg += '"'
                        i = j + 1
                    else:
                        i = j
                    continue
                arg += "\\" * count
                i = j
                continue
            if s[i] == '"':
                if quoted and i + 1 < len(s) and s[i + 1] == '"':
                    arg += '"'
                    i += 2
                    continue
                quoted = not quoted
                i += 1
                continue
            arg += s[i]
            i += 1
        argv.append(arg)


def rename_parameters(source: str, names: dict[str, str]) -> str:
    """Rename parameters (whole words, case-insensitive) inside the procedures that declare them.

    For LibreOffice, which reserves some names VBA allows as parameters (``Step``, ``Base``...).
    """
    lines = source.split("\n")
    out, renames, kind = [], {}, None
    for line in lines:
        m = PROCEDURE_HEAD.match(code_part(line))
        if m and m.group("params") is not None:
            params = {re.sub(r"^((Optional|ByVal|ByRef|ParamArray)\s+)*", "", p.strip(), flags=re.I).split()[0].lower()
                      for p in m.group("params").split(",") if p.strip()}
            renames = {old: new for old, new in names.items() if old.lower() in params}
            kind = m.group("kind").split()[0]
        if renames:
            for old, new in renames.items():
                line = re.sub(rf"(?<![\w.]){re.escape(old)}\b", new, line, flags=re.I)
        out.append(line)
        if kind and re.match(rf"\s*End {kind}\b", code_part(line), re.I):
            renames, kind = {}, None
    return "\n".join(out)
