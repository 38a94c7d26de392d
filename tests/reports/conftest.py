"""Hand-built worlds for the report tests: every figure in the tests is worked out by hand.

Rows are written directly (leads, assignments, touches, stage changes, deals,
feedback) with explicit times, so a figure depends on nothing but what is here.
March 2025 is the period; "now" is 1 July 2025, so every March assignment has
passed 90 days. Times are UTC (the test settings' zone).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from agreements.models import Agreement
from leads.models import Activity, Assignment, Deal, Feedback, Lead, StageChange
from reports.filters import ReportFilters
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    TouchGoalFactory,
    signed_and_active,
)
from tests.factories import (
    CampaignFactory,
    ChannelFactory,
    LeadFactory,
    PersonaFactory,
    RepFactory,
    TeamFactory,
    UserFactory,
)

NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)
MARCH = ReportFilters(start_day=dt.date(2025, 3, 1), end_day=dt.date(2025, 3, 31))
JANUARY = ReportFilters(start_day=dt.date(2025, 1, 1), end_day=dt.date(2025, 1, 31))


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, tzinfo=dt.UTC)


def assign(lead: Lead, to, when: dt.datetime, from_owner=None) -> Assignment:
    Lead.objects.filter(pk=lead.pk).update(owner=to, assigned_at=when)
    return Assignment.objects.create(lead=lead, from_owner=from_owner, to_owner=to, at=when)


def touch(lead: Lead, by, when: dt.datetime, **fields) -> Activity:
    """A human sales touch (as log_touch records it)."""
    return Activity.objects.create(
        lead=lead, side="sales", kind="call", actor=by, occurred_at=when, is_touch=True, **fields
    )


def marketing_touch(lead: Lead, when: dt.datetime, campaign=None, kind="email", side="marketing"):
    return Activity.objects.create(
        lead=lead, side=side, kind=kind, occurred_at=when, campaign=campaign, is_touch=False
    )


def move(lead: Lead, source: str, target: str, when: dt.datetime) -> StageChange:
    return StageChange.objects.create(
        lead=lead, from_stage=source, to_stage=target, transition="test", at=when
    )


@pytest.fixture
def agreement(marketer, manager, ops):
    """In force: untouched 30/60/90; touch goal 3 touches in 7 days of Working; monthly
    commitment 10 leads, 4 MQLs, 2 SQLs, 10,000 pipeline, 50 % acceptance."""
    draft = AgreementFactory()
    TouchGoalFactory(agreement=draft, touches=3, within_days=7)
    MarketingCommitmentFactory(
        agreement=draft,
        new_leads=10,
        mqls=4,
        sales_accepted=2,
        pipeline_amount=Decimal("10000"),
        min_acceptance_rate=50,
    )
    return signed_and_active(draft, marketer, manager, by=ops)


@pytest.fixture
def sales_world(agreement, team, rep):
    """Reps A ("rep") and B in East, C in West; six leads (see the tests for the story)."""
    rep_b = RepFactory(username="rep-b", first_name="Bea", team=team)
    west = TeamFactory(name="West", manager=UserFactory(username="manager-west2"))
    rep_c = RepFactory(username="rep-c", first_name="Cy", team=west)
    channel = ChannelFactory(slug="demo", name="Demo")

    def lead(stage: str, **fields) -> Lead:
        return LeadFactory(stage=stage, channel=channel, created_at=at(2, 20), **fields)

    # L1: A touches within the hour (3 touches in 3 days), SQL, then an opportunity.
    l1 = lead(
        "opportunity",
        sla_status="met",
        first_touch_at=at(3, 3, 10),
        last_touch_at=at(3, 5),
    )
    assign(l1, rep, at(3, 3))
    for when in (at(3, 3, 10), at(3, 4), at(3, 5)):
        touch(l1, rep, when)
    move(l1, "mql", "working", at(3, 3, 10))
    move(l1, "working", "sql", at(3, 10))
    move(l1, "sql", "opportunity", at(3, 20))
    # L2: A touches after two business hours, once; still Working.
    l2 = lead(
        "working",
        sla_status="met",
        first_touch_at=at(3, 6),
        last_touch_at=at(3, 6),
    )
    assign(l2, rep, at(3, 5))
    touch(l2, rep, at(3, 6))
    move(l2, "mql", "working", at(3, 6))
    # L3: A never touches it; its clock breached on 10 March.
    l3 = lead("mql", sla_status="breached", sla_due_at=at(3, 10, 13))
    assign(l3, rep, at(3, 10))
    # L4: A holds it 19 days untouched (its clock breaches with A), the manager moves it
    # to B, who touches it 42 days later.
    l4 = lead(
        "working",
        sla_status="breached",
        sla_due_at=at(3, 1, 13),
        first_touch_at=at(5, 1),
        last_touch_at=at(5, 1),
    )
    assign(l4, rep, at(3, 1))
    assign(l4, rep_b, at(3, 20), from_owner=rep)
    touch(l4, rep_b, at(5, 1))
    move(l4, "mql", "working", at(5, 1))
    # L5: C's lead, touched only by marketing.
    l5 = lead("mql")
    assign(l5, rep_c, at(3, 15))
    marketing_touch(l5, at(3, 16))
    # L6: C's lead, disqualified two days after assignment without a touch.
    l6 = lead("disqualified")
    assign(l6, rep_c, at(3, 20))
    move(l6, "mql", "disqualified", at(3, 22))
    return SimpleNamespace(
        a=rep,
        b=rep_b,
        c=rep_c,
        east=team,
        west=west,
        leads=[l1, l2, l3, l4, l5, l6],
        l1=l1,
        l2=l2,
        l3=l3,
        l4=l4,
        l5=l5,
        l6=l6,
    )


@pytest.fixture
def marketing_world(agreement):
    """Marketing leads of March (webinar channel), one outbound lead, three deals."""
    webinar = ChannelFactory(slug="webinar", name="Webinar", is_marketing_sourced=True)
    outbound = ChannelFactory(slug="outbound", name="Outbound", is_marketing_sourced=False)
    c1 = CampaignFactory(name="Spring webinar", channel=webinar, cost=Decimal("1000"))
    c2 = CampaignFactory(name="Ebook", channel=webinar, cost=Decimal("600"))
    p1 = PersonaFactory(name="CTO")
    p2 = PersonaFactory(name="Student")

    def lead(stage, created, campaign=None, persona=None, channel=webinar, **fields):
        return LeadFactory(
            stage=stage,
            channel=channel,
            campaign=campaign,
            persona=persona,
            created_at=created,
            **fields,
        )

    # M1: became an MQL, accepted, opportunity (9,000) and won; three marketing touches
    # before the deal (C1 email, C1 form, C2 webinar) and one after it.
    m1 = lead("converted", at(3, 2), c1, p1, title="CTO", first_touch_at=at(3, 4))
    move(m1, "suspect", "mql", at(3, 3))
    move(m1, "mql", "working", at(3, 4))
    move(m1, "working", "sql", at(3, 5))
    move(m1, "sql", "opportunity", at(3, 10))
    move(m1, "opportunity", "converted", at(3, 25))
    marketing_touch(m1, at(3, 2), c1)
    marketing_touch(m1, at(3, 6), c1, kind="form", side="customer")
    marketing_touch(m1, at(3, 8), c2, kind="webinar", side="customer")
    marketing_touch(m1, at(3, 12), c2)
    Deal.objects.create(
        lead=m1, amount=Decimal("9000"), opened_at=at(3, 10), status="won", closed_at=at(3, 25)
    )
    # M2: created as an MQL (a hand-raise form), accepted.
    m2 = lead("sql", at(3, 3), c1, p1, title="CTO", first_touch_at=at(3, 4))
    move(m2, "mql", "working", at(3, 4))
    move(m2, "working", "sql", at(3, 6))
    # M3: MQL, disqualified with structured feedback (wrong persona).
    m3 = lead("disqualified", at(3, 4), c2, p2, title="Intern", first_touch_at=at(3, 6))
    move(m3, "suspect", "mql", at(3, 5))
    move(m3, "mql", "working", at(3, 6))
    move(m3, "working", "disqualified", at(3, 7))
    Feedback.objects.create(lead=m3, fit="poor", reason="wrong_persona", text="A student.")
    # M4: MQL, disqualified with no feedback at all.
    m4 = lead("disqualified", at(3, 5), c2, p2, title="Intern")
    move(m4, "suspect", "mql", at(3, 6))
    move(m4, "mql", "disqualified", at(3, 8))
    # M5: created in February, became an MQL on 1 March; nobody touched it.
    m5 = lead("mql", at(2, 20), c1)
    move(m5, "suspect", "mql", at(3, 1))
    # M6: a new suspect with no campaign.
    m6 = lead("suspect", at(3, 10))
    # M7: from February, its deal (3,000) opened in March after an Ebook download in Feb.
    m7 = lead("opportunity", at(2, 1), c2, p2)
    move(m7, "sql", "opportunity", at(3, 15))
    marketing_touch(m7, at(2, 10), c2, kind="content_download", side="customer")
    Deal.objects.create(lead=m7, amount=Decimal("3000"), opened_at=at(3, 15))
    # O1: an outbound lead, its deal (6,000) had no marketing touch at all.
    o1 = lead("opportunity", at(3, 3), channel=outbound)
    move(o1, "iql", "working", at(3, 4))
    move(o1, "working", "sql", at(3, 5))
    move(o1, "sql", "opportunity", at(3, 12))
    Deal.objects.create(lead=o1, amount=Decimal("6000"), opened_at=at(3, 12))
    return SimpleNamespace(
        webinar=webinar,
        outbound=outbound,
        c1=c1,
        c2=c2,
        p1=p1,
        p2=p2,
        m1=m1,
        m2=m2,
        m3=m3,
        m4=m4,
        m5=m5,
        m6=m6,
        m7=m7,
        o1=o1,
    )


ANY = object()


def by(rows, section, label=ANY, key=ANY):
    """The one row of a section with this label (or key; None is the "No …" row)."""
    found = [
        r
        for r in rows
        if r["section"] == section
        and (label is ANY or r["label"] == label)
        and (key is ANY or r["key"] == key)
    ]
    assert len(found) == 1, (section, label, key, [r.get("label") for r in rows])
    return found[0]


__all__ = ["Agreement"]
