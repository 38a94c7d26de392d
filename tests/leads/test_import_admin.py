"""Ops's side: the admin's Import goes through the list import, export escapes, intake tokens."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import Channel
from leads.intake import authenticate
from leads.models import ImportBatch, IntakeToken, Lead
from leads.resources import LeadResource
from tests.factories import LeadFactory
from tests.leads import import_files as files

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return Channel.objects.get(slug="webinar")


def test_admin_import_opens_the_list_import_wizard(client, ops):
    client.force_login(ops)
    response = client.get(reverse("admin:leads_lead_import"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("leads:imports")
    assert any("upload" in str(m) for m in get_messages(response.wsgi_request))


def test_admin_import_never_saves_rows_of_its_own(client, ops, channel):
    client.force_login(ops)
    data = files.to_csv(files.records("apollo", [files.row_for("apollo", files.person(0))]))
    upload = SimpleUploadedFile("apollo.csv", data, content_type="text/csv")
    response = client.post(
        reverse("admin:leads_lead_import"),
        {"import_file": upload, "format": "0", "channel": channel.pk},
    )
    assert response.status_code == 302
    response = client.post(reverse("admin:leads_lead_process_import"), {"channel": channel.pk})
    assert response.status_code == 302
    assert not Lead.objects.exists()


def test_lead_export_escapes_formula_cells():
    LeadFactory(email="x@y.example", company='=HYPERLINK("http://evil")', phone="+1 555")
    dataset = LeadResource().export()
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    assert row["company"] == '\'=HYPERLINK("http://evil")'
    assert row["phone"] == "+1 555"  # a phone number cannot call anything


def test_ops_creates_a_token_in_the_admin_and_sees_it_once(client, ops):
    client.force_login(ops)
    demo = Channel.objects.get(slug="demo-request")
    response = client.post(
        reverse("admin:leads_intaketoken_add"), {"channel": demo.pk, "name": "Website demo form"}
    )
    assert response.status_code == 302
    token = IntakeToken.objects.get()
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    raw = re.search(r"<code>(acc_[^<]+)</code>", text).group(1)
    assert authenticate("demo-request", f"Bearer {raw}") == token
    assert raw not in token.token_hash


def test_ops_revokes_tokens_with_an_admin_action(client, ops):
    from leads.intake import issue_token

    token, _ = issue_token(Channel.objects.get(slug="demo-request"), "Old form")
    client.force_login(ops)
    client.post(
        reverse("admin:leads_intaketoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.is_revoked


def test_admin_import_refuses_a_file_over_the_upload_cap_and_reads_none(
    client, ops, channel, settings
):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    client.force_login(ops)
    data = files.to_csv(files.records("apollo", [files.row_for("apollo", files.person(0))]))
    upload = SimpleUploadedFile("apollo.csv", data, content_type="text/csv")
    response = client.post(
        reverse("admin:leads_lead_import"), {"import_file": upload, "format": "0"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("leads:imports")
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [
        f"The file is {len(data) / 1e6:.1f} MB; the limit is 0 MB. Split it into smaller files."
    ]
    assert not ImportBatch.objects.exists() and not Lead.objects.exists()
