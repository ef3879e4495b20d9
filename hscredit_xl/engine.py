"""Score every unit at once: the rubric's rules over typed unit data, then the totals the decisions page sets.

Pure Python, no Excel: the workbook, the command line and the tests all call `score_units`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from . import kinds
from .calculations import kind_of, tiers
from .inputs import ERROR, WARNING, Problem, UnitInput
from .rubric import Part, Rubric, Rule
from .why import Wording

ZERO = Decimal(0)


class Texts(Mapping):
    """rule id -> text, each put into words when first asked for (a ranking shown in the terminal never asks:
    at thousands of units the words cost more than the scores)."""

    def __init__(self):
        self._items: dict[str, object] = {}

    def later(self, key: str, make) -> None:
        self._items[key] = make

    def __getitem__(self, key: str) -> str:
        value = self._items[key]
        if callable(value):
            value = self._items[key] = value()
        return value

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass
class UnitResult:
    unit: str
    public_service: bool
    rules: dict[str, Decimal | None]  # every base rule id; None where the rule does not apply
    sections: dict[str, Decimal]  # item number -> subtotal of its rules
    base: Decimal
    applicable_max: Decimal
    base_scaled: Decimal
    bonus: Decimal
    deduction: Decimal
    capped: Decimal  # min(cap, base_scaled + bonus)
    total: Decimal
    rank: int = 0
    adjustment: Decimal = ZERO
    adjustment_reason: str = ""
    final: Decimal = ZERO
    final_rank: int = 0
    self_scores: dict[str, Decimal] = field(default_factory=dict)
    self_total: Decimal | None = None
    difference: Decimal | None = None
    rule_differences: dict[str, Decimal] = field(default_factory=dict)
    weighted: dict[str, Decimal] = field(default_factory=dict)
    why: Mapping[str, str] = field(default_factory=dict)  # rule id -> how its score came about, in Chinese
    # how the total, the place and the final score came about: the text, or the function that words it when
    # first asked for (the ranking table never asks)
    why_total_text: object = field(default="", repr=False)

    @property
    def why_total(self) -> str:
        if callable(self.why_total_text):
            self.why_total_text = self.why_total_text()
        return self.why_total_text


@dataclass(slots=True)
class PartFigures:
    """What scoring one part for one unit used, recorded as the engine scores it (the words of `why`); made once
    per unit and part, never changed (slots: thousands are made per run)."""

    part: Part
    params: dict  # every switch resolved
    value: object  # the value scored; for ranked kinds the value ranked (e.g. the sum of the months)
    score: Decimal
    place: int | None = None
    peers: int = 0  # units ranked together
    tied: tuple[str, ...] = ()  # the other units on the same place
    tier: int | None = None  # the index of the tier reached; None: none reached (otherwise)
    months: tuple[tuple[int, Decimal], ...] = ()  # ranked month by month: (place, score) of every month


@dataclass
class Result:
    rubric: Rubric
    choices: dict[str, str]
    units: list[UnitResult]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == ERROR]

    def ranking(self) -> list[UnitResult]:
        return sorted(self.units, key=lambda u: (u.rank, u.final_rank))


class Switches:
    """The chosen option of every switch, and the parameter values they stand for."""

    def __init__(self, rubric: Rubric, choices: Mapping[str, str] | None = None):
        self.rubric = rubric
        self.choices = dict(rubric.default_choices)
        for sid, option in (choices or {}).items():
            if sid not in rubric.switches or option not in rubric.switches[sid].options:
                raise ValueError(f"开关 {sid} 没有选项「{option}」")
            self.choices[sid] = option

    def value(self, sid: str):
        return self.rubric.switches[sid].options[self.choices[sid]].value

    def resolve(self, node):
        """Replace every {switch: Ax} in a parameter tree by the chosen option's value."""
        if isinstance(node, dict):
            if set(node) == {"switch"}:
                return self.value(node["switch"])
            return {k: self.resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node

    def active(self, part: Part) -> bool:
        return all(self.choices[sid] == option for sid, option in part.when.items())


def score_given(part: Part, given, params: dict) -> Decimal:
    """A part's score from its derived value (for a ranked kind: from the place)."""
    return kind_of(part.kind).score(given, params)


def _derive(value_spec, values: Mapping[str, object], switches: Switches):
    """The value a part scores, from the unit's typed data."""
    if isinstance(value_spec, str):
        return values[value_spec]
    if "each" in value_spec:
        return [values[k] for k in value_spec["each"]]
    if "ratio" in value_spec:
        numerator, denominator = (Decimal(values[k]) for k in value_spec["ratio"])
        if denominator == 0:
            return Decimal(switches.resolve(value_spec.get("if_zero", 0)))
        return numerator / denominator
    if "max" in value_spec:
        return max(values[value_spec["max"]])
    if "count_yes" in value_spec:
        return sum(1 for k in value_spec["count_yes"] if values[k])
    raise ValueError(f"无法识别的 value：{value_spec!r}")


def _score_rank_part(part: Part, params: dict, derived: Sequence) -> list[PartFigures]:
    """Rank and place kinds: every unit's place among the units the rule applies to."""
    lowest_first = bool(params.get("lowest_first", False))
    ties = params.get("ties", "competition")
    if derived and isinstance(derived[0], list):
        if params.get("combine", "annual_total") == "monthly_average":
            months = len(derived[0])
            per_unit: list[list[tuple[int, Decimal]]] = [[] for _ in derived]
            for m in range(months):
                month_places = kinds.places([d[m] for d in derived], lowest_first=lowest_first, ties=ties)
                for i, place in enumerate(month_places):
                    per_unit[i].append((place, score_given(part, place, params)))
            return [PartFigures(part, params, d, sum((s for _, s in mp), ZERO) / months, peers=len(derived),
                                months=tuple(mp)) for d, mp in zip(derived, per_unit)]
        derived = [sum((Decimal(x) for x in d), ZERO) for d in derived]
    unit_places = kinds.places(derived, lowest_first=lowest_first, ties=ties)
    by_place: dict[int, Decimal] = {}  # tied units share a place and its score
    for place in unit_places:
        if place not in by_place:
            by_place[place] = score_given(part, place, params)
    return [PartFigures(part, params, d, by_place[place], place=place, peers=len(derived))
            for d, place in zip(derived, unit_places)]


def _score_part(part: Part, params: dict, derived: Sequence, names: Sequence[str]) -> list[PartFigures]:
    """Every unit's figures for one part: the value, the place or tier, the score."""
    if kind_of(part.kind).ranked:
        figures = _score_rank_part(part, params, derived)
        on_place: dict[int, list[str]] = {}
        for name, fig in zip(names, figures):
            if fig.place is not None:
                on_place.setdefault(fig.place, []).append(name)
        return [replace(fig, tied=tuple(n for n in on_place.get(fig.place, ()) if n != name))
                for name, fig in zip(names, figures)]
    score = kind_of(part.kind).score
    part_tiers = tiers(params) if part.kind == "tier" else None
    memo: dict = {}  # units share values (a flag, a small count): each distinct one is scored once

    def figures(d) -> PartFigures:
        key = (type(d), d)
        found = memo.get(key)
        if found is None:
            tier = kinds.tier_reached(d, part_tiers) if part_tiers is not None else None
            found = memo[key] = (score(d, params), tier)
        return PartFigures(part, params, d, found[0], tier=found[1])

    return [figures(d) for d in derived]


def score_units(rubric: Rubric, units: Sequence[UnitInput], choices: Mapping[str, str] | None = None,
                weights: Mapping[str, Decimal] | None = None) -> Result:
    """Score all units. The inputs must be valid (inputs.parse_units reported no error)."""
    switches = Switches(rubric, choices)
    per_rule_rounding = rubric.policy(switches.choices, "rounding") == "per_rule"
    a5 = rubric.policy(switches.choices, "group_absent")

    def rounded(x: Decimal) -> Decimal:
        return kinds.round_half_up(x) if per_rule_rounding else x

    def applies(rule: Rule, unit: UnitInput) -> bool:
        return not rule.applies or unit.public_service

    rule_scores: dict[str, list[Decimal | None]] = {}
    problems: list[Problem] = []
    why: list[Texts] = [Texts() for _ in units]
    wording = Wording(rubric, switches.choices)
    for rule in rubric.rules:
        applicable = [i for i, u in enumerate(units) if applies(rule, u)]
        sums = [ZERO] * len(units)
        figures: dict[int, list[PartFigures]] = {i: [] for i in applicable}
        for part in rule.parts:
            if not switches.active(part):
                continue
            params = switches.resolve(part.params)
            derived = [_derive(part.value, units[i].values, switches) for i in applicable]
            part_figures = _score_part(part, params, derived, [units[i].name for i in applicable])
            if kind_of(part.kind).ranked:
                problems += _points_for_nothing(rubric, rule, part, [units[i] for i in applicable], derived,
                                                [fig.score for fig in part_figures])
            for i, fig in zip(applicable, part_figures):
                sums[i] += fig.score
                figures[i].append(fig)
        column: list[Decimal | None] = [None] * len(units)
        for i in applicable:
            column[i] = rounded(sums[i])
            why[i].later(rule.id, lambda r=rule, f=figures[i], v=units[i].values, s=sums[i], c=column[i]:
                         wording.rule(r, f, v, s, c))
        if rule.applies and a5 == "full_marks":
            for i, u in enumerate(units):
                if not applies(rule, u):
                    column[i] = rule.points
        rule_scores[rule.id] = column
        assessed = [units[j].name for j in applicable]  # once per rule: per unit it was quadratic
        for i, u in enumerate(units):
            if not applies(rule, u):
                applicable_max = sum((r.points for r in rubric.base_rules if applies(r, u)), ZERO)
                why[i].later(rule.id, lambda r=rule, a=assessed, c=column[i], m=applicable_max:
                             wording.not_applicable(r, a, a5, c, m))

    totals = rubric.totals
    full, cap = Decimal(totals["full"]), Decimal(totals["cap"])
    weights = weights if weights is not None else {w.name: w.weight for w in rubric.weights}
    results: list[UnitResult] = []
    scaled: list[Decimal | None] = []  # the 折算 before rounding, for `why`
    for i, unit in enumerate(units):
        rules = {r.id: rule_scores[r.id][i] for r in rubric.base_rules}
        sections = {item.number: sum((rules[r.id] or ZERO for ind in item.indicators for r in ind.rules), ZERO)
                    for item in rubric.items if item.role == "base"}
        base = sum(sections.values(), ZERO)
        applicable_max = sum((r.points for r in rubric.base_rules if rules[r.id] is not None), ZERO)
        scaled_raw = None
        if a5 == "prorate" and applicable_max != full:
            scaled_raw = kinds.prorate(base, applicable_max, full)
            base_scaled = rounded(scaled_raw)
        else:
            base_scaled = base
        bonus = sum((rule_scores[r.id][i] or ZERO for r in rubric.rules if r.role == "bonus"), ZERO)
        deduction = sum((rule_scores[r.id][i] or ZERO for r in rubric.rules if r.role == "deduction"), ZERO)
        capped = min(cap, base_scaled + bonus)
        total = kinds.total(base_scaled, bonus, deduction, cap)
        result = UnitResult(unit.name, unit.public_service, rules, sections, base, applicable_max, base_scaled,
                            bonus, deduction, capped, total, adjustment=unit.adjustment,
                            adjustment_reason=unit.adjustment_reason, final=total + unit.adjustment,
                            self_scores=dict(unit.self_scores), why=why[i])
        scaled.append(scaled_raw)
        if not ZERO <= result.final <= full:
            problems.append(Problem(ERROR, unit.name, "adjustment", "综合评定调整分", str(unit.adjustment),
                                    f"调整后最终得分为 {result.final}，应在 0～{full} 之间"))
        problems += _self_comparison(rubric, result, switches)
        result.weighted = {name: kinds.round_half_up(result.final / full * w) for name, w in weights.items()}
        results.append(result)

    ties = rubric.policy(switches.choices, "ties")
    shown = _ranked_value(rubric)
    for result, place in zip(results, kinds.places([shown(r.total) for r in results], ties=ties)):
        result.rank = place
    for result, place in zip(results, kinds.places([shown(r.final) for r in results], ties=ties)):
        result.final_rank = place
    on_rank: dict[int, list[str]] = {}
    on_final_rank: dict[int, list[str]] = {}
    for r in results:
        on_rank.setdefault(r.rank, []).append(r.unit)
        on_final_rank.setdefault(r.final_rank, []).append(r.unit)
    for result, scaled_raw in zip(results, scaled):
        tied = [n for n in on_rank[result.rank] if n != result.unit]
        final_tied = [n for n in on_final_rank[result.final_rank] if n != result.unit]
        result.why_total_text = (lambda r=result, n=len(results), t=tied, raw=scaled_raw, ft=final_tied:
                                 wording.total(r, n, t, raw, ft))
    return Result(rubric, switches.choices, results, problems)


def _ranked_value(rubric: Rubric):
    """What a place is decided on: the total as shown (2 decimals), or exactly as computed; the rubric's
    decision next to the rounding switch (A9: ranking.by)."""
    ranking = getattr(rubric.policy_switch("rounding"), "ranking", None) or {}
    if ranking.get("by", "shown_total") == "shown_total":
        return kinds.round_half_up
    return lambda x: x


def _points_for_nothing(rubric: Rubric, rule: Rule, part: Part, units: Sequence[UnitInput], derived: Sequence,
                        scores: Sequence[Decimal]) -> list[Problem]:
    """A 提示 where a place earns points for a count of 0 (ties among zeros share a better place, or few
    units take part): allowed by the text, but worth a second look."""
    found = []
    keys = part.keys()
    labels = {f.key: f.label for f in rubric.fields}
    for unit, value, score in zip(units, derived, scores):
        amount = sum(value) if isinstance(value, list) else value
        if amount == 0 and score > 0:
            where = keys[0] if len(keys) == 1 else f"{keys[0]}…{keys[-1]}"
            label = labels.get(keys[0], rule.name) if len(keys) == 1 else rule.name
            found.append(Problem(WARNING, unit.name, where, label, "0",
                                 f"数量为 0，却按名次得 {kinds.round_half_up(score)} 分（{rule.id} {rule.name}）",
                                 "请核对是否漏填；细则按名次计分，并列或参加排名的单位少时为 0 也可能得分"))
    return found


@dataclass(frozen=True)
class SelfTotals:
    """The 考评表's self subtotals as its formulas show them: None while `missing` self scores are not filled."""

    base: Decimal | None
    base_scaled: Decimal | None
    total: Decimal | None
    missing: int


def self_totals(rubric: Rubric, switches: Switches, own: Mapping[str, Decimal], assessed: bool) -> SelfTotals:
    """The self total from per-rule self scores (自评得分), summed as the 考评表's formulas sum them: the rules that
    apply to the unit, 折算 where A5 prorates, the bonus capped, the deduction after."""
    full, cap = Decimal(rubric.totals["full"]), Decimal(rubric.totals["cap"])
    a5 = rubric.policy(switches.choices, "group_absent")
    scored = [r for r in rubric.base_rules if not r.applies or assessed or a5 == "full_marks"]
    missing = sum(1 for r in scored if own.get(r.id) is None)
    if missing:
        return SelfTotals(None, None, None, missing)
    base = sum((own[r.id] for r in scored), ZERO)
    scaled = base
    applicable_max = sum((r.points for r in scored), ZERO)
    if a5 == "prorate" and applicable_max != full:
        scaled = kinds.prorate(base, applicable_max, full)
        if rubric.policy(switches.choices, "rounding") == "per_rule":
            scaled = kinds.round_half_up(scaled)
    bonus = sum((own.get(r.id, ZERO) for r in rubric.rules if r.role == "bonus"), ZERO)
    deduction = sum((own.get(r.id, ZERO) for r in rubric.rules if r.role == "deduction"), ZERO)
    return SelfTotals(base, scaled, kinds.total(scaled, bonus, deduction, cap), 0)


def self_total_of(rubric: Rubric, switches: Switches, own: Mapping[str, Decimal], assessed: bool) -> Decimal | None:
    """The self total (None while a rule that applies has no self score)."""
    return self_totals(rubric, switches, own, assessed).total


def _self_comparison(rubric: Rubric, result: UnitResult, switches: Switches) -> list[Problem]:
    """自评 against 复核 (decisions A10): per rule, and in total. The self total is the sum of the unit's own
    items; a typed total that disagrees with them is said, never used silently."""
    own = result.self_scores
    sign = 1 if rubric.policy(switches.choices, "difference") == "self_minus_review" else -1
    review = dict(result.rules)
    review.update({r.id: (result.bonus if r.role == "bonus" else result.deduction)
                   for r in rubric.rules if r.role != "base"})
    for rule_id, self_score in own.items():
        if rule_id != "total" and review.get(rule_id) is not None:
            result.rule_differences[rule_id] = sign * (self_score - review[rule_id])
    problems = []
    typed = own.get("total")
    computed = self_total_of(rubric, switches, own, result.public_service)
    self_total = computed
    if computed is not None and typed is not None and kinds.round_half_up(typed) != kinds.round_half_up(computed):
        problems.append(Problem(WARNING, result.unit, "self_total", "自评总分", str(typed),
                                f"与各条自评得分计算的自评总分 {kinds.round_half_up(computed)} 不一致，按各条自评得分计",
                                "请单位核对自评总分"))
    elif computed is None and typed is not None:
        self_total = typed
        problems.append(Problem(WARNING, result.unit, "self_total", "自评总分", str(typed),
                                "各条自评得分不全，按单位填写的自评总分计（无法核对）", "请单位补全各条自评得分"))
    result.self_total = self_total
    if self_total is not None:
        result.difference = sign * (self_total - result.total)
    return problems
