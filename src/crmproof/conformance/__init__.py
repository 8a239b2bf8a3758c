"""The conformance kit behind `crmproof adapter check`: a vendor's self-test of its adapter.

- `session`: resolve what to check (a vendor, an adapter, a command) and run the kit;
- `kit`: the checks, one per declared capability, sorted into adapter bug or vendor gap;
- `bench`: records for the checks to work on, made and cleaned up on the real vendor;
- `data`: canonical fixture values and the problems of a returned record;
- `link`: the protocol conversation with the adapter, validated message by message;
- `report`: the findings as a terminal table and Markdown.
"""

from crmproof.conformance.session import Report, TargetError, check, resolve_target

__all__ = ["Report", "TargetError", "check", "resolve_target"]
