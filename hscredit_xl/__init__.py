"""hscredit-xl: 黄石市县（市）区社会信用体系建设工作考核评价 in Excel.

The ribbon buttons of the add-in run the functions below in xlwings' UDF server, which gets the calling
workbook through COM (xw.Book.caller()); they run the same recompute as `hscredit-xl recompute` on it, by the
rubric the workbook records (workbook/rubricof.py: a button can not be given `--rubric`; a rubric that can not be
found is listed in 校验结果 like any other problem).
"""
__version__ = "0.1.0"


def _caller_book():
    import xlwings as xw

    from .workbook.book import ExcelBook

    return ExcelBook(xw.Book.caller())


def main() -> None:
    """一键重算: validate, score and write the results into the calling workbook."""
    from .workbook.layout import CHECK, SUMMARY
    from .workbook.recompute import recompute

    book = _caller_book()
    outcome = recompute(book, write_problems_on_error=True)
    book.activate(SUMMARY if outcome.ok else CHECK)


def validate() -> None:
    """校验数据: check the inputs and list every problem in 校验结果, without scoring."""
    from .scoring import InputProblems
    from .workbook.layout import CHECK
    from .workbook.recompute import read_inputs, score_inputs, write_check_sheet

    book = _caller_book()
    try:
        problems = score_inputs(read_inputs(book)).problems
    except InputProblems as exc:
        problems = exc.problems
    write_check_sheet(book, problems)
    book.activate(CHECK)


def export() -> None:
    """导出报送版: save the calling workbook, then write the values-only copy (and, with LibreOffice, the PDF)
    next to it, and tell the person where they are."""
    from pathlib import Path

    import xlwings as xw

    from .export import export as export_files
    from .office import OfficeMissing
    from .scoring import InputProblems

    book = xw.Book.caller()
    book.save()
    path = Path(book.fullname)
    try:
        try:
            written = export_files(path, pdf=True)
        except OfficeMissing:
            written = export_files(path, pdf=False)
    except InputProblems as exc:
        book.app.alert("\n".join(p.message() for p in exc.problems[:20]), title="无法导出报送版")
        return
    book.app.alert("已导出：\n" + "\n".join(str(p) for p in written), title="导出报送版")
