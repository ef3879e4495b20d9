"""Score every unit at once: the rubric's rules over typed unit data, then the totals the decisions page sets.

Pure Python, no Excel: the workbook, the command line and the tests all call `score_units`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from . import kinds
from .calculations import kind_of, tiers
from .inputs import ERROR, WARNING, Problem, UnitInput
from .rubric import Part, Rubric, Rule
from .why import Wording

ZERO = Decimal(0)


@dataclass(slots=True)
class _RuleFigures:
    """What one rule's scoring left for its words, one entry per unit it applies to (not per unit and rule:
    a ranking shown in the terminal never asks for the words, and at thousands of units they cost more than
    the scores)."""

    rule: Rule
    position: Mapping[int, int] | None  # unit index -> its entry; None: the rule applies to every unit
    figures: list[tuple[PartFigures, ...]]
    values: list[Mapping[str, object]]
    raws: list[Decimal]  # the sum of the parts, before rounding
    column: list[Decimal | None]  # every unit's score of the rule
    assessed: list[str]  # the units the rule applies to, for the words of those it does not
    # every part scores one field's value on its own (no place, no other field): units with the same figures
    # get the same words, made once
    shared_words: bool = False


class _Explanations:
    """Every rule's figures, put into words for one unit and rule when first asked for."""

    def __init__(self, wording: Wording, a5: str, outside_max: Decimal):
        self.wording, self.a5, self.outside_max = wording, a5, outside_max
        self.rules: dict[str, _RuleFigures] = {}
        self._made: dict[tuple, str] = {}  # (rule id, the figures' identities) -> words, for shared_words rules

    def text(self, rule_id: str, unit: int) -> str:
        r = self.rules[rule_id]
        at = unit if r.position is None else r.position.get(unit)
        if at is None:
            return self.wording.not_applicable(r.rule, r.assessed, self.a5, r.column[unit], self.outside_max)
        # the raw sum and the score follow from the figures, which units with equal values share (_score_part)
        key = (rule_id, *map(id, r.figures[at])) if r.shared_words else None
        text = self._made.get(key) if key else None
        if text is None:
            text = self.wording.rule(r.rule, r.figures[at], r.values[at], r.raws[at], r.column[unit])
            if key:
                self._made[key] = text
        return text


class Texts(Mapping):
    """rule id -> how one unit's score of the rule came about, worded when first asked for."""

    def __init__(self, source: _Explanations, unit: int):
        self._source, self._unit = source, unit
        self._made: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        text = self._made.get(key)
        if text is None:
            if key not in self._source.rules:
                raise KeyError(key)
            text = self._made[key] = self._source.text(key, self._unit)
        return text

    def __iter__(self):
        return iter(self._source.rules)

    def __len__(self) -> int:
        return len(self._source.rules)

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
    """What scoring one part for one unit used, recorded as the engine scores it (the words of `why`); never
    changed once made, so units with the same value of a part share one (slots: thousands are made per run)."""

    part: Part
    params: dict  # every switch resolved
    value: object  # the value scored; for ranked kinds the value ranked (e.g. the sum of the months)
    score: Decimal
    place: int | None = None
    peers: int = 0  # units ranked together
    tier: int | None = None  # the index of the tier reached; None: none reached (otherwise)
    months: tuple[tuple[int, Decimal], ...] = ()  # ranked month by month: (place, score) of every month
    unit: str = ""  # ranked kinds: the unit these figures are of
    on_place: Sequence[str] = ()  # ranked kinds: every unit on this place, the unit itself included (shared)

    @property
    def tied(self) -> tuple[str, ...]:
        """The other units on the same place (worked out when asked: a list per unit would grow with the
        square of the units when many tie)."""
        return tuple(n for n in self.on_place if n != self.unit)


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


def _score_rank_part(part: Part, params: dict, derived: Sequence, names: Sequence[str]) -> list[PartFigures]:
    """Rank and place kinds: every unit's place among the units the rule applies to."""
    lowest_first = bool(params.get("lowest_first", False))
    ties = params.get("ties", "competition")
    peers = len(derived)
    if derived and isinstance(derived[0], list):
        if params.get("combine", "annual_total") == "monthly_average":
            months = len(derived[0])
            per_unit: list[list[tuple[int, Decimal]]] = [[] for _ in derived]
            for m in range(months):
                month_places = kinds.places([d[m] for d in derived], lowest_first=lowest_first, ties=ties)
                for i, place in enumerate(month_places):
                    per_unit[i].append((place, score_given(part, place, params)))
            return [PartFigures(part, params, d, sum((s for _, s in mp), ZERO) / months, peers=peers,
                                months=tuple(mp)) for d, mp in zip(derived, per_unit)]
        derived = [sum((Decimal(x) for x in d), ZERO) for d in derived]
    unit_places = kinds.places(derived, lowest_first=lowest_first, ties=ties)
    by_place: dict[int, Decimal] = {}  # tied units share a place and its score
    on_place: dict[int, list[str]] = {}
    for place, name in zip(unit_places, names):
        if place not in by_place:
            by_place[place] = score_given(part, place, params)
            on_place[place] = []
        on_place[place].append(name)
    return [PartFigures(part, params, d, by_place[place], place=place, peers=peers, unit=name,
                        on_place=on_place[place]) for d, place, name in zip(derived, unit_places, names)]


def _score_part(part: Part, params: dict, derived: Sequence, names: Sequence[str]) -> list[PartFigures]:
    """Every unit's figures for one part: the value, the place or tier, the score."""
    if kind_of(part.kind).ranked:
        return _score_rank_part(part, params, derived, names)
    score = kind_of(part.kind).score
    part_tiers = tiers(params) if part.kind == "tier" else None
    # units share values (a flag, a small count): each distinct one is scored once, and its figures shared.
    # A Decimal is told apart by its text, so 0.85 and 0.850 (equal) each keep the figures of what was typed.
    memo: dict = {}
    out = []
    for d in derived:
        key = str(d) if type(d) is Decimal else (type(d), d)
        found = memo.get(key)
        if found is None:
            tier = kinds.tier_reached(d, part_tiers) if part_tiers is not None else None
            found = memo[key] = PartFigures(part, params, d, score(d, params), tier=tier)
        out.append(found)
    return out


def score_units(rubric: Rubric, units: Sequence[UnitInput], choices: Mapping[str, str] | None = None,
                weights: Mapping[str, Decimal] | None = None) -> Result:
    """Score all units. The inputs must be valid (inputs.parse_units reported no error)."""
    switches = Switches(rubric, choices)
    per_rule_rounding = rubric.policy(switches.choices, "rounding") == "per_rule"
    a5 = rubric.policy(switches.choices, "group_absent")

    round_memo: dict[Decimal, Decimal] = {}  # units share scores: each distinct one is rounded once

    def rounded(x: Decimal) -> Decimal:
        if not per_rule_rounding:
            return x
        found = round_memo.get(x)  # equal values round to the same two-decimal Decimal
        if found is None:
            found = round_memo[x] = kinds.round_half_up(x)
        return found

    everyone = range(len(units))
    assessed_units = [i for i in everyone if units[i].public_service]
    in_group = {unit: at for at, unit in enumerate(assessed_units)}
    outside = [i for i in everyone if not units[i].public_service]
    names = [u.name for u in units]
    rule_scores: dict[str, list[Decimal | None]] = {}
    problems: list[Problem] = []
    # the full marks of the base rules a unit outside the group is assessed on (the same for all of them)
    outside_max = sum((r.points for r in rubric.base_rules if not r.applies), ZERO)
    wording = Wording(rubric, switches.choices)
    explanations = _Explanations(wording, a5, outside_max)
    for rule in rubric.rules:
        applicable = assessed_units if rule.applies else everyone
        values = [units[i].values for i in applicable]
        per_part: list[list[PartFigures]] = []
        shared_words = True
        for part in rule.parts:
            if not switches.active(part):
                continue
            shared_words = shared_words and isinstance(part.value, str) and not kind_of(part.kind).ranked
            params = switches.resolve(part.params)
            spec = part.value
            derived = ([v[spec] for v in values] if isinstance(spec, str)
                       else [_derive(spec, v, switches) for v in values])
            part_figures = _score_part(part, params, derived, [names[i] for i in applicable])
            if kind_of(part.kind).ranked:
                problems += _points_for_nothing(rubric, rule, part, [units[i] for i in applicable], derived,
                                                [fig.score for fig in part_figures])
            per_part.append(part_figures)
        # each unit's figures, in the order of the parts, and their sum
        per_unit = list(zip(*per_part)) if per_part else [()] * len(applicable)
        if len(per_part) == 1:  # the same sum, without a generator per unit
            raws = [ZERO + fig.score for fig in per_part[0]]
        else:
            raws = [sum((fig.score for fig in figs), ZERO) for figs in per_unit]
        column: list[Decimal | None] = [None] * len(units)
        for i, raw in zip(applicable, raws):
            column[i] = rounded(raw)
        if rule.applies and a5 == "full_marks":
            for i in outside:
                column[i] = rule.points
        rule_scores[rule.id] = column
        explanations.rules[rule.id] = _RuleFigures(
            rule, in_group if rule.applies else None, per_unit, values, raws, column,
            [names[j] for j in applicable] if rule.applies else [], shared_words)
    why = [Texts(explanations, i) for i in everyone]

    totals = rubric.totals
    full, cap = Decimal(totals["full"]), Decimal(totals["cap"])
    weights = weights if weights is not None else {w.name: w.weight for w in rubric.weights}
    base_columns = [(r.id, rule_scores[r.id]) for r in rubric.base_rules]
    item_rules = [(item.number, [r.id for ind in item.indicators for r in ind.rules])
                  for item in rubric.items if item.role == "base"]
    bonus_columns = [rule_scores[r.id] for r in rubric.rules if r.role == "bonus"]
    deduction_columns = [rule_scores[r.id] for r in rubric.rules if r.role == "deduction"]
    self_plan = _self_plan(rubric, switches)
    results: list[UnitResult] = []
    scaled: list[Decimal | None] = []  # the 折算 before rounding, for `why`
    for i, unit in enumerate(units):
        rules = {rule_id: column[i] for rule_id, column in base_columns}
        sections = {number: sum([rules[rule_id] or ZERO for rule_id in ids], ZERO) for number, ids in item_rules}
        base = sum(sections.values(), ZERO)
        applicable_max = sum([r.points for r in rubric.base_rules if rules[r.id] is not None], ZERO)
        scaled_raw = None
        if a5 == "prorate" and applicable_max != full:
            scaled_raw = kinds.prorate(base, applicable_max, full)
            base_scaled = rounded(scaled_raw)
        else:
            base_scaled = base
        bonus = sum([column[i] or ZERO for column in bonus_columns], ZERO)
        deduction = sum([column[i] or ZERO for column in deduction_columns], ZERO)
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
        if result.self_scores:  # with none typed there is nothing to compare (a self total needs every rule's)
            problems += _self_comparison(rubric, result, switches, self_plan)
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
        # the others on the unit's place are listed when the words are made (per unit up front, many units
        # tied would cost the square of their number)
        result.why_total_text = (lambda r=result, n=len(results), raw=scaled_raw:
                                 wording.total(r, n, _others(on_rank[r.rank], r.unit), raw,
                                               _others(on_final_rank[r.final_rank], r.unit)))
    return Result(rubric, switches.choices, results, problems)


def _others(names: Sequence[str], unit: str) -> list[str]:
    return [n for n in names if n != unit]


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


@dataclass(frozen=True)
class _SelfPlan:
    """What summing self scores and comparing them with the review needs of the rubric and the switches, worked
    out once for all units."""

    scored: dict[bool, tuple[str, ...]]  # assessed on the group's rules or not -> the base rules summed
    applicable_max: dict[bool, Decimal]
    prorate: bool
    per_rule: bool
    full: Decimal
    cap: Decimal
    bonus: tuple[str, ...]
    deduction: tuple[str, ...]
    sign: int  # difference = sign × (self − review), decisions A10


def _self_plan(rubric: Rubric, switches: Switches) -> _SelfPlan:
    a5 = rubric.policy(switches.choices, "group_absent")
    scored = {assessed: tuple(r.id for r in rubric.base_rules if not r.applies or assessed or a5 == "full_marks")
              for assessed in (False, True)}
    points = {r.id: r.points for r in rubric.rules}
    return _SelfPlan(scored, {k: sum((points[i] for i in ids), ZERO) for k, ids in scored.items()},
                     a5 == "prorate", rubric.policy(switches.choices, "rounding") == "per_rule",
                     Decimal(rubric.totals["full"]), Decimal(rubric.totals["cap"]),
                     tuple(r.id for r in rubric.rules if r.role == "bonus"),
                     tuple(r.id for r in rubric.rules if r.role == "deduction"),
                     1 if rubric.policy(switches.choices, "difference") == "self_minus_review" else -1)


def self_totals(rubric: Rubric, switches: Switches, own: Mapping[str, Decimal], assessed: bool,
                plan: _SelfPlan | None = None) -> SelfTotals:
    """The self total from per-rule self scores (自评得分), summed as the 考评表's formulas sum them: the rules that
    apply to the unit, 折算 where A5 prorates, the bonus capped, the deduction after."""
    plan = plan or _self_plan(rubric, switches)
    scored = plan.scored[bool(assessed)]
    missing = sum(1 for rule_id in scored if own.get(rule_id) is None)
    if missing:
        return SelfTotals(None, None, None, missing)
    base = sum((own[rule_id] for rule_id in scored), ZERO)
    scaled = base
    applicable_max = plan.applicable_max[bool(assessed)]
    if plan.prorate and applicable_max != plan.full:
        scaled = kinds.prorate(base, applicable_max, plan.full)
        if plan.per_rule:
            scaled = kinds.round_half_up(scaled)
    bonus = sum((own.get(rule_id, ZERO) for rule_id in plan.bonus), ZERO)
    deduction = sum((own.get(rule_id, ZERO) for rule_id in plan.deduction), ZERO)
    return SelfTotals(base, scaled, kinds.total(scaled, bonus, deduction, plan.cap), 0)


def self_total_of(rubric: Rubric, switches: Switches, own: Mapping[str, Decimal], assessed: bool) -> Decimal | None:
    """The self total (None while a rule that applies has no self score)."""
    return self_totals(rubric, switches, own, assessed).total


def _self_comparison(rubric: Rubric, result: UnitResult, switches: Switches, plan: _SelfPlan) -> list[Problem]:
    """自评 against 复核 (decisions A10): per rule, and in total. The self total is the sum of the unit's own
    items; a typed total that disagrees with them is said, never used silently."""
    own = result.self_scores
    sign = plan.sign
    review = dict(result.rules)
    review.update((rule_id, result.bonus) for rule_id in plan.bonus)
    review.update((rule_id, result.deduction) for rule_id in plan.deduction)
    for rule_id, self_score in own.items():
        if rule_id != "total" and review.get(rule_id) is not None:
            result.rule_differences[rule_id] = sign * (self_score - review[rule_id])
    problems = []
    typed = own.get("total")
    computed = self_totals(rubric, switches, own, result.public_service, plan).total
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
