"""Content requests: sales asks marketing for content, marketing answers on the agreement's
clock.

A request made while the agreement in force promises an answer within N business days
runs on that version's calendar, as a lead's follow-up clock does: its warning, due and
escalation times are set when it is made (`leads.clock.Rules` for the version and its
calendar, `agreements.calendar.add_duration` for business time). `content.check` is the
SLA check's step for them. Each write runs in one transaction and raises `RequestError`
with a message fit to show the user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from agreements import roles
from agreements.calendar import add_duration
from agreements.models import Agreement, Persona, Unit, duration_of
from agreements.stages import Stage
from leads.clock import Rules
from leads.models import Lead
from notifications.models import Notification
from notifications.services import Message, notify

from .models import Asset, ContentRequest

# Who asks for content, and who answers.
REQUESTERS = (roles.SALES_REP, roles.SALES_MANAGER)
ANSWERERS = (roles.MARKETING, roles.OPS)
TEXT_LIMIT = 2000

KIND = Notification.Kind.CONTENT_REQUEST


class RequestError(Exception):
    """A content request operation was refused; the message is fit to show the user."""


# --- The promise's times -----------------------------------------------------------------


def promised_times(
    agreement: Agreement | None, rules: Rules, at: dt.datetime
) -> dict[str, dt.datetime | None]:
    """The warning, due and escalation times of a request made at `at` under `agreement`
    (all None when the version promises nothing), in its calendar's business time."""
    none = {"warn_at": None, "due_at": None, "escalate_at": None}
    if agreement is None or agreement.content_request_days is None:
        return none
    spec = rules.spec

    def after(days: float) -> dt.datetime:
        allowance = duration_of(1, Unit.DAYS, spec, business=True) * days
        return add_duration(at, allowance, spec, business=True)

    days = agreement.content_request_days
    percent = agreement.content_request_warn_share
    escalate = agreement.content_request_escalate_days
    return {
        "warn_at": after(days * percent / 100) if percent < 100 else None,
        "due_at": after(days),
        "escalate_at": after(escalate) if escalate is not None else None,
    }


# --- Who is told -------------------------------------------------------------------------


def users_in(*role_names: str) -> list[int]:
    """The active users of these roles, by id."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=role_names)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def request_url(request: ContentRequest) -> str:
    return reverse("content:request_detail", args=[request.pk])


def summary(request: ContentRequest) -> str:
    """The request's words, short enough for a title."""
    text = " ".join(request.text.split())
    return text if len(text) <= 80 else text[:79] + "…"


def due_words(request: ContentRequest) -> str:
    """The request's due time in its agreement's calendar zone, as people read it."""
    calendar = request.agreement.calendar if request.agreement else None
    zone = ZoneInfo(calendar.time_zone) if calendar is not None else None
    local = timezone.localtime(request.due_at, zone)
    return f"{local:%a %d %b %H:%M} ({local.tzname()})"


# --- Reading ----------------------------------------------------------------------------


def visible_requests(user: Any) -> QuerySet[ContentRequest]:
    """Marketing and Ops see every request; a sales manager sees theirs and their team's
    reps'; a rep sees their own."""
    requests = ContentRequest.objects.select_related(
        "requested_by", "assigned_to", "answered_by", "answer_asset", "persona", "lead"
    )
    if roles.has_role(user, *ANSWERERS):
        return requests
    if roles.has_role(user, roles.SALES_MANAGER):
        return requests.filter(
            Q(requested_by=user) | Q(requested_by__rep_profile__team__manager=user)
        )
    return requests.filter(requested_by=user)


# --- Writing ----------------------------------------------------------------------------


def request_content(
    by: Any,
    text: str,
    *,
    persona: Persona | None = None,
    stage: str = "",
    lead: Lead | None = None,
    at: dt.datetime | None = None,
) -> ContentRequest:
    """A rep or sales manager asks marketing for content; marketing is told. The request
    runs on the promise of the agreement in force, if it makes one."""
    if not roles.has_role(by, *REQUESTERS):
        raise RequestError("Only sales reps and sales managers request content.")
    words = (text or "").strip()
    if not words:
        raise RequestError("Say what content you need.")
    if len(words) > TEXT_LIMIT:
        raise RequestError(f"Keep the request under {TEXT_LIMIT} characters.")
    if stage and stage not in Stage.values:
        raise RequestError("Choose a stage from the list.")
    if lead is not None and not Lead.objects.visible_to(by).filter(pk=lead.pk).exists():
        raise RequestError("That lead is not one of yours.")
    at = at or timezone.now()
    rules = Rules.in_force()
    with transaction.atomic():
        request = ContentRequest.objects.create(
            requested_by=by,
            text=words,
            persona=persona,
            stage=stage,
            lead=lead,
            created_at=at,
            agreement=rules.agreement if _promises(rules.agreement) else None,
            **promised_times(rules.agreement, rules, at),
        )
        transaction.on_commit(lambda: _tell_marketing(request.pk))
    return request


def _promises(agreement: Agreement | None) -> bool:
    return agreement is not None and agreement.content_request_days is not None


def take(request: ContentRequest, by: Any) -> ContentRequest:
    """A marketer takes an open request: from now on the warnings are theirs."""
    if not roles.has_role(by, *ANSWERERS):
        raise RequestError("Only marketing and Ops take content requests.")
    with transaction.atomic():
        locked = ContentRequest.objects.select_for_update().get(pk=request.pk)
        if locked.is_answered:
            raise RequestError("This request has already been answered.")
        locked.assigned_to = by
        locked.save(update_fields=["assigned_to"])
    return locked


def answer(
    request: ContentRequest,
    by: Any,
    *,
    text: str = "",
    asset: Asset | None = None,
    at: dt.datetime | None = None,
) -> ContentRequest:
    """Marketing answers a request with a published asset and/or words; the requester is
    told. A request is answered once."""
    if not roles.has_role(by, *ANSWERERS):
        raise RequestError("Only marketing and Ops answer content requests.")
    words = (text or "").strip()
    if not words and asset is None:
        raise RequestError("Answer with an asset, a few words, or both.")
    if len(words) > TEXT_LIMIT:
        raise RequestError(f"Keep the answer under {TEXT_LIMIT} characters.")
    if asset is not None and asset.status != Asset.Status.PUBLISHED:
        raise RequestError("Answer with a published asset: reps cannot see drafts.")
    with transaction.atomic():
        locked = ContentRequest.objects.select_for_update().get(pk=request.pk)
        if locked.is_answered:
            raise RequestError("This request has already been answered.")
        locked.answered_at = at or timezone.now()
        locked.answered_by = by
        locked.answer_text = words
        locked.answer_asset = asset
        if locked.assigned_to_id is None:
            locked.assigned_to = by
        locked.save(
            update_fields=[
                "answered_at",
                "answered_by",
                "answer_text",
                "answer_asset",
                "assigned_to",
            ]
        )
        transaction.on_commit(lambda: _tell_requester(locked.pk))
    return locked


def _tell_marketing(request_id: int) -> None:
    request = ContentRequest.objects.select_related("requested_by", "agreement__calendar").get(
        pk=request_id
    )
    who = roles.display_name(request.requested_by) if request.requested_by else "Sales"
    due = f" It is due {due_words(request)}." if request.due_at else ""
    notify(
        _to_each(
            users_in(roles.MARKETING),
            request,
            "new",
            f"Content request: {summary(request)}",
            f"{who} asks marketing for content.{due}",
        )
    )


def _tell_requester(request_id: int) -> None:
    request = ContentRequest.objects.select_related("answered_by", "answer_asset").get(
        pk=request_id
    )
    if request.requested_by_id is None:
        return
    by = roles.display_name(request.answered_by) if request.answered_by else "Marketing"
    with_asset = f" with “{request.answer_asset}”" if request.answer_asset else ""
    notify(
        _to_each(
            [request.requested_by_id],
            request,
            "answered",
            f"Your content request was answered: {summary(request)}",
            f"{by} answered{with_asset}.",
        )
    )


def _to_each(
    user_ids: Iterable[int], request: ContentRequest, event: str, title: str, body: str
) -> list[Message]:
    return [
        Message(
            user_id=user_id,
            kind=KIND,
            event_key=f"content-request:{request.pk}:{event}:{user_id}",
            title=title,
            body=body,
            url=request_url(request),
            lead_id=request.lead_id,
        )
        for user_id in user_ids
    ]
