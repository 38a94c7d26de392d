"""The SLA engine's records in the admin: read-only, for Ops to look into."""

from __future__ import annotations

from django.contrib import admin

from leads.admin import ReadOnlyAdmin

from .models import Breach, PacingSnapshot, SLAWarning, UntouchedFlag


@admin.register(Breach)
class BreachAdmin(ReadOnlyAdmin):
    list_display = ("lead", "due_at", "owner_at_due", "detected_at", "resolved_at", "escalation")
    list_filter = ("escalation", ("resolved_at", admin.EmptyFieldListFilter), "agreement")
    list_select_related = ("lead", "owner_at_due")
    search_fields = ("lead__email", "owner_at_due__username")
    date_hierarchy = "due_at"
    raw_id_fields = ("lead",)


@admin.register(SLAWarning)
class SLAWarningAdmin(ReadOnlyAdmin):
    list_display = ("lead", "due_at", "warned_at", "owner")
    list_select_related = ("lead", "owner")
    search_fields = ("lead__email",)
    raw_id_fields = ("lead",)


@admin.register(UntouchedFlag)
class UntouchedFlagAdmin(ReadOnlyAdmin):
    list_display = ("lead", "threshold_days", "owner", "assigned_at", "flagged_at")
    list_filter = ("threshold_days",)
    list_select_related = ("lead", "owner")
    search_fields = ("lead__email", "owner__username")
    raw_id_fields = ("lead",)


@admin.register(PacingSnapshot)
class PacingSnapshotAdmin(ReadOnlyAdmin):
    list_display = (
        "date",
        "period",
        "figure",
        "delivered",
        "target",
        "expected_by_now",
        "pace_needed_per_day",
        "days_left",
    )
    list_filter = ("period", "figure")
    date_hierarchy = "date"
