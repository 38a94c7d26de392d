"""Owners change in the admin only through the assignment service: sales reps only, with
the assignment, its activity and its ledger event recorded as on the team page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Activity, Assignment, Lead, LeadEvent
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


def owner_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_owner", args=[lead.pk])


def change_url(lead: Lead) -> str:
    return reverse("admin:leads_lead_change", args=[lead.pk])


@pytest.fixture
def staff_manager(manager):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    return manager


@pytest.fixture
def teammate(team):
    return RepFactory(username="rep-two", team=team)


def test_the_change_page_shows_the_owner_with_a_link_to_change_it(client, ops, rep):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(ops)
    response = client.get(change_url(lead))
    html = response.content.decode()
    assert "owner" not in response.context["adminform"].form.fields
    assert f'href="{owner_url(lead)}">Change owner</a>' in html


def test_a_new_lead_gets_its_owner_by_routing_not_by_hand(client, ops):
    client.force_login(ops)
    response = client.get(reverse("admin:leads_lead_add"))
    assert "owner" not in response.context["adminform"].form.fields
    assert "Decided by the routing rules" in response.content.decode()


def test_a_manager_changes_the_owner_and_it_is_recorded_like_a_reassignment(
    client, staff_manager, rep, teammate
):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(staff_manager)

    response = client.post(owner_url(lead), {"owner": teammate.pk, "reason": "Rep on leave"})

    assert response.status_code == 302
    assert response["Location"] == change_url(lead)
    lead.refresh_from_db()
    assert lead.owner == teammate
    assignment = Assignment.objects.get(lead=lead)
    assert (assignment.from_owner, assignment.to_owner, assignment.by, assignment.reason) == (
        rep,
        teammate,
        staff_manager,
        "Rep on leave",
    )
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.ASSIGNED)
    assert (event.owner, event.actor) == (teammate, staff_manager)
    assert Activity.objects.filter(lead=lead, kind=Activity.Kind.ASSIGNMENT).count() == 1


def test_no_owner_puts_the_lead_on_the_desk(client, staff_manager, rep):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(staff_manager)
    assert client.post(owner_url(lead), {"owner": ""}).status_code == 302
    lead.refresh_from_db()
    assert lead.owner is None
    assert Assignment.objects.get(lead=lead).to_owner is None


def test_a_marketing_user_cannot_be_made_the_owner(client, staff_manager, rep, marketer):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(staff_manager)

    response = client.post(owner_url(lead), {"owner": marketer.pk})

    assert response.status_code == 200
    assert "owner" in response.context["owner_form"].errors
    lead.refresh_from_db()
    assert lead.owner == rep
    assert not Assignment.objects.exists()
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).exists()


def test_the_services_rules_apply_in_the_admin_too(client, ops, rep, teammate):
    """Ops reach the admin but do not assign leads (managers do): the service says so."""
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(ops)

    response = client.post(owner_url(lead), {"owner": teammate.pk})

    assert response.status_code == 200
    assert response.context["owner_form"].errors["owner"] == [
        "Only a sales manager can assign leads."
    ]
    lead.refresh_from_db()
    assert lead.owner == rep
    assert not Assignment.objects.exists()


def test_a_manager_cannot_give_a_lead_to_another_managers_rep(
    client, staff_manager, rep, other_rep
):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(staff_manager)
    response = client.post(owner_url(lead), {"owner": other_rep.pk})
    assert response.context["owner_form"].errors["owner"] == [
        "You can assign leads only to reps of your own teams."
    ]
    assert Lead.objects.get(pk=lead.pk).owner == rep


def test_a_closed_lead_keeps_its_owner(client, staff_manager, rep, teammate):
    lead = LeadFactory(owner=rep, stage="disqualified")
    client.force_login(staff_manager)
    response = client.post(owner_url(lead), {"owner": teammate.pk})
    assert "it has no queue" in response.context["owner_form"].errors["owner"][0]
    assert Lead.objects.get(pk=lead.pk).owner == rep


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_users_without_the_admin_never_reach_the_owner_page(client, request, who, rep):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(request.getfixturevalue(who))
    response = client.post(owner_url(lead), {"owner": ""})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert Lead.objects.get(pk=lead.pk).owner == rep
