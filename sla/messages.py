"""The SLA engine's words: what owners, managers and the lead desk are told, and when.

Every notification of a breach, a warning or an escalation is built here, with
its event key (one clock of one lead, one recipient), so nobody is told twice.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from notifications.models import Notification
from notifications.services import Message

from .context import CheckContext
from .models import Breach

Kind = Notification.Kind

DIGEST_LINES = 25
# A rep whose clocks run out together (after an outage, a holiday, a big import) gets
# them one by one up to this many, and beyond it one notification listing them all;
# so do the sales managers for leads that ran out on the lead desk.
OWNER_DIGEST_AFTER = 3


def user_names(user_ids: Iterable[int | None]) -> dict[int, str]:
    """Each user's full name (or username), as the messages call them."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return {}
    users = get_user_model().objects.filter(pk__in=ids).only("username", "first_name", "last_name")
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def lead_name(row: dict[str, Any]) -> str:
    """A lead row's name in a message: its full name, else its email."""
    return f"{row['first_name']} {row['last_name']}".strip() or row["email"]


_URL_SENTINEL = "987654321"


def lead_url(lead_id: int) -> str:
    """The lead page's URL, without a reverse() per lead."""
    return _lead_url_pattern().replace(_URL_SENTINEL, str(lead_id))


@functools.cache
def _lead_url_pattern() -> str:
    """The lead page's URL resolved once (reverse() per row showed in the bench)."""
    return reverse("leads:detail", args=[int(_URL_SENTINEL)])


def clock_key(lead_id: int, due_at: dt.datetime) -> str:
    """Names one clock of one lead: a lead gets a new clock each time it enters an SLA stage."""
    return f"{lead_id}:{int(due_at.timestamp())}"


def when(moment: dt.datetime, context: CheckContext, rule_id: int | None) -> str:
    """`moment` in the rule's calendar zone, as people read it."""
    clock = context.rules.get(rule_id)
    zone = clock.spec.zone if clock is not None and clock.spec is not None else None
    local = timezone.localtime(moment, zone)
    return f"{local:%a %d %b %H:%M} ({local.tzname()})"


def _due(row: dict[str, Any], context: CheckContext) -> str:
    return when(row["sla_due_at"], context, row["sla_rule_id"])


# --- Breaches -------------------------------------------------------------------


def breach_messages(
    rows: list[dict[str, Any]],
    owners: dict[int, int | None],
    managers: dict[int, int | None],
    context: CheckContext,
) -> list[Message]:
    """Tell each owner, their manager or the lead desk about the clocks that just ran out."""
    names = user_names([*owners.values(), *managers.values()])
    messages = []
    for_managers: dict[int, list[tuple[dict[str, Any], int]]] = defaultdict(list)
    for_owners: dict[int, list[dict[str, Any]]] = defaultdict(list)
    on_desk: list[dict[str, Any]] = []
    for row in rows:
        owner = owners[row["pk"]]
        if owner is None:
            on_desk.append(row)
            continue
        for_owners[owner].append(row)
        manager = managers.get(owner)
        if manager is not None and manager != owner:
            for_managers[manager].append((row, owner))
    messages += _desk_messages(on_desk, context)
    for owner, missed_by_owner in for_owners.items():
        if len(missed_by_owner) > OWNER_DIGEST_AFTER:
            messages.append(_owner_digest(owner, missed_by_owner, context))
            continue
        for row in missed_by_owner:
            messages.append(
                _breach_note(
                    owner,
                    row,
                    "owner",
                    f"Follow-up time missed: {lead_name(row)}",
                    f"The first sales touch was due {_due(row, context)}. Touch the lead now; "
                    "the breach is recorded against you as its owner at the due time.",
                )
            )
    for manager, missed in for_managers.items():
        if len(missed) == 1:
            row, owner = missed[0]
            messages.append(
                _breach_note(
                    manager,
                    row,
                    "manager",
                    f"{names.get(owner, 'A rep')} missed the follow-up on {lead_name(row)}",
                    f"The first sales touch was due {_due(row, context)}.",
                )
            )
        else:
            messages.append(_manager_digest(manager, missed, names, context))
    return messages


def _digest_lines(
    rows: list[dict[str, Any]],
    context: CheckContext,
    prefix: Callable[[dict[str, Any]], str] | None = None,
) -> list[str]:
    """The first DIGEST_LINES leads of a digest, one per line, and how many more."""
    lines = [
        f"{prefix(row) if prefix else ''}{lead_name(row)}, due {_due(row, context)}"
        for row in rows[:DIGEST_LINES]
    ]
    if len(rows) > DIGEST_LINES:
        lines.append(f"… and {len(rows) - DIGEST_LINES} more.")
    return lines


def _desk_messages(rows: list[dict[str, Any]], context: CheckContext) -> list[Message]:
    """Nobody owned these leads: every sales manager answers for the lead desk."""
    if len(rows) > OWNER_DIGEST_AFTER:
        rows = sorted(rows, key=lambda row: (row["sla_due_at"], row["pk"]))
        first = rows[0]
        key = f"sla-breach:{clock_key(first['pk'], first['sla_due_at'])}:desk-digest"
        return [
            Message(
                user_id=manager,
                kind=Kind.SLA_BREACH,
                event_key=f"{key}:{manager}",
                title=f"{len(rows)} unassigned leads missed their follow-up",
                body="No first sales touch by the due time and the leads are still on the "
                "lead desk. Assign them to reps:\n" + "\n".join(_digest_lines(rows, context)),
                url=reverse("leads:desk"),
            )
            for manager in context.desk_managers()
        ]
    return [
        _breach_note(
            manager,
            row,
            f"desk:{manager}",
            f"Unassigned lead missed its follow-up: {lead_name(row)}",
            f"The first sales touch was due {_due(row, context)} and the lead is still on "
            "the lead desk. Assign it to a rep.",
        )
        for row in rows
        for manager in context.desk_managers()
    ]


def _breach_note(
    user_id: int, row: dict[str, Any], recipient: str, title: str, body: str
) -> Message:
    """One person told about one lead's breach; `recipient` makes the event key theirs."""
    lead_id = row["pk"]
    return Message(
        user_id=user_id,
        kind=Kind.SLA_BREACH,
        lead_id=lead_id,
        url=lead_url(lead_id),
        event_key=f"sla-breach:{clock_key(lead_id, row['sla_due_at'])}:{recipient}",
        title=title,
        body=body,
    )


def _owner_digest(owner: int, missed: list[dict[str, Any]], context: CheckContext) -> Message:
    """One notification telling a rep that several of their leads missed the follow-up.

    Like the manager's digest: each clock is in the digest of the transaction that
    recorded its breach, and the key names the digest by its earliest clock.
    """
    missed = sorted(missed, key=lambda row: (row["sla_due_at"], row["pk"]))
    first = missed[0]
    return Message(
        user_id=owner,
        kind=Kind.SLA_BREACH,
        event_key=f"sla-breach:{clock_key(first['pk'], first['sla_due_at'])}:owner-digest",
        title=f"{len(missed)} of your leads missed their follow-up",
        body="No first sales touch by the due time; they are at the top of your queue, and "
        "each breach is recorded against you as the owner at the due time:\n"
        + "\n".join(_digest_lines(missed, context)),
        url=reverse("leads:queue"),
    )


def _manager_digest(
    manager: int,
    missed: list[tuple[dict[str, Any], int]],
    names: dict[int, str],
    context: CheckContext,
) -> Message:
    """One notification telling a manager about several of their reps' breaches at once.

    A check that finds many clocks run out together (after an outage, a holiday, a big
    import) would otherwise send the manager one email per lead. Each clock is in the
    digest of the transaction that recorded its breach, and only there; the key names
    the digest by its earliest clock, which no other digest can contain.
    """
    missed = sorted(missed, key=lambda item: (item[0]["sla_due_at"], item[0]["pk"]))
    first = missed[0][0]
    per_rep: dict[str, int] = defaultdict(int)
    for _, owner in missed:
        per_rep[names.get(owner, "A rep")] += 1
    owner_of = {row["pk"]: owner for row, owner in missed}
    lines = _digest_lines(
        [row for row, _ in missed],
        context,
        lambda row: f"{names.get(owner_of[row['pk']], 'A rep')}: ",
    )
    reps = ", ".join(f"{name}: {n}" for name, n in sorted(per_rep.items()))
    return Message(
        user_id=manager,
        kind=Kind.SLA_BREACH,
        event_key=f"sla-breach:{clock_key(first['pk'], first['sla_due_at'])}:digest:{manager}",
        title=f"{len(missed)} leads in your team missed their follow-up",
        body=f"No first sales touch by the due time ({reps}):\n" + "\n".join(lines),
        url=reverse("leads:team"),
    )


# --- Escalations ----------------------------------------------------------------


def escalation_messages(
    lead: Lead,
    breach: Breach,
    context: CheckContext,
    *,
    result: str,
    owner: int | None,
    manager: int | None,
    new_owner: int | None,
) -> list[Message]:
    """Tell the old and new owner of a moved lead, the manager (or the lead desk) and the
    rule's extra recipient that a breach escalated; `result` is what the escalation did."""
    name = lead.full_name or lead.email
    key = f"sla-escalation:{clock_key(lead.pk, breach.due_at)}"
    due = when(breach.due_at, context, breach.rule_id)
    common = {"lead_id": lead.pk, "url": lead_url(lead.pk)}
    messages: list[Message] = []
    if result != Breach.Escalation.NOTIFY_MANAGER and owner is not None:
        target = "the lead desk" if new_owner is None else user_names([new_owner])[new_owner]
        messages.append(
            Message(
                user_id=owner,
                kind=Kind.REASSIGNED,
                event_key=f"{key}:from",
                title=f"{name} was moved to {target}",
                body=f"Its first sales touch was due {due} and it was not touched in time, "
                "so the agreement's escalation moved it.",
                **common,
            )
        )
        if new_owner is not None:
            messages.append(
                Message(
                    user_id=new_owner,
                    kind=Kind.REASSIGNED,
                    event_key=f"{key}:to",
                    title=f"New lead for you, already overdue: {name}",
                    body=f"Its first sales touch was due {due}; the previous owner did not "
                    "touch it in time. Please follow up now.",
                    **common,
                )
            )
    escalation_title = {
        Breach.Escalation.NOTIFY_MANAGER: f"Escalation: {name} is still untouched",
        Breach.Escalation.LEAD_DESK: f"Escalation: {name} moved to the lead desk",
        Breach.Escalation.NEXT_REP: f"Escalation: {name} reassigned to the next rep",
    }[result]
    escalation_body = f"The first sales touch was due {due} and has still not happened."
    recipients = [manager] if manager is not None else []
    if owner is None or (result == Breach.Escalation.LEAD_DESK and manager is None):
        recipients = context.desk_managers()
    for user_id in recipients:
        suffix = "manager" if user_id == manager else f"desk:{user_id}"
        messages.append(
            Message(
                user_id=user_id,
                kind=Kind.SLA_ESCALATION,
                event_key=f"{key}:{suffix}",
                title=escalation_title,
                body=escalation_body,
                **common,
            )
        )
    clock = context.rules.get(breach.rule_id)
    also = clock.rule.escalate_to_id if clock is not None else None
    if also is not None and also not in recipients:
        messages.append(
            Message(
                user_id=also,
                kind=Kind.SLA_ESCALATION,
                event_key=f"{key}:also",
                title=escalation_title,
                body=escalation_body,
                **common,
            )
        )
    return messages


# --- Warnings -------------------------------------------------------------------


def warning_messages(rows: list[dict[str, Any]], context: CheckContext) -> list[Message]:
    """Warn each owner (or, for unowned leads, the lead desk) that a clock is due soon."""
    messages = []
    for row in rows:
        lead_id, lead = row["pk"], lead_name(row)
        key = f"sla-warning:{clock_key(lead_id, row['sla_due_at'])}"
        due = when(row["sla_due_at"], context, row["sla_rule_id"])
        common = {"kind": Kind.SLA_WARNING, "lead_id": lead_id, "url": lead_url(lead_id)}
        if row["owner_id"] is not None:
            messages.append(
                Message(
                    user_id=row["owner_id"],
                    event_key=f"{key}:owner",
                    title=f"Follow up soon: {lead}",
                    body=f"The first sales touch is due {due}.",
                    **common,
                )
            )
            continue
        for manager in context.desk_managers():
            messages.append(
                Message(
                    user_id=manager,
                    event_key=f"{key}:desk:{manager}",
                    title=f"Unassigned lead due soon: {lead}",
                    body=f"The first sales touch is due {due} and nobody owns the lead yet.",
                    **common,
                )
            )
    return messages
