"""SQLite's planner statistics: gathered after every migrate and daily by beat."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django_celery_beat.models import PeriodicTask

from config.schedules import PLANNER_STATISTICS
from leads import services, tasks
from leads.models import LeadEvent
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

LEDGER = LeadEvent._meta.db_table


def ledger_statistics() -> dict[str, str]:
    """SQLite's sqlite_stat1 rows for the ledger: index name → 'rows, rows per key…'."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return {}
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = %s", [LEDGER])
        return dict(cursor.fetchall())


def some_ledger_rows(leads: int) -> None:
    rep = RepFactory()
    for lead in LeadFactory.create_batch(leads, stage="working", owner=rep):
        services.log_touch(lead, by=rep, kind="call")  # appends a sales touch


def forget_statistics() -> None:
    # What a migration that rebuilds the table leaves behind: no statistics for it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is not None:
            cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [LEDGER])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's statistics")
def test_the_daily_task_gives_the_ledger_statistics_on_sqlite():
    some_ledger_rows(3)
    forget_statistics()
    assert ledger_statistics() == {}

    assert tasks.gather_planner_statistics() is True

    stats = ledger_statistics()
    rows = LeadEvent.objects.count()
    assert rows > 0
    # The (lead, kind, at) index, which the 1:1 report needs SQLite to choose, is measured:
    # its first number is the rows it holds.
    assert int(stats["leadevent_lead_kind_at"].split()[0]) == rows


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's statistics")
def test_a_migrate_gathers_them_again():
    some_ledger_rows(2)
    forget_statistics()

    call_command("migrate", verbosity=0)

    assert "leadevent_lead_kind_at" in ledger_statistics()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Postgres gathers its own")
def test_nothing_runs_on_postgres():
    assert tasks.gather_planner_statistics() is False


def test_beat_runs_it_daily_at_night():
    task = PeriodicTask.objects.get(name=PLANNER_STATISTICS)
    assert task.task == "leads.tasks.gather_planner_statistics"
    assert (task.crontab.hour, task.crontab.minute) == ("4", "15")
