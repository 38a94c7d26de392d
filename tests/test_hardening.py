"""Hardening: login lockout (django-axes), a throttled password reset, the
Content-Security-Policy header, and a DJANGO_ENV that must be spelt right."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def an_address() -> str:
    """A client address of this test alone: throttles counted in the cache never collide."""
    return "10.{}.{}.{}".format(*secrets.token_bytes(3))


def sign_in(client, url: str, username: str, password: str, address: str):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_user_id(client) -> str | None:
    return client.session.get("_auth_user_id")


# --- Login lockout --------------------------------------------------------------


def test_login_is_refused_after_repeated_failures_even_with_the_right_password(
    client, rep, settings
):
    address = an_address()
    answers = [
        sign_in(client, LOGIN, rep.username, "wrong", address).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    right = sign_in(client, LOGIN, rep.username, PASSWORD, address)

    assert answers[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert answers[-1] == 429
    assert right.status_code == 429
    assert "Too many failed sign-ins" in right.content.decode()
    assert signed_in_user_id(client) is None


def test_the_right_password_works_again_after_the_cool_off(client, rep, settings):
    address = an_address()
    start = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, LOGIN, rep.username, "wrong", address)
    with time_machine.travel(start + settings.AXES_COOLOFF_TIME / 2, tick=False):
        assert sign_in(client, LOGIN, rep.username, PASSWORD, address).status_code == 429
    later = start + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=1)
    with time_machine.travel(later, tick=False):
        response = sign_in(client, LOGIN, rep.username, PASSWORD, address)
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(rep.pk)


def test_failures_on_the_admin_login_count_too(client, ops, settings):
    address = an_address()
    for n in range(settings.AXES_FAILURE_LIMIT):
        url = LOGIN if n % 2 else ADMIN_LOGIN
        sign_in(client, url, ops.username, "wrong", address)
    response = sign_in(client, ADMIN_LOGIN, ops.username, PASSWORD, address)
    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_a_lockout_is_for_that_user_from_that_address_only(client, rep, other_rep, settings):
    address = an_address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, LOGIN, rep.username, "wrong", address)
    assert sign_in(client, LOGIN, other_rep.username, PASSWORD, address).status_code == 302
    client.logout()
    assert sign_in(client, LOGIN, rep.username, PASSWORD, an_address()).status_code == 302


def test_a_success_clears_earlier_failures(client, rep, settings):
    address = an_address()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, LOGIN, rep.username, "wrong", address)
    assert sign_in(client, LOGIN, rep.username, PASSWORD, address).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, LOGIN, rep.username, "wrong", address).status_code == 200


# --- Password reset ---------------------------------------------------------------


def test_password_reset_posts_are_throttled_per_address(client, rep, settings):
    limit, _period = settings.PASSWORD_RESET_RATE
    address = an_address()
    url = reverse("password_reset")
    answers = [
        client.post(url, {"email": f"someone-{n}@example.com"}, REMOTE_ADDR=address)
        for n in range(limit + 1)
    ]
    assert [a.status_code for a in answers[:limit]] == [302] * limit
    refused = answers[-1]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "Too many password reset requests" in refused.content.decode()


def test_password_reset_mails_to_one_address_are_throttled_from_anywhere(client, settings):
    limit, _period = settings.PASSWORD_RESET_RATE
    user = UserFactory(email=f"target-{secrets.token_hex(4)}@example.com")
    url = reverse("password_reset")
    answers = [
        client.post(url, {"email": user.email}, REMOTE_ADDR=an_address()).status_code
        for _ in range(limit + 2)
    ]
    assert answers == [302] * limit + [429, 429]
    assert len(mail.outbox) == limit


# --- Content-Security-Policy ----------------------------------------------------------


@pytest.mark.parametrize("path", [LOGIN, "/queue/", "/playbook/", "/reports/", "/imports/"])
def test_pages_carry_a_policy_that_allows_only_our_own_scripts(client, ops, rep, path):
    client.force_login(ops if path in ("/playbook/", "/imports/", "/reports/") else rep)
    response = client.get(path)
    assert response.status_code == 200
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2]
        for part in response["Content-Security-Policy"].split(";")
        if part.strip()
    )
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


# --- DJANGO_ENV ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["Production", "prod", "PRODUCTION", "staging", ""])
def test_an_unknown_django_env_refuses_to_start(tmp_path, value):
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    environ.update(ACCORD_VAR_DIR=str(tmp_path / "var"), DJANGO_ENV=value)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert f"DJANGO_ENV={value!r} is not a known environment" in result.stderr
    assert "'development' or 'production'" in result.stderr


# --- The cache the throttles count in ------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "FileBasedCache {var}/cache"),
        (
            {"CELERY_BROKER_URL": "redis://cache.example:6379/2"},
            "RedisCache redis://cache.example:6379/2",
        ),
        (
            {"CELERY_BROKER_URL": "redis://b.example:6379/0", "CACHE_URL": "redis://c.example/5"},
            "RedisCache redis://c.example/5",
        ),
    ],
    ids=["embedded-default", "the-brokers-redis", "its-own-redis"],
)
def test_throttles_count_in_a_cache_every_process_shares(tmp_path, env, expected):
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "CACHE_URL", "DJANGO_ENV")
    }
    environ.update(ACCORD_VAR_DIR=str(tmp_path / "var"), **env)
    script = (
        "from django.conf import settings as s; c = s.CACHES['default'];"
        "print(c['BACKEND'].rsplit('.', 1)[1], c['LOCATION'])"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected.format(var=tmp_path / "var")
