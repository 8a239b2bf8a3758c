"""DjangoCRM (django-crm-admin), driven through its web UI in a browser."""

from .sandbox import DjangoCrmSandbox

sandbox = DjangoCrmSandbox()
