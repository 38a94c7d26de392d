"""Issuing, revoking and checking API tokens; the hashing is web-to-lead's (leads.intake)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agreements.models import Channel
from leads import intake

from .models import ApiToken, Scope

PREFIX = "acc_api_"
# last_used_at is written at most this often per token, not on every request.
LAST_USED_EVERY = dt.timedelta(minutes=1)


class TokenRefused(Exception):
    """The request's token cannot be used: unknown or revoked (401)."""


def issue(
    channel: Channel, name: str, scopes: Iterable[str], *, by: Any = None
) -> tuple[ApiToken, str]:
    """Create a token for an integration; returns it and the secret, shown only once."""
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in Scope.values]
    if unknown:
        raise ValueError(f"Unknown scopes: {', '.join(unknown)}")
    raw = PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        # The intake token its lead posts are recorded under; its own secret is dropped.
        submissions, _secret = intake.issue_token(channel, f"API: {name}"[:100], by=by)
        token = ApiToken.objects.create(
            name=name,
            channel=channel,
            scopes=wanted,
            token_hash=intake.hash_token(raw),
            prefix=raw[:12],
            intake_token=submissions,
            created_by=by if getattr(by, "is_authenticated", False) else None,
        )
    return token, raw


def revoke(token: ApiToken) -> None:
    """Stop a token from working; what it posted stays."""
    with transaction.atomic():
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
        intake.revoke_token(token.intake_token)


def authenticate(raw: str) -> ApiToken:
    """The live token of this secret, or TokenRefused saying why."""
    token = (
        ApiToken.objects.select_related("channel", "intake_token__channel")
        .filter(token_hash=intake.hash_token(raw))
        .first()
    )
    if token is None:
        raise TokenRefused("This token is not valid.")
    if token.is_revoked:
        raise TokenRefused("This token was revoked. Ask Ops for a new one.")
    return token


def mark_used(token: ApiToken) -> None:
    """Record that the token was used now (at most once a minute, one UPDATE)."""
    now = timezone.now()
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY), pk=token.pk
    ).update(last_used_at=now)
