"""Live intake: website forms, webinar tools and marketing automation post leads here.

Each post carries a per-channel token (`Authorization: Bearer …`), created and
revoked by Ops in the admin; only its SHA-256 is stored. A hand-raise (a demo
or contact request) creates or updates the lead and moves it to MQL, which
starts the follow-up clock. Retries are harmless: an `Idempotency-Key` header,
or else the same payload on the same day, returns the first answer again; a key
reused for a different payload is refused.

Bounded: a body of at most INTAKE_MAX_BODY_BYTES, JSON of finite numbers and
shallow nesting, INTAKE_RATE posts per token, and campaigns only from the
channel's own (an unknown one is ignored with a note, never created).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from agreements.stages import Stage
from config.security import take_slot

from . import ledger, routing
from .importing.cleaning import CleanRow
from .importing.columns import COLUMNS, RowError
from .importing.presets import ALIASES, norm_header
from .importing.writer import Entry, TouchPoint, take_in_leads
from .models import (
    Activity,
    Assignment,
    Campaign,
    IntakeSubmission,
    IntakeToken,
    Lead,
    LeadError,
    LeadEvent,
)
from .services import run_transition

TOKEN_PREFIX = "acc_"  # noqa: S105 (a public prefix that marks our tokens, not a secret)
HAND_RAISE_FROM = (Stage.SUSPECT, Stage.FAN, Stage.IQL, Stage.NURTURE)
TRUE_WORDS = {"1", "true", "yes", "on", "y"}
FALSE_WORDS = {"0", "false", "no", "off", "n", ""}
# Keys that are about the submission, not the lead.
META_KEYS = {"campaign", "hand_raise", "form", "form_name", "message", "comment", "comments"}
# The free text of a submission: kept once, on the form touch, not again in its payload.
BODY_KEYS = ("message", "comment", "comments")
# A lead is one flat object; anything deeper than this is not a form post.
MAX_JSON_DEPTH = 8


class IntakeAuthError(Exception):
    """The request is not allowed in; `status` is 401 (no or wrong token) or 403 (revoked)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class IntakeInvalid(Exception):
    """The payload cannot be used; `errors` is a list of {field, message}."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


class IdempotencyConflict(Exception):
    """An Idempotency-Key this token already used, sent with a different payload (422)."""


@dataclass
class IntakeResult:
    lead: Lead
    created: bool
    duplicate: bool = False
    moved_to_mql: bool = False
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead": self.lead.pk,
            "email": self.lead.email,
            "stage": self.lead.stage,
            "created": self.created,
            "duplicate": self.duplicate,
            "ignored": self.ignored,
            "notes": self.notes,
        }


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(channel: Any, name: str, *, by: Any = None) -> tuple[IntakeToken, str]:
    """Create a token for a channel; returns it and the secret, which is shown only once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = IntakeToken.objects.create(
        channel=channel,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:12],
        created_by=by if getattr(by, "is_authenticated", False) else None,
    )
    return token, raw


def revoke_token(token: IntakeToken) -> None:
    """Stop a token from working; its past submissions stay."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def authenticate(channel_slug: str, authorization: str) -> IntakeToken:
    """The token of an `Authorization: Bearer …` header for this channel, or IntakeAuthError."""
    scheme, _, raw = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise IntakeAuthError(401, "Send the channel's token as “Authorization: Bearer <token>”.")
    token = (
        IntakeToken.objects.select_related("channel")
        .filter(token_hash=hash_token(raw.strip()))
        .first()
    )
    if token is None or token.channel.slug != channel_slug:
        raise IntakeAuthError(401, "This token is not valid for this channel.")
    if token.is_revoked:
        raise IntakeAuthError(403, "This token was revoked. Ask Ops for a new one.")
    if not token.channel.is_active:
        raise IntakeAuthError(403, "This channel does not accept leads at the moment.")
    return token


def rate_wait(token: IntakeToken) -> int:
    """Count a post against the token's INTAKE_RATE; 0 when allowed, else seconds to wait."""
    limit, period = settings.INTAKE_RATE
    return take_slot(f"intake:{token.token_hash}", limit, period)


def parse_json(body: bytes) -> dict[str, Any]:
    """The posted JSON object; IntakeInvalid for anything a form would not send.

    Refused with a clear message: text that is not UTF-8 or not JSON, nesting deeper
    than MAX_JSON_DEPTH (checked before parsing, so it never recurses), and numbers
    that are not finite (NaN, Infinity, or too large to hold, like 1e400).
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntakeInvalid([_body_error("The body is not UTF-8 text.")]) from None
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        raise IntakeInvalid(
            [_body_error(f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep.")]
        )
    try:
        data = json.loads(text or "{}", parse_constant=_non_finite, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise IntakeInvalid([_body_error("The body is not valid JSON.")]) from None
    if not isinstance(data, dict):
        raise IntakeInvalid([_body_error("Send one JSON object with the lead.")])
    return data


def _body_error(message: str) -> dict[str, str]:
    return {"field": "", "message": message}


def _non_finite(word: str) -> Any:
    raise IntakeInvalid(
        [_body_error(f"{word} is not a number this endpoint accepts: send finite numbers.")]
    )


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise IntakeInvalid(
            [_body_error(f"The number {text[:20]} is too large: send finite numbers.")]
        )
    return number


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in JSON text (brackets inside strings not counted)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _column_for(key: str) -> str | None:
    if key in COLUMNS:
        return key
    return ALIASES.get(norm_header(key.replace("_", " ")))


def clean_payload(
    data: dict[str, Any],
) -> tuple[dict[str, str], dict[str, Any], list[str], list[str]]:
    """(lead values, submission meta, ignored keys, notes on values left out: a country we
    do not know); IntakeInvalid lists every bad field."""
    errors: list[dict[str, str]] = []
    values: dict[str, str] = {}
    meta: dict[str, Any] = {}
    ignored: list[str] = []
    notes: list[str] = []
    for key, raw in data.items():
        if key in META_KEYS:
            meta[key] = raw
            continue
        identifier = _column_for(key)
        if identifier is None:
            ignored.append(key)
            continue
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | type(None)):
            errors.append({"field": key, "message": f"{key} must be text."})
            continue
        column = COLUMNS[identifier]
        text = "" if raw is None else str(raw)
        try:
            cleaned = column.clean(text)
        except RowError as exc:
            errors.append({"field": key, "message": str(exc)})
            continue
        column.assign(cleaned, values)
        if identifier == "country" and text.strip() and not cleaned:
            # Kept, as the import keeps it: the lead without a country, and a word why.
            notes.append(f"{key}: {column.fit(text)[1]}")
    if not values.get("email") and not any(e["field"] for e in errors if "mail" in e["field"]):
        errors.append({"field": "email", "message": "Email is required."})
    hand_raise = meta.get("hand_raise")
    if hand_raise is not None and not isinstance(hand_raise, bool):
        word = str(hand_raise).strip().lower()
        if word in TRUE_WORDS:
            meta["hand_raise"] = True
        elif word in FALSE_WORDS:
            meta["hand_raise"] = False
        else:
            errors.append({"field": "hand_raise", "message": "hand_raise must be true or false."})
    campaign = meta.get("campaign")
    if campaign is not None and not isinstance(campaign, str):
        errors.append({"field": "campaign", "message": "campaign must be text."})
    if errors:
        raise IntakeInvalid(errors)
    return values, meta, ignored, notes


def _dedupe_key(idempotency_key: str, values: dict[str, str], meta: dict[str, Any]) -> str:
    if idempotency_key:
        return "key:" + idempotency_key.strip()[:190]
    body = json.dumps({"values": values, "meta": meta}, sort_keys=True, default=str)
    day = timezone.now().date().isoformat()
    return f"body:{hashlib.sha256(body.encode()).hexdigest()}:{day}"


def fingerprint(data: dict[str, Any]) -> str:
    """The payload's SHA-256, whatever the order of its keys: a reused key must carry it."""
    text = json.dumps(data, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _stored_payload(data: dict[str, Any], digest: str) -> dict[str, Any]:
    """What a submission keeps: the posted fields except the free text (on the touch)."""
    fields = {
        key: value
        for key, value in data.items()
        if key not in BODY_KEYS and isinstance(value, str | int | float)
    }
    return {"fields": fields, "fingerprint": digest}


def receive(token: IntakeToken, data: dict[str, Any], *, idempotency_key: str = "") -> IntakeResult:
    """Create or update the lead a form posted; a hand-raise moves it to MQL.

    Raises IntakeInvalid when the payload cannot be used. A retry (same
    Idempotency-Key, or the same payload the same day) returns the first result;
    the same Idempotency-Key with another payload raises IdempotencyConflict.
    """
    values, meta, ignored, notes = clean_payload(data)
    key = _dedupe_key(idempotency_key, values, meta)
    digest = fingerprint(data)
    channel = token.channel
    hand_raise = meta.get("hand_raise")
    if hand_raise is None:
        hand_raise = channel.entry_stage == Stage.MQL
    for _attempt in range(2):
        earlier = IntakeSubmission.objects.select_related("lead").filter(
            token=token, dedupe_key=key
        )
        if (found := earlier.first()) is not None:
            return _repeated(found, digest if idempotency_key else None, ignored)
        try:
            with transaction.atomic():
                result = _apply(token, values, meta, hand_raise=bool(hand_raise))
                IntakeSubmission.objects.create(
                    token=token,
                    dedupe_key=key,
                    lead=result.lead,
                    created_lead=result.created,
                    payload=_stored_payload(data, digest),
                )
        except IntegrityError:
            continue  # a concurrent retry won: answer with its result
        IntakeToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        result.ignored = ignored
        result.notes = [*notes, *result.notes]
        return result
    raise LeadError("This submission could not be saved; try again.")  # pragma: no cover


def _repeated(found: IntakeSubmission, digest: str | None, ignored: list[str]) -> IntakeResult:
    """The first answer to a retry. With an Idempotency-Key (`digest` given), the payload
    must be the key's first one; submissions stored before fingerprints match any."""
    first = found.payload.get("fingerprint") if isinstance(found.payload, dict) else None
    if digest is not None and first is not None and first != digest:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different submission: "
            "send a new key for a new submission, or the same payload to retry."
        )
    return IntakeResult(found.lead, created=False, duplicate=True, ignored=ignored)


def channel_campaign(name: str, channel: Any) -> tuple[Campaign | None, list[str]]:
    """The channel's existing campaign of that name (any case), and a note when none is."""
    name = " ".join(str(name or "").split())[:200]
    if not name:
        return None, []
    campaign = Campaign.objects.filter(channel=channel, name__iexact=name).first()
    if campaign is not None:
        return campaign, []
    return None, [
        f"Campaign “{name}” is not one of this channel's campaigns, so it was ignored; "
        "Ops adds campaigns in the admin."
    ]


def _apply(
    token: IntakeToken, values: dict[str, str], meta: dict[str, Any], *, hand_raise: bool
) -> IntakeResult:
    """Take the posted person in (the one way in); a hand-raise of a known lead moves it to MQL."""
    channel = token.channel
    campaign, notes = channel_campaign(meta.get("campaign") or "", channel)
    subject = str(meta.get("form") or meta.get("form_name") or f"Form: {token.name}")[:200]
    body = str(meta.get("message") or meta.get("comment") or meta.get("comments") or "")
    touch = TouchPoint(
        side=Activity.Side.CUSTOMER.value, kind=Activity.Kind.FORM.value, subject=subject, body=body
    )
    entry = Entry.prepare(
        channel=channel,
        campaign=campaign,
        touch=touch,
        stage=Stage.MQL if hand_raise else channel.entry_stage,
    )
    taken = take_in_leads(entry, [CleanRow(0, values["email"], values)])
    lead = Lead.objects.get(pk=taken.lead_ids[values["email"]])
    moved = False
    if not taken.created_ids and hand_raise and lead.stage in HAND_RAISE_FROM:
        lead = run_transition(lead, "hand_raise", by=None, note=subject, at=entry.at)
        moved = True
        if lead.owner_id is None:
            _route_hand_raise(lead, entry.at)
    return IntakeResult(lead, created=bool(taken.created_ids), moved_to_mql=moved, notes=notes)


def _route_hand_raise(lead: Lead, at: dt.datetime) -> None:
    """An owner-less known lead that raised its hand gets one by the routing rules."""
    routes = routing.route_leads([lead], at=at, desk_when_unmatched=True)
    if lead.owner_id is not None:
        lead.save(update_fields=["owner", "assigned_at"])
    Assignment.objects.bulk_create([route.assignment(at) for route in routes])
    ledger.append(
        ledger.event(
            lead, LeadEvent.Kind.ASSIGNED, at, owner_id=route.to_owner_id, reason=route.rule
        )
        for route in routes
    )
