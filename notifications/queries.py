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


def visible_leads(user: Any, lead_ids: set[int]) -> set[int]:
    """Which of these leads the user may open now (a lead moves on after it is told). The
    lead model is reached through the notification's own link to it: notifications sit
    below leads and import nothing of them; the rule is the leads' own (visible_to)."""
    if not lead_ids:
        return set()
    leads = Notification._meta.get_field("lead").related_model.with_merged
    return set(leads.visible_to(user).filter(pk__in=lead_ids).values_list("pk", flat=True))
