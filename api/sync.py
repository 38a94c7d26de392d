"""The change feed: leads in the order they last changed, for syncing into a CRM or a tool.

Every write to a lead stamps `Lead.updated_at` (a save, the services' guarded write,
the import's bulk update, the SLA check's breach update, an import's revert). The feed
walks (updated_at, id) upwards from a cursor, so a page never repeats a row of an
earlier page and a lead that changes after it was sent comes again, later, with its new
state. A write transaction stamps its rows before it commits, so a row may become
visible with a stamp a reader has already passed; the feed therefore only serves rows
stamped more than API_SYNC_SETTLE_SECONDS ago. The guarantee: no change is skipped as
long as every write commits within that many seconds of stamping its rows.

An undone merge (customers.merge) writes its leads back exactly as they were, their old
stamps included; the feed places them at the undo's time (Merge.undone_at) instead.
Deleted leads (an import's revert removes the leads it created) are not in the feed.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from customers.models import Merge, MergedLead
from leads.models import Lead


class BadCursor(ValueError):
    """A cursor or updated_since the feed cannot read; the message says which."""


@dataclass(frozen=True)
class Position:
    """A place in the feed: after the row (updated_at, id)."""

    updated_at: dt.datetime
    lead_id: int

    def encode(self) -> str:
        text = json.dumps({"t": self.updated_at.isoformat(), "id": self.lead_id})
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            data = json.loads(text)
            when = dt.datetime.fromisoformat(data["t"])
            lead_id = int(data["id"])
        except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
            raise BadCursor("This cursor is not one the feed gave out.") from None
        if timezone.is_naive(when) or not has_utc_time(when):
            raise BadCursor("This cursor is not one the feed gave out.")
        return cls(when, lead_id)

    @classmethod
    def since(cls, when: dt.datetime) -> Position:
        """The start of the feed at a time: every lead changed at or after it."""
        return cls(when, 0)


def has_utc_time(when: dt.datetime) -> bool:
    """Whether a time survives its move to UTC (year 1 east of UTC, or 9999 west of it,
    does not: the database could not compare it)."""
    try:
        when.astimezone(dt.UTC)
    except OverflowError:
        return False
    return True


@dataclass
class Page:
    leads: list[Lead]
    position: Position
    has_more: bool


Key = tuple[dt.datetime, int]


def changed_leads(position: Position, *, limit: int) -> Page:
    """The next `limit` leads after `position`, merged ones included, oldest change first.

    A lead's place is its last change: its `updated_at`, or the undo of a merge it was
    part of when that came later (an undo writes the leads' rows back exactly, timestamps
    included, so their own stamp goes back in time). Both are read upwards from the
    cursor, `limit` + 1 at a time, and served in one order up to where both were read.
    """
    horizon = timezone.now() - dt.timedelta(seconds=settings.API_SYNC_SETTLE_SECONDS)
    start: Key = (position.updated_at, position.lead_id)
    edited = list(
        Lead.with_merged.filter(
            Q(updated_at__gt=start[0]) | Q(updated_at=start[0], pk__gt=start[1]),
            updated_at__lt=horizon,
        )
        .select_related("owner", "account")
        .order_by("updated_at", "pk")[: limit + 1]
    )
    undos = list(
        Merge.objects.filter(undone_at__gte=start[0], undone_at__lt=horizon)
        .order_by("undone_at", "pk")
        .prefetch_related("merged_leads")[: limit + 1]
    )
    ends = []
    if len(edited) > limit:
        ends.append((edited[-1].updated_at, edited[-1].pk))
    if len(undos) > limit:
        ends.append((undos[-1].undone_at, 0))  # read up to, not into, the last undo's time
    end = min(ends) if ends else None
    undone = [
        (merge.undone_at, lead_id)
        for merge in undos
        for lead_id in (merge.survivor_id, *(m.lead_id for m in merge.merged_leads.all()))
        if (merge.undone_at, lead_id) > start
    ]
    leads = {lead.pk: lead for lead in edited}
    missing = {lead_id for _, lead_id in undone} - set(leads)
    leads.update(
        (lead.pk, lead)
        for lead in Lead.with_merged.filter(pk__in=missing).select_related("owner", "account")
    )
    last_undo = _last_undos(list(leads), horizon)
    # Each lead at its one place: its own stamp, or its last undo when that came later.
    places: set[Key] = set()
    for lead in edited:
        if lead.updated_at >= last_undo.get(lead.pk, lead.updated_at):
            places.add((lead.updated_at, lead.pk))
    for at, lead_id in undone:
        if at == last_undo.get(lead_id) and at > leads[lead_id].updated_at:
            places.add((at, lead_id))
    seen = sorted(key for key in places if end is None or key <= end)
    served = seen[:limit]
    has_more = len(seen) > limit or end is not None
    if served:
        last = served[-1]
    elif end is not None:
        last = max(end, start)  # every row read up to `end` has its place further on
    else:
        last = start
    return Page(
        leads=[leads[lead_id] for _, lead_id in served],
        position=Position(*last),
        has_more=has_more,
    )


def _last_undos(lead_ids: list[int], horizon: dt.datetime) -> dict[int, dt.datetime]:
    """The time of the last undone merge each lead was part of (survivor or merged)."""
    found: dict[int, dt.datetime] = {}
    survivors = (
        Merge.objects.filter(survivor_id__in=lead_ids, undone_at__lt=horizon)
        .values_list("survivor_id")
        .annotate(last=Max("undone_at"))
    )
    merged = (
        MergedLead.objects.filter(lead_id__in=lead_ids, merge__undone_at__lt=horizon)
        .values_list("lead_id")
        .annotate(last=Max("merge__undone_at"))
    )
    for lead_id, last in [*survivors, *merged]:
        if lead_id not in found or last > found[lead_id]:
            found[lead_id] = last
    return found
