"""The notification list, the header bell, reading, and one email per notification."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services import Message, deliver_pending_emails, notify
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def tell(user, n: int = 1, *, lead=None, prefix: str = "event") -> None:
    notify(
        Message(
            user_id=user.pk,
            kind=Kind.SLA_BREACH,
            event_key=f"{prefix}:{user.pk}:{i}",
            title=f"Follow-up time missed {i}",
            lead_id=lead.pk if lead else None,
            url=lead.get_absolute_url() if lead else "",
        )
        for i in range(n)
    )


@pytest.fixture
def signed_in(client, rep):
    client.force_login(rep)
    return client


def test_the_same_event_is_stored_once(rep):
    tell(rep)
    tell(rep)

    assert Notification.objects.count() == 1


def test_list_shows_only_the_users_own_notifications(signed_in, rep, manager):
    tell(rep, prefix="mine")
    tell(manager, prefix="theirs")

    page = signed_in.get(reverse("notifications:list"))

    assert page.status_code == 200
    assert [n.user for n in page.context["page"]] == [rep]


def test_list_query_count_does_not_grow_with_notifications(
    signed_in, rep, django_assert_num_queries
):
    lead = LeadFactory(owner=rep)
    tell(rep, 3, lead=lead, prefix="few")
    with django_assert_num_queries(7) as few:
        signed_in.get(reverse("notifications:list"))
    tell(rep, 40, lead=lead, prefix="many")

    with django_assert_num_queries(len(few.captured_queries)):
        page = signed_in.get(reverse("notifications:list"))

    assert len(page.context["page"]) == 43


def test_unread_filter_and_count(signed_in, rep):
    tell(rep, 3)
    Notification.objects.filter(event_key__endswith=":0").update(read_at="2026-03-10T09:00Z")

    page = signed_in.get(reverse("notifications:list"), {"show": "unread"})

    assert len(page.context["page"]) == 2
    assert page.context["unread_count"] == 2


def test_opening_a_notification_marks_it_read_and_goes_to_the_lead(signed_in, rep):
    lead = LeadFactory(owner=rep)
    tell(rep, lead=lead)
    note = Notification.objects.get()

    answer = signed_in.get(reverse("notifications:open", args=[note.pk]))

    assert answer.status_code == 302
    assert answer.url == lead.get_absolute_url()
    note.refresh_from_db()
    assert note.read_at is not None


def test_someone_elses_notification_is_not_found(signed_in, manager):
    tell(manager)
    note = Notification.objects.get()

    answer = signed_in.get(reverse("notifications:open", args=[note.pk]))

    assert answer.status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_all_read(signed_in, rep, manager):
    tell(rep, 3)
    tell(manager)

    signed_in.post(reverse("notifications:mark_all_read"))

    assert not Notification.objects.filter(user=rep, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=manager, read_at__isnull=True).count() == 1


def test_bell_shows_the_unread_count(signed_in, rep):
    tell(rep, 4)

    badge = signed_in.get(reverse("notifications:unread"))

    assert b'data-testid="unread-count"' in badge.content
    assert b">4<" in badge.content


def test_bell_without_unread_shows_no_count(signed_in):
    badge = signed_in.get(reverse("notifications:unread"))

    assert b"unread-count" not in badge.content


def test_every_page_header_links_to_notifications(signed_in):
    page = signed_in.get(reverse("notifications:list"))

    assert b'data-testid="notifications"' in page.content
    assert reverse("notifications:unread").encode() in page.content


def test_pages_need_a_login(client):
    answer = client.get(reverse("notifications:list"))

    assert answer.status_code == 302
    assert "/accounts/login/" in answer.url


def test_each_notification_is_emailed_once(rep):
    lead = LeadFactory(owner=rep)
    tell(rep, 2, lead=lead)

    assert deliver_pending_emails() == 2
    assert deliver_pending_emails() == 0

    assert [m.to for m in mail.outbox] == [[rep.email], [rep.email]]
    opened = {f"/notifications/{n.pk}/" for n in Notification.objects.filter(user=rep)}
    assert {next(u for u in opened if u in m.body) for m in mail.outbox} == opened
    assert mail.outbox[0].subject.startswith("[Accord] Follow-up time missed")


def test_users_without_an_email_address_get_no_email(rep):
    rep.email = ""
    rep.save()
    tell(rep)

    deliver_pending_emails()

    assert mail.outbox == []
    note = Notification.objects.get()
    assert (note.emailed_at, note.email_next_try_at) == (None, None)
    assert note.email_status == "Not sent: The user has no email address or is inactive."


@pytest.mark.parametrize(
    "text",
    [
        'O\'Brien said "hi", {then} left',
        'back\\slash \\" and a trailing \\',
        "NULL",
        "",
        "Zoë · 東京 — 50 %",
    ],
)
def test_notification_text_is_stored_exactly(rep, text):
    when = timezone.now().replace(microsecond=123456)
    notify(
        [
            Message(user_id=rep.pk, kind=Kind.SLA_BREACH, event_key=f"k:{text}", title=text),
            Message(
                user_id=rep.pk,
                kind=Kind.SLA_BREACH,
                event_key="plain",
                title="t",
                body=text,
                items=({"name": text, "url": "/leads/1/", "detail": text},),
            ),
        ],
        at=when,
    )

    stored = {n.event_key: n for n in Notification.objects.all()}
    assert stored[f"k:{text}"].title == text
    assert stored["plain"].body == text
    assert stored["plain"].items == [{"name": text, "url": "/leads/1/", "detail": text}]
    assert stored[f"k:{text}"].items == []
    assert stored["plain"].lead_id is None
    assert {n.created_at for n in stored.values()} == {when}


def test_a_digest_lists_each_lead_as_a_link_on_the_page(client, rep):
    client.force_login(rep)
    leads = [LeadFactory(owner=rep, first_name=f"<b>Lead{n}</b>", last_name="") for n in range(5)]
    notify(
        [
            Message(
                user_id=rep.pk,
                kind=Kind.SLA_WARNING,
                event_key="digest",
                title="Follow up soon: 5 of your leads",
                items=tuple(
                    {"name": lead.first_name, "url": lead.get_absolute_url(), "detail": "due soon"}
                    for lead in leads
                ),
            )
        ]
    )

    page = client.get(reverse("notifications:list")).content.decode()

    assert 'data-testid="digest-leads"' in page
    for lead in leads:
        name = lead.first_name.replace("<", "&lt;").replace(">", "&gt;")
        assert f'<a href="{lead.get_absolute_url()}">{name}</a>' in page
    assert "<b>Lead0</b>" not in page
