"""The sibling `tryton` adapter, for what the scorecard does not judge.

The web adapter proves every judged step through sao. Two chores are not the user's and
are done as the API adapter does them: cleanup after a scenario (Tryton keeps confirmed
sales and posted invoices, which only cancelling and archiving retire), and listing what a
run left behind. Reading a record back into canonical fields after the UI has shown it is
the third: the form shows the same values, and reading them off widgets adds nothing but
guesswork about formatting. The sibling is loaded the way the engine loads any adapter,
so the vendor's JSON-RPC client exists once.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from crmproof import discovery

_SIBLING = discovery.load("tryton", Path(__file__).resolve().parent.parent)

TrytonApi = _SIBLING.adapter
sandbox = _SIBLING.sandbox
# what Tryton says when its session check collides with another client's log-out: sao
# shows the same words in its error dialog
_RPC = importlib.import_module(TrytonApi.__module__.rpartition(".")[0] + ".rpc")
SESSION_RACE = _RPC.SESSION_RACE
# sao shows Tryton's error message as its dialog's first line: the same words decide
refusal_kind = _RPC.refusal_kind

__all__ = ["SESSION_RACE", "TrytonApi", "refusal_kind", "sandbox"]
