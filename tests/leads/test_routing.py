"""Routing: rules pick a team, a locking round robin picks the rep, every pick says why."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from agreements.models import Channel
from agreements.stages import Stage
from leads.importing import writer
from leads.importing.batches import create_batch, run_batch
from leads.models import Assignment, Lead, RepProfile, RoutingRule
from tests.factories import ChannelFactory, LeadFactory, RepFactory, TeamFactory
from tests.leads import import_files as files


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


@pytest.fixture
def team(db):
    return TeamFactory(name="DACH")


@pytest.fixture
def reps(team):
    return [RepFactory(username=f"rep-{name}", team=team) for name in ("kim", "lou", "max")]


@pytest.fixture
def rule(team):
    return RoutingRule.objects.create(name="DACH by country", country="DE, AT, CH", team=team)


def german_list(count: int, start: int = 0) -> bytes:
    rows = []
    for i in range(start, start + count):
        p = {**files.person(0), "email": f"kontakt{i}@firma{i}.example", "country": "Germany"}
        rows.append(files.row_for("apollo", p))
    return files.to_csv(files.records("apollo", rows))


def import_list(data: bytes, channel, name: str = "list.csv"):
    batch, _ = create_batch(data, name, channel=channel)
    return run_batch(batch)


def owners() -> Counter:
    return Counter(Lead.objects.exclude(owner=None).values_list("owner__username", flat=True))


def test_thirty_leads_over_three_equal_reps_land_ten_each(channel, reps, rule):
    import_list(german_list(30), channel)
    assert owners() == {"rep-kim": 10, "rep-lou": 10, "rep-max": 10}


def test_an_away_rep_gets_no_leads(channel, reps, rule):
    RepProfile.objects.filter(user=reps[0]).update(is_away=True)
    import_list(german_list(30), channel)
    assert owners() == {"rep-lou": 15, "rep-max": 15}


def test_an_inactive_rep_gets_no_leads(channel, reps, rule):
    reps[1].is_active = False
    reps[1].save()
    import_list(german_list(30), channel)
    assert owners() == {"rep-kim": 15, "rep-max": 15}


def test_a_rep_at_their_cap_gets_no_more(channel, reps, rule):
    RepProfile.objects.filter(user=reps[2]).update(open_lead_cap=3)
    LeadFactory.create_batch(3, owner=reps[2], stage=Stage.MQL)
    import_list(german_list(10), channel)
    assert owners() == {"rep-kim": 5, "rep-lou": 5, "rep-max": 3}


def test_a_rep_who_joins_later_catches_up_first(channel, team, reps, rule):
    RepProfile.objects.filter(user=reps[2]).update(is_away=True)
    import_list(german_list(10), channel)
    RepProfile.objects.filter(user=reps[2]).update(is_away=False)
    import_list(german_list(5, start=100), channel, "second.csv")
    assert owners()["rep-max"] == 5


def test_each_assignment_records_rule_rep_and_open_load(channel, reps, rule):
    LeadFactory.create_batch(2, owner=reps[0], stage=Stage.WORKING)
    import_list(german_list(1), channel)
    assignment = Assignment.objects.get()
    assert assignment.rule == "DACH by country"
    assert assignment.to_owner == assignment.lead.owner
    assert assignment.by is None
    expected_load = 2 if assignment.to_owner == reps[0] else 0
    assert assignment.open_load == expected_load
    assert "round robin" in assignment.reason
    assert assignment.lead.assigned_at is not None


def test_no_matching_rule_leaves_the_lead_on_the_desk(channel, reps, rule):
    data = files.to_csv(files.records("apollo", [files.row_for("apollo", files.person(1))]))
    import_list(data, channel)  # a US lead
    lead = Lead.objects.get()
    assert lead.owner is None
    assert not Assignment.objects.exists()


def test_a_rule_whose_team_has_nobody_available_says_so(channel, reps, rule):
    RepProfile.objects.update(is_away=True)
    import_list(german_list(1), channel)
    assignment = Assignment.objects.get()
    assert assignment.to_owner is None
    assert "away, inactive or at their open-lead cap" in assignment.reason


def test_rules_are_tried_by_priority(channel, reps, rule):
    other = TeamFactory(name="Enterprise")
    RepFactory(username="rep-ent", team=other)
    RoutingRule.objects.create(name="Purchased lists", channel=channel, team=other, priority=1)
    import_list(german_list(2), channel)
    assert owners() == {"rep-ent": 2}


@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_still_share_fairly(reps, rule):
    channel = ChannelFactory(slug="purchased-list")  # transactional tests flush seed data
    batches = [
        create_batch(german_list(15, start=0), "a.csv", channel=channel)[0],
        create_batch(german_list(15, start=500), "b.csv", channel=channel)[0],
    ]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(batch):
        try:
            start.wait()
            run_batch(batch)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(b,)) for b in batches]
    old = writer.CHUNK
    writer.CHUNK = 3  # many short transactions, interleaved between the two imports
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        writer.CHUNK = old
    assert errors == []
    assert Lead.objects.count() == 30
    assert owners() == {"rep-kim": 10, "rep-lou": 10, "rep-max": 10}
