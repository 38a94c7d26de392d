"""After a bench section removes what it wrote, the data set is vacuumed (Postgres)."""

from __future__ import annotations

import pytest
from django.db import connection

from benchmark.data import settle_database
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite keeps no dead row versions"
)


def dead_rows_and_vacuumed(table: str) -> tuple[int, bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush(), pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_dead_tup, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
            "FROM pg_stat_user_tables WHERE relname = %s",
            [table],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_the_named_tables_are_vacuumed_and_analyzed():
    table = Lead._meta.db_table
    leads = LeadFactory.create_batch(20)
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[:10]]).delete()
    assert dead_rows_and_vacuumed(table)[0] > 0  # the delete's dead rows, counted

    settle_database(table)

    dead, vacuumed = dead_rows_and_vacuumed(table)
    assert vacuumed
    assert dead == 0
