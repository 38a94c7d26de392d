"""Tracked sharing: a rep shares an asset with a lead as a per-lead link; each counted
open by the customer appends "Opened: …" to the lead's timeline and the ledger and tells
the owner once per asset and day. HEAD requests, bots, link previews and quick repeats
add nothing; a revoked link answers 404."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header

from agreements.stages import Stage
from content import services
from content.models import LinkOpen, SharedLink
from content.views import LINK_REQUESTS_PER_MINUTE
from leads import services as lead_services
from leads.models import Activity, LeadEvent
from leads.timeline import timeline
from notifications.models import Notification
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SLACK_PREVIEW = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@pytest.fixture
def lead(rep):
    return LeadFactory(owner=rep, stage=Stage.WORKING, first_name="Ada", last_name="Acme")


@pytest.fixture
def asset():
    return AssetFactory(title="Acme case study", link="https://example.com/acme")


def open_link(client, link: SharedLink, *, ua: str = BROWSER, ip: str = "203.0.113.7", **extra):
    return client.get(
        reverse("content:open", args=[link.token]), HTTP_USER_AGENT=ua, REMOTE_ADDR=ip, **extra
    )


def titles(lead) -> list[str]:
    return [e.title for e in timeline(lead)]


def test_a_rep_shares_from_the_lead_page_and_the_timeline_and_ledger_say_so(
    client, rep, lead, asset
):
    client.force_login(rep)

    response = client.post(reverse("content:lead_share", args=[lead.pk, asset.pk]))

    link = SharedLink.objects.get()
    assert response.status_code == 302
    assert (link.lead, link.asset, link.version, link.shared_by) == (
        lead,
        asset,
        asset.current_version,
        rep,
    )
    assert len(link.token) >= 32
    assert "Shared: Acme case study" in titles(lead)
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTENT_SHARED).count() == 1
    panel = client.get(reverse("content:lead_panel", args=[lead.pk])).content.decode()
    assert f"/c/{link.token}/" in panel


def test_a_customer_open_redirects_and_appends_timeline_ledger_and_one_notice(
    client, rep, lead, asset
):
    link = services.share(lead, asset, by=rep)

    response = open_link(client, link)

    assert response.status_code == 302
    assert response["Location"] == "https://example.com/acme"
    assert LinkOpen.objects.filter(link=link).count() == 1
    opened = Activity.objects.get(lead=lead, kind=Activity.Kind.CONTENT_OPENED)
    assert (opened.side, opened.is_touch) == (Activity.Side.CUSTOMER, False)
    assert "Opened: Acme case study" in titles(lead)
    assert LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.CONTENT_OPENED).count() == 1
    notice = Notification.objects.get(kind=Notification.Kind.CONTENT_OPENED)
    assert (notice.user, notice.lead) == (rep, lead)


def test_the_owner_is_told_once_per_asset_and_day(client, rep, lead, asset):
    link = services.share(lead, asset, by=rep)
    second = services.share(lead, asset, by=rep)
    other = services.share(lead, AssetFactory(title="Pricing deck"), by=rep)
    day = timezone.now().replace(hour=10, minute=0)

    with time_machine.travel(day, tick=False):
        open_link(client, link, ip="198.51.100.1")
        open_link(client, second, ip="198.51.100.2")
        open_link(client, other, ip="198.51.100.3")
    with time_machine.travel(day + dt.timedelta(days=1), tick=False):
        open_link(client, link, ip="198.51.100.1")

    opens = Activity.objects.filter(lead=lead, kind=Activity.Kind.CONTENT_OPENED).count()
    notices = Notification.objects.filter(kind=Notification.Kind.CONTENT_OPENED)
    assert opens == 4
    assert notices.count() == 3  # the case study on two days, the deck once


def test_the_same_address_opening_again_soon_counts_once(client, rep, lead, asset):
    link = services.share(lead, asset, by=rep)

    first = open_link(client, link)
    again = open_link(client, link)

    assert (first.status_code, again.status_code) == (302, 302)
    assert LinkOpen.objects.count() == 1
    with time_machine.travel(timezone.now() + services.REPEAT_WINDOW + dt.timedelta(minutes=1)):
        open_link(client, link)
    assert LinkOpen.objects.count() == 2


def test_opens_per_link_and_day_are_capped(client, rep, lead, asset):
    link = services.share(lead, asset, by=rep)

    for i in range(services.MAX_OPENS_PER_DAY + 3):
        assert open_link(client, link, ip=f"192.0.2.{i + 1}").status_code == 302

    assert LinkOpen.objects.count() == services.MAX_OPENS_PER_DAY


@pytest.mark.parametrize(
    ("method", "ua", "headers"),
    [
        ("head", BROWSER, {}),
        ("get", GOOGLEBOT, {}),
        ("get", SLACK_PREVIEW, {}),
        ("get", "", {}),
        ("get", BROWSER, {"HTTP_SEC_PURPOSE": "prefetch;prerender"}),
        ("get", BROWSER, {"HTTP_X_PURPOSE": "preview"}),
    ],
    ids=["head", "googlebot", "slack-preview", "no-agent", "prefetch", "preview"],
)
def test_heads_bots_and_previews_add_nothing(client, rep, lead, asset, method, ua, headers):
    link = services.share(lead, asset, by=rep)
    before = (Activity.objects.count(), LeadEvent.objects.count())

    response = getattr(client, method)(
        reverse("content:open", args=[link.token]), HTTP_USER_AGENT=ua, **headers
    )

    assert response.status_code == 302
    assert LinkOpen.objects.count() == 0
    assert (Activity.objects.count(), LeadEvent.objects.count()) == before
    assert not Notification.objects.exists()


def test_a_revoked_or_unknown_link_answers_404(client, rep, lead, asset):
    link = services.share(lead, asset, by=rep)
    client.force_login(rep)
    client.post(reverse("content:link_revoke", args=[link.pk]))
    client.logout()

    assert open_link(client, link).status_code == 404
    assert client.get("/c/not-a-token/").status_code == 404
    assert not LinkOpen.objects.exists()


def test_the_link_works_without_the_trailing_slash(client, rep, lead, asset):
    link = services.share(lead, asset, by=rep)

    response = client.get(f"/c/{link.token}", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert LinkOpen.objects.count() == 1


def test_a_shared_file_is_served_inline_and_a_replacement_leaves_the_old_link_alone(
    client, rep, marketer, lead
):
    asset = services.create_asset(
        by=marketer,
        title="Data sheet",
        kind=AssetFactory().kind,
        upload=SimpleUploadedFile("sheet.pdf", b"%PDF-1.4 first", "application/pdf"),
    )
    services.publish(asset, by=marketer)
    old_link = services.share(lead, asset, by=rep)
    services.replace(asset, by=marketer, upload=SimpleUploadedFile("sheet.pdf", b"%PDF-1.4 second"))
    new_link = services.share(lead, asset, by=rep)

    old = open_link(client, old_link)
    new = open_link(client, new_link, ip="198.51.100.9")

    assert (old.status_code, old.content) == (200, b"%PDF-1.4 first")
    assert new.content == b"%PDF-1.4 second"
    assert old["Content-Type"] == "application/pdf"
    assert old["Content-Disposition"].startswith("inline")
    # Not sandboxed: Chrome's PDF viewer shows "blocked" for a sandboxed document.
    assert "sandbox" not in old.get("Content-Security-Policy", "")
    assert old["X-Content-Type-Options"] == "nosniff"


def test_another_reps_lead_cannot_be_shared_with(client, other_rep, lead, asset):
    client.force_login(other_rep)

    response = client.post(reverse("content:lead_share", args=[lead.pk, asset.pk]))

    assert response.status_code == 404
    assert not SharedLink.objects.exists()


def test_marketing_cannot_share_and_a_retired_asset_cannot_be_shared(
    client, marketer, rep, lead, asset
):
    client.force_login(marketer)
    assert client.post(reverse("content:lead_share", args=[lead.pk, asset.pk])).status_code == 403
    services.retire(asset, by=marketer)
    client.force_login(rep)
    assert client.post(reverse("content:lead_share", args=[lead.pk, asset.pk])).status_code == 404
    assert not SharedLink.objects.exists()


def test_a_flood_on_one_link_is_throttled(client, rep, lead, asset):
    link = services.share(lead, asset, by=rep)
    with time_machine.travel(timezone.now(), tick=False):  # all in one minute's window
        answers = [
            open_link(client, link, ip=f"192.0.2.{i % 250 + 1}").status_code
            for i in range(LINK_REQUESTS_PER_MINUTE + 1)
        ]

    assert answers[-1] == 429
    assert LinkOpen.objects.count() <= services.MAX_OPENS_PER_DAY


def test_a_closed_lead_is_not_shared_with(client, rep, lead, asset):
    lead_services.run_transition(lead, "disqualify", by=rep, reason="No budget")
    client.force_login(rep)

    page = client.post(reverse("content:lead_share", args=[lead.pk, asset.pk]), follow=True)

    assert "content is no longer shared with it" in page.content.decode()
    assert not SharedLink.objects.exists()


def test_the_library_counts_shares_touches_and_opens(client, rep, marketer, lead, asset):
    services.log_touch_with_assets(lead, by=rep, kind="email", subject="Sent", assets=[asset])
    link = services.share(lead, asset, by=rep)
    services.share(lead, asset, by=rep)
    open_link(client, link)
    client.force_login(marketer)

    (row,) = client.get(reverse("content:library")).context["assets"]

    assert (row.touch_count, row.share_count, row.open_count) == (1, 2, 1)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("page.html", b"<script>alert(document.cookie)</script>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("feed.xml", b"<x/>"),
        ("案例.html", b"<script>alert(1)</script>"),
    ],
)
def test_an_uploaded_file_that_could_run_script_is_downloaded_never_shown_inline(
    client, rep, marketer, lead, name, data
):
    asset = services.create_asset(
        by=marketer, title="Page", kind=AssetFactory().kind, upload=SimpleUploadedFile(name, data)
    )
    services.publish(asset, by=marketer)
    link = services.share(lead, asset, by=rep)

    response = open_link(client, link)

    assert response.status_code == 200
    assert response["Content-Disposition"] == content_disposition_header(True, name)
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
