"""Regenerate the README's screenshots of the printed 报送版: the 汇总 page and one unit's 考评表.

    python scripts/screenshots.py [--dpi 90] [--unit 大冶市] [--docs docs]

Builds the scored sample (template + the six units' sample data + recompute), exports it with the PDF
(LibreOffice headless, as `hscredit-xl export --pdf` does) and renders pages to PNG with poppler's pdftoppm:

* docs/screenshot-result.png  — the first page: 考核评价结果, the result a leader signs
* docs/screenshot-form.png    — the first page of the unit's 考评表
* docs/screenshot-summary.png — the 汇总 page
* docs/screenshot-handout.png — the unit's 填报版 考评表, filled with its sample row, as LibreOffice prints it

Needs LibreOffice (soffice), a CJK font (Debian: fonts-noto-cjk) and poppler-utils. The images are what
the PDF shows; look at them after regenerating (Chinese must read as Chinese, the tables must not be cut).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hscredit_xl.export import export  # noqa: E402
from hscredit_xl.cli import main as cli  # noqa: E402
from hscredit_xl.office import pdf_text, render_pages, to_pdf  # noqa: E402
from hscredit_xl.workbook.demo import build_scored_sample, sample_path  # noqa: E402
from hscredit_xl.workbook.handout import write_handouts  # noqa: E402

MAX_BYTES = 400 * 1024


def find_pages(texts: list[str], unit: str) -> tuple[int, int]:
    """(index of the unit's first 考评表 page, index of the 汇总 page) in the PDF."""
    form = next((i for i, t in enumerate(texts) if f"填报单位：{unit}（盖章）" in t), None)
    summary = next((i for i, t in enumerate(texts) if t.lstrip().startswith("汇总")), None)
    if form is None or summary is None:
        raise SystemExit(f"PDF 中找不到「{unit}」的考评表或汇总页")
    return form, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="重新生成 docs/ 下的打印效果截图（汇总页、考评表）")
    parser.add_argument("--dpi", type=int, default=90, help="渲染分辨率（默认 90）")
    parser.add_argument("--unit", default="大冶市", help="截取哪个单位的考评表（默认 大冶市）")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs", help="输出文件夹（默认 docs/）")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="hscredit-shots-") as tmp:
        work = Path(tmp)
        workbook, _ = build_scored_sample(work / "hscredit_2020_sample.xlsx")  # what `hscredit-xl demo` writes
        _, pdf = export(workbook, work, pdf=True)
        form, summary = find_pages(pdf_text(pdf), args.unit)
        pages = render_pages(pdf, work / "pages", dpi=args.dpi)
        handout = _handout_form_page(work, workbook, args.unit, args.dpi)
        args.docs.mkdir(parents=True, exist_ok=True)
        for page, name, index in ((pages[0], "screenshot-result.png", 0), (pages[form], "screenshot-form.png", form),
                                  (pages[summary], "screenshot-summary.png", summary),
                                  (handout, "screenshot-handout.png", 0)):
            target = args.docs / name
            shutil.copyfile(page, target)
            size = target.stat().st_size
            note = "" if size <= MAX_BYTES else f"（超过 {MAX_BYTES // 1024} KB，请降低 --dpi）"
            print(f"{target}：PDF 第 {index + 1} 页，{size // 1024} KB{note}")
    return 0


def _handout_form_page(work: Path, master: Path, unit: str, dpi: int) -> Path:
    """The unit's 填报版 filled with its sample row (as the unit would), printed by LibreOffice: its 考评表 page."""
    import csv
    import io

    handout = next(p for p in write_handouts(master, work / "handouts") if unit in p.name)
    reader = csv.DictReader(io.StringIO(sample_path().read_text(encoding="utf-8-sig"), newline=""))
    row = next(r for r in reader if r["unit"] == unit)
    row = {k: v for k, v in row.items() if not k.startswith("adjustment")}
    data = work / "unit.csv"
    with data.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    if cli(["fill", str(handout), str(data)]) != 0:
        raise SystemExit("填报版填入示例数据失败")
    texts_pdf = to_pdf(handout, work / "handout.pdf")
    index = next(i for i, t in enumerate(pdf_text(texts_pdf)) if f"填报单位：{unit}（盖章）" in t)
    return render_pages(texts_pdf, work / "handout-pages", dpi=dpi)[index]


if __name__ == "__main__":
    raise SystemExit(main())
