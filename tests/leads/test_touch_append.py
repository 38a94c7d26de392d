"""A rep's work is never thrown away: touches append to the lead as it is now, a note is
not a sales touch, and where a conflict is real the form comes back as it was typed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from agreements.stages import Stage
from leads import clock, services
from leads.models import Activity, Lead, LeadEvent
from sla.check import run_check
from tests.factories import ChannelFactory, LeadFactory
from tests.sla.conftest import clock_lead, make_rule

pytestmark = pytest.mark.django_db

Kind = LeadEvent.Kind


def post_touch(client, lead, follow=False, **data):
    return client.post(reverse("leads:touch", args=[lead.pk]), data, follow=follow)


def post_transition(client, lead, name, **data):
    return client.post(reverse("leads:transition", args=[lead.pk]), {"name": name, **data})


def breach_now(lead: Lead) -> None:
    """The SLA check, as the scheduler runs it: the lead's clock ran out, so it is breached
    and the lead's version moves on."""
    version = lead.version
    assert run_check(timezone.now()).breached == 1
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.sla_status, saved.version) == (Lead.SLAStatus.BREACHED, version + 1)


def overdue_mql(rep) -> Lead:
    started = timezone.now() - dt.timedelta(hours=3)
    return clock_lead(make_rule(), rep, started=started)


def event_kinds(lead: Lead) -> list[str]:
    return list(LeadEvent.objects.filter(lead=lead).order_by("id").values_list("kind", flat=True))


# --- Touches never conflict ----------------------------------------------------------


def test_touch_posted_after_a_colleagues_stage_move_is_saved(client, rep, manager):
    lead = LeadFactory(stage=Stage.WORKING, owner=rep)
    page_version = lead.version
    services.run_transition(lead, "accept", by=manager, note="Budget confirmed")
    client.force_login(rep)

    response = post_touch(
        client, lead, kind="call", subject="Follow-up", body="Wants pricing", version=page_version
    )

    assert response.status_code == 302
    saved = Lead.objects.get(pk=lead.pk)
    assert saved.stage == Stage.SQL
    touch = saved.activities.get(is_touch=True)
    assert (touch.subject, touch.body) == ("Follow-up", "Wants pricing")
    assert saved.last_touch_at == touch.occurred_at


def test_touch_posted_after_the_sla_check_breached_the_clock_is_saved(client, rep):
    lead = overdue_mql(rep)
    page_version = lead.version
    breach_now(lead)
    client.force_login(rep)

    response = post_touch(
        client, lead, kind="call", subject="Sorry for the wait", version=page_version
    )

    assert response.status_code == 302
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.sla_status) == (Stage.WORKING, Lead.SLAStatus.BREACHED)
    assert saved.activities.get(is_touch=True).subject == "Sorry for the wait"
    assert Kind.SALES_TOUCH in event_kinds(lead)


def test_service_touch_on_a_copy_from_before_the_breach_is_appended(rep):
    lead = overdue_mql(rep)
    stale_copy = Lead.objects.get(pk=lead.pk)
    breach_now(lead)

    services.log_touch(stale_copy, by=rep, kind="email", subject="Late reply")

    saved = Lead.objects.get(pk=lead.pk)
    assert saved.stage == Stage.WORKING
    assert saved.first_touch_at is not None
    assert stale_copy.version == saved.version


def test_touch_on_a_lead_closed_meanwhile_comes_back_with_the_typed_text(client, rep, marketer):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    services.run_transition(lead, "disqualify", by=marketer, reason="Duplicate of another lead")
    client.force_login(rep)

    response = client.post(
        reverse("leads:touch", args=[lead.pk]),
        {
            "kind": "call",
            "subject": "Called back",
            "body": "She asked for a quote <b>today</b>",
            "stage": Stage.MQL,  # what the rep's page showed
        },
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "Not saved" in html
    assert "She asked for a quote &lt;b&gt;today&lt;/b&gt;" in html
    assert "Called back" in html
    assert "closed" in html
    assert "moved it from Marketing Qualified Lead to Disqualified" in html
    assert not Activity.objects.filter(lead=lead).exists()
    assert "Keep it as a note on this lead" in html
    assert 'name="body" value="She asked for a quote &lt;b&gt;today&lt;/b&gt;"' in html


def test_the_text_of_a_refused_touch_can_be_kept_as_a_note(client, rep, marketer):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    services.run_transition(lead, "disqualify", by=marketer, reason="Duplicate of another lead")
    client.force_login(rep)

    response = post_touch(client, lead, kind="note", subject="Called back", body="Quote today")

    assert response.status_code == 302
    note = Activity.objects.get(lead=lead)
    assert (note.kind, note.is_touch, note.body) == ("note", False, "Quote today")
    assert Lead.objects.get(pk=lead.pk).stage == Stage.DISQUALIFIED


# --- A note is not a sales touch ----------------------------------------------------


def test_a_note_settles_no_clock_and_moves_nothing(rep):
    lead = clock_lead(make_rule(), rep, started=timezone.now())
    before = event_kinds(lead)

    note = services.log_touch(lead, by=rep, kind="note", subject="Her assistant picks up")

    saved = Lead.objects.get(pk=lead.pk)
    assert (note.side, note.is_touch) == (Activity.Side.SALES, False)
    assert (saved.stage, saved.sla_status) == (Stage.MQL, Lead.SLAStatus.PENDING)
    assert (saved.first_touch_at, saved.last_touch_at) == (None, None)
    assert event_kinds(lead) == before
    assert not saved.stage_changes.exists()


def test_a_note_before_a_call_leaves_the_first_touch_to_the_call(rep):
    started = timezone.now() - dt.timedelta(minutes=30)
    lead = clock_lead(make_rule(), rep, started=started, sla_started_at=started)
    services.log_touch(lead, by=rep, kind="note", subject="Looked her up")
    call = services.log_touch(lead, by=rep, kind="call", subject="Intro")

    saved = Lead.objects.get(pk=lead.pk)
    assert saved.first_touch_at == call.occurred_at
    assert saved.sla_status == Lead.SLAStatus.MET
    first = LeadEvent.objects.get(lead=lead, kind=Kind.FIRST_TOUCH)
    assert first.at == call.occurred_at
    assert LeadEvent.objects.filter(lead=lead, kind=Kind.SALES_TOUCH).count() == 1


def test_record_sales_touch_ignores_anything_but_a_sales_touch(rep):
    lead = clock_lead(make_rule(), rep, started=timezone.now())
    note = Activity(lead=lead, side="sales", kind="note", actor=rep, is_touch=False)
    note.occurred_at = timezone.now()

    assert clock.record_sales_touch(lead, note, clock.Rules.in_force()) == []
    assert (lead.first_touch_at, lead.sla_status) == (None, Lead.SLAStatus.PENDING)


def test_a_note_is_kept_on_a_closed_lead(rep):
    lead = LeadFactory(stage=Stage.CONVERTED, owner=rep)

    note = services.log_touch(lead, by=rep, kind="note", body="Renewal in March")

    assert Activity.objects.get(pk=note.pk).body == "Renewal in March"


def test_note_from_the_page_says_note_logged(client, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    client.force_login(rep)

    response = post_touch(client, lead, kind="note", body="Met at the fair", follow=True)

    assert "Note logged." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.MQL


def test_an_empty_touch_is_refused_in_its_panel(client, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    client.force_login(rep)

    response = post_touch(client, lead, kind="call", subject=" ", body="")

    assert response.status_code == 422
    assert "write a summary or notes" in response.content.decode()
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.first_touch_at) == (Stage.MQL, None)
    assert not saved.activities.exists()


def test_the_touch_form_has_no_kind_chosen_until_the_rep_chooses(client, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)
    client.force_login(rep)

    html = client.get(lead.get_absolute_url()).content.decode()

    assert '<option value="" selected>Choose…</option>' in html
    assert "Note (not a touch)" in html


# --- Stage moves: only a real conflict refuses --------------------------------------


def test_stage_move_after_the_sla_breach_is_not_a_conflict(client, rep):
    lead = overdue_mql(rep)
    page = {"version": lead.version, "stage": lead.stage}
    breach_now(lead)
    client.force_login(rep)

    response = post_transition(
        client, lead, "nurture", note="Back after budget", return_on="2999-01-01", **page
    )

    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == Stage.NURTURE


def test_two_stage_moves_conflict_and_the_form_comes_back_as_typed(client, rep, manager):
    lead = LeadFactory(stage=Stage.WORKING, owner=rep)
    page = {"version": lead.version, "stage": lead.stage}
    services.run_transition(lead, "accept", by=manager)
    client.force_login(rep)

    response = post_transition(
        client,
        lead,
        "nurture",
        note="Call again after their budget round",
        return_on="2999-01-01",
        HTTP_HX_REQUEST="true",
        **page,
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert "changed by someone else" in html
    assert "moved it from Working to Sales Qualified" in html
    assert 'value="Call again after their budget round"' in html
    assert 'value="2999-01-01"' in html
    assert '<details class="action-details" data-action="nurture" open>' in html
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.nurture_until) == (Stage.SQL, None)


def test_conflicting_action_no_longer_offered_is_shown_as_text_to_copy(client, rep, manager):
    lead = LeadFactory(
        stage=Stage.WORKING, owner=rep, channel=ChannelFactory(is_marketing_sourced=False)
    )
    page = {"version": lead.version, "stage": lead.stage}
    services.run_transition(lead, "disqualify", by=manager, reason="Went bankrupt")
    client.force_login(rep)

    response = post_transition(
        client, lead, "nurture", note="Try again in spring", return_on="2999-01-01", **page
    )

    html = response.content.decode()
    assert response.status_code == 409
    assert 'data-testid="unsaved"' in html
    assert "Try again in spring" in html
    assert "to Disqualified" in html


# --- Deal won asks first -------------------------------------------------------------


def test_deal_won_without_the_confirmation_is_refused(client, rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="25000")
    client.force_login(rep)

    page = client.get(lead.get_absolute_url()).content.decode()
    response = post_transition(client, lead, "win", version=lead.version, stage=lead.stage)

    assert "Close the deal of 25,000 EUR as won?" in page
    assert response.status_code == 422
    assert "Confirm that the deal is won" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == Stage.OPPORTUNITY
