"""The figures framework: one definition gives the number, its groups and its drill-down."""

from __future__ import annotations

import datetime as dt

import pytest

from leads import services
from reports.figures.base import n_of_m
from reports.figures.marketing import ACCEPTANCE_RATE, MQLS_ACCEPTED, MQLS_DELIVERED
from reports.filters import DESK, ReportFilters
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
MARCH = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 3, 31))
NOW = dt.datetime(2026, 4, 15, tzinfo=dt.UTC)


def test_acceptance_is_a_cohort_of_the_mqls_delivered_never_above_all_of_them(
    marketer, rep, other_rep
):
    # Three MQLs in March: a (rep) reaches SQL in April, b (rep) goes back to nurture and
    # comes back as an MQL in March again (one lead, counted once), c (desk) stays.
    # d reached SQL in March but became an MQL in February: not delivered in March.
    a = LeadFactory(stage="fan", owner=rep)
    b = LeadFactory(stage="fan", owner=rep)
    c = LeadFactory(stage="fan")
    d = LeadFactory(stage="fan", owner=other_rep)
    services.run_transition(d, "hand_raise", by=marketer, at=T0 - dt.timedelta(days=30))
    services.run_transition(d, "start_working", by=other_rep, at=T0 - dt.timedelta(days=29))
    services.run_transition(d, "accept", by=other_rep, at=T0)
    for lead in (a, b, c):
        services.run_transition(lead, "hand_raise", by=marketer, at=T0)
    services.run_transition(b, "nurture", by=rep, return_on="2099-01-01", at=T0)
    services.run_transition(b, "hand_raise", by=marketer, at=T0 + dt.timedelta(days=1))
    services.run_transition(a, "start_working", by=rep, at=T0 + dt.timedelta(days=2))
    services.run_transition(a, "accept", by=rep, at=T0 + dt.timedelta(days=25))

    assert MQLS_DELIVERED.total(MARCH, NOW) == 3  # a, b, c
    assert MQLS_ACCEPTED.total(MARCH, NOW) == 1  # a
    assert n_of_m(1, 3) == "1 of 3 (33.3 %)"
    assert set(ACCEPTANCE_RATE.numerator.leads(MARCH, NOW)) == {a}
    assert set(MQLS_DELIVERED.leads(MARCH, NOW)) == {a, b, c}
    # By the rep who held each MQL when it entered; c sits on the lead desk (None).
    assert MQLS_DELIVERED.by("rep", MARCH, NOW) == {rep.pk: 2, None: 1}
    assert set(MQLS_DELIVERED.leads(MARCH.with_(rep=DESK), NOW)) == {c}
    assert MQLS_DELIVERED.by("team", MARCH, NOW) == {rep.rep_profile.team_id: 2, None: 1}
