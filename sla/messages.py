"""The SLA engine's words: what owners, managers and the lead desk are told, and when.

Every notification of a breach, a warning or an escalation is built here, with
its event key (one clock of one lead, one recipient), so nobody is told twice.
Many at once reach each person as one digest (DIGEST_AFTER).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services import DIGEST_AFTER, Message

from .context import CheckContext, managers_of
from .models import Breach

Kind = Notification.Kind


# A person told about many leads at once (clocks running out together after an outage,
# a holiday, a big import) gets them one by one up to this many, and beyond it one
# digest listing them all, each name a link: breaches per transaction of the check,
# warnings and escalations per run.
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
    head, tail = _lead_url_parts()
    return f"{head}{lead_id}{tail}"


@functools.cache
def _lead_url_parts() -> tuple[str, str]:
    """The lead page's URL resolved once, around its id (reverse() per row showed in the
    bench)."""
    head, tail = reverse("leads:detail", args=[int(_URL_SENTINEL)]).split(_URL_SENTINEL)
    return head, tail


def clock_key(lead_id: int, due_at: dt.datetime) -> str:
    """Names one clock of one lead: a lead gets a new clock each time it enters an SLA stage."""
    return f"{lead_id}:{int(due_at.timestamp())}"


def when(moment: dt.datetime, context: CheckContext, rule_id: int | None) -> str:
    """`moment` in the rule's calendar zone, as people read it (worded once per run)."""
    key = (moment, rule_id)
    if key not in context.worded:
        clock = context.rules.get(rule_id)
        zone = clock.spec.zone if clock is not None and clock.spec is not None else None
        local = timezone.localtime(moment, zone)
        context.worded[key] = f"{local:%a %d %b %H:%M} ({local.tzname()})"
    return context.worded[key]


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
        if len(missed_by_owner) > DIGEST_AFTER:
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


def lead_item(lead_id: int, name: str, detail: str) -> dict[str, str]:
    """One lead's line in a digest: its name, linking to its page, and what about it."""
    return {"name": name, "url": lead_url(lead_id), "detail": detail}


def _due_items(
    rows: list[dict[str, Any]],
    context: CheckContext,
    prefix: Callable[[dict[str, Any]], str] | None = None,
) -> tuple[dict[str, str], ...]:
    """Every lead of a breach digest, with its due time."""
    return tuple(
        lead_item(
            row["pk"], lead_name(row), f"{prefix(row) if prefix else ''}due {_due(row, context)}"
        )
        for row in rows
    )


def _desk_messages(rows: list[dict[str, Any]], context: CheckContext) -> list[Message]:
    """Nobody owned these leads: every sales manager answers for the lead desk."""
    if len(rows) > DIGEST_AFTER:
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
                "lead desk. Assign them to reps.",
                url=reverse("leads:desk"),
                items=_due_items(rows, context),
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
        "each breach is recorded against you as the owner at the due time.",
        url=reverse("leads:queue"),
        items=_due_items(missed, context),
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
    items = _due_items(
        [row for row, _ in missed],
        context,
        lambda row: f"{names.get(owner_of[row['pk']], 'A rep')}, ",
    )
    reps = ", ".join(f"{name}: {n}" for name, n in sorted(per_rep.items()))
    return Message(
        user_id=manager,
        kind=Kind.SLA_BREACH,
        event_key=f"sla-breach:{clock_key(first['pk'], first['sla_due_at'])}:digest:{manager}",
        title=f"{len(missed)} leads in your team missed their follow-up",
        body=f"No first sales touch by the due time ({reps}).",
        url=reverse("leads:team"),
        items=items,
    )


# --- Digests of warnings and escalations ------------------------------------------


@dataclass(frozen=True)
class Note:
    """One lead's news for one person: told alone, or as a line of their digest of its sort."""

    message: Message
    sort: str
    item: dict[str, str]
    order: tuple[dt.datetime, int]


@dataclass(frozen=True)
class DigestWords:
    """What a digest of one sort says: its kind, title ({n}: how many leads), body and page."""

    kind: str
    title: str
    body: str
    url_name: str


DIGESTS = {
    "warning-owner": DigestWords(
        Kind.SLA_WARNING,
        "Follow up soon: {n} of your leads",
        "Their first sales touch is due soon; they are at the top of your queue.",
        "leads:queue",
    ),
    "warning-desk": DigestWords(
        Kind.SLA_WARNING,
        "{n} unassigned leads due soon",
        "Their first sales touch is due soon and nobody owns them yet. Assign them to reps.",
        "leads:desk",
    ),
    "escalation-from": DigestWords(
        Kind.REASSIGNED,
        "{n} of your leads were moved by the SLA escalation",
        "They were not touched in time, so the agreement's escalation moved them.",
        "leads:queue",
    ),
    "escalation-to": DigestWords(
        Kind.REASSIGNED,
        "{n} new leads for you, already overdue",
        "The previous owners did not touch them in time. Please follow up now.",
        "leads:queue",
    ),
    "escalation": DigestWords(
        Kind.SLA_ESCALATION,
        "Escalation: {n} leads are still untouched",
        "Their first sales touch was due and has still not happened.",
        "leads:team",
    ),
    "escalation-desk": DigestWords(
        Kind.SLA_ESCALATION,
        "Escalation: {n} unassigned leads are still untouched",
        "Their first sales touch was due and has still not happened; nobody owns them.",
        "leads:desk",
    ),
}


def digested(notes: Iterable[Note], words: dict[str, DigestWords] = DIGESTS) -> list[Message]:
    """Each person's notes of one sort: up to DIGEST_AFTER one by one, more as one
    digest listing every lead (or every item: `words` gives another check its own sorts).

    The caller tells each note once (its record is marked told in the same transaction),
    so a digest's key, its earliest note's own key, names no other notification.
    """
    groups: dict[tuple[int, str], list[Note]] = defaultdict(list)
    for note in notes:
        groups[(note.message.user_id, note.sort)].append(note)
    messages = []
    for (user_id, sort), group in groups.items():
        if len(group) <= DIGEST_AFTER:
            messages += [note.message for note in group]
            continue
        group.sort(key=lambda note: note.order)
        said = words[sort]
        messages.append(
            Message(
                user_id=user_id,
                kind=said.kind,
                event_key=f"{group[0].message.event_key}:digest",
                title=said.title.format(n=len(group)),
                body=said.body,
                url=reverse(said.url_name),
                items=tuple(note.item for note in group),
            )
        )
    return messages


# --- Escalations ----------------------------------------------------------------

ESCALATION_DONE = {
    Breach.Escalation.NOTIFY_MANAGER: "still untouched",
    Breach.Escalation.LEAD_DESK: "moved to the lead desk",
    Breach.Escalation.NEXT_REP: "reassigned to {new_owner}",
}


def escalation_messages(rows: list[dict[str, Any]], context: CheckContext) -> list[Message]:
    """Tell the old and new owners of moved leads, the managers (or the lead desk) and the
    rules' extra recipients about escalated breaches, many at once as digests.

    Each row is one escalated breach: pk, lead_id, due_at, rule_id, escalation (what it
    did), escalated_from_id (the owner then), escalated_to_id (the next rep) and the
    lead's first_name, last_name and email.
    """
    owners = [row["escalated_from_id"] for row in rows]
    managers = managers_of(owners)
    names = user_names([*owners, *(row["escalated_to_id"] for row in rows)])
    notes = [
        note
        for row in rows
        if row["escalation"] in ESCALATION_DONE
        for note in _escalation_notes(row, context, managers, names)
    ]
    return digested(notes)


def _escalation_notes(
    row: dict[str, Any],
    context: CheckContext,
    managers: dict[int, int | None],
    names: dict[int, str],
) -> list[Note]:
    lead_id, result = row["lead_id"], row["escalation"]
    owner, new_owner = row["escalated_from_id"], row["escalated_to_id"]
    manager = managers.get(owner) if owner is not None else None
    name = lead_name(row)
    key = f"sla-escalation:{clock_key(lead_id, row['due_at'])}"
    due = when(row["due_at"], context, row["rule_id"])
    new_owner_name = names.get(new_owner, "the next rep") if new_owner else "the lead desk"
    done = ESCALATION_DONE[result].format(new_owner=new_owner_name)

    def note(user_id: int, sort: str, suffix: str, kind: str, title: str, body: str) -> Note:
        message = Message(
            user_id=user_id,
            kind=kind,
            event_key=f"{key}:{suffix}",
            title=title,
            body=body,
            lead_id=lead_id,
            url=lead_url(lead_id),
        )
        item = lead_item(lead_id, name, f"due {due}; {done}")
        return Note(message, sort, item, (row["due_at"], lead_id))

    notes: list[Note] = []
    if result != Breach.Escalation.NOTIFY_MANAGER and owner is not None:
        notes.append(
            note(
                owner,
                "escalation-from",
                "from",
                Kind.REASSIGNED,
                f"{name} was moved to {new_owner_name}",
                f"Its first sales touch was due {due} and it was not touched in time, "
                "so the agreement's escalation moved it.",
            )
        )
        if new_owner is not None:
            notes.append(
                note(
                    new_owner,
                    "escalation-to",
                    "to",
                    Kind.REASSIGNED,
                    f"New lead for you, already overdue: {name}",
                    f"Its first sales touch was due {due}; the previous owner did not "
                    "touch it in time. Please follow up now.",
                )
            )
    title = {
        Breach.Escalation.NOTIFY_MANAGER: f"Escalation: {name} is still untouched",
        Breach.Escalation.LEAD_DESK: f"Escalation: {name} moved to the lead desk",
        Breach.Escalation.NEXT_REP: f"Escalation: {name} reassigned to the next rep",
    }[result]
    body = f"The first sales touch was due {due} and has still not happened."
    recipients = [manager] if manager is not None else []
    if owner is None or manager is None:
        # Nobody owned it, or its owner's team has no manager: the sales managers answer
        # for it, as for the lead desk (an escalation told to nobody is none).
        recipients = context.desk_managers()
    for user_id in recipients:
        if user_id == manager:
            notes.append(note(user_id, "escalation", "manager", Kind.SLA_ESCALATION, title, body))
        else:
            notes.append(
                note(
                    user_id, "escalation-desk", f"desk:{user_id}", Kind.SLA_ESCALATION, title, body
                )
            )
    clock = context.rules.get(row["rule_id"])
    also = clock.rule.escalate_to_id if clock is not None else None
    if also is not None and also not in recipients:
        notes.append(note(also, "escalation", "also", Kind.SLA_ESCALATION, title, body))
    return notes


# --- Warnings -------------------------------------------------------------------


def warning_messages(rows: list[dict[str, Any]], context: CheckContext) -> list[Message]:
    """Warn each owner (or, for unowned leads, the lead desk) that clocks are due soon; many
    at once reach each person as one digest.

    Each row is one warned clock: pk (the lead), first_name, last_name, email,
    sla_due_at, sla_rule_id and owner_id.
    """
    notes = []
    for row in rows:
        lead_id, lead = row["pk"], lead_name(row)
        key = f"sla-warning:{clock_key(lead_id, row['sla_due_at'])}"
        due = when(row["sla_due_at"], context, row["sla_rule_id"])
        common = {"kind": Kind.SLA_WARNING, "lead_id": lead_id, "url": lead_url(lead_id)}
        item = lead_item(lead_id, lead, f"due {due}")
        order = (row["sla_due_at"], lead_id)
        if row["owner_id"] is not None:
            message = Message(
                user_id=row["owner_id"],
                event_key=f"{key}:owner",
                title=f"Follow up soon: {lead}",
                body=f"The first sales touch is due {due}.",
                **common,
            )
            notes.append(Note(message, "warning-owner", item, order))
            continue
        for manager in context.desk_managers():
            message = Message(
                user_id=manager,
                event_key=f"{key}:desk:{manager}",
                title=f"Unassigned lead due soon: {lead}",
                body=f"The first sales touch is due {due} and nobody owns the lead yet.",
                **common,
            )
            notes.append(Note(message, "warning-desk", item, order))
    return digested(notes)
