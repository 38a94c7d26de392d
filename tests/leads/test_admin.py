"""Leads in the admin: Ops finds leads fast and moves them through the lifecycle service."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agreements.models import Channel
from customers.merge import merge_leads, plan_merge
from leads import services
from leads.models import Activity, Feedback, Lead, LeadEvent, StageChange
from tests.factories import ChannelFactory, LeadFactory, UserFactory

CHANGELIST = reverse("admin:leads_lead_changelist")


def change_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


def transition_url(lead: Lead, name: str) -> str:
    return reverse("admin:leads_lead_transition", args=[lead.pk, name])


def change_form_data(response) -> dict[str, object]:
    """The change form as the browser would post it back unchanged, inlines included."""
    data: dict[str, object] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value is not None:
                data[form.add_prefix(name)] = value
    return data


def transition_buttons(response) -> set[str]:
    """The transition buttons on an admin change page."""
    return set(
        re.findall(r'name="_fsm_transition_to"\s+value="([^"]+)"', response.content.decode())
    )


def listed_emails(response) -> set[str]:
    return {lead.email for lead in response.context["cl"].result_list}


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


# --- The changelist -------------------------------------------------------------


def test_ops_opens_the_lead_changelist(ops_client):
    LeadFactory(email="ana@acme.example")
    response = ops_client.get(CHANGELIST)
    assert response.status_code == 200
    assert listed_emails(response) == {"ana@acme.example"}


@pytest.mark.parametrize("query", ["Silva", "ana.silva@acme", "Acme Corp"])
def test_search_by_name_email_or_company(ops_client, query):
    LeadFactory(
        first_name="Ana", last_name="Silva", email="ana.silva@acme.example", company="Acme Corp"
    )
    LeadFactory(first_name="Ben", last_name="Berg", email="ben@initech.example", company="Initech")

    response = ops_client.get(CHANGELIST, {"q": query})

    assert listed_emails(response) == {"ana.silva@acme.example"}


def test_filter_by_stage(ops_client):
    LeadFactory(email="mql@example.com", stage="mql")
    LeadFactory(email="fan@example.com", stage="fan")
    response = ops_client.get(CHANGELIST, {"stage__exact": "mql"})
    assert listed_emails(response) == {"mql@example.com"}


def test_filter_by_owner(ops_client, rep, other_rep):
    LeadFactory(email="mine@example.com", owner=rep)
    LeadFactory(email="theirs@example.com", owner=other_rep)
    LeadFactory(email="desk@example.com", owner=None)
    assert listed_emails(ops_client.get(CHANGELIST, {"owner": rep.pk})) == {"mine@example.com"}
    assert listed_emails(ops_client.get(CHANGELIST, {"owner": "none"})) == {"desk@example.com"}


def test_owner_filter_offers_sales_people_not_everyone(ops_client, rep, marketer):
    response = ops_client.get(CHANGELIST)
    owner_filter = next(f for f in response.context["cl"].filter_specs if f.title == "owner")
    offered = {str(choice["display"]) for choice in owner_filter.choices(response.context["cl"])}
    assert "rep" in offered
    assert "Unassigned" in offered
    assert "marketer" not in offered


def test_filter_by_channel(ops_client):
    webinar = ChannelFactory(slug="webinar-test")
    LeadFactory(email="webinar@example.com", channel=webinar)
    LeadFactory(email="other@example.com")
    response = ops_client.get(CHANGELIST, {"channel__id__exact": webinar.pk})
    assert listed_emails(response) == {"webinar@example.com"}


def _changelist_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_changelist_queries_do_not_grow_with_the_number_of_leads(ops_client, rep, other_rep):
    channels = [ChannelFactory(), ChannelFactory()]
    for i in range(5):
        LeadFactory(owner=[rep, other_rep][i % 2], channel=channels[i % 2])
    few = len(_changelist_queries(ops_client))
    for i in range(55):
        LeadFactory(owner=[rep, other_rep, None][i % 3], channel=channels[i % 2])
    many = _changelist_queries(ops_client)
    assert len(many) == few, "\n".join(many)


def test_changelist_never_counts_the_whole_table(ops_client):
    LeadFactory.create_batch(3)
    for sql in _changelist_queries(ops_client):
        if "COUNT(" in sql.upper() and "leads_lead" in sql:
            assert "LIMIT" in sql.upper(), f"unbounded count: {sql}"


def test_changelist_count_is_capped(ops_client, settings, monkeypatch):
    monkeypatch.setattr("leads.admin.COUNT_CAP", 4)
    LeadFactory.create_batch(8)
    response = ops_client.get(CHANGELIST)
    assert response.context["cl"].result_count == 5


# --- The change page ----------------------------------------------------------------


def test_change_page_shows_the_stage_history(ops_client, marketer):
    lead = LeadFactory(stage="suspect")
    services.run_transition(lead, "mark_fan", by=marketer, note="Visited pricing page")

    response = ops_client.get(change_url(lead))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Visited pricing page" in page
    inline = next(
        i for i in response.context["inline_admin_formsets"] if i.formset.model is StageChange
    )
    assert [form.instance.to_stage for form in inline.formset.forms] == ["fan"]


def _change_page_queries(client, lead: Lead) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(change_url(lead)).status_code == 200
    return len(captured.captured_queries)


def test_change_page_queries_do_not_grow_with_the_history(ops_client, rep, marketer):
    lead = LeadFactory(stage="suspect", owner=rep)
    services.run_transition(lead, "mark_fan", by=marketer)
    services.log_touch(lead, by=rep, kind="call")
    short = _change_page_queries(ops_client, lead)
    for name in ("qualify_information", "hand_raise"):
        services.run_transition(lead, name, by=marketer)
    for kind in ("email", "meeting", "call"):
        services.log_touch(lead, by=rep, kind=kind)
    assert _change_page_queries(ops_client, lead) == short


def test_change_page_offers_the_transitions_this_user_may_run(ops_client, rep):
    lead = LeadFactory(stage="mql", owner=rep)
    response = ops_client.get(change_url(lead))
    assert transition_buttons(response) == {"disqualify", "nurture"}, "Ops runs no sales moves"
    assert "Any open stage → Disqualified" in response.content.decode(), "help from the docstring"


def test_change_page_offers_reopen_to_ops(ops_client):
    lead = LeadFactory(stage="disqualified")
    assert transition_buttons(ops_client.get(change_url(lead))) == {"reopen"}


def test_change_page_of_a_converted_lead_offers_no_transition(ops_client):
    lead = LeadFactory(stage="converted")
    assert transition_buttons(ops_client.get(change_url(lead))) == set()


def test_transition_button_runs_through_the_service(ops_client, ops):
    lead = LeadFactory(stage="suspect", title="CFO")
    data = change_form_data(ops_client.get(change_url(lead)))
    data["_fsm_transition_to"] = "mark_fan"

    response = ops_client.post(change_url(lead), data)

    assert response.status_code == 302
    saved = Lead.objects.get(pk=lead.pk)
    assert saved.stage == "fan"
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.by) == ("suspect", "fan", ops)


def test_transition_needing_input_shows_its_form(ops_client):
    lead = LeadFactory(stage="mql")
    data = change_form_data(ops_client.get(change_url(lead)))
    data["_fsm_transition_to"] = "nurture"

    response = ops_client.post(change_url(lead), data)

    assert response.status_code == 302
    assert response["Location"] == transition_url(lead, "nurture")
    page = ops_client.get(response["Location"]).content.decode()
    assert 'name="return_on"' in page
    assert Lead.objects.get(pk=lead.pk).stage == "mql"


def test_nurture_from_the_admin_form(ops_client, ops):
    lead = LeadFactory(stage="mql")
    return_on = timezone.localdate() + dt.timedelta(days=20)

    response = ops_client.post(
        transition_url(lead, "nurture"),
        {"version": lead.version, "return_on": return_on.isoformat(), "note": "Q3 budget"},
    )

    assert response.status_code == 302
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.nurture_until) == ("nurture", return_on)
    change = StageChange.objects.get(lead=lead)
    assert (change.by, change.note) == (ops, "Q3 budget")


def test_admin_refuses_a_past_return_date_with_the_service_message(ops_client):
    lead = LeadFactory(stage="mql")
    response = ops_client.post(
        transition_url(lead, "nurture"), {"version": lead.version, "return_on": "2020-01-01"}
    )
    assert response.status_code == 200
    assert "must be in the future" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == "mql"
    assert not StageChange.objects.filter(lead=lead).exists()


def test_admin_disqualify_needs_a_reason(ops_client):
    lead = LeadFactory(stage="suspect", channel=ChannelFactory(is_marketing_sourced=False))
    response = ops_client.post(transition_url(lead, "disqualify"), {"version": lead.version})
    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).stage == "suspect"


def test_admin_disqualify_of_a_marketing_lead_records_feedback(ops_client):
    lead = LeadFactory(stage="mql", channel=ChannelFactory(is_marketing_sourced=True))
    response = ops_client.post(
        transition_url(lead, "disqualify"),
        {
            "version": lead.version,
            "reason": "Student, not a buyer",
            "fit": "poor",
            "feedback_reason": "wrong_persona",
        },
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == "disqualified"
    assert Feedback.objects.get(lead=lead).reason == "wrong_persona"


def test_admin_open_opportunity_is_refused_for_ops(ops_client, rep):
    """Ops is not the lead's sales side: the admin does not open deals for it."""
    lead = LeadFactory(stage="sql", owner=rep)
    response = ops_client.post(
        transition_url(lead, "open_opportunity"), {"version": lead.version, "amount": "100"}
    )
    assert response.status_code == 302
    assert Lead.objects.get(pk=lead.pk).stage == "sql"


def test_stale_admin_transition_form_is_refused(ops_client, marketer):
    lead = LeadFactory(stage="mql")
    loaded_version = lead.version
    services.run_transition(lead, "nurture", by=marketer, return_on="2999-01-01")

    response = ops_client.post(
        transition_url(lead, "disqualify"),
        {
            "version": loaded_version,
            "reason": "Duplicate",
            "fit": "poor",
            "feedback_reason": "duplicate",
        },
    )

    assert "changed by someone else" in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).stage == "nurture"


def test_stale_admin_change_form_does_not_overwrite(ops_client, marketer):
    lead = LeadFactory(stage="mql", title="CFO")
    data = change_form_data(ops_client.get(change_url(lead)))
    services.run_transition(lead, "nurture", by=marketer, return_on="2999-01-01")
    data["title"] = "Chief Financial Officer"

    response = ops_client.post(change_url(lead), data)

    assert response.status_code == 200
    assert "changed by someone else" in response.content.decode()
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.title) == ("nurture", "CFO")


def test_ops_adds_a_lead_in_the_admin_through_the_one_way_in(ops_client):
    add = reverse("admin:leads_lead_add")
    data = change_form_data(ops_client.get(add))
    channel = Channel.objects.get(slug="purchased-list")
    data.update(
        email="  New.Person@Example.COM ", first_name="New", stage="converted", channel=channel.pk
    )

    response = ops_client.post(add, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    lead = Lead.objects.get()
    # The channel's entry stage, not the posted one; entered and recorded like any other way in.
    assert (lead.email, lead.first_name, lead.stage) == ("new.person@example.com", "New", "suspect")
    assert LeadEvent.objects.filter(lead=lead, kind="stage_entered", stage="suspect").exists()
    assert Activity.objects.filter(lead=lead, side="marketing").count() == 1


def test_a_lead_added_in_the_admin_needs_its_channel(ops_client):
    add = reverse("admin:leads_lead_add")
    data = change_form_data(ops_client.get(add))
    data.update(email="no.channel@example.com", channel="")

    response = ops_client.post(add, data)

    assert response.status_code == 200
    assert "channel" in response.context["adminform"].form.errors
    assert not Lead.objects.exists()


def test_an_address_merged_into_another_lead_is_refused_in_words(ops_client, ops):
    old = LeadFactory(email="jsmith@gmail.example", first_name="J")
    survivor = LeadFactory(email="john.smith@acme.example", first_name="John")
    merge_leads(plan_merge([old, survivor], by=ops, survivor=survivor.pk), by=ops)
    add = reverse("admin:leads_lead_add")
    data = change_form_data(ops_client.get(add))
    channel = Channel.objects.get(slug="purchased-list")
    data.update(email="JSmith@gmail.example", first_name="Again", channel=channel.pk)

    response = ops_client.post(add, data)

    assert response.status_code == 200
    (error,) = response.context["adminform"].form.errors["email"]
    assert "was merged into" in error and "Edit that lead instead" in error
    assert Lead.objects.count() == 1
    # Nor may another lead take the address by an edit.
    other = LeadFactory(email="someone@acme.example")
    edited = change_form_data(ops_client.get(change_url(other)))
    edited.update(email="jsmith@gmail.example")
    assert ops_client.post(change_url(other), edited).status_code == 200
    assert Lead.objects.get(pk=other.pk).email == "someone@acme.example"


def test_owner_and_history_are_not_edited_by_hand_in_the_admin(ops_client, rep):
    lead = LeadFactory(owner=rep)
    response = ops_client.get(change_url(lead))
    assert "owner" not in response.context["adminform"].form.fields
    assert ops_client.get(reverse("admin:leads_activity_add")).status_code == 403
    assert ops_client.get(reverse("admin:leads_deal_add")).status_code == 403


def test_admin_edit_keeps_the_stage_protected(ops_client):
    lead = LeadFactory(stage="mql")
    data = change_form_data(ops_client.get(change_url(lead)))
    data["stage"] = "converted"
    data["company"] = "Renamed Inc"

    response = ops_client.post(change_url(lead), data)

    assert response.status_code == 302
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.company) == ("mql", "Renamed Inc")


# --- Who reaches the admin ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["marketer", "rep", "manager"])
def test_non_staff_users_are_sent_away_from_the_admin(client, request, who):
    client.force_login(request.getfixturevalue(who))
    for url in ("/admin/", CHANGELIST):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_without_lead_permissions_cannot_open_leads(client, db):
    client.force_login(UserFactory(username="staff-no-role", is_staff=True))
    assert client.get(CHANGELIST).status_code == 403
