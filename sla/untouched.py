"""Daily: flag owned open leads their rep has not touched 30/60/90 days (the agreement's
thresholds) after assigning them to the rep (the tenures leads.queries.untouched_tenures
names, as the sales report counts them), and tell each owner and their manager in one digest per
threshold and run, listing every lead."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from agreements.models import Agreement, untouched_thresholds
from leads.queries import untouched_tenures
from notifications.models import Notification
from notifications.services import Message, notify

from .context import managers_of
from .messages import lead_item, lead_name, user_names
from .models import UntouchedFlag

BATCH = 2000


def flag_untouched_leads(now: dt.datetime | None = None) -> int:
    """Flag each owned open lead its rep has not touched N days after assigning it to
    them, once (a touch by anyone else does not count: leads.queries.untouched_tenures).

    One UntouchedFlag per lead, assignment and threshold; each owner and their
    manager get one digest notification per threshold for the flags not yet told.
    Returns the number of new flags.
    """
    now = now or timezone.now()
    agreement = Agreement.current()
    flagged = 0
    for days in untouched_thresholds(agreement):
        already = UntouchedFlag.objects.filter(
            lead=OuterRef("lead"), threshold_days=days, assigned_at=OuterRef("at")
        )
        candidates = (
            untouched_tenures(now - dt.timedelta(days=days)).exclude(Exists(already)).order_by("pk")
        )
        last_pk = 0
        while rows := list(
            candidates.filter(pk__gt=last_pk).values("pk", "lead_id", "owner_id", "at")[:BATCH]
        ):
            last_pk = rows[-1]["pk"]
            with transaction.atomic():
                created = UntouchedFlag.objects.bulk_create(
                    [
                        UntouchedFlag(
                            lead_id=row["lead_id"],
                            threshold_days=days,
                            assigned_at=row["at"],
                            owner_id=row["owner_id"],
                            agreement=agreement,
                            flagged_at=now,
                        )
                        for row in rows
                    ],
                    ignore_conflicts=True,
                )
            flagged += len(created)
        _notify_untouched(days, now)
    return flagged


def _notify_untouched(days: int, now: dt.datetime) -> None:
    """One digest per owner and per manager for the flags at this threshold not told yet.

    Flags are recorded batch by batch, then told here in one transaction; a run that died
    in between leaves its flags to the next run, which tells them once.
    """
    with transaction.atomic():
        flags = list(
            UntouchedFlag.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(threshold_days=days, notified_at__isnull=True)
            .order_by("pk")
            .values(
                "pk", "lead_id", "owner_id", "lead__first_name", "lead__last_name", "lead__email"
            )
        )
        if not flags:
            return
        notify(_untouched_messages(days, flags), at=now)
        UntouchedFlag.objects.filter(pk__in=[flag["pk"] for flag in flags]).update(notified_at=now)


def _untouched_messages(days: int, flags: list[dict[str, Any]]) -> list[Message]:
    """Each owner's and each manager's digest of these flags, every lead a link; the key
    names the digest by its first flag, which no other digest holds."""
    per_owner: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for flag in flags:
        if flag["owner_id"] is not None:
            per_owner[flag["owner_id"]].append(flag)
    if not per_owner:
        return []
    first = flags[0]["pk"]
    managers = managers_of(per_owner)
    names = user_names(per_owner)
    messages = [
        Message(
            user_id=owner,
            kind=Notification.Kind.UNTOUCHED,
            event_key=f"untouched:{days}:{first}:owner:{owner}",
            title=f"{len(owned)} of your leads had no sales touch of yours for {days} days",
            body=f"Assigned to you {days} or more days ago and not touched by you since.",
            url=reverse("leads:queue"),
            items=tuple(_item(flag, "") for flag in owned),
        )
        for owner, owned in per_owner.items()
    ]
    per_manager: dict[int, list[int]] = defaultdict(list)
    for owner in per_owner:
        if managers.get(owner) is not None:
            per_manager[managers[owner]].append(owner)
    for manager, reps in per_manager.items():
        total = sum(len(per_owner[owner]) for owner in reps)
        counts = sorted((names.get(owner, "?"), len(per_owner[owner])) for owner in reps)
        messages.append(
            Message(
                user_id=manager,
                kind=Notification.Kind.UNTOUCHED,
                event_key=f"untouched:{days}:{first}:manager:{manager}",
                title=f"{total} leads in your teams had no touch by their rep for {days} days",
                body=", ".join(f"{name}: {n}" for name, n in counts),
                url=reverse("leads:team"),
                items=tuple(
                    _item(flag, names.get(owner, "?"))
                    for owner in reps
                    for flag in per_owner[owner]
                ),
            )
        )
    return messages


def _item(flag: dict[str, Any], owner_name: str) -> dict[str, str]:
    row = {key.removeprefix("lead__"): value for key, value in flag.items()}
    return lead_item(flag["lead_id"], lead_name(row), owner_name)
