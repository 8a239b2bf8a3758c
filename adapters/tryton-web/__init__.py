"""Tryton 8.0 through sao, its web client, in a browser; the same sandbox as `tryton`."""

from .adapter import TrytonWebAdapter
from .api import sandbox

adapter = TrytonWebAdapter

__all__ = ["adapter", "sandbox"]
