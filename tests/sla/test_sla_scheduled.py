"""Daily work: untouched flags and nurture reminders."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from leads.models import Activity
from leads.services import assign, log_touch, run_transition
from leads.tasks import wake_nurtured_leads
from notifications.models import Notification
from sla.models import UntouchedFlag
from sla.untouched import flag_untouched_leads
from tests.agreements.factories import (
    AgreementFactory,
    signed_and_active,
)
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 6, 0, tzinfo=dt.UTC)


def assigned(rep, days_ago: float, **fields):
    """A Working lead given to `rep` `days_ago` days before NOW, as the routing does it (its
    tenure is on the ledger)."""
    lead = LeadFactory(stage=fields.pop("stage", "working"), **fields)
    assign(lead, rep, by=None, at=NOW - dt.timedelta(days=days_ago))
    lead.refresh_from_db()
    return lead


def touched(lead, by, days_ago: float) -> None:
    log_touch(lead, by=by, kind=Activity.Kind.CALL, at=NOW - dt.timedelta(days=days_ago))


def flags(lead) -> list[int]:
    return sorted(lead.untouched_flags.values_list("threshold_days", flat=True))


# --- Untouched flags ------------------------------------------------------------


def test_lead_untouched_past_each_threshold_gets_one_flag_per_threshold(rep):
    lead = assigned(rep, 61)

    flag_untouched_leads(NOW)
    flag_untouched_leads(NOW)

    assert flags(lead) == [30, 60]
    flag = lead.untouched_flags.get(threshold_days=60)
    assert (flag.owner, flag.assigned_at) == (rep, lead.assigned_at)


def test_lead_touched_since_assignment_is_not_flagged(rep):
    lead = assigned(rep, 95)
    touched(lead, rep, 80)

    flag_untouched_leads(NOW)

    assert flags(lead) == []


def test_touch_before_a_reassignment_does_not_count(rep, other_rep):
    lead = assigned(other_rep, 50)
    touched(lead, other_rep, 40)
    assign(lead, rep, by=None, at=NOW - dt.timedelta(days=31))

    flag_untouched_leads(NOW)

    assert flags(lead) == [30]
    assert lead.untouched_flags.get().owner == rep


def test_only_the_holders_touch_ends_an_untouched_tenure(rep, manager):
    """As the sales report counts it ("no sales touch of theirs"): the manager's call on
    the rep's lead does not make the rep's tenure touched. It did before: the flags read
    the lead's last touch by anyone."""
    lead = assigned(rep, 31)
    touched(lead, manager, 20)

    flag_untouched_leads(NOW)

    assert flags(lead) == [30]


def test_the_flags_are_the_reports_untouched_tenures_still_held(rep, other_rep, manager):
    """One definition: the leads flagged at 30 days are the report's "Untouched after 30
    days" tenures that are still held and untouched, counted by hand: a lead held 31
    days untouched (a manager's call does not count), one held 45 days, one touched by
    its rep on day 2 (not counted), one held 10 days (not yet 30), one held 40 days by
    another rep then given to this one 5 days ago (the first tenure ended untouched
    after 35 days: the report counts it, nobody is told now, it is no longer held)."""
    from reports.figures.sales import untouched
    from reports.filters import ReportFilters

    counted = [assigned(rep, 31), assigned(rep, 45)]
    touched(counted[0], manager, 3)
    touched(assigned(rep, 40), rep, 38)
    assigned(rep, 10)
    moved = assigned(other_rep, 40)
    assign(moved, rep, by=None, at=NOW - dt.timedelta(days=5))

    flag_untouched_leads(NOW)

    f = ReportFilters(start_day=(NOW - dt.timedelta(days=60)).date(), end_day=NOW.date())
    figure = untouched(30)
    assert figure.total(f, NOW) == 3  # the two counted leads and the moved lead's first tenure
    still_held = figure.events(f, NOW).filter(held_until__isnull=True)
    assert set(still_held.values_list("lead", flat=True)) == {lead.pk for lead in counted}
    flagged = set(UntouchedFlag.objects.filter(threshold_days=30).values_list("lead", flat=True))
    assert flagged == {lead.pk for lead in counted}


def test_nurtured_closed_and_unowned_leads_are_not_flagged(rep):
    parked = run_transition(
        assigned(rep, 100),
        "nurture",
        by=rep,
        return_on=timezone.localdate() + dt.timedelta(days=30),
    )
    closed = run_transition(assigned(rep, 100), "disqualify", by=rep, reason="No budget")
    desk = LeadFactory(stage="working", assigned_at=NOW - dt.timedelta(days=100))

    flag_untouched_leads(NOW)

    assert not UntouchedFlag.objects.filter(lead__in=[parked, closed, desk]).exists()


def test_thresholds_come_from_the_active_agreement(rep, marketer, manager, ops):
    draft = AgreementFactory(untouched_days_1=7, untouched_days_2=14, untouched_days_3=21)
    signed_and_active(draft, marketer, manager, by=ops)
    lead = assigned(rep, 15)

    flag_untouched_leads(NOW)

    assert flags(lead) == [7, 14]


def test_owner_and_manager_get_one_digest_per_threshold_and_day(rep, manager):
    for _ in range(3):
        assigned(rep, 35)

    flag_untouched_leads(NOW)
    flag_untouched_leads(NOW + dt.timedelta(hours=1))

    (mine,) = Notification.objects.filter(user=rep, kind=Notification.Kind.UNTOUCHED)
    assert mine.title == "3 of your leads had no sales touch of yours for 30 days"
    (theirs,) = Notification.objects.filter(user=manager, kind=Notification.Kind.UNTOUCHED)
    assert "rep: 3" in theirs.body
    assert len(mine.items) == len(theirs.items) == 3


def test_untouched_digest_lists_every_lead_as_a_link(rep, manager):
    leads = sorted((assigned(rep, 35) for _ in range(4)), key=lambda lead: lead.pk)

    flag_untouched_leads(NOW)

    (mine,) = Notification.objects.filter(user=rep, kind=Notification.Kind.UNTOUCHED)
    assert [(item["name"], item["url"]) for item in mine.items] == [
        (str(lead), lead.get_absolute_url()) for lead in leads
    ]


def test_flags_recorded_by_a_run_that_died_before_telling_are_told_once(rep, manager):
    lead = assigned(rep, 35)
    # A run that recorded the flag and died before its telling step.
    UntouchedFlag.objects.create(
        lead=lead, threshold_days=30, assigned_at=lead.assigned_at, owner=rep, flagged_at=NOW
    )

    flag_untouched_leads(NOW + dt.timedelta(days=1))
    flag_untouched_leads(NOW + dt.timedelta(days=1, hours=1))

    (mine,) = Notification.objects.filter(user=rep, kind=Notification.Kind.UNTOUCHED)
    assert mine.title == "1 of your leads had no sales touch of yours for 30 days"
    assert not UntouchedFlag.objects.filter(notified_at__isnull=True).exists()


# --- Nurture reminder --------------------------------------------------------------


def test_nurture_wake_up_reminds_the_owner_once(rep, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False)
    lead = LeadFactory(
        stage="nurture",
        owner=rep,
        nurture_until=dt.date(2026, 3, 10),
        stage_entered_at=timezone.now() - dt.timedelta(days=30),
    )

    wake_nurtured_leads()
    wake_nurtured_leads()

    (reminder,) = Notification.objects.filter(user=rep)
    assert reminder.kind == Notification.Kind.NURTURE_WAKEUP
    assert reminder.lead == lead
    assert lead.activities.filter(kind=Activity.Kind.NURTURE_RETURN).count() == 1


def test_flag_untouched_digest_ignores_other_reps(rep):
    other = RepFactory(username="someone")
    assigned(other, 31)

    flag_untouched_leads(NOW)

    assert not Notification.objects.filter(user=rep).exists()


def test_ops_can_read_the_sla_records_in_the_admin(client, ops):
    client.force_login(ops)

    for path in ("/admin/sla/breach/", "/admin/sla/untouchedflag/", "/admin/sla/pacingsnapshot/"):
        assert client.get(path).status_code == 200
    assert client.get("/admin/sla/breach/add/").status_code == 403
