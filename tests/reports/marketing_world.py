"""One hand-counted March 2026 for the marketing reports, built through the services.

T0 is Tuesday 10 March 2026, 10:00 UTC; "now" is 15 April. No agreement is in force, so
no clocks run; every lead enters through the take-in (a form, with or without a campaign).

- a (Spring, CTO persona): desk → rep; touched, SQL, a 10,000 deal on day 5, won day 10.
  Touch points: Spring (T0), Ebook (day 2) — first Spring, last Ebook, linear 5,000 each.
- b (Spring, CTO): desk → rep → rep-west (reassigned); disqualified day 3 (no budget),
  reopened day 4 by ops, an MQL again day 5: delivered once.
- c (Spring): on the lead desk all along, never touched.
- d (no campaign, title "CTO"): rep; SQL, a 300 deal on day 2, disqualified day 3
  (wrong persona, the deal lost), reopened, MQL again, SQL, a 500 deal on day 8: two deals
  on one lead, neither with a touch point (unattributed).
- e (Spring): on the desk, disqualified day 6 by the system without feedback.
- f (Ebook, from day 6): rep, to nurture day 7.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from leads import services
from leads.importing.cleaning import CleanRow
from leads.importing.writer import Entry, TouchPoint, take_in_leads
from leads.models import Campaign, Lead
from reports.filters import ReportFilters
from tests.factories import ChannelFactory, PersonaFactory

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 4, 15, 12, 0, tzinfo=dt.UTC)
MARCH = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 3, 31))


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def take_in(
    channel: Any, campaign: Campaign | None, emails: list[str], at: dt.datetime
) -> list[Lead]:
    """A form post (with its campaign) of new or known leads, entering MQL."""
    touch = TouchPoint(side="customer", kind="form", subject="Form")
    entry = Entry.prepare(channel=channel, campaign=campaign, touch=touch, at=at, stage="mql")
    take_in_leads(entry, [CleanRow(i + 2, e, {"email": e}) for i, e in enumerate(emails)])
    return [Lead.objects.get(email=e) for e in emails]


def fresh(lead: Lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def build(rep: Any, other_rep: Any, marketer: Any, ops: Any) -> SimpleNamespace:
    """The world described above."""
    channel = ChannelFactory(slug="webinar", name="Webinar", is_marketing_sourced=True)
    spring = Campaign.objects.create(
        name="Spring",
        channel=channel,
        cost=Decimal("3100.00"),
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 31),
    )
    ebook = Campaign.objects.create(
        name="Ebook",
        channel=channel,
        cost=Decimal("600.00"),
        starts_on=dt.date(2026, 2, 15),
        ends_on=dt.date(2026, 4, 15),
    )
    cto = PersonaFactory(name="CTO")
    a, b, c, e = take_in(channel, spring, ["a@x.test", "b@x.test", "c@x.test", "e@x.test"], T0)
    (d,) = take_in(channel, None, ["d@x.test"], day(0.5))
    take_in(channel, ebook, ["a@x.test", "b@x.test"], day(2))
    (f,) = take_in(channel, ebook, ["f@x.test"], day(6))
    for lead in (fresh(a), fresh(b)):  # ops set the persona (the admin saves the lead)
        lead.persona = cto
        lead.save()
    Lead.objects.filter(pk=d.pk).update(title="CTO")

    services.assign(fresh(a), rep, by=None, at=T0 + dt.timedelta(hours=3))
    services.log_touch(fresh(a), by=rep, kind="call", at=T0 + dt.timedelta(hours=4))
    services.run_transition(fresh(a), "accept", by=rep, at=day(1))
    services.run_transition(fresh(a), "open_opportunity", by=rep, amount="10000", at=day(5))
    services.run_transition(fresh(a), "win", by=rep, at=day(10))

    services.assign(fresh(b), rep, by=None, at=T0 + dt.timedelta(hours=1))
    services.reassign([fresh(b)], other_rep, by=None, at=T0 + dt.timedelta(hours=2))
    services.disqualify_with_feedback(
        fresh(b),
        by=other_rep,
        reason="No budget",
        fit="poor",
        feedback_reason="no_budget",
        at=day(3),
    )
    services.run_transition(fresh(b), "reopen", by=ops, at=day(4))
    services.run_transition(fresh(b), "hand_raise", by=marketer, at=day(5))

    services.assign(fresh(d), rep, by=None, at=day(0.6))
    services.log_touch(fresh(d), by=rep, kind="call", at=day(0.7))
    services.run_transition(fresh(d), "accept", by=rep, at=day(1))
    services.run_transition(fresh(d), "open_opportunity", by=rep, amount="300", at=day(2))
    services.disqualify_with_feedback(
        fresh(d),
        by=rep,
        reason="Wrong persona",
        fit="poor",
        feedback_reason="wrong_persona",
        at=day(3),
    )
    services.run_transition(fresh(d), "reopen", by=ops, at=day(4))
    services.run_transition(fresh(d), "hand_raise", by=marketer, at=day(4.5))
    services.log_touch(fresh(d), by=rep, kind="call", at=day(4.6))
    services.run_transition(fresh(d), "accept", by=rep, at=day(6))
    services.run_transition(fresh(d), "open_opportunity", by=rep, amount="500", at=day(8))

    services.run_transition(fresh(e), "disqualify", by=None, reason="Spam", at=day(6))

    services.assign(fresh(f), rep, by=None, at=day(6.1))
    services.run_transition(fresh(f), "nurture", by=None, return_on="2099-01-01", at=day(7))
    return SimpleNamespace(
        channel=channel,
        spring=spring,
        ebook=ebook,
        cto=cto,
        a=fresh(a),
        b=fresh(b),
        c=fresh(c),
        d=fresh(d),
        e=fresh(e),
        f=fresh(f),
    )
