"""Where everything is in the template workbook: the one place the generator, the reader and the writer share.

A Layout is computed from the rubric and the unit list; nothing here touches a file. Rows and columns are
1-based numbers as in Excel. The formula builders return the text of the formulas the template carries, for
the switch choices in force (recompute rewrites them when 设置 changes a switch).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from openpyxl.utils import get_column_letter as col_letter

from .. import __version__
from ..calculations import kind_of
from ..engine import Switches
from ..rubric import Evidence, Field, Rubric, Rule

TEMPLATE_ID = "hscredit-xl-template"
HANDOUT_ID = "hscredit-xl-handout"  # a unit's 填报版: that unit alone, native formulas only
LAYOUT_VERSION = "2"
# layout 1: the master had one 考评表-<unit> sheet per unit, the self scores typed there (read from a unit's old
# full template by merge; an old master is refused with what to do). A 填报版's layout did not change.
PER_UNIT_FORM_LAYOUTS = ("1",)
HANDOUT_LAYOUTS = ("1", LAYOUT_VERSION)

GUIDE, SETTINGS, DATA, CONCEALMENT, SCORES, SUMMARY, CHECK = (
    "说明", "设置", "数据录入", "瞒报率明细", "计分", "汇总", "校验结果")
HANDOUT_GUIDE, SUBMISSION, EVIDENCE, RETURNS = "填报说明", "报送信息", "佐证资料", "报送情况"
RESULT = "考核评价结果"
FORM_PREFIX = "考评表-"  # a 填报版's 考评表, each exported 考评表 (and the master's of layout 1): 考评表-<unit>
SELF_SCORES, FORM, REVIEW = "自评得分", "考评表", "复核明细"  # the master: self scores, one picked form, review rows

FIRST_ROW = 5  # first unit row on 数据录入, 计分, 汇总, 设置 (headers above)
CONCEALMENT_ROWS = 200  # input rows on 瞒报率明细 per template (units × departments spot-checked)
HANDOUT_CONCEALMENT_ROWS = 60  # a 填报版: one unit's departments
_BAD_SHEET_CHARS = re.compile(r"[:\\/?*\[\]]")

# 说明 sheet: machine-readable identity of the template (checked by recompute and merge); a 填报版 carries the
# same cells on 填报说明, plus its unit and the switch choices its formulas were written for
GUIDE_ID_CELLS = {"template": "H1", "rubric": "H2", "layout": "H3", "tool": "H4"}
HANDOUT_ID_CELLS = {"unit": "H5", "group": "H6", "choices": "H7"}
# the rubric file the workbook was made with (both the master and a 填报版; see rubricof.py): the SHA-256 of its
# bytes and its path (absolute; a rubric shipped with the tool: its place in the package)
RUBRIC_ID_CELLS = {"sha256": "H8", "path": "H9"}

# 填报版 数据录入: one row per data key (the unit's values in one column), below the unit's name
HANDOUT_DATA_COLUMNS = {"rule": 1, "label": 2, "value": 3, "key": 4}
HANDOUT_UNIT_CELL = (2, 3)  # C2: the unit's name (B2 says 填报单位)
# 佐证资料 (填报版: no unit column; master: the unit first) and 报送信息 (labels in A, values in B)
EVIDENCE_EXTRA_ROWS = 10  # free rows below the rubric's items, for further evidence a unit wants to list
SUBMISSION_FIRST_ROW = 3
SUBMISSION_LABELS = {"unit": "填报单位", "person": "填报人", "phone": "联系电话", "date": "填报日期"}
EVIDENCE_HEADERS = {"unit": "单位", "rule": "规则", "requirement": "佐证要求",
                    "files": "文件名（多个文件用“；”分隔）", "note": "说明"}

# Fixed columns and header rows (1-based). HEADER_ROW is the column-header row of 设置's unit table, 数据录入
# (the data keys), 瞒报率明细, 计分 and 汇总.
HEADER_ROW = FIRST_ROW - 1
SETTINGS_COLUMNS = {"unit": 1, "group": 2}  # 设置 unit table: name, in the rubric's group of units (是/否)
SWITCH_COLUMNS = {"id": 1, "title": 2, "choice": 3, "options": 4, "quote": 5, "reason": 6, "note": 7}
WEIGHT_COLUMNS = {"name": 1, "weight": 2}  # 设置 weight table (rows: Layout.weight_rows)
DATA_RULE_ROW, DATA_HEADER_ROW, DATA_KEY_ROW = 2, 3, HEADER_ROW  # 数据录入: rule id, Chinese header, data key
CONCEALMENT_COLUMNS = {"unit": 1, "department": 2, "rate": 3}  # 瞒报率明细
FORM_HEADER_ROW = 3  # 考评表: rows 1 title, 2 填报单位, 3 column headers, then Layout.form_rows
FORM_COLUMNS = {"number": 1, "item": 2, "indicator": 3, "points": 4, "content": 5, "scoring": 6, "method": 7,
                "self": 8, "review": 9}
# right of 复核得分, beside the official table: the master's 计分依据 (how each review score came about, written
# by recompute in one block with the scores); a 填报版's scores from the unit's own data (按填报数据测算)
FORM_EXTRA_COLUMN = FORM_COLUMNS["review"] + 1
RANKED_BY_CITY = "由市信用办排名复核"  # a 填报版's reference score of a rule ranked among the units
NOT_ASSESSED = "不参加考核"
# the master's one 考评表: the unit is picked in FORM_PICKER_CELL (a list of 设置's units); FORM_INDEX_CELL (beside
# the printed table) finds its row on 自评得分 and 复核明细, which every looked-up cell reads
FORM_PICKER_CELL = (2, 3)  # C2, merged over C2:E2
FORM_INDEX_CELL = (2, FORM_EXTRA_COLUMN + 2)  # L2
CHECK_STATUS_CELL = "A2"  # 校验结果: 「尚未重算」 until recompute writes its status
CHECK_HEADER_ROW = 3  # 校验结果: problems from row 4 down
CHECK_COLUMNS = {"level": 1, "unit": 2, "field": 3, "label": 4, "value": 5, "message": 6}


def form_sheet_name(unit: str) -> str:
    """考评表-<unit>, within Excel's 31-character limit and without the characters a sheet name may not hold."""
    return (FORM_PREFIX + _BAD_SHEET_CHARS.sub("_", unit))[:31]


def ref(sheet: str, row: int, col: int, absolute: bool = False) -> str:
    d = "$" if absolute else ""
    return f"'{sheet}'!{d}{col_letter(col)}{d}{row}"


def cell(row: int, col: int, absolute: bool = False) -> str:
    d = "$" if absolute else ""
    return f"{d}{col_letter(col)}{d}{row}"


@dataclass(frozen=True)
class DataColumn:
    key: str
    col: int
    label: str
    kind: str  # field type, or 'adjustment', 'reason'
    field: Field | None = None


@dataclass
class Layout:
    rubric: Rubric
    units: list[str]
    public_service: list[bool]

    # 设置
    settings_units_header: int = 4
    settings_switch_header: int = 0
    switch_rows: dict[str, int] = field(default_factory=dict)
    settings_weight_header: int = 0
    weight_rows: dict[str, int] = field(default_factory=dict)
    # 数据录入
    data_columns: list[DataColumn] = field(default_factory=list)
    derived_columns: dict[str, int] = field(default_factory=dict)
    # 计分
    score_columns: dict[str, int] = field(default_factory=dict)
    score_signature_cell: str = "A3"
    # 汇总
    summary_columns: dict[str, int] = field(default_factory=dict)
    summary_stamp_cell: str = "B2"  # not in A, which repeats (and is cut) on 汇总's second printed page
    legacy_stamp_cell: str = "A2"  # where workbooks of earlier versions carry it
    # 考评表
    form_rows: dict[str, int] = field(default_factory=dict)
    form_total_rows: dict[str, int] = field(default_factory=dict)
    # 自评得分 (one row per unit: a column per rule, then the self subtotals and total) and 复核明细 (one row per
    # unit: 复核得分 per rule and the totals, then 计分依据 per rule and of the total)
    self_columns: dict[str, int] = field(default_factory=dict)
    review_columns: dict[str, int] = field(default_factory=dict)
    # a unit's 填报版: one unit, 数据录入 one row per data key (data_rows), no city columns
    handout: bool = False
    data_rows: dict[str, int] = field(default_factory=dict)
    # a master of layout 1 (one 考评表-<unit> per unit, self scores typed there): read by merge, never written
    per_unit_forms: bool = False

    @classmethod
    def build(cls, rubric: Rubric, units: list[str] | None = None,
              public_service: list[bool] | None = None, *, handout: bool = False,
              per_unit_forms: bool = False) -> Layout:
        if units is None:
            units = [u.name for u in rubric.units]
            public_service = [u.public_service for u in rubric.units]
        lay = cls(rubric, list(units), list(public_service or [False] * len(units)), handout=handout,
                  per_unit_forms=per_unit_forms or handout)
        if handout and len(units) != 1:
            raise ValueError("填报版只含一个单位")
        n = len(units)
        lay.settings_switch_header = FIRST_ROW + n + 2
        lay.switch_rows = {sid: lay.settings_switch_header + 1 + i for i, sid in enumerate(rubric.switches)}
        lay.settings_weight_header = lay.settings_switch_header + len(rubric.switches) + 3
        lay.weight_rows = {w.name: lay.settings_weight_header + 1 + i for i, w in enumerate(rubric.weights)}

        col = 2
        for f in rubric.fields:
            if f.key == "unit" or f.type == "rates":
                continue
            lay.data_columns.append(DataColumn(f.key, col, f.label, f.type, f))
            col += 1
        if not handout:  # 综合评定 is the city's: a unit's 填报版 has no place for it
            lay.data_columns.append(DataColumn("adjustment", col, "综合评定调整分", "adjustment"))
            lay.data_columns.append(DataColumn("adjustment_reason", col + 1, "调整理由", "reason"))
            col += 2
        for d in rubric.derived:
            lay.derived_columns[d.key] = col
            col += 1
        if handout:
            keys = [c.key for c in lay.data_columns] + list(lay.derived_columns)
            lay.data_rows = {key: FIRST_ROW + k for k, key in enumerate(keys)}

        for i, rule in enumerate(rubric.rules):
            lay.score_columns[rule.id] = 2 + i
        lay.score_columns["applicable_max"] = 2 + len(rubric.rules)
        lay.score_columns["live_total"] = 3 + len(rubric.rules)

        col = 2
        for rule in rubric.base_rules:
            lay.summary_columns[rule.id] = col
            col += 1
        for key in [f"section_{item.number}" for item in rubric.items if item.role == "base"] + [
                "base", "applicable_max", "base_scaled", "bonus", "capped", "deduction", "total", "rank",
                "self_total", "difference", "adjustment", "adjustment_reason", "final", "final_rank"]:
            lay.summary_columns[key] = col
            col += 1
        for w in rubric.weights:
            lay.summary_columns["weight:" + w.name] = col
            col += 1

        row = 4
        for rule in rubric.rules:
            lay.form_rows[rule.id] = row
            row += 1
        for key in ("base", "base_scaled", "total"):
            lay.form_total_rows[key] = row
            row += 1

        keys = [r.id for r in rubric.rules] + ["base", "base_scaled", "total"]
        lay.self_columns = {key: 2 + n for n, key in enumerate(keys)}
        keys = ([f"score:{r.id}" for r in rubric.rules] + ["base", "base_scaled", "total"]
                + [f"why:{r.id}" for r in rubric.rules] + ["why_total"])
        lay.review_columns = {key: 2 + n for n, key in enumerate(keys)}
        return lay

    # ----------------------------------------------------------------------------------------------- helpers
    @property
    def last_row(self) -> int:
        return FIRST_ROW + len(self.units) - 1

    def unit_row(self, index: int) -> int:
        return FIRST_ROW + index

    def data_cell(self, index: int, key: str) -> tuple[int, int]:
        """(row, col) of a unit's value of a data key (or a derived key) on 数据录入."""
        if self.handout:
            return self.data_rows[key], HANDOUT_DATA_COLUMNS["value"]
        col = self.derived_columns[key] if key in self.derived_columns else self.data_column(key).col
        return self.unit_row(index), col

    def data_key_cell(self, key: str) -> tuple[int, int]:
        """(row, col) of the cell on 数据录入 that names a data key (the reader checks the sheet by it)."""
        if self.handout:
            return self.data_rows[key], HANDOUT_DATA_COLUMNS["key"]
        col = self.derived_columns[key] if key in self.derived_columns else self.data_column(key).col
        return DATA_KEY_ROW, col

    def unit_name_cell(self, index: int) -> tuple[int, int]:
        """(row, col) of the unit's name on 数据录入."""
        return HANDOUT_UNIT_CELL if self.handout else (self.unit_row(index), 1)

    def data_column(self, key: str) -> DataColumn:
        for c in self.data_columns:
            if c.key == key:
                return c
        raise KeyError(key)

    def column_range(self, sheet: str, col: int) -> str:
        return f"'{sheet}'!${col_letter(col)}${FIRST_ROW}:${col_letter(col)}${self.last_row}"

    def data_range(self, key: str) -> str:
        col = self.derived_columns[key] if key in self.derived_columns else self.data_column(key).col
        return self.column_range(DATA, col)

    @property
    def concealment_last_row(self) -> int:
        if self.handout:
            return FIRST_ROW + HANDOUT_CONCEALMENT_ROWS - 1
        return FIRST_ROW + max(CONCEALMENT_ROWS, 3 * len(self.units)) - 1

    def identity(self) -> dict[str, str]:
        return {"template": HANDOUT_ID if self.handout else TEMPLATE_ID,
                "rubric": f"{self.rubric.document['number']}|{self.rubric.version}",
                "layout": LAYOUT_VERSION, "tool": __version__}

    def evidence_columns(self) -> dict[str, int]:
        """佐证资料's columns: the master's start with the unit; a 填报版 is one unit's and has none."""
        keys = [k for k in EVIDENCE_HEADERS if not (self.handout and k == "unit")]
        return {k: n for n, k in enumerate(keys, start=1)}

    def evidence_items(self, choices: dict[str, str]) -> list[tuple[Rule, Evidence]]:
        """The evidence the units are asked for, under the switch options in force (A7 moves one item)."""
        return [(rule, ev) for rule in self.rubric.rules for ev in rule.evidence
                if all(choices.get(sid) == option for sid, option in ev.when.items())]

    def submission_rows(self) -> dict[str, tuple[int, str]]:
        """报送信息 (a 填报版): key -> (row, label); the documents are named by file."""
        labels = dict(SUBMISSION_LABELS)
        for doc in self.rubric.submission.documents if self.rubric.submission else ():
            labels["doc:" + doc.key] = f"{doc.label}（文件名）"
        return {key: (SUBMISSION_FIRST_ROW + n, label) for n, (key, label) in enumerate(labels.items())}

    def returns_columns(self) -> dict[str, tuple[int, str]]:
        """报送情况 (the master): key -> (column, header). The facts merge brings, then what follows from them."""
        headers = {"unit": "单位", "received": "是否收到", "submitted_on": "填报日期", "received_on": "收到日期",
                   "on_time": "按时/逾期", "person": "填报人", "phone": "联系电话", "self_total": "自评总分（按各条）",
                   "self_total_typed": "自评总分（单位填写）", "evidence_listed": "已列佐证资料的规则",
                   "evidence_missing": "声明得分但未列佐证资料的规则"}
        for doc in self.rubric.submission.documents if self.rubric.submission else ():
            headers["doc:" + doc.key] = doc.label
        headers["source"] = "来源文件"
        return {key: (n, text) for n, (key, text) in enumerate(headers.items(), start=1)}

    def result_columns(self) -> dict[str, tuple[int, str]]:
        """考核评价结果: key -> (column, header); the keys are 汇总's (the same numbers, one page)."""
        headers = {"final_rank": "名次", "unit": "单位", "base_scaled": "基础分（折算后）", "bonus": "加分",
                   "deduction": "扣分", "total": "复核得分", "adjustment": "综合评定调整",
                   "adjustment_reason": "调整理由", "final": "最终得分"}
        for w in self.rubric.weights:
            headers["weight:" + w.name] = f"{w.name}贡献分（权重见设置）"
        return {key: (n, text) for n, (key, text) in enumerate(headers.items(), start=1)}

    @property
    def result_sign_rows(self) -> tuple[int, int]:
        """考核评价结果: the issuer's row and the date's row, below the units (a blank row between)."""
        return self.last_row + 3, self.last_row + 4

    @property
    def evidence_last_row(self) -> int:
        """The last input row of 佐证资料: every unit's items and free rows (one unit's in a 填报版)."""
        per_unit = sum(len(r.evidence) for r in self.rubric.rules) + EVIDENCE_EXTRA_ROWS
        return FIRST_ROW + max(per_unit * len(self.units), 0 if self.handout else CONCEALMENT_ROWS) - 1

    # 考评表: below the total rows, a note row (decisions A3, A7) and the row recompute stamps
    @property
    def form_note_row(self) -> int:
        return max(self.form_total_rows.values()) + 1

    @property
    def form_stamp_row(self) -> int:
        return self.form_note_row + 1

    @property
    def form_stamp_cell(self) -> str:
        return cell(self.form_stamp_row, FORM_COLUMNS["number"])

    def form_self_cell(self, rule_id: str) -> str:
        """考评表 cell of a rule's 自评得分 (typed by the unit in a 填报版); rule_id may also be 'total'."""
        row = self.form_total_rows["total"] if rule_id == "total" else self.form_rows[rule_id]
        return cell(row, FORM_COLUMNS["self"])

    def self_cell(self, index: int, rule_id: str) -> tuple[str, int, int]:
        """(sheet, row, col) where unit `index`'s self score of a rule is typed: its row on 自评得分, or its
        考评表 (a 填报版, a master of layout 1)."""
        if self.per_unit_forms:
            return form_sheet_name(self.units[index]), self.form_rows[rule_id], FORM_COLUMNS["self"]
        return SELF_SCORES, self.unit_row(index), self.self_columns[rule_id]

    def form_review_cell(self, key: str) -> str:
        """考评表 cell of 复核得分 that recompute writes: a rule id, or base / base_scaled / total."""
        row = self.form_total_rows[key] if key in self.form_total_rows else self.form_rows[key]
        return cell(row, FORM_COLUMNS["review"])

    # ------------------------------------------------------------------------------------- native formulas
    def derived_formulas(self, row: int, choices: dict[str, str]) -> dict[str, str]:
        """数据录入's locked helper cells: what the rules read, shown beside what was typed.

        `row` is the unit's row on the master; a 填报版 (one unit, one row per key) ignores it. A 填报版 holds
        only formulas Excel 2010, WPS and LibreOffice all compute (no MAXIFS: its detail rows are its own).
        """
        index = row - FIRST_ROW if not self.handout else 0

        def at(key: str) -> str:
            return cell(*self.data_cell(index, key))

        switches = Switches(self.rubric, choices)
        out = {}
        for d in self.rubric.derived:
            spec = d.value
            if "each" in spec:
                coords = [self.data_cell(index, k) for k in spec["each"]]
                (r0, c0), (r1, c1) = coords[0], coords[-1]
                in_line = all(rc in ((r0 + n, c0), (r0, c0 + n)) for n, rc in enumerate(coords))
                cells = f"{cell(r0, c0)}:{cell(r1, c1)}" if in_line else ",".join(cell(*rc) for rc in coords)
                out[d.key] = f'=IF(COUNT({cells})=0,"",SUM({cells}))'
            elif "ratio" in spec:
                numerator, denominator = (at(k) for k in spec["ratio"])
                zero_value = _num(switches.resolve(spec.get("if_zero", 0)))
                out[d.key] = (f'=IF({denominator}="","",IF({denominator}=0,{zero_value},'
                              f'{numerator}/{denominator}))')
            else:  # the highest of the rates typed on the detail sheet
                last = self.concealment_last_row
                rates = f"'{CONCEALMENT}'!$C${FIRST_ROW}:$C${last}"
                if self.handout:
                    out[d.key] = f'=IF(COUNT({rates})=0,"",MAX({rates}))'
                else:
                    out[d.key] = (f"=IF(COUNTIF('{CONCEALMENT}'!$A${FIRST_ROW}:$A${last},$A{row})=0,\"\","
                                  f"_xlfn.MAXIFS({rates},'{CONCEALMENT}'!$A${FIRST_ROW}:$A${last},$A{row}))")
        return out

    def summary_formulas(self, row: int, choices: dict[str, str]) -> dict[str, str]:
        """汇总's native formulas over the rule scores recompute writes, for the switch choices in force."""
        c = {k: col_letter(v) for k, v in self.summary_columns.items()}
        r = row
        first, last = FIRST_ROW, self.last_row
        per_rule = self.rubric.policy(choices, "rounding") == "per_rule"

        def rnd(expr: str) -> str:
            return f"ROUND({expr},2)" if per_rule else expr

        # before the first recompute no rule score is written: every cell stays blank (not 0.00 and 名次 1)
        out: dict[str, str] = {}
        for item in self.rubric.items:
            if item.role != "base":
                continue
            cols = [c[rule.id] for ind in item.indicators for rule in ind.rules]
            block = f"{cols[0]}{r}:{cols[-1]}{r}"
            out[f"section_{item.number}"] = f'=IF(COUNT({block})=0,"",SUM({block}))'
        sections = ",".join(f"{c[f'section_{item.number}']}{r}" for item in self.rubric.items if item.role == "base")
        out["base"] = f'=IF(COUNT({sections})=0,"",SUM({sections}))'
        points = {rule.id: rule.points for rule in self.rubric.base_rules}
        optional = [rid for rid in points if self.rubric.rule(rid).applies]
        full = Decimal(self.rubric.totals["full"])
        base_ref = f"{c['base']}{r}"
        max_ref = f"{c['applicable_max']}{r}"
        minus = "".join(f"-IF(ISNUMBER({c[rid]}{r}),0,{points[rid]})" for rid in optional)
        out["applicable_max"] = f'=IF({base_ref}="","",{_num(sum(points.values()))}{minus})'
        if self.rubric.policy(choices, "group_absent") == "prorate":
            scaled = rnd(f"{base_ref}*{_num(full)}/{max_ref}")
            out["base_scaled"] = f'=IF({base_ref}="","",IF({max_ref}={_num(full)},{base_ref},{scaled}))'
        else:
            out["base_scaled"] = f'=IF({base_ref}="","",{base_ref})'
        cap, floor = _num(self.rubric.totals["cap"]), _num(self.rubric.totals["floor"])
        scaled_ref, capped_ref, total_ref = (f"{c[k]}{r}" for k in ("base_scaled", "capped", "total"))
        out["capped"] = f'=IF({scaled_ref}="","",MIN({cap},{scaled_ref}+N({c["bonus"]}{r})))'
        out["total"] = f'=IF({capped_ref}="","",MAX({floor},{capped_ref}-N({c["deduction"]}{r})))'
        ties = self.rubric.policy(choices, "ties")
        out["rank"] = _rank_formula(c["total"], r, first, last, ties, per_rule)
        sign = "" if self.rubric.policy(choices, "difference") == "self_minus_review" else "-"
        out["difference"] = (f'=IF(AND(ISNUMBER({c["self_total"]}{r}),ISNUMBER({total_ref})),'
                             f'{sign}({c["self_total"]}{r}-{total_ref}),"")')
        out["final"] = f'=IF(ISNUMBER({total_ref}),{total_ref}+N({c["adjustment"]}{r}),"")'
        out["final_rank"] = _rank_formula(c["final"], r, first, last, ties, per_rule)
        for w in self.rubric.weights:
            weight_cell = f"'{SETTINGS}'!$B${self.weight_rows[w.name]}"
            final_ref = f"{c['final']}{r}"
            out["weight:" + w.name] = f'=IF(ISNUMBER({final_ref}),ROUND({final_ref}/{_num(full)}*{weight_cell},2),"")'
        return out

    # ----------------------------------------------------------------------------------- 考评表 self scores
    def self_applies(self, index: int, rule: Rule, choices: dict[str, str]) -> str:
        """An Excel condition: the unit is scored on `rule`, so its self score counts (decisions A5).

        On the master the group flag is read from 设置 (editable there); a 填报版 has its unit's flag built in.
        """
        if not rule.applies or self.rubric.policy(choices, "group_absent") == "full_marks":
            return "TRUE"
        if self.handout:
            return "TRUE" if self.public_service[index] else "FALSE"
        return f"'{SETTINGS}'!$B${self.unit_row(index)}=\"是\""

    def form_self_formulas(self, index: int, choices: dict[str, str]) -> dict[str, str]:
        """A 考评表's self subtotals and self total (column 自评得分, one row per rule): see _self_formulas."""
        col = col_letter(FORM_COLUMNS["self"])
        return self._self_formulas(index, choices, lambda rid: f"{col}{self.form_rows[rid]}",
                                   f"{col}{self.form_total_rows['base']}", f"{col}{self.form_total_rows['base_scaled']}")

    def self_row_formulas(self, index: int, choices: dict[str, str]) -> dict[str, str]:
        """自评得分's self subtotals and self total of unit `index` (its row, one column per rule)."""
        row = self.unit_row(index)
        c = {key: f"{col_letter(col)}{row}" for key, col in self.self_columns.items()}
        return self._self_formulas(index, choices, c.__getitem__, c["base"], c["base_scaled"])

    def _self_formulas(self, index: int, choices: dict[str, str], at, base: str, scaled: str) -> dict[str, str]:
        """The self subtotals and self total, by native formulas, exactly as the engine sums self scores.

        `at(rule_id)` is the cell of a rule's self score (the base rules' cells are one block, in rule order);
        `base` and `scaled` the cells these formulas go to. base: the sum of the self scores of the rules that
        apply, once every one of them is filled in; base_scaled: 折算 to the full score where A5 prorates
        (rounded as A9 says); total: min(cap, base + bonus) − deduction, never below the floor — or a text
        saying how many self scores are still missing.
        """
        base_rules = self.rubric.base_rules
        block = f"{at(base_rules[0].id)}:{at(base_rules[-1].id)}"
        count_adj = sum_adj = required_adj = max_adj = ""
        for rule in base_rules:
            cond = self.self_applies(index, rule, choices)
            if cond == "TRUE":
                continue
            c = at(rule.id)
            if cond == "FALSE":
                count_adj += f"-COUNT({c})"
                sum_adj += f"-N({c})"
                required_adj += "-1"
                max_adj += f"-{_num(rule.points)}"
            else:
                count_adj += f"-IF({cond},0,COUNT({c}))"
                sum_adj += f"-IF({cond},0,N({c}))"
                required_adj += f"-IF({cond},0,1)"
                max_adj += f"-IF({cond},0,{_num(rule.points)})"
        count = f"(COUNT({block}){count_adj})"
        required = f"({len(base_rules)}{required_adj})"
        full = _num(self.rubric.totals["full"])
        out = {"base": f'=IF({count}<{required},"",SUM({block}){sum_adj})'}
        if self.rubric.policy(choices, "group_absent") == "prorate":
            most = f"({_num(sum((r.points for r in base_rules), Decimal(0)))}{max_adj})"
            prorated = f"{base}*{full}/{most}"
            if self.rubric.policy(choices, "rounding") == "per_rule":
                prorated = f"ROUND({prorated},2)"
            out["base_scaled"] = f'=IF({base}="","",IF({most}={full},{base},{prorated}))'
        else:
            out["base_scaled"] = f'=IF({base}="","",{base})'
        bonus = "+".join(f"N({at(r.id)})" for r in self.rubric.rules if r.role == "bonus") or "0"
        deduction = "+".join(f"N({at(r.id)})" for r in self.rubric.rules if r.role == "deduction") or "0"
        cap, floor = _num(self.rubric.totals["cap"]), _num(self.rubric.totals["floor"])
        out["total"] = (f'=IF({count}<{required},"尚有"&({required}-{count})&"项未自评",'
                        f"MAX({floor},MIN({cap},{scaled}+{bonus})-({deduction})))")
        return out

    # ------------------------------------------------------------------------------- the master's one 考评表
    def picker_formulas(self) -> dict[tuple[int, int], str]:
        """(row, col) -> formula of every looked-up cell of the master's 考评表: the picked unit's row is found
        once (FORM_INDEX_CELL); its self scores and self totals come from 自评得分, its 复核得分 and 计分依据
        from 复核明细 (the stamp below is recompute's to write). A blank source shows blank (INDEX alone would
        show 0)."""
        first, last = FIRST_ROW, self.last_row
        k, picked = cell(*FORM_INDEX_CELL, absolute=True), cell(*FORM_PICKER_CELL, absolute=True)
        # MATCH reads * ? ~ in a name as wildcards: they are escaped
        name = f'SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({picked},"~","~~"),"*","~*"),"?","~?")'
        out = {FORM_INDEX_CELL: f"=IFERROR(MATCH({name},'{SELF_SCORES}'!$A${first}:$A${last},0),\"\")"}

        def pick(sheet: str, col: int) -> str:
            rng = f"'{sheet}'!${col_letter(col)}${first}:${col_letter(col)}${last}"
            return f'=IF({k}="","",IF(INDEX({rng},{k})="","",INDEX({rng},{k})))'

        F = FORM_COLUMNS
        rows = {**self.form_rows, **self.form_total_rows}
        for key, row in rows.items():
            out[(row, F["self"])] = pick(SELF_SCORES, self.self_columns[key])
            score_key, why_key = self.review_keys(key)
            out[(row, F["review"])] = pick(REVIEW, self.review_columns[score_key])
            if why_key:
                out[(row, FORM_EXTRA_COLUMN)] = pick(REVIEW, self.review_columns[why_key])
        return out

    def review_keys(self, key: str) -> tuple[str, str | None]:
        """The 复核明细 keys of a 考评表 row's 复核得分 and 计分依据: a rule's score and words, a total's score
        (words for the total only; None: the row has none of its own)."""
        if key in self.form_total_rows:
            return key, ("why_total" if key == "total" else None)
        return f"score:{key}", f"why:{key}"

    # --------------------------------------------------------------------- 填报版: scores a unit can compute
    def data_ref(self, index: int, key: str) -> str:
        row, col = self.data_cell(index, key)
        return ref(DATA, row, col, absolute=True)

    def reference_formulas(self, index: int, choices: dict[str, str]) -> dict[str, str]:
        """The scores one unit can work out from its own data, by native formulas (for its 填报版).

        A rule ranked among the units can not be computed by one unit: its entry is the text RANKED_BY_CITY.
        A unit not scored on a rule gets NOT_ASSESSED. A rule whose data is not filled in yet shows blank.
        """
        switches = Switches(self.rubric, choices)
        out: dict[str, str] = {}
        for rule in self.rubric.rules:
            parts = [p for p in rule.parts if switches.active(p)]
            if self.self_applies(index, rule, choices) == "FALSE":
                out[rule.id] = NOT_ASSESSED
                continue
            if any(kind_of(p.kind).native is None for p in parts):
                out[rule.id] = RANKED_BY_CITY
                continue
            terms, blanks = [], []
            for part in parts:
                value, blank = self._native_value(index, part.value)
                terms.append(kind_of(part.kind).native(value, switches.resolve(part.params)))
                blanks.append(blank)
            expr = "+".join(terms) or "0"
            if self.rubric.policy(choices, "rounding") == "per_rule":
                expr = f"ROUND({expr},2)"
            out[rule.id] = f'=IF(OR({",".join(blanks)}),"",{expr})' if blanks else f"={expr}"
        return out

    def _native_value(self, index: int, spec) -> tuple[str, str]:
        """(the value a part scores, a condition that is TRUE while its data is not filled in)."""
        if isinstance(spec, dict) and "count_yes" in spec:
            refs = [self.data_ref(index, k) for k in spec["count_yes"]]
            return "(" + "+".join(f'({r}="是")' for r in refs) + ")", "OR(" + ",".join(f'{r}=""' for r in refs) + ")"
        r = self.data_ref(index, self._derived_key(spec))
        return r, f'{r}=""'

    # ------------------------------------------------------------------------------ worksheet-function formulas
    def score_formulas(self, choices: dict[str, str]) -> dict[str, str]:
        """计分's array formulas: one per rule column, each scoring every unit with one HS_ call per part."""
        switches = Switches(self.rubric, choices)
        out: dict[str, str] = {}
        for rule in self.rubric.rules:
            parts = [part for part in rule.parts if switches.active(part)]
            values = [self._value_range(rule, part) for part in parts]
            terms = [self._part_formula(part, switches, value) for part, value in zip(parts, values)]
            expr = "+".join(terms) if terms else "0"
            if self.rubric.policy(choices, "rounding") == "per_rule":
                expr = f"ROUND({expr},2)"
            # a unit whose data is not typed yet shows a blank score, not an error
            blank = "+".join(f"({v}=\"\")" for v in dict.fromkeys(values) if not v.startswith("(("))
            formula = f'IF({blank},"",{expr})' if blank else expr
            if rule.applies and self.rubric.policy(choices, "group_absent") == "full_marks":
                formula = f'IF({self.column_range(SETTINGS, 2)}<>"是",{_num(rule.points)},{formula})'
            out[rule.id] = "=" + formula
        return out

    def live_total_formula(self, choices: dict[str, str]) -> str:
        """计分's live total for every unit in one array formula (one HS_TOTAL call, however many units).

        Each unit's base is its row sum of the base-rule columns, MMULT with a column of ones (SUM would add
        the whole block); blank scores count as 0.
        """
        c = {k: col_letter(v) for k, v in self.score_columns.items()}
        first, last = FIRST_ROW, self.last_row

        def block(col_from: str, col_to: str) -> str:
            return f"${col_from}${first}:${col_to}${last}"

        def numbers(rng: str) -> str:
            return f"IF(ISNUMBER({rng}),{rng},0)"

        base_cols = [c[r.id] for r in self.rubric.base_rules]
        ones = f"TRANSPOSE(COLUMN(${base_cols[0]}${HEADER_ROW}:${base_cols[-1]}${HEADER_ROW})^0)"
        base = f"MMULT({numbers(block(base_cols[0], base_cols[-1]))},{ones})"
        bonus = "+".join(numbers(block(c[r.id], c[r.id])) for r in self.rubric.rules if r.role == "bonus")
        deduction = "+".join(numbers(block(c[r.id], c[r.id])) for r in self.rubric.rules if r.role == "deduction")
        full = _num(self.rubric.totals["full"])
        if self.rubric.policy(choices, "group_absent") == "prorate":
            scaled = f"HS_PRORATE({base},{block(c['applicable_max'], c['applicable_max'])},{full})"
            if self.rubric.policy(choices, "rounding") == "per_rule":
                scaled = f"ROUND({scaled},2)"
        else:
            scaled = base
        return f"=HS_TOTAL({scaled},{bonus},{deduction},{_num(self.rubric.totals['cap'])})"

    def live_total_ref(self) -> str:
        col = col_letter(self.score_columns["live_total"])
        return f"{col}{FIRST_ROW}:{col}{self.last_row}"

    def applicable_max_formula(self, row: int, choices: dict[str, str]) -> str:
        """计分's applicable maximum: the rules that apply to the unit (decisions A5)."""
        total = sum((r.points for r in self.rubric.base_rules), Decimal(0))
        minus = ""
        if self.rubric.policy(choices, "group_absent") != "full_marks":  # with full marks every unit is scored out of the full 100
            for rule in self.rubric.base_rules:
                if rule.applies:
                    flag = f"'{SETTINGS}'!$B${self.unit_row(row - FIRST_ROW)}"
                    minus += f"-IF({flag}=\"是\",0,{_num(rule.points)})"
        return f"={_num(total)}{minus}"

    def _part_formula(self, part, switches: Switches, value: str) -> str:
        """A part's HS_ formula over its value range, as its kind builds it."""
        kind = kind_of(part.kind)
        if kind.rates and self.rubric.policy(switches.choices, "rate_range") == "clamp":  # a rate outside 0…100 % counts as its bound
            value = f"IF({value}>1,1,IF({value}<0,0,{value}))"
        each = part.value.get("each", ()) if isinstance(part.value, dict) else ()
        return kind.worksheet(value, switches.resolve(part.params), [self.data_range(key) for key in each])

    def _derived_key(self, spec) -> str:
        """The data key, or the declared derived value's key, holding the value a part scores (数据录入's 自动 cells)."""
        if isinstance(spec, str):
            return spec
        return self.rubric.derived_of(spec).key

    def _value_range(self, rule: Rule, part) -> str:
        spec = part.value
        if isinstance(spec, dict) and "count_yes" in spec:  # the number of yes among flags, per unit
            rng = "(" + "+".join(f"({self.data_range(k)}=\"是\")" for k in spec["count_yes"]) + ")"
        else:
            rng = self.data_range(self._derived_key(spec))
        if rule.applies:
            flags = self.column_range(SETTINGS, 2)
            rng = f'IF({flags}="是",{rng},"")'
        return rng


def _num(x) -> str:
    d = Decimal(str(x))
    text = format(d.normalize(), "f")
    return text


def _rank_formula(col: str, row: int, first: int, last: int, ties: str, rounded: bool = True) -> str:
    """The place by a column. Units that show the same total share a place (decisions A9): with per-rule
    rounding the totals are already rounded; otherwise the places are taken on the totals rounded as shown."""
    rng = f"${col}${first}:${col}${last}"
    if ties == "dense":
        place = f"SUMPRODUCT(({rng}>{col}{row})/COUNTIF({rng},{rng}))+1"
    elif rounded:
        place = f"_xlfn.RANK.EQ({col}{row},{rng},0)"
    else:
        place = f"SUMPRODUCT((ROUND({rng},2)>ROUND({col}{row},2))*1)+1"
    return f'=IF(ISNUMBER({col}{row}),{place},"")'


def formula_signature(choices: dict[str, str]) -> str:
    """What 计分's formulas were written for: recompute rewrites them when 设置 chooses otherwise."""
    return "公式依据的设置：" + "；".join(f"{sid}={option}" for sid, option in sorted(choices.items()))


def difference_header(rubric: Rubric, choices: dict[str, str]) -> str:
    """汇总's 差值 header, which says which way round the difference is (the `difference` policy)."""
    return "差值（自评－复核）" if rubric.policy(choices, "difference") == "self_minus_review" else "差值（复核－自评）"
