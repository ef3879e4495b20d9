"""Small helpers several test files share: run the command in process, read the sample data file."""
from __future__ import annotations

import csv
import io

from hscredit_xl.cli import main
from hscredit_xl.workbook.demo import sample_path


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run `hscredit-xl ARGS` in this process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def sample_rows() -> tuple[list[str], list[dict]]:
    """The sample data file's header and rows (the six units), as text."""
    reader = csv.DictReader(io.StringIO(sample_path().read_text(encoding="utf-8-sig"), newline=""))
    return list(reader.fieldnames), [dict(r) for r in reader]
