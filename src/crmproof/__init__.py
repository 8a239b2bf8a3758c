"""crmproof: make CRM vendors prove that their system supports your processes."""

__version__ = "0.1.0"
