"""Leads in the admin: fast on a million rows, transitions as buttons that respect roles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django_fsm.admin import FSMAdminMixin

from . import services
from .models import (
    Account,
    Activity,
    Campaign,
    Deal,
    Feedback,
    Lead,
    LeadError,
    RepProfile,
    StageChange,
    Team,
)

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most COUNT_CAP + 1 rows, so a million-row changelist never counts them all."""

    @cached_property
    def count(self) -> int:
        return self.object_list.values("pk")[: COUNT_CAP + 1].count()


class DisqualifyForm(forms.Form):
    reason = forms.CharField(max_length=200)
    note = forms.CharField(required=False)


class NurtureForm(forms.Form):
    return_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(required=False)


class OpenOpportunityForm(forms.Form):
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    note = forms.CharField(required=False)


class StageChangeInline(admin.TabularInline):
    model = StageChange
    extra = 0
    can_delete = False
    fields = ("at", "from_stage", "to_stage", "transition", "by", "note", "agreement")
    readonly_fields = fields
    ordering = ("-at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    fields = ("occurred_at", "side", "kind", "actor", "subject", "is_touch")
    readonly_fields = fields
    can_delete = False
    ordering = ("-occurred_at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(FSMAdminMixin, admin.ModelAdmin):
    fsm_fields = ["stage"]
    fsm_forms = {
        "disqualify": DisqualifyForm,
        "nurture": NurtureForm,
        "open_opportunity": OpenOpportunityForm,
    }
    list_display = (
        "email",
        "first_name",
        "last_name",
        "company",
        "stage",
        "owner",
        "channel",
        "sla_status",
        "created_at",
    )
    list_filter = ("stage", "sla_status", "channel", ("owner", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email", "first_name", "last_name", "company")
    list_select_related = ("owner", "channel")
    raw_id_fields = ("owner", "account", "campaign")
    readonly_fields = (
        "stage",
        "created_at",
        "updated_at",
        "stage_entered_at",
        "assigned_at",
        "first_touch_at",
        "last_touch_at",
        "sla_due_at",
        "sla_status",
        "sla_rule",
        "sla_agreement",
        "version",
    )
    inlines = [StageChangeInline, ActivityInline]
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    date_hierarchy = None

    def _apply_fsm_transition(
        self,
        *,
        obj: Lead,
        transition_name: str,
        request: HttpRequest,
        kwargs: dict[str, Any] | None = None,
    ) -> bool:
        # Through the service: row lock, permission check and history, as everywhere else.
        try:
            services.run_transition(obj, transition_name, by=request.user, **(kwargs or {}))
        except LeadError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return False
        self.message_user(
            request, f"Done: {services.transition_label(transition_name)}.", messages.SUCCESS
        )
        return True


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "domain", "industry", "country")
    search_fields = ("name", "domain")
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "lead", "side", "kind", "actor", "is_touch")
    list_filter = ("side", "kind", "is_touch")
    search_fields = ("lead__email", "subject")
    list_select_related = ("lead", "actor")
    raw_id_fields = ("lead", "actor")
    show_full_result_count = False
    paginator = CappedCountPaginator


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "channel", "cost", "starts_on", "ends_on")
    list_filter = ("channel",)
    search_fields = ("name",)


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ("lead", "amount", "status", "opened_at", "closed_at")
    list_filter = ("status",)
    raw_id_fields = ("lead", "account", "opened_by")
    list_select_related = ("lead",)


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("lead", "author", "fit", "reason", "created_at")
    list_filter = ("fit", "reason")
    raw_id_fields = ("lead", "author", "reply_to")
    list_select_related = ("lead", "author")


class RepProfileInline(admin.TabularInline):
    model = RepProfile
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "manager")
    inlines = [RepProfileInline]


@admin.register(RepProfile)
class RepProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "is_away", "open_lead_cap")
    list_filter = ("team", "is_away")
    list_editable = ("is_away", "open_lead_cap")

    def get_queryset(self, request: HttpRequest) -> QuerySet[RepProfile]:
        return super().get_queryset(request).select_related("user", "team")
