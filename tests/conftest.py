"""Shared fixtures.

``soffice`` / ``poppler``: the path of LibreOffice / a check that poppler-utils is there. A test that
asks for one is skipped, with the reason stated, when the program is missing — unless the
environment variable ``HSCREDIT_REQUIRE_SOFFICE=1`` is set (CI sets it): then it fails, so CI can
never pass by silently skipping the LibreOffice checks. Mark such tests ``@pytest.mark.soffice`` as
well, so ``-m "not soffice"`` leaves them out of a quick run.
"""
from __future__ import annotations

import os

import pytest

REQUIRE_SOFFICE_ENV = "HSCREDIT_REQUIRE_SOFFICE"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "soffice: runs LibreOffice headless (skipped when soffice is missing, unless HSCREDIT_REQUIRE_SOFFICE=1)"
    )


def soffice_required() -> bool:
    """True when a missing LibreOffice / poppler must fail the tests instead of skipping them."""
    return os.environ.get(REQUIRE_SOFFICE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _missing(what: str, err: Exception) -> None:
    if soffice_required():
        pytest.fail(f"{REQUIRE_SOFFICE_ENV}=1 but {what} is missing:\n{err}", pytrace=False)
    pytest.skip(
        f"{what} not found on PATH (Debian: apt-get install libreoffice-calc-nogui fonts-noto-cjk poppler-utils); "
        f"set {REQUIRE_SOFFICE_ENV}=1 to make this a failure"
    )


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of LibreOffice's ``soffice``; skips (or fails under HSCREDIT_REQUIRE_SOFFICE=1) when missing."""
    from hscredit_xl.office import OfficeMissing, find_soffice

    try:
        return find_soffice()
    except OfficeMissing as err:
        _missing("LibreOffice (soffice)", err)


@pytest.fixture(scope="session")
def poppler() -> dict[str, str]:
    """``{tool: path}`` of poppler's pdfinfo, pdftotext, pdftoppm; skips (or fails) like ``soffice``."""
    from hscredit_xl.office import OfficeMissing, find_poppler

    try:
        return {tool: find_poppler(tool) for tool in ("pdfinfo", "pdftotext", "pdftoppm")}
    except OfficeMissing as err:
        _missing("poppler-utils (pdfinfo/pdftotext/pdftoppm)", err)
