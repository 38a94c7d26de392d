"""Settling a breach when a lead's first sales touch comes after its due time, and who
owned a lead at a given instant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from leads.models import Assignment, Lead

from .context import managers_of
from .models import Breach


def owner_at(lead: Lead, instant: dt.datetime) -> int | None:
    """Who owned `lead` at `instant`: whoever the first move after it took the lead from
    (None: the lead desk), else its owner now (the rule of `_owner_at_due`, for one lead)."""
    later = (
        Assignment.objects.filter(lead=lead, at__gt=instant)
        .order_by("at", "id")
        .values_list("from_owner_id", flat=True)[:1]
    )
    moved = list(later)
    return moved[0] if moved else lead.owner_id


def record_late_touch(lead: Lead, at: dt.datetime, **kwargs: Any) -> None:
    """Settle the breach of a lead whose first sales touch came after its due time.

    leads.clock sends `touched_after_due` for it, in the touch's transaction. The lead stays
    breached; the breach records when it was finally touched. A touch that beat the
    check to a clock that had already run out records the breach itself (nobody is
    notified: the lead is being worked).
    """
    if lead.sla_status != Lead.SLAStatus.BREACHED or lead.sla_due_at is None:
        return
    if lead.first_touch_at is None or lead.first_touch_at <= lead.sla_due_at:
        return
    touched = lead.first_touch_at
    if Breach.objects.filter(lead=lead, due_at=lead.sla_due_at, resolved_at__isnull=True).update(
        resolved_at=touched
    ):
        return
    owner = owner_at(lead, lead.sla_due_at)
    Breach.objects.bulk_create(
        [
            Breach(
                lead=lead,
                rule_id=lead.sla_rule_id,
                agreement_id=lead.sla_agreement_id,
                due_at=lead.sla_due_at,
                detected_at=at,
                owner_at_due_id=owner,
                manager_at_due_id=managers_of([owner]).get(owner) if owner else None,
                resolved_at=touched,
            )
        ],
        ignore_conflicts=True,
    )
