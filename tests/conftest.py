"""Shared fixtures, and how the suite stays fast.

``soffice`` / ``poppler``: the path of LibreOffice / a check that poppler-utils is there. A test that
asks for one is skipped, with the reason stated, when the program is missing — unless the
environment variable ``HSCREDIT_REQUIRE_SOFFICE=1`` is set (CI sets it): then it fails, so CI can
never pass by silently skipping the LibreOffice checks. Mark such tests ``@pytest.mark.soffice`` as
well, so ``-m "not soffice"`` leaves them out of a quick run.

Speed. The suite runs on several processes (pytest-xdist; ``-n auto --dist loadgroup`` in pyproject's
addopts; ``-n 0`` runs it in one process, e.g. for ``--pdb``). Two rules keep the work from being done twice:

* A LibreOffice run costs about 2 s of CPU (a fresh profile every time). Do not start one in a test when a
  session fixture has the run you need; reuse it (results are read-only: copy a file before changing it):

  - ``scored_sample``: ``(path, result)`` of ``build_scored_sample`` (what ``demo`` writes; no LibreOffice);
  - ``lo_template``: the blank template recalculated by LibreOffice (a :class:`Recalculated`);
  - ``exported_pdf``: ``(xlsx, pdf)`` of ``export(scored_sample, pdf=True)`` (the 报送版 and its PDF);
  - ``libreoffice``: any other workbook, once per session per name —
    ``libreoffice.recalculated("my-name", make)`` / ``libreoffice.printed("my-name", make)``, where
    ``make(folder) -> Path`` writes the source workbook into a fresh folder; or ``libreoffice.run("my-name",
    work)`` when ``work(folder)`` does more than one conversion (it returns whatever the tests need). Pick a
    name that says what the run is (``"libreoffice_check:dense-fullmarks"``): the same name anywhere in the
    suite is the same run. A fixture that just returns one of these can be function-scoped: the cache is the
    session's.

  A :class:`Recalculated` reads LibreOffice's values (``.values``) and error cells (``.errors``) once; a
  :class:`Printed` reads its pages' text (``.pages``) and sizes (``.sizes``) once. Use them rather than
  calling ``office.read_values`` / ``office.pdf_text`` again on the same file.

* Grouping for xdist (nothing to write by hand: it follows from the fixtures a test asks for). Every test
  that needs ``soffice`` (directly or through any fixture above) runs in the one ``libreoffice`` group, so
  each LibreOffice run happens once, in one worker; a test using a module- or session-scoped fixture defined
  in its own module runs in that module's group, so the fixture is built once. Other tests are handed out
  one by one. A test's own ``@pytest.mark.xdist_group`` wins.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import pytest

REQUIRE_SOFFICE_ENV = "HSCREDIT_REQUIRE_SOFFICE"
LIBREOFFICE_GROUP = "libreoffice"


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
def lo_template(libreoffice) -> Recalculated:
    """The blank template (``write_template``) recalculated by LibreOffice."""
    from hscredit_xl.workbook.template import write_template

    return libreoffice.recalculated("template", lambda folder: write_template(folder / "template.xlsx"))


@pytest.fixture(scope="session")
def exported_pdf(scored_sample, soffice, poppler, tmp_path_factory) -> tuple[Path, Path]:
    """``(xlsx, pdf)``: ``export(scored_sample, folder, pdf=True)``, the 报送版 and its printed PDF."""
    from hscredit_xl.export import export

    out = tmp_path_factory.mktemp("export-pdf")
    xlsx, pdf = export(scored_sample[0], out, pdf=True)
    return xlsx, pdf


# ------------------------------------------------------------------------------------------ grouping for xdist


def _xdist_group(item: pytest.Item) -> str | None:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # not a test function (a doctest, say)
        return None
    if "soffice" in info.names_closure:  # fixtures that need soffice count too
        return LIBREOFFICE_GROUP
    module = item.nodeid.split("::")[0]
    for defs in info.name2fixturedefs.values():
        if any(d.scope != "function" and d.baseid == module for d in defs):
            return module
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            group = _xdist_group(item)
            if group:
                item.add_marker(pytest.mark.xdist_group(group))
