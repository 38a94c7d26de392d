"""Floods: many clocks warned or escalated at once reach each person as one digest per run,
listing every lead with its name as a link, however many transactions the run takes."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from agreements.models import ResponseRule
from leads.clock import RuleBook
from notifications.models import Notification
from notifications.services import deliver_pending_emails
from sla import check, escalation
from sla.check import run_check
from sla.context import CheckContext
from sla.models import Breach, SLAWarning
from tests.factories import RepFactory

from .conftest import T0, clock_lead, make_rule, minutes

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
LEADS = 30


@pytest.fixture
def small_batches(monkeypatch):
    """The check's steps take a few leads per transaction, so a flood spans many of them."""
    monkeypatch.setattr(check, "BATCH", 7)
    monkeypatch.setattr(escalation, "ESCALATION_BATCH", 4)


def flood(rule, owner, n: int = LEADS, name: str = "Warm"):
    """`n` leads whose clocks started within a few seconds of T0, in due order."""
    return [
        clock_lead(
            rule, owner, first_name=f"Lead{i:02}", last_name=name, started=T0 + minutes(i / 20)
        )
        for i in range(n)
    ]


def listed(note: Notification) -> list[tuple[str, str]]:
    return [(item["name"], item["url"]) for item in note.items]


def leads_as_links(leads) -> list[tuple[str, str]]:
    return [(lead.full_name, lead.get_absolute_url()) for lead in leads]


def test_many_warnings_at_once_reach_the_owner_as_one_digest_listing_every_lead(
    rule, rep, small_batches
):
    leads = flood(rule, rep)

    result = run_check(T0 + minutes(50))
    run_check(T0 + minutes(51))

    assert result.warned == LEADS
    (note,) = Notification.objects.filter(user=rep)
    assert (note.kind, note.title) == (Kind.SLA_WARNING, f"Follow up soon: {LEADS} of your leads")
    assert note.url == "/queue/"
    assert listed(note) == leads_as_links(leads)
    assert all(item["detail"].startswith("due ") for item in note.items)
    assert not SLAWarning.objects.filter(notified_at__isnull=True).exists()


def test_many_unassigned_leads_due_soon_reach_each_sales_manager_as_one_digest(
    rule, manager, other_rep, small_batches
):
    leads = flood(rule, None)
    west_manager = other_rep.rep_profile.team.manager

    run_check(T0 + minutes(50))

    for sales_manager in (manager, west_manager):
        (note,) = Notification.objects.filter(user=sales_manager)
        assert note.title == f"{LEADS} unassigned leads due soon"
        assert note.url == "/desk/"
        assert listed(note) == leads_as_links(leads)


def test_up_to_three_warnings_arrive_one_by_one(rule, rep):
    leads = flood(rule, rep, n=3)

    run_check(T0 + minutes(50))

    notes = Notification.objects.filter(user=rep)
    assert sorted(notes.values_list("lead_id", flat=True)) == sorted(lead.pk for lead in leads)
    assert all(note.items == [] for note in notes)


def test_a_warning_digest_is_emailed_once_with_every_lead_as_a_link(rule, rep, small_batches):
    leads = flood(rule, rep)
    run_check(T0 + minutes(50))

    deliver_pending_emails()
    deliver_pending_emails()

    (email,) = mail.outbox
    assert email.to == [rep.email]
    ((html, mimetype),) = email.alternatives
    assert mimetype == "text/html"
    for lead in leads:
        url = f"{settings.SITE_URL}{lead.get_absolute_url()}"
        assert f'<a href="{url}">{lead.full_name}</a>' in html
        assert f"{lead.full_name} (due " in email.body
        assert url in email.body


def test_many_escalations_at_once_reach_the_manager_as_one_digest(
    rule, rep, manager, small_batches
):
    leads = flood(rule, rep)
    run_check(T0 + minutes(61))  # the clocks run out

    result = run_check(T0 + minutes(125))  # past every escalation time
    run_check(T0 + minutes(126))

    assert result.escalated == LEADS
    (note,) = Notification.objects.filter(user=manager, kind=Kind.SLA_ESCALATION)
    assert note.title == f"Escalation: {LEADS} leads are still untouched"
    assert note.url == "/team/"
    assert listed(note) == leads_as_links(leads)
    assert all(item["detail"].endswith("; still untouched") for item in note.items)
    assert not Notification.objects.filter(user=rep, kind=Kind.SLA_ESCALATION).exists()


def test_many_leads_moved_by_escalation_reach_old_and_new_owners_as_digests(
    rep, manager, small_batches
):
    newcomer = RepFactory(team=rep.rep_profile.team)
    rule = make_rule(ResponseRule.Escalation.NEXT_REP)
    leads = flood(rule, rep)
    run_check(T0 + minutes(61))

    run_check(T0 + minutes(125))

    (moved_away,) = Notification.objects.filter(user=rep, kind=Kind.REASSIGNED)
    assert moved_away.title == f"{LEADS} of your leads were moved by the SLA escalation"
    assert listed(moved_away) == leads_as_links(leads)
    (moved_in,) = Notification.objects.filter(user=newcomer, kind=Kind.REASSIGNED)
    assert moved_in.title == f"{LEADS} new leads for you, already overdue"
    assert all(
        item["detail"].endswith(f"; reassigned to {newcomer.get_full_name() or newcomer.username}")
        for item in moved_in.items
    )
    (to_manager,) = Notification.objects.filter(user=manager, kind=Kind.SLA_ESCALATION)
    assert len(to_manager.items) == LEADS


def test_escalations_recorded_by_a_run_that_died_before_telling_are_told_once(rule, rep, manager):
    leads = flood(rule, rep, n=5)
    run_check(T0 + minutes(61))
    # A run that escalated and died before its telling step.
    now = T0 + minutes(125)
    escalation.escalate_breaches(CheckContext(now=now, rules=RuleBook.load(now)))
    assert not Notification.objects.filter(kind=Kind.SLA_ESCALATION).exists()

    run_check(now + minutes(1))
    run_check(now + minutes(2))

    (note,) = Notification.objects.filter(user=manager, kind=Kind.SLA_ESCALATION)
    assert listed(note) == leads_as_links(leads)
    assert not Breach.objects.filter(escalation_notified_at__isnull=True).exists()


def test_warnings_recorded_by_a_run_that_died_before_telling_are_told_once(rule, rep):
    lead = clock_lead(rule, rep)
    # A run that recorded the warning and died before its telling step.
    SLAWarning.objects.create(
        lead=lead, due_at=lead.sla_due_at, warned_at=timezone.now(), owner=rep
    )

    run_check(T0 + minutes(50))
    run_check(T0 + minutes(51))

    (note,) = Notification.objects.filter(user=rep)
    assert (note.kind, note.lead) == (Kind.SLA_WARNING, lead)
