"""The error of a file that cannot be imported as a whole (files, xlsx and cleaning raise it)."""

from __future__ import annotations

from leads.models import LeadError


class ImportFileError(LeadError):
    """The file as a whole cannot be read; the message says why and what to do."""
