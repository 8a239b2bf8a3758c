"""Finding adapters: by path in the workspace's `adapters/`, or by entry point.

An adapter package exports `adapter` (an `Adapter` subclass) and, if crmproof can run
the vendor locally, `sandbox` (a `VendorSandbox` instance). The engine imports adapters
only through here, by name, so it never depends on any vendor.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from crmproof.errors import AdapterLoadError

if TYPE_CHECKING:  # listing adapters (`crmproof validate`) needs neither, nor httpx
    from crmproof.adapter import Adapter
    from crmproof.sandbox import VendorSandbox

ENTRY_POINT_GROUP = "crmproof.adapters"


@dataclass
class AdapterPackage:
    name: str
    adapter: type[Adapter]
    sandbox: VendorSandbox | None
    origin: str


# One import at a time: vendor workers load adapters in parallel, and an adapter that
# loads a sibling (tryton-web uses tryton's) must never see it half-imported.
_IMPORT_LOCK = threading.RLock()


def _load_path(name: str, folder: Path) -> ModuleType:
    with _IMPORT_LOCK:
        return _load_path_locked(name, folder)


def _load_path_locked(name: str, folder: Path) -> ModuleType:
    module_name = f"crmproof_workspace_adapters.{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    if "crmproof_workspace_adapters" not in sys.modules:
        parent = ModuleType("crmproof_workspace_adapters")
        parent.__path__ = []  # a namespace for workspace adapters
        sys.modules["crmproof_workspace_adapters"] = parent
    spec = importlib.util.spec_from_file_location(
        module_name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def available(adapters_dir: Path) -> list[str]:
    names = {p.parent.name for p in adapters_dir.glob("*/__init__.py")}
    names |= {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def load(name: str, adapters_dir: Path) -> AdapterPackage:
    """The adapter called `name`: the workspace's own first, then installed packages."""
    folder = adapters_dir / name
    if (folder / "__init__.py").exists():
        origin = str(folder)
        try:
            module = _load_path(name, folder)
        except Exception as exc:
            raise AdapterLoadError(
                f"adapter '{name}' ({origin}) failed to import: {type(exc).__name__}: {exc}"
            ) from exc
    else:
        matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            import difflib

            known = available(adapters_dir)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise AdapterLoadError(
                f"no adapter '{name}'{hint}; known: {', '.join(known) or 'none'}"
            )
        module = matches[0].load()
        origin = f"entry point {matches[0].value}"
    from crmproof.adapter import Adapter

    adapter = getattr(module, "adapter", None)
    if not (isinstance(adapter, type) and issubclass(adapter, Adapter)):
        raise AdapterLoadError(f"adapter '{name}' ({origin}) exports no Adapter subclass `adapter`")
    return AdapterPackage(name, adapter, getattr(module, "sandbox", None), origin)
