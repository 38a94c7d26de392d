"""The SLA check: due clocks become breaches, once, credited to the owner at the due time."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from leads.models import Lead
from leads.services import log_touch, reassign
from notifications.models import Notification
from notifications.services import deliver_pending_emails
from sla.check import run_check
from sla.models import Breach
from tests.factories import LeadFactory, RepFactory

from .conftest import T0, clock_lead, minutes

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[list, list, list]:
    """Every row the check writes, in a comparable form."""
    breaches = list(
        Breach.objects.order_by("pk").values(
            "lead_id", "due_at", "detected_at", "owner_at_due_id", "escalate_at", "escalated_at"
        )
    )
    notes = list(Notification.objects.order_by("event_key").values("user_id", "kind", "event_key"))
    leads = list(Lead.objects.order_by("pk").values("pk", "sla_status", "owner_id"))
    return breaches, notes, leads


def test_clock_that_ran_out_is_breached_with_its_record(rule, rep):
    lead = clock_lead(rule, rep)

    result = run_check(T0 + minutes(61))

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
    breach = Breach.objects.get(lead=lead)
    assert breach.due_at == T0 + minutes(60)
    assert breach.detected_at == T0 + minutes(61)
    assert breach.rule == rule
    assert breach.agreement == rule.agreement
    assert breach.owner_at_due == rep
    assert breach.manager_at_due == rep.rep_profile.team.manager
    assert breach.escalate_at == T0 + minutes(120)
    assert result.breached == 1


def test_clock_not_yet_due_is_left_running(rule, rep):
    lead = clock_lead(rule, rep)

    run_check(T0 + minutes(59))

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.PENDING
    assert not Breach.objects.exists()


def test_clock_due_exactly_now_is_breached(rule, rep):
    lead = clock_lead(rule, rep)

    run_check(T0 + minutes(60))

    assert Breach.objects.filter(lead=lead).exists()


def test_breach_notifies_owner_and_their_manager_once(rule, rep, manager):
    lead = clock_lead(rule, rep)

    run_check(T0 + minutes(61))

    notes = Notification.objects.filter(kind=Notification.Kind.SLA_BREACH, lead=lead)
    assert sorted(n.user_id for n in notes) == sorted([rep.pk, manager.pk])


def test_check_twice_gives_identical_rows(rule, rep):
    clock_lead(rule, rep)
    clock_lead(rule, RepFactory(), started=T0 + minutes(5))
    clock_lead(rule, None, started=T0 + minutes(10))
    clock_lead(rule, rep, started=T0 + minutes(50))

    run_check(T0 + minutes(125))
    first = snapshot()
    second_result = run_check(T0 + minutes(125))
    third_result = run_check(T0 + minutes(126))

    assert snapshot() == first
    assert (
        second_result.as_dict()
        == third_result.as_dict()
        == {
            "warned": 0,
            "breached": 0,
            "escalated": 0,
            "stopped": 0,
        }
    )
    assert len(first[0]) == 4


def test_many_runs_send_each_email_once(rule, rep, manager):
    clock_lead(rule, rep)
    for minute in range(40, 70):
        run_check(T0 + minutes(minute))
        deliver_pending_emails()

    subjects = sorted(m.subject for m in mail.outbox)
    assert len(subjects) == len(set(subjects)) == Notification.objects.count() == 3
    assert [m.to for m in mail.outbox if "missed the follow-up" in m.subject] == [[manager.email]]


def test_lead_reassigned_mid_clock_credits_the_breach_to_the_owner_at_due_time(rule, rep, manager):
    lead = clock_lead(rule, rep)
    newcomer = RepFactory(team=rep.rep_profile.team)
    with_time = T0 + minutes(30)
    reassign([lead], newcomer, by=None, reason="Rep out sick")
    lead.assignments.filter(to_owner=newcomer).update(at=with_time)

    run_check(T0 + minutes(61))

    breach = Breach.objects.get(lead=lead)
    assert breach.owner_at_due == newcomer
    owners = set(
        Notification.objects.filter(kind=Notification.Kind.SLA_BREACH).values_list(
            "user_id", flat=True
        )
    )
    assert owners == {newcomer.pk, manager.pk}


def test_lead_reassigned_after_due_time_credits_the_one_who_let_it_run_out(rule, rep):
    lead = clock_lead(rule, rep)
    newcomer = RepFactory(team=rep.rep_profile.team)
    reassign([lead], newcomer, by=None)
    lead.assignments.filter(to_owner=newcomer).update(at=T0 + minutes(65))

    run_check(T0 + minutes(70))

    assert Breach.objects.get(lead=lead).owner_at_due == rep


def test_late_touch_keeps_breached_and_records_the_touch_time(rule, rep):
    lead = clock_lead(rule, rep)
    run_check(T0 + minutes(61))
    touched = T0 + minutes(90)
    lead.refresh_from_db()

    log_touch(lead, by=rep, kind="call", at=touched)

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
    assert lead.first_touch_at == touched
    assert Breach.objects.get(lead=lead).resolved_at == touched


def test_late_touch_before_the_check_noticed_still_records_the_breach(rule, rep):
    lead = clock_lead(rule, rep)
    touched = T0 + minutes(75)

    log_touch(lead, by=rep, kind="call", at=touched)

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
    breach = Breach.objects.get(lead=lead)
    assert (breach.due_at, breach.resolved_at, breach.owner_at_due) == (
        T0 + minutes(60),
        touched,
        rep,
    )
    assert not Notification.objects.exists()


def test_touch_in_time_is_met_and_never_breached(rule, rep):
    lead = clock_lead(rule, rep)
    log_touch(lead, by=rep, kind="email", at=T0 + minutes(20))

    run_check(T0 + minutes(200))

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.MET
    assert not Breach.objects.exists()


def test_unowned_lead_breach_goes_to_the_sales_managers(rule, manager, other_rep):
    lead = clock_lead(rule, None)
    west_manager = other_rep.rep_profile.team.manager

    run_check(T0 + minutes(61))

    breach = Breach.objects.get(lead=lead)
    assert breach.owner_at_due is None
    recipients = set(Notification.objects.values_list("user_id", flat=True))
    assert recipients == {manager.pk, west_manager.pk}


def test_clock_on_a_closed_lead_is_recorded_without_chasing_anyone(rule, rep):
    lead = clock_lead(rule, rep, stage="disqualified")

    result = run_check(T0 + minutes(61))

    assert result.stopped == 1
    assert Breach.objects.filter(lead=lead).exists()
    assert not Notification.objects.exists()


def test_leads_without_a_rule_are_never_touched(rule, rep):
    plain = LeadFactory(stage="mql", owner=rep)

    run_check(T0 + minutes(600))

    plain.refresh_from_db()
    assert plain.sla_status == Lead.SLAStatus.NONE


def test_breach_bumps_the_lead_version_so_stale_copies_cannot_undo_it(rule, rep):
    lead = clock_lead(rule, rep)
    stale = Lead.objects.get(pk=lead.pk)

    run_check(T0 + minutes(61))

    lead.refresh_from_db()
    assert lead.version == stale.version + 1


def test_breach_query_reads_only_due_clocks(rule, rep, django_assert_max_num_queries):
    for minute in range(0, 600, 60):
        clock_lead(rule, rep, started=T0 + minutes(minute))

    # Each step reads only the rows it needs; the two steps that tell warnings and
    # escalations cost a query or three each even when there is nothing to tell.
    with django_assert_max_num_queries(26):
        run_check(T0 + minutes(61))

    assert Breach.objects.count() == 1


def test_check_sla_command_runs_the_check_once_and_sends_the_emails(rule, rep, capsys):
    lead = clock_lead(rule, rep, started=timezone.now() - minutes(61))

    call_command("check_sla")

    lead.refresh_from_db()
    assert lead.sla_status == Lead.SLAStatus.BREACHED
    assert sorted(m.to[0] for m in mail.outbox) == sorted([rep.email, "manager@accord.example"])
    assert "1 breached" in capsys.readouterr().out


def test_several_breaches_at_once_reach_the_manager_as_one_digest(rule, rep, manager):
    teammate = RepFactory(team=rep.rep_profile.team, first_name="Tess", last_name="Mate")
    leads = [
        clock_lead(rule, rep, first_name="Ann", last_name="One"),
        clock_lead(rule, rep, first_name="Bob", last_name="Two", started=T0 + minutes(1)),
        clock_lead(rule, teammate, first_name="Cy", last_name="Three", started=T0 + minutes(2)),
    ]

    run_check(T0 + minutes(70))
    run_check(T0 + minutes(71))

    to_manager = Notification.objects.get(user=manager)
    assert to_manager.kind == Notification.Kind.SLA_BREACH
    assert to_manager.title == "3 leads in your team missed their follow-up"
    assert "Tess Mate: 1" in to_manager.body
    assert [(item["name"], item["url"]) for item in to_manager.items] == [
        (lead.full_name, lead.get_absolute_url()) for lead in leads
    ]
    assert to_manager.items[2]["detail"].startswith("Tess Mate, due ")
    assert to_manager.lead_id is None
    owners = Notification.objects.exclude(user=manager)
    assert sorted(owners.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in leads)


def test_a_digest_is_emailed_once(rule, rep, manager):
    clock_lead(rule, rep)
    clock_lead(rule, rep, started=T0 + minutes(1))

    run_check(T0 + minutes(70))
    deliver_pending_emails()
    run_check(T0 + minutes(71))
    deliver_pending_emails()

    assert [m.subject for m in mail.outbox if m.to == [manager.email]] == [
        "[Accord] 2 leads in your team missed their follow-up"
    ]


def test_many_breaches_of_one_rep_at_once_reach_the_rep_as_one_digest(rule, rep, manager):
    names = [("Ann", "One"), ("Bob", "Two"), ("Cy", "Three"), ("Di", "Four")]
    for n, (first, last) in enumerate(names):
        clock_lead(rule, rep, first_name=first, last_name=last, started=T0 + minutes(n))

    run_check(T0 + minutes(70))
    run_check(T0 + minutes(71))

    to_rep = Notification.objects.get(user=rep)
    assert to_rep.title == "4 of your leads missed their follow-up"
    assert [item["name"] for item in to_rep.items] == [f"{f} {last}" for f, last in names]
    assert to_rep.lead_id is None
    assert to_rep.url == "/queue/"
    assert Breach.objects.filter(owner_at_due=rep).count() == 4
    assert Notification.objects.filter(user=manager).count() == 1


def test_up_to_three_breaches_of_one_rep_arrive_one_by_one(rule, rep):
    leads = [clock_lead(rule, rep, started=T0 + minutes(n)) for n in range(3)]

    run_check(T0 + minutes(70))

    to_rep = Notification.objects.filter(user=rep)
    assert sorted(to_rep.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in leads)


def test_an_unassigned_lead_that_ran_out_tells_every_sales_manager(rule, manager):
    lead = clock_lead(rule)

    run_check(T0 + minutes(61))

    told = Notification.objects.get(user=manager)
    assert told.lead_id == lead.pk
    assert told.title.startswith("Unassigned lead missed its follow-up")


def test_many_unassigned_leads_at_once_reach_each_manager_as_one_digest(rule, manager):
    for n in range(5):
        clock_lead(rule, started=T0 + minutes(n))

    run_check(T0 + minutes(70))
    run_check(T0 + minutes(71))

    told = Notification.objects.get(user=manager)
    assert told.title == "5 unassigned leads missed their follow-up"
    assert told.url == "/desk/"
    assert Breach.objects.filter(owner_at_due__isnull=True).count() == 5
