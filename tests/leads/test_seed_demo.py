"""The demo's history goes through the services: its ledger agrees with its lead table."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from agreements.calendar import CalendarSpec
from agreements.models import Agreement
from agreements.stages import CLOSED_STAGES
from leads.models import Deal, Lead, LeadEvent

pytestmark = pytest.mark.django_db

Kind = LeadEvent.Kind
OUTCOMES = {Kind.CLOCK_MET, Kind.CLOCK_BREACHED, Kind.CLOCK_STOPPED}
STATUS_OUTCOME = {Lead.SLAStatus.MET: Kind.CLOCK_MET, Lead.SLAStatus.BREACHED: Kind.CLOCK_BREACHED}


def _seed() -> None:
    call_command("seed_demo", stdout=StringIO())


def _events() -> dict[int, list[LeadEvent]]:
    """Each lead's ledger, in the order it happened."""
    by_lead: dict[int, list[LeadEvent]] = defaultdict(list)
    for event in LeadEvent.objects.order_by("at", "id"):
        by_lead[event.lead_id].append(event)
    return by_lead


def _in_working_hours(moment: dt.datetime, spec: CalendarSpec) -> bool:
    window = spec.window(moment.astimezone(spec.zone).date())
    return window is not None and window[0] <= moment <= window[1]


def _assert_ledger_agrees_with_leads(now: dt.datetime) -> None:
    events = _events()
    spec = Agreement.current().calendar_spec()
    leads = list(Lead.objects.select_related("sla_rule"))
    assert len(leads) >= 200
    for lead in leads:
        mine = events[lead.pk]
        assert all(e.at <= now for e in mine), lead.email

        entered = [e for e in mine if e.kind == Kind.STAGE_ENTERED]
        assert entered[-1].stage == lead.stage, lead.email
        # One stage after the other: each entry leaves the stage the one before entered.
        assert [e.from_stage for e in entered] == ["", *[e.stage for e in entered[:-1]]]

        if lead.stage not in CLOSED_STAGES:
            assigned = [e for e in mine if e.kind == Kind.ASSIGNED]
            if lead.owner_id is not None:
                assert assigned and assigned[-1].owner_id == lead.owner_id, lead.email
            elif assigned:
                assert assigned[-1].owner_id is None, lead.email

        started = [(e.started_at, e.due_at) for e in mine if e.kind == Kind.CLOCK_STARTED]
        ended = [(e.started_at, e.due_at, e.kind) for e in mine if e.kind in OUTCOMES]
        assert len(set(started)) == len(started), lead.email
        assert [(s, d) for s, d, _ in ended] == started[: len(ended)], lead.email
        current = (lead.sla_started_at, lead.sla_due_at)
        if lead.sla_status == Lead.SLAStatus.PENDING:
            assert started and started[-1] == current and len(ended) == len(started) - 1
            assert lead.sla_due_at > now, lead.email
        elif lead.sla_status in STATUS_OUTCOME:
            assert len(ended) == len(started) and started[-1] == current, lead.email
            assert ended[-1][2] == STATUS_OUTCOME[lead.sla_status], lead.email
        else:
            assert len(ended) == len(started), lead.email
        for event in mine:
            if event.kind == Kind.CLOCK_MET:
                assert event.at <= event.due_at
            if event.kind == Kind.CLOCK_BREACHED:
                assert event.at == event.due_at
            if event.kind in (Kind.CLOCK_STARTED, Kind.SALES_TOUCH):
                assert _in_working_hours(event.at, spec), (lead.email, event.kind, event.at)
        if lead.sla_rule is not None and lead.sla_rule.business_time:
            assert _in_working_hours(lead.sla_due_at, spec), lead.email

    opened = set(LeadEvent.objects.filter(kind=Kind.DEAL_OPENED).values_list("deal_id", flat=True))
    won = set(LeadEvent.objects.filter(kind=Kind.DEAL_WON).values_list("deal_id", flat=True))
    deals = list(Deal.objects.all())
    assert deals
    assert {deal.pk for deal in deals} == opened
    assert {deal.pk for deal in deals if deal.status == Deal.Status.WON} == won


def _story_counts() -> dict[str, int]:
    """What the reports will find: the demo tells each part of its story at least once."""
    leads = Lead.objects.all()
    return {
        "met": leads.filter(sla_status=Lead.SLAStatus.MET).count(),
        "breached": leads.filter(sla_status=Lead.SLAStatus.BREACHED).count(),
        "pending": leads.filter(sla_status=Lead.SLAStatus.PENDING).count(),
        "desk": leads.filter(owner=None, stage="mql").count(),
        "moved": LeadEvent.objects.filter(kind=Kind.ASSIGNED, actor__isnull=False)
        .values("lead")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
        "won": Deal.objects.filter(status=Deal.Status.WON).count(),
        "feedback": LeadEvent.objects.filter(kind=Kind.FEEDBACK).count(),
        "nurture": leads.filter(stage="nurture", nurture_until__isnull=False).count(),
    }


def test_seed_demo_ledger_agrees_with_the_leads_and_a_second_run_adds_nothing():
    _seed()
    _assert_ledger_agrees_with_leads(timezone.now())
    counts = _story_counts()
    assert all(counts.values()), counts
    ledger = LeadEvent.objects.count()

    _seed()

    assert LeadEvent.objects.count() == ledger
    assert _story_counts() == counts


# Before opening, and in the first half hour after it (the content touches "half an hour
# before now" once fell before opening then).
@pytest.mark.parametrize("hour, minute", [(7, 30), (9, 10)])
def test_seed_demo_run_on_a_monday_morning_after_a_holiday_keeps_to_working_hours(hour, minute):
    # 1 January 2027 is a Friday and a holiday of the demo's calendar (Europe/Berlin).
    monday = dt.datetime(2027, 1, 4, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    with time_machine.travel(monday, tick=False):
        _seed()
        _assert_ledger_agrees_with_leads(timezone.now())
