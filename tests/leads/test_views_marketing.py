"""Marketing's feedback inbox: grouped, filterable, each lead one click away, answerable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Feedback
from tests.factories import CampaignFactory, ChannelFactory, FeedbackFactory, LeadFactory

pytestmark = pytest.mark.django_db

INBOX = reverse("leads:marketing")


def _items(response) -> list[int]:
    return [f.pk for f in response.context["page"]]


def test_inbox_lists_feedback_with_a_link_to_the_lead(client, marketer, rep):
    feedback = FeedbackFactory(author=rep, text="Wrong persona entirely")
    client.force_login(marketer)

    response = client.get(INBOX)

    html = response.content.decode()
    assert "Wrong persona entirely" in html
    assert f'href="{feedback.lead.get_absolute_url()}"' in html
    assert f'href="{reverse("leads:imports")}"' in html


def test_inbox_filters_by_channel_and_reason(client, marketer, rep):
    webinar = ChannelFactory(slug="webinar")
    wanted = FeedbackFactory(lead=LeadFactory(channel=webinar), reason="no_budget")
    FeedbackFactory(lead=LeadFactory(channel=webinar), reason="wrong_persona")
    FeedbackFactory(lead=LeadFactory(), reason="no_budget")
    client.force_login(marketer)

    response = client.get(INBOX, {"channel": webinar.pk, "reason": "no_budget"})

    assert _items(response) == [wanted.pk]


def test_inbox_groups_by_campaign_with_counts(client, marketer):
    campaign = CampaignFactory(name="Spring")
    for _ in range(2):
        FeedbackFactory(lead=LeadFactory(campaign=campaign))
    FeedbackFactory()
    client.force_login(marketer)

    response = client.get(INBOX, {"group": "campaign"})

    groups = {g.label: g.count for g in response.context["groups"]}
    assert groups == {"Spring": 2, "(none)": 1}


def test_inbox_shows_replies_and_can_hide_answered_feedback(client, marketer, rep):
    answered = FeedbackFactory(author=rep)
    Feedback.objects.create(lead=answered.lead, reply_to=answered, author=marketer, text="ok")
    open_one = FeedbackFactory(author=rep)
    client.force_login(marketer)

    response = client.get(INBOX, {"unanswered": "on"})

    assert _items(response) == [open_one.pk]


def test_inbox_query_count_does_not_grow(client, marketer, rep, django_assert_num_queries):
    from tests.leads.workspace_helpers import assert_constant_queries

    FeedbackFactory.create_batch(3, author=rep)
    client.force_login(marketer)

    def more() -> None:
        for _ in range(40):
            root = FeedbackFactory(author=rep, lead=LeadFactory(campaign=CampaignFactory()))
            Feedback.objects.create(lead=root.lead, reply_to=root, author=marketer, text="re")

    assert_constant_queries(django_assert_num_queries, more, lambda: client.get(INBOX))


def test_reps_have_no_inbox(client, rep):
    client.force_login(rep)

    assert client.get(INBOX).status_code == 403
