"""Compile the add-in's VBA in LibreOffice: run by the SYSTEM Python, the one with LibreOffice's ``uno``.

    /usr/bin/python3 tests/lo_vba_compile.py SPEC.json OUT.json

SPEC: ``{"soffice": path, "addin": path, "configs": {id: constants}, "injections": [{"id", "module",
"old", "new"}]}``. LibreOffice opens the add-in with the filter ``Calc MS Excel 2007 VBA XML``
(an ``.xlam`` loads only with it), which imports every VBA module into the library ``VBAProject``.
For each module and each set of conditional-compilation constants (LibreOffice Basic has no
``#If``: inactive lines are commented out first, keeping line numbers), the module goes into a
fresh library beside a probe module, and the probe is called through the document's script
provider: LibreOffice compiles the whole library first, so the probe's known value comes back only
when the module compiled. (A fresh library each time: a failed library repeats its error.)
Each injection replaces ``old`` by ``new`` once in a module and must fail to compile.

Two adjustments for names LibreOffice reserves but VBA allows, on every module alike: parameters
named ``Step``/``Base`` are renamed inside their procedures, and ``Enum`` members set from VBA's
named constants (``VBA.vbBinaryCompare`` ...) get those constants' documented values.

OUT: ``{"version": ..., "modules": {name: source as imported}, "results": {case: true|false}}``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uno  # noqa: E402 - LibreOffice's, only under the system Python
from com.sun.star.beans import PropertyValue

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vba_tools import rename_parameters, resolve_conditionals  # noqa: E402

LO_RESERVED_PARAMETERS = {"step": "step_", "base": "base_"}
VBA_COMPARE_CONSTANTS = {"VBA.vbBinaryCompare": "0", "VBA.vbTextCompare": "1", "VBA.vbDatabaseCompare": "2"}
PROBE_VALUE = 4242
PROBE = f"Option VBASupport 1\nFunction HsProbe()\n    HsProbe = {PROBE_VALUE}\nEnd Function\n"


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def for_libreoffice(source: str, constants: dict) -> str:
    source = resolve_conditionals(source, constants)
    source = rename_parameters(source, LO_RESERVED_PARAMETERS)
    for name, value in VBA_COMPARE_CONSTANTS.items():
        source = source.replace(name, value)
    return source


def main(spec_path: str, out_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    profile = tempfile.mkdtemp(prefix="hscredit-lo-vba-")
    pipe = f"hscredit_vba_{os.getpid()}"
    office = subprocess.Popen(
        [spec["soffice"], "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
         f"-env:UserInstallation={Path(profile).as_uri()}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(240):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                if office.poll() is not None:
                    raise SystemExit(f"soffice exited with {office.returncode}")
                time.sleep(0.5)
        else:
            raise SystemExit("soffice did not start listening")
        smgr = ctx.ServiceManager
        config = smgr.createInstanceWithContext("com.sun.star.configuration.ConfigurationProvider", ctx)
        scripting = config.createInstanceWithArguments(
            "com.sun.star.configuration.ConfigurationUpdateAccess",
            (prop("nodepath", "/org.openoffice.Office.Common/Security/Scripting"),))
        scripting.setPropertyValue("MacroSecurityLevel", 0)
        scripting.commitChanges()
        product = config.createInstanceWithArguments(
            "com.sun.star.configuration.ConfigurationAccess", (prop("nodepath", "/org.openoffice.Setup/Product"),))
        desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(str(Path(spec["addin"]).resolve())), "_blank", 0,
            (prop("FilterName", "Calc MS Excel 2007 VBA XML"), prop("MacroExecutionMode", 4), prop("Hidden", True)))
        libraries = doc.BasicLibraries
        vba = libraries.getByName("VBAProject")
        modules = {name: vba.getByName(name) for name in vba.getElementNames()}
        provider = doc.getScriptProvider()
        counter = iter(range(1, 10_000))

        def compiles(name: str, source: str) -> bool:
            library_name = f"hscheck{next(counter)}"
            library = libraries.createLibrary(library_name)
            library.insertByName(name, source)
            library.insertByName("HsProbeModule", PROBE)
            url = f"vnd.sun.star.script:{library_name}.HsProbeModule.HsProbe?language=Basic&location=document"
            try:
                result = provider.getScript(url).invoke((), (), ())
            except Exception:  # noqa: BLE001 - a failed compile may also surface as an exception
                return False
            return result[0] == PROBE_VALUE

        results = {}
        for config_id, constants in spec["configs"].items():
            for name, source in modules.items():
                results[f"{name}@{config_id}"] = compiles(name, for_libreoffice(source, constants))
        first_config = next(iter(spec["configs"].values()))
        for injection in spec["injections"]:
            source = modules[injection["module"]]
            if source.count(injection["old"]) < 1:
                results[f"inject:{injection['id']}"] = "not found"
                continue
            broken = source.replace(injection["old"], injection["new"], 1)
            results[f"inject:{injection['id']}"] = compiles(injection["module"], for_libreoffice(broken, first_config))
        out = {"version": f"{product.getByName('ooName')} {product.getByName('ooSetupVersion')}",
               "modules": modules, "results": results}
        doc.close(True)
        try:
            desktop.terminate()
        except Exception:  # noqa: BLE001 - the bridge goes away with the office
            pass
        Path(out_path).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    finally:
        try:
            office.wait(timeout=30)
        except subprocess.TimeoutExpired:
            office.kill()
            office.wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
