"""Write operations on leads. Each runs in one transaction and raises LeadError on refusal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_fsm import can_proceed

from agreements import roles
from agreements.models import StageDefinition
from agreements.stages import Stage

from . import clock, ledger, notices
from .models import (
    JUNK_REASON,
    Activity,
    Assignment,
    Deal,
    DealChange,
    Feedback,
    Lead,
    LeadError,
    LeadEvent,
    RepProfile,
    StageChange,
    StaleLead,
    sales_may,
)

Kind = LeadEvent.Kind

# Stages a lead reaches once sales accepted it: such a lead is never junk.
SALES_ACCEPTED_STAGES = (Stage.SQL, Stage.OPPORTUNITY)

# The transitions a person may ask for by name (from a page, the admin or an API).
TRANSITIONS = (
    "mark_fan",
    "qualify_information",
    "hand_raise",
    "start_working",
    "start_prospecting",
    "accept",
    "open_opportunity",
    "win",
    "disqualify",
    "nurture",
    "reopen",
)


def transition_label(name: str) -> str:
    method = getattr(Lead, name)
    for t in method._django_fsm.transitions.values():
        return t.custom.get("label", name)
    return name


def available_transitions(lead: Lead, user: Any) -> list[tuple[str, str]]:
    """(name, label) of each transition this user may run on this lead now."""
    return [
        (t.name, t.custom.get("label", t.name))
        for t in lead.get_available_user_stage_transitions(user)
    ]


def _lock_current(lead: Lead) -> Lead:
    """Reload the lead as it is now, under a row lock."""
    # of=("self",): Postgres refuses FOR UPDATE on the nullable side of the channel join.
    return Lead.objects.select_for_update(of=("self",)).select_related("channel").get(pk=lead.pk)


def _lock(lead: Lead, expected_version: int | None) -> Lead:
    """Reload the lead under a row lock and refuse if the caller's copy is stale."""
    locked = _lock_current(lead)
    version = lead.version if expected_version is None else expected_version
    if locked.version != version:
        raise StaleLead()
    return locked


def _write(lead: Lead) -> None:
    """Write every field of a locked lead, only if nobody changed it since it was read."""
    read_at = lead.version
    lead.version = read_at + 1
    lead.updated_at = timezone.now()
    values = {
        field.attname: getattr(lead, field.attname)
        for field in Lead._meta.concrete_fields
        if not field.primary_key
    }
    if not Lead.objects.filter(pk=lead.pk, version=read_at).update(**values):
        lead.version = read_at
        raise StaleLead()
    lead.facts_written()
    lead.person_written()


@dataclass
class Move:
    """What one transition decided, written once the lead itself is saved: its stage
    change, its ledger events and what it does to the lead's deals."""

    change: StageChange
    events: list[LeadEvent]
    deal_change: DealChange | None


def _transition(
    lead: Lead, name: str, *, by: Any, at: dt.datetime, rules: clock.Rules, **arguments: Any
) -> Move:
    """Move a locked lead through one transition in memory: its stage, its clock, its history."""
    source = lead.stage
    deal_change = getattr(lead, name)(by=by, **arguments)
    lead.stage_entered_at = at
    events = [
        ledger.event(
            lead,
            Kind.STAGE_ENTERED,
            at,
            stage=lead.stage,
            from_stage=source,
            owner_id=lead.owner_id,
            actor=by,
            reason=lead.disqualify_reason if name == "disqualify" else "",
        ),
        *clock.enter_stage(lead, at, rules),
    ]
    change = StageChange(
        lead=lead,
        from_stage=source,
        to_stage=lead.stage,
        transition=name,
        by=by if getattr(by, "is_authenticated", False) else None,
        at=at,
        note=str(arguments.get("note") or arguments.get("reason") or "").strip(),
        agreement=rules.agreement,
        stage_definition_version=StageDefinition.version_in_force(lead.stage),
    )
    return Move(change, events, deal_change)


def _record(lead: Lead, move: Move, by: Any) -> None:
    """Write what a transition decided, after the lead itself was written."""
    move.change.save()
    at = move.change.at
    events = move.events
    deal_change = move.deal_change
    if deal_change is not None and deal_change.close_as is not None:
        closing = list(lead.deals.filter(status=Deal.Status.OPEN))
        lead.deals.filter(pk__in=[d.pk for d in closing]).update(
            status=deal_change.close_as, closed_at=at
        )
        kind = Kind.DEAL_WON if deal_change.close_as == Deal.Status.WON else Kind.DEAL_LOST
        events += [
            ledger.event(lead, kind, at, deal=d, amount=d.amount, owner_id=lead.owner_id, actor=by)
            for d in closing
        ]
    if deal_change is not None and deal_change.open_amount is not None:
        deal = Deal.objects.create(
            lead=lead,
            account_id=lead.account_id,
            amount=deal_change.open_amount,
            opened_by=by if getattr(by, "is_authenticated", False) else None,
            opened_at=at,
        )
        events.append(
            ledger.event(
                lead,
                Kind.DEAL_OPENED,
                at,
                deal=deal,
                amount=deal.amount,
                owner_id=lead.owner_id,
                actor=by,
            )
        )
    ledger.append(events)


def run_transition(
    lead: Lead,
    name: str,
    *,
    by: Any,
    expected_version: int | None = None,
    at: dt.datetime | None = None,
    **arguments: Any,
) -> Lead:
    """Run one lifecycle transition for a user (by=None: the system), then save it.

    Refuses with LeadError when the stage does not allow it, the user may not run
    it, a required argument is missing, or the lead changed since it was loaded.
    `at` is when it happened (now unless a replay, such as the demo data, says so).
    """
    if name not in TRANSITIONS:
        raise LeadError(f"“{name}” is not a lifecycle action.")
    reason = str(arguments.get("reason") or "").strip().casefold()
    if name == "disqualify" and reason == JUNK_REASON.casefold():
        raise LeadError(
            f"“{JUNK_REASON}” is an action of its own: use the Junk / spam button (it asks "
            "for no feedback and stays out of marketing's figures)."
        )
    return _run_transition(lead, name, by=by, expected_version=expected_version, at=at, **arguments)


def may_run(lead: Lead, name: str, user: Any) -> bool:
    """Whether the user's role may run the transition `name` on the lead from its stage.
    Its conditions (a channel that allows cold prospecting) are not the role's business:
    django-fsm's has_transition_perm checks them too, which made a refused condition look
    like a missing permission."""
    return any(
        t.name == name and t.source in (lead.stage, "*", "+") and t.has_perm(lead, user)
        for t in lead.get_all_stage_transitions()
    )


def _run_transition(
    lead: Lead,
    name: str,
    *,
    by: Any,
    expected_version: int | None,
    at: dt.datetime | None,
    **arguments: Any,
) -> Lead:
    with transaction.atomic():
        locked = _lock(lead, expected_version)
        method = getattr(locked, name)
        label = transition_label(name)
        if not can_proceed(method, check_conditions=False):
            raise LeadError(
                f"A lead in stage {locked.get_stage_display()} cannot be moved by “{label}”."
            )
        if not can_proceed(method):
            raise LeadError(
                f"“{label}” is not allowed for this lead: its channel does not allow "
                "cold prospecting."
            )
        if by is not None and not may_run(locked, name, by):
            raise LeadError(f"You are not allowed to run “{label}” on this lead.")
        move = _transition(
            locked, name, by=by, at=at or timezone.now(), rules=clock.Rules.in_force(), **arguments
        )
        _write(locked)
        _record(locked, move, by)
    _refresh(lead, locked)
    return locked


def _refresh(target: Lead, source: Lead) -> None:
    """Refresh the caller's copy so it can keep being used after a service call."""
    if target is not source:
        target.refresh_from_db()


def log_touch(
    lead: Lead,
    *,
    by: Any,
    kind: str,
    subject: str = "",
    body: str = "",
    at: dt.datetime | None = None,
) -> Activity:
    """Append a touch or a note by a user to the lead as it is now.

    A touch never conflicts with what changed since the user loaded the lead (a
    colleague's stage move or touch, the SLA check): it is appended to the fresh lead
    under its row lock. A sales touch (not a note) by the lead's sales side stamps the
    first and last touch, settles the clock and moves an MQL (or a nurtured lead) to
    Working. A sales touch on a closed lead is refused; a note is kept on any lead.
    """
    if kind not in Activity.LOGGED_KINDS:
        raise LeadError("Choose what kind of touch this was (call, email, meeting, …).")
    at = at or timezone.now()
    sales = Lead.objects.filter(pk=lead.pk).visible_to(by).exists() and roles.has_role(
        by, roles.SALES_REP, roles.SALES_MANAGER
    )
    marketing = roles.is_marketing(by)
    if not sales and not marketing:
        raise LeadError("You are not allowed to log touches on this lead.")
    is_note = kind == Activity.Kind.NOTE
    with transaction.atomic():
        # What counts as a touch: the agreement in force when it is logged (running clocks
        # move onto a new version's rules when it is activated).
        rules = clock.Rules.in_force()
        locked = _lock_current(lead)
        if sales and not is_note and not locked.is_open:
            raise LeadError(
                f"This lead is closed ({locked.get_stage_display()}): "
                "sales touches can no longer be logged on it."
            )
        if sales and not sales_may(locked, by):
            raise LeadError("Only the lead's rep or their manager can log a sales touch.")
        activity = Activity.objects.create(
            lead=locked,
            side=Activity.Side.SALES if sales else Activity.Side.MARKETING,
            kind=kind,
            actor=by,
            occurred_at=at,
            subject=subject[:200],
            body=body,
            is_touch=sales and rules.counts_as_touch(kind),
        )
        if activity.is_touch:
            _record_sales_touch(locked, activity, by, rules)
    _refresh(lead, locked)
    return activity


def logged_message(activity: Activity, label: str, extra: str = "") -> str:
    """What the page says after logging: "Call logged" and `extra` (" with 2 content
    items") — and, for a touch the agreement in force does not count, that the clock
    keeps running."""
    said = f"{label} logged{extra}"
    uncounted = not activity.is_touch and activity.kind != Activity.Kind.NOTE
    if activity.side == Activity.Side.SALES and uncounted:
        return (
            f"{said}. It does not count as a sales touch under the agreement in force "
            "(ops choose what counts): the SLA clock and the touch goal are unchanged."
        )
    return f"{said}."


def _record_sales_touch(lead: Lead, touch: Activity, by: Any, rules: clock.Rules) -> None:
    """Stamp a sales touch on a locked lead: its clock, its ledger and, for an MQL or a
    nurtured lead, the move to Working."""
    events = clock.record_sales_touch(lead, touch, rules)
    moved = None
    if lead.stage in (Stage.MQL, Stage.NURTURE):
        moved = _transition(
            lead,
            "start_working",
            by=by,
            at=touch.occurred_at,
            rules=rules,
            note="First sales touch",
        )
    _write(lead)
    ledger.append(events)
    if moved is not None:
        _record(lead, moved, by)


def disqualify_with_feedback(
    lead: Lead,
    *,
    by: Any,
    reason: str,
    fit: str = "",
    feedback_reason: str = "",
    text: str = "",
    expected_version: int | None = None,
    at: dt.datetime | None = None,
) -> Lead:
    """Disqualify a lead; marketing-sourced leads also need structured feedback to marketing."""
    marketing_sourced = lead.channel is not None and lead.channel.is_marketing_sourced
    if marketing_sourced and not (fit and feedback_reason):
        raise LeadError(
            "This lead came from marketing: say how well it fit and pick a reason, "
            "so marketing can learn from it."
        )
    with transaction.atomic():
        locked = run_transition(
            lead, "disqualify", by=by, reason=reason, expected_version=expected_version, at=at
        )
        if fit or feedback_reason or text:
            feedback = Feedback.objects.create(
                lead=locked,
                author=by,
                fit=fit,
                reason=feedback_reason,
                text=text,
                created_at=at or timezone.now(),
            )
            ledger.append(
                [
                    ledger.event(
                        locked,
                        Kind.FEEDBACK,
                        feedback.created_at,
                        owner_id=locked.owner_id,
                        actor=by,
                        reason=feedback_reason,
                    )
                ]
            )
    return locked


def mark_junk(
    lead: Lead, *, by: Any, expected_version: int | None = None, at: dt.datetime | None = None
) -> Lead:
    """Disqualify a bot sign-up or test entry as junk / spam: no feedback is asked, and
    marketing's feedback coverage and acceptance leave it out. A lead sales accepted
    (Sales Qualified or later) is a real lead, not junk."""
    if lead.stage in SALES_ACCEPTED_STAGES:
        raise LeadError(
            f"A {lead.get_stage_display()} lead was accepted by sales: it is not junk. "
            "Disqualify it with a reason instead."
        )
    return _run_transition(
        lead, "disqualify", by=by, reason=JUNK_REASON, expected_version=expected_version, at=at
    )


# --- Workspaces: who owns a lead, and the feedback thread --------------------


def _may_assign(by: Any, to_user: Any | None) -> None:
    """Managers assign within their own teams; the system (by=None) and superusers anywhere."""
    if by is None or by.is_superuser:
        return
    if not roles.has_role(by, roles.SALES_MANAGER):
        raise LeadError("Only a sales manager can assign leads.")
    if (
        to_user is not None
        and not RepProfile.objects.filter(user=to_user, team__manager=by).exists()
    ):
        raise LeadError("You can assign leads only to reps of your own teams.")


def reassign(
    leads: Iterable[Lead],
    to_user: Any | None,
    *,
    by: Any,
    reason: str = "",
    rule: str = "",
    at: dt.datetime | None = None,
) -> list[Assignment]:
    """Give open leads a new owner (None: back to the lead desk), recording each move.

    Writes one Assignment (with the new owner's open load at that moment) and one
    assignment Activity per lead that changes hands; leads already owned by
    `to_user` are left alone. `by=None` is the system (routing, SLA escalation).
    """
    wanted = [lead.pk for lead in leads]
    if not wanted:
        raise LeadError("Choose at least one lead.")
    if to_user is not None and not RepProfile.objects.filter(user=to_user).exists():
        raise LeadError(f"{to_user} is not a sales rep.")
    _may_assign(by, to_user)
    reason = (reason or "").strip()
    now = at or timezone.now()
    done: list[Assignment] = []
    with transaction.atomic():
        locked = list(Lead.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
        if len(locked) != len(set(wanted)):
            raise LeadError("Some of these leads no longer exist.")
        if by is not None and not by.is_superuser:
            visible = set(
                Lead.objects.filter(pk__in=wanted).visible_to(by).values_list("pk", flat=True)
            )
            if visible != set(wanted):
                raise LeadError("Some of these leads are not in your teams.")
        closed = [lead for lead in locked if not lead.is_open]
        if closed:
            raise LeadError(f"{closed[0]} is {closed[0].get_stage_display()}: it has no queue.")
        load = Lead.objects.filter(owner=to_user).open().count() if to_user is not None else None
        target = roles.display_name(to_user) if to_user is not None else "the lead desk"
        for lead in locked:
            if lead.owner_id == (to_user.pk if to_user is not None else None):
                continue
            from_owner_id = lead.owner_id
            lead.owner = to_user
            lead.assigned_at = now if to_user is not None else None
            lead.save()
            done.append(
                Assignment.objects.create(
                    lead=lead,
                    from_owner_id=from_owner_id,
                    to_owner=to_user,
                    by=by,
                    at=now,
                    rule=rule[:200],
                    reason=reason,
                    open_load=load,
                )
            )
            ledger.append(
                [ledger.event(lead, Kind.ASSIGNED, now, owner=to_user, actor=by, reason=rule[:200])]
            )
            Activity.objects.create(
                lead=lead,
                side=Activity.Side.SYSTEM,
                kind=Activity.Kind.ASSIGNMENT,
                actor=by,
                occurred_at=now,
                subject=f"Assigned to {target}"[:200],
                body=reason,
            )
            if load is not None:
                load += 1
        notices.tell_reassigned(done, by=by)
    return done


def assign(
    lead: Lead,
    to_user: Any | None,
    *,
    by: Any,
    reason: str = "",
    rule: str = "",
    at: dt.datetime | None = None,
) -> Assignment | None:
    """Give one lead an owner; None when it already had that owner."""
    done = reassign([lead], to_user, by=by, reason=reason, rule=rule, at=at)
    if done:
        lead.owner = to_user
    return done[0] if done else None


def reply_to_feedback(
    feedback: Feedback, *, by: Any, text: str, at: dt.datetime | None = None
) -> Feedback:
    """Answer a piece of feedback in its thread (marketing to sales, or back); `at` is
    when (now unless a replay says so)."""
    text = (text or "").strip()
    if not text:
        raise LeadError("Write something to reply.")
    lead = feedback.lead
    if not (roles.is_marketing(by) or _sales_may_reply(lead, by)):
        raise LeadError("You are not allowed to reply on this lead.")
    root = feedback.reply_to or feedback
    with transaction.atomic():
        reply = Feedback.objects.create(
            lead=lead, author=by, reply_to=root, text=text, created_at=at or timezone.now()
        )
        notices.tell_feedback_reply(reply)
        return reply


def _sales_may_reply(lead: Lead, user: Any) -> bool:
    return sales_may(lead, user)
