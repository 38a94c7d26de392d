"""Imports that cope with what marketing really has: overlong cells, Western European
encodings, headers in German, French and Spanish, dates of the touch, abandoned uploads."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from agreements.models import Channel
from leads.importing.batches import (
    batch_table,
    confirm_batch,
    create_batch,
    preview_batch,
    run_batch,
)
from leads.importing.files import read_table
from leads.importing.presets import auto_mapping, detect_preset
from leads.importing.revert import plan_revert, revert_batch
from leads.models import Activity, ImportBatch, Lead, LeadEvent
from tests.factories import LeadFactory


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, channel, data: bytes, name: str = "list.csv"):
    return client.post(
        reverse("leads:imports"),
        {"file": SimpleUploadedFile(name, data), "channel": channel.pk},
    )


def test_a_5000_character_title_keeps_the_lead_with_a_warning(channel):
    title = "Chief " + "x" * 4997
    data = csv_bytes([["Email", "First Name", "Title"], ["ada@analytical.example", "Ada", title]])
    batch, _ = create_batch(data, "long.csv", channel=channel)
    preview = preview_batch(batch)
    assert (preview.created, preview.rejected) == (1, 0)
    assert [(w.row, w.column) for w in preview.warnings] == [(2, "Title")]
    assert "cut to its first" in preview.warnings[0].reason
    summary = run_batch(batch)
    assert (summary.created, summary.rejected) == (1, 0)
    lead = Lead.objects.get(email="ada@analytical.example")
    limit = Lead._meta.get_field("title").max_length
    assert lead.title == title[:limit]
    batch.refresh_from_db()
    assert batch.preview["warned"] == 1


def test_an_overlong_email_still_rejects_the_row(channel):
    data = csv_bytes([["Email", "Title"], ["a" * 300 + "@example.com", "CEO"]])
    batch, _ = create_batch(data, "long.csv", channel=channel)
    preview = preview_batch(batch)
    assert (preview.created, preview.rejected, preview.warnings) == (0, 1, [])


def test_the_preview_shows_the_row_warning(client, marketer, channel):
    client.force_login(marketer)
    data = csv_bytes([["Email", "Company"], ["ada@analytical.example", "Analytical " * 100]])
    response = upload(client, channel, data)
    page = client.get(response.url)
    assert 'data-testid="row-warnings"' in page.content.decode()
    assert "Company was cut to its first" in page.content.decode()


def test_a_country_we_do_not_know_keeps_the_lead_with_a_warning(client, marketer, channel):
    client.force_login(marketer)
    data = csv_bytes([["Email", "Country"], ["ada@analytical.example", "Untied States"]])
    response = upload(client, channel, data)
    page = client.get(response.url).content.decode()
    assert 'data-testid="row-warnings"' in page
    assert "Country “Untied States” is not one we know; left empty." in page
    batch = ImportBatch.objects.get()
    summary = run_batch(batch)
    assert (summary.created, summary.rejected) == (1, 0)
    assert [(w.row, w.column, w.reason) for w in summary.warnings] == [
        (2, "Country", "Country “Untied States” is not one we know; left empty.")
    ]
    assert Lead.objects.get().country == ""


def test_a_country_we_know_has_no_warning(channel):
    data = csv_bytes([["Email", "Country"], ["ada@analytical.example", "Deutschland"]])
    batch, _ = create_batch(data, "list.csv", channel=channel)
    assert preview_batch(batch).warnings == []
    run_batch(batch)
    assert Lead.objects.get().country == "DE"


WESTERN = [
    ["Vorname", "Nachname", "E-Mail", "Firma"],
    ["Jean", "Lefèvre", "jean@lefevre.example", "Bäckerei Lefèvre"],
    ["Ana", "Muñoz", "ana@munoz.example", "Muñoz & Söhne"],
]


def test_a_cp1252_file_with_lefevre_and_munoz_decodes_right(channel):
    batch, table = create_batch(csv_bytes(WESTERN, "cp1252", ";"), "de.csv", channel=channel)
    assert table.encoding == "cp1252"
    run_batch(batch)
    names = set(Lead.objects.values_list("last_name", "company"))
    assert names == {("Lefèvre", "Bäckerei Lefèvre"), ("Muñoz", "Muñoz & Söhne")}


def test_a_cp1250_file_from_central_europe_still_reads_as_cp1250():
    data = csv_bytes([["Imię", "Email"], ["Łukasz Wałęsa", "l@x.example"]], "cp1250")
    table = read_table(data)
    assert (table.encoding, table.rows[0][1][0]) == ("cp1250", "Łukasz Wałęsa")


def test_the_guessed_encoding_shows_and_can_be_changed(client, marketer, channel):
    client.force_login(marketer)
    batch, _ = create_batch(csv_bytes(WESTERN, "cp1252", ";"), "de.csv", channel=channel)
    url = reverse("leads:import_preview", args=[batch.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="encoding"' in page and "Windows-1252" in page
    assert 'name="encoding"' in page
    response = client.post(url, {"encoding": "cp1250"})
    assert response.status_code == 302
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert batch.mapping["encoding"] == "cp1250"
    assert batch_table(batch).rows[0][1][1] == "Lefčvre"  # what the person asked for
    client.post(url, {"encoding": ""})
    batch = ImportBatch.objects.get(pk=batch.pk)
    assert batch_table(batch).rows[0][1][1] == "Lefèvre"


def test_an_encoding_that_cannot_read_the_file_is_refused_and_nothing_changes(
    client, marketer, channel
):
    client.force_login(marketer)
    batch, _ = create_batch(csv_bytes(WESTERN, "cp1252", ";"), "de.csv", channel=channel)
    url = reverse("leads:import_preview", args=[batch.pk])
    response = client.post(url, {"encoding": "utf-8"}, follow=True)
    assert "cannot be read as UTF-8" in response.content.decode()
    batch.refresh_from_db()
    assert "encoding" not in batch.mapping


@pytest.mark.parametrize(
    "headers",
    [
        ["Vorname", "Nachname", "Firma", "Telefon", "Land", "E-Mail", "Position"],
        ["Prénom", "Nom", "Société", "Téléphone", "Pays", "Courriel", "Fonction"],
        ["Nombre", "Apellidos", "Empresa", "Teléfono", "País", "Correo electrónico", "Cargo"],
    ],
)
def test_german_french_and_spanish_headers_are_mapped(headers):
    assert auto_mapping(headers) == [
        "first_name", "last_name", "company", "phone", "country", "email", "title",
    ]  # fmt: skip


def test_headers_written_with_underscores_are_mapped_as_web_to_lead_maps_them(
    client, marketer, channel
):
    headers = ["email_address", "first_name", "LAST_NAME", "job_title", "company_name"]
    assert auto_mapping(headers) == ["email", "first_name", "last_name", "title", "company"]
    client.force_login(marketer)
    data = csv_bytes([headers, ["ada@engines.example", "Ada", "Lovelace", "CTO", "Engines"]])
    response = upload(client, channel, data)
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_preview", args=[batch.pk])  # no mapping step
    run_batch(batch)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.title, lead.company) == (
        "Ada", "Lovelace", "CTO", "Engines",
    )  # fmt: skip


def test_a_german_file_maps_every_column_and_goes_to_the_preview(client, marketer, channel):
    client.force_login(marketer)
    data = csv_bytes(
        [
            ["Vorname", "Nachname", "Firma", "Telefon", "Land", "E-Mail"],
            ["René", "Müller", "Bauwerk GmbH", "+49 30 901820", "Deutschland", "r@bau.example"],
        ],
        "cp1252",
        ";",
    )
    response = upload(client, channel, data)
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_preview", args=[batch.pk])
    run_batch(batch)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.company, lead.phone, lead.country) == (
        "René", "Müller", "Bauwerk GmbH", "+49 30 901820", "DE",
    )  # fmt: skip


def test_an_unknown_column_forces_the_mapping_step(client, marketer, channel):
    client.force_login(marketer)
    data = csv_bytes(
        [
            ["Vorname", "E-Mail", "Notizen", ""],
            ["René", "r@bau.example", "Rief zurück", "VIP"],
        ]
    )
    response = upload(client, channel, data)
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_mapping", args=[batch.pk])
    page = client.get(response.url).content.decode()
    assert page.count('data-testid="unrecognised"') == 2
    assert "Notizen" in page
    mapped = client.post(response.url, {"col_0": "first_name", "col_1": "email"})
    assert mapped.url == reverse("leads:import_preview", args=[batch.pk])
    preview = client.get(mapped.url).content.decode()
    assert "Not imported: Notizen, (column 4, no header)" in preview


def test_a_webinar_files_registration_time_becomes_the_activity_time(channel):
    campaign = "Webinar March"
    data = csv_bytes(
        [
            ["First Name", "Last Name", "Email", "Registration Time", "Approval Status"],
            ["Ada", "Lovelace", "ada@analytical.example", "Mar 01, 2025 10:02:11", "approved"],
            ["Grace", "Hopper", "grace@cobol.example", "03/02/2025 09:15:00 AM", "approved"],
            ["Linus", "Berg", "linus@nordic.example", "soon", "approved"],
        ]
    )
    batch, _ = create_batch(data, "webinar.csv", channel=channel, campaign_name=campaign)
    summary = run_batch(batch)
    assert (summary.created, summary.rejected) == (3, 0)
    assert [(w.row, w.column) for w in summary.warnings] == [(4, "Registration Time")]
    zone = timezone.get_current_timezone()
    expected = {
        "ada@analytical.example": dt.datetime(2025, 3, 1, 10, 2, 11, tzinfo=zone),
        "grace@cobol.example": dt.datetime(2025, 3, 2, 9, 15, tzinfo=zone),
    }
    for email, when in expected.items():
        activity = Activity.objects.get(lead__email=email, kind=Activity.Kind.LIST_IMPORT)
        assert activity.occurred_at == when
        touch = LeadEvent.objects.get(lead__email=email, kind=LeadEvent.Kind.TOUCH_POINT)
        assert touch.at == when
    undated = Activity.objects.get(lead__email="linus@nordic.example")
    assert undated.occurred_at > timezone.now() - dt.timedelta(hours=1)


def test_zoom_attendees_are_dated_by_their_join_time(channel):
    data = csv_bytes(
        [
            ["Attended", "First Name", "Email", "Registration Time", "Join Time"],
            ["Yes", "Ada", "ada@analytical.example", "2025-02-20 08:00:00", "2025-03-01 16:01:02"],
            ["No", "Grace", "grace@cobol.example", "2025-02-21 08:00:00", ""],
        ]
    )
    batch, _ = create_batch(data, "attendees.csv", channel=channel)
    assert batch.preset == "zoom_attendees"
    run_batch(batch)
    times = dict(Activity.objects.values_list("lead__email", "occurred_at"))
    assert times["ada@analytical.example"].date() == dt.date(2025, 3, 1)
    assert times["grace@cobol.example"].date() == dt.date(2025, 2, 21)


def test_a_generic_csv_is_no_vendors_export(client, marketer, channel):
    client.force_login(marketer)
    generic = [
        ["First Name", "Last Name", "Email Address", "Job Title", "Company Name", "Country"],
        ["Ada", "Lovelace", "ada@analytical.example", "CTO", "Analytical", "UK"],
    ]
    response = upload(client, channel, csv_bytes(generic))
    batch = ImportBatch.objects.get()
    assert batch.preset == ""
    page = client.get(response.url).content.decode()
    assert "Recognised as" not in page


def test_a_marketo_export_is_recognised_by_its_own_headers(channel):
    headers = ["Id", "First Name", "Last Name", "Email Address", "Lead Score", "Unsubscribed"]
    assert detect_preset(headers).identifier == "marketo"
    assert detect_preset(headers[:4]) is None


def test_the_result_page_links_to_the_imports_leads(client, marketer, channel):
    client.force_login(marketer)
    LeadFactory(email="grace@cobol.example", channel=channel)
    data = csv_bytes(
        [
            ["Email", "First Name"],
            ["ada@analytical.example", "Ada"],
            ["grace@cobol.example", "Grace"],
        ]
    )
    batch, _ = create_batch(data, "list.csv", channel=channel)
    confirm_batch(batch)
    run_batch(batch)
    page = client.get(reverse("leads:import_detail", args=[batch.pk])).content.decode()
    assert 'data-testid="batch-leads"' in page
    for lead in Lead.objects.all():
        assert reverse("leads:detail", args=[lead.pk]) in page
    assert "created" in page and "already there" in page


def test_a_dated_list_can_be_reverted_whole(channel):
    # The touch points carry the registration time, not the import's: still the batch's own.
    data = csv_bytes(
        [
            ["First Name", "Last Name", "Email", "Registration Time"],
            ["Ada", "Lovelace", "ada@analytical.example", "Mar 01, 2025 10:02:11"],
            ["Grace", "Hopper", "grace@cobol.example", "Mar 02, 2025 09:15:00"],
        ]
    )
    batch, _ = create_batch(data, "webinar.csv", channel=channel, campaign_name="Webinar March")
    run_batch(batch)
    batch.refresh_from_db()

    plan = plan_revert(batch)
    assert (len(plan.remove), plan.kept) == (2, [])
    revert_batch(batch, by=None)
    assert not Lead.objects.filter(email__in=["ada@analytical.example", "grace@cobol.example"])
