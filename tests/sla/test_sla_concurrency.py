"""Two checks at once — threads, and separate processes — write every breach, escalation and
notification exactly once (row locks with SKIP LOCKED on Postgres, serialized writers on SQLite,
unique constraints underneath)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from agreements.models import ResponseRule
from leads.models import Assignment, Lead, LeadEvent
from notifications.models import Notification
from sla import check, escalation
from sla.models import Breach, SLAWarning
from tests.factories import RepFactory
from tests.test_worker import _database_env

from .conftest import clock_lead, make_rule, minutes

pytestmark = pytest.mark.django_db(transaction=True)

LEADS = 24


@pytest.fixture
def busy_floor(rep):
    """Leads at every step of the ladder: due soon, just due, and past the escalation delay."""
    teammates = [RepFactory(username=f"mate-{n}", team=rep.rep_profile.team) for n in range(3)]
    rule = make_rule(ResponseRule.Escalation.NEXT_REP)
    now = timezone.now()
    leads = []
    for n in range(LEADS):
        owner = [rep, *teammates][n % 4]
        step = n % 3
        started = now - minutes([50, 61, 125][step])
        leads.append(clock_lead(rule, owner, started=started))
    return now, leads


def expected_counts() -> dict[str, int]:
    return {
        "warnings": SLAWarning.objects.count(),
        "breaches": Breach.objects.count(),
        "escalations": Breach.objects.filter(escalated_at__isnull=False).count(),
        "sla_moves": Assignment.objects.filter(rule="SLA escalation").count(),
        "notifications": Notification.objects.count(),
    }


def assert_each_step_happened_once(leads) -> None:
    per_step = LEADS // 3
    counts = expected_counts()
    assert counts["warnings"] == per_step
    assert counts["breaches"] == 2 * per_step
    assert counts["escalations"] == counts["sla_moves"] == per_step
    for lead in leads:
        assert Assignment.objects.filter(lead=lead, rule="SLA escalation").count() <= 1
    keys = list(Notification.objects.values_list("event_key", flat=True))
    assert len(keys) == len(set(keys))
    assert Lead.objects.filter(sla_status=Lead.SLAStatus.PENDING).count() == per_step


def test_two_checks_in_parallel_threads_write_everything_once(busy_floor, monkeypatch):
    now, leads = busy_floor
    # Small batches, so the two runs interleave over many transactions.
    monkeypatch.setattr(check, "BATCH", 3)
    monkeypatch.setattr(escalation, "ESCALATION_BATCH", 2)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run_once() -> None:
        try:
            start.wait()
            check.run_check(now)
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert_each_step_happened_once(leads)


def test_two_check_sla_processes_at_once_write_everything_once(busy_floor, tmp_path):
    _, leads = busy_floor
    env = {
        **os.environ,
        **_database_env(),
        "ACCORD_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    command = [sys.executable, "manage.py", "check_sla", "--no-email"]
    processes = [
        subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    assert_each_step_happened_once(leads)


FLOOD = 40


@pytest.fixture
def flood(rep):
    """FLOOD clocks that ran out a minute ago, over four owners."""
    owners = [
        rep,
        *(RepFactory(username=f"flood-{n}", team=rep.rep_profile.team) for n in range(3)),
    ]
    rule = make_rule()
    now = timezone.now()
    leads = [clock_lead(rule, owners[n % 4], started=now - minutes(61)) for n in range(FLOOD)]
    return now, leads


def assert_each_clock_breached_and_told_once(leads) -> None:
    assert Breach.objects.count() == FLOOD
    assert set(Breach.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in leads}
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.CLOCK_BREACHED).count() == FLOOD
    assert not Lead.objects.filter(sla_status=Lead.SLAStatus.PENDING).exists()
    # Each lead reaches its owner once: a note of its own, or one line of one digest.
    told: dict[int, int] = {lead.pk: 0 for lead in leads}
    owner_of = {lead.pk: lead.owner_id for lead in leads}
    url_to_lead = {reverse("leads:detail", args=[lead.pk]): lead.pk for lead in leads}
    for note in Notification.objects.filter(kind=Notification.Kind.SLA_BREACH):
        about = [note.lead_id] if note.lead_id else [url_to_lead[i["url"]] for i in note.items]
        for pk in about:
            if owner_of[pk] == note.user_id:
                told[pk] += 1
    assert set(told.values()) == {1}, told


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite: one writer at a time")
def test_a_flood_of_due_clocks_is_shared_out_over_connections_once_each(
    flood, monkeypatch, settings
):
    now, leads = flood
    # 40 clocks in batches of 3: the first batch is full, so helpers join in.
    monkeypatch.setattr(check, "BATCH", 3)
    settings.SLA_CHECK_CONNECTIONS = 3

    result = check.run_check(now)

    assert result.connections == 3
    assert result.breached == FLOOD
    assert_each_clock_breached_and_told_once(leads)
    assert check.run_check(now).breached == 0  # nothing left, nothing twice


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's own case")
def test_a_flood_takes_one_connection_on_sqlite(flood, monkeypatch, settings):
    now, leads = flood
    monkeypatch.setattr(check, "BATCH", 3)
    settings.SLA_CHECK_CONNECTIONS = 3

    result = check.run_check(now)  # not inside a transaction: only SQLite keeps it to one

    assert result.connections == 1
    assert result.breached == FLOOD
    assert_each_clock_breached_and_told_once(leads)


def test_a_flood_takes_one_connection_inside_a_transaction(flood, monkeypatch, settings):
    now, leads = flood
    monkeypatch.setattr(check, "BATCH", 3)
    settings.SLA_CHECK_CONNECTIONS = 3

    with transaction.atomic():  # other connections would not see what it wrote
        result = check.run_check(now)

    assert result.connections == 1
    assert result.breached == FLOOD
    assert_each_clock_breached_and_told_once(leads)


def test_a_batch_that_is_not_full_needs_no_helpers(flood, monkeypatch, settings):
    now, leads = flood
    monkeypatch.setattr(check, "BATCH", FLOOD + 1)
    settings.SLA_CHECK_CONNECTIONS = 3

    result = check.run_check(now)

    assert result.connections == 1
    assert_each_clock_breached_and_told_once(leads)
