"""The content report: what each asset of the library did for sales, and how marketing
answers sales' content requests.

Each figure is defined once, as the rows it counts (`ContentFigure.rows`): the page and
the exports count them per asset in one query (a correlated aggregate per figure over the
assets), and the drill-down lists exactly those rows — the touches, shares, opens, deals,
ratings or requests behind the number, each with its lead.

Definitions (the page says them under each table):

- used: touches with the asset in the range (a touch that carried one of its versions);
- shared: links to it made for leads in the range, by how many reps;
- opens: counted customer opens of its links in the range (bots and HEAD requests are
  never stored);
- deals touched: deals on a lead it was used with (a touch that carried it, or a share) in
  the range, still open then (or opened later); pipeline: their amounts;
- win rate with it: of the deals closed (won or lost) in the range, those whose lead it was
  used with (touch or share) before the close: won of closed, "n of m"; without it: the
  other closed deals;
- helped: ratings given in the range that say it helped, of all its ratings;
- unused: published assets nobody used or shared in the last 90 days;
- requests: made in the range; answered in time (by the promised due time) or late; open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from agreements import roles
from config.ids import as_id
from content.models import Asset, ContentRequest, LinkOpen, Rating, SharedLink, TouchAsset
from leads.models import Deal, LeadEvent

from .figures.base import Counted, Shown, scoped
from .filters import DESK, NONE, ReportFilters
from .tables import MANAGERS, REPORTS, Column, Report, Section

UNUSED_DAYS = 90
Kind = LeadEvent.Kind
# A deal still open has no close: any touch after it opened is before its close.
NEVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)

AssetRef = int | OuterRef


class Aggregate(Subquery):
    """One aggregate over a correlated subquery's rows: (SELECT COUNT(*) FROM (…) AS rows)."""

    template = "(SELECT %(function)s FROM (%(subquery)s) AS content_rows)"


def _people(rows: QuerySet[Any], actor: str, f: ReportFilters) -> QuerySet[Any]:
    """Rows narrowed by the team and rep filters, through the person who did them."""
    if f.rep == DESK:
        rows = rows.filter(**{f"{actor}__isnull": True})
    elif f.rep is not None:
        rows = rows.filter(**{f"{actor}_id": f.rep})
    if f.team is not None:
        rows = rows.filter(**{f"{actor}__rep_profile__team_id": f.team})
    return rows


def _lead_facts(rows: QuerySet[Any], lead: str, f: ReportFilters) -> QuerySet[Any]:
    """Rows narrowed by the channel, campaign and persona filters, through their lead."""
    for name in ("channel", "campaign", "persona"):
        value = getattr(f, name)
        if value == NONE:
            rows = rows.filter(**{f"{lead}__{name}__isnull": True})
        elif value is not None:
            rows = rows.filter(**{f"{lead}__{name}_id": value})
    return rows


def _in_range(rows: QuerySet[Any], field: str, f: ReportFilters) -> QuerySet[Any]:
    return rows.filter(**{f"{field}__gte": f.start, f"{field}__lt": f.end})


# --- The rows of each figure ----------------------------------------------------------


def touches(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[TouchAsset]:
    rows = _in_range(TouchAsset.objects.filter(asset=asset), "at", f)
    return _lead_facts(_people(rows, "by", f), "lead", f)


def shares(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[SharedLink]:
    rows = _in_range(SharedLink.objects.filter(asset=asset), "shared_at", f)
    return _lead_facts(_people(rows, "shared_by", f), "lead", f)


def opens(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[LinkOpen]:
    rows = _in_range(LinkOpen.objects.filter(link__asset=asset), "at", f)
    return _lead_facts(_people(rows, "link__shared_by", f), "link__lead", f)


def deals_touched(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[Deal]:
    """Deals still open (or not yet opened) when the asset was used with their lead (a
    touch or a share) in the range."""
    asset_ref = OuterRef(asset) if isinstance(asset, OuterRef) else asset
    close = Coalesce(OuterRef("closed_at"), Value(NEVER, output_field=DateTimeField()))
    touched = _people(
        _in_range(TouchAsset.objects.filter(asset=asset_ref, lead=OuterRef("lead")), "at", f),
        "by",
        f,
    ).filter(at__lte=close)
    shared = _people(
        _in_range(
            SharedLink.objects.filter(asset=asset_ref, lead=OuterRef("lead")), "shared_at", f
        ),
        "shared_by",
        f,
    ).filter(shared_at__lte=close)
    return _lead_facts(Deal.objects.filter(Exists(touched) | Exists(shared)), "lead", f)


def _closed(f: ReportFilters, now: dt.datetime, kinds: tuple[str, ...]) -> QuerySet[LeadEvent]:
    events = LeadEvent.objects.filter(kind__in=kinds, at__gte=f.start, at__lt=f.end)
    return scoped(events, f)


def _used_before_close(asset: AssetRef) -> Q:
    """The closing event's lead had the asset in a touch or a share by then."""
    asset_ref = OuterRef(asset) if isinstance(asset, OuterRef) else asset
    touched = TouchAsset.objects.filter(
        asset=asset_ref, lead=OuterRef("lead"), at__lte=OuterRef("at")
    )
    shared = SharedLink.objects.filter(
        asset=asset_ref, lead=OuterRef("lead"), shared_at__lte=OuterRef("at")
    )
    return Q(Exists(touched)) | Q(Exists(shared))


CLOSED = (Kind.DEAL_WON, Kind.DEAL_LOST)
WON = (Kind.DEAL_WON,)


def closed_with(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[LeadEvent]:
    return _closed(f, now, CLOSED).filter(_used_before_close(asset))


def won_with(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[LeadEvent]:
    return _closed(f, now, WON).filter(_used_before_close(asset))


def closed_without(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[LeadEvent]:
    return _closed(f, now, CLOSED).exclude(_used_before_close(asset))


def won_without(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[LeadEvent]:
    return _closed(f, now, WON).exclude(_used_before_close(asset))


def ratings(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[Rating]:
    rows = _in_range(Rating.objects.filter(asset=asset), "rated_at", f)
    return _lead_facts(_people(rows, "rep", f), "lead", f)


def helped(f: ReportFilters, now: dt.datetime, asset: AssetRef) -> QuerySet[Rating]:
    return ratings(f, now, asset).filter(helped=True)


@dataclass(frozen=True)
class ContentFigure:
    """One per-asset number: its rows (for one asset, or correlated to the asset row) and
    how they are counted — rows (with their leads), distinct people, or an amount."""

    key: str
    label: str
    rows: Callable[[ReportFilters, dt.datetime, AssetRef], QuerySet[Any]]
    # "rows": how many (and on how many leads: `lead`); "people": distinct `actor`;
    # "amount": Σ amount.
    measure: str = "rows"
    unit: str = "rows"
    lead: str = "lead_id"
    actor: str = ""
    listing: str = ""

    def annotations(self, f: ReportFilters, now: dt.datetime) -> dict[str, Any]:
        """The figure per asset, as annotations of an Asset queryset."""
        rows = self.rows(f, now, OuterRef("pk")).order_by()
        number = IntegerField()
        if self.measure == "amount":
            total = Aggregate(
                rows.values(v=F("amount")),
                function="SUM(v)",
                output_field=DecimalField(max_digits=16, decimal_places=2),
            )
            return {self.key: Coalesce(total, Decimal("0.00"))}
        if self.measure == "people":
            people = rows.values(v=F(self.actor))
            return {self.key: Aggregate(people, function="COUNT(DISTINCT v)", output_field=number)}
        return {
            self.key: Aggregate(rows.values("pk"), function="COUNT(*)", output_field=number),
            f"{self.key}__leads": Aggregate(
                rows.values(v=F(self.lead)), function="COUNT(DISTINCT v)", output_field=number
            ),
        }

    def value(self, annotated: Any) -> Any:
        """The figure's value from an asset annotated by `annotations`."""
        value = getattr(annotated, self.key)
        if self.measure == "rows":
            return Counted(value or 0, getattr(annotated, f"{self.key}__leads") or 0, self.unit)
        return value or 0


USED = ContentFigure("used", "Used in touches", touches, unit="touches", listing="touches")
SHARED = ContentFigure("shared", "Times shared", shares, unit="shares", listing="shares")
SHARED_BY = ContentFigure(
    "reps", "Shared by reps", shares, measure="people", actor="shared_by", listing="shares"
)
OPENS = ContentFigure(
    "opens", "Opens by customers", opens, unit="opens", lead="link__lead_id", listing="opens"
)
DEALS = ContentFigure("deals", "Deals touched", deals_touched, unit="deals", listing="deals")
PIPELINE = ContentFigure(
    "pipeline", "Their pipeline", deals_touched, measure="amount", listing="deals"
)
CLOSED_WITH = ContentFigure(
    "closed_with", "Deals closed, used", closed_with, unit="deals", listing="closed"
)
WON_WITH = ContentFigure("won_with", "Deals won, used", won_with, unit="deals", listing="closed")
CLOSED_WITHOUT = ContentFigure(
    "closed_without", "Deals closed, not used", closed_without, unit="deals", listing="closed"
)
WON_WITHOUT = ContentFigure(
    "won_without", "Deals won, not used", won_without, unit="deals", listing="closed"
)
RATED = ContentFigure("rated", "Ratings", ratings, unit="ratings", listing="ratings")
HELPED = ContentFigure("helped", "Rated helpful", helped, unit="ratings", listing="ratings")

ASSET_FIGURES: tuple[ContentFigure, ...] = (
    USED,
    SHARED,
    SHARED_BY,
    OPENS,
    DEALS,
    PIPELINE,
    CLOSED_WITH,
    WON_WITH,
    CLOSED_WITHOUT,
    WON_WITHOUT,
    RATED,
    HELPED,
)
# The figures a drill-down lists, by the metric's name ("used:12": asset 12's touches);
# a rate drills into its numerator, as every rate of the reports does.
DRILLABLE: dict[str, ContentFigure] = {
    "used": USED,
    "shared": SHARED,
    "reps": SHARED_BY,
    "opens": OPENS,
    "deals": DEALS,
    "pipeline": PIPELINE,
    "closed_with": CLOSED_WITH,
    "closed_without": CLOSED_WITHOUT,
    "win_rate_with": WON_WITH,
    "win_rate_without": WON_WITHOUT,
    "rated": RATED,
    "helped_share": HELPED,
}


# --- Requests -----------------------------------------------------------------------------


def requests_made(f: ReportFilters, now: dt.datetime) -> QuerySet[ContentRequest]:
    """Requests made in the range, by the requester's team and rep."""
    return _people(
        _in_range(ContentRequest.objects.all(), "created_at", f), "requested_by", f
    ).order_by()


REQUEST_PARTS: dict[str, tuple[str, Callable[[dt.datetime], Q]]] = {
    "requested": ("Requested", lambda now: Q()),
    "answered_in_time": (
        "Answered in time",
        lambda now: Q(answered_at__isnull=False, answered_at__lte=F("due_at")),
    ),
    "answered_late": (
        "Answered late",
        lambda now: Q(answered_at__isnull=False, answered_at__gt=F("due_at")),
    ),
    "answered_no_promise": (
        "Answered, no promise",
        lambda now: Q(answered_at__isnull=False, due_at__isnull=True),
    ),
    "open": ("Open", lambda now: Q(answered_at__isnull=True)),
    "open_overdue": ("Open and overdue", lambda now: Q(answered_at__isnull=True, due_at__lte=now)),
}


def request_rows(f: ReportFilters, now: dt.datetime, part: str) -> QuerySet[ContentRequest]:
    """The requests behind one figure of the requests table."""
    return requests_made(f, now).filter(REQUEST_PARTS[part][1](now))


# --- The report's rows -----------------------------------------------------------------------


def _asset_rows(f: ReportFilters, now: dt.datetime) -> list[dict[str, Any]]:
    annotations: dict[str, Any] = {}
    for figure in ASSET_FIGURES:
        annotations.update(figure.annotations(f, now))
    assets = (
        Asset.objects.exclude(status=Asset.Status.DRAFT)
        .select_related("kind")
        .annotate(**annotations)
        .order_by("title", "pk")
    )
    rows = []
    for asset in assets:
        values = {figure.key: figure.value(asset) for figure in ASSET_FIGURES}
        if asset.status != Asset.Status.PUBLISHED and not any(values.values()):
            continue  # a retired asset nobody touched in the range
        values.update(
            section="asset",
            key=asset.pk,
            label=asset.title,
            kind=str(asset.kind),
            win_rate_with=Shown(int(values["won_with"]), int(values["closed_with"])),
            win_rate_without=Shown(int(values["won_without"]), int(values["closed_without"])),
            helped_share=Shown(int(values["helped"]), int(values["rated"])),
        )
        rows.append(values)
    rows.sort(key=lambda r: (-int(r["used"]), -int(r["shared"]), r["label"]))
    return rows


def unused_assets(now: dt.datetime) -> QuerySet[Asset]:
    """Published assets nobody used in a touch or shared in the last 90 days."""
    since = now - dt.timedelta(days=UNUSED_DAYS)
    recent_touch = TouchAsset.objects.filter(asset=OuterRef("pk"), at__gte=since)
    recent_share = SharedLink.objects.filter(asset=OuterRef("pk"), shared_at__gte=since)
    last_touch = (
        TouchAsset.objects.filter(asset=OuterRef("pk"))
        .order_by()
        .values("asset")
        .annotate(m=Max("at"))
        .values("m")
    )
    return (
        Asset.objects.filter(status=Asset.Status.PUBLISHED)
        .exclude(Exists(recent_touch))
        .exclude(Exists(recent_share))
        .select_related("kind", "owner")
        .annotate(last_used=Subquery(last_touch))
        .order_by("title", "pk")
    )


def _unused_rows(now: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "section": "unused",
            "key": asset.pk,
            "label": asset.title,
            "kind": str(asset.kind),
            "owner": roles.display_name(asset.owner) if asset.owner else "—",
            "published": timezone.localtime(asset.published_at).date()
            if asset.published_at
            else None,
            "last_used": timezone.localtime(asset.last_used).date() if asset.last_used else None,
        }
        for asset in unused_assets(now)
    ]


def _request_row(f: ReportFilters, now: dt.datetime) -> dict[str, Any]:
    counts = requests_made(f, now).aggregate(
        **{key: Count("pk", filter=where(now)) for key, (_l, where) in REQUEST_PARTS.items()}
    )
    return {"section": "requests", "key": "all", "label": "Content requests", **counts}


def content_report(f: ReportFilters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The report's rows. Sections: asset, unused, requests."""
    now = now or timezone.now()
    return [*_asset_rows(f, now), *_unused_rows(now), _request_row(f, now)]


# --- What the page shows -----------------------------------------------------------------

_USE = "Use"
_DEALS = "Deals"
ASSET_NOTE = (
    "Used: touches that carried the asset in the range. Shared: links made for leads in the "
    "range, by how many reps. Opens: counted customer opens of its links in the range (bots "
    "and HEAD requests are not counted). Deals touched: deals on a lead it was used with (a "
    "touch or a share) in the range, still open then (or opened later); pipeline: their "
    "amounts. Win rate with it: of the deals won or lost in the range, those whose lead it "
    "was used with before the close, won of closed; without it: the other deals closed in "
    "the range. Helped: ratings given in the range saying it helped, of its ratings. Few "
    "deals make a rate fragile: read the counts."
)

ASSET_COLUMNS = (
    Column("label", "Asset", "text"),
    Column("kind", "Kind", "text", detail=True),
    Column("used", "Used in touches", drill="used:", group=_USE, short="Used"),
    Column("shared", "Times shared", drill="shared:", group=_USE, short="Shared"),
    Column("reps", "Shared by reps", drill="reps:", group=_USE, short="By reps"),
    Column("opens", "Opens by customers", drill="opens:", group=_USE, short="Opens"),
    Column("deals", "Deals touched", drill="deals:", group=_DEALS, short="Touched"),
    Column("pipeline", "Pipeline of deals touched", "money", drill="pipeline:", group=_DEALS,
           short="Pipeline"),
    Column("win_rate_with", "Win rate, used", "rate", drill="win_rate_with:", group=_DEALS,
           short="Win rate, used"),
    Column("win_rate_without", "Win rate, not used", "rate", drill="win_rate_without:",
           group=_DEALS, short="Win rate, not used"),
    Column("closed_with", "Deals closed, used", drill="closed_with:", group=_DEALS,
           short="Closed, used", detail=True),
    Column("closed_without", "Deals closed, not used", drill="closed_without:", group=_DEALS,
           short="Closed, not used", detail=True),
    Column("helped_share", "Rated helpful", "rate", drill="helped_share:", short="Helped"),
    Column("rated", "Ratings", drill="rated:", detail=True),
)  # fmt: skip

REQUEST_COLUMNS = (
    Column("label", "", "text"),
    *(
        Column(key, label, drill=f"{key}:", detail=key == "answered_no_promise")
        for key, (label, _where) in REQUEST_PARTS.items()
    ),
)

CONTENT_SECTIONS = (
    Section("asset", "Per asset", ASSET_COLUMNS, note=ASSET_NOTE),
    Section(
        "unused",
        f"Published, nobody used in {UNUSED_DAYS} days",
        (
            Column("label", "Asset", "text"),
            Column("kind", "Kind", "text"),
            Column("owner", "Owner", "text"),
            Column("published", "Published", "date"),
            Column("last_used", "Last used in a touch", "date"),
        ),
        note=f"Published assets with no touch and no share in the last {UNUSED_DAYS} days "
        "(up to now, whatever the range): retire them or tell sales about them.",
    ),
    Section(
        "requests",
        "Content requests (marketing's promise)",
        REQUEST_COLUMNS,
        note="Requests sales made in the range (the team and rep filters: the requester). "
        "In time: answered by the due time the agreement promised (its business days on its "
        "calendar); late: answered after it; open: not answered yet, and of those overdue. "
        "A request made while the agreement promised nothing has no due time.",
    ),
)

CONTENT_REPORT = Report(
    "content",
    "Content",
    "Per asset: used in touches, shared by how many reps, opened by customers, deals "
    "touched and their pipeline, win rate with and without it, ratings; assets nobody "
    "used in 90 days; content requests answered in time, late or open.",
    content_report,
    (*MANAGERS, roles.MARKETING),
    CONTENT_SECTIONS,
    takes_turns=False,
)


def drill_rows(metric: str, f: ReportFilters, now: dt.datetime) -> tuple[str, QuerySet[Any]]:
    """The rows behind one linked number ("used:12", "open:all"): (listing kind, rows).
    An unknown metric lists nothing."""
    name, _, key = metric.partition(":")
    if name in REQUEST_PARTS and key == "all":
        return "requests", request_rows(f, now, name)
    figure = DRILLABLE.get(name)
    asset = as_id(key)
    if figure is None or asset is None:
        return "", TouchAsset.objects.none()
    return figure.listing, figure.rows(f, now, asset)


def drill_label(metric: str) -> str:
    """The heading of a drill-down: the figure's label and, for an asset, its title."""
    name, _, key = metric.partition(":")
    if name in REQUEST_PARTS:
        return f"Content requests: {REQUEST_PARTS[name][0].lower()}"
    labels = {c.drill: c.label for c in ASSET_COLUMNS if c.drill}
    label = labels.get(f"{name}:", name.replace("_", " "))
    title = None
    if (asset := as_id(key)) is not None:
        title = Asset.objects.filter(pk=asset).values_list("title", flat=True).first()
    return f"{label}: {title}" if title else label


def register() -> None:
    """Put the content report in the reports' menu (reports.apps.ReportsConfig.ready)."""
    REPORTS.setdefault(CONTENT_REPORT.key, CONTENT_REPORT)
