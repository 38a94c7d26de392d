"""django-import-export resources: Ops's admin export of leads.

The admin's Import goes through the list import (leads.import_admin sends it to the
import wizard), so leads enter by one way only; this resource only exports. Every
export escapes formula-looking cells (leads.spreadsheet).
"""

from __future__ import annotations

from typing import Any

from import_export import fields, resources

from .importing.columns import FILL_FIELDS
from .models import Lead
from .spreadsheet import safe_cell

EXPORT_COLUMNS = ("email", *FILL_FIELDS)


class LeadResource(resources.ModelResource):
    """Leads by email, with their stage and when they came in."""

    stage = fields.Field(attribute="stage", column_name="stage", readonly=True)

    class Meta:
        model = Lead
        import_id_fields = ("email",)
        fields = (*EXPORT_COLUMNS, "stage", "created_at")
        export_order = (*EXPORT_COLUMNS, "stage", "created_at")

    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        """The cell as exported, escaped when a spreadsheet would run it as a formula."""
        return safe_cell(super().export_field(field, instance, **kwargs))
