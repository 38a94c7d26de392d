"""Daily: flag owned open leads with no sales touch 30/60/90 days (the agreement's
thresholds) after assignment, and tell each owner and their manager once a day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, untouched_thresholds
from leads.models import Lead
from leads.queries import not_touched_since_assignment
from notifications.models import Notification
from notifications.services import Message, notify

from .context import managers_of
from .messages import user_names
from .models import UntouchedFlag

BATCH = 2000


def flag_untouched_leads(now: dt.datetime | None = None) -> int:
    """Flag each owned open lead with no sales touch N days after its assignment, once.

    One UntouchedFlag per lead, assignment and threshold; each owner and their
    manager get one digest notification per threshold and day. Returns the number
    of new flags.
    """
    now = now or timezone.now()
    agreement = Agreement.current()
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    flagged = 0
    for days in untouched_thresholds(agreement):
        already = UntouchedFlag.objects.filter(
            lead=OuterRef("pk"), threshold_days=days, assigned_at=OuterRef("assigned_at")
        )
        candidates = (
            Lead.objects.filter(
                not_touched_since_assignment(), assigned_at__lte=now - dt.timedelta(days=days)
            )
            .exclude(Exists(already))
            .order_by("pk")
        )
        last_pk = 0
        while rows := list(
            candidates.filter(pk__gt=last_pk).values("pk", "owner_id", "assigned_at")[:BATCH]
        ):
            last_pk = rows[-1]["pk"]
            with transaction.atomic():
                created = UntouchedFlag.objects.bulk_create(
                    [
                        UntouchedFlag(
                            lead_id=row["pk"],
                            threshold_days=days,
                            assigned_at=row["assigned_at"],
                            owner_id=row["owner_id"],
                            agreement=agreement,
                            flagged_at=now,
                        )
                        for row in rows
                    ],
                    ignore_conflicts=True,
                )
            flagged += len(created)
        _notify_untouched(days, day_start, now)
    return flagged


def _notify_untouched(days: int, day_start: dt.datetime, now: dt.datetime) -> None:
    """One digest per owner and per manager for today's flags at this threshold."""
    counts = dict(
        UntouchedFlag.objects.filter(
            threshold_days=days, flagged_at__gte=day_start, owner__isnull=False
        )
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    if not counts:
        return
    day = f"{day_start:%Y-%m-%d}"
    managers = managers_of(counts)
    names = user_names(counts)
    messages = [
        Message(
            user_id=owner,
            kind=Notification.Kind.UNTOUCHED,
            event_key=f"untouched:{days}:{day}:owner:{owner}",
            title=f"{n} of your leads had no sales touch for {days} days",
            body=f"Assigned to you {days} or more days ago and not touched since.",
            url=reverse("leads:queue"),
        )
        for owner, n in counts.items()
    ]
    per_manager: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for owner, n in counts.items():
        if managers.get(owner) is not None:
            per_manager[managers[owner]].append((names.get(owner, "?"), n))
    for manager, reps in per_manager.items():
        total = sum(n for _, n in reps)
        messages.append(
            Message(
                user_id=manager,
                kind=Notification.Kind.UNTOUCHED,
                event_key=f"untouched:{days}:{day}:manager:{manager}",
                title=f"{total} leads in your teams had no sales touch for {days} days",
                body=", ".join(f"{name}: {n}" for name, n in sorted(reps)),
                url=reverse("leads:team"),
            )
        )
    notify(messages, at=now)
