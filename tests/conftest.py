"""Shared fixtures: one user per role, a team, and the browser pointed at Debian's chromium."""

from __future__ import annotations

import os

import pytest

from agreements import roles
from tests.factories import RepFactory, TeamFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "pw-accord-test"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 costs ~0.4 s per user created; the suite does not test hash strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _ledger_rows_carry_their_leads_facts(request):
    """After every test that used the database: each ledger row carries its lead's
    channel, campaign and persona (the reports read them from the row). A path that
    changes a lead's facts without restamping its rows (leads.models.restamp_lead_facts)
    fails here, whatever the test was about; so does one that changes its names, email,
    company or phone without its search text (leads.models.restamp_search_text)."""
    used = DB_FIXTURES & set(request.fixturenames)
    for name in sorted(used):  # set up first, so torn down after this check
        request.getfixturevalue(name)
    yield
    if request.node.get_closest_marker("django_db") is None and not used:
        return
    from tests.ledger_checks import out_of_step

    stale = out_of_step()
    assert not any(stale.values()), f"ledger rows out of step: {stale}"


@pytest.fixture
def ops(db):
    return UserFactory(username="ops-user", role=roles.OPS, is_staff=True)


@pytest.fixture
def marketer(db):
    return UserFactory(username="marketer", role=roles.MARKETING)


@pytest.fixture
def team(db):
    return TeamFactory(
        name="East", manager=UserFactory(username="manager", role=roles.SALES_MANAGER)
    )


@pytest.fixture
def manager(team):
    return team.manager


@pytest.fixture
def rep(team):
    return RepFactory(username="rep", team=team)


@pytest.fixture
def other_rep(db):
    """A rep in another team, with another manager."""
    other_team = TeamFactory(
        name="West", manager=UserFactory(username="manager-west", role=roles.SALES_MANAGER)
    )
    return RepFactory(username="rep-west", team=other_team)


@pytest.fixture
def users_by_role(ops, marketer, manager, rep):
    return {
        roles.OPS: ops,
        roles.MARKETING: marketer,
        roles.SALES_MANAGER: manager,
        roles.SALES_REP: rep,
    }


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }
