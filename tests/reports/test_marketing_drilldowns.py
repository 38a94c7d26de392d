"""Every linked number of the delivery, pipeline and 1:1 reports opens exactly the leads
it counts (through the HTTP drill-down), on one world with desk leads, reassignments and
reopened leads (tests/reports/marketing_world.py)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from reports.filters import filters_from
from reports.tables import REPORTS, rows_of
from reports.views import _drill_url
from tests.agreements.factories import (
    AgreementFactory,
    MarketingCommitmentFactory,
    ResponseRuleFactory,
    signed_and_active,
)
from tests.reports.marketing_world import MARCH, NOW, build

pytestmark = pytest.mark.django_db

MARKETING_REPORTS = ("delivery", "pipeline", "one_on_one")


@pytest.fixture
def world(rep, other_rep, marketer, manager, ops):
    """The marketing world under an agreement in force: its commitment section links too,
    and each entry into MQL starts a clock (4 wall-clock hours)."""
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", business_time=False)
    MarketingCommitmentFactory(agreement=draft, new_leads=10, mqls=4, sales_accepted=2)
    signed_and_active(draft, marketer, manager, by=ops)
    return build(rep, other_rep, marketer, ops)


def linked_cells(key: str) -> list[tuple[str, str, str, int]]:
    """(section, row label, drill url, the number the cell counts in leads) of every link."""
    report = REPORTS[key]
    rows = report.query(MARCH, NOW)
    found = []
    for section in report.sections_of(rows):
        for row in rows_of(section, rows):
            for column in section.columns:
                value = column.value(row)
                if not column.drill or value in (None, 0):
                    continue
                url = _drill_url(report, section, column, row, MARCH)
                if url is None:
                    continue
                metric = parse_qs(urlsplit(url).query)["metric"][0]
                filters = filters_from(parse_qs(urlsplit(url).query) and _flat(url))
                leads = report.drilldown(metric, filters, NOW).count()
                found.append((section.key, str(row.get("label")), url, _leads_in(value, leads)))
    return found


def _flat(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _leads_in(value: object, drilled: int) -> int:
    """The number of leads a cell says it counts: a count of leads is itself; a count of
    deals names its leads; an amount or a rate counts the leads its rows fall on."""
    part = getattr(value, "part", None)
    if part is not None:
        return getattr(part, "leads", part)
    leads = getattr(value, "leads", None)
    if leads is not None:
        return leads
    if isinstance(value, int):
        return value
    return drilled


@pytest.mark.parametrize("key", MARKETING_REPORTS)
def test_every_linked_number_opens_exactly_its_leads(client, ops, world, key, time_machine):
    time_machine.move_to(NOW, tick=False)
    client.force_login(ops)
    cells = linked_cells(key)
    sections = {section for section, *_ in cells}
    expected_sections = {
        "delivery": {"commitment", "total", "channel", "campaign", "persona", "reason"},
        "pipeline": {"figure", "cost"},
        "one_on_one": {"summary", "stage", "persona", "title", "reason"},
    }
    assert sections == expected_sections[key]
    for section, label, url, expected in cells:
        response = client.get(url)
        assert response.status_code == 200, (section, label, url)
        html = response.content.decode()
        total = re.search(r'data-testid="drill-total">(\d+)<', html)
        assert total is not None, url
        assert int(total.group(1)) == expected, (section, label, unescape(url))


def test_the_no_campaign_and_no_persona_rows_link_to_their_leads(client, ops, world):
    client.force_login(ops)
    cells = {(s, label): url for s, label, url, _ in linked_cells("delivery")}
    assert ("campaign", "No campaign") in cells
    assert ("persona", "No persona") in cells
    page = client.get(cells[("campaign", "No campaign")].replace("metric=mqls", "metric=mqls"))
    assert f'data-lead="{world.d.pk}"' in page.content.decode()


def test_a_drilldown_lists_desk_leads_as_on_the_lead_desk(client, ops, world):
    client.force_login(ops)
    response = client.get("/reports/delivery/leads/?start=2026-03-01&end=2026-03-31&metric=mqls")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-lead="{world.c.pk}"' in html
    assert "Lead desk" in html
