"""The change feed: leads in the order they last changed, for syncing into a CRM or a tool.

Every write to a lead stamps `Lead.updated_at` (a save, the services' guarded write,
the import's bulk update, the SLA check's breach update, an import's revert). The feed
walks (updated_at, id) upwards from a cursor, so a page never repeats a row of an
earlier page and a lead that changes after it was sent comes again, later, with its new
state. A write transaction stamps its rows before it commits, so a row may become
visible with a stamp a reader has already passed; the feed therefore only serves rows
stamped more than API_SYNC_SETTLE_SECONDS ago. The guarantee: no change is skipped as
long as every write commits within that many seconds of stamping its rows.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

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
        if timezone.is_naive(when):
            raise BadCursor("This cursor is not one the feed gave out.")
        return cls(when, lead_id)

    @classmethod
    def since(cls, when: dt.datetime) -> Position:
        """The start of the feed at a time: every lead changed at or after it."""
        return cls(when, 0)


@dataclass
class Page:
    leads: list[Lead]
    position: Position
    has_more: bool


def changed_leads(position: Position, *, limit: int) -> Page:
    """The next `limit` leads after `position`, merged ones included, oldest change first."""
    horizon = timezone.now() - dt.timedelta(seconds=settings.API_SYNC_SETTLE_SECONDS)
    after = Q(updated_at__gt=position.updated_at) | Q(
        updated_at=position.updated_at, pk__gt=position.lead_id
    )
    rows = list(
        Lead.with_merged.filter(after, updated_at__lt=horizon)
        .select_related("owner", "account")
        .order_by("updated_at", "pk")[: limit + 1]
    )
    leads = rows[:limit]
    if leads:
        position = Position(leads[-1].updated_at, leads[-1].pk)
    return Page(leads=leads, position=position, has_more=len(rows) > limit)
