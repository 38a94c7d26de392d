"""Content requests in the browser: who may ask, who sees what, who answers; the requester
and marketing are told."""

from __future__ import annotations

import pytest
from django.urls import reverse

from agreements import roles
from content import requests
from content.models import Asset, ContentRequest
from notifications.models import Notification
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


def ask(rep, text="A deck for healthcare CFOs", **fields) -> ContentRequest:
    return requests.request_content(rep, text, **fields)


def test_a_rep_requests_content_and_marketing_is_told(
    client, rep, marketer, django_capture_on_commit_callbacks
):
    other_marketer = UserFactory(username="marketer-2", role=roles.MARKETING)
    lead = LeadFactory(owner=rep, stage="working")
    client.force_login(rep)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("content:request_new"),
            {"text": "A deck for healthcare CFOs", "stage": "working", "lead": lead.pk},
        )

    made = ContentRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("content:request_detail", args=[made.pk])
    assert (made.requested_by, made.lead, made.stage) == (rep, lead, "working")
    told = Notification.objects.filter(kind=Kind.CONTENT_REQUEST)
    assert sorted(told.values_list("user", flat=True)) == sorted([marketer.pk, other_marketer.pk])


def test_the_request_form_is_offered_from_the_lead(client, rep):
    lead = LeadFactory(owner=rep, stage="working")
    client.force_login(rep)

    response = client.get(reverse("content:request_new"), {"lead": lead.pk})

    assert response.status_code == 200
    assert f'value="{lead.pk}"' in response.content.decode()


def test_a_rep_cannot_request_about_another_reps_lead(client, rep, other_rep):
    lead = LeadFactory(owner=other_rep, stage="working")
    client.force_login(rep)

    response = client.post(reverse("content:request_new"), {"text": "Deck", "lead": lead.pk})

    assert response.status_code == 404
    assert not ContentRequest.objects.exists()


def test_an_empty_request_is_refused_and_loses_nothing(client, rep):
    client.force_login(rep)

    response = client.post(reverse("content:request_new"), {"text": "   ", "stage": "sql"})

    assert response.status_code == 422
    assert not ContentRequest.objects.exists()


@pytest.mark.parametrize("who", ["marketer", "ops"])
def test_only_sales_requests_content(client, request, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get(reverse("content:request_new")).status_code == 403
    assert client.post(reverse("content:request_new"), {"text": "x"}).status_code == 403
    with pytest.raises(requests.RequestError):
        ask(request.getfixturevalue(who))


def test_marketing_sees_every_request_in_its_inbox(client, rep, other_rep, marketer):
    mine, theirs = ask(rep, "Mine"), ask(other_rep, "Theirs")
    client.force_login(marketer)

    html = client.get(reverse("content:requests")).content.decode()

    assert f'data-request="{mine.pk}"' in html and f'data-request="{theirs.pk}"' in html


def test_a_rep_sees_only_their_own_requests(client, rep, other_rep):
    mine, theirs = ask(rep, "Mine"), ask(other_rep, "Theirs")
    client.force_login(rep)

    html = client.get(reverse("content:requests")).content.decode()

    assert f'data-request="{mine.pk}"' in html
    assert f'data-request="{theirs.pk}"' not in html
    assert client.get(reverse("content:request_detail", args=[theirs.pk])).status_code == 404


def test_a_manager_sees_their_teams_requests_only(client, manager, rep, other_rep):
    team, other = ask(rep, "Team"), ask(other_rep, "Other team")
    client.force_login(manager)

    assert client.get(reverse("content:request_detail", args=[team.pk])).status_code == 200
    assert client.get(reverse("content:request_detail", args=[other.pk])).status_code == 404


def test_request_text_is_escaped(client, rep, marketer):
    ask(rep, "<script>alert(1)</script>")
    client.force_login(marketer)

    html = client.get(reverse("content:requests")).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_marketing_answers_with_an_asset_and_the_requester_is_told(
    client, rep, marketer, django_capture_on_commit_callbacks
):
    made = ask(rep)
    asset = AssetFactory(title="Healthcare CFO deck")
    client.force_login(marketer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("content:request_answer", args=[made.pk]),
            {"asset": asset.pk, "text": "Slide 4 has the numbers."},
        )

    made.refresh_from_db()
    assert response.status_code == 302
    assert (made.answer_asset, made.answered_by, made.assigned_to) == (asset, marketer, marketer)
    (note,) = Notification.objects.filter(user=rep, kind=Kind.CONTENT_REQUEST)
    assert "answered" in note.title
    detail = client.get(reverse("content:request_detail", args=[made.pk])).content.decode()
    assert "Healthcare CFO deck" in detail and 'data-testid="answer"' in detail


def test_an_answer_needs_an_asset_or_words(client, rep, marketer):
    made = ask(rep)
    client.force_login(marketer)

    response = client.post(reverse("content:request_answer", args=[made.pk]), {"text": " "})

    made.refresh_from_db()
    assert response.status_code == 422
    assert made.answered_at is None


def test_a_draft_asset_is_no_answer(client, rep, marketer):
    made = ask(rep)
    draft = AssetFactory(status=Asset.Status.DRAFT)
    client.force_login(marketer)

    response = client.post(reverse("content:request_answer", args=[made.pk]), {"asset": draft.pk})

    assert response.status_code == 422
    with pytest.raises(requests.RequestError):
        requests.answer(made, marketer, asset=draft)


def test_a_request_is_answered_once(rep, marketer, ops):
    made = ask(rep)
    requests.answer(made, marketer, text="Here")

    with pytest.raises(requests.RequestError, match="already been answered"):
        requests.answer(made, ops, text="Again")


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_sales_cannot_answer_or_take_a_request(client, request, rep, who):
    made = ask(rep)
    client.force_login(request.getfixturevalue(who))

    answer = client.post(reverse("content:request_answer", args=[made.pk]), {"text": "x"})
    take = client.post(reverse("content:request_take", args=[made.pk]))

    made.refresh_from_db()
    assert (answer.status_code, take.status_code) == (403, 403)
    assert (made.answered_at, made.assigned_to) == (None, None)


def test_a_marketer_takes_a_request(client, rep, marketer):
    made = ask(rep)
    client.force_login(marketer)

    client.post(reverse("content:request_take", args=[made.pk]))

    made.refresh_from_db()
    assert made.assigned_to == marketer


def test_the_inbox_answers_get_only_for_answers(client, rep, marketer):
    made = ask(rep)
    client.force_login(marketer)

    assert client.get(reverse("content:request_answer", args=[made.pk])).status_code == 405


def test_anonymous_users_are_sent_to_log_in(client, rep):
    made = ask(rep)

    for url in (
        reverse("content:requests"),
        reverse("content:request_new"),
        reverse("content:request_detail", args=[made.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
