"""Writing an import: dedupe into existing leads, re-imports, crash retries and revert."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.db.models import F

from agreements.models import Channel
from leads.importing import writer
from leads.importing.batches import create_batch, run_batch
from leads.importing.revert import revert_batch
from leads.models import (
    Account,
    Activity,
    ImportBatch,
    ImportChange,
    Lead,
)
from leads.services import log_touch
from tests.factories import AccountFactory, LeadFactory
from tests.leads import import_files as files


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


def apollo(people: list[dict[str, str]]) -> bytes:
    return files.to_csv(files.records("apollo", [files.row_for("apollo", p) for p in people]))


def _import(data: bytes, channel, name: str = "list.csv", **kwargs):
    batch, _ = create_batch(data, name, channel=channel, **kwargs)
    return batch, run_batch(batch)


def _snapshot() -> list[tuple]:
    fields = [f.attname for f in Lead._meta.concrete_fields if f.attname not in ("updated_at",)]
    return list(Lead.objects.order_by("email").values_list(*fields))


def test_existing_lead_gets_only_its_empty_fields_filled(channel):
    lead = LeadFactory(
        email="ada@analytical.example", first_name="Augusta", title="", company="", phone=""
    )
    batch, summary = _import(apollo([files.person(0)]), channel)
    lead.refresh_from_db()
    assert (summary.created, summary.updated) == (0, 1)
    assert lead.first_name == "Augusta"  # the rep's data stays
    assert lead.title == "VP Engineering"
    assert lead.company == "Analytical Engines"
    assert lead.version == 2
    change = ImportChange.objects.get(batch=batch, lead=lead)
    assert change.filled["title"] == "VP Engineering"


def test_existing_lead_with_every_field_set_is_unchanged_but_appears_in_the_list(channel):
    p = files.person(0)
    lead = LeadFactory(
        email=p["email"],
        title="CTO",
        company="Other",
        phone="1",
        country="US",
        industry="x",
        website="y.example",
        account=AccountFactory(),
    )
    _, summary = _import(apollo([p]), channel, campaign_name="Spring fair")
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 1)
    assert Activity.objects.get(lead=lead).subject == "Appeared in list Spring fair"


def test_email_matching_ignores_case_and_spaces(channel):
    LeadFactory(email="ada@analytical.example")
    p = {**files.person(0), "email": "  ADA@Analytical.Example "}
    _, summary = _import(apollo([p]), channel)
    assert summary.created == 0
    assert Lead.objects.count() == 1


def test_accounts_are_matched_by_company_domain(channel):
    account = AccountFactory(domain="analytical.example")
    _import(apollo([files.person(0), files.person(5)]), channel)
    assert set(Lead.objects.values_list("account", flat=True)) == {account.pk}
    assert Account.objects.count() == 1


def test_free_mail_addresses_do_not_make_accounts(channel):
    p = {**files.person(0), "email": "ada.private@gmail.com", "website": ""}
    row = {**files.row_for("apollo", p), "Website": ""}
    _import(files.to_csv(files.records("apollo", [row])), channel)
    assert Lead.objects.get().account is None


def test_reimporting_the_same_file_creates_nothing(channel):
    data = apollo([files.person(i) for i in range(8)])
    _import(data, channel)
    before = (Lead.objects.count(), Activity.objects.count(), Account.objects.count())
    _, summary = _import(data, channel)
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 8)
    assert (Lead.objects.count(), Activity.objects.count(), Account.objects.count()) == before


def test_rerun_after_a_crash_halfway_completes_without_duplicates(channel, monkeypatch):
    LeadFactory(email=files.person(6)["email"], title="")  # an existing lead, updated later
    data = apollo([files.person(i) for i in range(8)])
    batch, _ = create_batch(data, "list.csv", channel=channel)
    monkeypatch.setattr(writer, "CHUNK", 3)
    real = writer.take_in_leads
    calls = {"n": 0}

    def dies_on_second_chunk(context, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real(context, rows)

    monkeypatch.setattr(writer, "take_in_leads", dies_on_second_chunk)
    with pytest.raises(SystemExit):
        run_batch(batch)
    assert Lead.objects.count() == 4  # first chunk of 3 + the existing lead
    monkeypatch.setattr(writer, "take_in_leads", real)

    batch.refresh_from_db()
    summary = run_batch(batch)
    assert (summary.created, summary.updated, summary.unchanged) == (7, 1, 0)
    assert Lead.objects.count() == 8
    assert Activity.objects.filter(kind=Activity.Kind.LIST_IMPORT).count() == 8
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.updated, batch.rows_done) == ("done", 7, 1, 8)


def test_running_a_finished_batch_again_changes_nothing(channel):
    batch, _ = _import(apollo([files.person(i) for i in range(5)]), channel)
    before = _snapshot(), Activity.objects.count()
    summary = run_batch(batch)
    assert summary.created == 5
    assert (_snapshot(), Activity.objects.count()) == before


def test_a_concurrent_insert_of_the_same_email_is_retried_as_an_update(channel, monkeypatch):
    batch, _ = create_batch(apollo([files.person(0)]), "list.csv", channel=channel)
    real = writer.take_in_leads
    calls = {"n": 0}

    def other_import_wins(context, rows):
        calls["n"] += 1
        if calls["n"] == 1:
            LeadFactory(email=files.person(0)["email"], title="")
            raise IntegrityError("UNIQUE constraint failed: leads_lead.email")
        return real(context, rows)

    monkeypatch.setattr(writer, "take_in_leads", other_import_wins)
    summary = run_batch(batch)
    assert (summary.created, summary.updated) == (0, 1)


def test_revert_restores_the_database_except_worked_leads(channel, rep):
    existing = LeadFactory(email=files.person(0)["email"], title="", phone="", company="Kept Co")
    untouched_other = LeadFactory(email="someone@else.example")
    before = _snapshot()
    accounts_before = set(Account.objects.values_list("pk", flat=True))
    activities_before = Activity.objects.count()

    batch, _ = _import(apollo([files.person(i) for i in range(6)]), channel)
    worked = Lead.objects.get(email=files.person(3)["email"])
    Lead.objects.filter(pk=worked.pk).update(owner=rep)
    worked.refresh_from_db()
    log_touch(worked, by=rep, kind=Activity.Kind.CALL, subject="Intro call")

    kept = revert_batch(batch, by=None).kept_dicts()

    assert [k["email"] for k in kept] == [worked.email]
    assert set(Lead.objects.values_list("email", flat=True)) == {
        existing.email,
        untouched_other.email,
        worked.email,
    }
    after = [row for row in _snapshot() if row[1] != worked.email]
    version_index = [f.attname for f in Lead._meta.concrete_fields if f.attname != "updated_at"]
    v = version_index.index("version")
    assert [r[:v] + r[v + 1 :] for r in after] == [r[:v] + r[v + 1 :] for r in before]
    assert set(Account.objects.values_list("pk", flat=True)) - accounts_before == {
        worked.account_id
    }
    assert Activity.objects.exclude(lead=worked).count() == activities_before
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.REVERTED


def test_revert_does_not_clobber_a_value_a_rep_changed_later(channel):
    lead = LeadFactory(email=files.person(0)["email"], title="")
    batch, _ = _import(apollo([files.person(0)]), channel)
    Lead.objects.filter(pk=lead.pk).update(title="Rep's own title", version=F("version") + 1)
    revert_batch(batch, by=None)
    lead.refresh_from_db()
    assert lead.title == "Rep's own title"
