"""Cell styles and the small cell helpers every sheet builder shares (one place for the look).

Conventions the rest of the package relies on:
- an input cell (anything a person types) has the named style INPUT_STYLE (light yellow), is unlocked and
  carries a data validation with Chinese prompt and error texts;
- a computed cell (a formula, or a value recompute writes) has COMPUTED_STYLE (light grey) and is locked;
- every sheet except 校验结果 is protected without a password, so a formula cannot be overwritten by accident.
"""
from __future__ import annotations

import copy
import math
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal

from openpyxl.cell.cell import Cell
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet


FONT_NAME = "等线"
INPUT_STYLE, COMPUTED_STYLE, HEADER_STYLE = "考评-录入", "考评-计算", "考评-表头"
INPUT_FILL, COMPUTED_FILL, HEADER_FILL, NOTE_FILL = "FFF2CC", "EDEDED", "DDEBF7", "FCE4D6"
GREY_TEXT, NOTE_TEXT = "808080", "9C0006"
DIFF_ABOVE_FILL, DIFF_BELOW_FILL = "FFC7CE", "BDD7EE"  # 汇总 差值: self-score above / below the review
NUMBER_LIMIT = 10**12  # same bound as inputs.MAX_NUMBER: larger is a typing accident
REASON_MAX_LENGTH = 200
ADJUSTMENT_LIMIT = 100
UNIT_ROW_HEIGHT = 20

THIN = Side(style="thin", color="000000")
HAIR = Side(style="thin", color="BFBFBF")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
LIGHT_BORDER = Border(left=HAIR, right=HAIR, top=HAIR, bottom=HAIR)
WRAP_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAP_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
WRAP_TOP = Alignment(horizontal="left", vertical="top", wrap_text=True)


def _register_constants() -> None:
    for obj in (BORDER, LIGHT_BORDER, WRAP_CENTER, WRAP_LEFT, WRAP_TOP):
        _KNOWN[id(obj)] = id(obj)


def add_named_styles(wb) -> None:
    """The three named styles (input, computed, header) every workbook we write carries."""
    font = Font(name=FONT_NAME, size=11)
    wb.add_named_style(NamedStyle(
        name=INPUT_STYLE, font=font, fill=PatternFill("solid", fgColor=INPUT_FILL), border=LIGHT_BORDER,
        alignment=Alignment(vertical="center"), protection=Protection(locked=False)))
    wb.add_named_style(NamedStyle(
        name=COMPUTED_STYLE, font=font, fill=PatternFill("solid", fgColor=COMPUTED_FILL), border=LIGHT_BORDER,
        alignment=Alignment(vertical="center"), protection=Protection(locked=True)))
    wb.add_named_style(NamedStyle(
        name=HEADER_STYLE, font=Font(name=FONT_NAME, size=11, bold=True),
        fill=PatternFill("solid", fgColor=HEADER_FILL), border=BORDER, alignment=WRAP_CENTER,
        protection=Protection(locked=True)))


def fmt(x) -> str:
    """A Decimal (or number) as the official text writes it: 10, 0.4 — no trailing zeros."""
    d = Decimal(str(x)).normalize()
    return format(d, "f")


def number(x: Decimal) -> int | float:
    d = Decimal(str(x))
    return int(d) if d == d.to_integral_value() else float(d)


def text_width(text: str) -> float:
    """Display width in Excel column units (a CJK character is about two digits wide)."""
    return sum(1.9 if unicodedata.east_asian_width(ch) in "WF" else 1.05 for ch in str(text))


def chinese_date(iso: str) -> str:
    try:
        y, m, d = (int(p) for p in iso.split("-"))
    except ValueError:
        return iso
    return f"{y}年{m}月{d}日"


# --------------------------------------------------------------------------------------- the look, once
# A workbook of thousands of units styles hundreds of thousands of cells the same few ways. openpyxl registers
# a style by hashing it at every assignment (most of the template's build time at 3,000 units): each way is
# applied once per workbook, and the cells after get a copy of the resulting style indices. The cells come out
# exactly as if styled one by one.
_KNOWN = {}  # id -> the shared Border/Alignment constants below (other objects are applied one by one)


def _styled(c, key: tuple, apply, fresh_only: bool = False):
    """Style cell c as apply(c) would; key names what apply does (None: do not cache). fresh_only: the cache
    is used only on a cell not styled before (apply sets some of the look, not all of it)."""
    if key is None or (fresh_only and c._style is not None and any(c._style)):
        apply(c)
        return c
    cache = c.parent.parent.__dict__.setdefault("_hscredit_styles", {})
    found = cache.get(key)
    if found is None:
        apply(c)
        cache[key] = copy.copy(c._style)
    else:
        c._style = copy.copy(found)
    return c


def _const(obj) -> object:
    """A cache key part for a Border/Alignment argument: the shared constants by identity, else uncacheable."""
    if obj is None:
        return None
    return _KNOWN.get(id(obj), _UNCACHED)


_UNCACHED = object()


def set_text(c, text) -> None:
    """A literal text cell: a leading '=' must never turn a label into a formula."""
    c.value = text
    if isinstance(text, str) and text.startswith("="):
        c.data_type = "s"


def put(ws: Worksheet, row: int, col: int, value, *, bold: bool = False, border: Border | None = None,
         wrap: bool = False, align: Alignment | None = None):
    c = cell_at(ws, row, col)
    set_text(c, value)

    def apply(c):
        c.font = Font(name=FONT_NAME, size=11, bold=bold)
        if border is not None:
            c.border = border
        if align is not None:
            c.alignment = align
        elif wrap:
            c.alignment = WRAP_TOP

    key = ("put", bold, _const(border), wrap, _const(align))
    return _styled(c, None if _UNCACHED in key else key, apply, fresh_only=True)


def title(ws: Worksheet, text: str) -> None:
    title_at(ws, 1, 1, text)


def title_at(ws: Worksheet, row: int, col: int, text: str) -> None:
    c = put(ws, row, col, text)
    c.font = Font(name=FONT_NAME, size=14, bold=True)


def text_page(ws: Worksheet, lines: Sequence[tuple[str, str]], identity: dict[str, str],
              title_size: int = 16) -> None:
    """A page of text (说明, 填报说明): one paragraph a row in column A, A4 portrait; `lines` are (kind, text) with
    kind title, head, text, input or computed (a legend cell coloured like the cells it explains, still locked).
    `identity` (cell -> text) goes in small grey print outside the printed area: it is for machines."""
    ws.column_dimensions["A"].width = 78  # fits A4 portrait unscaled
    for row, (kind, text) in enumerate(lines, 1):
        c = put(ws, row, 1, text, wrap=kind != "title")
        if kind == "title":
            c.font = Font(name=FONT_NAME, size=title_size, bold=True)
        elif kind == "head":
            c.font = Font(name=FONT_NAME, size=12, bold=True)
        elif kind in ("input", "computed"):
            c.fill = PatternFill("solid", fgColor=INPUT_FILL if kind == "input" else COMPUTED_FILL)
            c.border = LIGHT_BORDER
    ws.column_dimensions["H"].width = 34
    for coord, text in identity.items():
        c = ws[coord]
        set_text(c, text)
        c.font = Font(name=FONT_NAME, size=8, color=GREY_TEXT)
    ws.sheet_view.showGridLines = False
    ws.print_area = f"A1:A{len(lines)}"
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    protect(ws)


def section(ws: Worksheet, row: int, text: str) -> None:
    c = put(ws, row, 1, text)
    c.font = Font(name=FONT_NAME, size=12, bold=True)


def note(ws: Worksheet, row: int, col: int, text: str) -> None:
    c = put(ws, row, col, text)
    c.font = Font(name=FONT_NAME, size=10, color=NOTE_TEXT)


def note_across(ws: Worksheet, row: int, last_col: int, text: str) -> None:
    """A note over the printed width (A to last_col), wrapped there: it never runs off the page."""
    c = put(ws, row, 1, text, align=WRAP_TOP)
    c.font = Font(name=FONT_NAME, size=10, color=NOTE_TEXT)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)


def portrait(ws: Worksheet) -> None:
    """A4 portrait, one page wide, the footer's page numbers."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_PORTRAIT
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9


def header(ws: Worksheet, row: int, col: int, text: str) -> None:
    c = ws.cell(row, col)
    c.style = HEADER_STYLE
    set_text(c, text)


def _named(ws: Worksheet, row: int, col: int, name: str, number_format: str | None, align: Alignment | None):
    """A cell in a named style (which sets the whole look), with a number format and an alignment: the look is
    worked out once per workbook and copied (see _styled)."""
    c = cell_at(ws, row, col)
    known = align is None or id(align) in _KNOWN
    key = (name, number_format, id(align) if align is not None else None)
    cache = ws.parent.__dict__.get("_hscredit_styles")
    found = cache.get(key) if known and cache is not None else None
    if found is not None:
        c._style = StyleArray(found)
        return c
    c.style = name
    if number_format:
        c.number_format = number_format
    if align is not None:
        c.alignment = align
    if known:
        ws.parent.__dict__.setdefault("_hscredit_styles", {})[key] = StyleArray(c._style)
    return c


def input_cell(ws: Worksheet, row: int, col: int, value, *, number_format: str | None = None,
           align: Alignment | None = None):
    c = _named(ws, row, col, INPUT_STYLE, number_format, align)
    if value is not None:
        set_text(c, value)
    return c


def computed(ws: Worksheet, row: int, col: int, number_format: str | None = None, align: Alignment | None = None):
    return _named(ws, row, col, COMPUTED_STYLE, number_format, align)


def formula(ws: Worksheet, row: int, col: int, text: str, number_format: str | None = None):
    c = computed(ws, row, col, number_format)
    if isinstance(text, str) and text.startswith("="):
        c._value, c.data_type = text, "f"  # as openpyxl binds a formula, without its check of every string
    else:
        c.value = text
    return c


def cell_at(ws: Worksheet, row: int, col: int):
    """ws.cell(row, col), without openpyxl's argument checks (the builders ask for hundreds of thousands)."""
    cells = ws._cells
    c = cells.get((row, col))
    if c is None:
        c = cells[(row, col)] = Cell(ws, row=row, column=col)
        if row > ws._current_row:
            ws._current_row = row
    return c


def merged(ws: Worksheet, rows: Sequence[int], col: int, value, font: Font, align: Alignment) -> None:
    c = ws.cell(min(rows), col)
    set_text(c, value)
    c.font = font
    c.alignment = align
    if len(rows) > 1:
        ws.merge_cells(start_row=min(rows), start_column=col, end_row=max(rows), end_column=col)


def col_range(col: int, first: int, last: int) -> str:
    letter = col_letter(col)
    return f"{letter}{first}:{letter}{last}"


def unit_column(ws: Worksheet, units: Sequence[str], first_row: int) -> None:
    """Column A of a sheet with one row per unit from first_row on: wide enough for every name, and kept in view
    (frozen, with the rows above) while scrolling to the right."""
    ws.column_dimensions["A"].width = max(14, *(text_width(u) + 2 for u in units))
    ws.freeze_panes = f"B{first_row}"


def protect(ws: Worksheet) -> None:
    """Sheet protection without a password: formulas are safe from slips, columns and rows stay adjustable."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def landscape(ws: Worksheet, fit_width: bool = True) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    if fit_width:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.header = ws.page_margins.footer = 0.25  # leave the footer room below the body
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.size = 9


def validation(type_: str, title: str, prompt: str, error: str, **kw) -> DataValidation:
    return DataValidation(type=type_, allow_blank=True, showInputMessage=True, showErrorMessage=True,
                          errorStyle="stop", promptTitle=title[:32], prompt=prompt[:255],
                          errorTitle="输入有误", error=error[:225], **kw)


def list_validation(options: Iterable[str], title: str, prompt: str, error: str) -> DataValidation:
    options = list(options)
    if any("," in o or '"' in o for o in options):
        raise ValueError(f"下拉选项不能含英文逗号或引号：{options}")
    return validation("list", title, prompt, error, formula1='"' + ",".join(options) + '"')


def rate_validation(label: str) -> DataValidation:
    return validation("decimal", label, f"填写{label}：0%～100%（可直接输入 85%，也可输入 0.85）。",
                       f"{label}应在 0%～100% 之间；例如 85% 请输入「85%」或「0.85」，不要输入「85」。",
                       operator="between", formula1="0", formula2="1")


# ------------------------------------------------------------------------------------------------ row heights
def fit_row_heights(ws: Worksheet) -> None:
    """Set row heights so wrapped text shows whole (Excel does not grow rows for merged cells by itself)."""
    widths = {}

    def col_width(col: int) -> float:
        if col not in widths:
            w = ws.column_dimensions[col_letter(col)].width
            widths[col] = w if w else 8.43
        return widths[col]

    spans = {(r.min_row, r.min_col): r for r in ws.merged_cells.ranges}
    need: dict[int, float] = {}
    tall: list[tuple[list[int], float]] = []
    # the cells there are, in row order (iter_rows would make every cell of the used range first)
    texts = sorted((key, c) for key, c in ws._cells.items()
                   if type(c) is Cell and isinstance(c._value, str) and c.data_type != "f")
    for _, c in texts:
        if not (c.alignment and c.alignment.wrap_text):
            continue
        size = (c.font.sz if c.font and c.font.sz else 11)
        span = spans.get((c.row, c.column))
        cols = range(span.min_col, span.max_col + 1) if span else [c.column]
        rows = list(range(span.min_row, span.max_row + 1)) if span else [c.row]
        width = sum(col_width(col) for col in cols)
        height = text_height(c.value, width, size)
        if len(rows) == 1:
            need[rows[0]] = max(need.get(rows[0], 15.0), height)
        else:
            tall.append((rows, height))
    for rows, height in tall:
        have = sum(need.get(r, 15.0) for r in rows)
        if have < height:
            extra = (height - have) / len(rows)
            for r in rows:
                need[r] = need.get(r, 15.0) + extra
    for r, h in need.items():
        ws.row_dimensions[r].height = round(min(409.0, h), 1)


def text_height(text: str, width: float, size: float) -> float:
    usable = max(1.0, width - 1.5)
    scale = size / 11
    lines = 0
    for para in text.split("\n"):
        lines += max(1, math.ceil(text_width(para) * scale / usable))
    return lines * size * 1.4 + 5

_register_constants()
