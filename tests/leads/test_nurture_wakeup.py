"""The nurture wake-up task, called directly: who is woken, and only ever once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.schedules import WAKE_NURTURED, ensure_schedules
from leads.models import Activity
from leads.tasks import WAKE_SUBJECT, wake_nurtured_leads
from tests.factories import LeadFactory

TODAY = dt.date(2026, 3, 10)


def wake_ups(lead) -> list[Activity]:
    return list(lead.activities.filter(kind=Activity.Kind.NURTURE_RETURN))


@pytest.fixture
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC), tick=False)
    return TODAY


def nurtured(rep, return_on: dt.date, **kwargs):
    return LeadFactory(
        stage="nurture",
        owner=rep,
        nurture_until=return_on,
        stage_entered_at=timezone.now() - dt.timedelta(days=30),
        **kwargs,
    )


@pytest.mark.django_db
def test_lead_whose_return_date_arrived_gets_a_follow_up_on_its_timeline(rep, today):
    lead = nurtured(rep, today)

    assert wake_nurtured_leads() == 1

    (activity,) = wake_ups(lead)
    assert activity.subject == WAKE_SUBJECT
    assert activity.side == Activity.Side.SYSTEM
    assert not activity.is_touch


@pytest.mark.django_db
def test_overdue_lead_is_woken_too(rep, today):
    lead = nurtured(rep, today - dt.timedelta(days=5))
    assert wake_nurtured_leads() == 1
    assert len(wake_ups(lead)) == 1


@pytest.mark.django_db
def test_lead_not_yet_due_is_left_alone(rep, today):
    lead = nurtured(rep, today + dt.timedelta(days=1))
    assert wake_nurtured_leads() == 0
    assert wake_ups(lead) == []


@pytest.mark.django_db
def test_lead_no_longer_in_nurture_is_left_alone(rep, today):
    lead = LeadFactory(stage="working", owner=rep, nurture_until=today - dt.timedelta(days=1))
    assert wake_nurtured_leads() == 0
    assert wake_ups(lead) == []


@pytest.mark.django_db
def test_running_twice_wakes_each_lead_once(rep, today):
    leads = [nurtured(rep, today) for _ in range(3)]

    assert wake_nurtured_leads() == 3
    assert wake_nurtured_leads() == 0

    assert [len(wake_ups(lead)) for lead in leads] == [1, 1, 1]


@pytest.mark.django_db
def test_many_due_leads_are_woken_across_batches(rep, today, monkeypatch):
    monkeypatch.setattr("leads.tasks.BATCH", 2)
    leads = [nurtured(rep, today) for _ in range(5)]
    assert wake_nurtured_leads() == 5
    assert all(len(wake_ups(lead)) == 1 for lead in leads)


@pytest.mark.django_db
def test_a_new_stay_in_nurture_is_woken_again(rep, today, time_machine):
    lead = nurtured(rep, today)
    wake_nurtured_leads()

    # Later the lead leaves nurture and comes back with a new return date.
    time_machine.move_to(dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False)
    type(lead).objects.filter(pk=lead.pk).update(
        stage_entered_at=timezone.now(), nurture_until=dt.date(2026, 4, 1)
    )

    assert wake_nurtured_leads() == 1
    assert len(wake_ups(lead)) == 2


@pytest.mark.django_db
def test_database_refuses_a_second_wake_up_for_the_same_stay(rep, today):
    lead = nurtured(rep, today)
    wake_nurtured_leads()
    (first,) = wake_ups(lead)

    with pytest.raises(IntegrityError), transaction.atomic():
        Activity.objects.create(
            lead=lead, side="system", kind=Activity.Kind.NURTURE_RETURN, once_key=first.once_key
        )


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_wake_each_lead_once(rep, today):
    leads = [nurtured(rep, today) for _ in range(20)]
    start = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(wake_nurtured_leads())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(results) == 20
    assert [len(wake_ups(lead)) for lead in leads] == [1] * 20


@pytest.mark.django_db
def test_the_daily_schedule_is_in_the_database_after_migrate():
    task = PeriodicTask.objects.get(name=WAKE_NURTURED)
    assert task.task == "leads.tasks.wake_nurtured_leads"
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "6", "*")


@pytest.mark.django_db
def test_migrating_again_neither_duplicates_nor_re_enables_the_schedule():
    PeriodicTask.objects.filter(name=WAKE_NURTURED).update(enabled=False)

    ensure_schedules()

    task = PeriodicTask.objects.get(name=WAKE_NURTURED)
    assert not task.enabled
    assert PeriodicTask.objects.filter(task="leads.tasks.wake_nurtured_leads").count() == 1


@pytest.mark.django_db
def test_schedule_is_recreated_even_when_ops_made_duplicate_crontabs():
    PeriodicTask.objects.filter(name=WAKE_NURTURED).delete()
    for _ in range(2):
        CrontabSchedule.objects.create(minute="0", hour="6", timezone=settings.TIME_ZONE)

    ensure_schedules()

    assert PeriodicTask.objects.filter(name=WAKE_NURTURED).count() == 1
