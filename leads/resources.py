"""django-import-export resources: Ops's admin import and export of leads.

The admin import runs row by row through import-export (with its own preview
and confirm pages), but with the same rules as the list import: headers are
mapped by the same presets, every cell is cleaned by the same column classes,
leads are matched by normalized email, an existing lead only gets its empty
fields filled, and new leads enter the chosen channel's entry stage.
Every export escapes formula-looking cells (leads.spreadsheet).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from import_export import fields, resources

from . import importing, routing
from .models import Activity, Lead
from .spreadsheet import safe_cell

IMPORT_COLUMNS = ("email", *importing.FILL_FIELDS)


class LeadResource(resources.ModelResource):
    """Leads by email; the admin form chooses the channel new leads enter."""

    stage = fields.Field(attribute="stage", column_name="stage", readonly=True)

    class Meta:
        model = Lead
        import_id_fields = ("email",)
        fields = (*IMPORT_COLUMNS, "stage", "created_at")
        export_order = (*IMPORT_COLUMNS, "stage", "created_at")
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = False

    def __init__(self, channel: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channel = channel
        self.personas: routing.PersonaMatcher | None = None

    # --- import ------------------------------------------------------------
    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        """Rename vendor headers to our columns (same presets as the list import)."""
        if self.channel is None:
            raise ValidationError("Choose the channel the leads come from.")
        mapping = importing.auto_mapping(list(dataset.headers or []))
        if "email" not in mapping:
            raise ValidationError("No column of this file holds the email address.")
        seen: set[str] = set()
        headers = []
        for header, identifier in zip(dataset.headers, mapping, strict=True):
            if identifier and identifier not in seen:
                headers.append(identifier)
                seen.add(identifier)
            else:
                headers.append(f"ignored: {header}")
        dataset.headers = headers
        self.personas = routing.PersonaMatcher.active()

    def before_import_row(self, row: Any, **kwargs: Any) -> None:
        """Clean every cell with the list import's column classes; name the column on error."""
        values: dict[str, str] = {}
        for identifier in ("email", *importing.FILL_FIELDS, "full_name"):
            if identifier not in row:
                continue
            column = importing.COLUMNS[identifier]
            raw = row[identifier]
            try:
                column.assign(column.clean("" if raw is None else str(raw)), values)
            except importing.RowError as exc:
                raise ValidationError({identifier: str(exc)}) from exc
        if not values.get("email"):
            raise ValidationError({"email": "Email is missing."})
        for identifier in IMPORT_COLUMNS:
            row[identifier] = values.get(identifier, "")

    def init_instance(self, row: Any = None) -> Lead:
        now = timezone.now()
        persona = (
            self.personas.match(
                row.get("title", ""), row.get("industry", ""), row.get("country", "")
            )
            if self.personas and row
            else None
        )
        return Lead(
            stage=self.channel.entry_stage,
            channel=self.channel,
            persona=persona,
            created_at=now,
            stage_entered_at=now,
        )

    def import_field(
        self, field: Any, instance: Any, row: Any, is_m2m: bool = False, **kwargs: Any
    ) -> None:
        # An existing lead only gets its empty fields filled: a rep's data is never overwritten.
        if instance.pk and field.attribute and getattr(instance, field.attribute, ""):
            return
        if not row.get(field.column_name):
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)

    def after_save_instance(self, instance: Lead, row: Any, **kwargs: Any) -> None:
        if kwargs.get("dry_run"):
            return
        Activity.objects.get_or_create(
            lead=instance,
            once_key=f"admin-import:{timezone.now():%Y-%m-%d}",
            defaults={
                "side": Activity.Side.MARKETING,
                "kind": Activity.Kind.LIST_IMPORT,
                "subject": "Appeared in a list imported by Ops",
            },
        )

    # --- export ------------------------------------------------------------
    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        return safe_cell(super().export_field(field, instance, **kwargs))
