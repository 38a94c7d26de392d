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
    fails here, whatever the test was about."""
    used = DB_FIXTURES & set(request.fixturenames)
    for name in sorted(used):  # set up first, so torn down after this check
        request.getfixturevalue(name)
    yield
    if request.node.get_closest_marker("django_db") is None and not used:
        return
    from django.db.models import F, Q, Value
    from django.db.models.functions import Coalesce

    from leads import ledger
    from leads.models import LEDGER_FACTS, LeadEvent

    same = Q()
    for name, column in LEDGER_FACTS.items():
        fact = name.removesuffix("_id")
        same &= Q(**{column: F(f"lead__{fact}")}) | Q(
            **{f"{column}__isnull": True, f"lead__{fact}__isnull": True}
        )
    stale = list(LeadEvent.objects.exclude(same).values("id", "lead_id", "kind")[:5])
    assert not stale, f"ledger rows without their lead's facts: {stale}"
    # What leads.ledger settles on a row from other rows holds too: a tenure still held
    # carries its lead's stage; a disqualification the reason of the feedback given with it.
    held = LeadEvent.objects.filter(kind="assigned", held_until__isnull=True)
    stale = list(held.exclude(held_stage=F("lead__stage")).values("id", "lead_id")[:5])
    assert not stale, f"held tenures without their lead's stage: {stale}"
    given = Coalesce(ledger.feedback_reason_given(), Value(""))
    entries = LeadEvent.objects.filter(**ledger.DISQUALIFICATION).annotate(given=given)
    stale = list(entries.exclude(feedback_reason=F("given")).values("id", "lead_id")[:5])
    assert not stale, f"disqualifications without their feedback's reason: {stale}"


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
