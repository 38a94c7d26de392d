"""The data set's ledger says what its tables say: every row the services would append.

A small data set is generated (or reused) in the benchmark's own database beside the
suite's, through the same bulk load as `manage.py bench`; the tables and the ledger are
read once and compared.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.db import transaction

from agreements.touches import DEFAULT_TOUCH_KINDS
from benchmark.data import DataSpec, choose_server, dataset
from leads import ledger
from leads.models import Activity, Assignment, Deal, Lead, LeadEvent, StageChange
from sla.models import Breach
from tests.ledger_checks import out_of_step

Kind = LeadEvent.Kind
SPEC = DataSpec(leads=2_000, activities=10_000, reps=10, teams=2)
LEAD_FIELDS = ("sla_status", "sla_started_at", "sla_due_at", "first_touch_at")
# Each ledger row is read as (lead_id, *EVENT_FIELDS): at is [1], due_at [10].
EVENT_FIELDS = (
    "at", "stage", "from_stage", "owner_id", "actor_id", "campaign_id", "deal_id", "amount",
    "started_at", "due_at", "customer_wait", "routing_delay", "rep_response",
)  # fmt: skip
OUTCOMES = (Kind.CLOCK_MET, Kind.CLOCK_BREACHED, Kind.CLOCK_STOPPED)


def _events(kind: str, *fields: str) -> list[tuple[Any, ...]]:
    return list(LeadEvent.objects.filter(kind=kind).values_list("lead_id", *fields))


def _outcomes() -> dict[int, tuple[Any, ...]]:
    """Each MQL entry's outcome columns, by id."""
    entries = LeadEvent.objects.filter(**ledger.MQL_ENTRY)
    return {row[0]: row[1:] for row in entries.values_list("pk", *ledger.OUTCOMES)}


def _resettled() -> dict[int, tuple[Any, ...]]:
    """The outcomes as leads.ledger works them out from the data set's ledger (undone)."""
    with transaction.atomic():
        ledger.resettle_outcomes()
        found = _outcomes()
        transaction.set_rollback(True)
    return found


@pytest.fixture(scope="module")
def data(django_db_setup, django_db_blocker) -> dict[str, Any]:
    """The tables and the ledger of a small data set, read into memory."""
    with django_db_blocker.unblock(), dataset(choose_server(None), SPEC, lambda line: None):
        return {
            "leads": {row[0]: row[1:] for row in Lead.objects.values_list("pk", *LEAD_FIELDS)},
            "deals": list(Deal.objects.values_list("pk", "lead_id", "status", "amount")),
            "assignments": list(Assignment.objects.values_list("lead_id", "to_owner_id", "at")),
            "changes": list(
                StageChange.objects.values_list("lead_id", "from_stage", "to_stage", "at")
            ),
            "breaches": list(Breach.objects.values_list("lead_id", "due_at")),
            "touches": list(
                Activity.objects.filter(is_touch=True).values_list(
                    "lead_id", "occurred_at", "actor_id"
                )
            ),
            "sales_kinds": set(
                Activity.objects.filter(side="sales").values_list("kind", "is_touch").distinct()
            ),
            "campaign_activities": list(
                Activity.objects.filter(
                    campaign__isnull=False, side__in=("marketing", "customer")
                ).values_list("lead_id", "occurred_at", "campaign_id")
            ),
            "events": {kind: _events(kind, *EVENT_FIELDS) for kind in Kind.values},
            "outcomes": _outcomes(),
            "resettled": _resettled(),
            "out_of_step": out_of_step(),
            "settled": {
                "held": LeadEvent.objects.filter(kind="assigned", held_stage__gt="").count(),
                "reasons": LeadEvent.objects.filter(feedback_reason__gt="").count(),
                "facts": LeadEvent.objects.filter(lead_channel__isnull=False).count(),
                "influenced": LeadEvent.objects.filter(influenced=True).count(),
                "not influenced": LeadEvent.objects.filter(
                    kind__in=("deal_opened", "deal_won"), influenced=False
                ).count(),
            },
        }


def test_rows_carry_what_the_ledger_keeps_on_them(data):
    """The generator writes what leads.ledger keeps on a row as the app does: the lead's
    facts on every row, the lead's stage on the tenure still held, its title and stage on
    its MQL entries, a disqualification's
    feedback reason, whether a deal was influenced (each occurs in the data set); and
    each lead's search text beside it."""
    assert data["out_of_step"] == {
        "lead facts": [],
        "held stage": [],
        "entry facts": [],
        "feedback reason": [],
        "influenced": [],
        "search text": [],
    }
    assert all(data["settled"].values()), data["settled"]


def test_mql_entries_carry_the_outcomes_the_ledger_works_out(data):
    """The generator settles each MQL entry's outcomes as leads.ledger does."""
    assert data["outcomes"] == data["resettled"]
    for i, column in enumerate(ledger.OUTCOMES):
        # Every outcome occurs in the data set, and not on every entry — but junk: the
        # generator disqualifies nobody as junk / spam.
        settled = [row[i] for row in data["outcomes"].values() if row[i] is not None]
        if column == "junked_at":
            assert settled == []
        else:
            assert 0 < len(settled) < len(data["outcomes"]), column


def test_each_deal_has_one_opened_event_and_its_close(data):
    opened = Counter(e[7] for e in data["events"][Kind.DEAL_OPENED])
    assert data["deals"] and all(opened[pk] == 1 for pk, *_ in data["deals"])
    assert sum(opened.values()) == len(data["deals"])
    ends = (Kind.DEAL_WON, Kind.DEAL_LOST)
    closed = {e[7]: (e[0], e[8]) for k in ends for e in data["events"][k]}
    for pk, lead, status, amount in data["deals"]:
        assert (pk in closed) == (status != "open"), pk
        if status != "open":
            assert closed[pk] == (lead, amount)


def test_each_assignment_has_its_assigned_event(data):
    assigned = [(e[0], e[4], e[1]) for e in data["events"][Kind.ASSIGNED]]
    assert data["assignments"]
    assert sorted(assigned) == sorted(data["assignments"])


def test_each_stage_change_has_its_stage_entered_and_each_lead_its_entry(data):
    entered = [(e[0], e[3], e[2], e[1]) for e in data["events"][Kind.STAGE_ENTERED]]
    moves = [e for e in entered if e[1]]
    assert sorted(moves) == sorted(data["changes"])
    creations = Counter(e[0] for e in entered if not e[1])
    assert set(creations) == set(data["leads"]) and set(creations.values()) == {1}


def test_each_clock_has_at_most_one_outcome_and_outcomes_have_their_clock(data):
    events = data["events"]
    started = Counter((e[0], e[9]) for e in events[Kind.CLOCK_STARTED])
    outcomes = Counter((e[0], e[9]) for k in OUTCOMES for e in events[k])
    assert started and max(started.values()) == 1
    assert max(outcomes.values()) == 1
    assert set(outcomes) <= set(started)
    for kind in OUTCOMES:
        assert events[kind], f"no {kind} in the data set"


def test_each_settled_lead_has_its_outcome_and_running_ones_none(data):
    events = data["events"]
    by_lead = {k: {e[0]: e for e in events[k]} for k in (Kind.CLOCK_STARTED, *OUTCOMES)}
    statuses = Counter(status for status, *_ in data["leads"].values())
    assert statuses["met"] and statuses["breached"] and statuses["pending"]
    for pk, (status, started, due, *_) in data["leads"].items():
        if status == "none":
            assert pk not in by_lead[Kind.CLOCK_MET] and pk not in by_lead[Kind.CLOCK_BREACHED]
            continue
        clock = by_lead[Kind.CLOCK_STARTED][pk]
        assert (clock[1], clock[9], clock[10]) == (started, started, due), pk
        settled = [k for k in OUTCOMES if pk in by_lead[k]]
        if status == "pending":
            assert settled == [], pk
        else:
            assert settled == [Kind.CLOCK_MET if status == "met" else Kind.CLOCK_BREACHED], pk
            assert by_lead[settled[0]][pk][10] == due


def test_breaches_are_at_their_due_time_and_met_clocks_at_the_first_touch(data):
    events = data["events"]
    breached = [(e[0], e[1]) for e in events[Kind.CLOCK_BREACHED]]
    assert sorted(breached) == sorted(data["breaches"])
    assert all(e[1] == e[10] for e in events[Kind.CLOCK_BREACHED])
    for e in events[Kind.CLOCK_MET]:
        first_touch = data["leads"][e[0]][3]
        assert e[1] == first_touch and e[1] <= e[10]


def test_first_touch_records_the_three_waits_in_business_seconds(data):
    firsts = data["events"][Kind.FIRST_TOUCH]
    assert firsts
    for lead, at, *_, started, _due, wait, routing, response in firsts:
        assert at == data["leads"][lead][3] and started <= at
        assert wait == routing + response and min(wait, routing, response) >= 0
        assert wait <= (at - started).total_seconds()
    assert any(routing > 0 for *_, routing, _ in firsts)


def test_sales_touches_and_touch_points_are_the_activities(data):
    events = data["events"]
    touches = [(e[0], e[1], e[5]) for e in events[Kind.SALES_TOUCH]]
    assert sorted(touches) == sorted(data["touches"])
    points = [(e[0], e[1], e[6]) for e in events[Kind.TOUCH_POINT]]
    assert sorted(points) == sorted(data["campaign_activities"])


def test_a_reps_note_is_never_a_sales_touch_and_the_touch_kinds_are(data):
    # As leads.services.log_touch writes them under the default agreement: every kind of
    # touch counts, a note never does (the generator wrote notes as touches until v9).
    assert data["sales_kinds"] == {
        *((kind, True) for kind in DEFAULT_TOUCH_KINDS),
        ("note", False),
    }


def test_deals_have_one_to_four_touch_points_and_campaigns_differ(data):
    events = data["events"]
    opened = {e[0]: e[1] for e in events[Kind.DEAL_OPENED]}
    before: dict[int, list[int]] = {}
    for lead, at, *rest in events[Kind.TOUCH_POINT]:
        if lead in opened and at < opened[lead]:
            before.setdefault(lead, []).append(rest[4])
    assert before and max(len(c) for c in before.values()) <= 4
    assert any(len(set(c)) > 1 for c in before.values())
