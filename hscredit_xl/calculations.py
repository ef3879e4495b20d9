"""The kinds of scoring rule, each declared once: its parameters, its arithmetic, the most it can give, and the
formulas that compute it in a workbook — the HS_ worksheet function of the master's 计分 sheet, and the native
formula (Excel 2010, WPS, LibreOffice) of a unit's 填报版 where one unit can compute it alone.

The arithmetic itself is `kinds.py` (pure Decimal, no year, no Excel); the worksheet functions are `udfs.py`
(xlwings needs them as top-level functions). A new kind of rule is one `Kind` here, plus its function in each of
those two modules: the rubric loader, the engine, `rubric check`, the template and the 填报版 all find it here.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from . import kinds


def num(x) -> str:
    """A number as a formula writes it: 10, 0.4 — no exponent, no trailing zeros."""
    return format(Decimal(str(x)).normalize(), "f")


def array(values) -> str:
    return "{" + ",".join(num(v) for v in values) + "}"


def bool_array(flags) -> str:
    return "{" + ",".join("TRUE" if f else "FALSE" for f in flags) + "}"


def tiers(params: dict) -> list[tuple]:
    """A tier part's tiers as kinds.tier_score takes them: (at, points, inclusive)."""
    return [(t["at"], t["points"], bool(t.get("inclusive", True))) for t in params["tiers"]]


@dataclass(frozen=True)
class Kind:
    name: str
    required: tuple[str, ...]  # parameters a part must give (any other than these and `optional` is a typo)
    optional: tuple[str, ...]
    score: Callable[[object, dict], Decimal]  # the part's score from its value (for a ranked kind: the place)
    best: Callable[[dict], Decimal]  # the most the part can give (rubric check: the points add up)
    worksheet: Callable[[str, dict, Sequence[str]], str]  # HS_ formula over a value range; months: A2's ranges
    native: Callable[[str, dict], str] | None = None  # a 填报版's formula; None: one unit can not compute it
    ranked: bool = False  # scored by the place among the units: the engine ranks first, `score` takes the place
    rates: bool = False  # the value is a rate (decisions A8: clamped to 0…100 % where the option says so)


def _rank_worksheet(value: str, p: dict, months: Sequence[str]) -> str:
    order = 1 if p.get("lowest_first") else 0
    dense = ",1" if p.get("ties") == "dense" else ""  # decisions A1: 1、1、2 紧接
    tail = f"{num(p['top'])},{num(p['step'])},{num(p.get('floor', 0))},{order}{dense})"
    if p.get("combine") == "monthly_average" and months:  # decisions A2: each month ranked, the scores averaged
        return "(" + "+".join(f"HS_RANKSCORE({m},{m},{tail}" for m in months) + f")/{len(months)}"
    return f"HS_RANKSCORE({value},{value},{tail}"


def _place_worksheet(value: str, p: dict, months: Sequence[str]) -> str:
    order = 1 if p.get("lowest_first") else 0
    extra = f",{order},1" if p.get("ties") == "dense" else (",1" if order else "")
    return f"HS_PLACESCORE({value},{value},{array(p['points'])}{extra})"


def _tier_worksheet(value: str, p: dict, months: Sequence[str]) -> str:
    inclusive = [bool(t.get("inclusive", True)) for t in p["tiers"]]
    flags = "" if all(inclusive) else "," + bool_array(inclusive)  # the argument's default: all TRUE
    return (f"HS_TIERSCORE({value},{array([t['at'] for t in p['tiers']])},"
            f"{array([t['points'] for t in p['tiers']])},{num(p.get('otherwise', 0))}{flags})")


def _tier_native(value: str, p: dict) -> str:
    expr = num(p.get("otherwise", 0))
    for tier in reversed(p["tiers"]):
        op = ">=" if tier.get("inclusive", True) else ">"
        expr = f"IF({value}{op}{num(tier['at'])},{num(tier['points'])},{expr})"
    return expr


def _rate_native(value: str, p: dict) -> str:
    rate = f"(1-{value})" if p.get("inverse") else value
    return f"{rate}*{num(p['points'])}"


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("rank", ("top", "step"), ("floor", "lowest_first", "ties", "combine"),
         score=lambda place, p: kinds.rank_score(int(place), p["top"], p["step"], p.get("floor", 0)),
         best=lambda p: kinds.rank_score(1, p["top"], p["step"], p.get("floor", 0)),
         worksheet=_rank_worksheet, ranked=True),
    Kind("place", ("points",), ("lowest_first", "ties"),
         score=lambda place, p: kinds.place_score(int(place), p["points"]),
         best=lambda p: kinds.place_score(1, p["points"]),
         worksheet=_place_worksheet, ranked=True),
    Kind("tier", ("tiers",), ("otherwise",),
         score=lambda value, p: kinds.tier_score(value, tiers(p), p.get("otherwise", 0)),
         best=lambda p: max(kinds.to_decimal(x) for x in [*(t["points"] for t in p["tiers"]), p.get("otherwise", 0)]),
         worksheet=_tier_worksheet, native=_tier_native),
    Kind("rate", ("points",), ("inverse",),
         score=lambda rate, p: kinds.rate_score(rate, p["points"], bool(p.get("inverse", False))),
         best=lambda p: kinds.rate_score(0 if p.get("inverse") else 1, p["points"], bool(p.get("inverse", False))),
         worksheet=lambda value, p, months: (f"HS_RATESCORE({value},{num(p['points'])},"
                                             f"{'TRUE' if p.get('inverse') else 'FALSE'})"),
         native=_rate_native, rates=True),
    Kind("count", ("per_item", "cap"), (),
         score=lambda count, p: kinds.count_score(count, p["per_item"], p["cap"]),
         best=lambda p: kinds.to_decimal(p["cap"]),
         worksheet=lambda value, p, months: f"HS_COUNTSCORE({value},{num(p['per_item'])},{num(p['cap'])})",
         native=lambda value, p: f"MIN({num(p['cap'])},{value}*{num(p['per_item'])})"),
    Kind("flag", ("points",), (),
         score=lambda flag, p: kinds.flag_score(bool(flag), p["points"]),
         best=lambda p: kinds.to_decimal(p["points"]),
         worksheet=lambda value, p, months: f"HS_FLAGSCORE({value},{num(p['points'])})",
         native=lambda value, p: f'IF({value}="是",{num(p["points"])},0)'),
    Kind("manual", ("min", "max"), (),  # a reviewer's score from the evidence: the value is the score
         score=lambda value, p: kinds.to_decimal(value),
         best=lambda p: kinds.to_decimal(p["max"]),
         worksheet=lambda value, p, months: value,
         native=lambda value, p: f"N({value})"),
)}


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"未知的计算类型「{name}」（允许：{'、'.join(KINDS)}）") from None
