"""Escalating breaches: once a rule's escalation delay has passed with no first touch,
tell the manager, or move the lead to the lead desk or to the team's next rep.

Escalating records what was done on the breach; `notify_escalations` then tells
everyone concerned, in one digest per person for all the escalations of a run."""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from agreements.models import ResponseRule
from agreements.stages import CLOCK_STOPPING_STAGES
from leads.clock import RuleClock, awaits_first_touch, first_touch_since_start
from leads.models import Lead, LeadError, RepProfile
from leads.routing import next_rep
from leads.services import reassign
from notifications.services import notify

from .context import CheckContext
from .messages import escalation_messages
from .models import Breach

log = logging.getLogger(__name__)

ESCALATION_BATCH = 100

Escalation = ResponseRule.Escalation


def escalate_breaches(context: CheckContext) -> int:
    """Escalate each unresolved breach whose escalation time has come, exactly once."""
    escalated = 0
    while True:
        with transaction.atomic():
            batch = list(
                Breach.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    escalated_at__isnull=True,
                    resolved_at__isnull=True,
                    escalate_at__isnull=False,
                    escalate_at__lte=context.now,
                )
                .order_by("escalate_at")[:ESCALATION_BATCH]
            )
            if not batch:
                return escalated
            leads = {
                lead.pk: lead
                for lead in Lead.objects.select_for_update(of=("self",))
                .filter(pk__in=[b.lead_id for b in batch])
                .order_by("pk")
            }
            for breach in batch:
                escalated += _escalate(breach, leads[breach.lead_id], context)


def _escalate(breach: Breach, lead: Lead, context: CheckContext) -> int:
    now = context.now
    if lead.sla_due_at == breach.due_at and not awaits_first_touch(lead):
        # Touched on this clock (not merely once before, on an earlier clock).
        breach.resolved_at = first_touch_since_start(lead) or lead.last_touch_at
        breach.save(update_fields=["resolved_at"])
        return 0
    if (
        lead.stage in CLOCK_STOPPING_STAGES
        or lead.sla_status != Lead.SLAStatus.BREACHED
        or lead.sla_due_at != breach.due_at
    ):
        breach.escalated_at = breach.escalation_notified_at = now  # nobody to tell
        breach.escalation = Breach.Escalation.SKIPPED
        breach.save(update_fields=["escalated_at", "escalation", "escalation_notified_at"])
        return 0
    clock = context.rules.get(breach.rule_id)
    action = clock.rule.escalate_action if clock is not None else Escalation.NOTIFY_MANAGER
    owner = lead.owner_id
    new_owner: int | None = None
    result = Breach.Escalation.NOTIFY_MANAGER

    if action in (Escalation.LEAD_DESK, Escalation.NEXT_REP) and owner is not None:
        new_owner = _next_rep(owner, now) if action == Escalation.NEXT_REP else None
        result = (
            Breach.Escalation.NEXT_REP if new_owner is not None else Breach.Escalation.LEAD_DESK
        )
        try:
            _move(lead, new_owner, breach, clock, at=now)
        except LeadError:
            log.exception("SLA escalation could not move lead %s", lead.pk)
            new_owner, result = None, Breach.Escalation.NOTIFY_MANAGER
    breach.escalated_at = now
    breach.escalation = result
    breach.escalated_to_id = new_owner
    breach.escalated_from_id = owner
    breach.save(update_fields=["escalated_at", "escalation", "escalated_to", "escalated_from"])
    return 1


def notify_escalations(context: CheckContext) -> int:
    """Tell everyone concerned about every escalation not told yet, in one digest per person.

    Run after escalate_breaches: an escalation is recorded in its batch's transaction and
    told here in one transaction with every other of the run (or of a run that died
    before telling), so a flood reaches each person once. Returns the breaches told.
    """
    with transaction.atomic():
        rows = list(
            Breach.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(escalated_at__isnull=False, escalation_notified_at__isnull=True)
            .order_by("escalated_at", "pk")
            .values(
                "pk",
                "lead_id",
                "due_at",
                "rule_id",
                "escalation",
                "escalated_from_id",
                "escalated_to_id",
                first_name=F("lead__first_name"),
                last_name=F("lead__last_name"),
                email=F("lead__email"),
            )
        )
        if not rows:
            return 0
        notify(escalation_messages(rows, context), at=context.now)
        Breach.objects.filter(pk__in=[row["pk"] for row in rows]).update(
            escalation_notified_at=context.now
        )
    return len(rows)


def _move(
    lead: Lead,
    new_owner: int | None,
    breach: Breach,
    clock: RuleClock | None,
    *,
    at: dt.datetime,
) -> None:
    """Reassign through the leads service, as the system, at the check's time (the
    breach's escalated_at), recording why."""
    target = get_user_model().objects.get(pk=new_owner) if new_owner is not None else None
    rule = clock.rule if clock is not None else None
    reassign(
        [lead],
        target,
        by=None,
        rule="SLA escalation",
        reason=(
            f"No first sales touch by {breach.due_at:%Y-%m-%d %H:%M} UTC"
            + (f" ({rule})" if rule is not None else "")
            + "; the agreement escalates by moving the lead."
        ),
        at=at,
    )


def _next_rep(owner_id: int, now: dt.datetime) -> int | None:
    """The owner's team's next available rep by the routing round robin, never the owner."""
    profile = RepProfile.objects.filter(user_id=owner_id).select_related("team").first()
    if profile is None:
        return None
    return next_rep(profile.team, exclude_user_id=owner_id, at=now)
