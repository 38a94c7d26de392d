"""Throttling shared by every app: the client's address, a rate limit counted in the
cache, and the password-reset page with its own limit (django-axes guards the logins).

The cache is the one in settings.CACHES (Redis in production, files under var/ on
one machine), so every web process counts against the same limit.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str:
    """The client's address: the peer's, or the one our TRUSTED_PROXY_COUNT proxies saw."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if count > 0 and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def login_client_ip(request: HttpRequest) -> str | None:
    """The client's address for django-axes' records; None when there is none (a login
    made in code, e.g. the test client's force_login): Postgres stores it as inet."""
    address = client_ip(request)
    return None if address == "unknown" else address


def take_slot(key: str, limit: int, period: int) -> int:
    """Count one use of `key` in the current window of `period` seconds.

    Returns 0 while the window's uses are within `limit`, else the seconds until
    the window ends (the Retry-After of a 429).
    """
    now = time.time()
    window = int(now // period)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"rate:{digest}:{period}:{window}"
    if cache.add(cache_key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the window's entry expired between add and incr
            cache.add(cache_key, 1, timeout=period + 1)
            count = 1
    if count <= limit:
        return 0
    return max(1, math.ceil((window + 1) * period - now))


def too_many(request: HttpRequest, wait: int, what: str) -> HttpResponse:
    """The 429 page: what was refused and when to try again."""
    minutes = max(1, math.ceil(wait / 60))
    response = render(
        request,
        "registration/throttled.html",
        {"what": what, "minutes": minutes},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


class ThrottledPasswordResetView(PasswordResetView):
    """Django's password reset, with at most PASSWORD_RESET_RATE posts per address and
    per email: a flood of resets neither fills a mailbox nor probes the accounts."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        limit, period = settings.PASSWORD_RESET_RATE
        email = request.POST.get("email", "").strip().lower()
        waits = [take_slot(f"password-reset:ip:{client_ip(request)}", limit, period)]
        if email:
            waits.append(take_slot(f"password-reset:email:{email}", limit, period))
        if wait := max(waits):
            return too_many(request, wait, "password reset requests")
        return super().post(request, *args, **kwargs)
