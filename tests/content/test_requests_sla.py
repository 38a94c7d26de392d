"""Marketing's side of the SLA: a content request not answered within the agreed business
days warns, breaches and escalates like a sales follow-up — once per step, however often
the SLA check runs."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from agreements import roles
from content import requests
from content.check import check_content_requests
from content.models import ContentRequest
from leads.clock import RuleBook
from notifications.models import Notification
from sla.check import run_check
from sla.context import CheckContext
from tests.agreements.factories import AgreementFactory, HolidayFactory, signed_and_active
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
BERLIN = ZoneInfo("Europe/Berlin")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


# Tuesday 10 March 2026, 10:00 in Berlin (a working day of 09:00-17:00).
ASKED = berlin(2026, 3, 10, 10)
# 2 business days = 16 working hours: Tue 10-17 (7), Wed 9-17 (8), Thu 9-10 (1).
DUE = berlin(2026, 3, 12, 10)
# 75 % = 12 working hours: Tue 7, Wed 9-14 (5).
WARN = berlin(2026, 3, 11, 14)
# 3 business days = 24 working hours: Tue 7, Wed 8, Thu 8, Fri 9-10 (1).
ESCALATE = berlin(2026, 3, 13, 10)


@pytest.fixture
def agreement(marketer, manager, ops):
    """The version in force promises answers within 2 business days, warns at 75 % and
    escalates after 3, on a Berlin calendar."""
    draft = AgreementFactory(
        content_request_days=2,
        content_request_warn_at_percent=75,
        content_request_escalate_days=3,
    )
    return signed_and_active(draft, marketer, manager, by=ops)


@pytest.fixture
def colleague(db):
    """A second marketer: nobody took the request, so the whole team answers for it."""
    return UserFactory(username="marketer-2", role=roles.MARKETING)


def ask(rep, text="A deck for healthcare CFOs", at=ASKED) -> ContentRequest:
    with time_machine.travel(at, tick=False):
        return requests.request_content(rep, text)


def check_at(moment: dt.datetime, times: int = 2) -> None:
    """Run the SLA check as the periodic task does, `times` times at the same instant."""
    with time_machine.travel(moment, tick=False):
        for _ in range(times):
            call_command("check_sla", "--no-email")


def told(user, kind: str | None = None) -> list[str]:
    notes = Notification.objects.filter(user=user).exclude(kind=Kind.CONTENT_REQUEST)
    if kind is not None:
        notes = notes.filter(kind=kind)
    return sorted(notes.values_list("kind", flat=True))


def test_a_request_runs_on_the_agreed_business_days_of_the_calendar(agreement, rep):
    request = ask(rep)

    assert request.agreement == agreement
    assert (request.warn_at, request.due_at, request.escalate_at) == (WARN, DUE, ESCALATE)


def test_holidays_of_the_calendar_do_not_count(marketer, manager, ops, rep):
    draft = AgreementFactory(content_request_days=2)
    HolidayFactory(calendar=draft.calendar, date=dt.date(2026, 3, 11))
    signed_and_active(draft, marketer, manager, by=ops)

    request = ask(rep)

    assert request.due_at == berlin(2026, 3, 13, 10)


def test_without_a_promise_a_request_has_no_clock(marketer, manager, ops, rep):
    signed_and_active(AgreementFactory(), marketer, manager, by=ops)

    request = ask(rep)
    check_at(ASKED + dt.timedelta(days=30))

    assert (request.agreement, request.due_at) == (None, None)
    assert told(rep) == told(marketer) == []


def test_unanswered_request_warns_breaches_and_escalates_once_per_step(
    agreement, rep, manager, marketer, colleague
):
    request = ask(rep)

    check_at(WARN - dt.timedelta(minutes=1))
    assert told(marketer) == told(colleague) == []

    check_at(WARN)
    assert told(marketer) == told(colleague) == [Kind.SLA_WARNING]
    assert told(rep) == told(manager) == []

    check_at(DUE - dt.timedelta(minutes=1))
    check_at(DUE)
    assert told(marketer) == told(colleague) == [Kind.SLA_BREACH, Kind.SLA_WARNING]
    assert told(rep) == [Kind.SLA_BREACH]
    assert told(manager) == []

    check_at(ESCALATE - dt.timedelta(minutes=1))
    check_at(ESCALATE)
    check_at(ESCALATE + dt.timedelta(days=7))
    # The escalation goes up the ladder: the marketing lead who signed the version in
    # force and the requester's sales manager (the manager signed the sales side too).
    assert told(marketer) == [Kind.SLA_BREACH, Kind.SLA_ESCALATION, Kind.SLA_WARNING]
    assert told(colleague) == [Kind.SLA_BREACH, Kind.SLA_WARNING]
    assert told(manager) == [Kind.SLA_ESCALATION]
    assert told(rep) == [Kind.SLA_BREACH]

    request.refresh_from_db()
    assert request.warned_at == WARN
    assert request.breached_at == DUE
    assert request.escalated_at == ESCALATE


def test_the_marketer_who_took_it_is_warned_alone(agreement, rep, marketer, colleague):
    request = ask(rep)
    requests.take(request, colleague)

    check_at(WARN)
    check_at(DUE)

    assert told(colleague) == [Kind.SLA_BREACH, Kind.SLA_WARNING]
    assert told(marketer) == []


def test_a_request_answered_in_time_is_never_breached(agreement, rep, manager, marketer):
    request = ask(rep)
    check_at(WARN)
    with time_machine.travel(DUE - dt.timedelta(minutes=5), tick=False):
        requests.answer(request, marketer, text="Use the hospital case study.")

    check_at(DUE)
    check_at(ESCALATE)

    request.refresh_from_db()
    assert request.answered_on_time is True
    assert (request.breached_at, request.escalated_at) == (None, None)
    assert told(marketer) == [Kind.SLA_WARNING]
    assert told(rep) == told(manager) == []


def test_a_late_answer_stops_the_escalation(agreement, rep, manager, marketer):
    request = ask(rep)
    check_at(DUE)
    with time_machine.travel(DUE + dt.timedelta(hours=1), tick=False):
        requests.answer(request, marketer, text="Here it is, sorry for the wait.")

    check_at(ESCALATE)

    request.refresh_from_db()
    assert request.answered_on_time is False
    assert request.escalated_at is None
    assert told(manager) == []


def test_the_check_summary_says_what_it_did_with_requests(agreement, rep, capsys):
    ask(rep)

    check_at(DUE, times=1)

    assert "1 content requests breached" in capsys.readouterr().out


def test_many_requests_at_once_reach_each_person_as_one_digest(agreement, rep, marketer):
    for n in range(5):
        ask(rep, text=f"Request {n}")

    check_at(DUE)

    (note,) = Notification.objects.filter(user=marketer, kind=Kind.SLA_BREACH)
    assert note.title == "5 content requests missed the agreed time"
    assert len(note.items) == 5
    (late,) = Notification.objects.filter(user=rep, kind=Kind.SLA_BREACH)
    assert late.title == "5 of your content requests are late"


def test_an_idle_check_costs_one_query_for_requests(agreement, rep, django_assert_num_queries):
    ask(rep)
    context = CheckContext(now=ASKED + dt.timedelta(hours=1), rules=RuleBook({}))
    with django_assert_num_queries(1):
        assert check_content_requests(context) == {}


def test_requests_of_a_rep_in_another_team_escalate_to_their_manager(
    agreement, other_rep, manager, marketer
):
    ask(other_rep)

    check_at(ESCALATE)

    west = other_rep.rep_profile.team.manager
    assert told(west) == [Kind.SLA_ESCALATION]
    assert told(manager) == []


def test_run_check_with_an_explicit_instant_covers_requests(agreement, rep, marketer):
    ask(rep)

    result = run_check(DUE)

    assert result.as_dict()["content_requests_breached"] == 1


def test_a_request_made_before_the_agreement_changes_keeps_its_promise(
    agreement, rep, marketer, manager, ops
):
    request = ask(rep)
    with time_machine.travel(ASKED + dt.timedelta(hours=1), tick=False):
        newer = signed_and_active(
            AgreementFactory(content_request_days=10), marketer, manager, by=ops
        )
    later = ask(rep, "A data sheet", at=ASKED + dt.timedelta(hours=2))

    check_at(DUE)

    request.refresh_from_db()
    later.refresh_from_db()
    assert (request.agreement, request.due_at, request.breached_at) == (agreement, DUE, DUE)
    assert later.agreement == newer and later.due_at > DUE + dt.timedelta(days=7)
    assert later.breached_at is None
    assert told(rep) == [Kind.SLA_BREACH]


def test_marketing_reads_the_due_time_in_the_agreements_zone_from_the_first_notice(
    agreement, rep, marketer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ask(rep)
    check_at(DUE)

    (new,) = Notification.objects.filter(user=marketer, kind=Kind.CONTENT_REQUEST)
    (breach,) = Notification.objects.filter(user=marketer, kind=Kind.SLA_BREACH)
    assert "due Thu 12 Mar 10:00 (CET)" in new.body
    assert "due Thu 12 Mar 10:00 (CET)" in breach.body
