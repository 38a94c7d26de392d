"""Read side of notifications: the list page and the header badge."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Notification


def notifications_for(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first, with their lead (one query per page)."""
    rows = Notification.objects.filter(user=user).select_related("lead")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.order_by("-created_at", "-id")


def unread_count(user: Any) -> int:
    """How many notifications the user has not read (uses the partial unread index)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
