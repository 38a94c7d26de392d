"""The rep's queue: own open leads, most urgent first, filters, search, pagination."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.stages import Stage
from leads.models import Lead
from tests.factories import CampaignFactory, ChannelFactory, LeadFactory, PersonaFactory
from tests.leads.workspace_helpers import assert_constant_queries, lead_ids_in_order

pytestmark = pytest.mark.django_db

QUEUE = reverse("leads:queue")


def _lead(owner, **fields):
    return LeadFactory(owner=owner, **fields)


def test_queue_orders_leads_by_urgency(client, rep):
    now = timezone.now()
    today = timezone.localdate()
    working = _lead(rep, stage=Stage.WORKING, first_touch_at=now, last_touch_at=now)
    returning = _lead(rep, stage=Stage.NURTURE, nurture_until=today)
    later = _lead(rep, stage=Stage.NURTURE, nurture_until=today + dt.timedelta(days=30))
    new = _lead(rep, stage=Stage.MQL)
    due_late = _lead(
        rep, stage=Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(hours=5)
    )
    due_soon = _lead(
        rep, stage=Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(minutes=20)
    )
    breached = _lead(
        rep, stage=Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=1)
    )
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    expected = [breached, due_soon, due_late, new, working, returning, later]
    assert lead_ids_in_order(html) == [lead.pk for lead in expected]


def test_queue_treats_a_breach_touched_since_as_working(client, rep):
    now = timezone.now()
    touched = _lead(
        rep,
        stage=Stage.WORKING,
        sla_status="breached",
        sla_due_at=now - dt.timedelta(hours=2),
        first_touch_at=now - dt.timedelta(hours=1),
        last_touch_at=now - dt.timedelta(hours=1),
    )
    untouched = _lead(rep, stage=Stage.MQL)
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert lead_ids_in_order(html) == [untouched.pk, touched.pk]


def test_queue_shows_only_the_reps_own_open_leads(client, rep, other_rep):
    mine = _lead(rep, stage=Stage.MQL)
    _lead(other_rep, stage=Stage.MQL)
    _lead(None, stage=Stage.MQL)
    _lead(rep, stage=Stage.DISQUALIFIED)
    _lead(rep, stage=Stage.CONVERTED)
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert lead_ids_in_order(html) == [mine.pk]


def test_running_clock_renders_a_live_countdown(client, rep):
    due = timezone.now() + dt.timedelta(hours=1)
    _lead(rep, stage=Stage.MQL, sla_status="pending", sla_due_at=due)
    client.force_login(rep)

    html = client.get(QUEUE).content.decode()

    assert "data-countdown" in html
    assert "accord/countdown.js" in html


@pytest.mark.parametrize("field", ["stage", "channel", "campaign", "persona"])
def test_queue_filters_by_one_field(client, rep, field):
    channel, other_channel = ChannelFactory(), ChannelFactory()
    values = {
        "stage": (Stage.WORKING, Stage.MQL),
        "channel": (channel, other_channel),
        "campaign": (CampaignFactory(channel=channel), CampaignFactory(channel=channel)),
        "persona": (PersonaFactory(), PersonaFactory()),
    }[field]
    base = {"stage": Stage.MQL}
    wanted = _lead(rep, **{**base, field: values[0]})
    _lead(rep, **{**base, field: values[1]})
    client.force_login(rep)
    value = values[0] if field == "stage" else values[0].pk

    html = client.get(QUEUE, {field: value}).content.decode()

    assert lead_ids_in_order(html) == [wanted.pk]


def test_queue_search_matches_name_email_and_company_words(client, rep):
    wanted = _lead(rep, stage=Stage.MQL, first_name="Ada", last_name="Lovelace", company="Engines")
    _lead(rep, stage=Stage.MQL, first_name="Ada", last_name="Byron", company="Poetry")
    client.force_login(rep)

    html = client.get(QUEUE, {"q": "ada engines"}).content.decode()

    assert lead_ids_in_order(html) == [wanted.pk]


def test_queue_filters_by_urgency_bucket(client, rep):
    breached = _lead(rep, stage=Stage.MQL, sla_status="breached", sla_due_at=timezone.now())
    _lead(rep, stage=Stage.MQL)
    client.force_login(rep)

    html = client.get(QUEUE, {"bucket": "breached"}).content.decode()

    assert lead_ids_in_order(html) == [breached.pk]


def test_queue_ignores_an_invalid_filter_value(client, rep):
    lead = _lead(rep, stage=Stage.MQL)
    client.force_login(rep)

    response = client.get(QUEUE, {"stage": "bogus", "channel": "x"})

    assert response.status_code == 200
    assert lead_ids_in_order(response.content.decode()) == [lead.pk]


def test_queue_paginates_and_keeps_filters_in_page_links(client, rep):
    LeadFactory.create_batch(30, owner=rep, stage=Stage.MQL)
    client.force_login(rep)

    first = client.get(QUEUE, {"stage": "mql"}).content.decode()
    second = client.get(QUEUE, {"stage": "mql", "page": 2}).content.decode()

    assert len(lead_ids_in_order(first)) == 25
    assert len(lead_ids_in_order(second)) == 5
    assert "stage=mql&amp;page=2" in first


def test_queue_pages_together_show_every_lead_once_in_urgency_order(client, rep):
    now = timezone.now()
    breached = [
        _lead(rep, stage=Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=h))
        for h in range(1, 16)
    ]
    new = [_lead(rep, stage=Stage.MQL) for _ in range(15)]
    client.force_login(rep)

    shown = [lead_ids_in_order(client.get(QUEUE, {"page": n}).content.decode()) for n in (1, 2)]

    oldest_due_first = [lead.pk for lead in reversed(breached)]
    newest_first = [lead.pk for lead in reversed(new)]
    assert shown[0] + shown[1] == oldest_due_first + newest_first
    assert len(shown[0]) == 25


def test_queue_query_count_does_not_grow_with_the_queue(client, rep, django_assert_num_queries):
    channel = ChannelFactory()
    campaign = CampaignFactory(channel=channel)
    LeadFactory.create_batch(3, owner=rep, stage=Stage.MQL, channel=channel, campaign=campaign)
    client.force_login(rep)

    def more() -> None:
        for i in range(77):
            LeadFactory(
                owner=rep,
                stage=[Stage.MQL, Stage.WORKING, Stage.NURTURE][i % 3],
                channel=ChannelFactory(),
                campaign=CampaignFactory(channel=channel),
                sla_status=["pending", "breached", "none"][i % 3],
                sla_due_at=timezone.now(),
            )

    response = assert_constant_queries(
        django_assert_num_queries, more, lambda: client.get(QUEUE, {"q": "a"})
    )
    assert Lead.objects.filter(owner=rep).count() == 80
    assert response.status_code == 200


def test_queue_pages_with_the_bucket_counts_instead_of_counting_again(client, rep):
    """Unfiltered or filtered by one bucket, the page count comes from the bucket counts
    (one grouped query); any other filter counts its own leads."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(30):
        _lead(rep, stage=Stage.MQL, sla_status=["pending", "breached"][i % 2],
              sla_due_at=timezone.now())  # fmt: skip
    client.force_login(rep)

    def counts(params: dict[str, str]) -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(QUEUE, params)
        assert response.status_code == 200
        plain = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT COUNT(")]
        return len(plain), response.content.decode()

    assert counts({})[0] == 0
    assert counts({"bucket": "breached"})[0] == 0
    assert counts({"q": "a"})[0] == 1
    # Two pages of 30 leads: the pager still knows how many pages there are.
    _, html = counts({})
    assert "Page 1 of 2 · 30 in all" in html


def test_urgency_counts_count_each_lead_in_its_one_bucket(rep):
    from leads.queries import queue_for, urgency_counts

    now = timezone.now()
    today = timezone.localdate()
    _lead(rep, stage=Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=1))
    _lead(rep, stage=Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(hours=1))
    _lead(rep, stage=Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(hours=2))
    _lead(rep, stage=Stage.MQL)
    _lead(rep, stage=Stage.WORKING, first_touch_at=now, last_touch_at=now)
    _lead(rep, stage=Stage.NURTURE, nurture_until=today)
    _lead(rep, stage=Stage.NURTURE, nurture_until=today + dt.timedelta(days=9))
    _lead(rep, stage=Stage.DISQUALIFIED)

    assert urgency_counts(queue_for(rep)) == {
        "breached": 1, "due": 2, "new": 1, "working": 1, "returning": 1, "nurturing": 1,
    }  # fmt: skip
