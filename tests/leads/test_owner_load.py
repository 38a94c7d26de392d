"""OwnerLoad: each owner's (and the desk's) open, breached, untouched and due figures, kept
by database triggers.

Every test compares the counters with a recount of the leads themselves, so a write path
the triggers miss (or a change to the open stages) shows up as a difference.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import Count, Q
from django.utils import timezone

from agreements.stages import Stage
from leads import services
from leads.models import Lead, OwnerLoad
from leads.queries import QUEUE_STAGES
from tests.factories import LeadFactory, RepFactory

FIGURES = ("open_leads", "breached", "untouched", "due")
TOUCHED = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def _later() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=1)


def counters() -> dict[int, tuple[int, ...]]:
    """The trigger-kept figures by owner id (0: the desk), leaving out those with nothing open."""
    rows = OwnerLoad.objects.values_list("owner_id", *FIGURES)
    return {row[0]: tuple(row[1:]) for row in rows if any(row[1:])}


def recount() -> dict[int, tuple[int, ...]]:
    """The same figures counted from the leads (what the team page used to run)."""
    rows = (
        Lead.objects.filter(stage__in=QUEUE_STAGES)
        .values("owner_id")
        .annotate(
            open_leads=Count("pk"),
            breached=Count("pk", filter=Q(sla_status="breached")),
            untouched=Count("pk", filter=Q(first_touch_at__isnull=True) & ~Q(stage=Stage.NURTURE)),
            due=Count("pk", filter=Q(sla_status="pending")),
        )
    )
    return {row["owner_id"] or OwnerLoad.DESK: tuple(row[f] for f in FIGURES) for row in rows}


@pytest.mark.django_db
class TestCountersFollowEveryWrite:
    @pytest.mark.parametrize("owned", [True, False], ids=["rep", "desk"])
    def test_a_lead_in_each_stage_and_sla_status(self, rep, owned):
        owner = rep if owned else None
        for stage in Stage:
            for sla_status in Lead.SLAStatus:
                LeadFactory(owner=owner, stage=stage, sla_status=sla_status)
                LeadFactory(owner=owner, stage=stage, sla_status=sla_status, first_touch_at=TOUCHED)

        assert counters() == recount()
        open_count = 2 * len(Lead.SLAStatus) * len(QUEUE_STAGES)
        assert counters()[rep.pk if owned else OwnerLoad.DESK][0] == open_count

    def test_first_touch_takes_the_lead_out_of_untouched(self, rep):
        lead = LeadFactory(owner=rep, stage=Stage.MQL, sla_status="pending", sla_due_at=_later())
        assert counters() == {rep.pk: (1, 0, 1, 1)}

        services.log_touch(lead, by=rep, kind="call")

        assert counters() == recount() == {rep.pk: (1, 0, 0, 0)}

    def test_transitions_move_a_lead_out_of_the_open_figures(self, rep, marketer):
        lead = LeadFactory(owner=rep, stage=Stage.MQL, sla_status="breached")

        services.run_transition(lead, "disqualify", by=marketer, reason="Duplicate")

        assert counters() == recount() == {}

    def test_reassignment_moves_the_share_between_reps(self, manager, rep, team):
        teammate = RepFactory(username="rep-two", team=team)
        moved = LeadFactory(owner=rep, stage=Stage.MQL, sla_status="breached")
        LeadFactory(owner=rep, stage=Stage.WORKING, first_touch_at=TOUCHED)

        services.reassign([moved], teammate, by=manager, reason="Rebalancing")

        assert counters() == recount()
        assert counters() == {rep.pk: (1, 0, 0, 0), teammate.pk: (1, 1, 1, 0)}

    def test_back_to_the_desk_and_out_again(self, manager, rep):
        lead = LeadFactory(owner=rep, stage=Stage.MQL)

        services.reassign([lead], None, by=manager)
        assert counters() == recount() == {OwnerLoad.DESK: (1, 0, 1, 0)}
        services.reassign([lead], rep, by=manager)

        assert counters() == recount() == {rep.pk: (1, 0, 1, 0)}

    def test_bulk_updates_and_creates_count_too(self, rep, other_rep):
        leads = LeadFactory.create_batch(4, owner=rep, stage=Stage.MQL, sla_status="pending")
        Lead.objects.bulk_create(
            [Lead(email=f"bulk{i}@example.com", owner=other_rep, stage=Stage.FAN) for i in range(3)]
        )

        Lead.objects.filter(pk__in=[lead.pk for lead in leads[:3]]).update(sla_status="breached")
        Lead.objects.filter(pk=leads[3].pk).update(owner=other_rep, first_touch_at=timezone.now())

        assert counters() == recount()
        assert counters() == {rep.pk: (3, 3, 3, 0), other_rep.pk: (4, 0, 3, 1)}

    def test_deleting_leads_takes_them_off(self, rep):
        keep = LeadFactory(owner=rep, stage=Stage.NURTURE)
        LeadFactory.create_batch(2, owner=rep, stage=Stage.MQL, sla_status="breached")

        Lead.objects.exclude(pk=keep.pk).delete()

        assert counters() == recount() == {rep.pk: (1, 0, 0, 0)}


def _in_threads(work: list) -> list[BaseException]:
    """Run each callable in its own thread and connection, all starting together."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(work))

    def run(job) -> None:
        try:
            start.wait()
            job()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_writes_to_one_reps_leads_keep_the_counts_exact(manager, rep, team):
    teammate = RepFactory(username="rep-two", team=team)
    touched = LeadFactory.create_batch(
        6, owner=rep, stage=Stage.MQL, sla_status="pending", sla_due_at=_later()
    )
    moved = LeadFactory.create_batch(6, owner=rep, stage=Stage.MQL, sla_status="breached")
    breached = LeadFactory.create_batch(6, owner=teammate, stage=Stage.MQL, sla_status="pending")

    def touch(lead: Lead):
        return lambda: services.log_touch(Lead.objects.get(pk=lead.pk), by=rep, kind="call")

    def move(lead: Lead):
        return lambda: services.reassign([lead], teammate, by=manager)

    def breach(lead: Lead):
        return lambda: Lead.objects.filter(pk=lead.pk).update(sla_status="breached")

    work = [
        job
        for trio in zip(touched, moved, breached, strict=True)
        for job in (touch(trio[0]), move(trio[1]), breach(trio[2]))
    ]

    assert _in_threads(work) == []
    assert counters() == recount()
    assert counters() == {rep.pk: (6, 0, 0, 0), teammate.pk: (12, 12, 12, 0)}
