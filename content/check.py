"""Marketing's side of the SLA: content requests checked on the same clock and ladder as
sales' follow-up.

`check_content_requests` is registered into `sla.check` (see `ContentConfig.ready`), so
every SLA check run — the periodic task and `manage.py check_sla` — takes these steps
after the sales ones, in the same order:

1. a request unanswered at its due time is breached: the marketer who took it (or the
   whole marketing team, as the lead desk is for sales) and the requester are told;
2. one still unanswered at its escalation time escalates to the marketing lead who signed
   the version it runs on (else the marketing team) and to the requester's sales manager;
3. one past its warning share and not yet due warns the marketer who took it (or the team).

Each step stamps its request (`breached_at`, `escalated_at`, `warned_at`) in the
transaction that tells people, from rows locked with SKIP LOCKED, and every message is
keyed by request, step and recipient: a second run, a second worker or a re-run after a
crash finds the step done and tells nobody twice. Many at once reach each person as one
digest (`sla.messages.digested`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from agreements import roles
from notifications.models import Notification
from notifications.services import Message, notify
from sla.context import CheckContext, managers_of
from sla.messages import DigestWords, Note, digested, user_names

from .models import ContentRequest
from .requests import due_words, request_url, summary, users_in

BATCH = 500

Kind = Notification.Kind

DIGESTS = {
    "request-warning": DigestWords(
        Kind.SLA_WARNING,
        "Answer soon: {n} content requests",
        "Sales asked for them and the agreed time to answer is running out.",
        "content:requests",
    ),
    "request-breach": DigestWords(
        Kind.SLA_BREACH,
        "{n} content requests missed the agreed time",
        "Nobody answered them within the business days marketing promised.",
        "content:requests",
    ),
    "request-late": DigestWords(
        Kind.SLA_BREACH,
        "{n} of your content requests are late",
        "Marketing did not answer them within the business days the agreement promises.",
        "content:requests",
    ),
    "request-escalation": DigestWords(
        Kind.SLA_ESCALATION,
        "Escalation: {n} content requests are still unanswered",
        "Their agreed time has passed and they have still not been answered.",
        "content:requests",
    ),
}

OPEN = Q(answered_at__isnull=True, due_at__isnull=False)


def _breach_due(now: Any) -> Q:
    return OPEN & Q(breached_at__isnull=True, due_at__lte=now)


def _escalation_due(now: Any) -> Q:
    return OPEN & Q(escalated_at__isnull=True, escalate_at__lte=now)


def _warning_due(now: Any) -> Q:
    return OPEN & Q(
        warned_at__isnull=True, breached_at__isnull=True, warn_at__lte=now, due_at__gt=now
    )


def check_content_requests(context: CheckContext) -> dict[str, int]:
    """Breach, escalate and warn the content requests whose time has come; tell everyone
    concerned once. Returns what it did by name (for the check's summary)."""
    now = context.now
    pending = ContentRequest.objects.filter(
        _breach_due(now) | _escalation_due(now) | _warning_due(now)
    )
    if not pending.exists():  # the usual run: one query
        return {}
    return {
        "content_requests_breached": _step(context, _breach_due, "breached_at", _breach_notes),
        "content_requests_escalated": _step(
            context, _escalation_due, "escalated_at", _escalation_notes
        ),
        "content_requests_warned": _step(context, _warning_due, "warned_at", _warning_notes),
    }


NoteMaker = Callable[[list[ContentRequest], CheckContext], list[Note]]


def _step(context: CheckContext, due: Callable[[Any], Q], stamp: str, notes: NoteMaker) -> int:
    """One step over every request it is due for, a batch a transaction: stamp, then tell."""
    done = 0
    while True:
        with transaction.atomic():
            batch = list(_claim(due(context.now)))
            if not batch:
                return done
            ContentRequest.objects.filter(pk__in=[r.pk for r in batch]).update(
                **{stamp: context.now}
            )
            notify(digested(notes(batch, context), DIGESTS), at=context.now)
            done += len(batch)


def _claim(condition: Q) -> QuerySet[ContentRequest]:
    return (
        ContentRequest.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("agreement__calendar")
        .filter(condition)
        .order_by("due_at", "pk")[:BATCH]
    )


# --- Who is told what -------------------------------------------------------------------


def _note(
    request: ContentRequest, user_id: int, step: str, sort: str, title: str, body: str
) -> Note:
    words = DIGESTS[sort]
    url = request_url(request)
    message = Message(
        user_id=user_id,
        kind=words.kind,
        event_key=f"content-request:{request.pk}:{step}:{user_id}",
        title=title,
        body=body,
        url=url,
        lead_id=request.lead_id,
    )
    item = {"name": summary(request), "url": url, "detail": f"due {due_words(request)}"}
    return Note(message, sort, item, (request.due_at, request.pk))


def _holders(request: ContentRequest, marketing: list[int]) -> list[int]:
    """Who answers for a request: the marketer who took it, else the whole team."""
    return [request.assigned_to_id] if request.assigned_to_id else marketing


def _breach_notes(batch: list[ContentRequest], context: CheckContext) -> list[Note]:
    marketing = users_in(roles.MARKETING)
    notes = []
    for request in batch:
        due = due_words(request)
        for user_id in _holders(request, marketing):
            notes.append(
                _note(
                    request,
                    user_id,
                    "breach",
                    "request-breach",
                    f"Content request not answered in time: {summary(request)}",
                    f"The answer was due {due}. Answer it now; the breach is on marketing's "
                    "side of the agreement.",
                )
            )
        if request.requested_by_id is not None:
            notes.append(
                _note(
                    request,
                    request.requested_by_id,
                    "breach:requester",
                    "request-late",
                    f"Your content request is late: {summary(request)}",
                    f"Marketing's answer was due {due}; marketing and its lead have been told.",
                )
            )
    return notes


def _escalation_notes(batch: list[ContentRequest], context: CheckContext) -> list[Note]:
    marketing = users_in(roles.MARKETING)
    managers = managers_of(r.requested_by_id for r in batch)
    names = user_names(r.requested_by_id for r in batch)
    notes = []
    for request in batch:
        signer = request.agreement.marketing_signed_by_id if request.agreement else None
        recipients = [signer] if signer is not None else list(marketing)
        manager = managers.get(request.requested_by_id) if request.requested_by_id else None
        if manager is not None and manager not in recipients:
            recipients.append(manager)
        who = names.get(request.requested_by_id, "Sales")
        for user_id in recipients:
            notes.append(
                _note(
                    request,
                    user_id,
                    "escalation",
                    "request-escalation",
                    f"Escalation: content request still unanswered: {summary(request)}",
                    f"{who} asked for it; the answer was due {due_words(request)} and has "
                    "still not come.",
                )
            )
    return notes


def _warning_notes(batch: list[ContentRequest], context: CheckContext) -> list[Note]:
    marketing = users_in(roles.MARKETING)
    return [
        _note(
            request,
            user_id,
            "warning",
            "request-warning",
            f"Answer soon: {summary(request)}",
            f"The agreed answer to this content request is due {due_words(request)}.",
        )
        for request in batch
        for user_id in _holders(request, marketing)
    ]
