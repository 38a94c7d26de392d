"""The bench's SLA section puts the data set back as it was after each scenario: the leads'
columns, and every record the check wrote — digests too, which name no lead."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from benchmark.sla_check import _ARMED_COLUMNS, _arm, _restore
from leads.models import Lead, LeadEvent
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach, SLAWarning
from tests.factories import LeadFactory
from tests.sla.conftest import make_rule


def state(ids: list[int]) -> dict[str, Any]:
    return {
        "leads": list(Lead.objects.filter(pk__in=ids).order_by("pk").values_list(*_ARMED_COLUMNS)),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", flat=True)),
        "breaches": Breach.objects.count(),
        "warnings": SLAWarning.objects.count(),
        "ledger": LeadEvent.objects.count(),
    }


def test_a_scenario_leaves_the_data_set_as_it_was(manager, rep):
    rule = make_rule()
    # Six leads of one rep: more than a digest's threshold, so the check writes digests.
    ids = [LeadFactory(owner=rep, sla_status=Lead.SLAStatus.NONE).pk for _ in range(6)]
    before = state(ids)

    armed = _arm(ids, rule)
    outcome = run_check(timezone.now())
    assert outcome.breached == 6
    assert Notification.objects.filter(lead__isnull=True).count() >= 2  # the rep's and manager's
    _restore(armed)

    assert state(ids) == before
