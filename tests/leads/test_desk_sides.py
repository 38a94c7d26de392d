"""The lead desk holds only the leads sales should work (the playbook's stage owners):
unowned Suspects and Fans are marketing's, one click away, and the team page's desk row
counts what the desk page lists."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from agreements.stages import Stage
from leads.queries import DESK_STAGES, QUEUE_STAGES
from tests.factories import LeadFactory
from tests.leads.test_workspace_counts import queue_buckets, team_row
from tests.leads.workspace_helpers import lead_ids_in_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def unowned():
    """One unowned lead in each open stage, one owned Suspect and one closed lead."""
    leads = {stage: LeadFactory(owner=None, stage=stage) for stage in QUEUE_STAGES}
    LeadFactory(owner=None, stage=Stage.DISQUALIFIED, disqualify_reason="Bad data")
    return leads


def test_the_desk_lists_no_suspect_or_fan(client, manager, unowned):
    client.force_login(manager)

    html = client.get(reverse("leads:desk")).content.decode()

    assert set(lead_ids_in_order(html)) == {unowned[stage].pk for stage in DESK_STAGES}
    assert Stage.SUSPECT not in DESK_STAGES and Stage.FAN not in DESK_STAGES
    assert sum(queue_buckets(html).values()) == len(DESK_STAGES)


def test_marketings_unowned_leads_are_one_click_away(client, manager, rep, unowned):
    LeadFactory(owner=rep, stage=Stage.SUSPECT)
    client.force_login(manager)
    desk = client.get(reverse("leads:desk")).content.decode()
    link = re.search(r'<a href="([^"]+)" data-testid="marketings-link"[^>]*>([^<]+)</a>', desk)

    assert link.group(2) == "Marketing's leads without an owner (2)"
    html = client.get(link.group(1).replace("&amp;", "&")).content.decode()

    assert set(lead_ids_in_order(html)) == {unowned[Stage.SUSPECT].pk, unowned[Stage.FAN].pk}
    assert 'name="side" value="marketing"' in html  # the filters keep to this side
    nothing = client.get(reverse("leads:desk"), {"side": "marketing", "q": "nobody-like-this"})
    assert '<a href="?side=marketing">Clear the filters</a>' in nothing.content.decode()


def test_the_team_pages_desk_row_counts_what_the_desk_lists(client, manager, unowned):
    client.force_login(manager)

    team = client.get(reverse("leads:team")).content.decode()
    desk = queue_buckets(client.get(reverse("leads:desk")).content.decode())

    assert team_row(team, "desk") == {"open": sum(desk.values()), **desk}
    assert re.search(rf'data-testid="desk-open">{len(DESK_STAGES)}<', team)
