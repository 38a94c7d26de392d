"""The workspace counts: the rep's queue, the manager's view of it, the team page (each rep
and the lead desk row) and the desk page show the same numbers, from the same selectors
(leads.queries.urgency), and each bucket's link lists exactly the leads it counts.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from agreements.stages import Stage
from leads import services
from leads.models import Lead
from leads.queries import queue_for, urgency_counts
from tests.factories import LeadFactory, RepFactory
from tests.leads.workspace_helpers import lead_ids_in_order

pytestmark = pytest.mark.django_db

TEAM_PAGE_QUERIES = 5
BUCKETS = ("breached", "due", "new", "working", "returning", "nurturing")

# Ann's open leads, counted by hand from the fixture below (each lead in one bucket):
#   breached  2  never touched and due passed; touched on an earlier stint, then due passed
#   due       2  clock running; clock running on a lead reassigned from Bob to Ann
#   new       2  an IQL nobody touched; a lead disqualified and reopened (Suspect), no touch
#   working   2  a Working lead; the lead breached and then touched (no longer breached)
#   returning 1  nurture, return date today
#   nurturing 1  nurture, return date next month
#   open     10  (her disqualified and converted leads are closed: not counted)
ANN = {"breached": 2, "due": 2, "new": 2, "working": 2, "returning": 1, "nurturing": 1}
# Bob: one breached lead, one Working lead, and the MQL reassigned from Ann (new).
BOB = {"breached": 1, "due": 0, "new": 1, "working": 1, "returning": 0, "nurturing": 0}
# The desk: one breached MQL, one with a clock running, one untouched IQL; a closed
# unowned lead does not count.
DESK = {"breached": 1, "due": 1, "new": 1, "working": 0, "returning": 0, "nurturing": 0}


@pytest.fixture
def bob(team):
    return RepFactory(username="bob", team=team)


@pytest.fixture
def world(manager, rep, bob, other_rep):
    """Ann (the `rep` fixture) with a lead in every bucket, Bob, the desk, another team."""
    now = timezone.now()
    today = timezone.localdate()
    earlier = now - dt.timedelta(days=3)

    def lead(owner, stage, **fields):
        return LeadFactory(owner=owner, stage=stage, assigned_at=earlier, **fields)

    # Ann's breached: never touched; touched on an earlier stint before the due time.
    lead(rep, Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=2))
    lead(
        rep,
        Stage.MQL,
        sla_status="breached",
        sla_due_at=now - dt.timedelta(hours=1),
        first_touch_at=earlier,
        last_touch_at=earlier,
    )
    # Breached, then touched through the service: Working now.
    touched = lead(rep, Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=5))
    services.log_touch(touched, by=rep, kind="call")
    # Clocks running: one of Ann's, one Bob's that the manager gives to Ann.
    lead(rep, Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(hours=2))
    handed = lead(bob, Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(hours=4))
    services.reassign([handed], rep, by=manager, reason="Ann covers it")
    # New: an untouched IQL; a disqualified lead the manager reopens (back to Suspect).
    lead(rep, Stage.IQL)
    reopened = lead(rep, Stage.DISQUALIFIED, disqualify_reason="Bad data")
    services.run_transition(reopened, "reopen", by=manager)
    lead(rep, Stage.WORKING, first_touch_at=earlier, last_touch_at=earlier)
    lead(rep, Stage.NURTURE, nurture_until=today, first_touch_at=earlier, last_touch_at=earlier)
    lead(rep, Stage.NURTURE, nurture_until=today + dt.timedelta(days=30))
    lead(rep, Stage.DISQUALIFIED, disqualify_reason="No budget")
    lead(rep, Stage.CONVERTED, first_touch_at=earlier, last_touch_at=earlier)
    # Ann's untouched MQL that the manager gives to Bob: it counts for Bob only.
    given = lead(rep, Stage.MQL)
    services.reassign([given], bob, by=manager, reason="Rebalancing")

    lead(bob, Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=3))
    lead(bob, Stage.WORKING, first_touch_at=earlier, last_touch_at=earlier)

    lead(None, Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=1))
    lead(None, Stage.MQL, sla_status="pending", sla_due_at=now + dt.timedelta(hours=1))
    lead(None, Stage.IQL)
    lead(None, Stage.DISQUALIFIED, disqualify_reason="Competitor")

    # Another manager's rep: on nobody's page here.
    lead(other_rep, Stage.MQL, sla_status="breached", sla_due_at=now - dt.timedelta(hours=1))
    return {"ann": rep, "bob": bob}


def queue_buckets(html: str) -> dict[str, int]:
    """The bucket counts printed above a queue (the rep's, the manager's view, the desk)."""
    found = re.findall(r'<li class="bucket-(\w+)"><a [^>]*>[^<]*<strong>(\d+)</strong>', html)
    return {key: int(n) for key, n in found}


def team_row(html: str, row: str) -> dict[str, int]:
    """The bucket cells of one row of the team page (a rep's user id, or "desk")."""
    body = re.search(rf'<tr data-rep="{row}">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="num" data-bucket="(\w+)">(?:<a [^>]*>)?(\d+)', body)
    return {key: int(n) for key, n in cells}


def open_row(counts: dict[str, int]) -> dict[str, int]:
    return {"open": sum(counts.values()), **counts}


def test_queue_team_page_and_desk_agree_with_the_hand_count(client, manager, world):
    ann, bob = world["ann"], world["bob"]

    client.force_login(ann)
    ann_queue = queue_buckets(client.get(reverse("leads:queue")).content.decode())
    ann_lists = {
        key: len(
            lead_ids_in_order(client.get(reverse("leads:queue"), {"bucket": key}).content.decode())
        )
        for key in BUCKETS
    }
    client.force_login(manager)
    team = client.get(reverse("leads:team")).content.decode()
    ann_seen = queue_buckets(client.get(reverse("leads:team_rep", args=[ann.pk])).content.decode())
    bob_seen = queue_buckets(client.get(reverse("leads:team_rep", args=[bob.pk])).content.decode())
    desk = queue_buckets(client.get(reverse("leads:desk")).content.decode())
    desk_lists = {
        key: len(
            lead_ids_in_order(client.get(reverse("leads:desk"), {"bucket": key}).content.decode())
        )
        for key in BUCKETS
    }

    assert ann_queue == ann_seen == ann_lists == ANN
    assert bob_seen == BOB
    assert desk == desk_lists == DESK
    assert team_row(team, str(ann.pk)) == open_row(ANN)
    assert team_row(team, str(bob.pk)) == open_row(BOB)
    assert team_row(team, "desk") == open_row(DESK)
    assert re.search(r'data-testid="desk-open">3<', team)
    # The totals above the table are the reps' (the desk has its own row and link).
    assert re.search(r'data-testid="team-breached">3<', team)
    assert re.search(r'data-testid="team-new">3<', team)
    assert re.search(r'data-testid="team-open">13<', team)


def test_the_team_page_counts_exactly_the_leads_of_each_reps_queue(client, manager, world):
    ann = world["ann"]
    client.force_login(manager)

    team = client.get(reverse("leads:team")).content.decode()

    assert team_row(team, str(ann.pk)) == open_row(urgency_counts(queue_for(ann)))
    assert Lead.objects.filter(owner=ann).open().count() == sum(ANN.values())


def test_a_first_touch_moves_a_lead_from_new_to_working(client, manager, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL)
    client.force_login(manager)
    before = team_row(client.get(reverse("leads:team")).content.decode(), str(rep.pk))

    services.log_touch(lead, by=rep, kind="call")

    after = team_row(client.get(reverse("leads:team")).content.decode(), str(rep.pk))
    assert (before["new"], before["working"]) == (1, 0)
    assert (after["new"], after["working"]) == (0, 1)


def test_the_lead_desk_row_follows_leads_back_to_the_desk(client, manager, rep):
    lead = LeadFactory(owner=rep, stage=Stage.MQL, sla_status="breached", sla_due_at=timezone.now())
    client.force_login(manager)

    services.reassign([lead], None, by=manager)

    team = client.get(reverse("leads:team")).content.decode()
    assert team_row(team, "desk")["breached"] == 1
    assert team_row(team, str(rep.pk))["open"] == 0


def test_bulk_updates_count_without_any_trigger(client, manager, rep):
    leads = LeadFactory.create_batch(
        3, owner=rep, stage=Stage.MQL, sla_status="pending", sla_due_at=timezone.now()
    )
    client.force_login(manager)

    Lead.objects.filter(pk__in=[lead.pk for lead in leads[:2]]).update(sla_status="breached")

    row = team_row(client.get(reverse("leads:team")).content.decode(), str(rep.pk))
    assert (row["open"], row["breached"], row["due"]) == (3, 2, 1)


def test_no_owner_load_trigger_is_left(db):
    if connection.vendor == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s"
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE tgname LIKE %s"
    with connection.cursor() as cursor:
        cursor.execute(sql, ["leads_ownerload%"])
        assert cursor.fetchall() == []


def test_team_page_runs_a_fixed_number_of_queries(
    client, manager, rep, team, django_assert_num_queries
):
    LeadFactory.create_batch(3, owner=rep, stage=Stage.MQL)
    client.force_login(manager)
    client.get(reverse("leads:team"))
    for i in range(4):
        extra = RepFactory(username=f"extra-{i}", team=team)
        LeadFactory.create_batch(5, owner=extra, stage=Stage.MQL, sla_status="breached")
    LeadFactory.create_batch(5, owner=None, stage=Stage.IQL)

    # session, user, roles, the reps, one grouped count
    with django_assert_num_queries(TEAM_PAGE_QUERIES):
        assert client.get(reverse("leads:team")).status_code == 200
