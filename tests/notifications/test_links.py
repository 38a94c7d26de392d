"""Notifications lead somewhere: every lead named is a link, emails link to the site's real
address, and reps hear of leads a manager gives them or takes away and of feedback replies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail

from agreements.stages import Stage
from leads import notices, services
from notifications.models import Notification
from notifications.services import deliver_pending_emails
from tests.factories import FeedbackFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
ROOT = Path(__file__).resolve().parents[2]


def site_url_with(**environ: str) -> str:
    """SITE_URL as the settings read it in a process started with this environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT")}
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.SITE_URL)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def site_on_port_8123(settings):
    """The site as `make run PORT=8123` starts it."""
    settings.SITE_URL = site_url_with(PORT="8123")
    assert settings.SITE_URL == "http://127.0.0.1:8123"
    return settings.SITE_URL


def test_site_url_defaults_to_the_address_make_run_prints():
    assert site_url_with() == "http://127.0.0.1:8000"
    assert site_url_with(HOST="accord.lan", PORT="8080") == "http://accord.lan:8080"
    assert site_url_with(PORT="8080", SITE_URL="https://accord.example.com") == (
        "https://accord.example.com"
    )


def test_notification_emails_link_to_the_configured_site_address(
    site_on_port_8123, rep, manager, team
):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING, first_name="Ada", last_name="Lovelace")
    newcomer = RepFactory(username="newcomer", team=team)
    services.reassign([lead], newcomer, by=manager, reason="Rep is out")

    deliver_pending_emails()

    by_recipient = {email.to[0]: email for email in mail.outbox}
    assert set(by_recipient) == {rep.email, newcomer.email}
    for email in mail.outbox:
        assert "Ada Lovelace" in email.subject
        # Through the notification: it opens the lead, or says the lead moved on.
        told = Notification.objects.get(user__email=email.to[0])
        assert f"Open it: http://127.0.0.1:8123/notifications/{told.pk}/" in email.body
        assert "http://127.0.0.1:8123/notifications/" in email.body
        assert "localhost:8000" not in email.body


def test_a_digest_email_links_every_lead_to_the_configured_site_address(
    site_on_port_8123, rep, manager, team
):
    leads = [LeadFactory(owner=rep, stage=Stage.WORKING) for _ in range(notices.DIGEST_AFTER + 2)]
    newcomer = RepFactory(username="newcomer", team=team)
    services.reassign(leads, newcomer, by=manager)

    deliver_pending_emails()

    (email,) = [e for e in mail.outbox if e.to == [newcomer.email]]
    assert f"assigned {len(leads)} leads to you" in email.subject
    ((html, _),) = email.alternatives
    for lead in leads:
        link = f"http://127.0.0.1:8123{lead.get_absolute_url()}"
        assert f'<a href="{link}">{lead}</a>' in html
        assert link in email.body


def test_manager_taking_a_lead_tells_the_rep_who_had_it_and_the_rep_who_gets_it(rep, manager, team):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    newcomer = RepFactory(username="newcomer", first_name="Nia", last_name="New", team=team)

    services.reassign([lead], newcomer, by=manager, reason="Rep is out")

    lost = Notification.objects.get(user=rep)
    gained = Notification.objects.get(user=newcomer)
    assert (lost.kind, lost.lead, lost.url) == (Kind.REASSIGNED, lead, lead.get_absolute_url())
    assert lost.title.endswith(f"moved {lead} to Nia New")
    assert "Rep is out" in lost.body
    assert gained.title.endswith(f"assigned {lead} to you")
    assert not Notification.objects.filter(user=manager).exists()


def test_many_leads_moved_at_once_come_as_one_digest_listing_each(rep, manager):
    leads = [LeadFactory(owner=rep, stage=Stage.WORKING) for _ in range(notices.DIGEST_AFTER + 1)]

    services.reassign(leads, None, by=manager)

    (digest,) = Notification.objects.filter(user=rep)
    assert digest.title.endswith(f"moved {len(leads)} leads to the lead desk")
    assert [item["url"] for item in digest.items] == [lead.get_absolute_url() for lead in leads]


def test_routing_and_escalation_moves_are_not_told_here(rep):
    services.reassign([LeadFactory(stage=Stage.MQL)], rep, by=None)

    assert not Notification.objects.exists()


def test_rep_is_told_when_marketing_replies_to_her_feedback(rep, marketer):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    feedback = FeedbackFactory(lead=lead, author=rep)

    services.reply_to_feedback(feedback, by=marketer, text="Thanks, we fixed the form.")

    (told,) = Notification.objects.all()
    assert (told.user, told.kind, told.lead) == (rep, Kind.FEEDBACK_REPLY, lead)
    assert told.url == lead.get_absolute_url()
    assert "Thanks, we fixed the form." in told.body


def test_notification_list_links_the_lead_for_whoever_may_open_it(client, rep, manager, team):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    newcomer = RepFactory(username="newcomer", team=team)
    services.reassign([lead], newcomer, by=manager)
    link = f'<a href="{lead.get_absolute_url()}" data-testid="notification-lead">'

    client.force_login(newcomer)
    assert link in client.get("/notifications/").content.decode()
    # The rep who had it may not open it now: named, not linked to a 404.
    client.force_login(rep)
    assert link not in client.get("/notifications/").content.decode()


def test_a_notification_about_a_lead_that_moved_on_says_so_instead_of_a_404(
    client, rep, manager, team
):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING, first_name="Ada", last_name="Lovelace")
    newcomer = RepFactory(username="newcomer", team=team)
    services.reassign([lead], newcomer, by=manager, reason="Rep is out")
    lost = Notification.objects.get(user=rep)
    client.force_login(rep)
    assert client.get(lead.get_absolute_url()).status_code == 404
    response = client.get(f"/notifications/{lost.pk}/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/notifications/"
    assert "You cannot open Ada Lovelace now: it is not among your leads." in page
    assert "(not open to you now)" in page
    assert f'href="{lead.get_absolute_url()}"' not in page
    # The rep who has it now is taken to the lead.
    gained = Notification.objects.get(user=newcomer)
    client.force_login(newcomer)
    assert client.get(f"/notifications/{gained.pk}/")["Location"] == lead.get_absolute_url()


def test_a_notification_about_another_page_of_a_lead_goes_there(client, rep, other_rep):
    # A content request's answer names its lead and links the request's page, which the rep
    # who asked may open even when the lead is someone else's now: no lead check then.
    lead = LeadFactory(owner=other_rep, stage=Stage.WORKING)
    told = Notification.objects.create(
        user=rep, kind=Kind.REASSIGNED, lead=lead, url="/content/requests/", title="Answered"
    )
    client.force_login(rep)
    assert client.get(f"/notifications/{told.pk}/")["Location"] == "/content/requests/"
