"""The lead page: the single view, and every action in place (plain POST and htmx)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agreements.stages import Stage
from leads import services
from leads.models import Activity, Deal, Feedback, Lead
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    CampaignFactory,
    ChannelFactory,
    FeedbackFactory,
    LeadFactory,
    PersonaFactory,
)
from tests.leads.workspace_helpers import assert_constant_queries

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _touch(client, lead, version=None, **extra):
    data = {"kind": "call", "subject": "Intro call", "body": "", "version": version or lead.version}
    return client.post(reverse("leads:touch", args=[lead.pk]), data, **extra)


def _transition(client, lead, name, version=None, **data):
    payload = {"name": name, "version": version or lead.version, **data}
    return client.post(reverse("leads:transition", args=[lead.pk]), payload)


def _transitions_offered(html: str) -> set[str]:
    return set(re.findall(r'data-transition="(\w+)"', html))


@pytest.fixture
def mql(rep):
    return LeadFactory(
        owner=rep,
        stage=Stage.MQL,
        sla_status="pending",
        sla_due_at=timezone.now() + dt.timedelta(hours=2),
    )


# --- What the page shows -----------------------------------------------------------


def test_lead_page_shows_contact_source_and_all_sides_of_the_timeline(client, rep):
    channel = ChannelFactory(name="Webinars")
    lead = LeadFactory(
        owner=rep,
        stage=Stage.MQL,
        phone="+1 555 0100",
        account=AccountFactory(name="Initech"),
        channel=channel,
        campaign=CampaignFactory(name="Spring webinar", channel=channel),
        persona=PersonaFactory(name="IT director"),
    )
    for side, kind in [("marketing", "email"), ("sales", "call"), ("customer", "web_visit")]:
        ActivityFactory(lead=lead, side=side, kind=kind, subject=f"{side} {kind}")
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()

    for text in ("+1 555 0100", "Initech", "Webinars", "Spring webinar", "IT director"):
        assert text in html
    sides = re.findall(r'data-side="(\w+)" data-kind="(\w+)"', html)
    assert set(sides) == {("marketing", "email"), ("sales", "call"), ("customer", "web_visit")}


def test_lead_page_shows_stage_history_deals_and_feedback_thread(client, rep, marketer):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    services.run_transition(lead, "accept", by=rep)
    Deal.objects.create(lead=lead, amount="1200.00")
    root = FeedbackFactory(lead=lead, author=rep, text="Wrong title")
    services.reply_to_feedback(root, by=marketer, text="The form said CTO")
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()

    assert "Sales Qualified" in html
    assert "1,200 EUR" in html  # in the site's currency
    assert "Wrong title" in html
    assert "The form said CTO" in html


def test_lead_page_query_count_does_not_grow_with_its_history(
    client, rep, django_assert_num_queries
):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    ActivityFactory.create_batch(3, lead=lead)
    FeedbackFactory(lead=lead, author=rep)
    client.force_login(rep)

    def more() -> None:
        ActivityFactory.create_batch(60, lead=lead, actor=rep)
        for _ in range(5):
            root = FeedbackFactory(lead=lead, author=rep)
            Feedback.objects.create(lead=lead, reply_to=root, text="re", author=rep)
        for _ in range(5):
            Deal.objects.create(lead=lead, amount="10", opened_by=rep)

    assert_constant_queries(
        django_assert_num_queries, more, lambda: client.get(lead.get_absolute_url())
    )


def test_page_offers_exactly_the_transitions_the_user_may_run(client, rep, mql):
    client.force_login(rep)

    html = client.get(mql.get_absolute_url()).content.decode()

    expected = {name for name, _ in services.available_transitions(mql, rep)}
    assert _transitions_offered(html) == expected
    assert "hand_raise" not in expected


def test_marketing_sees_the_lead_read_only_for_sales(client, marketer, mql):
    client.force_login(marketer)

    html = client.get(mql.get_absolute_url()).content.decode()

    assert f'action="/leads/{mql.pk}/touch/"' not in html
    assert "start_working" not in _transitions_offered(html)


# --- Touches -------------------------------------------------------------------------


def test_logging_a_call_on_an_mql_starts_working_and_meets_the_sla(client, rep, mql):
    client.force_login(rep)

    response = _touch(client, mql)

    assert response.status_code == 302
    mql.refresh_from_db()
    assert mql.stage == Stage.WORKING
    assert mql.sla_status == Lead.SLAStatus.MET
    assert mql.activities.filter(kind="call", side="sales", is_touch=True).exists()


def test_htmx_touch_answers_with_the_panel_only(client, rep, mql):
    client.force_login(rep)

    response = _touch(client, mql, follow=True, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="lead-panel"')
    assert "<html" not in html
    assert 'data-testid="stage">Working<' in html
    assert "Call logged." in html


def test_touch_without_a_kind_shows_the_error_inline(client, rep, mql):
    client.force_login(rep)

    response = client.post(
        reverse("leads:touch", args=[mql.pk]), {"kind": "", "subject": "Intro call"}
    )

    assert response.status_code == 422
    assert "Choose what you did" in response.content.decode()
    assert not mql.activities.exists()


def test_touch_from_an_older_page_is_appended(client, rep, mql):
    seen_version = mql.version
    services.log_touch(mql, by=rep, kind="email")
    client.force_login(rep)

    response = _touch(client, mql, version=seen_version)

    assert response.status_code == 302
    assert mql.activities.count() == 2


def test_marketing_cannot_log_a_sales_touch(client, marketer, mql):
    client.force_login(marketer)

    assert _touch(client, mql).status_code == 403
    assert not mql.activities.exists()


# --- Transitions ---------------------------------------------------------------------


def test_marketing_cannot_run_a_sales_transition(client, marketer, mql):
    client.force_login(marketer)

    response = _transition(client, mql, "start_working")

    assert response.status_code == 403
    mql.refresh_from_db()
    assert mql.stage == Stage.MQL


def test_transition_from_a_stale_page_is_refused(client, rep, mql):
    seen_version = mql.version
    services.log_touch(mql, by=rep, kind="email")
    client.force_login(rep)

    response = _transition(client, mql, "accept", version=seen_version)

    assert response.status_code == 409
    mql.refresh_from_db()
    assert mql.stage == Stage.WORKING


def test_disqualify_needs_a_reason(client, rep, mql):
    client.force_login(rep)

    response = _transition(client, mql, "disqualify", reason="")

    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    mql.refresh_from_db()
    assert mql.stage == Stage.MQL


def test_disqualifying_a_marketing_lead_needs_structured_feedback(client, rep, mql):
    client.force_login(rep)

    response = _transition(client, mql, "disqualify", reason="Student")

    assert response.status_code == 422
    assert "action-details" in response.content.decode()
    mql.refresh_from_db()
    assert mql.stage == Stage.MQL


def test_disqualify_with_feedback_tells_marketing(client, rep, mql):
    client.force_login(rep)

    response = _transition(
        client,
        mql,
        "disqualify",
        reason="Student",
        fit="poor",
        feedback_reason="wrong_persona",
        feedback_text="Students download the whitepaper",
    )

    assert response.status_code == 302
    mql.refresh_from_db()
    assert mql.stage == Stage.DISQUALIFIED
    feedback = mql.feedback.get()
    assert (feedback.fit, feedback.reason) == ("poor", "wrong_persona")


def test_nurture_needs_a_return_date_and_keeps_it(client, rep, mql):
    client.force_login(rep)
    back = timezone.localdate() + dt.timedelta(days=60)

    assert _transition(client, mql, "nurture").status_code == 422
    response = _transition(client, mql, "nurture", return_on=back.isoformat())

    assert response.status_code == 302
    mql.refresh_from_db()
    assert (mql.stage, mql.nurture_until) == (Stage.NURTURE, back)


def test_nurture_in_the_past_is_shown_as_an_error(client, rep, mql):
    client.force_login(rep)
    past = timezone.localdate() - dt.timedelta(days=1)

    response = _transition(client, mql, "nurture", return_on=past.isoformat())

    assert response.status_code == 422
    assert "must be in the future" in response.content.decode()


def test_open_a_deal_then_win_it(client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.SQL)
    client.force_login(rep)

    assert _transition(client, lead, "open_opportunity", amount="25000").status_code == 302
    lead.refresh_from_db()
    assert _transition(client, lead, "win", confirm="yes").status_code == 302

    lead.refresh_from_db()
    assert lead.stage == Stage.CONVERTED
    assert lead.deals.get().status == Deal.Status.WON


def test_losing_the_deal_closes_it_as_lost(client, rep):
    lead = LeadFactory(
        owner=rep, stage=Stage.SQL, channel=ChannelFactory(is_marketing_sourced=False)
    )
    services.run_transition(lead, "open_opportunity", by=rep, amount="900")
    client.force_login(rep)

    page = client.get(lead.get_absolute_url()).content.decode()
    response = _transition(client, lead, "disqualify", reason="Chose a competitor")

    assert "Deal lost: disqualify" in page
    assert response.status_code == 302
    assert lead.deals.get().status == Deal.Status.LOST


def test_open_opportunity_needs_an_amount(client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.SQL)
    client.force_login(rep)

    response = _transition(client, lead, "open_opportunity", amount="")

    assert response.status_code == 422
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL


# --- The feedback thread ---------------------------------------------------------------


def test_marketing_reply_shows_on_the_reps_lead_page(client, rep, marketer):
    lead = LeadFactory(owner=rep, stage=Stage.DISQUALIFIED)
    root = FeedbackFactory(lead=lead, author=rep)
    client.force_login(marketer)

    response = client.post(
        reverse("leads:feedback_reply", args=[root.pk]),
        {"text": "They asked for a demo twice", "next": reverse("leads:marketing")},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("leads:marketing")
    client.force_login(rep)
    assert "They asked for a demo twice" in client.get(lead.get_absolute_url()).content.decode()


def test_reply_to_a_reply_stays_in_one_thread(client, rep, marketer):
    lead = LeadFactory(owner=rep, stage=Stage.DISQUALIFIED)
    root = FeedbackFactory(lead=lead, author=rep)
    reply = services.reply_to_feedback(root, by=marketer, text="Why?")
    client.force_login(rep)

    client.post(reverse("leads:feedback_reply", args=[reply.pk]), {"text": "No budget"})

    assert Feedback.objects.filter(reply_to=root).count() == 2


def test_a_reply_too_long_says_so_and_the_boxes_stop_it_first(client, rep, marketer):
    lead = LeadFactory(owner=rep, stage=Stage.DISQUALIFIED)
    root = FeedbackFactory(lead=lead, author=rep)
    client.force_login(marketer)

    response = client.post(
        reverse("leads:feedback_reply", args=[root.pk]), {"text": "x" * 5001}, follow=True
    )

    page = response.content.decode()
    assert "at most 5000 characters (it has 5001)" in page
    assert "Write something to reply." not in page
    assert not Feedback.objects.filter(reply_to=root).exists()
    # Both reply boxes (marketing's feedback page, the lead page) hold at most that much.
    assert 'maxlength="5000"' in client.get(reverse("leads:marketing")).content.decode()
    client.force_login(rep)
    assert 'maxlength="5000"' in client.get(lead.get_absolute_url()).content.decode()


def test_an_empty_reply_asks_for_words(client, rep, marketer):
    root = FeedbackFactory(lead=LeadFactory(owner=rep, stage=Stage.DISQUALIFIED), author=rep)
    client.force_login(marketer)
    response = client.post(
        reverse("leads:feedback_reply", args=[root.pk]), {"text": "  "}, follow=True
    )
    assert "Write something to reply." in response.content.decode()


def test_reply_ignores_an_offsite_next(client, rep, marketer):
    root = FeedbackFactory(lead=LeadFactory(owner=rep), author=rep)
    client.force_login(marketer)

    response = client.post(
        reverse("leads:feedback_reply", args=[root.pk]),
        {"text": "ok", "next": "https://evil.example/"},
    )

    assert response["Location"] == root.lead.get_absolute_url()


def test_sales_touch_activity_is_marked_sales_side(client, rep, mql):
    client.force_login(rep)
    _touch(client, mql)
    assert Activity.objects.get(lead=mql).side == Activity.Side.SALES


def test_managers_lead_page_looks_up_the_team_once(client, manager, rep):
    """Each transition's permission asks whether the owner is in the manager's team: the
    owner's team comes with the lead, so no transition looks it up again."""
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(lead.get_absolute_url()).status_code == 200

    team_lookups = [q for q in queries.captured_queries if "leads_repprofile" in q["sql"]]
    assert team_lookups
    assert not [q for q in team_lookups if "LIMIT 1" in q["sql"]]
