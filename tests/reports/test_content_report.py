"""The content report on a hand-counted March 2026: every figure equals the hand count, and
each drill-down lists exactly what its figure counts.

T0 is Tuesday 10 March 2026, 10:00 UTC; "now" is 15 April. Reps: rep and rep2 (East).

- L1 (rep): a call with CASE (day 0), CASE shared (day 0.1) and opened twice (days 0.2, 1);
  a 10,000 deal opened day 2, won day 5.
- L2 (rep): a call with CASE in February (outside the range); a call with CASE and DECK
  (day 1); a 4,000 deal opened day 3, lost day 6.
- L3 (rep2): a 2,500 deal opened day 1 and still open; DECK shared by rep2 (day 2), opened
  once (day 3).
- L4 (rep): a 1,000 deal opened day 0, won day 1; a touch carrying CASE recorded day 4,
  after the win.
- L5 (rep2): a 3,000 deal opened day 0, lost day 2; no content.
- OLD: published, last used in December 2025. DRAFT: never published.

By hand, for March:
- CASE: used 3 touches on 3 leads (L1, L2, L4); shared 1 by 1 rep; 2 opens; deals touched 2
  (L1, L2: L4's deal was closed before its touch), pipeline 14,000; of the 4 deals closed in
  March, 2 had CASE before the close (L1 won, L2 lost): 1 of 2; without: L4 won, L5 lost,
  1 of 2. Ratings: L1 helped, L2 did not: 1 of 2.
- DECK: used 1 touch (L2); shared 1 by 1 rep (rep2); 1 open; deals touched 2 (L2, L3),
  pipeline 6,500; with it: L2 lost, 0 of 1; without: L1 and L4 won, L5 lost, 2 of 3.
  Ratings: 1 of 1.
- Requests made in March: 4 — 1 answered in time, 1 late, 2 open (1 overdue, 1 with no
  promise); one made in February is not counted.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse

from agreements import roles
from content import ratings
from content import services as content_services
from content.models import Asset, ContentRequest, SharedLink, TouchAsset
from leads import services
from leads.models import Activity, Lead
from reports.content import CONTENT_REPORT, content_report
from reports.filters import ReportFilters
from tests.content.library_factories import AssetFactory
from tests.factories import LeadFactory, RepFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 4, 15, 12, 0, tzinfo=dt.UTC)
MARCH = ReportFilters(start_day=dt.date(2026, 3, 1), end_day=dt.date(2026, 3, 31))


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def fresh(lead: Lead) -> Lead:
    return Lead.objects.get(pk=lead.pk)


def deal(lead: Lead, rep, amount: str, at: dt.datetime) -> None:
    services.run_transition(fresh(lead), "open_opportunity", by=rep, amount=amount, at=at)


def win(lead: Lead, rep, at: dt.datetime) -> None:
    services.run_transition(fresh(lead), "win", by=rep, at=at)


def lose(lead: Lead, rep, at: dt.datetime) -> None:
    services.disqualify_with_feedback(
        fresh(lead),
        by=rep,
        reason="Chose a competitor",
        fit="poor",
        feedback_reason="competitor",
        at=at,
    )


def call(lead: Lead, rep, assets: list[Asset], at: dt.datetime) -> None:
    content_services.log_touch_with_assets(fresh(lead), by=rep, kind="call", assets=assets, at=at)


def open_link(link, ip: str, at: dt.datetime) -> None:
    assert content_services.record_open(link, user_agent="Mozilla/5.0", ip_hash=ip, at=at)


@pytest.fixture
def world(team, rep):
    rep2 = RepFactory(username="rep2", team=team)
    case = AssetFactory(title="Hospital case study")
    deck = AssetFactory(title="CFO deck")
    old = AssetFactory(title="Old data sheet", published_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    AssetFactory(title="Draft", status=Asset.Status.DRAFT)
    leads = [
        LeadFactory(stage="sql", owner=owner, email=f"l{i}@example.com")
        for i, owner in enumerate([rep, rep, rep2, rep, rep2], start=1)
    ]
    l1, l2, l3, l4, l5 = leads

    call(l1, rep, [case], day(0))
    link1 = content_services.share(fresh(l1), case, by=rep, at=day(0.1))
    open_link(link1, "a", day(0.2))
    open_link(link1, "b", day(1))
    deal(l1, rep, "10000", day(2))
    win(l1, rep, day(5))

    call(l2, rep, [case], dt.datetime(2026, 2, 20, 10, tzinfo=dt.UTC))
    call(l2, rep, [case, deck], day(1))
    deal(l2, rep, "4000", day(3))
    lose(l2, rep, day(6))

    deal(l3, rep2, "2500", day(1))
    link3 = content_services.share(fresh(l3), deck, by=rep2, at=day(2))
    open_link(link3, "c", day(3))

    deal(l4, rep, "1000", day(0))
    win(l4, rep, day(1))
    after_win = Activity.objects.create(
        lead=l4, side="sales", kind="call", actor=rep, occurred_at=day(4), is_touch=True
    )
    TouchAsset.objects.create(
        activity=after_win, asset=case, version=case.current_version, lead=l4, by=rep, at=day(4)
    )

    deal(l5, rep2, "3000", day(0))
    lose(l5, rep2, day(2))

    old_touch = Activity.objects.create(
        lead=l5,
        side="sales",
        kind="call",
        actor=rep2,
        occurred_at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
    )
    TouchAsset.objects.create(
        activity=old_touch, asset=old, version=old.current_version, lead=l5, by=rep2,
        at=dt.datetime(2025, 12, 1, tzinfo=dt.UTC),
    )  # fmt: skip

    ratings.rate(rep, fresh(l1), case.current_version, helped=True, reason="Won it", at=day(6))
    ratings.rate(rep, fresh(l2), case.current_version, helped=False, reason="Wrong", at=day(7))
    ratings.rate(rep, fresh(l2), deck.current_version, helped=True, reason="Liked", at=day(7))

    promise = {"due_at": day(3)}
    ContentRequest.objects.create(
        requested_by=rep, text="In time", created_at=day(0), answered_at=day(2), **promise
    )
    ContentRequest.objects.create(
        requested_by=rep, text="Late", created_at=day(0), answered_at=day(4), **promise
    )
    ContentRequest.objects.create(requested_by=rep2, text="Overdue", created_at=day(1), **promise)
    ContentRequest.objects.create(requested_by=rep2, text="No promise", created_at=day(1))
    ContentRequest.objects.create(
        requested_by=rep, text="February", created_at=dt.datetime(2026, 2, 2, tzinfo=dt.UTC)
    )
    return SimpleNamespace(rep2=rep2, case=case, deck=deck, old=old, leads=leads)


def rows(section: str) -> dict:
    return {r["key"]: r for r in content_report(MARCH, NOW) if r["section"] == section}


def test_per_asset_figures_equal_the_hand_count(world):
    by_asset = rows("asset")
    case, deck = by_asset[world.case.pk], by_asset[world.deck.pk]

    assert (int(case["used"]), case["used"].leads) == (3, 3)
    assert (case["shared"], case["reps"], case["opens"]) == (1, 1, 2)
    assert (case["deals"], case["pipeline"]) == (2, Decimal("14000.00"))
    assert str(case["win_rate_with"]) == "1 of 2 (50.0 %)"
    assert str(case["win_rate_without"]) == "1 of 2 (50.0 %)"
    assert str(case["helped_share"]) == "1 of 2 (50.0 %)"

    assert (int(deck["used"]), deck["shared"], deck["reps"], deck["opens"]) == (1, 1, 1, 1)
    assert (deck["deals"], deck["pipeline"]) == (2, Decimal("6500.00"))
    assert str(deck["win_rate_with"]) == "0 of 1 (0.0 %)"
    assert str(deck["win_rate_without"]) == "2 of 3 (66.7 %)"
    assert str(deck["helped_share"]) == "1 of 1 (100.0 %)"


def test_published_assets_nobody_used_in_90_days_are_listed(world):
    unused = rows("unused")

    assert list(unused) == [world.old.pk]
    assert unused[world.old.pk]["last_used"] == dt.date(2025, 12, 1)
    assert world.old.pk in rows("asset")  # a published asset shows, with its zeros
    assert not any(r["label"] == "Draft" for r in rows("asset").values())


def test_requests_figures_equal_the_hand_count(world):
    (row,) = rows("requests").values()

    assert row["requested"] == 4
    assert (row["answered_in_time"], row["answered_late"], row["answered_no_promise"]) == (1, 1, 0)
    assert (row["open"], row["open_overdue"]) == (2, 1)


def test_the_rep_filter_counts_what_the_rep_did(world):
    rep2_only = MARCH.with_(rep=world.rep2.pk)
    by_asset = {r["key"]: r for r in content_report(rep2_only, NOW) if r["section"] == "asset"}

    assert int(by_asset[world.case.pk]["used"]) == 0
    assert (by_asset[world.deck.pk]["shared"], by_asset[world.deck.pk]["opens"]) == (1, 1)


def drill_total(client, metric: str) -> str:
    url = reverse("reports:drilldown", args=["content"])
    response = client.get(url, {"start": "2026-03-01", "end": "2026-03-31", "metric": metric})
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('data-testid="drill-total">') + len('data-testid="drill-total">')
    return html[start : html.index("<", start)]


@pytest.fixture
def marketer_client(client, marketer):
    client.force_login(marketer)
    return client


@pytest.mark.parametrize(
    ("asset", "metric", "expected"),
    [
        ("case", "used", "3"),
        ("case", "shared", "1"),
        ("case", "opens", "2"),
        ("case", "deals", "2"),
        ("case", "pipeline", "14,000 EUR"),
        ("case", "win_rate_with", "1"),
        ("case", "closed_with", "2"),
        ("case", "win_rate_without", "1"),
        ("case", "closed_without", "2"),
        ("case", "helped_share", "1"),
        ("case", "rated", "2"),
        ("deck", "deals", "2"),
        ("deck", "pipeline", "6,500 EUR"),
        ("deck", "win_rate_without", "2"),
        ("deck", "closed_without", "3"),
    ],
)
def test_each_drill_down_total_equals_its_figure(world, marketer_client, asset, metric, expected):
    asset_id = getattr(world, asset).pk

    assert drill_total(marketer_client, f"{metric}:{asset_id}") == expected


def test_shared_by_reps_drills_down_to_the_shares_of_those_reps(world, marketer_client):
    # The case study's one share, and a second one by the same rep an hour later, with
    # another of her leads: two shares, still one rep.
    first = SharedLink.objects.get(asset=world.case)
    other = LeadFactory(owner=first.shared_by, stage="working")
    later = first.shared_at + dt.timedelta(hours=1)
    content_services.share(other, world.case, by=first.shared_by, at=later)
    case = rows("asset")[world.case.pk]
    assert (case["shared"], case["reps"]) == (2, 1)

    response = marketer_client.get(
        reverse("reports:drilldown", args=["content"]),
        {"metric": f"reps:{world.case.pk}", "start": "2026-03-01", "end": "2026-03-31"},
    )

    html = response.content.decode()
    assert drill_total(marketer_client, f"reps:{world.case.pk}") == "1"
    assert "</span> rep, in 2 shares" in html
    assert html.count("data-row=") == 2


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("requested", "4"), ("answered_in_time", "1"), ("answered_late", "1"), ("open", "2"),
     ("open_overdue", "1")],
)  # fmt: skip
def test_each_request_figure_drills_down_to_its_requests(world, marketer_client, metric, expected):
    with_now = drill_total(marketer_client, f"{metric}:all")

    assert with_now == expected


def test_the_page_links_every_figure_to_its_drill_down(world, marketer_client):
    response = marketer_client.get(
        reverse("reports:report", args=["content"]), {"start": "2026-03-01", "end": "2026-03-31"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert f"metric=used%3A{world.case.pk}" in html
    assert f"metric=pipeline%3A{world.case.pk}" in html
    assert "metric=open_overdue%3Aall" in html
    assert "14,000 EUR" in html
    assert "Win rate with it" in html  # the definitions line


def test_the_report_is_aggregated_in_a_constant_number_of_queries(world, django_assert_num_queries):
    with django_assert_num_queries(3):
        content_report(MARCH, NOW)
    for n in range(5):
        AssetFactory(title=f"More {n}")
    with django_assert_num_queries(3):
        content_report(MARCH, NOW)


def test_exports_carry_the_same_figures(world, marketer_client):
    response = marketer_client.get(
        reverse("reports:export", args=["content", "csv"]),
        {"start": "2026-03-01", "end": "2026-03-31"},
    )

    text = response.content.decode("utf-8-sig")
    assert response.status_code == 200
    assert "Hospital case study" in text
    assert ",14000" in text
    xlsx = marketer_client.get(
        reverse("reports:export", args=["content", "xlsx"]),
        {"start": "2026-03-01", "end": "2026-03-31"},
    )
    assert xlsx.status_code == 200


@pytest.mark.parametrize("role", [roles.MARKETING, roles.SALES_MANAGER, roles.OPS])
def test_marketing_managers_and_ops_open_the_report(db, client, role):
    client.force_login(UserFactory(username=f"u-{role}", role=role))

    assert client.get(reverse("reports:report", args=["content"])).status_code == 200


def test_a_rep_cannot_open_the_report_or_its_drill_downs(client, rep):
    client.force_login(rep)

    assert client.get(reverse("reports:report", args=["content"])).status_code == 403
    drill = reverse("reports:drilldown", args=["content"])
    assert client.get(drill, {"metric": "used:1"}).status_code == 403


def test_the_report_is_on_the_menu(marketer_client):
    response = marketer_client.get(reverse("reports:index"))

    assert CONTENT_REPORT.title in response.content.decode()


def test_a_manager_is_not_shown_the_requests_of_another_team(world, client, manager):
    """A request about no lead is listed only to those who may read it (its requester,
    their manager, marketing and Ops): another team's manager sees it counted, not read."""
    west = TeamFactory(name="West", manager=UserFactory(username="west", role=roles.SALES_MANAGER))
    rep3 = RepFactory(username="rep3", team=west)
    ContentRequest.objects.create(requested_by=rep3, text="West secret plan", created_at=day(1))
    client.force_login(manager)
    url = reverse("reports:drilldown", args=["content"])

    response = client.get(
        url, {"start": "2026-03-01", "end": "2026-03-31", "metric": "requested:all"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "West secret plan" not in html
    assert "In time" in html and "Overdue" in html
    assert "1 of them is a request you may not read and not listed" in html
