"""Marketing and customer events other tools post: each becomes a lead's activity.

An event enters through the one way in (leads.importing.writer.take_in_leads), as a
list import's "appeared in list" or a form post does: the lead is found by its address
(a merged address finds the lead it was merged into), its empty fields are filled, and
the event is written as an activity; an event of a touch-point kind that carries a
campaign is also a touch point in the ledger, in the same transaction. An unknown
address becomes a Suspect when the token may create them, else the event is refused.
Each event is kept once per external id and token: a repeat answers with the first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from agreements.stages import Stage
from leads import intake
from leads.importing.cleaning import CleanRow
from leads.importing.writer import Entry, TouchPoint, take_in_leads
from leads.models import Activity, Campaign, Lead, LeadAlias

from .models import ActivityReceipt, ApiToken, Scope


@dataclass(frozen=True)
class EventKind:
    side: str
    kind: str
    label: str
    # DESIGN's touch points: a customer's engagement with a campaign, not a send or a visit.
    touch_point: bool


Side, Kind = Activity.Side, Activity.Kind
EVENT_KINDS: dict[str, EventKind] = {
    "email_sent": EventKind(Side.MARKETING, Kind.EMAIL, "Email sent", False),
    "email_opened": EventKind(Side.CUSTOMER, Kind.EMAIL, "Email opened", False),
    "email_clicked": EventKind(Side.CUSTOMER, Kind.EMAIL, "Email clicked", True),
    "web_visit": EventKind(Side.CUSTOMER, Kind.WEB_VISIT, "Web visit", False),
    "form": EventKind(Side.CUSTOMER, Kind.FORM, "Form submitted", True),
    "webinar_attended": EventKind(Side.CUSTOMER, Kind.WEBINAR, "Webinar attended", True),
    "content_download": EventKind(Side.CUSTOMER, Kind.CONTENT_DOWNLOAD, "Content downloaded", True),
}
# A sender's clock may run a little ahead of ours.
CLOCK_SKEW = dt.timedelta(minutes=5)


class ActivityRefused(Exception):
    """The event cannot be kept; `errors` lists {field, message}, `status` is 404 or 422."""

    def __init__(self, errors: list[dict[str, str]], status: int = 422) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors
        self.status = status


@dataclass
class ActivityResult:
    activity: Activity
    created: bool
    lead_created: bool = False
    ignored: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "activity": self.activity.pk,
            "lead": self.activity.lead_id,
            "created": self.created,
            "lead_created": self.lead_created,
            "ignored": self.ignored,
        }


def record_activity(token: ApiToken, posted: dict[str, Any]) -> ActivityResult:
    """Keep one posted event (validated by api.serializers.ActivityIn) on its lead.

    The same external id again returns the first result; with another payload it is
    refused (422). Raises ActivityRefused when the event cannot be kept.
    """
    digest = intake.fingerprint(posted)
    external_id = posted["external_id"]
    for _attempt in range(2):
        found = (
            ActivityReceipt.objects.select_related("activity")
            .filter(token=token, external_id=external_id)
            .first()
        )
        if found is not None:
            return _repeated(found, digest)
        try:
            with transaction.atomic():
                result = _keep(token, posted)
                ActivityReceipt.objects.create(
                    token=token,
                    external_id=external_id,
                    activity=result.activity,
                    fingerprint=digest,
                )
        except IntegrityError:
            continue  # a concurrent repeat won: answer with its result
        return result
    raise ActivityRefused([{"field": "", "message": "This event could not be saved; try again."}])


def _repeated(found: ActivityReceipt, digest: str) -> ActivityResult:
    if found.fingerprint != digest:
        raise ActivityRefused(
            [
                {
                    "field": "external_id",
                    "message": "This external_id was already used for a different event: "
                    "send a new external_id for a new event, or the same payload to retry.",
                }
            ]
        )
    return ActivityResult(found.activity, created=False)


def _keep(token: ApiToken, posted: dict[str, Any]) -> ActivityResult:
    """Take the event's person in and write the event (in the caller's transaction)."""
    event = EVENT_KINDS[posted["kind"]]
    values, ignored = _person(posted)
    email = values["email"]
    campaign = _campaign(posted.get("campaign") or "")
    if not token.allows(Scope.ACTIVITIES_CREATE_SUSPECTS) and not is_known(email):
        raise ActivityRefused(
            [
                {
                    "field": "email",
                    "message": f"No lead has the address {email}, and this token may not "
                    "create Suspects (scope activities:create_suspects).",
                }
            ],
            status=404,
        )
    once_key = "api:" + hashlib.sha256(f"{token.pk}:{posted['external_id']}".encode()).hexdigest()
    subject = posted.get("subject") or event.label
    if campaign is not None:
        subject = f"{subject} ({campaign.name})"
    touch = TouchPoint(
        side=event.side,
        kind=event.kind,
        subject=subject[:200],
        body=posted.get("url") or "",
        once_key=once_key[:100],
    )
    entry = Entry.prepare(
        channel=token.channel,
        campaign=campaign if event.touch_point else None,
        touch=touch,
        stage=Stage.SUSPECT,
    )
    taken = take_in_leads(entry, [CleanRow(0, email, values)])
    activity = Activity.objects.get(lead_id=taken.lead_ids[email], once_key=touch.once_key)
    if campaign is not None and activity.campaign_id is None:
        # Not a touch point, but the timeline still says which campaign it belonged to.
        activity.campaign = campaign
        activity.save(update_fields=["campaign"])
    return ActivityResult(
        activity, created=True, lead_created=bool(taken.created_ids), ignored=ignored
    )


def _person(posted: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The event's address, time and person fields, cleaned as web-to-lead cleans a form."""
    occurred_at: dt.datetime = posted["occurred_at"]
    now = timezone.now()
    if occurred_at > now + CLOCK_SKEW:
        raise ActivityRefused(
            [{"field": "occurred_at", "message": "occurred_at is in the future."}]
        )
    data = {
        **(posted.get("lead") or {}),
        "email": posted["email"],
        "activity_time": min(occurred_at, now).isoformat(),
    }
    try:
        values, _meta, ignored, _notes = intake.clean_payload(
            {key: value for key, value in data.items() if key not in intake.META_KEYS}
        )
    except intake.IntakeInvalid as exc:
        raise ActivityRefused(
            [{**error, "field": _field_name(error["field"], posted)} for error in exc.errors]
        ) from None
    return values, [f"lead.{key}" for key in ignored]


def _field_name(field_name: str, posted: dict[str, Any]) -> str:
    if field_name in ("email", "activity_time", ""):
        return {"activity_time": "occurred_at"}.get(field_name, field_name)
    return f"lead.{field_name}"


def _campaign(name: str) -> Campaign | None:
    """The campaign of that name (any case); an unknown one refuses the event."""
    name = " ".join(name.split())
    if not name:
        return None
    campaign = Campaign.objects.filter(name__iexact=name).first()
    if campaign is None:
        raise ActivityRefused(
            [
                {
                    "field": "campaign",
                    "message": f"There is no campaign “{name[:200]}”: Ops or marketing add "
                    "campaigns in Accord first, then send the event again.",
                }
            ]
        )
    return campaign


def is_known(email: str) -> bool:
    """Whether a lead has this address, as its own or as a merged one (an alias)."""
    return (
        Lead.objects.filter(email=email).exists() or LeadAlias.objects.filter(email=email).exists()
    )
