"""The lead lifecycle of DESIGN.md: every (stage, transition) pair, run through the service.

The expected graph is written out below from DESIGN.md's table, not read from the code,
so a change to the graph in `Lead` has to be a change to this table too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from agreements.models import Agreement
from agreements.stages import Stage
from leads import services
from leads.models import Activity, Deal, Feedback, Lead, LeadError, StageChange
from tests.factories import ChannelFactory, LeadFactory

STAGES = [
    "suspect",
    "fan",
    "iql",
    "mql",
    "working",
    "sql",
    "opportunity",
    "disqualified",
    "nurture",
    "converted",
]
OPEN = {"suspect", "fan", "iql", "mql", "working", "sql", "opportunity", "nurture"}

# DESIGN.md, "Lifecycle": transition -> (source stages, target stage).
GRAPH: dict[str, tuple[set[str], str]] = {
    "mark_fan": ({"suspect"}, "fan"),
    "qualify_information": ({"suspect", "fan"}, "iql"),
    "hand_raise": ({"suspect", "fan", "iql", "nurture"}, "mql"),
    "start_working": ({"mql", "nurture"}, "working"),
    "start_prospecting": ({"iql"}, "working"),
    "accept": ({"working"}, "sql"),
    "open_opportunity": ({"sql"}, "opportunity"),
    "win": ({"opportunity"}, "converted"),
    "disqualify": (OPEN, "disqualified"),
    "nurture": ({"mql", "working", "sql", "opportunity"}, "nurture"),
    "reopen": ({"disqualified"}, "suspect"),
}
# Who runs the move in this module (test_permissions.py checks every role).
MARKETING_MOVES = {"mark_fan", "qualify_information", "hand_raise"}
SALES_MOVES = {"start_working", "start_prospecting", "accept", "open_opportunity", "win"}
SALES_STAGES = {"working", "sql", "opportunity"}

PAIRS = [(stage, name) for stage in STAGES for name in GRAPH]
ALLOWED = [(stage, name) for stage, name in PAIRS if stage in GRAPH[name][0]]
REFUSED = [(stage, name) for stage, name in PAIRS if stage not in GRAPH[name][0]]


def _ids(pair: tuple[str, str]) -> str:
    return f"{pair[1]}-from-{pair[0]}"


def arguments_for(name: str) -> dict[str, object]:
    """The extra input a transition needs (valid values)."""
    if name == "disqualify":
        return {"reason": "No budget this year"}
    if name == "nurture":
        return {"return_on": timezone.localdate() + dt.timedelta(days=30)}
    if name == "open_opportunity":
        return {"amount": "12000"}
    return {}


def actor_for(name: str, stage: str, people: dict[str, User]) -> User:
    """The role DESIGN.md gives this move: marketing, the lead's rep, or the manager."""
    if name in MARKETING_MOVES:
        return people["marketer"]
    if name in SALES_MOVES:
        return people["rep"]
    if name == "reopen":
        return people["manager"]
    return people["rep"] if stage in SALES_STAGES else people["marketer"]


def db_state(lead: Lead) -> dict[str, object]:
    """Everything a refused move must leave untouched."""
    return {
        "lead": Lead.objects.filter(pk=lead.pk).values().get(),
        "changes": list(StageChange.objects.filter(lead=lead).values()),
        "deals": list(Deal.objects.filter(lead=lead).values()),
        "activities": list(Activity.objects.filter(lead=lead).values()),
        "feedback": list(Feedback.objects.filter(lead=lead).values()),
    }


@pytest.fixture
def people(rep, manager, marketer, ops):
    return {"rep": rep, "manager": manager, "marketer": marketer, "ops": ops}


@pytest.fixture
def cold_channel(db):
    return ChannelFactory(slug="cold-test", allows_cold_prospecting=True)


@pytest.fixture
def agreement(db):
    return Agreement.objects.create(version=900, status=Agreement.Status.ACTIVE)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", "root@accord.example", "pw-accord-test")


def test_graph_in_code_is_the_design_table():
    """A transition added to or removed from Lead must be added to the table above too."""
    field = Lead._meta.get_field("stage")
    in_code: dict[str, tuple[set[str], str]] = {}
    for t in field.get_all_transitions(Lead):
        sources, target = in_code.setdefault(t.name, (set(), t.target))
        assert target == t.target
        sources.add(str(t.source))
    assert in_code == GRAPH
    assert set(services.TRANSITIONS) == set(GRAPH)
    assert {str(s) for s in Stage.values} == set(STAGES)


@pytest.mark.parametrize(("stage", "name"), ALLOWED, ids=[_ids(p) for p in ALLOWED])
def test_allowed_move_lands_in_target_stage_and_is_recorded(
    stage, name, people, cold_channel, agreement
):
    lead = LeadFactory(stage=stage, owner=people["rep"], channel=cold_channel)
    actor = actor_for(name, stage, people)
    before = timezone.now()

    services.run_transition(
        lead, name, by=actor, note="Checked on the phone", **arguments_for(name)
    )

    target = GRAPH[name][1]
    saved = Lead.objects.get(pk=lead.pk)
    assert saved.stage == target
    assert lead.stage == target, "the caller's copy is refreshed"
    assert saved.version == 2
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.transition) == (stage, target, name)
    assert change.by == actor
    assert change.note == "Checked on the phone"
    assert change.agreement == agreement
    assert before <= change.at <= timezone.now()
    assert saved.stage_entered_at == change.at


@pytest.mark.parametrize(("stage", "name"), REFUSED, ids=[_ids(p) for p in REFUSED])
def test_move_outside_the_graph_is_refused_and_changes_nothing(
    stage, name, superuser, cold_channel
):
    lead = LeadFactory(stage=stage, channel=cold_channel)
    before = db_state(lead)

    with pytest.raises(LeadError) as refused:
        services.run_transition(lead, name, by=superuser, **arguments_for(name))

    message = str(refused.value)
    assert Stage(stage).label in message
    assert services.transition_label(name) in message
    assert "cannot be moved" in message
    assert db_state(lead) == before
    assert lead.stage == stage


def test_unknown_action_is_refused(superuser):
    lead = LeadFactory()
    with pytest.raises(LeadError, match="not a lifecycle action"):
        services.run_transition(lead, "save", by=superuser)


def test_stage_cannot_be_assigned_directly(db):
    lead = LeadFactory(stage="mql")
    with pytest.raises(AttributeError, match="Direct stage modification is not allowed"):
        lead.stage = "converted"
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_stage_cannot_be_assigned_on_a_loaded_lead(db):
    lead = Lead.objects.get(pk=LeadFactory(stage="working").pk)
    with pytest.raises(AttributeError):
        lead.stage = "sql"
    assert Lead.objects.get(pk=lead.pk).stage == "working"


def test_full_clean_works_despite_the_protected_stage(db):
    lead = LeadFactory(stage="mql")
    lead.full_clean()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_disqualify_without_a_reason_is_refused(reason, marketer):
    lead = LeadFactory(stage="mql")
    before = db_state(lead)
    with pytest.raises(LeadError, match="reason is required"):
        services.run_transition(lead, "disqualify", by=marketer, reason=reason)
    assert db_state(lead) == before


def test_disqualify_keeps_the_reason_and_uses_it_as_the_note(marketer):
    lead = LeadFactory(stage="fan")
    services.run_transition(lead, "disqualify", by=marketer, reason="  Competitor  ")
    lead.refresh_from_db()
    assert lead.disqualify_reason == "Competitor"
    assert StageChange.objects.get(lead=lead).note == "Competitor"


@pytest.mark.parametrize(
    ("return_on", "message"),
    [
        (None, "return date is required"),
        ("", "return date is required"),
        ("next spring", "must be a date"),
        (dt.date(2020, 1, 1), "must be in the future"),
        ("today", "must be in the future"),
    ],
)
def test_nurture_needs_a_future_return_date(return_on, message, rep):
    if return_on == "today":
        return_on = timezone.localdate()
    lead = LeadFactory(stage="working", owner=rep)
    before = db_state(lead)
    with pytest.raises(LeadError, match=message):
        services.run_transition(lead, "nurture", by=rep, return_on=return_on)
    assert db_state(lead) == before


def test_nurture_keeps_the_return_date(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    return_on = timezone.localdate() + dt.timedelta(days=45)
    services.run_transition(lead, "nurture", by=rep, return_on=return_on.isoformat())
    lead.refresh_from_db()
    assert (lead.stage, lead.nurture_until) == ("nurture", return_on)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (None, "amount is required"),
        ("", "amount is required"),
        ("0", "greater than zero"),
        (0, "greater than zero"),
        ("-5", "greater than zero"),
        ("twelve", "must be a number"),
        ("NaN", "must be a number"),
        ("Infinity", "must be a number"),
        ("1e400", "too large"),
        ("1000000000000", "too large"),
    ],
)
def test_open_opportunity_needs_a_positive_amount(amount, message, rep):
    lead = LeadFactory(stage="sql", owner=rep)
    before = db_state(lead)
    with pytest.raises(LeadError, match=message):
        services.run_transition(lead, "open_opportunity", by=rep, amount=amount)
    assert db_state(lead) == before


def test_open_opportunity_opens_a_deal_with_the_amount(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="12,500.50")
    deal = Deal.objects.get(lead=lead)
    assert deal.status == Deal.Status.OPEN
    assert deal.amount == Decimal("12500.50")
    assert deal.opened_by == rep
    assert deal.closed_at is None


def test_win_marks_the_open_deal_won(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="9000")
    services.run_transition(lead, "win", by=rep)
    deal = Deal.objects.get(lead=lead)
    assert deal.status == Deal.Status.WON
    assert deal.closed_at is not None
    assert Lead.objects.get(pk=lead.pk).stage == "converted"


def test_disqualifying_an_opportunity_marks_its_deal_lost(rep):
    lead = LeadFactory(stage="sql", owner=rep)
    services.run_transition(lead, "open_opportunity", by=rep, amount="9000")
    services.run_transition(lead, "disqualify", by=rep, reason="Chose a competitor")
    assert Deal.objects.get(lead=lead).status == Deal.Status.LOST


def test_converted_is_final(superuser):
    lead = LeadFactory(stage="converted")
    assert list(lead.get_available_stage_transitions()) == []
    assert list(lead.get_available_user_stage_transitions(superuser)) == []
    assert services.available_transitions(lead, superuser) == []


def test_reopen_clears_the_disqualify_reason(manager, rep):
    lead = LeadFactory(stage="mql", owner=rep)
    services.run_transition(lead, "disqualify", by=rep, reason="Bad data")
    services.run_transition(lead, "reopen", by=manager)
    lead.refresh_from_db()
    assert (lead.stage, lead.disqualify_reason) == ("suspect", "")
    assert list(
        StageChange.objects.filter(lead=lead)
        .order_by("id")
        .values_list("from_stage", "to_stage", "by__username")
    ) == [("mql", "disqualified", "rep"), ("disqualified", "suspect", "manager")]


def test_hand_raise_from_nurture_clears_the_return_date(marketer, rep):
    lead = LeadFactory(stage="working", owner=rep)
    services.run_transition(
        lead, "nurture", by=rep, return_on=timezone.localdate() + dt.timedelta(days=9)
    )
    services.run_transition(lead, "hand_raise", by=marketer)
    lead.refresh_from_db()
    assert (lead.stage, lead.nurture_until) == ("mql", None)


# --- Cold prospecting -------------------------------------------------------


def test_start_prospecting_works_when_the_channel_allows_it(rep, cold_channel):
    lead = LeadFactory(stage="iql", owner=rep, channel=cold_channel)
    services.run_transition(lead, "start_prospecting", by=rep)
    assert Lead.objects.get(pk=lead.pk).stage == "working"


def test_start_prospecting_is_refused_when_the_channel_does_not_allow_it(rep):
    lead = LeadFactory(
        stage="iql", owner=rep, channel=ChannelFactory(allows_cold_prospecting=False)
    )
    before = db_state(lead)
    with pytest.raises(LeadError, match="does not allow cold prospecting"):
        services.run_transition(lead, "start_prospecting", by=rep)
    assert db_state(lead) == before


def test_start_prospecting_is_refused_without_a_channel(rep):
    lead = LeadFactory(stage="iql", owner=rep, channel=None)
    with pytest.raises(LeadError, match="cold prospecting"):
        services.run_transition(lead, "start_prospecting", by=rep)
    assert Lead.objects.get(pk=lead.pk).stage == "iql"


def test_cold_prospecting_is_offered_only_on_channels_that_allow_it(rep, cold_channel):
    cold = LeadFactory(stage="iql", owner=rep, channel=cold_channel)
    warm = LeadFactory(stage="iql", owner=rep, channel=ChannelFactory())
    assert "start_prospecting" in dict(services.available_transitions(cold, rep))
    assert "start_prospecting" not in dict(services.available_transitions(warm, rep))


# --- Touches ------------------------------------------------------------------


def test_first_sales_touch_moves_an_mql_to_working(rep):
    lead = LeadFactory(stage="mql", owner=rep)
    at = timezone.now() - dt.timedelta(minutes=5)

    activity = services.log_touch(lead, by=rep, kind="call", subject="Intro call", at=at)

    saved = Lead.objects.get(pk=lead.pk)
    assert saved.stage == "working"
    assert saved.first_touch_at == at
    assert saved.last_touch_at == at
    assert (activity.side, activity.is_touch, activity.actor) == ("sales", True, rep)
    change = StageChange.objects.get(lead=lead)
    assert (change.from_stage, change.to_stage, change.by) == ("mql", "working", rep)
    assert change.transition == "start_working"


def test_later_touches_keep_the_first_touch_and_move_the_last(rep):
    lead = LeadFactory(stage="mql", owner=rep)
    first = timezone.now() - dt.timedelta(hours=3)
    second = timezone.now() - dt.timedelta(hours=1)
    services.log_touch(lead, by=rep, kind="call", at=first)
    services.log_touch(lead, by=rep, kind="email", at=second)
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.first_touch_at, saved.last_touch_at) == (first, second)
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_first_touch_before_the_due_time_meets_the_sla(rep):
    lead = LeadFactory(
        stage="mql",
        owner=rep,
        sla_status=Lead.SLAStatus.PENDING,
        sla_due_at=timezone.now() + dt.timedelta(hours=2),
    )
    services.log_touch(lead, by=rep, kind="call")
    assert Lead.objects.get(pk=lead.pk).sla_status == Lead.SLAStatus.MET


def test_first_touch_after_the_due_time_breaches_the_sla(rep):
    lead = LeadFactory(
        stage="mql",
        owner=rep,
        sla_status=Lead.SLAStatus.PENDING,
        sla_due_at=timezone.now() - dt.timedelta(hours=2),
    )
    services.log_touch(lead, by=rep, kind="call")
    assert Lead.objects.get(pk=lead.pk).sla_status == Lead.SLAStatus.BREACHED


def test_a_marketing_touch_is_not_a_sales_touch(marketer):
    lead = LeadFactory(stage="mql")

    activity = services.log_touch(lead, by=marketer, kind="email", subject="Nurture mail")

    saved = Lead.objects.get(pk=lead.pk)
    assert (activity.side, activity.is_touch) == ("marketing", False)
    assert saved.stage == "mql"
    assert (saved.first_touch_at, saved.last_touch_at) == (None, None)
    assert not StageChange.objects.filter(lead=lead).exists()


def test_sales_touch_on_a_working_lead_does_not_move_it(rep):
    lead = LeadFactory(stage="working", owner=rep)
    services.log_touch(lead, by=rep, kind="meeting")
    assert Lead.objects.get(pk=lead.pk).stage == "working"
    assert not StageChange.objects.filter(lead=lead).exists()


def test_touch_on_a_closed_lead_is_refused(rep):
    lead = LeadFactory(stage="converted", owner=rep)
    before = db_state(lead)
    with pytest.raises(LeadError, match="closed"):
        services.log_touch(lead, by=rep, kind="call")
    assert db_state(lead) == before


def test_touch_of_an_unknown_kind_is_refused(rep):
    lead = LeadFactory(stage="mql", owner=rep)
    with pytest.raises(LeadError, match="kind of touch"):
        services.log_touch(lead, by=rep, kind="web_visit")
    assert Lead.objects.get(pk=lead.pk).stage == "mql"
