"""Web-to-lead's bounds: hostile JSON, a body cap, campaigns, rate limits, reused keys.

Every refusal is a JSON answer with a clear message, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.urls import reverse

from config.security import take_slot
from leads.intake import MAX_JSON_DEPTH, issue_token
from leads.models import Activity, Campaign, IntakeSubmission, Lead
from tests.factories import CampaignFactory, ChannelFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
DEMO = {"email": "ada@analytical.example", "first_name": "Ada", "message": "A demo, please."}


@pytest.fixture
def demo_channel():
    return ChannelFactory(slug="demo-request")


@pytest.fixture
def token(demo_channel):
    return issue_token(demo_channel, "Website demo form")[1]


def post_raw(client, body: bytes | str, token: str, content_type="application/json", **headers):
    return client.post(
        reverse("leads:intake", args=["demo-request"]),
        data=body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


def post_json(client, payload, token, **headers):
    return post_raw(client, json.dumps(payload), token, **headers)


def messages_of(response) -> str:
    return " ".join(e["message"] for e in response.json()["errors"])


# --- Hostile JSON -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "ada@analytical.example", "employees": NaN}',
        '{"email": "ada@analytical.example", "employees": Infinity}',
        '{"email": "ada@analytical.example", "employees": -Infinity}',
        '{"email": "ada@analytical.example", "employees": 1e400}',
        '{"email": "ada@analytical.example", "extra": {"deep": [1, 2, NaN]}}',
        '{"email": "ada@analytical.example", "unknown_key": [-1e400]}',
    ],
    ids=["nan", "infinity", "minus-infinity", "1e400", "nested-nan", "unknown-key"],
)
def test_non_finite_numbers_anywhere_are_a_400_naming_the_problem(client, token, body):
    response = post_raw(client, body, token)
    assert response.status_code == 400
    assert "finite numbers" in messages_of(response)
    assert not Lead.objects.exists()


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_5000_deep_is_a_400_not_a_crash(client, token, opening):
    closing = "]" if opening == "[" else "}"
    body = '{"email": "ada@analytical.example", "x": ' + opening * 5000 + "1" + closing * 5000
    body += "}"
    response = post_raw(client, body, token)
    assert response.status_code == 400
    assert f"nested more than {MAX_JSON_DEPTH} levels" in messages_of(response)
    assert not Lead.objects.exists()


def test_brackets_inside_text_are_not_nesting(client, token):
    message = 'He wrote "[[[[[[[[[[{{{{{{{{{{" and \\" more [[[[[[[[[['
    response = post_json(client, {**DEMO, "message": message}, token)
    assert response.status_code == 201
    assert Activity.objects.get(kind=Activity.Kind.FORM).body == message


def test_text_that_is_not_utf8_is_a_400(client, token):
    response = post_raw(client, b'{"email": "\xff\xfe"}', token)
    assert response.status_code == 400
    assert "not UTF-8" in messages_of(response)


# --- The body cap -------------------------------------------------------------


def test_a_body_over_the_cap_is_a_413_in_json(client, token):
    limit = django_settings.INTAKE_MAX_BODY_BYTES
    payload = {**DEMO, "message": "x" * limit}
    response = post_json(client, payload, token)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert f"larger than {limit // 1024} KB" in messages_of(response)
    assert not Lead.objects.exists()


def test_a_form_encoded_body_over_the_cap_is_a_413_too(client, token):
    limit = django_settings.INTAKE_MAX_BODY_BYTES
    body = "email=ada%40analytical.example&message=" + "x" * limit
    response = post_raw(client, body, token, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert not Lead.objects.exists()


def test_a_large_message_is_stored_once(client, token):
    message = "m" * (django_settings.INTAKE_MAX_BODY_BYTES - 1024)
    response = post_json(client, {**DEMO, "message": message}, token)
    assert response.status_code == 201
    assert Activity.objects.get(kind=Activity.Kind.FORM).body == message
    submission = IntakeSubmission.objects.get()
    assert "message" not in submission.payload["fields"]
    assert submission.payload["fields"]["email"] == DEMO["email"]
    assert len(json.dumps(submission.payload)) < 1000


# --- Campaigns ----------------------------------------------------------------


def test_a_campaign_of_the_channel_is_used(client, token, demo_channel):
    spring = CampaignFactory(name="Spring webinar", channel=demo_channel)
    response = post_json(client, {**DEMO, "campaign": "spring WEBINAR"}, token)
    assert response.status_code == 201
    assert response.json()["notes"] == []
    assert Lead.objects.get().campaign == spring


@pytest.mark.parametrize("other_channel", [False, True], ids=["unknown", "another-channels"])
def test_an_unknown_campaign_is_ignored_with_a_note_and_never_created(client, token, other_channel):
    if other_channel:
        CampaignFactory(name="Partner push", channel=ChannelFactory(slug="partners"))
    before = Campaign.objects.count()
    for n in range(5):
        response = post_json(
            client, {**DEMO, "email": f"p{n}@example.com", "campaign": "Partner push"}, token
        )
        assert response.status_code == 201
        assert "“Partner push” is not one of this channel's campaigns" in " ".join(
            response.json()["notes"]
        )
    assert Campaign.objects.count() == before
    assert not Lead.objects.filter(campaign__isnull=False).exists()


# --- Rate limits --------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 12, 7, 10, 0, 15, tzinfo=dt.UTC), tick=False)
def test_posts_over_the_tokens_rate_get_429_with_retry_after(client, token, demo_channel, settings):
    settings.INTAKE_RATE = (3, 60)
    statuses = [
        post_json(client, {**DEMO, "email": f"r{n}@example.com"}, token).status_code
        for n in range(3)
    ]
    refused = post_json(client, {**DEMO, "email": "r9@example.com"}, token)

    assert statuses == [201, 201, 201]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "45"
    assert "try again in 45 seconds" in refused.json()["error"]
    assert not Lead.objects.filter(email="r9@example.com").exists()
    other = issue_token(demo_channel, "Another form")[1]
    assert post_json(client, {**DEMO, "email": "o@example.com"}, other).status_code == 201


@time_machine.travel(dt.datetime(2026, 12, 7, 10, 0, 15, tzinfo=dt.UTC), tick=False)
def test_the_rate_window_ends(client, token, settings):
    settings.INTAKE_RATE = (1, 60)
    assert post_json(client, DEMO, token).status_code == 201
    assert post_json(client, {**DEMO, "email": "b@example.com"}, token).status_code == 429
    with time_machine.travel(dt.datetime(2026, 12, 7, 10, 1, 0, tzinfo=dt.UTC), tick=False):
        assert post_json(client, {**DEMO, "email": "b@example.com"}, token).status_code == 201


def test_the_rate_limit_is_counted_across_processes(tmp_path):
    """Every web process shares the count: the configured cache is not per process."""
    key = f"cross-process-{os.getpid()}-{tmp_path.name}"
    script = (
        "import django; django.setup();"
        "from config.security import take_slot;"
        f"print([take_slot({key!r}, 3, 3600) for _ in range(3)])"
    )
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[0, 0, 0]"
    assert take_slot(key, 3, 3600) > 0


# --- Idempotency keys ---------------------------------------------------------


def test_a_reused_key_with_the_same_payload_returns_the_first_answer(client, token):
    first = post_json(client, DEMO, token, HTTP_IDEMPOTENCY_KEY="form-1")
    again = post_json(client, dict(reversed(DEMO.items())), token, HTTP_IDEMPOTENCY_KEY="form-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["lead"] == first.json()["lead"]
    assert again.json()["duplicate"] is True
    assert Activity.objects.filter(kind=Activity.Kind.FORM).count() == 1


def test_a_reused_key_with_another_payload_is_a_422_and_stores_nothing(client, token):
    post_json(client, DEMO, token, HTTP_IDEMPOTENCY_KEY="form-1")
    other = {**DEMO, "email": "grace@hopper.example", "first_name": "Grace"}
    response = post_json(client, other, token, HTTP_IDEMPOTENCY_KEY="form-1")
    assert response.status_code == 422
    assert "already used for a different submission" in messages_of(response)
    assert not Lead.objects.filter(email="grace@hopper.example").exists()
    assert IntakeSubmission.objects.count() == 1
