"""The shortcuts that make reading and scoring thousands of units fast give exactly what the full reading gives.

Each shortcut takes only the plain form of a value (ASCII digits, 是/否 as listed, printable text); the same value
written so that the shortcut does not take it (a space around it, full-width forms) goes the full way, and the
two must agree, value or message.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hscredit_xl import engine
from hscredit_xl.inputs import _NOT_XML, MAX_COUNT, MAX_TEXT, NO, YES, BadValue, ValueParser, text_problem
from hscredit_xl.rubric import load_rubric

PARSER = ValueParser("error")


def outcome(read, raw):
    try:
        return ("value", type(read(raw)), read(raw))
    except BadValue as exc:
        return ("problem", exc.expected, exc.hint)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789", min_size=1, max_size=20))
def test_a_count_of_plain_digits_reads_as_the_full_reading_does(digits):
    assert outcome(PARSER.count, digits) == outcome(PARSER.count, f" {digits} ")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"-?[0-9]{1,14}(\.[0-9]{1,22})?", fullmatch=True))
def test_a_plainly_written_number_reads_as_the_full_reading_does(text):
    """Up to 12 digits before the point the short way reads it; longer goes the full way (the limit's message)."""
    assert outcome(PARSER.number, text) == outcome(PARSER.number, f" {text} ")


def test_a_number_at_the_limit_of_the_short_way():
    assert PARSER.number("999999999999.5") == Decimal("999999999999.5")
    assert PARSER.number("1000000000000") == Decimal(10) ** 12  # 13 digits: the full way, allowed
    with pytest.raises(BadValue, match="数值过大"):
        PARSER.number("1000000000000.1")


@pytest.mark.parametrize("digits, expected", [
    ("1000000000000", MAX_COUNT),  # the largest count allowed, read the short way
    ("0000000000007", 7),
    ("00000000000007", 7),  # one digit longer than the short way reads
])
def test_counts_at_the_limit(digits, expected):
    assert PARSER.count(digits) == expected


def test_a_count_one_above_the_limit_is_refused_with_the_full_message():
    with pytest.raises(BadValue, match="数值过大"):
        PARSER.count("1000000000001")


@pytest.mark.parametrize("text", sorted(YES | NO) + ["Y", "N", "TRUE", "是 ", "ｙｅｓ", "2", "", "是否"])
def test_yes_no_read_the_same_written_plainly_or_not(text):
    assert outcome(PARSER.flag, text) == outcome(PARSER.flag, f"\u3000{text} ")
    if text in YES or text in NO:
        assert PARSER.flag(text) is (text in YES)


@pytest.mark.parametrize("typed, wide", [("85%", "８５％"), ("0.85", "０.８５"), ("100%", "１００％"), ("101%", "１０１％"),
                                         ("abc", "ａｂｃ")])
def test_an_ascii_rate_reads_as_its_full_width_spelling(typed, wide):
    assert outcome(PARSER.rate, typed) == outcome(PARSER.rate, wide)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=40))
def test_text_a_workbook_cannot_hold_is_always_found(text):
    found = text_problem(text)
    assert (found is None) == (not _NOT_XML.search(text) and len(text) <= MAX_TEXT)


def test_text_too_long_for_a_cell_is_found_though_printable():
    assert text_problem("a" * MAX_TEXT) is None
    assert "超过 Excel 单元格的上限" in text_problem("a" * (MAX_TEXT + 1))[0]


@pytest.mark.parametrize("raw, is_error", [("#N/A", True), (" #div/0! ", True), ("#12", False), ("12", False)])
def test_an_error_value_typed_as_text_is_found(raw, is_error):
    assert (ValueParser._common(raw) is not None) == is_error


def test_units_with_equal_values_written_differently_keep_what_was_typed():
    """Equal values share their score; a Decimal is told apart by its text, so 0.85 and 0.850 each keep theirs."""
    rubric = load_rubric()
    part = next(p for r in rubric.rules for p in r.parts if p.kind == "rate")
    params = engine.Switches(rubric).resolve(part.params)
    values = [Decimal("0.85"), Decimal("0.850"), Decimal("0.85"), Decimal("-0"), Decimal("0")]
    figures = engine._score_part(part, params, values, ["甲", "乙", "丙", "丁", "戊"])
    assert [str(f.value) for f in figures] == ["0.85", "0.850", "0.85", "-0", "0"]
    assert figures[0] is figures[2] and figures[0] is not figures[1]
    assert figures[0].score == figures[1].score


def test_tied_units_are_the_others_on_the_place():
    rubric = load_rubric()
    part = next(p for r in rubric.rules for p in r.parts if p.kind == "rank" and isinstance(p.value, str))
    params = engine.Switches(rubric).resolve(part.params)
    figures = engine._score_part(part, params, [5, 7, 5, 5, 1], ["甲", "乙", "丙", "丁", "戊"])
    assert [f.place for f in figures] == [2, 1, 2, 2, 5]
    assert figures[0].tied == ("丙", "丁") and figures[2].tied == ("甲", "丁") and figures[1].tied == ()


def test_a_rate_typed_with_a_percent_sign_is_not_asked_about_its_percent_sign():
    """'是否应为 85%？' is for 85 typed where 85 % was meant; 101% was written as a percent already."""
    with pytest.raises(BadValue) as typed_as_percent:
        PARSER.rate("101%")
    assert typed_as_percent.value.hint == ""
    with pytest.raises(BadValue) as typed_as_number:
        PARSER.rate("85")
    assert typed_as_number.value.hint == "是否应为 85%？"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(min_value=-10**13, max_value=10**13), st.floats(allow_nan=True, allow_infinity=True)))
def test_a_number_cell_reads_as_its_text_does(value):
    """A workbook's number cell (int or float) and the same number typed as text read the same, limits included."""
    as_text = repr(value) if isinstance(value, float) else str(value)
    if as_text in ("nan", "inf", "-inf"):
        assert outcome(PARSER.number, value)[0] == "problem"
        return
    assert outcome(PARSER.number, value) == outcome(PARSER.number, f" {as_text} ")


@pytest.mark.parametrize("value, readable", [(10**12, True), (-10**12, True), (10**12 + 1, False), (1e12, True),
                                             (1e12 + 0.5, False), (-1e12 - 0.5, False)])
def test_number_cells_at_the_limit(value, readable):
    assert (outcome(PARSER.number, value)[0] == "value") == readable


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_the_digest_sees_a_number_cell_as_its_decimal(value):
    """recompute's digest of the inputs: a whole number held as int or float is the text of its Decimal."""
    from hscredit_xl.workbook.recompute import _plain

    assert _plain(value) == _plain(Decimal(repr(value)) if isinstance(value, float) else Decimal(value))


@pytest.mark.parametrize("value", [10**28 - 1, 10**28 + 1, -(10**28) - 1, 12345])
def test_the_digest_of_whole_numbers_at_decimals_precision(value):
    """Decimal keeps 28 digits: a longer whole number is rounded by the full reading, and the short way agrees."""
    from hscredit_xl.workbook.recompute import _plain

    assert _plain(value) == _plain(Decimal(value))


@pytest.mark.parametrize("text, refused", [("普通文字", False), ("a\tb\nc", False), ("a\x01b", True),
                                           ("x" * MAX_TEXT, False), ("x" * (MAX_TEXT + 1), True)])
def test_the_last_guard_before_a_cell_refuses_what_a_workbook_cannot_hold(text, refused):
    from hscredit_xl.scoring import InputProblems
    from hscredit_xl.workbook.book import _check_text

    if refused:
        with pytest.raises(InputProblems):
            _check_text("汇总", "A1", text)
    else:
        assert _check_text("汇总", "A1", text) is None
