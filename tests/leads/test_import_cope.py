"""Imports that cope with what marketing really has: overlong cells, Western European
encodings, headers in German, French and Spanish, dates of the touch, abandoned uploads."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import Channel
from leads.importing.batches import create_batch, preview_batch, run_batch
from leads.models import Lead


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
