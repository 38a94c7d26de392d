"""The lead ledger: what happened to each lead, appended by the services that did it.

Every write path (a transition, a touch, an assignment, a take-in, the SLA check's
breaches, a deal, feedback) builds its events here and appends them in its own
transaction. Reports count the ledger; nothing else writes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Q

from agreements.stages import CLOSED_STAGES
from config.db import insert_rows

from .models import Lead, LeadEvent

Kind = LeadEvent.Kind

# The columns of a ledger row written in bulk (see `row`).
COLUMNS = (
    "lead",
    "kind",
    "at",
    "stage",
    "from_stage",
    "owner",
    "actor",
    "campaign",
    "deal",
    "amount",
    "started_at",
    "due_at",
    "customer_wait",
    "routing_delay",
    "rep_response",
    "reason",
    "held_until",
    "untouched_for",
)


def _user_id(user: Any) -> int | None:
    """A person's id; None for the system (no user, or an anonymous one)."""
    return user.pk if getattr(user, "is_authenticated", False) else None


def event(lead: Lead | int, kind: str, at: dt.datetime, **fields: Any) -> LeadEvent:
    """One ledger row, not yet saved. `actor` may be a user or None (the system)."""
    if "actor" in fields:
        fields["actor_id"] = _user_id(fields.pop("actor"))
    lead_id = lead if isinstance(lead, int) else lead.pk
    return LeadEvent(lead_id=lead_id, kind=kind, at=at, **fields)


def append(events: Iterable[LeadEvent]) -> None:
    """Write events, in the caller's transaction, and settle the tenures they end or
    touch (see `settle_tenures`)."""
    written = LeadEvent.objects.bulk_create([e for e in events if e is not None])
    for e in written:
        settle_tenures(e)


def settle_tenures(e: LeadEvent) -> None:
    """What an event tells the lead's tenures (its ASSIGNED rows) that came before it.

    A tenure — one assignment, until reassignment or close — carries when it was held
    until (`held_until`: the next assignment) and how long it went untouched
    (`untouched_for`: until the first of its end, its close and its holder's first sales
    touch), so the reports read a tenure's story from its own row. Only the first fact
    of each kind is kept."""
    ends = e.kind == Kind.ASSIGNED
    closes = e.kind == Kind.STAGE_ENTERED and e.stage in CLOSED_STAGES
    touches = e.kind == Kind.SALES_TOUCH and e.actor_id is not None
    if not (ends or closes or touches):
        return
    open_tenures = LeadEvent.objects.filter(
        Q(held_until__isnull=True) | Q(untouched_for__isnull=True),
        lead_id=e.lead_id,
        kind=Kind.ASSIGNED,
        at__lte=e.at,
    )
    changed = []
    for tenure in open_tenures:
        if tenure.at == e.at and not touches:
            continue  # an end or close at the very instant of the assignment is not after it
        if touches and tenure.owner_id != e.actor_id:
            continue
        before = (tenure.held_until, tenure.untouched_for)
        if ends and tenure.held_until is None:
            tenure.held_until = e.at
        if tenure.untouched_for is None:
            tenure.untouched_for = e.at - tenure.at
        if (tenure.held_until, tenure.untouched_for) != before:
            changed.append(tenure)
    LeadEvent.objects.bulk_update(changed, ["held_until", "untouched_for"])


def row(
    lead_id: int,
    kind: str,
    at: dt.datetime,
    *,
    stage: str = "",
    owner_id: int | None = None,
    campaign_id: int | None = None,
    started_at: dt.datetime | None = None,
    due_at: dt.datetime | None = None,
    amount: Decimal | None = None,
) -> tuple[Any, ...]:
    """One ledger row as a tuple in COLUMNS order, for bulk writers (the import)."""
    return (
        lead_id,
        kind,
        at,
        stage,
        "",
        owner_id,
        None,
        campaign_id,
        None,
        amount,
        started_at,
        due_at,
        None,
        None,
        None,
        "",
        None,
        None,
    )


def append_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Write ledger rows built by `row`, in the caller's transaction."""
    if rows:
        insert_rows(LeadEvent, COLUMNS, rows)
