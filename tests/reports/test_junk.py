"""Junk is not feedback: a lead disqualified as junk / spam needs no feedback, stays out of
marketing's feedback coverage and acceptance, and is counted on its own line of the
delivery report, whose drill-down lists exactly it."""

from __future__ import annotations

import re
from html import unescape

import pytest

from agreements.stages import Stage
from leads import services
from leads.models import JUNK_REASON, Feedback, Lead, LeadError, LeadEvent
from reports.delivery import marketing_delivery
from reports.figures import marketing as m
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    ResponseRuleFactory,
    signed_and_active,
)
from tests.factories import ChannelFactory, LeadFactory
from tests.reports.marketing_world import MARCH, NOW, build, day, fresh, take_in
from tests.reports.test_marketing_drilldowns import linked_cells

pytestmark = pytest.mark.django_db

FIGURES = ("new_leads", "mqls", "sales_accepted", "disqualified", "closed", "traceable")


@pytest.fixture
def world(rep, other_rep, marketer, manager, ops):
    """The marketing drill-down world (tests/reports/marketing_world.py) under an agreement."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", business_time=False)
    MarketingCommitmentFactory(agreement=draft, new_leads=10, mqls=4, sales_accepted=2)
    signed_and_active(draft, marketer, manager, by=ops)
    return build(rep, other_rep, marketer, ops)


def _junk_lead(world, rep) -> Lead:
    """A bot's form post (an MQL of the Spring campaign), given to the rep, then junked."""
    (bot,) = take_in(world.channel, world.spring, ["bot@spam.test"], day(6))
    services.assign(fresh(bot), rep, by=None, at=day(6.1))
    return services.mark_junk(fresh(bot), by=rep, at=day(6.2))


def _section(rows, name):
    return [r for r in rows if r["section"] == name]


def test_a_junk_lead_counts_on_its_own_line_and_in_no_feedback_or_acceptance_figure(
    world, rep, time_machine
):
    time_machine.move_to(NOW, tick=False)
    before = marketing_delivery(MARCH, NOW)

    bot = _junk_lead(world, rep)

    assert bot.stage == Stage.DISQUALIFIED and bot.disqualify_reason == JUNK_REASON
    assert not Feedback.objects.filter(lead=bot).exists()
    after = marketing_delivery(MARCH, NOW)
    (total_before,) = _section(before, "total")
    (total,) = _section(after, "total")
    # A new lead, but no MQL delivered, nothing closed, no disqualification to explain.
    assert total["new_leads"] == total_before["new_leads"] + 1
    for key in FIGURES[1:]:
        assert total[key] == total_before[key], key
    assert total["acceptance_rate"] == total_before["acceptance_rate"]
    assert total["feedback_coverage"] == total_before["feedback_coverage"]
    assert total_before[m.JUNK] == 0 and total[m.JUNK] == 1
    # The reasons keep their rows and gain the junk / spam line, last.
    reasons = _section(after, "reason")
    assert reasons[:-1] == _section(before, "reason")
    assert reasons[-1] == {
        "section": "reason",
        "key": m.JUNK,
        "label": "Junk / spam (no feedback asked)",
        "leads": 1,
    }
    (spring,) = [r for r in _section(after, "campaign") if r["key"] == world.spring.pk]
    (spring_before,) = [r for r in _section(before, "campaign") if r["key"] == world.spring.pk]
    assert spring["mqls"] == spring_before["mqls"]
    assert m.JUNK_SPAM.leads(MARCH, NOW).get() == bot
    assert "feedback coverage" in m.JUNK_SPAM.definition and "acceptance" in m.JUNK_SPAM.definition


def test_a_lead_disqualified_for_another_reason_still_counts_as_disqualified(
    world, rep, time_machine
):
    time_machine.move_to(NOW, tick=False)
    (g,) = take_in(world.channel, world.spring, ["g@x.test"], day(6))
    services.assign(fresh(g), rep, by=None, at=day(6.1))
    services.disqualify_with_feedback(
        fresh(g), by=rep, reason="Junk mail lover", fit="poor", feedback_reason="other", at=day(7)
    )
    (total,) = _section(marketing_delivery(MARCH, NOW), "total")
    assert total[m.JUNK] == 0
    assert m.DISQUALIFIED.leads(MARCH, NOW).filter(pk=g.pk).exists()


def test_every_delivery_number_opens_exactly_its_leads_with_junk(
    client, ops, world, rep, time_machine
):
    time_machine.move_to(NOW, tick=False)
    bot = _junk_lead(world, rep)
    client.force_login(ops)
    cells = linked_cells("delivery")
    junk = [c for c in cells if c[0] == "reason" and c[1] == "Junk / spam (no feedback asked)"]
    assert len(junk) == 1 and junk[0][3] == 1
    for section, label, url, expected in cells:
        response = client.get(url)
        assert response.status_code == 200, (section, label, url)
        html = response.content.decode()
        total = re.search(r'data-testid="drill-total">(\d+)<', html)
        assert total is not None, url
        assert int(total.group(1)) == expected, (section, label, unescape(url))
    page = client.get(junk[0][2]).content.decode()
    assert f'data-lead="{bot.pk}"' in page


# --- The lead page's one-click junk / spam -------------------------------------------------


@pytest.fixture
def owned(rep):
    """A rep's MQL from a marketing-sourced channel (an ordinary disqualify asks feedback)."""
    channel = ChannelFactory(slug="web", name="Web form", is_marketing_sourced=True)
    return LeadFactory(owner=rep, stage=Stage.MQL, channel=channel)


def test_the_rep_marks_a_lead_junk_in_one_confirmed_click(client, rep, owned):
    client.force_login(rep)
    page = client.get(owned.get_absolute_url()).content.decode()
    assert 'data-testid="junk-form"' in page
    assert "Disqualify this lead as junk or spam?" in page

    response = client.post(
        f"/leads/{owned.pk}/junk/", {"stage": owned.stage}, headers={"HX-Request": "true"}
    )

    assert response.status_code in (200, 302)
    owned.refresh_from_db()
    assert owned.stage == Stage.DISQUALIFIED and owned.disqualify_reason == JUNK_REASON
    assert not Feedback.objects.filter(lead=owned).exists()
    entered = LeadEvent.objects.filter(lead=owned, kind=LeadEvent.Kind.STAGE_ENTERED).last()
    assert entered.reason == JUNK_REASON
    # Closed: no junk button any more.
    page = client.get(owned.get_absolute_url()).content.decode()
    assert 'data-testid="junk-form"' not in page


def test_someone_without_the_right_may_not_junk_a_lead(client, other_rep, owned):
    client.force_login(other_rep)
    response = client.post(f"/leads/{owned.pk}/junk/", {"stage": owned.stage})
    assert response.status_code in (403, 404)
    owned.refresh_from_db()
    assert owned.stage == Stage.MQL


def test_a_page_that_saw_another_stage_does_not_junk_the_lead(client, rep, owned):
    client.force_login(rep)
    services.run_transition(fresh(owned), "nurture", by=rep, return_on="2099-01-01")
    response = client.post(f"/leads/{owned.pk}/junk/", {"stage": Stage.MQL})
    owned.refresh_from_db()
    assert response.status_code == 422
    assert owned.stage == Stage.NURTURE
    assert "moved on since you opened it" in response.content.decode()


@pytest.mark.django_db
def test_a_lead_sales_accepted_is_not_junk(rep):
    lead = LeadFactory(owner=rep, stage=Stage.SQL)
    with pytest.raises(LeadError, match="accepted by sales"):
        services.mark_junk(lead, by=rep)
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL


@pytest.mark.django_db
def test_the_junk_reason_typed_into_disqualify_is_refused(rep):
    # Junk is its own action: typing its words into a disqualification does not make one.
    lead = LeadFactory(owner=rep, stage=Stage.WORKING)
    with pytest.raises(LeadError, match="action of its own"):
        services.run_transition(lead, "disqualify", by=rep, reason=" junk / SPAM ")
    lead.refresh_from_db()
    assert lead.stage == Stage.WORKING
