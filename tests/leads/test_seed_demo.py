"""The demo's history goes through the services: its ledger agrees with its lead table;
it covers every stage, follows the lifecycle, and its printed logins work."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterator
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import RequestFactory, override_settings
from django.utils import timezone

from agreements import roles
from agreements.calendar import CalendarSpec
from agreements.models import Agreement
from agreements.stages import CLOSED_STAGES, Stage
from leads.models import Deal, Lead, LeadEvent, StageChange
from tests.leads.test_lifecycle import GRAPH

pytestmark = pytest.mark.django_db

Kind = LeadEvent.Kind
OUTCOMES = {Kind.CLOCK_MET, Kind.CLOCK_BREACHED, Kind.CLOCK_STOPPED}
LOGIN_LINE = re.compile(
    r"^\s+(?P<username>\S+)\s+(?P<password>\S+)\s+(?P<role>Ops|Marketing|Sales rep|Sales manager)"
)
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"
STATUS_OUTCOME = {Lead.SLAStatus.MET: Kind.CLOCK_MET, Lead.SLAStatus.BREACHED: Kind.CLOCK_BREACHED}


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


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


def _row_counts() -> dict[str, int]:
    return {
        f"{model._meta.app_label}.{model.__name__}": model._default_manager.count()
        for app in ("auth", "leads", "agreements")
        for model in apps.get_app_config(app).get_models()
    }


def _logins(output: str) -> list[dict[str, str]]:
    """The logins a seed printed: username, password, role."""
    return [m.groupdict() for m in map(LOGIN_LINE.match, output.splitlines()) if m]


@pytest.fixture(scope="class")
def fresh_seed(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One fresh seed for a class's tests, in a transaction rolled back after its last
    test (each test runs in a savepoint inside it): what the seed printed."""
    with django_db_blocker.unblock(), transaction.atomic():
        # As the function-scoped fixture of every test does (tests/conftest.py).
        with override_settings(PASSWORD_HASHERS=[FAST_HASHER]):
            output = _seed()
        yield output
        transaction.set_rollback(True)


class TestAFreshSeed:
    """Checks of one fresh seed, seeded once for them all (each seeding its own took half
    a minute of the suite)."""

    def test_ledger_agrees_with_the_leads_and_a_second_run_adds_nothing(self, fresh_seed: str):
        _assert_ledger_agrees_with_leads(timezone.now())
        counts = _story_counts()
        assert all(counts.values()), counts
        ledger = LeadEvent.objects.count()

        _seed()

        assert LeadEvent.objects.count() == ledger
        assert _story_counts() == counts

    def test_a_second_run_duplicates_nothing_and_every_printed_login_works(self, fresh_seed: str):
        counts = _row_counts()
        assert counts["leads.Lead"] >= 200

        second_output = _seed()

        assert _row_counts() == counts
        logins = _logins(second_output)
        assert {login["role"] for login in logins} == set(roles.ROLES)
        assert logins == _logins(fresh_seed)
        for login in logins:
            # As the login page does: django-axes needs the request.
            request = RequestFactory().post("/accounts/login/")
            user = authenticate(request, username=login["username"], password=login["password"])
            assert user is not None, login["username"]
            assert roles.has_role(user, login["role"])

    def test_it_covers_every_stage(self, fresh_seed: str):
        assert set(Lead.objects.values_list("stage", flat=True)) == set(Stage.values)

    def test_its_histories_follow_the_lifecycle_graph(self, fresh_seed: str):
        edges = {(source, target) for sources, target in GRAPH.values() for source in sources}
        seeded_moves = set(StageChange.objects.values_list("from_stage", "to_stage").distinct())
        assert seeded_moves - edges == set()


# Before opening, and in the first half hour after it (the content touches "half an hour
# before now" once fell before opening then).
@pytest.mark.parametrize("hour, minute", [(7, 30), (9, 10)])
def test_seed_demo_run_on_a_monday_morning_after_a_holiday_keeps_to_working_hours(hour, minute):
    # 1 January 2027 is a Friday and a holiday of the demo's calendar (Europe/Berlin).
    monday = dt.datetime(2027, 1, 4, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    with time_machine.travel(monday, tick=False):
        _seed()
        _assert_ledger_agrees_with_leads(timezone.now())
