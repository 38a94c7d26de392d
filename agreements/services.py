"""Operations on the agreement: sign, activate, clone, and apply its rules to leads.

Each write runs in one transaction and raises `AgreementError` with a message fit
to show the user.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agreements import roles
from agreements.stages import Stage

from .calendar import CalendarSpec, add_duration
from .models import (
    Agreement,
    AgreementError,
    MarketingCommitment,
    ResponseRule,
    TouchGoal,
)

if TYPE_CHECKING:
    from leads.models import Lead

__all__ = [
    "AgreementError",
    "Deadlines",
    "activate",
    "apply_response_rule",
    "clone",
    "response_deadlines",
    "sign",
]

MARKETING_SIDE = "marketing"
SALES_SIDE = "sales"
SIDES = {
    MARKETING_SIDE: (roles.MARKETING, "a Marketing lead"),
    SALES_SIDE: (roles.SALES_MANAGER, "a Sales manager"),
}

# Stages where a running first-touch clock stops: nobody is expected to touch the
# lead there, so the clock ends as breached (if already overdue) or with no SLA.
CLOCK_STOPPING_STAGES = frozenset({Stage.NURTURE, Stage.DISQUALIFIED, Stage.CONVERTED})


def sign(agreement: Agreement, user: Any, side: str) -> Agreement:
    """Sign a draft for one side: marketing by a Marketing user, sales by a Sales manager."""
    if side not in SIDES:
        raise AgreementError("Sign either the marketing side or the sales side.")
    role, who = SIDES[side]
    if not getattr(user, "is_authenticated", False) or role not in roles.user_roles(user):
        raise AgreementError(f"The {side} side must be signed by {who}.")
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if not locked.is_draft:
            raise AgreementError(
                f"Version {locked.version} is {locked.get_status_display().lower()}; "
                "only a draft can be signed."
            )
        signed_by_id = getattr(locked, f"{side}_signed_by_id")
        if signed_by_id == user.pk:
            raise AgreementError(f"You have already signed version {locked.version}.")
        if signed_by_id is not None:
            raise AgreementError(f"The {side} side of version {locked.version} is already signed.")
        other = SALES_SIDE if side == MARKETING_SIDE else MARKETING_SIDE
        if getattr(locked, f"{other}_signed_by_id") == user.pk:
            raise AgreementError("One person cannot sign for both marketing and sales.")
        setattr(locked, f"{side}_signed_by", user)
        setattr(locked, f"{side}_signed_at", timezone.now())
        locked.save()
    agreement.refresh_from_db()
    return locked


def clear_signatures(agreement: Agreement) -> bool:
    """Drop both signatures of a draft whose terms changed; True if there were any."""
    if not agreement.is_draft or not (
        agreement.marketing_signed_by_id or agreement.sales_signed_by_id
    ):
        return False
    agreement.marketing_signed_by = agreement.sales_signed_by = None
    agreement.marketing_signed_at = agreement.sales_signed_at = None
    agreement.save()
    return True


def activate(agreement: Agreement, by: Any = None) -> Agreement:
    """Put a signed draft in force; the previous active version is superseded atomically."""
    if by is not None and not roles.has_role(by, roles.OPS):
        raise AgreementError("Only Ops can activate an agreement.")
    with transaction.atomic():
        locked = {
            a.pk: a
            for a in Agreement.objects.select_for_update()
            .filter(Q(pk=agreement.pk) | Q(status=Agreement.Status.ACTIVE))
            .order_by("version")
        }
        target = locked[agreement.pk]
        if not target.is_draft:
            raise AgreementError(
                f"Version {target.version} is {target.get_status_display().lower()}; "
                "only a signed draft can be activated."
            )
        missing = [
            side
            for side, (_role, who) in SIDES.items()
            if getattr(target, f"{side}_signed_by_id") is None
        ]
        if missing:
            names = " and ".join(SIDES[side][1] for side in missing)
            raise AgreementError(
                f"Version {target.version} cannot be activated until {names} "
                f"{'have' if len(missing) > 1 else 'has'} signed it."
            )
        if target.calendar_id is None and target.rules.filter(business_time=True).exists():
            raise AgreementError(
                f"Version {target.version} counts business time but has no business calendar."
            )
        now = timezone.now()
        for old in locked.values():
            if old.pk != target.pk:
                old.status = Agreement.Status.SUPERSEDED
                old.superseded_at = now
                old.save(update_fields=["status", "superseded_at"])
        target.status = Agreement.Status.ACTIVE
        target.effective_from = now
        target.activated_by = by if getattr(by, "is_authenticated", False) else None
        target.save(update_fields=["status", "effective_from", "activated_by"])
    agreement.refresh_from_db()
    return target


def clone(agreement: Agreement, by: Any = None) -> Agreement:
    """A new draft (next version number) with copies of the rules, goals and commitments."""
    skip = {"id", "version", *Agreement.LIFECYCLE_FIELDS}
    skip |= {f"{side}_signed_{part}" for side in SIDES for part in ("by", "at")}
    with transaction.atomic():
        source = Agreement.objects.select_for_update().get(pk=agreement.pk)
        values = {
            field.attname: getattr(source, field.attname)
            for field in Agreement._meta.concrete_fields
            if field.name not in skip
        }
        draft = Agreement.objects.create(
            **values, version=Agreement.next_version(), status=Agreement.Status.DRAFT
        )
        for model in (ResponseRule, TouchGoal, MarketingCommitment):
            for part in model.objects.filter(agreement=source):
                part.pk = None
                part.id = None
                part._state.adding = True
                part.agreement = draft
                part.save()
    return draft


@dataclass(frozen=True)
class Deadlines:
    """When a response clock started, when to warn, when it is due, when to escalate."""

    started_at: dt.datetime
    warn_at: dt.datetime
    due_at: dt.datetime
    escalate_at: dt.datetime | None


def response_deadlines(
    rule: ResponseRule, started_at: dt.datetime, spec: CalendarSpec | None
) -> Deadlines:
    """The instants a rule sets for a clock started at `started_at` (UTC, via calendar.py)."""
    business = rule.business_time
    due_after = rule.due_after(spec)
    warn_after = due_after * (rule.warn_at_percent or 100) / 100
    escalate_after = rule.escalate_after(spec)
    return Deadlines(
        started_at=started_at,
        warn_at=add_duration(started_at, warn_after, spec, business=business),
        due_at=add_duration(started_at, due_after, spec, business=business),
        escalate_at=(
            None
            if escalate_after is None
            else add_duration(started_at, escalate_after, spec, business=business)
        ),
    )


_CURRENT = object()


def apply_response_rule(
    lead: Lead, at: dt.datetime | None = None, *, agreement: Any = _CURRENT
) -> ResponseRule | None:
    """Start, keep or stop the lead's first-touch clock for the stage it is now in.

    Call it whenever a lead enters a stage (every transition does, through the
    post_transition handler in leads.models) and for a new lead created directly
    in a stage; it only sets fields in memory, the caller saves. `agreement`
    defaults to the active version; pass it when applying to many leads at once.

    - The lead's stage is covered by a rule of the agreement (a rule for its
      channel beats the any-channel rule): a new clock starts at `at` —
      `sla_due_at` from the rule and the business calendar, `sla_status`
      pending, and the rule and agreement version that set it. A later agreement
      never moves this clock: only entering a stage starts one.
    - Not covered, and a clock is running: it keeps running into Working and
      the other sales stages (the first touch still settles it there), and stops
      on nurture, disqualified or converted — breached if already overdue,
      otherwise "no SLA".
    - Not covered, and the last clock was met or breached: that outcome stays.
    - Not covered and no clock: "no SLA".
    """
    from leads.models import Lead

    at = at or timezone.now()
    if agreement is _CURRENT:
        agreement = Agreement.current()
    rule = agreement.rule_for(lead.stage, lead.channel_id) if agreement is not None else None
    if rule is not None:
        deadlines = response_deadlines(rule, at, _calendar_spec(agreement))
        lead.sla_due_at = deadlines.due_at
        lead.sla_status = Lead.SLAStatus.PENDING
        lead.sla_rule = rule
        lead.sla_agreement = agreement
        return rule
    if lead.sla_status == Lead.SLAStatus.PENDING:
        if lead.stage in CLOCK_STOPPING_STAGES:
            if lead.sla_due_at is not None and at > lead.sla_due_at:
                lead.sla_status = Lead.SLAStatus.BREACHED
            else:
                lead.sla_status = Lead.SLAStatus.NONE
                lead.sla_due_at = None
                lead.sla_rule = None
                lead.sla_agreement = None
        return None
    if lead.sla_status not in (Lead.SLAStatus.MET, Lead.SLAStatus.BREACHED):
        lead.sla_status = Lead.SLAStatus.NONE
    return None


def _calendar_spec(agreement: Agreement) -> CalendarSpec | None:
    """The agreement's calendar as calendar.py wants it, read once per agreement instance."""
    cache = agreement.__dict__.setdefault("_calendar_spec_cache", {})
    if "spec" not in cache:
        cache["spec"] = agreement.calendar_spec()
    return cache["spec"]
