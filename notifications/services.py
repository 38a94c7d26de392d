"""Writing notifications and sending their emails.

`notify` stores one row per event and recipient; the unique event key makes a
second attempt (a re-run, a second worker) a no-op. Emails go out afterwards,
outside the writing transaction, from `deliver_pending_emails`: each row is
claimed (emailed_at set and committed) before its email is sent, so no event is
ever emailed twice. The SLA check calls it every run, so a notification written
anywhere is emailed within a minute.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from config.db import insert_ignoring_conflicts

from .models import Notification

log = logging.getLogger(__name__)

EMAIL_BATCH = 200


@dataclass(frozen=True)
class Message:
    """One notification to write: who, what kind, which event, and the words."""

    user_id: int
    kind: str
    event_key: str
    title: str
    body: str = ""
    lead_id: int | None = None
    url: str = ""


def notify(messages: Iterable[Message], *, at: dt.datetime | None = None) -> None:
    """Store each message unless a notification for its event key already exists."""
    at = at or timezone.now()
    insert_ignoring_conflicts(
        Notification,
        ("user_id", "kind", "lead_id", "event_key", "title", "body", "url", "created_at"),
        (
            (
                m.user_id,
                m.kind,
                m.lead_id,
                m.event_key[:200],
                m.title[:200],
                m.body,
                m.url[:300],
                at,
            )
            for m in messages
        ),
        conflict=("event_key",),
    )


def deliver_pending_emails(*, batch: int = EMAIL_BATCH) -> int:
    """Email every notification not emailed yet, each at most once; returns how many went out.

    Call it outside a transaction: rows are claimed and committed before sending.
    Users without an email address are claimed and skipped.
    """
    sent = 0
    while True:
        with transaction.atomic():
            claimed = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True)
                .select_related("user")
                .order_by("id")[:batch]
            )
            if not claimed:
                return sent
            Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(
                emailed_at=timezone.now()
            )
        emails = [_email(n) for n in claimed if n.user.email and n.user.is_active]
        if emails:
            try:
                sent += get_connection().send_messages(emails) or 0
            except Exception:  # a mail server outage must not stop the SLA check
                log.exception("Sending %d notification emails failed", len(emails))


def _email(notification: Notification) -> EmailMessage:
    lines = [notification.body] if notification.body else []
    if notification.url:
        lines.append(f"Open it: {_absolute(notification.url)}")
    lines.append(
        f"\nAll your notifications: {_absolute('/notifications/')}\n"
        "You receive this because Accord tracks the marketing–sales agreement for you."
    )
    return EmailMessage(
        subject=f"[Accord] {notification.title}",
        body="\n\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.user.email],
    )


def _absolute(path: str) -> str:
    base = settings.SITE_URL.rstrip("/")
    return f"{base}{path}" if path.startswith("/") else path


def mark_read(user: Any, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when no ids are given)."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
