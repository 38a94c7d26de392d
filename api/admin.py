"""Ops create and revoke API tokens here; the secret is shown once, then only its prefix."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from . import tokens
from .models import ApiToken, Scope


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What this integration may do; nothing else is allowed.",
    )

    class Meta:
        model = ApiToken
        fields = ("name", "channel", "scopes")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = (
        "name",
        "channel",
        "prefix",
        "scope_list",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("channel",)
    list_select_related = ("channel",)
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        if obj is None:
            return ["name", "channel", "scopes"]
        return ["name", "channel", "scopes", *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> Any:
        # The channel is the one its intake token records lead posts under: fixed.
        return self.readonly_fields if obj is None else ("channel", *self.readonly_fields)

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = tokens.issue(obj.channel, obj.name, obj.scopes, by=request.user)
        obj.pk = token.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            format_html(
                "Token for {}: <code>{}</code> — copy it now, it is not shown again. "
                "Send it as <code>Authorization: Bearer …</code> to <code>/api/v1/</code>.",
                obj.name,
                raw,
            ),
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset.select_related("intake_token"):
            tokens.revoke(token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)
