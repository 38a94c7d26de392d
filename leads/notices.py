"""What people are told when someone else changes their leads: a manager gives a rep leads
or takes them away, someone answers their feedback. Every lead named is a link; more than
DIGEST_AFTER leads at once come as one digest listing each of them.

The SLA engine's own moves (escalations) are told by sla.messages; these are a person's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from agreements import roles
from notifications.models import Notification
from notifications.services import DIGEST_AFTER, Message, notify

from .models import Assignment, Feedback

Kind = Notification.Kind


# Up to this many leads moved at once are told one by one; more make one digest.
def tell_reassigned(done: Iterable[Assignment], *, by: Any) -> None:
    """Tell each rep who got leads, and each who lost them, from a person's reassignment
    (not the person who did it; the system's moves are told elsewhere)."""
    done = list(done)
    if by is None or not done:
        return
    gained: dict[int, list[Assignment]] = defaultdict(list)
    lost: dict[int, list[Assignment]] = defaultdict(list)
    for assignment in done:
        if assignment.to_owner_id not in (None, by.pk):
            gained[assignment.to_owner_id].append(assignment)
        if assignment.from_owner_id not in (None, by.pk):
            lost[assignment.from_owner_id].append(assignment)
    who = roles.display_name(by)
    messages = []
    for user_id, moves in gained.items():
        messages += _told(user_id, moves, "to", f"{who} assigned {{what}} to you", "")
    for user_id, moves in lost.items():
        target = _target(moves[0])
        messages += _told(
            user_id,
            moves,
            "from",
            f"{who} moved {{what}} to {target}",
            "They are no longer in your queue.",
        )
    notify(messages, at=done[0].at)


def _target(assignment: Assignment) -> str:
    if assignment.to_owner is None:
        return "the lead desk"
    return roles.display_name(assignment.to_owner)


def _told(user_id: int, moves: list[Assignment], part: str, title: str, body: str) -> list[Message]:
    """One message per lead, or one digest listing every lead when there are many."""
    if len(moves) <= DIGEST_AFTER:
        return [
            Message(
                user_id=user_id,
                kind=Kind.REASSIGNED,
                event_key=f"assigned:{a.pk}:{part}",
                title=title.format(what=str(a.lead)),
                body=(body + (f" Reason: {a.reason}" if a.reason else "")).strip(),
                lead_id=a.lead_id,
                url=a.lead.get_absolute_url(),
            )
            for a in moves
        ]
    reason = moves[0].reason
    return [
        Message(
            user_id=user_id,
            kind=Kind.REASSIGNED,
            event_key=f"assigned:{moves[0].pk}:{part}:digest",
            title=title.format(what=f"{len(moves)} leads"),
            body=(body + (f" Reason: {reason}" if reason else "")).strip(),
            url=reverse("leads:queue"),
            items=tuple(
                {"name": str(a.lead), "url": a.lead.get_absolute_url(), "detail": ""} for a in moves
            ),
        )
    ]


def tell_feedback_reply(reply: Feedback) -> None:
    """Tell everyone who wrote in the thread, but the replier, that there is an answer."""
    root = reply.reply_to or reply
    writers = {root.author_id, *root.replies.values_list("author_id", flat=True)}
    writers -= {None, reply.author_id}
    who = roles.display_name(reply.author) if reply.author else "Someone"
    lead = reply.lead
    messages = [
        Message(
            user_id=user_id,
            kind=Kind.FEEDBACK_REPLY,
            event_key=f"feedback-reply:{reply.pk}:{user_id}",
            title=f"{who} replied to the feedback on {lead}",
            body=reply.text[:1000],
            lead_id=lead.pk,
            url=lead.get_absolute_url(),
        )
        for user_id in sorted(writers)
    ]
    notify(messages, at=reply.created_at)
