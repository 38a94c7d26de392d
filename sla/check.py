"""The SLA check: warn before a first-touch clock runs out, record the breach, escalate.

`run_check` is one pass over the database, never one message per lead. Each step
reads a small batch of rows that need it through a partial index, locks them
(`FOR UPDATE SKIP LOCKED` on Postgres; SQLite serializes writers), writes the
outcome and commits. Every outcome is unique per lead and clock (the due time):
a second run, a second worker or a re-run after a crash finds the work done and
writes nothing twice. Notifications are keyed by event, so nobody is told twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Value, When
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.db import insert_ignoring_conflicts, insert_rows
from leads.models import Assignment, Lead
from notifications.services import notify

from .clock import RuleBook
from .context import STOPPED_STAGES, CheckContext, managers_of
from .escalation import escalate_breaches
from .messages import breach_messages, warning_messages
from .models import Breach, SLAWarning

BATCH = 2000


@dataclass
class CheckResult:
    """What one run did: leads warned, clocks breached, breaches escalated, clocks stopped."""

    warned: int = 0
    breached: int = 0
    escalated: int = 0
    stopped: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.breached} breached, {self.escalated} escalated, {self.warned} warned, "
            f"{self.stopped} stopped"
        )


def run_check(now: dt.datetime | None = None) -> CheckResult:
    """Run the SLA check once: breach due clocks, escalate old breaches, warn clocks due soon.

    Safe to run twice, concurrently, or again after a crash: it gives the same
    breaches and notifications. Does not send email (see deliver_pending_emails).
    """
    now = now or timezone.now()
    rules = RuleBook.load()
    context = CheckContext(now=now, rules=rules)
    result = CheckResult()
    result.breached, result.stopped = _breach_due_clocks(context)
    result.escalated = escalate_breaches(context)
    result.warned = _warn_clocks_due_soon(context)
    return result


_LEAD_FIELDS = (
    "pk",
    "owner_id",
    "stage",
    "sla_due_at",
    "sla_rule_id",
    "sla_agreement_id",
    "first_name",
    "last_name",
    "email",
)


# --- Step 1: clocks that ran out become breaches ------------------------------------


def _breach_due_clocks(context: CheckContext) -> tuple[int, int]:
    """Mark every pending clock due by now breached, record its Breach, tell owner and manager."""
    breached = stopped = 0
    while True:
        with transaction.atomic():
            due = _claim_due_clocks(context.now)
            if not due:
                return breached, stopped
            # A clock on a parked or closed lead should have been stopped by the lifecycle;
            # one that slipped through is recorded as breached, but nobody is chased for it.
            live = [row for row in due if row["stage"] not in STOPPED_STAGES]
            parked = [row for row in due if row["stage"] in STOPPED_STAGES]
            breached += _record_breaches(live, context, notify_people=True)
            stopped += _record_breaches(parked, context, notify_people=False)


_CLAIMED = (*_LEAD_FIELDS, "moved_from")


def _claim_due_clocks(now: dt.datetime) -> list[dict[str, Any]]:
    """Mark up to BATCH clocks due by `now` breached, in one statement; return their leads.

    The partial index lead_sla_pending_due finds them (only due clocks are read); on
    Postgres they are locked with SKIP LOCKED, so a second worker takes the next ones
    and a worker that died mid-run leaves its batch to the next run. Each row also
    says who owned the lead at its due time (see `_owner_at_due`). One UPDATE ...
    RETURNING rather than a SELECT and an UPDATE of 2,000 ids: half the statements,
    and no id list for Django to compile twice (a third of the check's Python time).
    """
    quote = connection.ops.quote_name
    lead, assignment = quote(Lead._meta.db_table), quote(Assignment._meta.db_table)
    due = (
        f"SELECT id FROM {lead} WHERE sla_status = %s AND sla_due_at <= %s "  # noqa: S608
        "ORDER BY sla_due_at LIMIT %s"
    )
    if connection.vendor == "postgresql":
        # The claimed ids as one array worked out first: with `id IN (subquery)` the
        # planner expected BATCH rows and hashed a scan of the whole table (42 ms for 10
        # due clocks at 100,000 leads); `= ANY(array)` looks each one up by primary key.
        claimed = f"id = ANY(ARRAY({due} FOR UPDATE SKIP LOCKED))"
    else:
        claimed = f"id IN ({due})"  # SQLite serializes writers: nothing to skip
    # The first move after the due time took the lead from its owner at the due time
    # (0: from the lead desk); none: the owner now had it then. Index assignment_lead_at.
    moved_from = (
        f"(SELECT COALESCE(a.from_owner_id, 0) FROM {assignment} AS a "  # noqa: S608
        f"WHERE a.lead_id = {lead}.id AND a.at > {lead}.sla_due_at ORDER BY a.at, a.id LIMIT 1)"
    )
    # SQLite's RETURNING cannot name an alias of the updated table: the table's own name.
    sql = f"""
        UPDATE {lead} SET sla_status = %s, version = version + 1, updated_at = %s
        WHERE {claimed}
        RETURNING id, owner_id, stage, sla_due_at, sla_rule_id, sla_agreement_id,
            first_name, last_name, email, {moved_from}"""  # noqa: S608
    at = connection.ops.adapt_datetimefield_value(now)
    params = [Lead.SLAStatus.BREACHED, at, Lead.SLAStatus.PENDING, at, BATCH]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(_CLAIMED, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["sla_due_at"] = _aware(row["sla_due_at"])
    return rows


def _aware(value: dt.datetime | str) -> dt.datetime:
    """A datetime column read by a raw cursor (SQLite gives text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def _owner_at_due(owner_id: int | None, moved_from: int | None) -> int | None:
    """Who owned a lead at an instant, from its owner now and `moved_from`: the owner the
    first move after the instant took it from (0: the lead desk; None: not moved since,
    so the owner now had it then). Read from the Assignment history by `owner_at` and by
    the check's claim statement."""
    if moved_from is None:
        return owner_id
    return moved_from or None


def _record_breaches(
    rows: list[dict[str, Any]], context: CheckContext, *, notify_people: bool
) -> int:
    if not rows:
        return 0
    now = context.now
    owners = {row["pk"]: _owner_at_due(row["owner_id"], row["moved_from"]) for row in rows}
    managers = managers_of(owners.values())
    breaches = []
    for row in rows:
        clock = context.rules.get(row["sla_rule_id"])
        owner = owners[row["pk"]]
        due_at = row["sla_due_at"]
        breaches.append(
            (
                row["pk"],
                row["sla_rule_id"] if clock is not None else None,
                row["sla_agreement_id"] or (clock.rule.agreement_id if clock else None),
                due_at,
                now,
                owner,
                managers.get(owner) if owner is not None else None,
                clock.escalation_time(due_at) if clock is not None else None,
            )
        )
    # The breaches this transaction recorded: a clock whose breach was already there (a
    # late touch got to it first) is nobody's news, and a manager's digest lists a
    # clock only in the transaction that wrote its breach.
    recorded = {
        lead_id
        for (lead_id,) in insert_rows(
            Breach,
            (
                "lead_id",
                "rule_id",
                "agreement_id",
                "due_at",
                "detected_at",
                "owner_at_due_id",
                "manager_at_due_id",
                "escalate_at",
            ),
            breaches,
            conflict=("lead_id", "due_at"),
            returning=("lead_id",),
        )
    }
    if notify_people:
        news = [row for row in rows if row["pk"] in recorded]
        notify(breach_messages(news, owners, managers, context), at=now)
    return len(rows)


# --- Step 3: clocks in their last stretch get a warning ----------------------------


def _warn_clocks_due_soon(context: CheckContext) -> int:
    """Warn the owner of each running clock that passed its rule's warning share, once."""
    horizons = context.rules.warning_horizons(context.now)
    if not horizons:
        return 0
    # Each rule's horizon as a CASE on the lead's rule, not an OR of (rule = x AND due <= h):
    # given the OR, SQLite without statistics (the normal case: nothing runs ANALYZE)
    # walked the index on sla_rule_id, i.e. every lead under a rule (0.4-3.4 s at
    # 1,000,000 leads); now only the partial index of running clocks is usable.
    horizon = Case(
        *(When(sla_rule_id=rule_id, then=Value(at)) for rule_id, at in horizons.items()),
        default=None,
        output_field=DateTimeField(),
    )
    already_warned = SLAWarning.objects.filter(lead=OuterRef("pk"), due_at=OuterRef("sla_due_at"))
    warned = 0
    while True:
        with transaction.atomic():
            rows = list(
                Lead.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    sla_status=Lead.SLAStatus.PENDING,
                    sla_due_at__gt=context.now,
                    sla_due_at__lte=max(horizons.values()),
                )
                .alias(horizon=horizon)
                .filter(sla_due_at__lte=F("horizon"))
                .exclude(stage__in=STOPPED_STAGES)
                .exclude(Exists(already_warned))
                .order_by("sla_due_at")
                .values(*_LEAD_FIELDS)[:BATCH]
            )
            if not rows:
                return warned
            insert_ignoring_conflicts(
                SLAWarning,
                ("lead_id", "due_at", "warned_at", "owner_id"),
                ((row["pk"], row["sla_due_at"], context.now, row["owner_id"]) for row in rows),
                conflict=("lead_id", "due_at"),
            )
            notify(warning_messages(rows, context), at=context.now)
            warned += len(rows)
