"""An agreement version's whole content, serialised one way, and its SHA-256 digest.

What a signature covers: the version's own terms (with marketing's promise on content
requests, when it makes one), its response rules, touch goals, marketing commitments,
business calendar (zone, hours, days, holidays), glossary terms and stage definitions.
Lifecycle stamps, signatures and the words' version numbers are not content. Every list
is sorted on a stable key and every value is a plain string, number, boolean or null, so
the same content always gives the same bytes and the same digest, on SQLite as on
Postgres.

The parts are read from the database (a queryset per relation, never a prefetched
cache), so the digest says what is stored now.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .calendar import CalendarError, parse_working_days
from .touches import DEFAULT_TOUCH_KINDS

RULE_FIELDS = (
    "stage",
    "channel_id",
    "within_amount",
    "within_unit",
    "business_time",
    "warn_at_percent",
    "escalate_after_amount",
    "escalate_after_unit",
    "escalate_action",
    "escalate_to_id",
)
GOAL_FIELDS = ("channel_id", "touches", "within_days")
COMMITMENT_FIELDS = (
    "period",
    "new_leads",
    "mqls",
    "sales_accepted",
    "pipeline_amount",
    "min_acceptance_rate",
)
TERM_FIELDS = ("name", "abbreviation", "definition", "owner", "measured_by")
DEFINITION_FIELDS = (
    "stage",
    "owner",
    "level",
    "name",
    "conditions",
    "exit_criteria",
    "rep_actions",
    "response_time",
)


def _plain(value: Any) -> Any:
    """A JSON value that reads the same on every database (decimals and times as text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _rows(queryset: Any, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = [{name: _plain(row[name]) for name in fields} for row in queryset.values(*fields)]
    return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, ensure_ascii=False))


def _working_days(value: str) -> Any:
    try:
        return sorted(parse_working_days(value))
    except CalendarError:
        return value


def _calendar(agreement: Any) -> dict[str, Any] | None:
    if agreement.calendar_id is None:
        return None
    calendar_model = type(agreement)._meta.get_field("calendar").related_model
    calendar = calendar_model.objects.get(pk=agreement.calendar_id)
    return {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "workday_start": _plain(calendar.workday_start),
        "workday_end": _plain(calendar.workday_end),
        "working_days": _working_days(calendar.working_days),
        "holidays": _rows(calendar.holidays.order_by("date"), ("date", "name")),
    }


def content(agreement: Any) -> dict[str, Any]:
    """Everything a signature on `agreement` covers, as plain sorted data."""
    return {
        "version": agreement.version,
        "title": agreement.title,
        "notes": agreement.notes,
        "lead_scoring_enabled": agreement.lead_scoring_enabled,
        "untouched_days": [
            agreement.untouched_days_1,
            agreement.untouched_days_2,
            agreement.untouched_days_3,
        ],
        **_touch_kinds(agreement),
        "calendar": _calendar(agreement),
        "response_rules": _rows(agreement.rules.order_by("pk"), RULE_FIELDS),
        "touch_goals": _rows(agreement.touch_goals.order_by("pk"), GOAL_FIELDS),
        "marketing_commitments": _rows(agreement.commitments.order_by("pk"), COMMITMENT_FIELDS),
        "terms": _rows(agreement.terms.order_by("pk"), TERM_FIELDS),
        "stage_definitions": _rows(agreement.definitions.order_by("pk"), DEFINITION_FIELDS),
        **_content_requests(agreement),
    }


def _touch_kinds(agreement: Any) -> dict[str, Any]:
    """The activities that count as a sales touch, when the version narrows them: a version
    that counts every kind (every version signed before ops could choose) reads as signed."""
    kinds = agreement.counted_touch_kinds()
    return {} if kinds == list(DEFAULT_TOUCH_KINDS) else {"touch_kinds": kinds}


def _content_requests(agreement: Any) -> dict[str, Any]:
    """Marketing's promise on content requests, when the version makes one: a version
    without it (every version signed before the promise existed) reads as it was signed."""
    if agreement.content_request_days is None:
        return {}
    return {
        "content_requests": {
            "within_business_days": agreement.content_request_days,
            "warn_at_percent": agreement.content_request_warn_share,
            "escalate_after_business_days": agreement.content_request_escalate_days,
        }
    }


def canonical_json(data: dict[str, Any]) -> str:
    """The one serialisation that is hashed: sorted keys, no spaces, UTF-8 text as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(agreement: Any) -> str:
    """The SHA-256 (hex) of the version's content: what each signature stores."""
    return hashlib.sha256(canonical_json(content(agreement)).encode()).hexdigest()
