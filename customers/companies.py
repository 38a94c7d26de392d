"""A company (leads.Account) as a whole: its people, their one timeline, deals and pipeline,
the reps and campaigns involved.

Everyone may open a company page. Of the company's people, the user sees in full those
whose lead page she may open (`Lead.objects.visible_to`, the lead page's rule); of the
others only that they exist and who owns them. The timeline, the deals, the pipeline and
the campaigns come from the people she may see, so nothing of a colleague's lead leaks.
The page costs the same queries however many people the company has.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet, Sum

from leads import timeline
from leads.models import Account, Activity, Deal, Lead

PEOPLE_PER_PAGE = 25
EVENTS_PER_PAGE = 50
MAX_EVENT_PAGES = 20
DEALS_SHOWN = 25


@dataclass(frozen=True)
class Member:
    """One of the company's people; `visible` when the user may see the lead in full."""

    lead: Lead
    visible: bool


@dataclass(frozen=True)
class Pipeline:
    """The deals of the people the user sees: open, won and lost, counted and summed."""

    open_count: int
    open_amount: Decimal
    won_count: int
    won_amount: Decimal
    lost_count: int
    lost_amount: Decimal


@dataclass(frozen=True)
class Involved:
    """A rep involved with the company: the leads they own there and their last touch."""

    user: Any
    owns: int
    touches: int


@dataclass
class CompanyPage:
    """Everything the company page shows, for one user."""

    account: Account
    people: Page
    members: list[Member]
    total_people: int
    hidden_people: int
    events: list[timeline.Entry]
    events_page: int
    more_events: bool
    deals: list[Deal]
    pipeline: Pipeline
    reps: list[Involved]
    campaigns: list[dict[str, Any]]


def people_of(account: Account) -> QuerySet[Lead]:
    """The company's people, as the page lists them: by name."""
    return Lead.objects.filter(account=account).order_by("last_name", "first_name", "email", "pk")


def company_page(
    user: Any, account: Account, *, page: Any = 1, events_page: Any = 1
) -> CompanyPage:
    """The company page's content for `user`, on the given people and timeline pages."""
    people = people_of(account)
    visible = Lead.objects.visible_to(user).filter(account=account)
    listed = Paginator(people.select_related("owner"), PEOPLE_PER_PAGE).get_page(page)
    shown = set(visible.filter(pk__in=[lead.pk for lead in listed]).values_list("pk", flat=True))
    counts = Lead.objects.filter(account=account).aggregate(
        total=Count("pk"), visible=Count("pk", filter=Q(pk__in=visible.values("pk")))
    )
    events, number, more = _events(visible, events_page)
    return CompanyPage(
        account=account,
        people=listed,
        members=[Member(lead, lead.pk in shown) for lead in listed],
        total_people=counts["total"],
        hidden_people=counts["total"] - counts["visible"],
        events=events,
        events_page=number,
        more_events=more,
        deals=list(
            Deal.objects.filter(lead__in=visible.values("pk"))
            .select_related("lead", "opened_by")
            .order_by("-opened_at", "-id")[:DEALS_SHOWN]
        ),
        pipeline=_pipeline(visible),
        reps=_reps(account, visible),
        campaigns=_campaigns(visible),
    )


def _events(visible: QuerySet[Lead], events_page: Any) -> tuple[list[timeline.Entry], int, bool]:
    """One page of the visible people's combined timeline (the lead page's one builder)."""
    try:
        number = min(max(int(events_page), 1), MAX_EVENT_PAGES)
    except (TypeError, ValueError):
        number = 1
    upto = number * EVENTS_PER_PAGE
    entries = timeline.timeline_of_leads(visible.values("pk"), limit=upto + 1)
    more = len(entries) > upto and number < MAX_EVENT_PAGES
    return entries[upto - EVENTS_PER_PAGE : upto], number, more


def _pipeline(visible: QuerySet[Lead]) -> Pipeline:
    zero = Decimal("0")
    totals = Deal.objects.filter(lead__in=visible.values("pk")).aggregate(
        **{
            f"{status}_{what}": function(
                "amount" if what == "amount" else "pk", filter=Q(status=status)
            )
            for status in Deal.Status.values
            for what, function in (("count", Count), ("amount", Sum))
        }
    )
    return Pipeline(
        open_count=totals["open_count"],
        open_amount=totals["open_amount"] or zero,
        won_count=totals["won_count"],
        won_amount=totals["won_amount"] or zero,
        lost_count=totals["lost_count"],
        lost_amount=totals["lost_amount"] or zero,
    )


def _reps(account: Account, visible: QuerySet[Lead]) -> list[Involved]:
    """Who owns the company's leads (anyone may know that) and who touched the ones the user
    sees: each with how many they own and their touches."""
    owns = dict(
        Lead.objects.filter(account=account, owner__isnull=False)
        .values("owner")
        .annotate(n=Count("pk"))
        .values_list("owner", "n")
    )
    touches = dict(
        Activity.objects.filter(lead__in=visible.values("pk"), is_touch=True, actor__isnull=False)
        .values("actor")
        .annotate(n=Count("pk"))
        .values_list("actor", "n")
    )
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in={*owns, *touches})}
    reps = [Involved(users[pk], owns.get(pk, 0), touches.get(pk, 0)) for pk in users]
    reps.sort(key=lambda r: (-r.owns, -r.touches, r.user.get_full_name() or r.user.username))
    return reps


def _campaigns(visible: QuerySet[Lead]) -> list[dict[str, Any]]:
    """The campaigns that reached the people the user sees: how many people, when last."""
    return list(
        Activity.objects.filter(lead__in=visible.values("pk"), campaign__isnull=False)
        .values("campaign", "campaign__name")
        .annotate(people=Count("lead", distinct=True), last=Max("occurred_at"))
        .order_by("-last", "campaign__name")
    )


def companies(query: str) -> QuerySet[Account]:
    """Companies for the list page: all, or those whose name or domain contains `query`."""
    rows = Account.objects.order_by("name", "pk")
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(domain__icontains=query))
    return rows


def people_counts(accounts: Any) -> dict[int, int]:
    """Account id → how many people it has, for one page of companies."""
    return dict(
        Lead.objects.filter(account__in=[a.pk for a in accounts])
        .values("account")
        .annotate(n=Count("pk"))
        .values_list("account", "n")
    )
