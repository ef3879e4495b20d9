"""The words of `why`: how each score came about, in Chinese, from the figures the engine scored with.

Nothing here computes a score. The engine records, part by part and unit by unit, the value it scored, the
place or tier it found and the score it gave (engine.PartFigures); this module only puts those figures into
a sentence, driven by the part's kind and parameters, the rubric's field labels and the switches in force.
Every rule's text ends with its score: "…：8 分".
"""
from __future__ import annotations

import functools

from collections.abc import Mapping, Sequence
from decimal import Decimal

from .calculations import kind_of
from .kinds import round_half_up, to_decimal
from .rubric import Part, Rubric, Rule

EXACT_PLACES = 4  # a figure with more decimals than this is shown rounded, marked ≈


@functools.lru_cache(maxsize=8192)  # the same figures recur across thousands of units (10, 0.4, 85%…)
def num(x) -> str:
    """A figure as people write it: 182,340; 4.8; 19.64; ≈8.6667 when it does not end."""
    d = to_decimal(x)
    if d < 0:
        shown = num(-d)
        return "≈−" + shown[1:] if shown.startswith("≈") else "−" + shown
    if d == d.to_integral_value():
        return f"{int(d):,}"
    d = d.normalize()
    if -d.as_tuple().exponent <= EXACT_PLACES:
        return f"{d:,f}"
    return "≈" + f"{round_half_up(d, EXACT_PLACES).normalize():,f}"


MOST_NAMED = 10  # a list of units longer than this is cut: a cell holds 32,767 characters, and nobody reads 1,000 names


def unit_list(units: Sequence[str]) -> str:
    """Units as a text names them: all of a few; of many, the first five and how many there are."""
    if len(units) <= MOST_NAMED:
        return "、".join(units)
    return f"{'、'.join(units[:5])} 等 {len(units):,} 个单位"


def eq(shown: str) -> str:
    """'= 19.64', or '≈ 8.6667' for a figure shown rounded."""
    return f"≈ {shown[1:]}" if shown.startswith("≈") else f"= {shown}"


def pct(rate) -> str:
    """A rate 0…1 as a percentage: 0.018 -> 1.8%."""
    return num(to_decimal(rate) * 100) + "%"


def _common_suffix(texts: Sequence[str]) -> str:
    suffix = texts[0]
    for t in texts[1:]:
        while not t.endswith(suffix):
            suffix = suffix[1:]
    return suffix


def _item_names(labels: Sequence[str]) -> tuple[list[str], str]:
    """('1月', '2月', …), '1～12月入库总量': the short name of each label and a name for all of them."""
    suffix = _common_suffix(labels) if len(labels) > 1 else ""
    heads = [label[:len(label) - len(suffix)] for label in labels]
    if suffix and all(h.isdigit() for h in heads):  # numbered labels keep their counter word: 1月, 2月
        return [h + suffix[0] for h in heads], f"{heads[0]}～{heads[-1]}{suffix}"
    if suffix and all(heads):
        return heads, f"{heads[0]}～{heads[-1]}{suffix}"
    return list(labels), "、".join(labels)


class Wording:
    """Puts one result's figures into words; one per scoring run (the rubric and the switches in force)."""

    def __init__(self, rubric: Rubric, choices: Mapping[str, str]):
        self.rubric = rubric
        self.choices = choices
        self.fields = {f.key: f for f in rubric.fields}

    # ------------------------------------------------------------------------------------------- pieces
    def switch(self, node) -> str:
        """'A3：乘以20（分值）' when a parameter is written {switch: A3}; '' otherwise."""
        if isinstance(node, Mapping) and set(node) == {"switch"}:
            sid = node["switch"]
            option = self.rubric.switches[sid].options[self.choices[sid]]
            return f"{sid}：{option.short}"
        return ""

    def option(self, sid: str) -> str:
        return f"{sid}「{self.rubric.switches[sid].options[self.choices[sid]].short}」"

    def policy(self, name: str) -> str:
        """'A9「逐条舍入」' for the switch that decides one of the engine's policies; '默认口径' when none does."""
        switch = self.rubric.policy_switch(name)
        return self.option(switch.id) if switch else "默认口径"

    def label(self, key: str) -> str:
        return self.fields[key].label

    def shown(self, key: str, value) -> str:
        """A unit's value of a data key, with its unit of measure."""
        f = self.fields[key]
        if f.type == "flag":
            return "是" if value else "否"
        if f.type == "rate":
            return pct(value)
        if f.type == "rates":
            return "、".join(pct(v) for v in value)
        return f"{num(value)} {f.unit}" if f.unit else num(value)

    def _is_rate(self, spec) -> bool:
        if isinstance(spec, str):
            return self.fields[spec].type == "rate"
        return "ratio" in spec or "max" in spec

    def threshold(self, spec, x) -> str:
        return pct(x) if self._is_rate(spec) else num(x)

    def value(self, part: Part, value, values: Mapping[str, object]) -> tuple[str, list[str]]:
        """What was scored, in words, and the switch notes that shaped it."""
        spec = part.value
        if isinstance(spec, str):
            sep = "：" if self.fields[spec].type == "flag" else " "
            return f"{self.label(spec)}{sep}{self.shown(spec, value)}", []
        if "each" in spec:
            keys = spec["each"]
            _, name = _item_names([self.label(k) for k in keys])
            unit = self.fields[keys[0]].unit
            if isinstance(value, (list, tuple)):
                return name, []
            return f"{name}合计 {num(value)}{' ' + unit if unit else ''}", []
        if "ratio" in spec:
            top, bottom = spec["ratio"]
            if to_decimal(values[bottom]) == 0:
                note = self.switch(spec.get("if_zero"))
                return f"{self.label(bottom)}为 0，比率按 {pct(value)} 计", [note] if note else []
            return (f"{self.label(top)} {num(values[top])} ÷ {self.label(bottom)} {num(values[bottom])} "
                    f"{eq(pct(value))}"), []
        if "max" in spec:
            key = spec["max"]
            rates = values[key]
            if len(rates) == 1:
                return f"{self.label(key)} {pct(value)}", []
            return f"{self.label(key)}取最高值 {pct(value)}（{self.shown(key, rates)}）", []
        if "count_yes" in spec:
            yes = [self.label(k) for k in spec["count_yes"] if values[k]]
            return f"{len(yes)} 项为“是”" + (f"（{'；'.join(yes)}）" if yes else ""), []
        raise ValueError(f"无法识别的 value：{spec!r}")

    @staticmethod
    def _notes(notes: Sequence[str]) -> str:
        notes = [n for n in notes if n]
        return f"（{'；'.join(notes)}）" if notes else ""

    # ------------------------------------------------------------------------------------------- parts
    def part(self, rule: Rule, fig, values: Mapping[str, object]) -> str:
        """One part's figures in words, ending with its score: '…：8 分'."""
        part, params = fig.part, fig.params
        desc, notes = self.value(part, fig.value, values)
        notes = [f"按 {self.option(sid)}" for sid in part.when] + notes
        kind = part.kind
        score = num(fig.score)
        if kind_of(kind).ranked:
            return self._ranked(rule, fig, desc, notes)
        if kind == "tier":
            return f"{desc}{self._notes(notes)}，{self._band(part, params, fig)}：{score} 分"
        if kind == "rate":
            notes.append(self.switch(part.params.get("points")))
            rate, points = pct(fig.value), num(params["points"])
            step = f"(1 − {rate})×{points}" if params.get("inverse") else f"{rate}×{points}"
            return f"{desc}{self._notes(notes)}：{step} {eq(score)} 分"
        if kind == "count":
            count, per, cap = to_decimal(fig.value), to_decimal(params["per_item"]), to_decimal(params["cap"])
            if count * per > cap:
                step = f"{num(count)}×{num(per)} {eq(num(count * per))}，最高 {num(cap)} 分：{score} 分"
            else:
                step = f"{num(count)}×{num(per)} {eq(score)} 分"
            return f"{desc}{self._notes(notes)}：{step}"
        if kind == "flag":
            verb = "扣" if rule.role == "deduction" else "得"
            return f"{desc}{self._notes(notes)}，{verb} {score} 分"
        if kind == "manual":  # the value typed is the score: said once
            label = self.label(part.value) if isinstance(part.value, str) else desc
            return (f"{label}{self._notes(notes)}，复核人员评定（{num(params['min'])}～{num(params['max'])} 分）："
                    f"{score} 分")
        raise ValueError(f"未知的计算类型「{kind}」")

    def _peers(self, rule: Rule, count: int) -> str:
        return f"{count} 个参加本项考核的单位中" if rule.applies else f"{count} 个单位中"

    def _ranked(self, rule: Rule, fig, desc: str, notes: list[str]) -> str:
        part, params = fig.part, fig.params
        notes.append(self.switch(part.params.get("combine")))
        order = "（从低到高排名）" if params.get("lowest_first") else ""
        if fig.months:
            names, _ = _item_names([self.label(k) for k in part.value["each"]])
            unit = self.fields[part.value["each"][0]].unit
            months = "、".join(f"{name} {num(v)}{' ' + unit if unit else ''} 第 {place} 名 {num(s)} 分"
                               for name, v, (place, s) in zip(names, fig.value, fig.months))
            scores = " + ".join(num(s) for _, s in fig.months)
            return (f"{desc}逐月排名{order}{self._notes(notes)}：{months}；"
                    f"平均 ({scores})÷{len(fig.months)} {eq(num(fig.score))} 分")
        tie = ""
        if fig.tied:
            how = self.switch(part.params.get("ties"))
            tie = f"（与 {unit_list(fig.tied)} 并列{'，' + how if how else ''}）"
        head = f"{desc}，{self._peers(rule, fig.peers)}第 {fig.place} 名{order}{tie}{self._notes(notes)}"
        score = num(fig.score)
        if part.kind == "place":
            points = params["points"]
            schedule = "、".join(num(p) for p in points)
            if fig.place <= len(points):
                return f"{head}：名次得分依次为 {schedule}，第 {fig.place} 名 {score} 分"
            return f"{head}：名次得分依次为 {schedule}，前 {len(points)} 名以外不得分：{score} 分"
        top, step = to_decimal(params["top"]), to_decimal(params["step"])
        if fig.place == 1:
            return f"{head}：{score} 分"
        behind = fig.place - 1
        raw = top - step * behind
        if raw < fig.score:  # the floor: 扣完为止
            return f"{head}：{num(top)} − {num(step)}×{behind} {eq(num(raw))}，扣完为止：{score} 分"
        return f"{head}：{num(top)} − {num(step)}×{behind} {eq(score)} 分"

    def _band(self, part: Part, params: dict, fig) -> str:
        """'≥80% 且 <100%': the band of the tier reached (fig.tier), with the switch that drew a bound."""
        tiers = params["tiers"]

        def bound(k: int, reached: bool) -> str:
            inclusive = bool(tiers[k].get("inclusive", True))
            sign = ("≥" if inclusive else ">") if reached else ("<" if inclusive else "≤")
            notes.append(self.switch(part.params["tiers"][k].get("inclusive")))  # written {switch: …}?
            return sign + self.threshold(part.value, tiers[k]["at"])

        notes: list[str] = []
        bounds = [] if fig.tier is None else [bound(fig.tier, True)]
        above = (len(tiers) if fig.tier is None else fig.tier) - 1  # the tier just missed
        if above >= 0:
            bounds.append(bound(above, False))
        return " 且 ".join(bounds) + self._notes(sorted(set(notes)))

    # ------------------------------------------------------------------------------------------- rules
    def rule(self, rule: Rule, figures: Sequence, values: Mapping[str, object], raw: Decimal, score: Decimal) -> str:
        """A scored rule: its parts, their sum, the rounding in force (A9)."""
        if not figures:  # every part of the rule is for another option of a switch
            return f"本项在当前设置下没有计分的内容：{num(score)} 分"
        texts = [self.part(rule, fig, values) for fig in figures]
        if len(figures) > 1:
            texts.append(f"合计 {' + '.join(num(f.score) for f in figures)} {eq(num(raw))} 分")
        return "；".join(texts) + self._rounded(raw, score, " 分")

    def _rounded(self, raw: Decimal, kept: Decimal, unit: str) -> str:
        """'，按 A9「逐条舍入」四舍五入为 9.84 分' where the engine rounded what it keeps (A9)."""
        return f"，按 {self.policy('rounding')}四舍五入为 {num(kept)}{unit}" if kept != raw else ""

    def not_applicable(self, rule: Rule, assessed: Sequence[str], a5_option: str, score: Decimal | None,
                       applicable_max: Decimal) -> str:
        """A rule the unit is not assessed on: what the option of A5 in force does with it."""
        who = f"本项只考核 {unit_list(assessed)}，本单位不参加" if assessed else "本项本单位不参加"
        if score is not None:
            return f"{who}；按 {self.policy('group_absent')}：{num(score)} 分"
        full = to_decimal(self.rubric.totals["full"])
        if a5_option == "prorate":
            return (f"{who}，不计分；按 {self.policy('group_absent')}：基础分（适用满分 {num(applicable_max)}）"
                    f"×{num(full)}÷{num(applicable_max)} 折算，见总分说明")
        return f"{who}，不计分；按 {self.policy('group_absent')}：基础分满分 {num(applicable_max)}"

    def total(self, u, count: int, tied: Sequence[str], scaled_raw: Decimal | None, final_tied: Sequence[str]) -> str:
        """How the unit's total, place and final score came about."""
        full = to_decimal(self.rubric.totals["full"])
        cap = to_decimal(self.rubric.totals["cap"])
        parts = [f"基础分（各项得分之和）{num(u.base)}"]
        if u.applicable_max != full:
            parts[0] += f"，适用满分 {num(u.applicable_max)}"
            if scaled_raw is not None:
                parts.append(f"按 {self.policy('group_absent')}：{num(u.base)}×{num(full)}÷{num(u.applicable_max)} "
                             f"{eq(num(scaled_raw))}{self._rounded(scaled_raw, u.base_scaled, '')}")
            else:
                parts[0] += f"（按 {self.policy('group_absent')}）"
        added = u.base_scaled + u.bonus
        text = f"加分 {num(u.bonus)}：{num(u.base_scaled)} + {num(u.bonus)} {eq(num(added))}"
        if u.capped != added:
            text += f"，加分后总分不超过 {num(cap)} 分：{num(u.capped)}"
        parts.append(text)
        text = f"扣分 {num(u.deduction)}：复核总分 {num(u.capped)} − {num(u.deduction)} {eq(num(u.total))}"
        if u.total != u.capped - u.deduction:
            text = f"扣分 {num(u.deduction)}：{num(u.capped)} − {num(u.deduction)}，不低于 0：复核总分 {num(u.total)}"
        parts.append(text)
        parts.append(f"复核总分在 {count} 个单位中第 {u.rank} 名" + self._tied(tied))
        if u.adjustment:
            sign = "+" if u.adjustment > 0 else "−"
            reason = f"（理由：{u.adjustment_reason}）" if u.adjustment_reason else ""
            parts.append(f"综合评定调整 {sign}{num(abs(u.adjustment))}{reason}：最终得分 {num(u.total)} {sign} "
                         f"{num(abs(u.adjustment))} {eq(num(u.final))}，第 {u.final_rank} 名" + self._tied(final_tied))
        else:
            parts.append(f"未作综合评定调整：最终得分 {num(u.final)}")
        shown = round_half_up(u.final)
        if shown != u.final:  # kept unrounded (A9): the report shows two decimals
            parts[-1] += f"，按 {self.policy('rounding')}显示为 {num(shown)}"
        return "；".join(parts)

    def _tied(self, tied: Sequence[str]) -> str:
        switch = self.rubric.policy_switch("ties")
        how = f"，{self.switch({'switch': switch.id})}" if switch else ""
        return f"（与 {unit_list(tied)} 并列{how}）" if tied else ""
