"""Admin for lead intake: import batches, saved mappings, routing rules, intake tokens,
and the leads' import/export buttons for Ops (mixed into LeadAdmin in leads/admin.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.html import format_html
from import_export.admin import ImportExportMixin

from . import intake
from .importing.files import over_upload_cap
from .models import ImportBatch, IntakeToken, RoutingRule, SavedMapping
from .resources import LeadResource


class LeadImportExportMixin(ImportExportMixin):
    """Mixed into LeadAdmin: export with escaped cells; Import opens the list import wizard.

    Leads enter by one way only: the wizard's batch import (cleaning, dedupe, routing,
    campaign touch point, clocks), never import-export's own row saving.
    """

    resource_classes = [LeadResource]

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """Send Ops to the import wizard, where the file becomes an ImportBatch that a
        worker imports. A file posted here is neither kept nor read; one over the
        upload cap is refused with the page's own words."""
        upload = request.FILES.get("import_file")
        too_large = over_upload_cap(upload.size) if upload is not None else ""
        if too_large:
            messages.error(request, too_large)
        else:
            messages.info(
                request, "Lists are imported here: upload, check the preview, then confirm."
            )
        return redirect("leads:imports")

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        """No row saving of import-export's own: its confirm step goes to the wizard too."""
        return redirect("leads:imports")


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "file_name",
        "channel",
        "campaign",
        "created_by",
        "status",
        "created",
        "updated",
        "unchanged",
        "rejected",
        "page",
    )
    list_filter = ("status", "channel")
    search_fields = ("file_name", "campaign__name")
    list_select_related = ("channel", "campaign", "created_by")
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Page")
    def page(self, obj: ImportBatch) -> str:
        return format_html('<a href="{}">open</a>', obj.get_absolute_url())


@admin.register(SavedMapping)
class SavedMappingAdmin(admin.ModelAdmin):
    list_display = ("name", "created_by", "created_at")
    search_fields = ("name",)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "persona", "country", "channel", "team", "is_active")
    list_editable = ("priority", "is_active")
    list_filter = ("team", "channel", "is_active")
    list_select_related = ("persona", "channel", "team")


@admin.register(IntakeToken)
class IntakeTokenAdmin(admin.ModelAdmin):
    """Ops creates a token per form or tool; the secret is shown once, then only its prefix."""

    list_display = ("name", "channel", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("channel",)
    list_select_related = ("channel",)
    fields = ("channel", "name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: IntakeToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = intake.issue_token(obj.channel, obj.name, by=request.user)
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            format_html(
                "Token for {}: <code>{}</code> — copy it now, it is not shown again. "
                "Send it as <code>Authorization: Bearer …</code> to <code>/intake/{}/</code>.",
                obj.name,
                raw,
                obj.channel.slug,
            ),
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[IntakeToken]) -> None:
        for token in queryset:
            intake.revoke_token(token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)
