"""A sales world built through the services (so the ledger is what production writes):
desk leads, reassignments, a reopened lead with two clocks, a touch by a non-holder.

March 2026. T0 is Tuesday 10 March, 10:00 UTC (11:00 in Berlin, whose 09–17 office
calendar the agreement keeps); the response rule allows 4 wall-clock hours. Reps A
("rep") and B in East, C in North. Every number in the tests is worked out from this:

- L1: assigned to A at T0, A touches at T0+1h (met) and on 11 March.
- L2: on the desk; to A at T0+1h, to B at T0+2h; B touches at T0+3h (met, for B).
- L3: on the desk at its due time (T0+4h): the check breaches it for the desk; to C
  at T0+6h (17:00 Berlin), C touches on 11 March 09:00 UTC.
- L4: assigned to A at T0, breached with A, moved to B at T0+6h; never touched.
- L5: assigned to A at T0, A touches at T0+1h (met); nurture on 12 March, back as an
  MQL on 17 March 10:00 (a second clock, due 14:00); A touches at 15:00 (breached).
- L6: assigned to A at T0, only the manager touches it (T0+1h: met for A).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from agreements import roles
from leads import services
from leads.clock import breach_due_clocks
from leads.models import Lead
from tests.agreements.factories import (
    AgreementFactory,
    ResponseRuleFactory,
    TouchGoalFactory,
    signed_and_active,
)
from tests.factories import LeadFactory, RepFactory, TeamFactory, UserFactory

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC)


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


@pytest.fixture
def rule_agreement(marketer, manager, ops):
    """In force: answer an MQL within 4 wall-clock hours; untouched 30/60/90; touch goal:
    2 touches within 7 days of Working."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", business_time=False)
    TouchGoalFactory(agreement=draft, touches=2, within_days=7)
    return signed_and_active(draft, marketer, manager, by=ops)


def mql(marketer, at: dt.datetime = T0) -> Lead:
    """A lead on the lead desk that hand-raised at `at`."""
    lead = LeadFactory(stage="fan")
    return services.run_transition(lead, "hand_raise", by=marketer, at=at)


def give(lead: Lead, to, by, at: dt.datetime) -> Lead:
    services.assign(lead, to, by=by, at=at)
    lead.refresh_from_db()
    return lead


def touch(lead: Lead, by, at: dt.datetime) -> Lead:
    lead.refresh_from_db()
    services.log_touch(lead, by=by, kind="call", at=at)
    lead.refresh_from_db()
    return lead


@pytest.fixture
def clock_world(rule_agreement, marketer, manager, rep):
    rep_b = RepFactory(username="rep-bea", first_name="Bea", team=rep.rep_profile.team)
    north = TeamFactory(
        name="North", manager=UserFactory(username="manager-north", role=roles.SALES_MANAGER)
    )
    rep_c = RepFactory(username="rep-cy", first_name="Cy", team=north)
    a, b, c = rep, rep_b, rep_c
    admin = manager
    l1 = give(mql(marketer), a, admin, T0)
    touch(l1, a, T0 + hours(1))
    touch(l1, a, T0 + hours(23))

    l2 = give(mql(marketer), a, admin, T0 + hours(1))
    give(l2, b, admin, T0 + hours(2))
    touch(l2, b, T0 + hours(3))

    l3 = mql(marketer)
    l4 = give(mql(marketer), a, admin, T0)
    l5 = give(mql(marketer), a, admin, T0)
    l6 = give(mql(marketer), a, admin, T0)
    touch(l5, a, T0 + hours(1))
    touch(l6, admin, T0 + hours(1))
    breach_due_clocks(T0 + hours(5), limit=100)
    c_admin = c.rep_profile.team.manager
    give(l3, c, c_admin, T0 + hours(6))
    touch(l3, c, T0 + hours(23))
    l4.refresh_from_db()
    give(l4, b, admin, T0 + hours(6))

    l5.refresh_from_db()
    services.run_transition(l5, "nurture", by=a, return_on="2099-01-01", at=T0 + hours(48))
    l5.refresh_from_db()
    services.run_transition(l5, "hand_raise", by=marketer, at=T0 + dt.timedelta(days=7))
    touch(l5, a, T0 + dt.timedelta(days=7) + hours(5))
    return SimpleNamespace(a=a, b=b, c=c, l1=l1, l2=l2, l3=l3, l4=l4, l5=l5, l6=l6)
