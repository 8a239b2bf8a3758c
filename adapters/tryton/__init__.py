"""Tryton 8.0: a local sandbox and an adapter over its JSON-RPC API."""

from .adapter import TrytonAdapter
from .sandbox import TrytonSandbox

adapter = TrytonAdapter
sandbox = TrytonSandbox()

__all__ = ["adapter", "sandbox"]
