"""Realistic data files of any size for benchmarks: n county-level units with plausible values and their own
scores (自评得分)."""
from __future__ import annotations

import random
from pathlib import Path

from hscredit_xl.datafile import write_csv
from hscredit_xl.inputs import allowed_keys
from hscredit_xl.rubric import load_rubric

RUBRIC = load_rubric()


def unit_rows(n: int, seed: int = 2020) -> list[dict]:
    rnd = random.Random(seed)
    yes_no = lambda p: "是" if rnd.random() < p else "否"  # noqa: E731
    rows = []
    for i in range(n):
        size = rnd.randint(4000, 25000)
        returned = rnd.randint(0, 60)
        row = {"unit": f"单位{i + 1:04d}"}
        row.update({f"volume_m{m:02d}": int(size * rnd.uniform(0.8, 1.2)) for m in range(1, 13)})
        row.update({
            "spotcheck_score": round(rnd.uniform(80, 100), 1),
            "returned_issues": returned, "rectified_issues": rnd.randint(0, returned),
            "dec_pass_rate": f"{rnd.uniform(90, 100):.1f}%", "oct_return_pass_rate": f"{rnd.uniform(85, 100):.1f}%",
            "dec_late_rate": f"{rnd.uniform(0, 6):.1f}%",
            "concealment_rates": ";".join(f"{rnd.uniform(0, 5):.1f}%" for _ in range(rnd.randint(1, 4))),
            "objections": rnd.randint(0, 250),
            "public_service_categories": rnd.randint(1, 9) if i % 3 == 0 else "",
            "commitment_reported": yes_no(0.85), "commitment_sectors": rnd.randint(0, 10),
            "verification_plan": yes_no(0.7), "verification_feedback_depts": rnd.randint(0, 5),
            "publicity_activities": rnd.randint(0, 4), "media_reports": rnd.randint(0, 15),
            "training_score": rnd.choice([0, 1, 1.5, 2, 2.5, 3]),
            "typical_case": yes_no(0.6), "short_video": yes_no(0.5),
            "innovation_docking": yes_no(0.4), "innovation_in_plan": yes_no(0.5),
            "innovation_benefit_apps": yes_no(0.3), "innovation_other": yes_no(0.2),
            "major_credit_event": yes_no(0.05),
        })
        # the unit's own scores (自评得分), one per rule it is assessed on, as units type them
        for rule in RUBRIC.rules:
            if rule.applies and i % 3 != 0:
                continue
            if rule.role == "deduction":
                row[f"self_{rule.id}"] = rule.points if row["major_credit_event"] == "是" else 0
            else:
                row[f"self_{rule.id}"] = round(float(rule.points) * rnd.uniform(0.5, 1), 1)
        rows.append(row)
    return rows


def write_data_file(path: Path, n: int, seed: int = 2020) -> Path:
    keys = [k for k in allowed_keys(RUBRIC) if k != "self_total" and not k.startswith("adjustment")]
    write_csv(path, unit_rows(n, seed), keys)
    return path


def write_units_file(path: Path, n: int) -> Path:
    """The units list of `unit_rows(n)` (`--units`): a unit is assessed on 1.3 where its data has a value there."""
    lines = ["unit,public_service"] + [f"单位{i + 1:04d},{'是' if i % 3 == 0 else '否'}" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
