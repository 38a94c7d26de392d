"""The import pages: upload, preview, mapping, confirm, progress, rejected rows, revert."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import Channel
from config.celery import app as celery_app
from leads.importing.batches import create_batch
from leads.models import ImportBatch, Lead, SavedMapping
from leads.spreadsheet import PHONE
from tests.leads import import_files as files


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def confirm(client, django_capture_on_commit_callbacks):
    """Confirm an import and let it run at once (Celery eager, on-commit hooks executed)."""

    def run(batch):
        celery_app.conf.task_always_eager = True
        try:
            with django_capture_on_commit_callbacks(execute=True):
                return client.post(reverse("leads:import_confirm", args=[batch.pk]))
        finally:
            celery_app.conf.task_always_eager = False

    return run


@pytest.fixture
def channel(db):
    return Channel.objects.get(slug="purchased-list")


def upload(client, channel, data: bytes, name: str = "apollo.csv", **extra):
    return client.post(
        reverse("leads:imports"),
        {"file": SimpleUploadedFile(name, data), "channel": channel.pk, **extra},
    )


def test_sales_reps_cannot_reach_imports(client, rep):
    client.force_login(rep)
    assert client.get(reverse("leads:imports")).status_code == 403


def test_upload_leads_to_a_preview_with_counts_and_rejections(client, marketer, channel):
    client.force_login(marketer)
    data, _ = files.messy_file("apollo")
    response = upload(client, channel, data, campaign="Q1 Apollo")
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_preview", args=[batch.pk])
    page = client.get(response.url).content.decode()
    assert 'data-testid="count-create">5<' in page
    assert 'data-testid="count-rejected">4<' in page
    assert "Email is missing." in page
    assert "Recognised as a Apollo people export" in page
    assert not Lead.objects.exists()


def test_confirm_runs_the_import_and_shows_the_result(client, marketer, channel, confirm):
    client.force_login(marketer)
    data, _ = files.messy_file("apollo")
    batch_url = upload(client, channel, data).url
    batch = ImportBatch.objects.get()
    client.get(batch_url)
    response = confirm(batch)
    assert response.url == batch.get_absolute_url()
    batch.refresh_from_db()
    assert (batch.status, batch.created, batch.rejected, batch.rows_done) == ("done", 5, 4, 9)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert 'data-testid="progress-percent">100%<' in page
    assert batch.created_by == marketer


def test_a_binary_upload_gets_a_clear_message(client, marketer, channel):
    client.force_login(marketer)
    response = upload(client, channel, bytes(range(256)) * 10, name="photo.png")
    assert response.status_code == 400
    assert "not a CSV or Excel file" in response.content.decode()


def test_a_file_over_the_cap_is_refused(client, marketer, channel, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 50
    client.force_login(marketer)
    response = upload(client, channel, b"Email\n" + b"x@y.example\n" * 20)
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()


def test_unknown_headers_are_mapped_by_hand_and_the_mapping_saved(client, marketer, channel):
    client.force_login(marketer)
    data = b"Kontakt-Mail;Vorname;Firma\nada@engines.example;Ada;Engines\n"
    response = upload(client, channel, data, name="messe.csv")
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_mapping", args=[batch.pk])
    response = client.post(
        response.url,
        {"col_0": "email", "col_1": "first_name", "col_2": "company", "save_as": "Messe"},
    )
    assert response.url == reverse("leads:import_preview", args=[batch.pk])
    assert SavedMapping.objects.get(name="Messe").mapping == {
        "Kontakt-Mail": "email",
        "Vorname": "first_name",
        "Firma": "company",
    }
    assert 'data-testid="count-create">1<' in client.get(response.url).content.decode()


def test_a_saved_mapping_applies_to_the_next_file(client, marketer, channel):
    saved = SavedMapping.objects.create(
        name="Messe", mapping={"Kontakt-Mail": "email", "Firma": "company"}
    )
    client.force_login(marketer)
    data = b"Kontakt-Mail;Firma\nada@engines.example;Engines\n"
    response = upload(client, channel, data, name="messe2.csv", saved_mapping=saved.pk)
    assert response.url.endswith("/preview/")


def test_the_mapping_needs_an_email_column(client, marketer, channel):
    client.force_login(marketer)
    upload(client, channel, b"Kontakt;Firma\nx;y\n", name="m.csv")
    batch = ImportBatch.objects.get()
    response = client.post(reverse("leads:import_mapping", args=[batch.pk]), {"col_0": ""})
    assert response.status_code == 400
    assert "email address" in response.content.decode()


class FormFields(HTMLParser):
    """What a browser posts for the page's mapping form: each named field, with the option
    selected (or the first one) for a select."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_form = False
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("data-testid") == "mapping-form"
        elif self.in_form and tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif self.in_form and tag == "select":
            self.select = attrs["name"]
        elif (
            self.select
            and tag == "option"
            and (self.select not in self.fields or "selected" in attrs)
        ):
            self.fields[self.select] = attrs.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.in_form = False


def posted_fields(page) -> dict[str, str]:
    parser = FormFields()
    parser.feed(page.content.decode())
    return parser.fields


def wide_file(columns: int) -> bytes:
    headers = ["email", "Company name"] + [f"Custom property {i}" for i in range(columns - 2)]
    values = ["ada@engines.example", "Engines"] + ["v"] * (columns - 2)
    return (",".join(headers) + "\n" + ",".join(values) + "\n").encode()


def test_a_file_of_a_thousand_columns_can_be_mapped(client, marketer, channel):
    client.force_login(marketer)
    response = upload(client, channel, wide_file(1001), name="hubspot.csv")
    batch = ImportBatch.objects.get()
    assert response.url == reverse("leads:import_mapping", args=[batch.pk])
    fields = posted_fields(client.get(response.url))
    assert len(fields) < 20
    assert (fields["source_email"], fields["source_company"]) == ("0", "1")
    fields["source_title"] = "7"  # "Custom property 5" holds the job title
    response = client.post(response.url, fields)
    assert response.status_code == 302
    assert response.url == reverse("leads:import_preview", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.mapping["columns"][:2] == ["email", "company"]
    assert batch.mapping["columns"][7] == "title"
    assert set(batch.mapping["columns"][2:7] + batch.mapping["columns"][8:]) == {""}
    assert 'data-testid="count-create">1<' in client.get(response.url).content.decode()


def test_a_wide_file_cannot_give_one_column_to_two_fields(client, marketer, channel):
    client.force_login(marketer)
    upload(client, channel, wide_file(1001), name="hubspot.csv")
    batch = ImportBatch.objects.get()
    url = reverse("leads:import_mapping", args=[batch.pk])
    response = client.post(url, {"source_email": "0", "source_company": "5", "source_title": "5"})
    assert response.status_code == 400
    assert "“Custom property 3” is chosen for both" in response.content.decode()
    response = client.post(url, {"source_company": "1"})
    assert response.status_code == 400
    assert "email address" in response.content.decode()


def test_a_normal_file_is_still_mapped_column_by_column(client, marketer, channel):
    client.force_login(marketer)
    response = upload(client, channel, b"Kontakt-Mail;Vorname\nada@engines.example;Ada\n")
    fields = posted_fields(client.get(response.url))
    assert set(fields) == {"csrfmiddlewaretoken", "col_0", "col_1", "save_as"}


def test_rejected_rows_download_escapes_formulas(client, marketer, channel):
    row = {**files.row_for("apollo", files.person(0)), "Email": "=cmd|' /C calc'!A0"}
    batch, _ = create_batch(files.to_csv(files.records("apollo", [row])), "a.csv", channel=channel)
    client.force_login(marketer)
    client.get(reverse("leads:import_preview", args=[batch.pk]))
    response = client.get(reverse("leads:import_errors", args=[batch.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="a-rejected-rows.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Row", "Column", "Reason"]
    assert rows[1][0] == "2" and rows[1][1] == "Email"
    email_cell = rows[1][3 + files.APOLLO_HEADERS.index("Email")]
    assert email_cell == "'=cmd|' /C calc'!A0"
    # Phone numbers (+ then digits) cannot call anything and stay as they are.
    assert all(not cell.startswith(("=", "-", "@")) for r in rows for cell in r)
    assert all(PHONE.fullmatch(cell) for r in rows for cell in r if cell.startswith("+"))


def test_user_text_is_escaped_on_the_pages(client, marketer, channel):
    client.force_login(marketer)
    data = b"Email,Title\n<img src=x onerror=alert(1)>@x.example,x\n"
    upload(client, channel, data, campaign="<i>Spring</i>")
    batch = ImportBatch.objects.get()
    page = client.get(reverse("leads:import_preview", args=[batch.pk])).content.decode()
    assert "<i>Spring</i>" not in page and "&lt;i&gt;Spring&lt;/i&gt;" in page
    assert "onerror=alert(1)>" not in page and "onerror=alert(1)&gt;" in page


def test_revert_from_the_page(client, marketer, channel, confirm):
    client.force_login(marketer)
    upload(client, channel, files.messy_file("apollo")[0])
    batch = ImportBatch.objects.get()
    confirm(batch)
    client.post(reverse("leads:import_revert", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "reverted"
    assert not Lead.objects.exists()


def test_progress_partial_asks_htmx_to_reload_when_done(client, marketer, channel, confirm):
    client.force_login(marketer)
    upload(client, channel, files.messy_file("apollo")[0])
    batch = ImportBatch.objects.get()
    confirm(batch)
    response = client.get(reverse("leads:import_progress", args=[batch.pk]), HTTP_HX_REQUEST="true")
    assert response["HX-Refresh"] == "true"


def test_import_history_query_count_does_not_grow(
    client, marketer, channel, django_assert_num_queries
):
    from tests.leads.workspace_helpers import assert_constant_queries

    client.force_login(marketer)
    create_batch(b"Email\na@b.example\n", "one.csv", channel=channel, campaign_name="C1")

    def more():
        for i in range(5):
            create_batch(
                b"Email\na@b.example\n", f"f{i}.csv", channel=channel, campaign_name=f"C{i}"
            )

    assert_constant_queries(
        django_assert_num_queries, more, lambda: client.get(reverse("leads:imports"))
    )
