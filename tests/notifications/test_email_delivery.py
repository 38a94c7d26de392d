"""Notification emails: marked sent only once the mail server accepted them, retried with
backoff while it is down, held by one worker at a time, never lost."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services import (
    EMAIL_MAX_ATTEMPTS,
    Message,
    deliver_pending_emails,
    notify,
    retry_delay,
    retry_emails,
)
from tests.factories import RepFactory, UserFactory

from .mail_backend import accepted_emails, mail_folder

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


@pytest.fixture
def mail_server(settings, tmp_path):
    """The flaky mail server of tests/notifications/mail_backend.py, up to begin with."""
    settings.EMAIL_BACKEND = "tests.notifications.mail_backend.OutageBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    return mail_folder()


def tell(users, n: int = 1) -> None:
    notify(
        Message(user_id=user.pk, kind=Kind.SLA_BREACH, event_key=f"e:{user.pk}:{i}", title=f"T{i}")
        for user in users
        for i in range(n)
    )


def later(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)


def test_a_mail_server_that_fails_then_recovers_gets_every_email_exactly_once(mail_server, rep):
    other = RepFactory()
    tell([rep, other], 3)
    (mail_server / "down").touch()

    assert deliver_pending_emails(now=later(0)) == 0
    assert deliver_pending_emails(now=later(30)) == 0  # not retried before its backoff
    assert deliver_pending_emails(now=later(61)) == 0  # retried, still down
    unsent = Notification.objects.filter(emailed_at__isnull=True)
    assert unsent.count() == 6
    (mail_server / "down").unlink()
    assert deliver_pending_emails(now=later(62)) == 0  # the second failure waits 2 minutes
    assert deliver_pending_emails(now=later(61 + 121)) == 6
    assert deliver_pending_emails(now=later(3600)) == 0

    sent = accepted_emails()
    assert len(sent) == 6
    assert len({email["message_id"] for email in sent}) == 6
    assert sorted(email["to"] for email in sent) == sorted([rep.email] * 3 + [other.email] * 3)
    rows = Notification.objects.all()
    assert all(row.emailed_at is not None and row.email_next_try_at is None for row in rows)
    assert {row.email_attempts for row in rows} == {3}


def test_a_failed_email_records_the_error_and_its_next_try(mail_server, rep):
    tell([rep])
    (mail_server / "down").touch()
    now = later(0)

    deliver_pending_emails(now=now)

    row = Notification.objects.get()
    assert row.emailed_at is None
    assert row.email_attempts == 1
    assert row.email_next_try_at == now + dt.timedelta(minutes=1)
    assert row.email_error == "Connection unexpectedly closed"
    assert row.email_status == "Retrying after: Connection unexpectedly closed"


def test_retries_wait_longer_each_time_up_to_an_hour():
    assert [retry_delay(n).total_seconds() / 60 for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]


def test_an_email_is_given_up_after_the_last_attempt_and_ops_can_send_it_again(mail_server, rep):
    tell([rep])
    Notification.objects.update(email_attempts=EMAIL_MAX_ATTEMPTS - 1)
    (mail_server / "down").touch()

    deliver_pending_emails(now=later(0))

    row = Notification.objects.get()
    assert row.email_next_try_at is None
    assert row.email_error.startswith(f"Gave up after {EMAIL_MAX_ATTEMPTS} attempts")
    assert deliver_pending_emails(now=later(10**6)) == 0

    (mail_server / "down").unlink()
    assert retry_emails(Notification.objects.all()) == 1
    assert deliver_pending_emails() == 1
    assert len(accepted_emails()) == 1


def test_a_refused_address_does_not_hold_back_the_others(mail_server, rep):
    refused = RepFactory(email="gone@accord.example")
    tell([refused, rep])
    (mail_server / "refuse").write_text("gone@accord.example\n")

    assert deliver_pending_emails() == 1

    assert [email["to"] for email in accepted_emails()] == [rep.email]
    bounced = Notification.objects.get(user=refused)
    assert bounced.emailed_at is None
    assert bounced.email_next_try_at is not None
    assert "gone@accord.example" in bounced.email_error


def test_a_held_email_waits_for_its_lease_then_goes_once(mail_server, rep, settings):
    """A worker that died mid-send leaves its held rows; the next run after the lease sends them."""
    tell([rep], 2)
    now = timezone.now()
    lease_end = now + dt.timedelta(seconds=settings.NOTIFICATION_EMAIL_LEASE_SECONDS)
    Notification.objects.update(email_next_try_at=lease_end, email_attempts=1)

    assert deliver_pending_emails(now=now) == 0
    assert deliver_pending_emails(now=lease_end) == 2
    assert deliver_pending_emails(now=lease_end) == 0

    assert len(accepted_emails()) == 2
    assert set(Notification.objects.values_list("email_attempts", flat=True)) == {2}


def test_every_attempt_carries_the_same_message_id(mail_server, rep):
    tell([rep])
    deliver_pending_emails()
    # As if the worker died after the server accepted it but before the row said so.
    Notification.objects.update(emailed_at=None, email_next_try_at=timezone.now())

    deliver_pending_emails()

    first, second = accepted_emails()
    note = Notification.objects.get()
    assert first["message_id"] == second["message_id"]
    assert first["message_id"].startswith(f"<notification.{note.pk}@")


@pytest.mark.django_db(transaction=True)
def test_migrating_keeps_sent_emails_sent_and_sends_the_unsent_ones(rep):
    executor = MigrationExecutor(connection)
    executor.migrate([("notifications", "0002_notification_indexes_only_where_queried")])
    old = executor.loader.project_state(
        [("notifications", "0002_notification_indexes_only_where_queried")]
    ).apps.get_model("notifications", "Notification")
    at = timezone.now() - dt.timedelta(days=1)
    common = {"user_id": rep.pk, "kind": Kind.SLA_BREACH, "title": "t", "created_at": at}
    old.objects.create(event_key="sent", emailed_at=at, **common)
    old.objects.create(event_key="unsent", **common)

    executor.loader.build_graph()
    # Every app's latest state: going back unapplied the migrations that depend on these
    # (sla's, leads'), and the tests after this one need them.
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = {n.event_key: n for n in Notification.objects.all()}
    assert rows["sent"].email_next_try_at is None
    assert rows["unsent"].email_next_try_at == at


def test_an_unreachable_smtp_server_leaves_the_emails_waiting_for_their_retry(settings, rep):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_PORT = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    tell([rep], 2)
    now = later(0)

    assert deliver_pending_emails(now=now) == 0

    for row in Notification.objects.all():
        assert (row.emailed_at, row.email_attempts) == (None, 1)
        assert row.email_next_try_at == now + dt.timedelta(minutes=1)
        assert "refused" in row.email_error.lower()


def test_the_admin_shows_where_each_email_stands_and_can_send_it_again(client, rep, mail_server):
    tell([rep])
    Notification.objects.update(email_next_try_at=None, email_error="Gave up after 80 attempts")
    note = Notification.objects.get()
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    changelist = reverse("admin:notifications_notification_changelist")

    assert "Not sent: Gave up after 80 attempts" in client.get(changelist).content.decode()
    client.post(changelist, {"action": "retry_emails", "_selected_action": [note.pk]})

    assert deliver_pending_emails() == 1
    note.refresh_from_db()
    assert note.emailed_at is not None
