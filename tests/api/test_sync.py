"""GET /api/v1/leads/: the change feed a CRM syncs from, page by page, while leads change."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import Scope
from customers import merge
from leads.importing.cleaning import CleanRow
from leads.importing.writer import Entry, TouchPoint, take_in_leads
from leads.models import Lead
from tests.factories import AccountFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

LEADS = "/api/v1/leads/"


@pytest.fixture
def raw(make_token):
    return make_token(Scope.LEADS_READ)[1]


@pytest.fixture
def settled(settings):
    """No settling time: a change is served as soon as it is written."""
    settings.API_SYNC_SETTLE_SECONDS = 0
    return settings


def stamp(lead: Lead, when: dt.datetime) -> None:
    """As if the lead's last write had been at `when`."""
    Lead.with_merged.filter(pk=lead.pk).update(updated_at=when)


def walk(api, raw, first_query: str) -> tuple[list[dict], str]:
    """Every page from first_query on; the rows in order and the last cursor."""
    rows, page = [], api("get", LEADS + first_query, raw).json()
    rows += page["results"]
    while page["has_more"]:
        page = api("get", LEADS + f"?cursor={page['next_cursor']}&limit=3", raw).json()
        rows += page["results"]
    return rows, page["next_cursor"]


def test_a_lead_says_what_a_crm_needs(api, raw, settled):
    owner = UserFactory(username="ada", email="ada@accord.example")
    account = AccountFactory(name="Engines", domain="engines.example")
    lead = LeadFactory(
        email="grace@engines.example", first_name="Grace", owner=owner, account=account
    )
    response = api("get", LEADS, raw)
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == lead.pk
    assert row["email"] == "grace@engines.example"
    assert row["first_name"] == "Grace"
    assert row["stage"] == "suspect"
    assert row["owner"] == {"username": "ada", "email": "ada@accord.example"}
    assert row["account"] == {"id": account.pk, "name": "Engines", "domain": "engines.example"}
    assert row["merged_into"] is None
    assert row["version"] == lead.version
    assert dt.datetime.fromisoformat(row["updated_at"].replace("Z", "+00:00")) == lead.updated_at


def test_updated_since_starts_the_feed_at_that_time(api, raw, settled):
    old, new = LeadFactory(), LeadFactory()
    now = timezone.now()
    stamp(old, now - dt.timedelta(days=2))
    stamp(new, now - dt.timedelta(hours=1))
    since = (now - dt.timedelta(days=1)).isoformat().replace("+00:00", "Z")
    rows = api("get", f"{LEADS}?updated_since={since}", raw).json()["results"]
    assert [row["id"] for row in rows] == [new.pk]


def test_no_lead_is_lost_or_repeated_while_leads_change_between_pages(api, raw, settled):
    leads = [LeadFactory() for _ in range(12)]
    start = timezone.now() - dt.timedelta(hours=1)
    for n, lead in enumerate(leads):
        stamp(lead, start + dt.timedelta(seconds=n))
    served: list[tuple[int, int]] = []
    page = api("get", f"{LEADS}?updated_since={start.isoformat()}&limit=3", raw).json()
    served += [(row["id"], row["version"]) for row in page["results"]]
    changes = iter(
        [
            leads[0],  # already served: comes again with its new version
            leads[10],  # not yet served: comes once, with its new version
            leads[1],
            leads[11],
        ]
    )
    added = []
    while page["has_more"]:
        changed = next(changes, None)
        if changed is not None:
            changed.refresh_from_db()
            changed.title = f"Changed {changed.pk}"
            changed.save()
        added.append(LeadFactory())
        page = api("get", f"{LEADS}?cursor={page['next_cursor']}&limit=3", raw).json()
        served += [(row["id"], row["version"]) for row in page["results"]]
    assert len(served) == len(set(served)), "a row was served twice"
    final = {lead.pk: lead.version for lead in Lead.objects.all()}
    assert set(final.items()) <= set(served), "a lead's latest state was never served"
    assert {lead.pk for lead in added} <= {lead_id for lead_id, _ in served}
    unchanged = {lead.pk for lead in leads[2:10]}
    counts = {lead_id: [i for i, _ in served].count(lead_id) for lead_id in unchanged}
    assert set(counts.values()) == {1}
    assert [i for i, _ in served].count(leads[10].pk) == 1


def test_a_write_still_committing_is_not_passed_by(api, raw, settings):
    """A transaction stamps its rows before it commits: the feed serves a change only
    once it is the settling time old, so its cursor never passes a write in flight."""
    settings.API_SYNC_SETTLE_SECONDS = 60
    now = timezone.now()
    early, fresh = LeadFactory(), LeadFactory()
    stamp(early, now - dt.timedelta(minutes=10))
    stamp(fresh, now - dt.timedelta(seconds=5))
    rows, cursor = walk(api, raw, "?limit=3")
    assert [row["id"] for row in rows] == [early.pk]  # `fresh` waits for the settling time
    late = LeadFactory()
    stamp(late, now - dt.timedelta(seconds=30))  # stamped 30 s ago, committed only now
    settings.API_SYNC_SETTLE_SECONDS = 0  # the settling time has passed
    page = api("get", f"{LEADS}?cursor={cursor}", raw).json()
    assert [row["id"] for row in page["results"]] == [late.pk, fresh.pk]


def test_a_merged_lead_says_which_lead_it_was_merged_into(api, raw, settled):
    survivor, merged = LeadFactory(), LeadFactory()
    Lead.with_merged.filter(pk=merged.pk).update(merged_into=survivor, updated_at=timezone.now())
    rows = api("get", LEADS, raw).json()["results"]
    by_id = {row["id"]: row for row in rows}
    assert by_id[merged.pk]["merged_into"] == survivor.pk
    assert by_id[survivor.pk]["merged_into"] is None


def test_a_merged_leads_old_id_redirects_to_the_survivor(api, raw):
    survivor, merged = LeadFactory(), LeadFactory()
    Lead.with_merged.filter(pk=merged.pk).update(merged_into=survivor)
    response = api("get", f"{LEADS}{merged.pk}/", raw)
    assert response.status_code == 307
    assert response["Location"].endswith(f"{LEADS}{survivor.pk}/")
    assert response.json()["merged_into"] == survivor.pk
    followed = api("get", response["Location"], raw)
    assert followed.json()["id"] == survivor.pk


def test_an_unknown_lead_id_is_404(api, raw):
    assert api("get", f"{LEADS}999999/", raw).status_code == 404


def _cursor(at: str) -> str:
    """A cursor as the feed encodes one (api.sync.Position), for a given time."""
    text = json.dumps({"t": at, "id": 1})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?cursor=garbage", "cursor"),
        ("?updated_since=2026-12-01T00:00:00", "updated_since"),
        ("?updated_since=yesterday", "updated_since"),
        ("?limit=0", "limit"),
        ("?limit=many", "limit"),
        # Times with no UTC time (year 1 east of UTC, year 9999 west of it): a 500 before.
        ("?updated_since=0001-01-01T00:00:00%2B01:00", "updated_since"),
        ("?updated_since=9999-12-31T23:59:59-01:00", "updated_since"),
        (f"?cursor={_cursor('0001-01-01T00:00:00+05:00')}", "cursor"),
    ],
)
def test_a_bad_query_is_400_naming_it(api, raw, query, field):
    response = api("get", LEADS + query, raw)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_page_costs_the_same_queries_whatever_its_size(api, raw, settled):
    for _ in range(6):
        LeadFactory(owner=UserFactory(), account=AccountFactory())
    counts = []
    for limit in (1, 6):
        with CaptureQueriesContext(connection) as queries:
            assert api("get", f"{LEADS}?limit={limit}", raw).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_long_imports_later_chunks_are_stamped_when_written(api_channel):
    """An import prepares its entry once and writes chunk after chunk: a lead it updates
    is stamped when its chunk is written, so the feed's settling time covers it."""
    lead = LeadFactory(email="ada@example.com", company="")
    began = timezone.now() - dt.timedelta(hours=1)
    touch = TouchPoint(side="marketing", kind="list_import", subject="Appeared in a list")
    entry = Entry.prepare(channel=api_channel, campaign=None, touch=touch, at=began)
    before = timezone.now()
    take_in_leads(entry, [CleanRow(2, lead.email, {"email": lead.email, "company": "Engines"})])
    lead.refresh_from_db()
    assert lead.company == "Engines"
    assert lead.updated_at >= before


def merge_and_undo(keep: Lead, other: Lead, by) -> None:
    done = merge.merge_leads(merge.plan_merge([keep.pk, other.pk], by), by)
    merge.undo_merge(done, by)


def test_an_undone_merge_brings_its_leads_again_as_they_were(api, raw, settled, ops):
    keep, other = LeadFactory(stage="fan"), LeadFactory(stage="suspect")
    _rows, cursor = walk(api, raw, "?limit=3")
    done = merge.merge_leads(merge.plan_merge([keep.pk, other.pk], ops), ops)
    page = api("get", f"{LEADS}?cursor={cursor}", raw).json()
    assert {row["id"]: row["merged_into"] for row in page["results"]}[other.pk] == keep.pk
    merge.undo_merge(done, ops)  # both rows written back, their old stamps included
    rows, _cursor = walk(api, raw, f"?cursor={page['next_cursor']}&limit=1")
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {keep.pk, other.pk}
    assert by_id[other.pk]["merged_into"] is None


def test_undone_merges_and_edits_page_together_each_lead_once(api, raw, settled, ops):
    pairs = [(LeadFactory(stage="fan"), LeadFactory(stage="suspect")) for _ in range(3)]
    bystanders = [LeadFactory() for _ in range(3)]
    _rows, cursor = walk(api, raw, "?limit=3")
    for keep, other in pairs:
        merge_and_undo(keep, other, ops)
    edited = pairs[0][1]
    edited.refresh_from_db()
    edited.title = "Edited after the undo"
    edited.save()
    bystanders[1].title = "Edited too"
    bystanders[1].save()
    rows, _cursor = walk(api, raw, f"?cursor={cursor}&limit=1")
    ids = [row["id"] for row in rows]
    expected = {lead.pk for pair in pairs for lead in pair} | {bystanders[1].pk}
    assert sorted(ids) == sorted(expected)  # each once, none lost
    assert ids[-2:] == [edited.pk, bystanders[1].pk]  # in the order of their last change
