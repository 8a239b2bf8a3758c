"""DjangoCRM (django-crm-admin 3.1), driven through its web UI in a browser."""

from .adapter import DjangoCrmAdapter
from .sandbox import DjangoCrmSandbox

adapter = DjangoCrmAdapter
sandbox = DjangoCrmSandbox()

__all__ = ["adapter", "sandbox"]
