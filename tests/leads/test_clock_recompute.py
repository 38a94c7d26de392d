"""A calendar change moves running clocks: their due time, and the warning before it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from agreements import services
from config.celery import app as celery_app
from leads.models import Lead
from leads.services import run_transition
from notifications.models import Notification
from sla.check import run_check
from sla.models import SLAWarning
from tests.agreements.factories import (
    AgreementFactory,
    HolidayFactory,
    ResponseRuleFactory,
    signed_and_active,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def agreement(marketer, manager, ops):
    """4 business hours to first touch (Mon–Fri 09–17 Berlin), warned at 75 %."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", warn_at_percent=75)
    return signed_and_active(draft, marketer, manager, by=ops)


def test_a_holiday_on_the_due_day_moves_the_due_time_and_the_warning(
    agreement, rep, marketer, manager, ops, eager, django_capture_on_commit_callbacks
):
    lead = LeadFactory(stage="fan", owner=rep)
    # Tuesday 16:00: one working hour left today, three tomorrow → due Wednesday 12:00;
    # the warning comes after 3 of the 4 hours, Wednesday 11:00.
    with time_machine.travel(berlin(2026, 3, 10, 16), tick=False):
        lead = run_transition(lead, "hand_raise", by=marketer)
    assert lead.sla_due_at == berlin(2026, 3, 11, 12)

    # Wednesday becomes a holiday in a new signed version: the three hours move to
    # Thursday → due Thursday 12:00, warned Thursday 11:00.
    draft = services.clone(agreement)
    HolidayFactory(calendar=draft.calendar, date=dt.date(2026, 3, 11))
    with django_capture_on_commit_callbacks(execute=True):
        signed_and_active(draft, marketer, manager, by=ops)

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert lead.sla_due_at == berlin(2026, 3, 12, 12)

    run_check(now=berlin(2026, 3, 11, 11, 30))
    assert not SLAWarning.objects.filter(lead=lead).exists()
    assert lead.sla_status == Lead.SLAStatus.PENDING

    run_check(now=berlin(2026, 3, 12, 11, 1))
    warning = SLAWarning.objects.get(lead=lead)
    assert warning.due_at == berlin(2026, 3, 12, 12)
    assert Notification.objects.filter(user=rep, kind=Notification.Kind.SLA_WARNING).count() == 1


def test_shorter_working_hours_move_the_due_time_earlier_never_a_settled_clock(
    agreement, rep, marketer, manager, ops, eager, django_capture_on_commit_callbacks
):
    running = LeadFactory(stage="fan", owner=rep)
    settled = LeadFactory(stage="fan", owner=rep, email="settled@example.com")
    with time_machine.travel(berlin(2026, 3, 10, 10), tick=False):
        running = run_transition(running, "hand_raise", by=marketer)
        settled = run_transition(settled, "hand_raise", by=marketer)
    Lead.objects.filter(pk=settled.pk).update(sla_status=Lead.SLAStatus.MET)
    assert running.sla_due_at == berlin(2026, 3, 10, 14)

    # Work now starts at 11:00 (a new signed version): Tuesday 11:00 + 4 h = 15:00.
    draft = services.clone(agreement)
    calendar = draft.calendar
    calendar.workday_start = dt.time(11)
    calendar.save()
    with django_capture_on_commit_callbacks(execute=True):
        signed_and_active(draft, marketer, manager, by=ops)

    running.refresh_from_db()
    settled.refresh_from_db()
    assert running.sla_due_at == berlin(2026, 3, 10, 15)
    assert settled.sla_due_at == berlin(2026, 3, 10, 14)
