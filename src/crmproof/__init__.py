"""crmproof: make CRM vendors prove that their system supports your processes.

This is the public surface for adapter authors; everything else in the package is the
engine's own and may change. An in-process adapter is written against these names only:

    from crmproof import Adapter, Capabilities, EntitySupport, Operation, Refused

    class MyCrm(Adapter):
        name = "mycrm"

        def capabilities(self) -> Capabilities: ...
        def create_account(self, op: Operation) -> dict: ...

`BrowserAdapter` (Playwright) is imported only when asked for, so an API adapter does
not pay for a browser library it never uses.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmproof.adapter import (
        Adapter,
        AdapterDefinitionError,
        AdapterProblem,
        Refused,
        Unsupported,
        VendorError,
    )
    from crmproof.browser import BrowserAdapter
    from crmproof.errors import CrmproofError
    from crmproof.protocol import (
        PROTOCOL_VERSION,
        Capabilities,
        Effort,
        EntitySupport,
        Evidence,
        Operation,
        Outcome,
        RecordRef,
    )
    from crmproof.sandbox import SandboxError, VendorSandbox

# Each public name is imported from its module when first asked for: `crmproof validate`
# and `crmproof report` import the package too, and must not pay for httpx (the adapter
# base class) or a browser library they never use.
_HOMES = {
    "Adapter": "crmproof.adapter",
    "AdapterDefinitionError": "crmproof.adapter",
    "AdapterProblem": "crmproof.adapter",
    "Refused": "crmproof.adapter",
    "Unsupported": "crmproof.adapter",
    "VendorError": "crmproof.adapter",
    "BrowserAdapter": "crmproof.browser",
    "CrmproofError": "crmproof.errors",
    "PROTOCOL_VERSION": "crmproof.protocol",
    "Capabilities": "crmproof.protocol",
    "Effort": "crmproof.protocol",
    "EntitySupport": "crmproof.protocol",
    "Evidence": "crmproof.protocol",
    "Operation": "crmproof.protocol",
    "Outcome": "crmproof.protocol",
    "RecordRef": "crmproof.protocol",
    "SandboxError": "crmproof.sandbox",
    "VendorSandbox": "crmproof.sandbox",
}

__version__ = "0.1.0"

__all__ = [
    "PROTOCOL_VERSION",
    "Adapter",
    "AdapterDefinitionError",
    "AdapterProblem",
    "BrowserAdapter",
    "Capabilities",
    "CrmproofError",
    "Effort",
    "EntitySupport",
    "Evidence",
    "Operation",
    "Outcome",
    "RecordRef",
    "Refused",
    "SandboxError",
    "Unsupported",
    "VendorError",
    "VendorSandbox",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'crmproof' has no attribute '{name}'")
    value = getattr(import_module(home), name)
    globals()[name] = value  # asked for once
    return value
