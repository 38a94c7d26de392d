"""Read side for leads: the queue and the lead page, with their joins decided here."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When

from .models import Activity, Lead, StageChange
from .stages import Stage

QUEUE_STAGES = (Stage.MQL, Stage.WORKING, Stage.SQL, Stage.OPPORTUNITY, Stage.NURTURE, Stage.IQL)


def queue_for(user: Any) -> QuerySet[Lead]:
    """The user's own open leads, most urgent first: breached, due soonest, untouched, working."""
    urgency = Case(
        When(sla_status=Lead.SLAStatus.BREACHED, then=Value(0)),
        When(sla_status=Lead.SLAStatus.PENDING, then=Value(1)),
        When(first_touch_at__isnull=True, then=Value(2)),
        When(stage=Stage.WORKING, then=Value(3)),
        default=Value(4),
        output_field=IntegerField(),
    )
    return (
        Lead.objects.filter(owner=user, stage__in=QUEUE_STAGES)
        .select_related("channel", "campaign", "persona", "account")
        .annotate(urgency=urgency)
        .order_by("urgency", "sla_due_at", "-created_at", "id")
    )


def lead_for_page(user: Any, lead_id: int) -> Lead:
    """One lead the user may see, with its relations; Lead.DoesNotExist otherwise."""
    return (
        Lead.objects.visible_to(user)
        .select_related("channel", "campaign", "persona", "account", "owner", "sla_rule")
        .get(pk=lead_id)
    )


def timeline(lead: Lead, limit: int = 200) -> list[Activity]:
    """Marketing, sales and customer activities of a lead, newest first."""
    return list(lead.activities.select_related("actor").order_by("-occurred_at", "-id")[:limit])


def stage_history(lead: Lead) -> list[StageChange]:
    return list(lead.stage_changes.select_related("by", "agreement").order_by("-at", "-id"))
