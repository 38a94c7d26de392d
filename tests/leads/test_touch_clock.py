"""A touch settles the SLA clock that is running now, not only the lead's first clock."""

import datetime as dt

import pytest
from django.utils import timezone

from agreements.stages import Stage
from leads import services
from leads.models import Lead
from tests.factories import LeadFactory


@pytest.mark.django_db
def test_a_touch_meets_the_new_clock_of_a_lead_that_came_back_to_mql(rep):
    earlier = timezone.now() - dt.timedelta(days=40)
    lead = LeadFactory(
        owner=rep,
        stage=Stage.MQL,
        first_touch_at=earlier,
        last_touch_at=earlier,
        sla_status=Lead.SLAStatus.PENDING,
        sla_due_at=timezone.now() + dt.timedelta(hours=2),
    )

    services.log_touch(lead, by=rep, kind="call")

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.MET
    assert lead.first_touch_at == earlier
    assert lead.stage == Stage.WORKING


@pytest.mark.django_db
def test_a_late_touch_on_a_returning_lead_marks_its_clock_breached(rep):
    earlier = timezone.now() - dt.timedelta(days=40)
    lead = LeadFactory(
        owner=rep,
        stage=Stage.MQL,
        first_touch_at=earlier,
        sla_status=Lead.SLAStatus.PENDING,
        sla_due_at=timezone.now() - dt.timedelta(hours=1),
    )

    services.log_touch(lead, by=rep, kind="email")

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
