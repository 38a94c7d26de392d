"""What one SLA check run shares between its steps, and who manages whom.

The check, the escalation and the messages all read it, so it sits below them:
the check imports the escalation and the messages, never the other way round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from agreements import roles
from leads.clock import RuleBook
from leads.models import RepProfile


@dataclass
class CheckContext:
    """Per-run caches: rules with calendars, user names, managers, the lead desk's managers."""

    now: dt.datetime
    rules: RuleBook
    _desk_managers: list[int] | None = None
    # Times as messages word them, by (moment, rule): a digest and its manager's copy
    # word the same due times (messages.when).
    worded: dict[tuple[dt.datetime, int | None], str] = field(default_factory=dict)

    def desk_managers(self) -> list[int]:
        """Sales managers answer for leads nobody owns (the lead desk)."""
        if self._desk_managers is None:
            self._desk_managers = list(
                get_user_model()
                .objects.filter(is_active=True, groups__name=roles.SALES_MANAGER)
                .order_by("pk")
                .values_list("pk", flat=True)
                .distinct()
            )
        return self._desk_managers


def managers_of(user_ids: Iterable[int | None]) -> dict[int, int | None]:
    """Each rep's team manager (reps without a team, and managers themselves, map to None)."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return {}
    return dict(
        RepProfile.objects.filter(user_id__in=ids).values_list("user_id", "team__manager_id")
    )
