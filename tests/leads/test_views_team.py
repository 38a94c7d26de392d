"""The sales manager's pages: team load, a rep's queue, reassignment and the lead desk."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements.stages import Stage
from leads import services
from leads.models import Activity, Assignment, LeadError
from tests.factories import LeadFactory, RepFactory
from tests.leads.workspace_helpers import assert_constant_queries, lead_ids_in_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def teammate(team):
    return RepFactory(username="rep-two", team=team)


def _reassign(client, leads, to, reason="Rebalancing", next_url=""):
    data = {
        "leads": [lead.pk for lead in leads],
        "to_user": to if isinstance(to, str) else to.pk,
        "reason": reason,
        "next": next_url,
    }
    return client.post(reverse("leads:reassign"), data)


def test_team_page_counts_each_reps_open_leads_by_queue_bucket(client, manager, rep, other_rep):
    LeadFactory(owner=rep, stage=Stage.MQL, sla_status="breached", sla_due_at="2026-01-01T00:00Z")
    LeadFactory(owner=rep, stage=Stage.MQL)
    LeadFactory(owner=rep, stage=Stage.WORKING, first_touch_at="2026-01-01T00:00Z")
    LeadFactory(owner=rep, stage=Stage.DISQUALIFIED)
    client.force_login(manager)

    response = client.get(reverse("leads:team"))

    rows = {r.rep.user_id: r for r in response.context["reps"]}
    assert set(rows) == {rep.pk}
    # The untouched breach is "breached" only, as in the queue: each lead in one bucket.
    counts = rows[rep.pk].counts
    assert (rows[rep.pk].open_leads, counts["breached"], counts["new"], counts["working"]) == (
        3,
        1,
        1,
        1,
    )


def test_team_page_has_a_lead_desk_row(client, manager, rep):
    LeadFactory(owner=None, stage=Stage.MQL, sla_status="pending")
    LeadFactory(owner=None, stage=Stage.CONVERTED)
    client.force_login(manager)

    desk = client.get(reverse("leads:team")).context["desk"]

    assert (desk.open_leads, desk.counts["due"]) == (1, 1)


def test_team_page_query_count_does_not_grow(client, manager, rep, team, django_assert_num_queries):
    LeadFactory.create_batch(3, owner=rep, stage=Stage.MQL)
    client.force_login(manager)

    def more() -> None:
        for i in range(5):
            extra = RepFactory(username=f"extra-{i}", team=team)
            LeadFactory.create_batch(15, owner=extra, stage=Stage.MQL, sla_status="breached")

    assert_constant_queries(
        django_assert_num_queries, more, lambda: client.get(reverse("leads:team"))
    )


def test_manager_opens_a_reps_queue(client, manager, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(manager)

    response = client.get(reverse("leads:team_rep", args=[rep.pk]))

    assert lead_ids_in_order(response.content.decode()) == [lead.pk]


def test_manager_cannot_open_another_teams_rep(client, manager, other_rep):
    client.force_login(manager)

    assert client.get(reverse("leads:team_rep", args=[other_rep.pk])).status_code == 404


def test_reassign_moves_leads_and_records_who_when_why_and_load(client, manager, rep, teammate):
    LeadFactory(owner=teammate, stage=Stage.WORKING)
    leads = LeadFactory.create_batch(2, owner=rep, stage=Stage.MQL)
    client.force_login(manager)
    back = reverse("leads:team_rep", args=[rep.pk])

    response = _reassign(client, leads, teammate, next_url=back)

    assert response.status_code == 302
    assert response["Location"] == back
    for lead in leads:
        lead.refresh_from_db()
        assert lead.owner == teammate
    moves = list(Assignment.objects.order_by("id"))
    assert [(m.from_owner, m.to_owner, m.by, m.reason) for m in moves] == [
        (rep, teammate, manager, "Rebalancing")
    ] * 2
    assert [m.open_load for m in moves] == [1, 2]
    assert Activity.objects.filter(kind=Activity.Kind.ASSIGNMENT).count() == 2


def test_reassigned_lead_leaves_one_queue_and_joins_the_other(client, manager, rep, teammate):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(manager)

    _reassign(client, [lead], teammate)

    client.force_login(rep)
    assert lead_ids_in_order(client.get(reverse("leads:queue")).content.decode()) == []
    client.force_login(teammate)
    assert lead_ids_in_order(client.get(reverse("leads:queue")).content.decode()) == [lead.pk]


def test_manager_cannot_reassign_to_another_teams_rep(client, manager, rep, other_rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(manager)

    _reassign(client, [lead], other_rep)

    lead.refresh_from_db()
    assert lead.owner == rep


def test_manager_cannot_take_another_teams_leads(client, manager, rep, other_rep):
    theirs = LeadFactory(owner=other_rep, stage=Stage.MQL)
    mine = LeadFactory(owner=rep, stage=Stage.MQL)

    with pytest.raises(LeadError):
        services.reassign([mine, theirs], rep, by=manager)

    theirs.refresh_from_db()
    assert theirs.owner == other_rep
    assert not Assignment.objects.exists()


def test_reassign_without_ticked_leads_says_so(client, manager, rep):
    client.force_login(manager)

    response = client.post(
        reverse("leads:reassign"), {"to_user": rep.pk, "next": reverse("leads:desk")}, follow=True
    )

    assert "Tick at least one lead" in response.content.decode()


def test_reps_cannot_reassign(client, rep, teammate):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(rep)

    assert _reassign(client, [lead], teammate).status_code == 403


def test_desk_lists_only_unassigned_open_leads(client, manager, rep):
    unowned = LeadFactory(owner=None, stage=Stage.MQL)
    LeadFactory(owner=None, stage=Stage.DISQUALIFIED)
    LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(manager)

    html = client.get(reverse("leads:desk")).content.decode()

    assert lead_ids_in_order(html) == [unowned.pk]


def test_desk_bulk_assigns_to_a_rep(client, manager, rep):
    leads = LeadFactory.create_batch(3, owner=None, stage=Stage.MQL)
    client.force_login(manager)

    response = _reassign(client, leads[:2], rep, next_url=reverse("leads:desk"))

    assert response.status_code == 302
    owners = [type(lead).objects.get(pk=lead.pk).owner for lead in leads]
    assert owners == [rep, rep, None]
    assert Assignment.objects.filter(from_owner=None, to_owner=rep).count() == 2


def test_desk_query_count_does_not_grow(client, manager, rep, django_assert_num_queries):
    LeadFactory.create_batch(3, owner=None, stage=Stage.MQL)
    client.force_login(manager)

    assert_constant_queries(
        django_assert_num_queries,
        lambda: LeadFactory.create_batch(77, owner=None, stage=Stage.MQL),
        lambda: client.get(reverse("leads:desk")),
    )


def test_back_to_the_desk(client, manager, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(manager)

    _reassign(client, [lead], "desk")

    lead.refresh_from_db()
    assert lead.owner is None
    assert Assignment.objects.get().to_owner is None
