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
    """Write events, in the caller's transaction."""
    LeadEvent.objects.bulk_create([e for e in events if e is not None])


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
    )


def append_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Write ledger rows built by `row`, in the caller's transaction."""
    if rows:
        insert_rows(LeadEvent, COLUMNS, rows)
