"""The escalation ladder: warning, breach, escalation, reassignment — once each, however often
the check runs."""

from __future__ import annotations

import pytest

from agreements.models import ResponseRule
from leads.models import Assignment, Lead, LeadEvent
from leads.services import log_touch
from notifications.models import Notification
from sla.check import run_check
from sla.models import Breach, SLAWarning
from tests.factories import LeadFactory, RepFactory, TeamFactory, UserFactory

from .conftest import T0, clock_lead, make_rule, minutes

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Escalation = ResponseRule.Escalation


def run_every_minute(until: int, start: int = 0) -> None:
    for minute in range(start, until + 1):
        run_check(T0 + minutes(minute))


def kinds_for(user) -> list[str]:
    return sorted(Notification.objects.filter(user=user).values_list("kind", flat=True))


def test_warning_comes_at_the_rules_share_of_the_window(rule, rep):
    lead = clock_lead(rule, rep)

    run_check(T0 + minutes(44))
    assert not Notification.objects.exists()
    run_check(T0 + minutes(45))

    (note,) = Notification.objects.all()
    assert (note.user, note.kind, note.lead) == (rep, Kind.SLA_WARNING, lead)
    assert SLAWarning.objects.get(lead=lead).due_at == lead.sla_due_at


def test_each_rule_warns_at_its_own_share(rule, rep):
    slow = make_rule(within_amount=240, warn_at_percent=50)
    quick_lead = clock_lead(rule, rep)  # due at 60 min, warned from 45
    slow_lead = clock_lead(slow, rep, started=T0 - minutes(180))  # due at 60, warned from -60

    run_check(T0 + minutes(30))

    assert list(SLAWarning.objects.values_list("lead", flat=True)) == [slow_lead.pk]
    run_check(T0 + minutes(45))
    assert SLAWarning.objects.filter(lead=quick_lead).exists()


def test_warning_is_sent_once_however_often_the_check_runs(rule, rep):
    clock_lead(rule, rep)

    run_every_minute(59)
    run_check(T0 + minutes(50))

    assert kinds_for(rep) == [Kind.SLA_WARNING]


def test_no_warning_once_the_clock_is_already_due(rule, rep):
    clock_lead(rule, rep)

    run_check(T0 + minutes(61))

    assert Kind.SLA_WARNING not in kinds_for(rep)


def test_no_warning_after_the_lead_was_touched(rule, rep):
    lead = clock_lead(rule, rep)
    log_touch(lead, by=rep, kind="call", at=T0 + minutes(10))

    run_every_minute(59)

    assert not Notification.objects.exists()


def test_rule_warning_at_100_percent_sends_no_separate_warning(rep):
    rule = make_rule(warn_at_percent=100)
    clock_lead(rule, rep)

    run_every_minute(59)

    assert not Notification.objects.exists()


def test_whole_ladder_with_notify_manager_gives_one_notification_per_step(rule, rep, manager):
    lead = clock_lead(rule, rep)

    run_every_minute(180)

    assert kinds_for(rep) == [Kind.SLA_BREACH, Kind.SLA_WARNING]
    assert kinds_for(manager) == [Kind.SLA_BREACH, Kind.SLA_ESCALATION]
    breach = Breach.objects.get(lead=lead)
    assert breach.escalated_at == T0 + minutes(120)
    assert breach.escalation == Breach.Escalation.NOTIFY_MANAGER
    lead.refresh_from_db()
    assert lead.owner == rep


def test_escalation_waits_for_the_rules_delay(rule, rep, manager):
    clock_lead(rule, rep)

    run_every_minute(119)

    assert Kind.SLA_ESCALATION not in kinds_for(manager)
    assert not Breach.objects.filter(escalated_at__isnull=False).exists()


def test_escalation_also_notifies_the_person_the_rule_names(rep, manager):
    head = UserFactory(username="head-of-sales")
    rule = make_rule(escalate_to=head)
    clock_lead(rule, rep)

    run_every_minute(130, start=100)

    assert kinds_for(head) == [Kind.SLA_ESCALATION]


def test_lead_desk_escalation_moves_the_lead_and_records_the_move(rep, manager):
    rule = make_rule(Escalation.LEAD_DESK)
    lead = clock_lead(rule, rep)

    run_every_minute(180, start=55)

    lead.refresh_from_db()
    assert lead.owner is None
    move = Assignment.objects.filter(lead=lead).order_by("-at", "-id").first()
    assert (move.from_owner, move.to_owner, move.by, move.rule) == (
        rep,
        None,
        None,
        "SLA escalation",
    )
    assert Assignment.objects.filter(lead=lead, to_owner=None).count() == 1
    assert kinds_for(rep) == [Kind.REASSIGNED, Kind.SLA_BREACH, Kind.SLA_WARNING]
    assert kinds_for(manager) == [Kind.SLA_BREACH, Kind.SLA_ESCALATION]
    breach = Breach.objects.get(lead=lead)
    assert breach.escalation == Breach.Escalation.LEAD_DESK
    assert breach.owner_at_due == rep


def test_next_rep_escalation_hands_the_lead_to_a_teammate_once(rep, manager):
    rule = make_rule(Escalation.NEXT_REP)
    teammate = RepFactory(username="teammate", team=rep.rep_profile.team)
    lead = clock_lead(rule, rep)

    run_every_minute(200, start=55)

    lead.refresh_from_db()
    assert lead.owner == teammate
    assert Assignment.objects.filter(lead=lead, to_owner=teammate).count() == 1
    assert kinds_for(teammate) == [Kind.REASSIGNED]
    assert kinds_for(rep) == [Kind.REASSIGNED, Kind.SLA_BREACH, Kind.SLA_WARNING]
    assert kinds_for(manager) == [Kind.SLA_BREACH, Kind.SLA_ESCALATION]
    breach = Breach.objects.get(lead=lead)
    assert (breach.escalation, breach.escalated_to, breach.owner_at_due) == (
        Breach.Escalation.NEXT_REP,
        teammate,
        rep,
    )


def test_next_rep_skips_reps_who_are_away(rep):
    rule = make_rule(Escalation.NEXT_REP)
    team = rep.rep_profile.team
    away = RepFactory(username="away", team=team)
    away.rep_profile.is_away = True
    away.rep_profile.save()
    present = RepFactory(username="present", team=team)
    lead = clock_lead(rule, rep)

    run_check(T0 + minutes(121))

    lead.refresh_from_db()
    assert lead.owner == present


def test_next_rep_rotates_through_the_team(rep):
    rule = make_rule(Escalation.NEXT_REP)
    team = rep.rep_profile.team
    others = {RepFactory(username=f"mate-{n}", team=team).pk for n in range(2)}
    leads = [clock_lead(rule, rep) for _ in range(2)]

    run_check(T0 + minutes(121))

    assert {Lead.objects.get(pk=lead.pk).owner_id for lead in leads} == others


def test_next_rep_with_nobody_else_in_the_team_goes_to_the_lead_desk(rep):
    rule = make_rule(Escalation.NEXT_REP)
    lead = clock_lead(rule, rep)

    run_check(T0 + minutes(121))

    lead.refresh_from_db()
    assert lead.owner is None
    assert Breach.objects.get(lead=lead).escalation == Breach.Escalation.LEAD_DESK


def test_touch_after_breach_cancels_the_escalation(rep, manager):
    rule = make_rule(Escalation.LEAD_DESK)
    lead = clock_lead(rule, rep)
    run_check(T0 + minutes(61))
    lead.refresh_from_db()
    log_touch(lead, by=rep, kind="call", at=T0 + minutes(70))

    run_every_minute(200, start=110)

    lead.refresh_from_db()
    assert lead.owner == rep
    assert Kind.SLA_ESCALATION not in kinds_for(manager)
    assert Breach.objects.get(lead=lead).escalated_at is None


def test_rule_without_escalation_never_escalates(rep, manager):
    rule = make_rule(escalate_after_amount=None)
    clock_lead(rule, rep)

    run_check(T0 + minutes(10_000))

    assert Breach.objects.get().escalate_at is None
    assert Kind.SLA_ESCALATION not in kinds_for(manager)


def test_each_lead_gets_its_own_ladder(rule, rep, manager):
    leads = [clock_lead(rule, rep, started=T0 + minutes(n)) for n in range(3)]

    run_every_minute(200)

    for lead in leads:
        assert Notification.objects.filter(lead=lead, user=rep).count() == 2
        assert Notification.objects.filter(lead=lead, user=manager).count() == 2


def test_a_new_clock_on_the_same_lead_gets_a_new_ladder(rule, rep):
    lead = clock_lead(rule, rep)
    run_check(T0 + minutes(61))
    restarted = T0 + minutes(300)
    Lead.objects.filter(pk=lead.pk).update(
        sla_status=Lead.SLAStatus.PENDING, sla_due_at=restarted + minutes(60)
    )

    run_check(restarted + minutes(61))

    assert Breach.objects.filter(lead=lead).count() == 2
    assert Notification.objects.filter(user=rep, kind=Kind.SLA_BREACH).count() == 2


def test_unrelated_leads_are_left_alone(rule, rep):
    bystander = LeadFactory(stage="working", owner=rep)

    run_every_minute(150, start=140)

    assert not Notification.objects.filter(lead=bystander).exists()


@pytest.mark.django_db
def test_an_escalation_for_a_team_without_a_manager_reaches_the_sales_managers(manager):
    # The rep's team has no manager: "notify the manager" tells the sales managers, who
    # answer for the lead desk too (it was recorded as done and told nobody).
    orphan = RepFactory(username="orphan", team=TeamFactory(name="Nomads", manager=None))
    lead = clock_lead(make_rule(), orphan)
    for m in range(0, 130, 5):
        run_check(T0 + minutes(m))
    assert Breach.objects.get(lead=lead).escalation == Breach.Escalation.NOTIFY_MANAGER
    told = Notification.objects.filter(kind=Notification.Kind.SLA_ESCALATION)
    assert list(told.values_list("user", flat=True)) == [manager.pk]


@pytest.mark.django_db
def test_an_escalations_move_is_dated_at_the_checks_time(rep, manager):
    lead = clock_lead(make_rule(ResponseRule.Escalation.LEAD_DESK), rep)
    run_check(T0 + minutes(61))
    run_check(T0 + minutes(120))
    move = Assignment.objects.get(lead=lead, rule="SLA escalation")
    event = LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.ASSIGNED).latest("id")
    breach = Breach.objects.get(lead=lead)
    assert (move.at, event.at, breach.escalated_at) == (T0 + minutes(120),) * 3
