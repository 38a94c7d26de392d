"""Ops edits definitions, the glossary, channels, calendars and SLA versions here.

Every edit keeps its history (SimpleHistoryAdmin: who, when, before/after). An
active or superseded agreement is shown read-only; "Clone into a new draft" is
how it changes. Signing happens on the playbook (the signers are not staff).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

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
from .touches import TOUCH_KINDS, default_touch_kinds


class SignedPartAdmin(SimpleHistoryAdmin):
    """A part of agreement versions: editable while every version holding it is a draft,
    read-only otherwise; an edit that unsigns a draft says so."""

    def _frozen(self, obj: Any) -> bool:
        if obj is None or obj.pk is None:
            return False
        return (
            Agreement.objects.filter(pk__in=obj.holder_ids())
            .exclude(status=Agreement.Status.DRAFT)
            .exists()
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        obj = self.get_object(request, object_id)
        if obj is not None and self._frozen(obj) and request.method == "GET":
            messages.info(
                request,
                "This belongs to an agreement version that is in force or was: it cannot be "
                "changed. Start a new draft on the playbook and edit the draft's copy.",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "agreement":
            kwargs["queryset"] = Agreement.objects.filter(status=Agreement.Status.DRAFT)
            kwargs["required"] = True
            kwargs["help_text"] = "The draft version these words belong to."
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _signed(self, obj: Any) -> set[int]:
        return set(
            Agreement.objects.filter(pk__in=obj.holder_ids())
            .filter(Q(marketing_signed_by__isnull=False) | Q(sales_signed_by__isnull=False))
            .values_list("version", flat=True)
        )

    def _warn_unsigned(self, request: HttpRequest, before: set[int], obj: Any) -> None:
        still = self._signed(obj) if obj.pk is not None else set()
        for version in sorted(before - still):
            messages.warning(request, unsigned_message(version))

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = self._signed(obj)
        super().save_model(request, obj, form, change)
        self._warn_unsigned(request, before, obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = self._signed(obj)
        holders = obj.holder_ids()
        super().delete_model(request, obj)
        still = set(
            Agreement.objects.filter(pk__in=holders)
            .filter(Q(marketing_signed_by__isnull=False) | Q(sales_signed_by__isnull=False))
            .values_list("version", flat=True)
        )
        for version in sorted(before - still):
            messages.warning(request, unsigned_message(version))


def unsigned_message(version: int) -> str:
    return (
        f"The content of version {version} changed, so its signatures were removed. "
        "Marketing and sales need to sign it again."
    )


@admin.register(StageDefinition)
class StageDefinitionAdmin(SignedPartAdmin):
    list_display = ("name", "stage", "agreement", "level", "owner", "version", "effective_from")
    list_filter = ("agreement", "owner")
    list_select_related = ("agreement",)
    search_fields = ("name", "conditions", "exit_criteria", "rep_actions")
    readonly_fields = ("version", "effective_from")
    fields = (
        "agreement",
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
        return (*self.readonly_fields, "stage", "agreement") if obj else self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Every version carries one definition per stage (copied into each new draft).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Term)
class TermAdmin(SignedPartAdmin):
    list_display = ("name", "abbreviation", "agreement", "owner", "version", "effective_from")
    list_filter = ("agreement", "owner")
    list_select_related = ("agreement",)
    search_fields = ("name", "abbreviation", "definition")
    readonly_fields = ("version", "effective_from")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "agreement") if obj else self.readonly_fields


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

    def _frozen(self, obj: Any) -> bool:
        return SignedPartAdmin._frozen(self, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SignedPartAdmin):
    list_display = ("name", "versions", "time_zone", "workday_start", "workday_end", "working_days")
    inlines = [HolidayInline]

    @admin.display(description="agreement versions")
    def versions(self, obj: BusinessCalendar) -> str:
        numbers = Agreement.objects.filter(calendar=obj).order_by("version")
        return ", ".join(f"v{a.version} ({a.get_status_display().lower()})" for a in numbers) or "—"

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        before = self._signed(form.instance)
        super().save_related(request, form, formsets, change)
        self._warn_unsigned(request, before, form.instance)


@admin.register(Holiday)
class HolidayAdmin(SignedPartAdmin):
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


class AgreementForm(forms.ModelForm):
    """The version's own fields; the kinds of touch as boxes to tick."""

    touch_kinds = forms.MultipleChoiceField(
        choices=TOUCH_KINDS,
        widget=forms.CheckboxSelectMultiple,
        initial=default_touch_kinds,
        label="Activities that count as a sales touch",
        help_text=Agreement._meta.get_field("touch_kinds").help_text,
    )


@admin.register(Agreement)
class AgreementAdmin(SimpleHistoryAdmin):
    form = AgreementForm
    list_display = ("version", "title", "status", "signatures", "effective_from")
    list_filter = ("status",)
    inlines = [ResponseRuleInline, TouchGoalInline, MarketingCommitmentInline]
    actions = ["clone_into_draft", "activate_version"]
    fieldsets = (
        (None, {"fields": ("version", "title", "notes", "status", "links")}),
        (
            "Sales commitments",
            {
                "fields": (
                    "touch_kinds",
                    ("untouched_days_1", "untouched_days_2", "untouched_days_3"),
                ),
                "description": "Response rules and touch goals are below.",
            },
        ),
        (
            "Marketing commitment on content requests",
            {
                "fields": (
                    "content_request_days",
                    "content_request_warn_at_percent",
                    "content_request_escalate_days",
                ),
                "description": "Volume targets are below; empty days: no promise.",
            },
        ),
        ("Qualification and time", {"fields": ("lead_scoring_enabled", "calendar")}),
        (
            "Signatures and dates",
            {
                "fields": (
                    ("marketing_signed_by", "marketing_signed_at"),
                    "marketing_signed_digest",
                    ("sales_signed_by", "sales_signed_at"),
                    "sales_signed_digest",
                    "content_check",
                    ("signatures_cleared_at", "signatures_cleared_because"),
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
        "marketing_signed_digest",
        "sales_signed_by",
        "sales_signed_at",
        "sales_signed_digest",
        "content_check",
        "signatures_cleared_at",
        "signatures_cleared_because",
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
            thresholds = ("touch_kinds", "untouched_days_1", "untouched_days_2", "untouched_days_3")
            requests = (
                "content_request_days",
                "content_request_warn_at_percent",
                "content_request_escalate_days",
            )
            return (*editable, *thresholds, *requests, *self.lifecycle_fields)
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

    @admin.display(description="content digest")
    def content_check(self, obj: Agreement) -> str:
        if obj.pk is None:
            return "—"
        digest = obj.content_digest()
        if not obj.is_signed_by_anyone:
            return f"{digest} (not signed)"
        verdict = "matches" if set(obj.signed_digests().values()) == {digest} else "DOES NOT match"
        return f"{digest} — {verdict} the signed digests"

    @admin.display(description="see also")
    def links(self, obj: Agreement) -> str:
        if obj.pk is None:
            return "—"
        items = [(reverse("leads:playbook") + f"?version={obj.version}", "Playbook view")]
        if obj.is_draft:
            items[0] = (items[0][0], "Preview and sign on the playbook")
        verb = "Edit" if obj.is_draft else "See"
        items.append(
            (
                reverse("admin:agreements_term_changelist") + f"?agreement__id__exact={obj.pk}",
                f"{verb} its glossary",
            )
        )
        items.append(
            (
                reverse("admin:agreements_stagedefinition_changelist")
                + f"?agreement__id__exact={obj.pk}",
                f"{verb} its stage definitions",
            )
        )
        if obj.calendar_id:
            items.append(
                (
                    reverse("admin:agreements_businesscalendar_change", args=[obj.calendar_id]),
                    f"{verb} its business calendar",
                )
            )
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

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        self._was_signed = (
            change
            and Agreement.objects.filter(
                Q(marketing_signed_by__isnull=False) | Q(sales_signed_by__isnull=False), pk=obj.pk
            ).exists()
        )
        # A version added here starts from the words of the one in force, as a clone does:
        # stage definitions cannot be added one by one.
        words_from = None if change else services.words_source()
        super().save_model(request, obj, form, change)
        if words_from is not None:
            services.copy_words(words_from, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        form.instance.refresh_from_db()
        if change and self._was_signed and not form.instance.is_signed_by_anyone:
            messages.warning(request, unsigned_message(form.instance.version))

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
class ResponseRuleAdmin(SignedPartAdmin):
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
