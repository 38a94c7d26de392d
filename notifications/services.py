"""Writing notifications and sending their emails.

`notify` stores one row per event and recipient; the unique event key makes a
second attempt (a re-run, a second worker) a no-op. Emails go out afterwards,
outside the writing transaction, from `deliver_pending_emails`: a worker holds a
batch of rows for a lease, marks each sent once the mail server accepted it, and
records a failure for a retry with backoff. Nothing is lost while the server is
down, and a worker that dies mid-send leaves its rows to the next run. The SLA
check calls it every run, so a notification written anywhere is emailed within a
minute.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from smtplib import SMTPRecipientsRefused
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from config.db import insert_ignoring_conflicts

from .models import Notification

log = logging.getLogger(__name__)

EMAIL_BATCH = 200
# A failed email is tried again after 1, 2, 4, … minutes, then hourly; after this many
# attempts (about three days) it is given up, and the admin can send it again.
EMAIL_FIRST_RETRY = dt.timedelta(minutes=1)
EMAIL_LAST_RETRY = dt.timedelta(hours=1)
EMAIL_MAX_ATTEMPTS = 80
EMAIL_TIMEOUT_SECONDS = 30
NO_ADDRESS = "The user has no email address or is inactive."


# More leads than this at once reach a person as one digest listing each of them (the SLA
# engine's breaches, warnings and escalations; a manager's reassignments).
DIGEST_AFTER = 3


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
    # A digest lists its leads here, each {"name", "url", "detail"}; the page and the email
    # show every one with its name as a link.
    items: tuple[dict[str, str], ...] = ()


def notify(messages: Iterable[Message], *, at: dt.datetime | None = None) -> None:
    """Store each message unless a notification for its event key already exists."""
    at = at or timezone.now()
    insert_ignoring_conflicts(
        Notification,
        ("user_id", "kind", "lead_id", "event_key", "title", "body", "url", "items", "created_at"),
        (
            (
                m.user_id,
                m.kind,
                m.lead_id,
                m.event_key[:200],
                m.title[:200],
                m.body,
                m.url[:300],
                json.dumps(list(m.items)),
                at,
            )
            for m in messages
        ),
        conflict=("event_key",),
    )


def deliver_pending_emails(*, now: dt.datetime | None = None, batch: int = EMAIL_BATCH) -> int:
    """Send every notification email that is due; returns how many the mail server accepted.

    Call it outside a transaction. Each batch is claimed for a lease and committed
    before sending, and each email is marked sent as soon as the server accepted it: a
    worker that dies mid-send leaves the rest to whoever runs next after the lease (only
    the one email in flight can go twice, under the same Message-ID). A failure is
    recorded on the row and retried with backoff; a server that is down ends the run.
    """
    sent = 0
    while True:
        at = now or timezone.now()
        found, claimed = _claim(at, batch)
        if not found:
            return sent
        accepted, server_down = _send(claimed, at)
        sent += accepted
        if server_down:
            return sent


def retry_delay(attempts: int) -> dt.timedelta:
    """How long an email waits after its n-th failed attempt: doubling from a minute, at
    most an hour."""
    return min(EMAIL_FIRST_RETRY * 2 ** max(attempts - 1, 0), EMAIL_LAST_RETRY)


def _claim(at: dt.datetime, batch: int) -> tuple[int, list[Notification]]:
    """Hold up to `batch` due emails for one lease; returns how many were due and the held ones.

    A row whose user has no address or is inactive is closed (no next try), not held.
    """
    lease = dt.timedelta(seconds=settings.NOTIFICATION_EMAIL_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(email_next_try_at__lte=at)
            .select_related("user")
            .order_by("email_next_try_at", "id")[:batch]
        )
        claimed = [n for n in due if n.user.email and n.user.is_active]
        unreachable = {n.pk for n in due} - {n.pk for n in claimed}
        if unreachable:
            Notification.objects.filter(pk__in=unreachable).update(
                email_next_try_at=None, email_error=NO_ADDRESS
            )
        if claimed:
            Notification.objects.filter(pk__in=[n.pk for n in claimed]).update(
                email_next_try_at=at + lease, email_attempts=F("email_attempts") + 1
            )
    for notification in claimed:
        notification.email_attempts += 1
    return len(due), claimed


def _send(claimed: list[Notification], at: dt.datetime) -> tuple[int, bool]:
    """Send the held emails one by one; returns how many were accepted and whether the
    server failed (then this email and the rest of the batch wait for their retry)."""
    if not claimed:
        return 0, False
    # A mail server that accepts the connection and then hangs must not hold the SLA check:
    # Django's SMTP backend waits forever unless EMAIL_TIMEOUT says otherwise.
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT or EMAIL_TIMEOUT_SECONDS)
    sent = done = 0
    try:
        connection.open()
        while done < len(claimed):
            sent += _send_one(connection, claimed[done], at)
            done += 1
    # Whatever the backend raises (SMTP, network, a provider's API) is recorded on the rows
    # and retried; it must not stop the SLA check that called us.
    except Exception as error:
        log.warning("Sending notification emails failed, will retry: %s", error)
        _failed(claimed[done:], at, error)
        return sent, True
    finally:
        _close(connection)
    return sent, False


def _send_one(connection: BaseEmailBackend, notification: Notification, at: dt.datetime) -> int:
    """Send one email and record the outcome; 1 if the server accepted it."""
    try:
        accepted = connection.send_messages([_email(notification)])
    except SMTPRecipientsRefused as error:  # this address only: the others go on
        _failed([notification], at, error)
        return 0
    if not accepted:
        _failed([notification], at, "The mail backend did not accept the email.")
        return 0
    Notification.objects.filter(pk=notification.pk).update(
        emailed_at=timezone.now(), email_next_try_at=None, email_error=""
    )
    return 1


def _failed(notifications: list[Notification], at: dt.datetime, error: object) -> None:
    """Record a failed attempt: retry after the backoff, or give up after the last attempt."""
    by_attempts: dict[int, list[int]] = defaultdict(list)
    for notification in notifications:
        by_attempts[notification.email_attempts].append(notification.pk)
    reason = (str(error) or type(error).__name__)[:1000]
    for attempts, pks in by_attempts.items():
        if attempts >= EMAIL_MAX_ATTEMPTS:
            update = {
                "email_next_try_at": None,
                "email_error": f"Gave up after {attempts} attempts: {reason}",
            }
        else:
            update = {"email_next_try_at": at + retry_delay(attempts), "email_error": reason}
        Notification.objects.filter(pk__in=pks, emailed_at__isnull=True).update(**update)


def _close(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken connection: nothing left to lose
        log.debug("Closing the mail connection failed", exc_info=True)


def _email(notification: Notification) -> EmailMessage:
    """The notification as an email: plain text, and HTML too when it lists leads as links."""
    lines = [notification.body] if notification.body else []
    if notification.items:
        lines.append("\n".join(_item_line(item) for item in notification.items))
    if notification.url:
        # Through the notification, which says so when its lead is no longer the reader's.
        lines.append(f"Open it: {_absolute(_opening(notification))}")
    lines.append(
        f"\nAll your notifications: {_absolute('/notifications/')}\n"
        "You receive this because Accord tracks the marketing–sales agreement for you."
    )
    email = EmailMultiAlternatives(
        subject=f"[Accord] {notification.title}",
        body="\n\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.user.email],
        # The same id on every attempt: a copy sent again after a crash is recognisably the same.
        headers={"Message-ID": f"<notification.{notification.pk}@{_mail_domain()}>"},
    )
    if notification.items:
        email.attach_alternative(_html(notification), "text/html")
    return email


def _item_line(item: dict[str, str]) -> str:
    detail = f" ({item['detail']})" if item.get("detail") else ""
    return f"- {item['name']}{detail}: {_absolute(item['url'])}"


def _html(notification: Notification) -> str:
    """The email's HTML part: the body, then each listed lead's name as a link."""
    items = format_html_join(
        "\n",
        '<li><a href="{}">{}</a>{}</li>',
        (
            (
                _absolute(item["url"]),
                item["name"],
                format_html(" ({})", item["detail"]) if item.get("detail") else "",
            )
            for item in notification.items
        ),
    )
    return format_html(
        '<p>{}</p>\n<ul>\n{}\n</ul>\n<p><a href="{}">Open it in Accord</a> · '
        '<a href="{}">All your notifications</a></p>',
        linebreaksbr(notification.body),
        items,
        _absolute(_opening(notification)),
        _absolute("/notifications/"),
    )


def _mail_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "accord.localhost"


def _opening(notification: Notification) -> str:
    """Where an email's "Open it" goes: through the notification (marked read, and told
    when its lead is no longer the reader's); none to open: the list."""
    if not notification.url:
        return "/notifications/"
    return reverse("notifications:open", args=[notification.pk])


def _absolute(path: str) -> str:
    base = settings.SITE_URL.rstrip("/")
    return f"{base}{path}" if path.startswith("/") else path


def retry_emails(notifications: QuerySet[Notification]) -> int:
    """Send these notifications' unsent emails again from now, with a fresh count of attempts
    (for ops, after a failure that was given up or an address that was fixed)."""
    return notifications.filter(emailed_at__isnull=True).update(
        email_next_try_at=timezone.now(), email_attempts=0, email_error=""
    )


def mark_read(user: Any, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications read (all of them when no ids are given)."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())
