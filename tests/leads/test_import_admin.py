"""Ops's side: the admin import (django-import-export) with the same rules, and intake tokens."""

from __future__ import annotations

import re

import pytest
import tablib
from django.contrib.messages import get_messages
from django.urls import reverse

from agreements.models import Channel
from agreements.stages import Stage
from leads.intake import authenticate
from leads.models import IntakeToken, Lead
from leads.resources import LeadResource
from tests.factories import LeadFactory
from tests.leads import import_files as files

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return Channel.objects.get(slug="webinar")


def apollo_dataset(rows) -> tablib.Dataset:
    grid = files.records("apollo", rows)
    return tablib.Dataset(*grid[1:], headers=grid[0])


def test_admin_import_maps_vendor_headers_and_uses_the_channel(channel):
    rows = [files.row_for("apollo", files.person(i)) for i in range(3)]
    result = LeadResource(channel=channel).import_data(apollo_dataset(rows), dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["new"] == 3
    lead = Lead.objects.get(email="ada@analytical.example")
    assert (lead.stage, lead.channel, lead.title) == (Stage.FAN, channel, "VP Engineering")


def test_admin_import_only_fills_empty_fields(channel):
    LeadFactory(email="ada@analytical.example", first_name="Augusta", title="")
    rows = [files.row_for("apollo", files.person(0))]
    LeadResource(channel=channel).import_data(apollo_dataset(rows), dry_run=False)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.title) == ("Augusta", "VP Engineering")


def test_admin_import_rejects_bad_rows_naming_the_column(channel):
    rows = [{**files.row_for("apollo", files.person(0)), "Email": "nope"}]
    result = LeadResource(channel=channel).import_data(apollo_dataset(rows), dry_run=True)
    assert result.has_validation_errors()
    errors = result.invalid_rows[0].error_dict
    assert "not a valid address" in errors["email"][0]


def test_lead_export_escapes_formula_cells():
    LeadFactory(email="x@y.example", company='=HYPERLINK("http://evil")', phone="+1 555")
    dataset = LeadResource().export()
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    assert row["company"] == '\'=HYPERLINK("http://evil")'
    assert row["phone"] == "'+1 555"


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
