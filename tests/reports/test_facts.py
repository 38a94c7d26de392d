"""The stored tenure facts (reports.Tenure) stay equal to a fresh rebuild after every kind
of write: the services' touches, reassignments and stage moves, an import with routing,
bulk UPDATE/DELETE and rows written straight into the tables.

Each test writes, reads the trigger-kept table, rebuilds it from the source tables and
compares: a write path the triggers miss shows up as a difference.
"""

from __future__ import annotations

import pytest

from agreements.models import Channel
from leads import services
from leads.importing import create_batch, run_batch
from leads.models import Activity, Assignment, Lead, RoutingRule, StageChange
from leads.stages import Stage
from reports.facts import rebuild_tenures
from reports.models import Tenure
from tests.factories import LeadFactory, RepFactory
from tests.reports.conftest import assign, at, move, touch

FIELDS = (
    "assignment_id",
    "lead_id",
    "rep_id",
    "started_at",
    "next_at",
    "touched_at",
    "left_at",
    "touches",
    "reached",
    "working_at",
)


def stored() -> list[tuple]:
    return list(Tenure.objects.order_by("assignment_id").values_list(*FIELDS))


def assert_equal_to_rebuild() -> list[tuple]:
    """The trigger-kept rows, checked against a rebuild from the source tables."""
    kept = stored()
    rebuild_tenures()
    assert kept == stored()
    return kept


def tenure(assignment: Assignment) -> Tenure:
    return Tenure.objects.get(assignment_id=assignment.pk)


@pytest.fixture
def mql(rep):
    return LeadFactory(stage=Stage.MQL, owner=None)


def test_a_touch_through_the_service_counts_for_the_tenure_it_falls_in(mql, rep, manager):
    given = services.assign(mql, rep, by=manager)
    services.log_touch(Lead.objects.get(pk=mql.pk), by=rep, kind="call")
    kept = assert_equal_to_rebuild()
    assert len(kept) == 1
    t = tenure(given)
    assert t.touches == 1
    assert t.touched_at is not None
    # The first sales touch moved the MQL to Working.
    assert t.reached & 1 and t.working_at is not None


def test_a_reassignment_ends_the_first_tenure_and_splits_the_touches(mql, rep, manager, team):
    first = assign(mql, rep, at(3, 1))
    touch(mql, rep, at(3, 2))
    rep_b = RepFactory(username="rep-b2", team=team)
    second = assign(mql, rep_b, at(3, 10), from_owner=rep)
    touch(mql, rep_b, at(3, 11))
    touch(mql, rep_b, at(3, 12))
    assert_equal_to_rebuild()
    a, b = tenure(first), tenure(second)
    assert (a.next_at, a.touches, a.touched_at) == (at(3, 10), 1, at(3, 2))
    assert (b.next_at, b.touches, b.touched_at) == (None, 2, at(3, 11))
    # Reassigned again through the service (now): the second tenure ends too.
    services.reassign([Lead.objects.get(pk=mql.pk)], rep, by=manager)
    assert_equal_to_rebuild()
    assert tenure(second).next_at is not None


def test_stage_changes_set_the_stages_reached_and_the_exit(mql, rep):
    given = assign(mql, rep, at(3, 1))
    move(mql, "mql", "working", at(3, 2))
    move(mql, "working", "sql", at(3, 3))
    move(mql, "sql", "nurture", at(3, 4))
    assert_equal_to_rebuild()
    t = tenure(given)
    assert t.reached == 1 + 2
    assert (t.working_at, t.left_at) == (at(3, 2), at(3, 4))
    # A stage change the facts do not use leaves the row alone; a deleted one is undone.
    move(mql, "nurture", "mql", at(3, 5))
    StageChange.objects.filter(lead=mql, to_stage="nurture").delete()
    assert_equal_to_rebuild()
    assert tenure(given).left_at is None


def test_an_earlier_assignment_written_late_ends_at_the_later_one(mql, rep, team):
    later = assign(mql, rep, at(3, 10))
    rep_b = RepFactory(username="rep-b3", team=team)
    earlier = assign(mql, rep_b, at(3, 1))
    touch(mql, rep_b, at(3, 5))
    assert_equal_to_rebuild()
    assert (tenure(earlier).next_at, tenure(earlier).touches) == (at(3, 10), 1)
    assert tenure(later).touches == 0


def test_bulk_updates_and_deletes_of_touches_and_assignments(mql, rep, team):
    given = assign(mql, rep, at(3, 1))
    for day in (2, 3, 4):
        touch(mql, rep, at(3, day))
    # Moved before the assignment, one touch no longer counts; another stops being a touch.
    Activity.objects.filter(lead=mql, occurred_at=at(3, 2)).update(occurred_at=at(2, 1))
    Activity.objects.filter(lead=mql, occurred_at=at(3, 3)).update(is_touch=False)
    assert_equal_to_rebuild()
    assert (tenure(given).touches, tenure(given).touched_at) == (1, at(3, 4))
    Activity.objects.filter(lead=mql).delete()
    assert tenure(given).touches == 0
    Assignment.objects.filter(pk=given.pk).delete()
    assert assert_equal_to_rebuild() == []


def test_deleting_a_lead_removes_its_tenures(mql, rep):
    assign(mql, rep, at(3, 1))
    other = LeadFactory(stage=Stage.MQL)
    assign(other, rep, at(3, 2))
    Lead.objects.filter(pk=mql.pk).delete()
    kept = assert_equal_to_rebuild()
    assert [row[1] for row in kept] == [other.pk]


def test_an_import_that_routes_its_leads_gives_each_a_tenure(rep, team, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    channel = Channel.objects.get(slug="purchased-list")
    RoutingRule.objects.create(name="All to East", channel=channel, team=team)
    data = b"email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n"
    batch, _ = create_batch(data, "list.csv", channel=channel)
    run_batch(batch)
    kept = assert_equal_to_rebuild()
    imported = set(
        Lead.objects.filter(email__in=["ann@example.com", "bob@example.com"]).values_list(
            "pk", flat=True
        )
    )
    assert {row[1] for row in kept} == imported
    assert {row[2] for row in kept} == {rep.pk}


def test_the_report_world_is_equal_to_a_rebuild(sales_world):
    kept = assert_equal_to_rebuild()
    assert len(kept) == 7  # six leads, L4 twice
    assert sum(row[7] for row in kept) == 5


def test_rebuild_of_an_empty_table_is_empty(db):
    assert rebuild_tenures() == 0
