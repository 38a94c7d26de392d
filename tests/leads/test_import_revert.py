"""Reverting an import removes only what nothing else touched, restores what it filled, keeps
the ledger consistent with what remains, and asks first (GET shows the plan, POST does it)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agreements.models import Channel
from leads import intake
from leads.importing.batches import create_batch, preview_batch, run_batch
from leads.importing.revert import plan_revert, revert_batch
from leads.models import Account, Activity, ImportBatch, Lead, LeadEvent
from leads.services import assign, log_touch, run_transition
from reports.figures.marketing import INFLUENCED, UNATTRIBUTED
from reports.filters import ReportFilters
from sla.check import run_check
from tests.factories import LeadFactory
from tests.leads import import_files as files
from tests.sla.conftest import make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


def hubspot(people: range) -> bytes:
    rows = [files.row_for("hubspot", files.person(i)) for i in people]
    return b"\xef\xbb\xbf" + files.to_csv(files.records("hubspot", rows))


def zoom_attendees(people: range) -> bytes:
    rows = [files.row_for("zoom_attendees", files.person(i)) for i in people]
    grid = files.records("zoom_attendees", rows)
    return files.to_csv(grid, preamble=files.ZOOM_ATTENDEE_PREAMBLE, trailer="\r\n\r\n")


def imported(data: bytes, name: str, channel, campaign: str) -> ImportBatch:
    batch, _ = create_batch(data, name, channel=channel, campaign_name=campaign)
    run_batch(batch)
    batch.refresh_from_db()
    return batch


def emails(people: range) -> set[str]:
    return {files.person(i)["email"] for i in people}


def assert_ledger_matches_what_remains() -> None:
    """Each remaining campaign touch (activity) has its ledger touch point and no other is left;
    every remaining imported lead has its entry in the ledger, and no removed lead has any."""
    activities = sorted(
        Activity.objects.filter(campaign__isnull=False).values_list(
            "lead_id", "campaign_id", "occurred_at"
        )
    )
    touch_points = sorted(
        LeadEvent.objects.filter(kind=LeadEvent.Kind.TOUCH_POINT).values_list(
            "lead_id", "campaign_id", "at"
        )
    )
    assert activities == touch_points
    entered = set(
        LeadEvent.objects.filter(kind=LeadEvent.Kind.STAGE_ENTERED).values_list(
            "lead_id", flat=True
        )
    )
    imported_leads = Lead.objects.filter(source_batch__isnull=False)
    assert entered >= set(imported_leads.values_list("pk", flat=True))
    assert entered <= set(Lead.objects.values_list("pk", flat=True))


def test_reverting_a_list_keeps_the_people_another_list_also_contained(channel):
    """The issue's scenario: a HubSpot list (38 new), then a Zoom webinar list with 5 of the
    same people (30 new, 5 existing unchanged); reverting the HubSpot list keeps the 5 with
    their webinar activity."""
    list_a = imported(hubspot(range(38)), "hubspot.csv", channel, "HubSpot Q1")
    assert list_a.created == 38

    batch_b, _ = create_batch(
        zoom_attendees(range(33, 68)), "zoom.csv", channel=channel, campaign_name="Q1 webinar"
    )
    preview = preview_batch(batch_b)
    assert (preview.created, preview.updated, preview.unchanged) == (30, 0, 5)
    run_batch(batch_b)
    shared = Lead.objects.filter(email__in=emails(range(33, 38)))
    webinar = batch_b.campaign

    plan = plan_revert(list_a)
    assert len(plan.remove) == 33
    assert {k.email for k in plan.kept} == emails(range(33, 38))
    assert {k.reason for k in plan.kept} == {f"import #{batch_b.pk} (zoom.csv) also contained it"}
    assert Lead.objects.count() == 68  # the plan changed nothing

    revert_batch(list_a, by=None)

    assert set(Lead.objects.values_list("email", flat=True)) == emails(range(33, 68))
    assert shared.count() == 5
    for lead in shared:
        assert lead.activities.filter(kind=Activity.Kind.LIST_IMPORT, campaign=webinar).exists()
        assert lead.events.filter(kind=LeadEvent.Kind.TOUCH_POINT, campaign=webinar).exists()
    list_a.refresh_from_db()
    assert list_a.status == ImportBatch.Status.REVERTED
    assert {k["email"] for k in list_a.revert_kept} == emails(range(33, 38))
    assert_ledger_matches_what_remains()


def test_a_list_that_changed_nothing_on_a_lead_still_keeps_it(channel):
    """The same file imported twice: the second batch touched nothing, but it contained them."""
    data = hubspot(range(4))
    first = imported(data, "first.csv", channel, "")
    second = imported(data, "second.csv", channel, "")
    assert (second.created, second.unchanged) == (0, 4)

    plan = revert_batch(first, by=None)

    assert plan.remove == []
    assert Lead.objects.count() == 4


@pytest.mark.parametrize("campaign", ["", "Spring list"])
def test_reverting_a_list_and_then_its_identical_reimport_removes_its_leads(channel, campaign):
    data = hubspot(range(4))
    first = imported(data, "list.csv", channel, campaign)
    second = imported(data, "list-again.csv", channel, campaign)
    assert (second.created, second.unchanged) == (0, 4)
    assert len(revert_batch(first, by=None).kept) == 4  # the re-import also contained them

    plan = revert_batch(second, by=None)

    assert len(plan.remove) == 4 and plan.kept == []
    assert (plan.restore, plan.touch_points) == ({}, [])
    assert not Lead.with_merged.exists()
    assert not Account.objects.exists()  # the companies the first import created
    assert_ledger_matches_what_remains()


def test_reverting_the_webinar_list_after_the_list_it_shared_people_with_removes_them(channel):
    list_a = imported(hubspot(range(8)), "hubspot.csv", channel, "HubSpot Q1")
    batch_b = imported(zoom_attendees(range(5, 12)), "zoom.csv", channel, "Q1 webinar")
    revert_batch(list_a, by=None)
    assert set(Lead.objects.values_list("email", flat=True)) == emails(range(5, 12))

    plan = revert_batch(batch_b, by=None)

    assert (len(plan.remove), plan.kept) == (7, [])
    assert not Lead.with_merged.exists()
    assert_ledger_matches_what_remains()


def test_the_later_list_filled_a_field_and_its_revert_still_removes_the_lead(channel):
    data = b"Email,First Name\nada@engines.example,Ada\n"
    first = imported(data, "names.csv", channel, "")
    second = imported(b"Email,Job Title\nada@engines.example,CTO\n", "titles.csv", channel, "")
    assert second.updated == 1
    revert_batch(first, by=None)

    plan = revert_batch(second, by=None)

    assert (len(plan.remove), plan.kept, plan.restore) == (1, [], {})
    assert not Lead.with_merged.exists()


def test_a_lead_of_a_reverted_list_that_a_rep_touched_since_stays_with_why(channel, rep):
    data = hubspot(range(2))
    first = imported(data, "list.csv", channel, "")
    second = imported(data, "list-again.csv", channel, "")
    revert_batch(first, by=None)
    lead = Lead.objects.order_by("pk").first()
    _touch(lead, rep)

    plan = revert_batch(second, by=None)

    assert len(plan.remove) == 1
    assert [(k.id, k.reason) for k in plan.kept] == [(lead.pk, "a rep logged a call on it")]
    assert list(Lead.objects.values_list("pk", flat=True)) == [lead.pk]


def test_a_lead_a_third_live_list_also_contained_stays(channel):
    data = hubspot(range(2))
    first = imported(data, "list.csv", channel, "")
    second = imported(data, "list-again.csv", channel, "")
    third = imported(zoom_attendees(range(1, 2)), "zoom.csv", channel, "")
    revert_batch(first, by=None)

    plan = revert_batch(second, by=None)

    assert [k.reason for k in plan.kept] == [f"import #{third.pk} (zoom.csv) also contained it"]
    assert set(Lead.objects.values_list("email", flat=True)) == emails(range(1, 2))


def test_a_lead_whose_creating_list_is_live_is_not_removed_by_a_reimports_revert(channel):
    data = hubspot(range(2))
    imported(data, "list.csv", channel, "")
    second = imported(data, "list-again.csv", channel, "")

    plan = revert_batch(second, by=None)

    assert (plan.remove, plan.kept) == ([], [])
    assert Lead.objects.count() == 2


def test_revert_takes_its_touch_point_off_existing_leads_and_off_the_ledger(channel):
    lead = LeadFactory(email=files.person(0)["email"], title="", phone="")
    batch = imported(hubspot(range(1)), "list.csv", channel, "Spring list")
    assert lead.events.filter(kind=LeadEvent.Kind.TOUCH_POINT).count() == 1

    plan = revert_batch(batch, by=None)

    lead.refresh_from_db()
    assert (lead.title, lead.phone) == ("", "")
    assert list(plan.restore) == [lead.pk]
    assert not lead.activities.filter(kind=Activity.Kind.LIST_IMPORT).exists()
    assert not lead.events.filter(kind=LeadEvent.Kind.TOUCH_POINT).exists()
    assert_ledger_matches_what_remains()


def test_a_deal_the_reverted_list_influenced_is_no_longer_influenced(channel, rep):
    # The list's touch point came before the deal opened: marketing influenced the deal
    # until the list is reverted; the pipeline's influenced deals follow.
    lead = LeadFactory(email=files.person(0)["email"], stage="sql", owner=rep)
    batch = imported(hubspot(range(1)), "list.csv", channel, "Spring list")
    later = timezone.now() + dt.timedelta(minutes=1)
    lead.refresh_from_db()  # the import filled it
    run_transition(lead, "open_opportunity", by=rep, amount="5,000", at=later)
    opened = lead.events.get(kind=LeadEvent.Kind.DEAL_OPENED)
    assert opened.influenced
    today = timezone.localdate()
    f = ReportFilters(start_day=today - dt.timedelta(days=1), end_day=today + dt.timedelta(days=1))

    def counts(f: ReportFilters) -> tuple[int, int]:
        now = timezone.now()
        return INFLUENCED.deals.total(f, now), UNATTRIBUTED.deals.total(f, now)

    assert counts(f) == (1, 0)

    revert_batch(batch, by=None)

    opened.refresh_from_db()
    assert not opened.influenced
    assert counts(f) == (0, 1)


def test_a_value_changed_since_is_kept_and_listed(channel):
    lead = LeadFactory(email=files.person(0)["email"], title="", phone="")
    batch = imported(hubspot(range(1)), "list.csv", channel, "")
    Lead.objects.filter(pk=lead.pk).update(title="CTO")

    plan = plan_revert(batch)

    assert [(k.email, k.reason) for k in plan.kept_values] == [
        (lead.email, "its job title changed after the import")
    ]
    revert_batch(batch, by=None)
    lead.refresh_from_db()
    assert (lead.title, lead.phone) == ("CTO", "")


def _touch(lead, rep):
    lead.owner = rep
    lead.save(update_fields=["owner"])
    log_touch(lead, by=rep, kind=Activity.Kind.CALL, subject="Intro")


def _move(lead, rep):
    run_transition(lead, "qualify_information", by=None)


def _reassign(lead, rep):
    assign(lead, rep, by=None, reason="by hand")


def _web_to_lead(lead, rep):
    token, _ = intake.issue_token(lead.channel, "Site form")
    intake.receive(token, {"email": lead.email, "form": "Contact us"})


@pytest.mark.parametrize(
    ("toucher", "reason"),
    [
        (_touch, "a rep logged a call on it"),
        (_move, "its stage moved"),
        (_reassign, "it was reassigned"),
        (_web_to_lead, "a web-to-lead form came in for it"),
    ],
)
def test_a_lead_something_else_touched_is_kept_with_why(channel, rep, toucher, reason):
    batch = imported(hubspot(range(3)), "list.csv", channel, "")
    lead = Lead.objects.get(email=files.person(1)["email"])
    toucher(lead, rep)

    plan = revert_batch(batch, by=None)

    assert [(k.email, k.reason) for k in plan.kept] == [(lead.email, reason)]
    assert list(Lead.objects.values_list("email", flat=True)) == [lead.email]
    assert_ledger_matches_what_remains()


def test_a_lead_whose_clock_the_sla_check_breached_is_kept(channel, rep):
    batch = imported(hubspot(range(2)), "list.csv", channel, "")
    lead = Lead.objects.get(email=files.person(0)["email"])
    rule = make_rule()
    started = timezone.now() - dt.timedelta(hours=2)
    Lead.objects.filter(pk=lead.pk).update(
        owner=rep,
        sla_status=Lead.SLAStatus.PENDING,
        sla_started_at=started,
        sla_due_at=started + rule.due_after(None),
        sla_rule=rule,
        sla_agreement=rule.agreement,
    )
    run_check(timezone.now())

    plan = revert_batch(batch, by=None)

    assert [(k.email, k.reason) for k in plan.kept] == [
        (lead.email, "the SLA check breached its clock")
    ]
    assert list(Lead.objects.values_list("email", flat=True)) == [lead.email]


# --- The pages --------------------------------------------------------------------------


def test_revert_page_shows_the_plan_and_changes_nothing(client, marketer, channel):
    batch = imported(hubspot(range(38)), "hubspot.csv", channel, "HubSpot Q1")
    imported(zoom_attendees(range(33, 68)), "zoom.csv", channel, "Q1 webinar")
    client.force_login(marketer)

    response = client.get(reverse("leads:import_revert", args=[batch.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="revert-remove">33<' in page
    assert files.person(35)["email"] in page and "also contained it" in page
    assert Lead.objects.count() == 68
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE


def test_revert_needs_a_csrf_token(marketer, channel):
    batch = imported(hubspot(range(2)), "list.csv", channel, "")
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)

    response = client.post(reverse("leads:import_revert", args=[batch.pk]))

    assert response.status_code == 403
    assert Lead.objects.count() == 2


def test_sales_reps_cannot_see_or_run_a_revert(client, rep, channel):
    batch = imported(hubspot(range(2)), "list.csv", channel, "")
    client.force_login(rep)
    for method in (client.get, client.post):
        assert method(reverse("leads:import_revert", args=[batch.pk])).status_code in (302, 403)
    assert Lead.objects.count() == 2


def test_a_running_import_cannot_be_reverted(client, marketer, channel):
    batch, _ = create_batch(hubspot(range(2)), "list.csv", channel=channel)
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING)
    client.force_login(marketer)

    response = client.get(reverse("leads:import_revert", args=[batch.pk]), follow=True)

    assert "still running" in response.content.decode()


def test_a_persona_a_list_fills_rides_on_the_leads_ledger_rows_and_leaves_with_its_revert(
    channel,
):
    """The reports read a lead's persona from its ledger rows: the persona a later list
    fills in (bulk, no Lead.save) reaches them, and its revert takes it back."""
    from agreements.models import Persona
    from tests.factories import PersonaFactory

    Persona.objects.all().delete()  # no persona fits when the first list comes in
    imported(hubspot(range(1)), "first.csv", channel, "Spring")
    lead = Lead.objects.get(email=files.person(0)["email"])
    assert lead.persona_id is None and LeadEvent.objects.filter(lead=lead).exists()
    title_word = files.person(0)["title"].split()[-1]
    persona = PersonaFactory(name="Matched", title_keywords=title_word)

    second = imported(hubspot(range(1)), "second.csv", channel, "Summer")
    assert Lead.objects.get(pk=lead.pk).persona_id == persona.pk
    rows = LeadEvent.objects.filter(lead=lead)
    assert set(rows.values_list("lead_persona", flat=True)) == {persona.pk}

    revert_batch(second, by=None)
    assert Lead.objects.get(pk=lead.pk).persona_id is None
    assert set(rows.values_list("lead_persona", flat=True)) == {None}
