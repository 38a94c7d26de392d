"""The rep's queue, the team page, the lead desk and the sales report agree on one world.

The workspaces count the leads as they are now and the report counts clocks by their
due time and the owner then; in this world nobody changed hands after a due time, so
they must give the same numbers, and each report number must drill to the same leads.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from leads import services
from leads.clock import breach_due_clocks
from reports.filters import DESK, ReportFilters
from reports.sales import sales_activity
from tests.agreements.factories import AgreementFactory, ResponseRuleFactory, signed_and_active
from tests.factories import LeadFactory, RepFactory
from tests.leads.test_workspace_counts import queue_buckets, team_row
from tests.leads.workspace_helpers import lead_ids_in_order

pytestmark = pytest.mark.django_db


def report_row(rows, section, key):
    return next(r for r in rows if r["section"] == section and r["key"] == key)


def test_queue_team_page_desk_and_sales_report_agree(client, marketer, manager, ops, rep, team):
    draft = AgreementFactory()
    ResponseRuleFactory(agreement=draft, within_amount=4, within_unit="hours", business_time=False)
    signed_and_active(draft, marketer, manager, by=ops)
    bob = RepFactory(username="bob", team=team)
    now = timezone.now()
    t0 = now - dt.timedelta(days=2)

    def hand_raised(owner, at):
        return services.run_transition(
            LeadFactory(stage="fan", owner=owner), "hand_raise", by=marketer, at=at
        )

    # Ann (`rep`): one clock ran out untouched, one was met, one still runs.
    hand_raised(rep, t0)
    met = hand_raised(rep, t0)
    services.log_touch(met, by=rep, kind="call", at=t0 + dt.timedelta(hours=1))
    hand_raised(rep, now - dt.timedelta(hours=1))
    # Bob: one clock ran out. The desk: one clock ran out while nobody owned the lead.
    hand_raised(bob, t0)
    hand_raised(None, t0)
    breach_due_clocks(now, limit=100)

    client.force_login(rep)
    ann_queue = queue_buckets(client.get(reverse("leads:queue")).content.decode())
    client.force_login(manager)
    team_page = client.get(reverse("leads:team")).content.decode()
    desk = queue_buckets(client.get(reverse("leads:desk")).content.decode())
    f = ReportFilters(start_day=timezone.localdate(t0), end_day=timezone.localdate(now))
    rows = sales_activity(f, now)

    # Hand count: breached Ann 1, Bob 1, desk 1; running Ann 1; met Ann 1.
    assert ann_queue["breached"] == team_row(team_page, str(rep.pk))["breached"] == 1
    assert ann_queue["due"] == team_row(team_page, str(rep.pk))["due"] == 1
    assert team_row(team_page, str(bob.pk))["breached"] == 1
    assert desk["breached"] == team_row(team_page, "desk")["breached"] == 1

    ann, bobs, desk_row = (report_row(rows, "rep", k) for k in (rep.pk, bob.pk, DESK))
    assert (int(ann["sla_breached"]), int(ann["sla_met"])) == (1, 1)
    assert int(bobs["sla_breached"]) == 1
    assert int(desk_row["sla_breached"]) == 1

    # The report's breached links list the very leads the workspaces show as breached.
    def drilled(who):
        url = reverse("reports:drilldown", args=["sales"])
        response = client.get(url, {**f.with_(rep=who).params(), "metric": "sla_breached"})
        assert response.status_code == 200
        return set(lead_ids_in_order(response.content.decode()))

    def bucket(url):
        return set(lead_ids_in_order(client.get(url, {"bucket": "breached"}).content.decode()))

    assert drilled(rep.pk) == bucket(reverse("leads:team_rep", args=[rep.pk]))
    assert drilled(DESK) == bucket(reverse("leads:desk"))
    assert len(drilled(rep.pk)) == len(drilled(DESK)) == 1
