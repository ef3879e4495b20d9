"""Shared fixtures, and how the suite stays fast.

``soffice`` / ``poppler``: the path of LibreOffice / a check that poppler-utils is there. A test that
asks for one is skipped, with the reason stated, when the program is missing — unless the
environment variable ``HSCREDIT_REQUIRE_SOFFICE=1`` is set (CI sets it): then it fails, so CI can
never pass by silently skipping the LibreOffice checks. Mark such tests ``@pytest.mark.soffice`` as
well, so ``-m "not soffice"`` leaves them out of a quick run.

Speed. The suite runs on every core (pytest-xdist: ``-n auto --dist loadfile`` in pyproject's addopts; ``-n 0``
runs it in one process, e.g. for ``--pdb``). ``loadfile`` hands out whole test files, so a module-scoped
fixture is built once, not once per worker, and a session-scoped one once per worker whose files ask for it.
(``loadgroup`` would let LibreOffice tests of several files share one worker, but pytest 9.2 silently breaks
it: pytest-xdist#1386.)

A LibreOffice run costs about 2 s of CPU (a new profile every time). So:

* Never start LibreOffice in a test when a session fixture below has the run you need; reuse it. The
  results are read-only: copy a file before changing it.

  - ``scored_sample``: ``(path, result)`` of ``build_scored_sample`` (what ``demo`` writes; no LibreOffice);
  - ``exported_pdf``: ``(xlsx, pdf)`` of ``export(scored_sample, folder, pdf=True)`` (the 报送版 and its PDF);
  - ``addin_xlam``: the add-in as ``addin.build_addin`` writes it (no LibreOffice, but 3 s: copy it);
  - ``libreoffice``: any other run, once per session per name: ``libreoffice.recalculated(name, make)`` /
    ``libreoffice.printed(name, make)``, where ``make(folder) -> Path`` writes the source workbook into a
    fresh folder; or ``libreoffice.run(name, work)`` when ``work(folder)`` does more (several workbooks in
    one ``office.recalculate_many``, say) and returns whatever the tests need. Name the run after what it
    is (``"office:print-workbook"``): the same name anywhere in a worker is the same run. A fixture that
    just hands one of these on can be function-scoped: the cache is the session's.

* Several workbooks to recalculate: one ``office.recalculate_many`` run (one start-up) instead of one run each.
* A :class:`Recalculated` reads LibreOffice's values (``.values``) and error cells (``.errors``) once; a
  :class:`Printed` reads its pages' text (``.pages``) and sizes (``.sizes``) once. Use them rather than
  ``office.read_values`` / ``office.pdf_text`` on the same file again.
* Keep the tests of one LibreOffice run in one file: another file asking for the same run may be handed to
  another worker, which then runs LibreOffice again.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

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


# ------------------------------------------------------------------------------------------ shared LibreOffice runs


@dataclass
class Recalculated:
    """``src`` opened by LibreOffice with every formula recalculated, saved as ``out`` (both read-only)."""

    src: Path
    out: Path

    @cached_property
    def values(self) -> dict[str, dict[str, object]]:
        """``office.read_values(out)``, read once."""
        from hscredit_xl import office

        return office.read_values(self.out)

    @cached_property
    def errors(self) -> dict[str, dict[str, str]]:
        """``office.error_cells(out)``, read once."""
        from hscredit_xl import office

        return office.error_cells(self.out)


@dataclass
class Printed:
    """``src`` printed to ``pdf`` by LibreOffice (read-only)."""

    src: Path
    pdf: Path

    @cached_property
    def pages(self) -> list[str]:
        """``office.pdf_text(pdf)``, read once."""
        from hscredit_xl import office

        return office.pdf_text(self.pdf)

    @cached_property
    def sizes(self) -> list[tuple[float, float]]:
        """``office.pdf_page_sizes(pdf)``, read once."""
        from hscredit_xl import office

        return office.pdf_page_sizes(self.pdf)


class LibreOfficeRuns:
    """Each LibreOffice run of the session once, by name; a failed run fails every test asking for it."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory):
        self._tmp = tmp_path_factory
        self._done: dict[str, object] = {}

    def run(self, name: str, work: Callable[[Path], object]) -> object:
        """``work(folder)`` (which runs LibreOffice) the first time ``name`` is asked for; its result after."""
        if name not in self._done:
            try:
                self._done[name] = work(self._tmp.mktemp("libreoffice"))
            except Exception as err:  # noqa: BLE001 - kept and raised again for every later test
                self._done[name] = err
        done = self._done[name]
        if isinstance(done, Exception):
            raise done
        return done

    def recalculated(self, name: str, make: Callable[[Path], Path]) -> Recalculated:
        """The workbook ``make(folder)`` writes, recalculated by LibreOffice (``office.recalculate``)."""
        from hscredit_xl import office

        def work(folder: Path) -> Recalculated:
            src = Path(make(folder))
            return Recalculated(src, office.recalculate(src, folder / "out" / f"{src.stem}-lo.xlsx"))

        return self.run(name, work)

    def printed(self, name: str, make: Callable[[Path], Path]) -> Printed:
        """The workbook ``make(folder)`` writes, printed to PDF by LibreOffice (``office.to_pdf``)."""
        from hscredit_xl import office

        def work(folder: Path) -> Printed:
            src = Path(make(folder))
            return Printed(src, office.to_pdf(src, folder / "out" / f"{src.stem}.pdf"))

        return self.run(name, work)


@pytest.fixture(scope="session")
def libreoffice(soffice, tmp_path_factory) -> LibreOfficeRuns:
    """Shared LibreOffice runs by name: ``.recalculated(name, make)``, ``.printed(name, make)``, ``.run(name, work)``."""
    return LibreOfficeRuns(tmp_path_factory)


@pytest.fixture(scope="session")
def scored_sample(tmp_path_factory):
    """``(path, result)``: the scored sample as ``demo`` writes it (read-only: copy it before changing it)."""
    from hscredit_xl.workbook.demo import build_scored_sample

    return build_scored_sample(tmp_path_factory.mktemp("scored-sample") / "考评2020.xlsx")


@pytest.fixture(scope="session")
def addin_xlam(tmp_path_factory) -> Path:
    """The add-in as ``addin.build_addin`` writes it, built once (about 3 s): copy it, never change it."""
    from hscredit_xl import addin

    return addin.build_addin(tmp_path_factory.mktemp("addin-xlam") / "hscredit_xl.xlam")


@pytest.fixture(scope="session")
def exported_pdf(scored_sample, soffice, poppler, tmp_path_factory) -> tuple[Path, Path]:
    """``(xlsx, pdf)``: ``export(scored_sample, folder, pdf=True)``, the 报送版 and its printed PDF."""
    from hscredit_xl.export import export

    out = tmp_path_factory.mktemp("export-pdf")
    xlsx, pdf = export(scored_sample[0], out, pdf=True)
    return xlsx, pdf
