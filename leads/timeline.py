"""The lead page's timeline: everything that happened to one lead, in one list.

Touches and touch points (with their text and campaign) come from the activities; stage
changes (with their note, the agreement and the stage definition version the lead moved
under) from StageChange; owners from Assignment; clocks and deals from the ledger;
feedback and its replies from Feedback. Five queries, however long the story — and
however many leads: a company's page shows its people's events in one list the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from agreements import roles

from .models import Activity, Assignment, Feedback, Lead, LeadEvent, StageChange

Side = Activity.Side
SIDES = tuple(Side.values)
LIMIT = 200

# The ledger rows the timeline shows; its other rows repeat what the sources above say.
LEDGER_KINDS = {
    LeadEvent.Kind.CLOCK_MET: "SLA clock met",
    LeadEvent.Kind.CLOCK_BREACHED: "SLA clock breached",
    LeadEvent.Kind.DEAL_OPENED: "Deal opened",
    LeadEvent.Kind.DEAL_WON: "Deal won",
    LeadEvent.Kind.DEAL_LOST: "Deal lost",
}
# Content shared with the lead and opened by the customer read "Shared: <the asset>".
CONTENT_TITLES = {Activity.Kind.CONTENT_SHARED: "Shared", Activity.Kind.CONTENT_OPENED: "Opened"}
CLOCK_KINDS = (LeadEvent.Kind.CLOCK_MET, LeadEvent.Kind.CLOCK_BREACHED)
DEAL_KINDS = (LeadEvent.Kind.DEAL_OPENED, LeadEvent.Kind.DEAL_WON, LeadEvent.Kind.DEAL_LOST)

# Events at the same instant read in this order (an assignment, then the touch, the clock
# it met, the stage it started, the deal that stage opened, the feedback it asked for).
ASSIGNMENT, ACTIVITY, CLOCK, STAGE, DEAL, FEEDBACK = range(6)


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: dt.datetime
    side: str
    kind: str
    title: str
    actor: Any = None
    detail: str = ""
    body: str = ""
    due_at: dt.datetime | None = None
    order: tuple[int, int] = (0, 0)
    lead: Lead | None = None  # set when the timeline holds several leads' events

    @property
    def side_label(self) -> str:
        return Side(self.side).label


def chosen_side(value: str) -> str:
    """The side a page asked for, or "" (every side) for anything else."""
    return value if value in SIDES else ""


def timeline(
    lead: Lead,
    *,
    side: str = "",
    limit: int = LIMIT,
    stage_changes: list[StageChange] | None = None,
    assignments: list[Assignment] | None = None,
) -> list[Entry]:
    """The lead's events of every source (or of one side), newest first, at most `limit`.

    The lead page reads the lead's stage changes (all of them) and latest assignments for its
    own lists: given here (newest first, with the people), the timeline uses them instead of
    reading them again.
    """
    known = Known(stage_changes, assignments)
    return _merged(Of({"lead": lead}), side, limit, known)


def timeline_of_leads(leads: QuerySet[Lead], *, side: str = "", limit: int = LIMIT) -> list[Entry]:
    """The events of several leads (a company's people) in one list, newest first, each
    entry with its `lead`; the same five queries however many leads."""
    return _merged(Of({"lead__in": leads}, with_lead=True), side, limit)


@dataclass(frozen=True)
class Of:
    """Whose events: a filter on the `lead` of each source's rows."""

    where: dict[str, Any]
    with_lead: bool = False

    def rows(self, model: Any, *related: str) -> Any:
        """The model's rows of these leads, with `related` (and the lead, when several)."""
        related = (*related, "lead") if self.with_lead else related
        return model.objects.filter(**self.where).select_related(*related)


@dataclass(frozen=True)
class Known:
    """Rows the caller already read, newest first (None: read them here): every stage
    change, and the latest `limit` assignments (fewer: all of them)."""

    stage_changes: list[StageChange] | None = None
    assignments: list[Assignment] | None = None


def _merged(of: Of, side: str, limit: int, known: Known | None = None) -> list[Entry]:
    side = chosen_side(side)
    known = known or Known()
    entries = [
        *_activities(of, side, limit),
        *_stage_changes(of, side, limit, known.stage_changes),
        *_assignments(of, side, limit, known.assignments),
        *_ledger(of, side, limit),
        *_feedback(of, side, limit),
    ]
    entries.sort(key=lambda e: (e.at, e.order), reverse=True)
    return entries[:limit]


def _lead_of(row: Any, of: Of) -> Lead | None:
    return row.lead if of.with_lead else None


def _activities(of: Of, side: str, limit: int) -> list[Entry]:
    rows = (
        of.rows(Activity, "actor", "campaign")
        .exclude(kind=Activity.Kind.ASSIGNMENT)
        .order_by("-occurred_at", "-id")
    )
    if side:
        rows = rows.filter(side=side)
    return [
        Entry(
            at=a.occurred_at,
            side=a.side,
            kind=a.kind,
            title=_activity_title(a),
            actor=a.actor,
            detail=f"Campaign: {a.campaign.name}" if a.campaign else "",
            body=a.body,
            order=(ACTIVITY, a.pk),
            lead=_lead_of(a, of),
        )
        for a in rows[:limit]
    ]


def _activity_title(a: Activity) -> str:
    """The line's title: "Call · Intro", or for shared content "Shared: Acme case study"."""
    if a.kind in CONTENT_TITLES and a.subject:
        return f"{CONTENT_TITLES[a.kind]}: {a.subject}"
    return a.get_kind_display() + (f" · {a.subject}" if a.subject else "")


# A row with a `by` (a stage change, an assignment) is the sales side's when a person made
# it, the system's when nobody did: whether each side wants `by` empty.
BY_NOBODY = {Side.SALES: False, Side.SYSTEM: True}


def _by_side(rows: Any, side: str) -> Any:
    """The rows (a query, or a list already read) the side shows; None when it shows none."""
    if not side:
        return rows
    if side not in BY_NOBODY:
        return None
    if isinstance(rows, list):
        return [r for r in rows if (r.by_id is None) == BY_NOBODY[side]]
    return rows.filter(by__isnull=BY_NOBODY[side])


def _stage_changes(
    of: Of, side: str, limit: int, known: list[StageChange] | None = None
) -> list[Entry]:
    if known is not None:
        rows = _by_side(known, side)
    else:
        rows = _by_side(of.rows(StageChange, "by", "agreement").order_by("-at", "-id"), side)
    if rows is None:
        return []
    return [
        Entry(
            at=c.at,
            side=Side.SALES if c.by_id else Side.SYSTEM,
            kind="stage_change",
            title=f"{c.get_from_stage_display()} → {c.get_to_stage_display()}",
            actor=c.by,
            detail=_under(c),
            body=c.note,
            order=(STAGE, c.pk),
            lead=_lead_of(c, of),
        )
        for c in rows[:limit]
    ]


def _under(change: StageChange) -> str:
    """Which rules the lead moved under: the stage's definition and the agreement."""
    parts = []
    if change.stage_definition_version is not None:
        parts.append(
            f"{change.get_to_stage_display()} definition v{change.stage_definition_version}"
        )
    if change.agreement is not None:
        parts.append(f"agreement v{change.agreement.version}")
    return f"Under {' · '.join(parts)}" if parts else ""


def _assignments(
    of: Of, side: str, limit: int, known: list[Assignment] | None = None
) -> list[Entry]:
    # The latest `limit` are every side's first `limit` together; one side's only when they
    # are all there are.
    if known is not None and (not side or len(known) < limit):
        rows = _by_side(known, side)
    else:
        rows = _by_side(
            of.rows(Assignment, "from_owner", "to_owner", "by").order_by("-at", "-id"), side
        )
    if rows is None:
        return []
    return [_assignment(a, _lead_of(a, of)) for a in rows[:limit]]


def _assignment(a: Assignment, lead: Lead | None) -> Entry:
    to = roles.display_name(a.to_owner) if a.to_owner else "the lead desk"
    if a.from_owner is not None:
        title = f"Reassigned from {roles.display_name(a.from_owner)} to {to}"
    else:
        title = f"Assigned to {to}"
    detail = f"Routing rule: {a.rule}" if a.rule else ""
    return Entry(
        at=a.at,
        side=Side.SALES if a.by_id else Side.SYSTEM,
        kind="assignment",
        title=title,
        actor=a.by,
        detail=detail,
        body=a.reason,
        order=(ASSIGNMENT, a.pk),
        lead=lead,
    )


def _ledger(of: Of, side: str, limit: int) -> list[Entry]:
    kinds = {"": (*CLOCK_KINDS, *DEAL_KINDS), Side.SYSTEM: CLOCK_KINDS, Side.SALES: DEAL_KINDS}
    if side not in kinds:
        return []
    rows = of.rows(LeadEvent, "actor", "owner").filter(kind__in=kinds[side]).order_by("-at", "-id")
    return [_ledger_entry(e, _lead_of(e, of)) for e in rows[:limit]]


def _ledger_entry(e: LeadEvent, lead: Lead | None) -> Entry:
    is_clock = e.kind in CLOCK_KINDS
    if is_clock:
        holder = roles.display_name(e.owner) if e.owner else "the lead desk"
        detail = f"Held by {holder}"
    else:
        detail = f"Amount {e.amount}" if e.amount is not None else ""
    return Entry(
        at=e.at,
        side=Side.SYSTEM if is_clock else Side.SALES,
        kind=e.kind,
        title=LEDGER_KINDS[e.kind],
        actor=e.actor,
        detail=detail,
        due_at=e.due_at if is_clock else None,
        order=(CLOCK if is_clock else DEAL, e.pk),
        lead=lead,
    )


def _feedback(of: Of, side: str, limit: int) -> list[Entry]:
    if side not in ("", Side.SALES, Side.MARKETING):
        return []
    rows = list(of.rows(Feedback, "author", "reply_to").order_by("-created_at", "-id")[:limit])
    entries = [_feedback_entry(f, _lead_of(f, of)) for f in rows]
    return [e for e in entries if not side or e.side == side]


def _feedback_entry(f: Feedback, lead: Lead | None) -> Entry:
    """Feedback is sales telling marketing; a reply by someone else is marketing answering."""
    root = f.reply_to
    if root is None:
        side, title = Side.SALES, "Feedback to marketing"
        reason = " · ".join(str(x) for x in (f.get_fit_display(), f.get_reason_display()) if x)
    else:
        side = Side.SALES if f.author_id == root.author_id else Side.MARKETING
        title, reason = "Reply on feedback", ""
    return Entry(
        at=f.created_at,
        side=side,
        kind="feedback",
        title=title,
        actor=f.author,
        detail=reason,
        body=f.text,
        order=(FEEDBACK, f.pk),
        lead=lead,
    )
