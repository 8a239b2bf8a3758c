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

from typing import TYPE_CHECKING, Any

from crmproof.adapter import (
    Adapter,
    AdapterDefinitionError,
    AdapterProblem,
    Refused,
    Unsupported,
    VendorError,
)
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

if TYPE_CHECKING:
    from crmproof.browser import BrowserAdapter

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
    if name == "BrowserAdapter":
        from crmproof.browser import BrowserAdapter

        return BrowserAdapter
    raise AttributeError(f"module 'crmproof' has no attribute '{name}'")
