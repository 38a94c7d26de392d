"""Read side for leads: the queue, the lead page, the team, the desk and the feedback inbox.

Every page's joins are decided here, so each page runs a fixed number of queries
whatever the number of leads (the view tests assert it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from agreements.stages import OPEN_STAGES, Stage

from .models import (
    Activity,
    Assignment,
    Deal,
    Feedback,
    Lead,
    OwnerLoad,
    RepProfile,
    StageChange,
)

# Open stages in funnel order, for filters and the queue.
QUEUE_STAGES = tuple(s for s in Stage if s in OPEN_STAGES)

TIMELINE_LIMIT = 200


class Urgency:
    """The queue's buckets, most urgent first (the value is the sort key)."""

    BREACHED = 0
    DUE = 1
    NEW = 2
    WORKING = 3
    RETURNING = 4
    NURTURING = 5

    LABELS = {
        BREACHED: "SLA breached",
        DUE: "SLA clock running",
        NEW: "New, never touched",
        WORKING: "Working",
        RETURNING: "Back from nurture",
        NURTURING: "Nurturing",
    }
    KEYS = {
        BREACHED: "breached",
        DUE: "due",
        NEW: "new",
        WORKING: "working",
        RETURNING: "returning",
        NURTURING: "nurturing",
    }


def _urgency(today: dt.date) -> Case:
    breached_untouched = Q(sla_status=Lead.SLAStatus.BREACHED) & (
        Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=F("sla_due_at"))
    )
    return Case(
        When(breached_untouched, then=Value(Urgency.BREACHED)),
        When(sla_status=Lead.SLAStatus.PENDING, then=Value(Urgency.DUE)),
        When(stage=Stage.NURTURE, nurture_until__lte=today, then=Value(Urgency.RETURNING)),
        When(stage=Stage.NURTURE, then=Value(Urgency.NURTURING)),
        When(first_touch_at__isnull=True, then=Value(Urgency.NEW)),
        default=Value(Urgency.WORKING),
        output_field=IntegerField(),
    )


def by_urgency(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Annotate `urgency` and order most urgent first, then by due date and staleness."""
    return (
        leads.select_related("channel", "campaign", "persona", "account", "owner")
        .annotate(urgency=_urgency(timezone.localdate()))
        .order_by(
            "urgency",
            F("sla_due_at").asc(nulls_last=True),
            F("nurture_until").asc(nulls_last=True),
            F("last_touch_at").asc(nulls_first=True),
            "-created_at",
            "id",
        )
    )


def queue_page(leads: QuerySet[Lead], number: Any, per_page: int) -> Page:
    """One page of a queue: the sort runs over narrow rows, only the leads shown are joined.

    Sorting a rep's whole open set joined to its channel, campaign, persona, account and
    owner is what made big queues slow; the page's ids are a subquery, so it is one query.
    """
    paginator = Paginator(leads, per_page)
    shown = paginator.get_page(number)
    return Page(leads.filter(pk__in=shown.object_list.values("pk")), shown.number, paginator)


def queue_for(user: Any) -> QuerySet[Lead]:
    """A user's own open leads, most urgent first (see Urgency for the buckets)."""
    return by_urgency(Lead.objects.filter(owner=user, stage__in=QUEUE_STAGES))


def desk_leads() -> QuerySet[Lead]:
    """Open leads nobody owns, most urgent first."""
    return by_urgency(Lead.objects.filter(owner__isnull=True, stage__in=QUEUE_STAGES))


def urgency_counts(leads: QuerySet[Lead]) -> dict[str, int]:
    """How many leads of a queue are in each urgency bucket, in one query."""
    # GROUP BY the bucket, so the CASE is worked out once per lead, not once per bucket.
    grouped = (
        leads.annotate(urgency=_urgency(timezone.localdate()))
        .order_by()
        .values("urgency")
        .annotate(n=Count("pk"))
    )
    found = {row["urgency"]: row["n"] for row in grouped}
    return {key: found.get(value, 0) for value, key in Urgency.KEYS.items()}


def filter_leads(leads: QuerySet[Lead], filters: dict[str, Any]) -> QuerySet[Lead]:
    """Apply the queue filters (stage, channel, campaign, persona, bucket, search words)."""
    if filters.get("stage"):
        leads = leads.filter(stage=filters["stage"])
    for name in ("channel", "campaign", "persona"):
        if filters.get(name):
            leads = leads.filter(**{name: filters[name]})
    bucket = filters.get("bucket")
    if bucket:
        value = {key: value for value, key in Urgency.KEYS.items()}.get(bucket)
        if value is not None:
            leads = leads.filter(urgency=value)
    for word in (filters.get("q") or "").split()[:5]:
        leads = leads.filter(
            Q(email__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company__icontains=word)
        )
    return leads


# --- The lead page ---------------------------------------------------------------


def lead_for_page(user: Any, lead_id: int) -> Lead:
    """One lead the user may see, with its relations; Lead.DoesNotExist otherwise."""
    return (
        Lead.objects.visible_to(user)
        .select_related(
            "channel",
            "campaign",
            "persona",
            "account",
            "owner__rep_profile__team",
            "sla_rule",
            "sla_agreement",
        )
        .get(pk=lead_id)
    )


def timeline(lead: Lead, limit: int = TIMELINE_LIMIT) -> list[Activity]:
    """Marketing, sales, customer and system activities of a lead in one list, newest first."""
    return list(lead.activities.select_related("actor").order_by("-occurred_at", "-id")[:limit])


def stage_history(lead: Lead) -> list[StageChange]:
    """Every stage change of a lead, newest first."""
    return list(lead.stage_changes.select_related("by", "agreement").order_by("-at", "-id"))


def deals(lead: Lead) -> list[Deal]:
    """A lead's deals with who opened them, newest first."""
    return list(lead.deals.select_related("opened_by").order_by("-opened_at", "-id"))


def feedback_threads(lead: Lead) -> list[Feedback]:
    """Top-level feedback on a lead with its replies (`thread_replies`), oldest first."""
    replies = Prefetch(
        "replies",
        queryset=Feedback.objects.select_related("author").order_by("created_at", "id"),
        to_attr="thread_replies",
    )
    return list(
        lead.feedback.filter(reply_to__isnull=True)
        .select_related("author")
        .prefetch_related(replies)
        .order_by("created_at", "id")
    )


def assignments(lead: Lead, limit: int = 20) -> list[Assignment]:
    """A lead's latest owner changes with who made them, newest first."""
    return list(
        lead.assignments.select_related("from_owner", "to_owner", "by").order_by("-at", "-id")[
            :limit
        ]
    )


# --- Managers ------------------------------------------------------------------


def managed_reps(manager: Any) -> QuerySet[RepProfile]:
    """The reps of a manager's teams (all reps for a superuser)."""
    reps = RepProfile.objects.select_related("user", "team")
    if not manager.is_superuser:
        reps = reps.filter(team__manager=manager)
    return reps.order_by("team__name", "user__first_name", "user__username")


def team_load(manager: Any) -> QuerySet[RepProfile]:
    """Each rep of the manager's teams with open, breached, untouched and due counts.

    The counts come from OwnerLoad, which triggers keep per owner, so the page costs one
    row per rep however many leads the team has handled.
    """
    return managed_reps(manager).annotate(
        **{
            figure: Coalesce(F(f"user__lead_load__{figure}"), Value(0))
            for figure in ("open_leads", "breached", "untouched", "due")
        }
    )


def desk_count() -> int:
    """Open leads nobody owns, from the desk's trigger-kept row (see OwnerLoad)."""
    load = OwnerLoad.objects.filter(owner_id=OwnerLoad.DESK).values_list("open_leads", flat=True)
    return load.first() or 0


# --- Marketing's feedback inbox ---------------------------------------------------

INBOX_GROUPS = {
    "reason": ("reason", "Reason"),
    "channel": ("lead__channel__name", "Channel"),
    "campaign": ("lead__campaign__name", "Campaign"),
    "persona": ("lead__persona__name", "Persona"),
    "fit": ("fit", "Fit"),
}


@dataclass
class InboxGroup:
    key: str
    label: str
    count: int
    filter_value: Any = None
    url: str = ""


def feedback_inbox(filters: dict[str, Any]) -> QuerySet[Feedback]:
    """What sales said about leads (top-level feedback), newest first, with replies."""
    replies = Prefetch(
        "replies",
        queryset=Feedback.objects.select_related("author").order_by("created_at", "id"),
        to_attr="thread_replies",
    )
    items = (
        Feedback.objects.filter(reply_to__isnull=True)
        .select_related(
            "author",
            "lead",
            "lead__channel",
            "lead__campaign",
            "lead__persona",
            "lead__owner",
        )
        .prefetch_related(replies)
        .order_by("-created_at", "-id")
    )
    for name in ("channel", "campaign", "persona"):
        if filters.get(name):
            items = items.filter(**{f"lead__{name}": filters[name]})
    for name in ("reason", "fit"):
        if filters.get(name):
            items = items.filter(**{name: filters[name]})
    if filters.get("unanswered"):
        items = items.exclude(replies__isnull=False)
    return items


def feedback_groups(items: QuerySet[Feedback], group: str) -> list[InboxGroup]:
    """Counts of the (filtered) inbox by one dimension, biggest first, in one query."""
    column, _ = INBOX_GROUPS.get(group, INBOX_GROUPS["reason"])
    id_column = {
        "lead__channel__name": "lead__channel_id",
        "lead__campaign__name": "lead__campaign_id",
        "lead__persona__name": "lead__persona_id",
    }.get(column, column)
    rows = (
        items.order_by()
        .values(column, id_column)
        .annotate(count=Count("pk", distinct=True))
        .order_by("-count", column)
    )
    labels = dict(Feedback.Reason.choices) | dict(Feedback.Fit.choices)
    return [
        InboxGroup(
            key=str(row[id_column] or ""),
            label=labels.get(row[column], row[column]) or "(none)",
            count=row["count"],
            filter_value=row[id_column],
        )
        for row in rows
    ]
