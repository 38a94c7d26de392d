"""One way in: the same people entering by every path end up the same.

Twenty people arrive in the demo-request channel (entry stage MQL) by the import
page, the `import_leads` command, the admin's Import and web-to-lead posts. Every
path must give the same leads, owners (or the lead desk, with a reason when a rule
matched), Assignment records, campaign touch points and running clocks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from agreements.models import Channel
from agreements.stages import Stage
from config.celery import app as celery_app
from leads.intake import issue_token
from leads.models import Activity, Assignment, Campaign, ImportBatch, Lead, RoutingRule
from leads.routing import NO_RULE_REASON
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import RepFactory, TeamFactory
from tests.leads import import_files as files

pytestmark = pytest.mark.django_db

CAMPAIGN = "Spring demo days"
PEOPLE = [files.person(i) for i in range(20)]  # UK, US, DE, FR, SE in turn
UNAVAILABLE = "away, inactive or at their open-lead cap"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def demo_channel(db):
    return Channel.objects.get(slug="demo-request")


@pytest.fixture
def world(demo_channel, marketer, manager, ops):
    """An MQL response rule in force; Germans go to a team, the French to an empty one."""
    draft = AgreementFactory()
    rule = ResponseRuleFactory(
        agreement=draft, stage=Stage.MQL, within_amount=4, within_unit="hours", business_time=False
    )
    signed_and_active(draft, marketer, manager, by=ops)
    dach = TeamFactory(name="DACH")
    reps = [RepFactory(username=f"rep-{name}", team=dach) for name in ("kim", "lou")]
    RoutingRule.objects.create(name="DACH by country", country="DE, AT, CH", team=dach, priority=1)
    paris = TeamFactory(name="Paris")
    RoutingRule.objects.create(name="France", country="FR", team=paris, priority=2)
    return {"rule": rule, "reps": reps}


def the_file() -> bytes:
    return files.to_csv(files.records("apollo", [files.row_for("apollo", p) for p in PEOPLE]))


def through_the_wizard(client, user, start_url: str, django_capture_on_commit_callbacks) -> None:
    """Upload on the import page reached from `start_url`, check the preview, confirm."""
    client.force_login(user)
    page = client.get(start_url, follow=True)
    assert (page.status_code, page.request["PATH_INFO"]) == (200, reverse("leads:imports"))
    response = client.post(
        reverse("leads:imports"),
        {
            "file": SimpleUploadedFile("demo-days.csv", the_file()),
            "channel": Channel.objects.get(slug="demo-request").pk,
            "campaign": CAMPAIGN,
        },
    )
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_preview", args=[batch.pk])
    assert client.get(response.url).status_code == 200
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("leads:import_confirm", args=[batch.pk]))
    finally:
        celery_app.conf.task_always_eager = False
    batch.refresh_from_db()
    assert (batch.status, batch.created) == (ImportBatch.Status.DONE, 20)


def by_page(client, marketer, ops, tmp_path, capture) -> None:
    through_the_wizard(client, marketer, reverse("leads:imports"), capture)


def by_command(client, marketer, ops, tmp_path, capture) -> None:
    path = tmp_path / "demo-days.csv"
    path.write_bytes(the_file())
    call_command("import_leads", str(path), "--channel", "demo-request", "--campaign", CAMPAIGN)


def by_admin(client, marketer, ops, tmp_path, capture) -> None:
    ops.is_superuser = True  # the admin's Import button needs the model permissions
    ops.save()
    through_the_wizard(client, ops, reverse("admin:leads_lead_import"), capture)


def by_web_to_lead(client, marketer, ops, tmp_path, capture) -> None:
    # A form names one of its channel's campaigns; it never creates one.
    channel = Channel.objects.get(slug="demo-request")
    Campaign.objects.create(name=CAMPAIGN, channel=channel)
    _, token = issue_token(channel, "Demo form")
    for p in PEOPLE:
        payload = {
            "email": p["email"],
            "first_name": p["first"],
            "last_name": p["last"],
            "title": p["title"],
            "company": p["company"],
            "country": p["country"],
            "phone": p["phone"],
            "industry": p["industry"],
            "website": p["website"],
            "campaign": CAMPAIGN,
        }
        response = client.post(
            reverse("leads:intake", args=["demo-request"]),
            data=json.dumps(payload),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "enter", [by_page, by_command, by_admin, by_web_to_lead], ids=lambda f: f.__name__
)
def test_every_entry_path_gives_the_same_leads_owners_touch_points_and_clocks(
    enter, world, client, marketer, ops, tmp_path, django_capture_on_commit_callbacks
):
    enter(client, marketer, ops, tmp_path, django_capture_on_commit_callbacks)

    leads = {lead.email: lead for lead in Lead.objects.select_related("owner", "campaign")}
    assert sorted(leads) == sorted(p["email"] for p in PEOPLE)
    campaign = Campaign.objects.get(name=CAMPAIGN)
    dach = {rep.pk for rep in world["reps"]}
    german_owners: Counter = Counter()
    for p in PEOPLE:
        lead = leads[p["email"]]
        assert (lead.stage, lead.channel.slug, lead.campaign) == (
            Stage.MQL,
            "demo-request",
            campaign,
        )
        assert (lead.first_name, lead.company) == (p["first"], p["company"])

        # Owner, or the lead desk; an Assignment says why, whether a rule matched or not.
        assignments = list(Assignment.objects.filter(lead=lead))
        if p["country"] == "Germany":
            assert lead.owner_id in dach and lead.assigned_at is not None
            german_owners[lead.owner_id] += 1
            [assignment] = assignments
            assert (assignment.to_owner_id, assignment.rule, assignment.by) == (
                lead.owner_id,
                "DACH by country",
                None,
            )
            assert "round robin among 2 available reps" in assignment.reason
        elif p["country"] == "France":
            assert lead.owner is None
            [assignment] = assignments
            assert (assignment.to_owner, assignment.rule) == (None, "France")
            assert UNAVAILABLE in assignment.reason
        else:
            # No rule matches, but an MQL still gets an owner decision: the desk, and why.
            assert lead.owner is None
            [assignment] = assignments
            assert (assignment.to_owner, assignment.rule) == (None, "")
            assert assignment.reason == NO_RULE_REASON

        # The list or form is a touch point carrying its campaign, once.
        touches = Activity.objects.filter(lead=lead, campaign=campaign)
        assert touches.count() == 1
        assert touches.get().kind in (Activity.Kind.LIST_IMPORT, Activity.Kind.FORM)

        # The MQL clock runs from the moment the lead came in, due four hours later.
        assert lead.sla_status == Lead.SLAStatus.PENDING
        assert (lead.sla_rule, lead.sla_agreement) == (world["rule"], world["rule"].agreement)
        assert lead.sla_started_at == lead.created_at
        assert lead.sla_due_at - lead.sla_started_at == dt.timedelta(hours=4)
    assert sorted(german_owners.values()) == [2, 2]  # the round robin shares them out
