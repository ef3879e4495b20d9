"""Rewrite README.md's table of data-file columns from the rubric (tests/test_data_keys.py checks it is current)."""
from __future__ import annotations

from pathlib import Path

from hscredit_xl.datafile import readme_with_key_table
from hscredit_xl.rubric import load_rubric

README = Path(__file__).resolve().parents[1] / "README.md"

if __name__ == "__main__":
    README.write_text(readme_with_key_table(README.read_text(encoding="utf-8"), load_rubric()), encoding="utf-8")
    print(f"已更新：{README}")
