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
from django.utils import timezone

from agreements.stages import CLOCK_STOPPING_STAGES, OPEN_STAGES, Stage

from . import clock
from .models import (
    Assignment,
    Deal,
    Feedback,
    Lead,
    LeadEvent,
    RepProfile,
    StageChange,
)

# Open stages in funnel order, for filters and the queue.
QUEUE_STAGES = tuple(s for s in Stage if s in OPEN_STAGES)
# Stages only marketing works (the playbook's stage owners): sales does not contact a
# Suspect or a Fan, so an unowned one is marketing's, not the lead desk's.
MARKETING_ONLY_STAGES = (Stage.SUSPECT, Stage.FAN)
# The open stages sales works: what the lead desk holds when nobody owns the lead.
DESK_STAGES = tuple(s for s in QUEUE_STAGES if s not in MARKETING_ONLY_STAGES)


class Urgency:
    """The queue's buckets, most urgent first (the value is the sort key).

    Every workspace figure is one of these buckets (or their sum, the open leads): the
    rep's queue, the manager's view of it, the team page's columns and its lead desk row,
    the desk page. Each open lead is in exactly one bucket, the first whose rule in
    `_bucket_rules` it matches.
    """

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
    # What each bucket holds, in the words the pages print under their tables.
    DEFINITIONS = {
        BREACHED: "the SLA clock ran out and nobody touched the lead since the clock "
        "started (nor put it in nurture)",
        DUE: "an SLA clock is running",
        RETURNING: "in nurture and its return date has come",
        NURTURING: "in nurture until its return date",
        NEW: "no sales touch ever, no clock running",
        WORKING: "every other open lead",
    }


def open_leads() -> Q:
    """Leads in an open stage: the ones a queue holds (the sum of the urgency buckets)."""
    return Q(stage__in=QUEUE_STAGES)


def back_from_nurture(today: dt.date) -> Q:
    """Leads in nurture whose return date has come (the queue's "Back from nurture")."""
    return Q(stage=Stage.NURTURE, nurture_until__lte=today)


def untouched_tenures(held_since: dt.datetime) -> QuerySet[LeadEvent]:
    """Tenures (the ledger's assignments to a rep) that started at or before `held_since`
    and still go on with no sales touch by their holder, on leads in an open stage other
    than nurture: what the untouched-after-N-days notifications tell.

    "Untouched" is the tenure's own row (`untouched_for`, settled by the holder's first
    sales touch, the next assignment or the lead's close: leads.ledger), the one the
    report's "Untouched after N days" counts: a colleague's or a manager's touch does not
    end it, as it does not in the report."""
    # The holder is the lead's owner: a merge moves the merged leads' tenures to the
    # survivor still held, by reps who no longer hold the lead.
    return LeadEvent.objects.filter(
        kind=LeadEvent.Kind.ASSIGNED,
        owner__isnull=False,
        owner=F("lead__owner"),
        held_until__isnull=True,
        untouched_for__isnull=True,
        at__lte=held_since,
        lead__stage__in=[s for s in QUEUE_STAGES if s != Stage.NURTURE],
    )


def _bucket_rules(today: dt.date) -> list[tuple[int, Q]]:
    """Each bucket's rule in the order they are tried; a lead is in the first it matches."""
    # A breached clock still waiting for its first touch (the clock's rule: a touch since
    # it started answers it, a back-dated one too). A lead that left for a stage where its
    # clock stops (nurture) waits for no touch.
    breached_untouched = (
        Q(sla_status=Lead.SLAStatus.BREACHED)
        & ~Q(stage__in=CLOCK_STOPPING_STAGES)
        & clock.awaiting_first_touch()
    )
    return [
        (Urgency.BREACHED, breached_untouched),
        (Urgency.DUE, Q(sla_status=Lead.SLAStatus.PENDING)),
        (Urgency.RETURNING, back_from_nurture(today)),
        (Urgency.NURTURING, Q(stage=Stage.NURTURE)),
        (Urgency.NEW, Q(first_touch_at__isnull=True)),
    ]


def urgency(today: dt.date | None = None) -> Case:
    """The urgency bucket of a lead as an SQL expression: the one definition of every bucket.

    The buckets are worked out with one CASE rather than a filter each, so a lead whose
    columns are NULL (say a breach with no due time) still lands in exactly one bucket.
    """
    today = today or timezone.localdate()
    return Case(
        *(When(rule, then=Value(value)) for value, rule in _bucket_rules(today)),
        default=Value(Urgency.WORKING),
        output_field=IntegerField(),
    )


def in_bucket(leads: QuerySet[Lead], key: str) -> QuerySet[Lead]:
    """The leads of one urgency bucket (its key, e.g. "breached"); unknown keys filter nothing."""
    value = {key: value for value, key in Urgency.KEYS.items()}.get(key)
    if value is None:
        return leads
    return leads.alias(bucket=urgency()).filter(bucket=value)


def by_urgency(leads: QuerySet[Lead]) -> QuerySet[Lead]:
    """Annotate `urgency` and order most urgent first, then by due date and staleness."""
    return (
        leads.select_related("channel", "campaign", "persona", "account", "owner")
        .annotate(urgency=urgency())
        .order_by(
            "urgency",
            F("sla_due_at").asc(nulls_last=True),
            F("nurture_until").asc(nulls_last=True),
            F("last_touch_at").asc(nulls_first=True),
            "-created_at",
            "id",
        )
    )


class Counted(Paginator):
    """A paginator told how many items there are, so it does not count them again."""

    def __init__(self, object_list: Any, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known = count

    @property
    def count(self) -> int:  # type: ignore[override]
        return self._known


def queue_page(leads: QuerySet[Lead], number: Any, per_page: int, count: int | None = None) -> Page:
    """One page of a queue: the sort runs over narrow rows, only the leads shown are joined.

    Sorting a rep's whole open set joined to its channel, campaign, persona, account and
    owner is what made big queues slow; the page's ids are a subquery, so it is one query.
    `count`, when the caller already counted these leads (the urgency buckets do), saves
    the paginator its own count.
    """
    paginator = Paginator(leads, per_page) if count is None else Counted(leads, per_page, count)
    shown = paginator.get_page(number)
    return Page(leads.filter(pk__in=shown.object_list.values("pk")), shown.number, paginator)


def queue_for(user: Any) -> QuerySet[Lead]:
    """A user's own open leads, most urgent first (see Urgency for the buckets)."""
    return by_urgency(Lead.objects.filter(open_leads(), owner=user))


def on_the_desk() -> Q:
    """Open leads nobody owns that sales should work (the lead desk): every open stage
    but the ones only marketing works (see MARKETING_ONLY_STAGES)."""
    return Q(stage__in=DESK_STAGES, owner__isnull=True)


def marketings_without_owner() -> Q:
    """Open leads nobody owns in a stage only marketing works (one click from the desk)."""
    return Q(stage__in=MARKETING_ONLY_STAGES, owner__isnull=True)


def desk_leads(marketings: bool = False) -> QuerySet[Lead]:
    """The lead desk, most urgent first; with `marketings`, marketing's unowned leads."""
    rule = marketings_without_owner() if marketings else on_the_desk()
    return by_urgency(Lead.objects.filter(rule))


def marketings_without_owner_count() -> int:
    """How many leads marketing's side of the desk holds (the link's figure)."""
    return Lead.objects.filter(marketings_without_owner()).count()


def _empty_counts() -> dict[str, int]:
    return dict.fromkeys(Urgency.KEYS.values(), 0)


def _by_owner_and_bucket(leads: QuerySet[Lead]) -> QuerySet:
    """(owner_id, bucket, n) rows: GROUP BY owner and bucket, so the CASE runs once per lead."""
    return (
        leads.order_by()
        .annotate(bucket=urgency())
        .values("owner_id", "bucket")
        .annotate(n=Count("pk"))
        .values_list("owner_id", "bucket", "n")
    )


def urgency_counts_by_owner(*parts: QuerySet[Lead]) -> dict[int | None, dict[str, int]]:
    """How many leads each owner (None: the lead desk) has in each bucket, in one query.

    Each part is grouped on its own and the parts are joined by UNION ALL, so each can
    seek its own index range (owners in a list, or no owner) where one OR would scan the
    whole index. Owners with no lead are absent.
    """
    first, *rest = [_by_owner_and_bucket(part) for part in parts]
    grouped = first.union(*rest, all=True) if rest else first
    counts: dict[int | None, dict[str, int]] = {}
    for owner_id, bucket, n in grouped:
        counts.setdefault(owner_id, _empty_counts())[Urgency.KEYS[bucket]] = n
    return counts


def urgency_counts(leads: QuerySet[Lead]) -> dict[str, int]:
    """How many leads of a queue are in each urgency bucket, in one query."""
    grouped = (
        leads.order_by()
        .annotate(bucket=urgency())
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
    )
    counts = _empty_counts()
    for bucket, n in grouped:
        counts[Urgency.KEYS[bucket]] = n
    return counts


def filter_leads(leads: QuerySet[Lead], filters: dict[str, Any]) -> QuerySet[Lead]:
    """Apply the queue filters (stage, channel, campaign, persona, bucket, search words)."""
    if filters.get("stage"):
        leads = leads.filter(stage=filters["stage"])
    for name in ("channel", "campaign", "persona"):
        if filters.get(name):
            leads = leads.filter(**{name: filters[name]})
    if filters.get("bucket"):
        leads = in_bucket(leads, filters["bucket"])
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


def merged_lead_and_survivor(lead_id: int) -> tuple[Lead, Lead] | None:
    """A merged lead and the lead it lives on in now (merges can chain); None otherwise."""
    merged = Lead.with_merged.filter(pk=lead_id, merged_into__isnull=False).first()
    survivor = merged
    seen = set()
    while survivor is not None and survivor.merged_into_id is not None:
        if survivor.pk in seen:
            return None
        seen.add(survivor.pk)
        survivor = Lead.with_merged.filter(pk=survivor.merged_into_id).first()
    if merged is None or survivor is None:
        return None
    return merged, survivor


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


# The lead page lists this many of a lead's latest owner changes.
ASSIGNMENTS_SHOWN = 20


def assignments(lead: Lead, limit: int = ASSIGNMENTS_SHOWN) -> list[Assignment]:
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


@dataclass
class Load:
    """One row of the team page: a rep's (or the lead desk's) open leads by urgency bucket."""

    counts: dict[str, int]
    rep: RepProfile | None = None

    @property
    def open_leads(self) -> int:
        """All open leads: every lead is in exactly one bucket."""
        return sum(self.counts.values())


def team_load(manager: Any) -> tuple[list[Load], Load]:
    """Each rep of the manager's teams and the lead desk (the unowned open leads sales
    works, as the desk page lists them), with their open leads by bucket.

    Two queries: the reps, then one grouped count over the open leads of those reps and
    of the desk (the lead_owner_stage index finds both), by the queue's own bucket rules.
    """
    reps = list(managed_reps(manager))
    counts = urgency_counts_by_owner(
        Lead.objects.filter(open_leads(), owner_id__in=[rep.user_id for rep in reps]),
        Lead.objects.filter(on_the_desk()),
    )
    rows = [Load(counts.get(rep.user_id, _empty_counts()), rep) for rep in reps]
    return rows, Load(counts.get(None, _empty_counts()))


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
