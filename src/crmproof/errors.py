"""The one family of exceptions crmproof raises for things a user can fix.

The CLI catches `CrmproofError` and prints its message; anything else is a bug of ours and
keeps its traceback, so a real defect is never disguised as a polite message. Each family
names where the mistake lies, so a caller can catch just the one it can handle.
"""

from __future__ import annotations

__all__ = [
    "AdapterLoadError",
    "CrmproofError",
    "PlanError",
    "ResultsError",
    "ResumeError",
    "UsageError",
    "UserInputError",
]


class CrmproofError(Exception):
    """A problem the user can fix; the message says what, where and, if possible, how."""


class UserInputError(CrmproofError):
    """A workspace file, an option or an argument is wrong."""


class UsageError(UserInputError):
    """The command line's own words are wrong (an argument names nothing): exit 2."""


class PlanError(CrmproofError):
    """The filters or the vendors chosen give no plan that can run."""


class ResumeError(CrmproofError):
    """A run cannot be resumed (finished, unknown, or its scenarios changed)."""


class ResultsError(CrmproofError):
    """A results.jsonl (or another run file) is missing, corrupt or of another version."""


class AdapterLoadError(CrmproofError):
    """An adapter cannot be found, imported, started or spoken to."""
