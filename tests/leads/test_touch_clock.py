"""A touch settles the SLA clock that is running now, not only the lead's first clock."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement
from agreements.stages import Stage
from agreements.touches import DEFAULT_TOUCH_KINDS
from leads import services
from leads.models import Activity, Lead, LeadEvent
from tests.agreements.factories import AgreementFactory, signed_and_active
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


@pytest.fixture
def no_social(marketer, manager, ops):
    """An agreement in force in which a social message is not a sales touch."""
    draft = AgreementFactory(touch_kinds=["call", "email", "meeting", "sequence_step"])
    return signed_and_active(draft, marketer, manager, by=ops)


@pytest.mark.django_db
def test_what_ops_leave_out_of_the_touch_kinds_does_not_count(client, rep, no_social):
    lead = LeadFactory(
        owner=rep,
        stage=Stage.MQL,
        sla_status=Lead.SLAStatus.PENDING,
        sla_started_at=timezone.now() - dt.timedelta(hours=1),
        sla_due_at=timezone.now() + dt.timedelta(hours=2),
    )
    client.force_login(rep)
    response = client.post(
        reverse("leads:touch", args=[lead.pk]),
        {"kind": "social", "subject": "LinkedIn", "version": lead.version, "stage": lead.stage},
        follow=True,
    )
    # Kept on the timeline, said not to count: no clock met, no Working, no ledger touch.
    assert "It does not count as a sales touch under the agreement in force" in (
        response.content.decode()
    )
    social = Activity.objects.get(lead=lead, kind="social")
    assert (social.side, social.is_touch) == (Activity.Side.SALES, False)
    lead.refresh_from_db()
    assert (lead.stage, lead.sla_status, lead.first_touch_at) == (
        Stage.MQL,
        Lead.SLAStatus.PENDING,
        None,
    )
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.SALES_TOUCH).exists()
    # A call counts: the clock is met and the lead is Working.
    services.log_touch(lead, by=rep, kind="call")
    lead.refresh_from_db()
    assert (lead.stage, lead.sla_status) == (Stage.WORKING, Lead.SLAStatus.MET)
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.SALES_TOUCH).count() == 1


@pytest.mark.django_db
def test_without_a_narrower_choice_every_kind_of_touch_counts(rep, no_social):
    Agreement.objects.filter(pk=no_social.pk).update(touch_kinds=list(DEFAULT_TOUCH_KINDS))
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    touch = services.log_touch(lead, by=rep, kind="social")
    assert touch.is_touch
    assert services.logged_message(touch, "Social message") == "Social message logged."
    assert Activity.SALES_TOUCH_KINDS == DEFAULT_TOUCH_KINDS  # the kinds ops choose from
