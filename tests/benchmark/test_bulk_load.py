"""The data set's bulk load: rows in any order, every index and foreign key back after."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from benchmark.data import Loader, bulk_load
from leads.models import Activity, Lead
from tests.factories import ChannelFactory, LeadFactory

LEAD_ID = 900_001


def _constraints_and_indexes() -> dict[str, object]:
    tables = [Lead._meta.db_table, Activity._meta.db_table]
    with connection.cursor() as cursor:
        return {t: connection.introspection.get_constraints(cursor, t) for t in tables}


# Committed for real: SQLite's pragmas and the deferred key checks act outside a transaction.
@pytest.mark.django_db(transaction=True)
def test_bulk_load_takes_activities_before_their_lead_and_restores_keys():
    before = _constraints_and_indexes()
    with bulk_load([Lead._meta.db_table, Activity._meta.db_table], lambda line: None):
        activities = Loader(
            Activity, ["id", "lead", "side", "kind", "occurred_at", "subject", "body",
                       "is_touch", "once_key"],
        )  # fmt: skip
        activities.add((LEAD_ID, LEAD_ID, "marketing", "email", timezone.now(), "", "", False, ""))
        activities.flush()
        LeadFactory(pk=LEAD_ID, channel=ChannelFactory())

    assert Activity.objects.get(pk=LEAD_ID).lead_id == LEAD_ID
    assert _constraints_and_indexes() == before
