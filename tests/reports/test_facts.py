"""The stored tenure facts (reports.Tenure) stay equal to a fresh rebuild after every kind
of write: the services' touches, reassignments and stage moves, an import with routing,
bulk UPDATE/DELETE and rows written straight into the tables.

Each test writes, reads the trigger-kept table, rebuilds it from the source tables and
compares: a write path the triggers miss shows up as a difference.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum

from agreements.models import Channel
from agreements.stages import Stage
from leads import services
from leads.importing.batches import create_batch, run_batch
from leads.models import Activity, Assignment, Deal, Feedback, Lead, RoutingRule, StageChange
from reports.facts import (
    COLUMNS,
    DELIVERY_COLUMNS,
    TALLY_KEY,
    compact_tally,
    rebuild_delivery,
    rebuild_tally,
    rebuild_tenures,
)
from reports.models import DeliveryEvent, DeliveryTally, Tenure
from tests.factories import CampaignFactory, FeedbackFactory, LeadFactory, RepFactory
from tests.reports.conftest import assign, at, move, touch

FIELDS = COLUMNS


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


def test_the_first_touches_from_working_in_order_and_the_previous_assignment(mql, rep, team):
    first = assign(mql, rep, at(3, 1))
    touch(mql, rep, at(3, 1, 10))  # before Working: not one of them
    move(mql, "mql", "working", at(3, 2))
    for day in range(12, 2, -1):  # ten touches, written newest first
        touch(mql, rep, at(3, day))
    second = assign(mql, RepFactory(username="rep-b4", team=team), at(3, 20), from_owner=rep)
    assert_equal_to_rebuild()
    t = tenure(second)
    assert [getattr(t, f"working_touch_{n}_at") for n in range(1, 9)] == [
        at(3, day) for day in range(3, 11)
    ]
    assert (t.prev_at, tenure(first).prev_at) == (at(3, 1), None)
    # A touch moved before Working drops out; the ninth moves up.
    Activity.objects.filter(lead=mql, occurred_at=at(3, 4)).update(occurred_at=at(3, 1, 11))
    assert_equal_to_rebuild()
    assert tenure(second).working_touch_2_at == at(3, 5)
    assert tenure(second).working_touch_8_at == at(3, 11)


def test_a_leads_own_columns_are_repeated_on_each_of_its_tenures(mql, rep, team):
    assign(mql, rep, at(3, 1))
    assign(mql, RepFactory(username="rep-b5", team=team), at(3, 5), from_owner=rep)
    # Written as the SLA check writes a breach (one UPDATE of many leads), and in bulk.
    Lead.objects.filter(pk=mql.pk).update(sla_status="breached", sla_due_at=at(3, 6))
    kept = assert_equal_to_rebuild()
    status = COLUMNS.index("sla_status")
    assert [row[status] for row in kept] == ["breached", "breached"]
    channel = Channel.objects.create(name="Partners")
    Lead.objects.filter(pk=mql.pk).update(
        channel=channel, first_touch_at=at(3, 7), business_seconds_to_first_touch=60
    )
    kept = assert_equal_to_rebuild()
    assert {row[COLUMNS.index("channel_id")] for row in kept} == {channel.pk}
    assert {row[COLUMNS.index("ttft")] for row in kept} == {60}
    # A write of other columns only leaves the copy as it is.
    Lead.objects.filter(pk=mql.pk).update(title="CTO")
    assert assert_equal_to_rebuild() == kept


def test_deleting_a_lead_removes_its_tenures(mql, rep):
    assign(mql, rep, at(3, 1))
    other = LeadFactory(stage=Stage.MQL)
    assign(other, rep, at(3, 2))
    Lead.objects.filter(pk=mql.pk).delete()
    kept = assert_equal_to_rebuild()
    assert [row[1] for row in kept] == [other.pk]


def import_two_routed_leads(team, settings, tmp_path) -> set[int]:
    """Import Ann and Bob through a purchased list routed to `team`; their lead ids."""
    settings.MEDIA_ROOT = tmp_path
    channel = Channel.objects.get(slug="purchased-list")
    RoutingRule.objects.create(name="All to East", channel=channel, team=team)
    data = b"email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n"
    batch, _ = create_batch(data, "list.csv", channel=channel)
    run_batch(batch)
    emails = ["ann@example.com", "bob@example.com"]
    return set(Lead.objects.filter(email__in=emails).values_list("pk", flat=True))


def test_an_import_that_routes_its_leads_gives_each_a_tenure(rep, team, settings, tmp_path):
    imported = import_two_routed_leads(team, settings, tmp_path)
    kept = assert_equal_to_rebuild()
    assert {row[1] for row in kept} == imported
    assert {row[2] for row in kept} == {rep.pk}


def test_the_report_world_is_equal_to_a_rebuild(sales_world):
    kept = assert_equal_to_rebuild()
    assert len(kept) == 7  # six leads, L4 twice
    assert sum(row[COLUMNS.index("touches")] for row in kept) == 5


def test_rebuild_of_an_empty_table_is_empty(db):
    assert rebuild_tenures() == 0


# --- Delivery events (reports.DeliveryEvent) ------------------------------------------

EVENT_FIELDS = DELIVERY_COLUMNS
K = DeliveryEvent.Kind


def events() -> list[tuple]:
    return list(
        DeliveryEvent.objects.order_by("lead_id", "kind", "at", "prev_at").values_list(
            *EVENT_FIELDS
        )
    )


def tally() -> list[tuple]:
    """The tally summed per key (its rows are a ledger of additions and removals)."""
    return list(
        DeliveryTally.objects.values(*TALLY_KEY)
        .annotate(n=Sum("events"), total=Sum("amount"))
        .exclude(n=0)
        .order_by(*TALLY_KEY)
        .values_list(*TALLY_KEY, "n", "total")
    )


def assert_events_equal_to_rebuild() -> list[tuple]:
    """The trigger-kept events and tally, checked against a rebuild from the source tables
    (the tally's from the events)."""
    kept, kept_tally = events(), tally()
    rebuild_delivery()
    assert kept == events()
    assert kept_tally == tally()
    assert rebuild_tally() == len(kept_tally)
    assert kept_tally == tally()
    return kept


def kinds(lead: Lead) -> list[tuple]:
    return list(
        DeliveryEvent.objects.filter(lead_id=lead.pk)
        .order_by("kind", "at")
        .values_list("kind", "at", "prev_at")
    )


def test_services_stage_moves_give_the_lead_its_events(rep, manager):
    lead = LeadFactory(stage=Stage.MQL, owner=None)
    services.assign(lead, rep, by=manager)
    services.log_touch(Lead.objects.get(pk=lead.pk), by=rep, kind="call")
    services.run_transition(Lead.objects.get(pk=lead.pk), "accept", by=rep)
    assert_events_equal_to_rebuild()
    lead.refresh_from_db()
    # Created as an MQL (no entry into MQL): the MQL event is its creation.
    assert [k for k, _, _ in kinds(lead)] == [K.CREATED, K.MQL, K.SQL]
    assert kinds(lead)[1][1] == lead.created_at
    services.disqualify_with_feedback(
        Lead.objects.get(pk=lead.pk),
        by=rep,
        reason="No budget",
        fit="poor",
        feedback_reason=Feedback.Reason.NO_BUDGET,
    )
    kept = assert_events_equal_to_rebuild()
    assert [k for _, k, *_ in kept] == [K.CREATED, K.MQL, K.SQL, K.DISQUALIFIED, K.CLOSED]
    # Closed now, traceable by its structured feedback, whose reason every event carries.
    assert {row[7:10] for row in kept} == {(True, True, "no_budget")}


def test_a_second_entry_points_back_at_the_first(db):
    lead = LeadFactory(stage=Stage.SUSPECT)
    move(lead, "suspect", "mql", at(3, 1))
    move(lead, "mql", "nurture", at(3, 2))
    move(lead, "nurture", "mql", at(3, 20))
    assert_events_equal_to_rebuild()
    mqls = [row for row in kinds(lead) if row[0] == K.MQL]
    assert mqls == [(K.MQL, at(3, 1), None), (K.MQL, at(3, 20), at(3, 1))]
    # Deleting the first entry and its exit makes the second the first.
    StageChange.objects.filter(lead=lead, at__lt=at(3, 10)).delete()
    assert_events_equal_to_rebuild()
    assert [row for row in kinds(lead) if row[0] == K.MQL] == [(K.MQL, at(3, 20), None)]


def test_bulk_updates_of_leads_feedback_and_deals(db):
    lead = LeadFactory(stage=Stage.MQL)
    other = LeadFactory(stage=Stage.SUSPECT)
    move(lead, "mql", "disqualified", at(3, 5))
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.DISQUALIFIED)
    kept = assert_events_equal_to_rebuild()
    assert {(row[7], row[8]) for row in kept if row[0] == lead.pk} == {(True, False)}
    # Structured feedback makes it traceable and gives the reason; a reply does not.
    feedback = FeedbackFactory(lead=lead, reason=Feedback.Reason.COMPETITOR)
    assert_events_equal_to_rebuild()
    Feedback.objects.filter(pk=feedback.pk).update(reason="", fit="")
    kept = assert_events_equal_to_rebuild()
    assert {(row[8], row[9]) for row in kept if row[0] == lead.pk} == {(False, None)}
    Deal.objects.create(lead=lead, amount=100, opened_at=at(3, 6))
    Deal.objects.create(lead=lead, amount=50, opened_at=at(3, 7))
    kept = assert_events_equal_to_rebuild()
    # Every deal is an event with its amount (none is "a second one").
    deals = [(row[2], row[3], row[10]) for row in kept if row[1] == K.DEAL]
    assert deals == [(at(3, 6), None, 100), (at(3, 7), None, 50)]
    Deal.objects.filter(lead=lead).delete()
    Feedback.objects.filter(lead=lead).delete()
    # A bulk move of campaign and creation time, and a reopen.
    campaign = CampaignFactory()
    Lead.objects.filter(pk__in=[lead.pk, other.pk]).update(
        campaign=campaign, created_at=at(2, 1), stage=Stage.SUSPECT
    )
    kept = assert_events_equal_to_rebuild()
    assert {row[5] for row in kept} == {campaign.pk}
    assert {row[7] for row in kept} == {False}
    # Columns the events do not use leave them alone (the SLA check's writes).
    Lead.objects.filter(pk=lead.pk).update(sla_status=Lead.SLAStatus.BREACHED)
    assert events() == kept


def test_a_lead_without_channel_has_no_events_until_it_gets_one(db):
    lead = LeadFactory(stage=Stage.MQL, channel=None)
    assert kinds(lead) == []
    Lead.objects.filter(pk=lead.pk).update(channel=Channel.objects.first())
    assert_events_equal_to_rebuild()
    assert [k for k, _, _ in kinds(lead)] == [K.CREATED, K.MQL]


def test_deleting_a_lead_removes_its_events(db):
    lead = LeadFactory(stage=Stage.MQL)
    other = LeadFactory(stage=Stage.MQL)
    move(lead, "mql", "working", at(3, 1))
    Lead.objects.filter(pk=lead.pk).delete()
    kept = assert_events_equal_to_rebuild()
    assert {row[0] for row in kept} == {other.pk}


def test_an_import_gives_each_lead_its_events(rep, team, settings, tmp_path):
    imported = import_two_routed_leads(team, settings, tmp_path)
    kept = assert_events_equal_to_rebuild()
    assert {row[0] for row in kept if row[1] == K.CREATED} >= imported


def test_the_import_task_leaves_the_tally_compact(db, settings, tmp_path):
    from leads.tasks import run_import

    settings.MEDIA_ROOT = tmp_path
    channel = Channel.objects.get(slug="purchased-list")
    for _ in range(2):
        LeadFactory(stage=Stage.SUSPECT, channel=channel, campaign=None, persona=None)
    rows = "".join(f"imported{i}@example.org,Lead {i}\n" for i in range(5))
    batch, _ = create_batch(f"email,first_name\n{rows}".encode(), "list.csv", channel=channel)
    assert DeliveryTally.objects.count() > len(tally())
    run_import(batch.pk)
    # One row per key, with every imported lead's creation in it.
    assert DeliveryTally.objects.count() == len(tally())
    assert sum(t[-2] for t in tally() if t[1] == K.CREATED) == 7


def test_the_marketing_world_is_equal_to_a_rebuild(marketing_world):
    assert len(assert_events_equal_to_rebuild()) > 0


def test_new_leads_without_history_get_the_same_events_as_a_rebuild(db):
    """SQLite takes a shortcut for a new lead with no stage changes, deals or feedback."""
    for stage in (Stage.SUSPECT, Stage.MQL, Stage.DISQUALIFIED, Stage.CONVERTED):
        LeadFactory(stage=stage)
    kept = assert_events_equal_to_rebuild()
    assert sorted((row[1], row[7], row[8]) for row in kept) == [
        (K.CREATED, False, False),
        (K.CREATED, False, False),
        (K.CREATED, True, False),
        (K.CREATED, True, True),
        (K.MQL, False, False),
    ]


def test_the_tally_counts_first_events_per_utc_day_and_compacts(db):
    lead = LeadFactory(stage=Stage.SUSPECT, created_at=at(3, 1, 23, 30))
    move(lead, "suspect", "mql", at(3, 2, 0, 15))
    move(lead, "mql", "nurture", at(3, 3))
    move(lead, "nurture", "mql", at(3, 9))
    Deal.objects.create(lead=lead, amount=100, opened_at=at(3, 9))
    Deal.objects.create(lead=lead, amount=50, opened_at=at(3, 9, 15))
    # Every write appended rows; compacting leaves one per key with the same sums.
    before = tally()
    assert DeliveryTally.objects.count() > len(before)
    assert compact_tally() == len(before)
    assert DeliveryTally.objects.count() == len(before)
    assert tally() == before
    assert_events_equal_to_rebuild()
    # The second MQL entry has a previous one: not tallied. The deals share a day.
    assert [(t[0], t[1], t[-2], t[-1]) for t in tally()] == [
        (dt.date(2025, 3, 1), K.CREATED, 1, None),
        (dt.date(2025, 3, 2), K.MQL, 1, None),
        (dt.date(2025, 3, 9), K.DEAL, 2, 150),
    ]
    # A key that sums to nothing goes.
    Deal.objects.filter(lead=lead).delete()
    assert DeliveryTally.objects.count() > len(before)
    assert compact_tally() == len(before) - 1
    assert [t[1] for t in tally()] == [K.CREATED, K.MQL]
