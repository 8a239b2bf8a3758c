"""BottleCRM (django-crm 1.35): its local sandbox and its REST API adapter."""

from .adapter import BottleCRMAdapter
from .sandbox import BottleCRMSandbox

adapter = BottleCRMAdapter
sandbox = BottleCRMSandbox()
