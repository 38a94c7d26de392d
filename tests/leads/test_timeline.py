"""The lead page's timeline: every event of every source, in time order, one side at a time."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements.stages import Stage
from leads import queries, services, timeline
from leads.models import Activity, Assignment
from sla.check import run_check
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    FeedbackFactory,
    LeadFactory,
    RepFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def agreement(marketer, manager, ops):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=1, within_unit="hours", business_time=False)
    return signed_and_active(draft, marketer, manager, by=ops)


def lived_a_whole_story(rep, manager, team):
    """MQL → breached → reassigned → touched → SQL → opportunity → won, through the services."""
    start = timezone.now() - dt.timedelta(hours=8)
    lead = LeadFactory(stage=Stage.FAN, owner=rep)
    lead = services.run_transition(lead, "hand_raise", by=None, at=start, note="Asked for a demo")
    assert run_check(start + dt.timedelta(hours=2)).breached == 1
    closer = RepFactory(username="closer", first_name="Cleo", last_name="Closer", team=team)
    services.reassign(
        [lead], closer, by=manager, reason="Rep is out", at=start + dt.timedelta(hours=3)
    )
    lead.refresh_from_db()
    services.log_touch(
        lead, by=closer, kind="call", subject="Intro call", at=start + dt.timedelta(hours=4)
    )
    lead.refresh_from_db()
    for hour, name, arguments in [
        (5, "accept", {"note": "Budget confirmed"}),
        (6, "open_opportunity", {"amount": Decimal("25000")}),
        (7, "win", {}),
    ]:
        lead = services.run_transition(
            lead, name, by=closer, at=start + dt.timedelta(hours=hour), **arguments
        )
    return lead


def shown(html: str) -> list[str]:
    """The timeline's lines as text, oldest first."""
    items = re.findall(r'<li class="tl-\w+"(.*?)</li>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in reversed(items)]


def in_order(lines: list[str], wanted: list[str]) -> bool:
    """Each wanted text appears on a line after the line of the one before."""
    rest = iter(lines)
    return all(any(text in line for line in rest) for text in wanted)


def test_timeline_tells_mql_breach_reassignment_touch_sql_opportunity_and_win_in_order(
    client, rep, manager, team, agreement
):
    lead = lived_a_whole_story(rep, manager, team)
    client.force_login(manager)

    lines = shown(client.get(lead.get_absolute_url()).content.decode())

    assert in_order(
        lines,
        [
            "Fan → Marketing Qualified",
            "SLA clock breached",
            "Reassigned from",
            "Call · Intro call",
            "Working → Sales Qualified",
            "Sales Qualified → Opportunity",
            "Deal opened",
            "Opportunity → Converted",
            "Deal won",
        ],
    ), lines
    mql = next(line for line in lines if "→ Marketing Qualified" in line)
    assert "Asked for a demo" in mql
    assert f"agreement v{agreement.version}" in mql
    assert "Budget confirmed" in next(line for line in lines if "→ Sales Qualified" in line)


def test_stage_change_names_the_definition_version_it_moved_under(rep, agreement):
    lead = services.run_transition(LeadFactory(stage=Stage.FAN, owner=rep), "hand_raise", by=None)
    lead.stage_changes.update(stage_definition_version=3)

    entry = next(e for e in timeline.timeline(lead) if e.kind == "stage_change")

    assert entry.detail == (
        f"Under Marketing Qualified Lead definition v3 · agreement v{agreement.version}"
    )


def test_marketing_touch_point_shows_its_campaign(rep):
    lead = LeadFactory(owner=rep)
    campaign = CampaignFactory(name="Spring webinar")
    ActivityFactory(lead=lead, side="marketing", kind="webinar", campaign=campaign)

    (entry,) = timeline.timeline(lead)

    assert (entry.side, entry.detail) == ("marketing", "Campaign: Spring webinar")


def test_side_filter_shows_only_that_side(client, rep, manager, team, agreement):
    lead = lived_a_whole_story(rep, manager, team)
    ActivityFactory(lead=lead, side="customer", kind="web_visit", subject="Pricing page")
    client.force_login(manager)

    html = client.get(lead.get_absolute_url(), {"side": "system"}).content.decode()

    sides = set(re.findall(r'<li class="tl-\w+" data-side="(\w+)"', html))
    assert sides == {"system"}
    assert "SLA clock breached" in html and "Pricing page" not in html
    assert f'href="{lead.get_absolute_url()}?side=customer#timeline"' in html


def test_unknown_side_shows_every_side(rep):
    lead = LeadFactory(owner=rep)
    for side in ("marketing", "customer"):
        ActivityFactory(lead=lead, side=side, kind="email")

    entries = timeline.timeline(lead, side="nonsense")

    assert {e.side for e in entries} == {"marketing", "customer"}


def test_timeline_reads_in_a_constant_number_of_queries(
    rep, manager, team, agreement, django_assert_num_queries
):
    lead = lived_a_whole_story(rep, manager, team)
    with django_assert_num_queries(5):
        few = timeline.timeline(lead)
    for _ in range(30):
        ActivityFactory(lead=lead, side=Activity.Side.SALES, kind="call", actor=manager)
    feedback = FeedbackFactory(lead=lead, author=rep)
    FeedbackFactory(lead=lead, author=manager, reply_to=feedback)
    with django_assert_num_queries(5):
        many = timeline.timeline(lead)
    assert len(many) == len(few) + 32


@pytest.mark.parametrize("side", ["", "sales", "system", "marketing", "customer"])
def test_the_lists_the_lead_page_already_read_give_the_same_timeline_without_reading_again(
    rep, manager, team, agreement, side
):
    lead = lived_a_whole_story(rep, manager, team)  # stage moves by people and by the system
    alone = timeline.timeline(lead, side=side)
    history = queries.stage_history(lead)
    assignments = queries.assignments(lead, limit=timeline.LIMIT)

    with CaptureQueriesContext(connection) as read:
        given = timeline.timeline(lead, side=side, stage_changes=history, assignments=assignments)

    assert given == alone
    tables = " ".join(q["sql"] for q in read.captured_queries)
    assert "leads_stagechange" not in tables and "leads_assignment" not in tables


def test_latest_assignments_only_serve_a_side_when_they_are_all_of_them(rep, manager):
    lead = LeadFactory(owner=rep)
    start = timezone.now() - dt.timedelta(hours=5)
    # Two moves by the manager, then the two latest by the routing (nobody).
    for hour, by in enumerate([manager, manager, None, None], start=1):
        Assignment.objects.create(
            lead=lead, to_owner=rep, by=by, rule="" if by else "round robin",
            at=start + dt.timedelta(hours=hour),
        )  # fmt: skip
    latest_two = queries.assignments(lead, limit=2)  # the routing's two: not all of them

    given = timeline.timeline(lead, side="sales", limit=2, assignments=latest_two)

    assert given == timeline.timeline(lead, side="sales", limit=2)
    assert [e.actor for e in given] == [manager, manager]
