"""Settling a breach when a lead's first sales touch comes after its due time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from leads.clock import owner_at
from leads.models import Lead

from .context import managers_of
from .models import Breach


def record_late_touch(lead: Lead, at: dt.datetime, **kwargs: Any) -> None:
    """Settle the breach of a lead whose first sales touch came after its due time.

    leads.clock sends `touched_after_due` for it, in the touch's transaction. The lead stays
    breached; the breach records when it was finally touched. A touch that beat the
    check to a clock that had already run out records the breach itself (nobody is
    notified: the lead is being worked).
    """
    if lead.sla_status != Lead.SLAStatus.BREACHED or lead.sla_due_at is None:
        return
    if at <= lead.sla_due_at:
        return
    touched = at  # the first touch on this clock (leads.clock sends no other)
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
