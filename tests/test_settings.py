"""Settings come from the environment: a safe embedded default, a strict production mode."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
# Variables that select a mode (the tests set them themselves), and the test suite's own
# DJANGO_ALLOW_ASYNC_UNSAFE, which a deployment must not have.
CONTROLLED = (
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_ENV",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
)


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a clean environment plus `env`, with its own var dir."""
    environ = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    environ.update(ACCORD_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production(**extra: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "accord.example.com",
        **extra,
    }


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


def test_production_without_a_secret_key_fails_clearly(tmp_path):
    env = production()
    del env["SECRET_KEY"]
    result = manage(tmp_path, "check", "--deploy", **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DJANGO_ENV=production" in result.stderr


def test_production_without_allowed_hosts_fails_clearly(tmp_path):
    env = production()
    del env["ALLOWED_HOSTS"]
    result = manage(tmp_path, "check", "--deploy", **env)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DJANGO_ENV=production" in result.stderr


def test_production_with_a_weak_secret_key_is_flagged(tmp_path):
    result = manage(
        tmp_path, "check", "--deploy", "--fail-level", "WARNING", **production(SECRET_KEY="short")
    )
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "True django.db.backends.sqlite3 filesystem://"),
        (
            {
                "DATABASE_URL": "postgres://accord:pw@db.example:5432/accord",
                "CELERY_BROKER_URL": "redis://cache.example:6379/0",
            },
            "True django.db.backends.postgresql redis://cache.example:6379/0",
        ),
        (production(), "False django.db.backends.sqlite3 filesystem://"),
    ],
    ids=["embedded-default", "postgres-and-redis", "production"],
)
def test_environment_selects_debug_database_and_broker(tmp_path, env, expected):
    script = (
        "from django.conf import settings as s;"
        "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)"
    )
    result = manage(tmp_path, "shell", "-c", script, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected


def test_embedded_database_lives_under_the_var_dir(tmp_path):
    script = "from django.conf import settings as s; print(s.DATABASES['default']['NAME'])"
    result = manage(tmp_path, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "var" / "accord.sqlite3")
