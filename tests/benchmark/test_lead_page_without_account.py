"""Found by the benchmark's data set: a lead with an industry but no account."""

from __future__ import annotations

from tests.factories import LeadFactory


def test_lead_page_shows_industry_of_a_lead_without_account(client, rep):
    lead = LeadFactory(owner=rep, account=None, industry="logistics")
    client.force_login(rep)

    response = client.get(lead.get_absolute_url())

    assert response.status_code == 200
    assert "logistics" in response.content.decode()
