"""What the rep's screens say about a lead's clock: a stopped clock leaves the "SLA
breached" bucket and its countdown, and every time is in the business calendar's zone,
labelled."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.stages import Stage
from leads import services
from leads.models import Lead
from tests.agreements.factories import AgreementFactory, signed_and_active
from tests.factories import LeadFactory
from tests.leads.test_workspace_counts import queue_buckets
from tests.sla.conftest import clock_lead, make_rule

pytestmark = pytest.mark.django_db

# A winter Tuesday: Berlin is UTC+1 (CET).
WINTER = dt.datetime(2026, 1, 13, 9, 30, tzinfo=dt.UTC)


def breached_then(rep, transition: str, **arguments) -> Lead:
    """An MQL whose clock ran out untouched, then moved by `transition`."""
    started = timezone.now() - dt.timedelta(hours=5)
    lead = clock_lead(make_rule(), rep, started=started, sla_started_at=started)
    lead.sla_status = Lead.SLAStatus.BREACHED
    lead.save()
    return services.run_transition(lead, transition, by=rep, **arguments)


def test_a_nurtured_lead_with_a_breached_clock_is_nurturing_not_breached(client, rep):
    lead = breached_then(rep, "nurture", return_on=timezone.localdate() + dt.timedelta(days=30))
    client.force_login(rep)

    buckets = queue_buckets(client.get(reverse("leads:queue")).content.decode())
    breached = client.get(reverse("leads:queue"), {"bucket": "breached"}).content.decode()

    assert (buckets["breached"], buckets["nurturing"]) == (0, 1)
    assert f'data-lead="{lead.pk}"' not in breached


def test_a_stopped_clock_shows_no_overdue_countdown(client, rep):
    nurtured = breached_then(rep, "nurture", return_on=timezone.localdate() + dt.timedelta(days=9))
    disqualified = breached_then(rep, "disqualify", reason="No budget")
    client.force_login(rep)

    for lead in (nurtured, disqualified):
        html = client.get(lead.get_absolute_url()).content.decode()
        assert 'data-testid="sla-status">Breached<' in html
        assert "data-countdown" not in html


def test_an_untouched_breach_in_an_open_stage_still_counts_down(client, rep):
    started = timezone.now() - dt.timedelta(hours=5)
    lead = clock_lead(make_rule(), rep, started=started)
    Lead.objects.filter(pk=lead.pk).update(sla_status=Lead.SLAStatus.BREACHED)
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()
    queue = queue_buckets(client.get(reverse("leads:queue")).content.decode())

    assert "countdown overdue" in html
    assert queue["breached"] == 1


def test_lead_page_and_queue_show_times_in_the_business_zone_labelled(
    client, rep, marketer, manager, ops
):
    signed_and_active(AgreementFactory(), marketer, manager, by=ops)  # a Berlin calendar
    lead = LeadFactory(
        stage=Stage.MQL,
        owner=rep,
        sla_status=Lead.SLAStatus.PENDING,
        sla_due_at=WINTER.replace(year=2036),
    )
    services.log_touch(lead, by=rep, kind="note", subject="Looked her up", at=WINTER)
    client.force_login(rep)

    page = client.get(lead.get_absolute_url()).content.decode()
    queue = client.get(reverse("leads:queue")).content.decode()

    assert "Jan 13, 2026 10:30 CET" in page  # the timeline, 09:30 UTC
    assert "Jan 13, 2036 10:30 CET" in page  # first touch due, on the SLA card
    assert "due Jan 13, 10:30 CET" in queue
    assert "09:30" not in page


def test_without_an_agreement_times_are_labelled_utc(client, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    services.log_touch(lead, by=rep, kind="note", subject="Looked her up", at=WINTER)
    client.force_login(rep)

    page = client.get(lead.get_absolute_url()).content.decode()

    assert "Jan 13, 2026 09:30 UTC" in page


def test_a_breach_answered_by_a_back_dated_touch_leaves_the_breached_bucket(client, rep):
    """The clock's rule: a touch since the clock started answers it, one logged late and
    dated before the due time too (the SLA engine settles the breach). The queue's bucket
    and the badge read "no touch since the due time" and kept the lead as breached and
    untouched, counting down."""
    started = timezone.now() - dt.timedelta(hours=5)
    lead = clock_lead(make_rule(), rep, started=started, sla_started_at=started)
    Lead.objects.filter(pk=lead.pk).update(sla_status=Lead.SLAStatus.BREACHED)
    lead.refresh_from_db()
    assert started + dt.timedelta(minutes=30) < lead.sla_due_at

    services.log_touch(lead, by=rep, kind="call", at=started + dt.timedelta(minutes=30))
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()
    queue = queue_buckets(client.get(reverse("leads:queue")).content.decode())
    assert "countdown overdue" not in html
    assert queue.get("breached", 0) == 0


def test_the_breached_bucket_and_the_clock_read_one_rule(rep):
    """leads.clock.awaits_first_touch (a lead in hand) and awaiting_first_touch (a query)
    agree on every combination of start, due, first and last touch."""
    from itertools import product

    from leads.clock import awaiting_first_touch, awaits_first_touch

    start = timezone.now() - dt.timedelta(days=1)
    before, after = start - dt.timedelta(hours=1), start + dt.timedelta(hours=1)
    leads = []
    for started, due, first, last in product(
        (None, start),
        (None, start + dt.timedelta(hours=4)),
        (None, before, after),
        (None, before, after),
    ):
        if (first is not None and last is None) or (first and last and last < first):
            continue  # a lead touched has a last touch, never before its first
        leads.append(
            LeadFactory(
                sla_started_at=started, sla_due_at=due, first_touch_at=first, last_touch_at=last
            )
        )
    by_rule = {lead.pk for lead in leads if awaits_first_touch(lead)}
    by_query = set(
        Lead.objects.filter(awaiting_first_touch(), pk__in=[lead.pk for lead in leads]).values_list(
            "pk", flat=True
        )
    )
    assert by_query == by_rule
    assert 0 < len(by_rule) < len(leads)
