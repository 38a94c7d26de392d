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

from django.db.models import Exists, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from agreements.stages import CLOSED_STAGES, Stage
from config.db import in_chunks, insert_rows

from .models import (
    JUNK_REASON,
    LEAD_FACTS,
    LEDGER_FACTS,
    MQL_ENTRY,
    Deal,
    Lead,
    LeadEvent,
    restamp_entry_facts,
)

Kind = LeadEvent.Kind

# The kinds of event that may be an earlier MQL entry's outcome (see OUTCOMES).
SETTLING = frozenset({Kind.STAGE_ENTERED, Kind.SALES_TOUCH, Kind.DEAL_WON})

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
    "held_stage",
    *LEDGER_FACTS.values(),
)


def _user_id(user: Any) -> int | None:
    """A person's id; None for the system (no user, or an anonymous one)."""
    return user.pk if getattr(user, "is_authenticated", False) else None


def event(lead: Lead | int, kind: str, at: dt.datetime, **fields: Any) -> LeadEvent:
    """One ledger row, not yet saved. `actor` may be a user or None (the system)."""
    if "actor" in fields:
        fields["actor_id"] = _user_id(fields.pop("actor"))
    if isinstance(lead, int):
        return LeadEvent(lead_id=lead, kind=kind, at=at, **fields)
    # The lead's facts as the service holds it (locked, fresh); `append` reads them for a
    # row made from an id.
    facts = {column: getattr(lead, name) for name, column in LEDGER_FACTS.items()}
    e = LeadEvent(lead_id=lead.pk, kind=kind, at=at, **facts, **fields)
    e._facts_known = True
    return e


def append(events: Iterable[LeadEvent]) -> None:
    """Write events, in the caller's transaction, and settle what they tell the events
    before them: the tenures they end or touch (`settle_tenures`) and the MQL entries
    whose outcome they are (`settle_outcomes`)."""
    events = [e for e in events if e is not None]
    _stamp_facts([e for e in events if not getattr(e, "_facts_known", False)])
    written = LeadEvent.objects.bulk_create(events)
    for e in written:
        settle_tenures(e)
        settle_outcomes(e)
    keep_held_stage({e.lead_id for e in written if e.kind in HOLDING})
    restamp_entry_facts({e.lead_id for e in written if e.kind == Kind.STAGE_ENTERED})
    settle_feedback_reasons({e.lead_id for e in written if e.kind in GIVING})
    settle_influence({e.lead_id for e in written if e.kind in INFLUENCING})


# The kinds of event after which a lead's disqualifications look for their feedback again.
GIVING = frozenset({Kind.STAGE_ENTERED, Kind.FEEDBACK})
DISQUALIFICATION = {"kind": Kind.STAGE_ENTERED, "stage": Stage.DISQUALIFIED}


def feedback_reason_given() -> Subquery:
    """For a disqualification (the outer row): the structured reason of the feedback
    given with it — the lead's first feedback with a reason at or after it, before its
    next stage entry."""
    moved_between = LeadEvent.objects.filter(
        kind=Kind.STAGE_ENTERED,
        lead=OuterRef("lead"),
        at__gt=OuterRef(OuterRef("at")),
        at__lt=OuterRef("at"),
    )
    given = (
        LeadEvent.objects.filter(kind=Kind.FEEDBACK, lead=OuterRef("lead"), at__gte=OuterRef("at"))
        .exclude(reason="")
        .filter(~Exists(moved_between))
        .order_by("at", "id")
        .values("reason")[:1]
    )
    return Subquery(given)


def settle_feedback_reasons(lead_ids: Iterable[int] | None = None) -> int:
    """Work out the feedback reason of these leads' disqualifications (None: every lead's)
    from their events, in one statement per IN list; the number of rows. Called
    after each stage entry and feedback, and by a merge for the survivor."""
    entries = LeadEvent.objects.filter(**DISQUALIFICATION)
    reason = Coalesce(feedback_reason_given(), Value(""))
    if lead_ids is None:
        return entries.update(feedback_reason=reason)
    ids = sorted(set(lead_ids))
    return sum(
        entries.filter(lead_id__in=part).update(feedback_reason=reason) for part in in_chunks(ids)
    )


# The kinds of event after which a lead's deal rows look for a touch point before them
# again; the deal rows that say whether one was (`influenced`).
INFLUENCING = frozenset({Kind.TOUCH_POINT, Kind.DEAL_OPENED, Kind.DEAL_WON})
DEAL_KINDS = (Kind.DEAL_OPENED, Kind.DEAL_WON)


def touch_point_before_opening() -> Exists:
    """For a deal's row (the outer row): its lead had a touch point with a campaign
    before the deal opened."""
    opened_at = Deal.objects.filter(pk=OuterRef(OuterRef("deal"))).values("opened_at")[:1]
    points = LeadEvent.objects.filter(
        kind=Kind.TOUCH_POINT,
        campaign__isnull=False,
        lead=OuterRef("lead"),
        at__lt=Subquery(opened_at),
    )
    return Exists(points)


def settle_influence(lead_ids: Iterable[int] | None = None) -> int:
    """Work out whether these leads' deals (None: every lead's) were influenced by
    marketing, on their opened and won rows, in one statement per IN list; the number of
    rows. Called after each touch point and deal, by an import's revert for the leads
    that lost its touch point, and by a merge for the survivor."""
    rows = LeadEvent.objects.filter(kind__in=DEAL_KINDS)
    influenced = touch_point_before_opening()
    if lead_ids is None:
        return rows.update(influenced=influenced)
    ids = sorted(set(lead_ids))
    return sum(
        rows.filter(lead_id__in=part).update(influenced=influenced) for part in in_chunks(ids)
    )


# A bulk row's lead facts not given by its writer (see row).
UNREAD = object()


def _stamp_facts(events: Sequence[LeadEvent]) -> None:
    """Rows made from a lead's id take the lead's facts (channel, campaign, persona)."""
    facts = _facts_of({e.lead_id for e in events})
    for e in events:
        for column, value in zip(LEDGER_FACTS.values(), facts.get(e.lead_id, ()), strict=False):
            setattr(e, column, value)


def _facts_of(lead_ids: Iterable[int]) -> dict[int, tuple[Any, ...]]:
    found = {}
    for part in in_chunks(sorted(set(lead_ids))):
        rows = Lead.with_merged.filter(pk__in=part).values_list("pk", *LEAD_FACTS)
        found.update((pk, tuple(rest)) for pk, *rest in rows)
    return found


# The kinds of event after which a lead's held tenure takes the lead's stage again.
HOLDING = frozenset({Kind.STAGE_ENTERED, Kind.ASSIGNED})


def keep_held_stage(lead_ids: Iterable[int]) -> None:
    """The tenures these leads' holders still hold (assignments not ended) carry the
    lead's stage now (`held_stage`): called after each stage entry and assignment, and by
    a merge for the survivor, whose ledger gained the merged leads' tenures. The lead's
    own row, written before its events, is the stage read."""
    stage_now = Subquery(Lead.with_merged.filter(pk=OuterRef("lead_id")).values("stage")[:1])
    held = LeadEvent.objects.filter(kind=Kind.ASSIGNED, held_until__isnull=True)
    for part in in_chunks(sorted(set(lead_ids))):
        held.filter(lead_id__in=part).update(held_stage=stage_now)


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


# An MQL entry (leads.models.MQL_ENTRY) records what became of it (its outcomes): per
# column, the events whose first at or after it the column holds.
OUTCOMES: dict[str, dict[str, str]] = {
    "touched_at": {"kind": Kind.SALES_TOUCH},
    "accepted_at": {"kind": Kind.STAGE_ENTERED, "stage": Stage.SQL},
    "disqualified_at": {"kind": Kind.STAGE_ENTERED, "stage": Stage.DISQUALIFIED},
    "junked_at": {"kind": Kind.STAGE_ENTERED, "stage": Stage.DISQUALIFIED, "reason": JUNK_REASON},
    "won_at": {"kind": Kind.DEAL_WON},
}


def _is(e: LeadEvent, fields: dict[str, str]) -> bool:
    return all(getattr(e, name) == value for name, value in fields.items())


def settle_outcomes(e: LeadEvent) -> None:
    """What an event tells the lead's MQL entries at or before it: each outcome column it
    matches takes its time where it is empty or later (the first one since the entry
    counts, whatever order events are written in). An MQL entry written after events
    that came later has its outcomes worked out from them."""
    if _is(e, MQL_ENTRY):
        resettle_outcomes([e.lead_id])
        return
    entries = LeadEvent.objects.filter(lead_id=e.lead_id, at__lte=e.at, **MQL_ENTRY)
    for column, fields in OUTCOMES.items():
        if _is(e, fields):
            earlier = Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__gt": e.at})
            entries.filter(earlier).update(**{column: e.at})


def resettle_outcomes(lead_ids: Sequence[int] | None = None) -> int:
    """Work out the outcomes of the given leads' MQL entries (None: every lead's) from
    their events, in one statement; the number of entries. A merge calls it for the
    survivor, whose ledger gained the merged leads' events."""
    entries = LeadEvent.objects.filter(**MQL_ENTRY)
    if lead_ids is not None:
        entries = entries.filter(lead_id__in=lead_ids)
    firsts = {}
    for column, fields in OUTCOMES.items():
        kind, narrower = fields["kind"], {k: v for k, v in fields.items() if k != "kind"}
        # The lead's events of the kind since the entry, the narrower ones counted by a
        # filtered MIN: a WHERE on the stage let SQLite scan every entry of that stage
        # (its (kind, stage, at) index) for each MQL entry.
        since = LeadEvent.objects.filter(lead=OuterRef("lead"), kind=kind, at__gte=OuterRef("at"))
        first = Min("at", filter=Q(**narrower)) if narrower else Min("at")
        firsts[column] = Subquery(
            since.order_by().values("lead").annotate(first=first).values("first")
        )
    return entries.update(**firsts)


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
    held_stage: str = "",
    facts: tuple[Any, ...] | None = None,
) -> tuple[Any, ...]:
    """One ledger row as a tuple in COLUMNS order, for bulk writers (the import). An
    assignment carries the lead's stage (`held_stage`, see keep_held_stage)."""
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
        held_stage,
        # The lead's facts, as the writer read them with the lead; else append_rows does.
        *(facts if facts is not None else (UNREAD,) * len(LEDGER_FACTS)),
    )


def append_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Write ledger rows built by `row`, in the caller's transaction. The bulk writers
    write no outcome of an earlier MQL entry (a new lead's take-in, its clock, its
    assignment and touch points; a breach): an outcome goes through `append`."""
    kind, from_stage = COLUMNS.index("kind"), COLUMNS.index("from_stage")
    held_stage = COLUMNS.index("held_stage")
    for r in rows:
        take_in = r[kind] == Kind.STAGE_ENTERED and r[from_stage] == ""
        if r[kind] in SETTLING and not take_in:
            raise ValueError(f"a {r[kind]} row may settle MQL entries: write it with append()")
        if r[kind] == Kind.ASSIGNED and not r[held_stage]:
            raise ValueError("an assigned row carries the lead's stage (held_stage)")
    if not rows:
        return
    lead, width = COLUMNS.index("lead"), len(COLUMNS) - len(LEDGER_FACTS)
    facts = _facts_of(r[lead] for r in rows if r[width] is UNREAD)
    stamped = [
        (*r[:width], *facts.get(r[lead], (None,) * len(LEDGER_FACTS))) if r[width] is UNREAD else r
        for r in rows
    ]
    insert_rows(LeadEvent, COLUMNS, stamped)
    # Every stage entry here is a new lead's take-in: only an MQL take-in has an entry to
    # stamp, and a new lead has no deal a touch point could have influenced.
    stage = COLUMNS.index("stage")
    taken_in = {r[lead] for r in rows if r[kind] == Kind.STAGE_ENTERED}
    restamp_entry_facts({r[lead] for r in rows if _is_mql_entry(r[kind], r[stage])})
    settle_feedback_reasons(taken_in)
    settle_influence({r[lead] for r in rows if r[kind] in INFLUENCING} - taken_in)


def _is_mql_entry(kind: str, stage: str) -> bool:
    return kind == MQL_ENTRY["kind"] and stage == MQL_ENTRY["stage"]
