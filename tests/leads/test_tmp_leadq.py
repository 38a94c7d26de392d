from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Stage
from tests.factories import ActivityFactory, FeedbackFactory, LeadFactory


def test_print(client, rep):
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    ActivityFactory.create_batch(3, lead=lead)
    FeedbackFactory(lead=lead, author=rep)
    client.force_login(rep)
    client.get(lead.get_absolute_url())
    with CaptureQueriesContext(connection) as c:
        client.get(lead.get_absolute_url())
    for q in c.captured_queries:
        print("Q:", q["sql"][:400])
