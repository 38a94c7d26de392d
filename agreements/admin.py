"""Ops edits definitions, the glossary, channels, calendars and SLA versions here.

Every edit keeps its history (SimpleHistoryAdmin: who, when, before/after). An
active or superseded agreement is shown read-only; "Clone into a new draft" is
how it changes. Signing happens on the playbook (the signers are not staff).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from agreements.stages import Stage

from . import services
from .models import (
    Agreement,
    AgreementError,
    BusinessCalendar,
    Channel,
    Holiday,
    MarketingCommitment,
    Persona,
    ResponseRule,
    StageDefinition,
    Term,
    TouchGoal,
)


@admin.register(StageDefinition)
class StageDefinitionAdmin(SimpleHistoryAdmin):
    list_display = ("name", "stage", "level", "owner", "version", "effective_from")
    list_filter = ("owner",)
    search_fields = ("name", "conditions", "exit_criteria", "rep_actions")
    readonly_fields = ("version", "effective_from")
    fields = (
        "stage",
        "name",
        "owner",
        "level",
        "conditions",
        "exit_criteria",
        "rep_actions",
        "response_time",
        "version",
        "effective_from",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The stage value is the link to the graph in code; only its words are Ops'.
        return (*self.readonly_fields, "stage") if obj else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        missing = set(Stage.values) - set(StageDefinition.objects.values_list("stage", flat=True))
        return bool(missing) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Term)
class TermAdmin(SimpleHistoryAdmin):
    list_display = ("name", "abbreviation", "owner", "version", "effective_from")
    list_filter = ("owner",)
    search_fields = ("name", "abbreviation", "definition")
    readonly_fields = ("version", "effective_from")


@admin.register(Channel)
class ChannelAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug", "entry_stage", "allows_cold_prospecting", "is_active")
    list_filter = ("entry_stage", "is_active", "allows_cold_prospecting")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Persona)
class PersonaAdmin(SimpleHistoryAdmin):
    list_display = ("name", "priority", "is_active")
    search_fields = ("name", "title_keywords")


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ("name", "time_zone", "workday_start", "workday_end", "working_days")
    inlines = [HolidayInline]


@admin.register(Holiday)
class HolidayAdmin(SimpleHistoryAdmin):
    list_display = ("date", "name", "calendar")
    list_filter = ("calendar",)
    date_hierarchy = "date"


class AgreementPartInline(admin.TabularInline):
    """Rules, goals and commitments: editable on a draft, frozen on any other version."""

    extra = 0

    def _frozen(self, obj: Any) -> bool:
        return obj is not None and obj.is_read_only

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


class ResponseRuleInline(AgreementPartInline):
    model = ResponseRule
    fields = (
        "stage",
        "channel",
        "within_amount",
        "within_unit",
        "business_time",
        "warn_at_percent",
        "escalate_after_amount",
        "escalate_after_unit",
        "escalate_action",
        "escalate_to",
    )
    autocomplete_fields = ()


class TouchGoalInline(AgreementPartInline):
    model = TouchGoal


class MarketingCommitmentInline(AgreementPartInline):
    model = MarketingCommitment


@admin.register(Agreement)
class AgreementAdmin(SimpleHistoryAdmin):
    list_display = ("version", "title", "status", "signatures", "effective_from")
    list_filter = ("status",)
    inlines = [ResponseRuleInline, TouchGoalInline, MarketingCommitmentInline]
    actions = ["clone_into_draft", "activate_version"]
    fieldsets = (
        (None, {"fields": ("version", "title", "notes", "status", "links")}),
        (
            "Sales commitments",
            {
                "fields": ("untouched_days_1", "untouched_days_2", "untouched_days_3"),
                "description": "Response rules and touch goals are below.",
            },
        ),
        ("Qualification and time", {"fields": ("lead_scoring_enabled", "calendar")}),
        (
            "Signatures and dates",
            {
                "fields": (
                    ("marketing_signed_by", "marketing_signed_at"),
                    ("sales_signed_by", "sales_signed_at"),
                    ("activated_by", "effective_from", "superseded_at"),
                )
            },
        ),
    )
    lifecycle_fields = (
        "status",
        "links",
        "marketing_signed_by",
        "marketing_signed_at",
        "sales_signed_by",
        "sales_signed_at",
        "activated_by",
        "effective_from",
        "superseded_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agreement]:
        return (
            super().get_queryset(request).select_related("marketing_signed_by", "sales_signed_by")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and obj.is_read_only:
            editable = ("version", "title", "notes", "calendar", "lead_scoring_enabled")
            thresholds = ("untouched_days_1", "untouched_days_2", "untouched_days_3")
            return (*editable, *thresholds, *self.lifecycle_fields)
        return self.lifecycle_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_read_only:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description="signed")
    def signatures(self, obj: Agreement) -> str:
        sides = [
            name
            for name, user_id in (
                ("marketing", obj.marketing_signed_by_id),
                ("sales", obj.sales_signed_by_id),
            )
            if user_id
        ]
        return " + ".join(sides) or "—"

    @admin.display(description="see also")
    def links(self, obj: Agreement) -> str:
        if obj.pk is None:
            return "—"
        items = [(reverse("leads:playbook") + f"?version={obj.version}", "Playbook view")]
        if obj.is_draft:
            items[0] = (items[0][0], "Preview and sign on the playbook")
        previous = (
            Agreement.objects.filter(version__lt=obj.version)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        if previous is not None:
            url = reverse("agreements:changes") + f"?from={previous}&to={obj.version}"
            items.append((url, f"What changed since version {previous}"))
        return format_html_join(" · ", '<a href="{}">{}</a>', items)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        changed = form.has_changed() or any(f.has_changed() for f in formsets)
        if change and changed and services.clear_signatures(form.instance):
            messages.warning(
                request,
                f"The terms of version {form.instance.version} changed, so its signatures were "
                "removed. Marketing and sales need to sign it again.",
            )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        obj = self.get_object(request, object_id)
        if obj is not None and obj.is_read_only and request.method == "GET":
            messages.info(request, obj.read_only_message())
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Clone into a new draft", permissions=["add"])
    def clone_into_draft(self, request: HttpRequest, queryset: QuerySet[Agreement]) -> None:
        for agreement in queryset.order_by("version"):
            draft = services.clone(agreement, by=request.user)
            url = reverse("admin:agreements_agreement_change", args=[draft.pk])
            messages.success(
                request,
                format_html(
                    'Version {} was cloned into draft <a href="{}">version {}</a>. Edit it, then '
                    "ask marketing and sales to sign it on the playbook.",
                    agreement.version,
                    url,
                    draft.version,
                ),
            )

    @admin.action(description="Activate (supersedes the active version)", permissions=["change"])
    def activate_version(self, request: HttpRequest, queryset: QuerySet[Agreement]) -> None:
        if queryset.count() != 1:
            messages.error(request, "Choose exactly one version to activate.")
            return
        agreement = queryset.get()
        previous = Agreement.current()
        try:
            services.activate(agreement, by=request.user)
        except AgreementError as exc:
            messages.error(request, str(exc))
            return
        replaced = f"; version {previous.version} is superseded" if previous else ""
        messages.success(request, f"Version {agreement.version} is now in force{replaced}.")


@admin.register(ResponseRule)
class ResponseRuleAdmin(SimpleHistoryAdmin):
    """Rules are edited inside their agreement; this list is for searching and history."""

    list_display = (
        "agreement",
        "stage",
        "channel",
        "within_amount",
        "within_unit",
        "business_time",
    )
    list_filter = ("agreement", "stage", "business_time")
    list_select_related = ("agreement", "channel")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.agreement.is_read_only:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.agreement.is_read_only:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "agreement":
            kwargs["queryset"] = Agreement.objects.filter(status=Agreement.Status.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
