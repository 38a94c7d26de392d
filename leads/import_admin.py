"""Admin for lead intake: import batches, saved mappings, routing rules, intake tokens,
and the import-export import of leads for Ops (registered from leads/admin.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from import_export.admin import ImportExportMixin
from import_export.forms import ConfirmImportForm, ImportForm

from agreements.models import Channel

from . import intake
from .models import ImportBatch, IntakeToken, RoutingRule, SavedMapping
from .resources import LeadResource


class LeadImportForm(ImportForm):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(is_active=True),
        help_text="New leads enter this channel's entry stage.",
    )


class LeadConfirmImportForm(ConfirmImportForm):
    channel = forms.ModelChoiceField(queryset=Channel.objects.all(), widget=forms.HiddenInput)


class LeadImportExportMixin(ImportExportMixin):
    """Mixed into LeadAdmin: import with a channel choice, export with escaped cells."""

    resource_classes = [LeadResource]
    import_form_class = LeadImportForm
    confirm_form_class = LeadConfirmImportForm

    def get_confirm_form_initial(self, request: HttpRequest, import_form: Any) -> dict[str, Any]:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["channel"] = import_form.cleaned_data["channel"].pk
        return initial

    def get_import_resource_kwargs(self, request: HttpRequest, **kwargs: Any) -> dict[str, Any]:
        resource_kwargs = super().get_import_resource_kwargs(request, **kwargs)
        form = kwargs.get("form")
        if form is not None and form.is_valid():
            resource_kwargs["channel"] = form.cleaned_data["channel"]
        return resource_kwargs


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
        obj.__dict__.update(token.__dict__)
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
