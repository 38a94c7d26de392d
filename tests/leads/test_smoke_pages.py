import pytest

from tests.factories import LeadFactory


@pytest.mark.django_db
def test_rep_sees_own_lead_page(client, rep):
    lead = LeadFactory(owner=rep, stage="mql")
    client.force_login(rep)
    response = client.get(lead.get_absolute_url())
    assert response.status_code == 200
    assert lead.email in response.content.decode()
