"""The SLA engine: warn before a first-touch clock runs out, record the breach, escalate.

`run_check` is one pass over the database, never one message per lead. Each step
reads a small batch of rows that need it through a partial index, locks them
(`FOR UPDATE SKIP LOCKED` on Postgres; SQLite serializes writers), writes the
outcome and commits. Every outcome is unique per lead and clock (the due time):
a second run, a second worker or a re-run after a crash finds the work done and
writes nothing twice. Notifications are keyed by event, so nobody is told twice.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, Count, DateTimeField, Exists, F, OuterRef, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agreements import roles
from agreements.models import Agreement, ResponseRule, untouched_thresholds
from agreements.stages import CLOSED_STAGES, OPEN_STAGES, Stage
from config.db import insert_ignoring_conflicts, insert_rows
from leads.models import Assignment, Lead, LeadError, RepProfile
from notifications.models import Notification
from notifications.services import Message, notify

from .clock import RuleBook
from .models import Breach, PacingSnapshot, SLAWarning, UntouchedFlag

log = logging.getLogger(__name__)

BATCH = 2000
ESCALATION_BATCH = 100

# A clock on a lead in these stages is not the rep's to answer any more.
STOPPED_STAGES = CLOSED_STAGES | {Stage.NURTURE}

Kind = Notification.Kind
Escalation = ResponseRule.Escalation


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
    context = _Context(now=now, rules=rules)
    result = CheckResult()
    result.breached, result.stopped = _breach_due_clocks(context)
    result.escalated = _escalate_breaches(context)
    result.warned = _warn_clocks_due_soon(context)
    return result


# --- Who had the lead, and who manages them -------------------------------------


@dataclass
class _Context:
    """Per-run caches: rules with calendars, user names, managers, the lead desk's managers."""

    now: dt.datetime
    rules: RuleBook
    _desk_managers: list[int] | None = None

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


def owner_at(lead: Lead, instant: dt.datetime) -> int | None:
    """Who owned `lead` at `instant`: whoever the first move after it took the lead from
    (None: the lead desk), else its owner now (the rule of `_owner_at_due`, for one lead)."""
    later = (
        Assignment.objects.filter(lead=lead, at__gt=instant)
        .order_by("at", "id")
        .values_list("from_owner_id", flat=True)[:1]
    )
    moved = list(later)
    return moved[0] if moved else lead.owner_id


def managers_of(user_ids: Iterable[int | None]) -> dict[int, int | None]:
    """Each rep's team manager (reps without a team, and managers themselves, map to None)."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return {}
    return dict(
        RepProfile.objects.filter(user_id__in=ids).values_list("user_id", "team__manager_id")
    )


def _names(user_ids: Iterable[int | None]) -> dict[int, str]:
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return {}
    users = get_user_model().objects.filter(pk__in=ids).only("username", "first_name", "last_name")
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


def _lead_name(row: dict[str, Any]) -> str:
    return f"{row['first_name']} {row['last_name']}".strip() or row["email"]


_URL_SENTINEL = "987654321"


def _lead_url(lead_id: int) -> str:
    return _lead_url_pattern().replace(_URL_SENTINEL, str(lead_id))


@functools.cache
def _lead_url_pattern() -> str:
    """The lead page's URL resolved once (reverse() per row showed in the bench)."""
    return reverse("leads:detail", args=[int(_URL_SENTINEL)])


def _clock_key(lead_id: int, due_at: dt.datetime) -> str:
    """Names one clock of one lead: a lead gets a new clock each time it enters an SLA stage."""
    return f"{lead_id}:{int(due_at.timestamp())}"


def _when(moment: dt.datetime, context: _Context, rule_id: int | None) -> str:
    clock = context.rules.get(rule_id)
    zone = clock.spec.zone if clock is not None and clock.spec is not None else None
    local = timezone.localtime(moment, zone)
    return f"{local:%a %d %b %H:%M} ({local.tzname()})"


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


def _breach_due_clocks(context: _Context) -> tuple[int, int]:
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


def _record_breaches(rows: list[dict[str, Any]], context: _Context, *, notify_people: bool) -> int:
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
        notify(_breach_messages(news, owners, managers, context), at=now)
    return len(rows)


def _breach_messages(
    rows: list[dict[str, Any]],
    owners: dict[int, int | None],
    managers: dict[int, int | None],
    context: _Context,
) -> list[Message]:
    names = _names([*owners.values(), *managers.values()])
    messages = []
    for_managers: dict[int, list[tuple[dict[str, Any], int]]] = defaultdict(list)
    for_owners: dict[int, list[dict[str, Any]]] = defaultdict(list)
    on_desk: list[dict[str, Any]] = []
    for row in rows:
        owner = owners[row["pk"]]
        if owner is None:
            on_desk.append(row)
            continue
        for_owners[owner].append(row)
        manager = managers.get(owner)
        if manager is not None and manager != owner:
            for_managers[manager].append((row, owner))
    messages += _desk_messages(on_desk, context)
    for owner, missed_by_owner in for_owners.items():
        if len(missed_by_owner) > OWNER_DIGEST_AFTER:
            messages.append(_owner_digest(owner, missed_by_owner, context))
            continue
        for row in missed_by_owner:
            messages.append(
                _breach_note(
                    owner,
                    row,
                    "owner",
                    f"Follow-up time missed: {_lead_name(row)}",
                    f"The first sales touch was due {_due(row, context)}. Touch the lead now; "
                    "the breach is recorded against you as its owner at the due time.",
                )
            )
    for manager, missed in for_managers.items():
        if len(missed) == 1:
            row, owner = missed[0]
            messages.append(
                _breach_note(
                    manager,
                    row,
                    "manager",
                    f"{names.get(owner, 'A rep')} missed the follow-up on {_lead_name(row)}",
                    f"The first sales touch was due {_due(row, context)}.",
                )
            )
        else:
            messages.append(_manager_digest(manager, missed, names, context))
    return messages


DIGEST_LINES = 25
# A rep whose clocks run out together (after an outage, a holiday, a big import) gets
# them one by one up to this many, and beyond it one notification listing them all;
# so do the sales managers for leads that ran out on the lead desk.
OWNER_DIGEST_AFTER = 3


def _digest_lines(rows: list[dict[str, Any]], context: _Context, prefix: Any = None) -> list[str]:
    """The first DIGEST_LINES leads of a digest, one per line, and how many more."""
    lines = [
        f"{prefix(row) if prefix else ''}{_lead_name(row)}, due {_due(row, context)}"
        for row in rows[:DIGEST_LINES]
    ]
    if len(rows) > DIGEST_LINES:
        lines.append(f"… and {len(rows) - DIGEST_LINES} more.")
    return lines


def _desk_messages(rows: list[dict[str, Any]], context: _Context) -> list[Message]:
    """Nobody owned these leads: every sales manager answers for the lead desk."""
    if len(rows) > OWNER_DIGEST_AFTER:
        rows = sorted(rows, key=lambda row: (row["sla_due_at"], row["pk"]))
        first = rows[0]
        key = f"sla-breach:{_clock_key(first['pk'], first['sla_due_at'])}:desk-digest"
        return [
            Message(
                user_id=manager,
                kind=Kind.SLA_BREACH,
                event_key=f"{key}:{manager}",
                title=f"{len(rows)} unassigned leads missed their follow-up",
                body="No first sales touch by the due time and the leads are still on the "
                "lead desk. Assign them to reps:\n" + "\n".join(_digest_lines(rows, context)),
                url=reverse("leads:desk"),
            )
            for manager in context.desk_managers()
        ]
    return [
        _breach_note(
            manager,
            row,
            f"desk:{manager}",
            f"Unassigned lead missed its follow-up: {_lead_name(row)}",
            f"The first sales touch was due {_due(row, context)} and the lead is still on "
            "the lead desk. Assign it to a rep.",
        )
        for row in rows
        for manager in context.desk_managers()
    ]


def _breach_note(
    user_id: int, row: dict[str, Any], recipient: str, title: str, body: str
) -> Message:
    """One person told about one lead's breach; `recipient` makes the event key theirs."""
    lead_id = row["pk"]
    return Message(
        user_id=user_id,
        kind=Kind.SLA_BREACH,
        lead_id=lead_id,
        url=_lead_url(lead_id),
        event_key=f"sla-breach:{_clock_key(lead_id, row['sla_due_at'])}:{recipient}",
        title=title,
        body=body,
    )


def _due(row: dict[str, Any], context: _Context) -> str:
    return _when(row["sla_due_at"], context, row["sla_rule_id"])


def _owner_digest(owner: int, missed: list[dict[str, Any]], context: _Context) -> Message:
    """One notification telling a rep that several of their leads missed the follow-up.

    Like the manager's digest: each clock is in the digest of the transaction that
    recorded its breach, and the key names the digest by its earliest clock.
    """
    missed = sorted(missed, key=lambda row: (row["sla_due_at"], row["pk"]))
    first = missed[0]
    return Message(
        user_id=owner,
        kind=Kind.SLA_BREACH,
        event_key=f"sla-breach:{_clock_key(first['pk'], first['sla_due_at'])}:owner-digest",
        title=f"{len(missed)} of your leads missed their follow-up",
        body="No first sales touch by the due time; they are at the top of your queue, and "
        "each breach is recorded against you as the owner at the due time:\n"
        + "\n".join(_digest_lines(missed, context)),
        url=reverse("leads:queue"),
    )


def _manager_digest(
    manager: int,
    missed: list[tuple[dict[str, Any], int]],
    names: dict[int, str],
    context: _Context,
) -> Message:
    """One notification telling a manager about several of their reps' breaches at once.

    A check that finds many clocks run out together (after an outage, a holiday, a big
    import) would otherwise send the manager one email per lead. Each clock is in the
    digest of the transaction that recorded its breach, and only there; the key names
    the digest by its earliest clock, which no other digest can contain.
    """
    missed = sorted(missed, key=lambda item: (item[0]["sla_due_at"], item[0]["pk"]))
    first = missed[0][0]
    per_rep: dict[str, int] = defaultdict(int)
    for _, owner in missed:
        per_rep[names.get(owner, "A rep")] += 1
    owner_of = {row["pk"]: owner for row, owner in missed}
    lines = _digest_lines(
        [row for row, _ in missed],
        context,
        lambda row: f"{names.get(owner_of[row['pk']], 'A rep')}: ",
    )
    reps = ", ".join(f"{name}: {n}" for name, n in sorted(per_rep.items()))
    return Message(
        user_id=manager,
        kind=Kind.SLA_BREACH,
        event_key=f"sla-breach:{_clock_key(first['pk'], first['sla_due_at'])}:digest:{manager}",
        title=f"{len(missed)} leads in your team missed their follow-up",
        body=f"No first sales touch by the due time ({reps}):\n" + "\n".join(lines),
        url=reverse("leads:team"),
    )


# --- Step 2: breaches past the rule's escalation delay ------------------------------


def _escalate_breaches(context: _Context) -> int:
    """Escalate each unresolved breach whose escalation time has come, exactly once."""
    escalated = 0
    while True:
        with transaction.atomic():
            batch = list(
                Breach.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(
                    escalated_at__isnull=True,
                    resolved_at__isnull=True,
                    escalate_at__isnull=False,
                    escalate_at__lte=context.now,
                )
                .order_by("escalate_at")[:ESCALATION_BATCH]
            )
            if not batch:
                return escalated
            leads = {
                lead.pk: lead
                for lead in Lead.objects.select_for_update(of=("self",))
                .filter(pk__in=[b.lead_id for b in batch])
                .order_by("pk")
            }
            for breach in batch:
                escalated += _escalate(breach, leads[breach.lead_id], context)


def _escalate(breach: Breach, lead: Lead, context: _Context) -> int:
    now = context.now
    if lead.first_touch_at is not None:
        breach.resolved_at = lead.first_touch_at
        breach.save(update_fields=["resolved_at"])
        return 0
    if (
        lead.stage in STOPPED_STAGES
        or lead.sla_status != Lead.SLAStatus.BREACHED
        or lead.sla_due_at != breach.due_at
    ):
        breach.escalated_at = now
        breach.escalation = Breach.Escalation.SKIPPED
        breach.save(update_fields=["escalated_at", "escalation"])
        return 0
    clock = context.rules.get(breach.rule_id)
    action = clock.rule.escalate_action if clock is not None else Escalation.NOTIFY_MANAGER
    name = lead.full_name or lead.email
    key = f"sla-escalation:{_clock_key(lead.pk, breach.due_at)}"
    due = _when(breach.due_at, context, breach.rule_id)
    common = {"lead_id": lead.pk, "url": _lead_url(lead.pk)}
    owner = lead.owner_id
    manager = managers_of([owner]).get(owner) if owner is not None else None
    messages: list[Message] = []
    new_owner: int | None = None
    result = Breach.Escalation.NOTIFY_MANAGER

    if action in (Escalation.LEAD_DESK, Escalation.NEXT_REP) and owner is not None:
        new_owner = _next_rep(owner, now) if action == Escalation.NEXT_REP else None
        result = (
            Breach.Escalation.NEXT_REP if new_owner is not None else Breach.Escalation.LEAD_DESK
        )
        target = "the lead desk" if new_owner is None else _names([new_owner])[new_owner]
        try:
            _move(lead, new_owner, breach, clock, now)
        except LeadError:
            log.exception("SLA escalation could not move lead %s", lead.pk)
            new_owner, result = None, Breach.Escalation.NOTIFY_MANAGER
        else:
            messages.append(
                Message(
                    user_id=owner,
                    kind=Kind.REASSIGNED,
                    event_key=f"{key}:from",
                    title=f"{name} was moved to {target}",
                    body=f"Its first sales touch was due {due} and it was not touched in time, "
                    "so the agreement's escalation moved it.",
                    **common,
                )
            )
            if new_owner is not None:
                messages.append(
                    Message(
                        user_id=new_owner,
                        kind=Kind.REASSIGNED,
                        event_key=f"{key}:to",
                        title=f"New lead for you, already overdue: {name}",
                        body=f"Its first sales touch was due {due}; the previous owner did not "
                        "touch it in time. Please follow up now.",
                        **common,
                    )
                )
    escalation_title = {
        Breach.Escalation.NOTIFY_MANAGER: f"Escalation: {name} is still untouched",
        Breach.Escalation.LEAD_DESK: f"Escalation: {name} moved to the lead desk",
        Breach.Escalation.NEXT_REP: f"Escalation: {name} reassigned to the next rep",
    }[result]
    escalation_body = f"The first sales touch was due {due} and has still not happened."
    recipients = [manager] if manager is not None else []
    if owner is None or (result == Breach.Escalation.LEAD_DESK and manager is None):
        recipients = context.desk_managers()
    for user_id in recipients:
        suffix = "manager" if user_id == manager else f"desk:{user_id}"
        messages.append(
            Message(
                user_id=user_id,
                kind=Kind.SLA_ESCALATION,
                event_key=f"{key}:{suffix}",
                title=escalation_title,
                body=escalation_body,
                **common,
            )
        )
    also = clock.rule.escalate_to_id if clock is not None else None
    if also is not None and also not in recipients:
        messages.append(
            Message(
                user_id=also,
                kind=Kind.SLA_ESCALATION,
                event_key=f"{key}:also",
                title=escalation_title,
                body=escalation_body,
                **common,
            )
        )
    breach.escalated_at = now
    breach.escalation = result
    breach.escalated_to_id = new_owner
    breach.save(update_fields=["escalated_at", "escalation", "escalated_to"])
    notify(messages, at=now)
    return 1


def _move(lead: Lead, new_owner: int | None, breach: Breach, clock: Any, now: dt.datetime) -> None:
    """Reassign through the workspaces service, as the system, recording why."""
    from leads.services import reassign

    target = get_user_model().objects.get(pk=new_owner) if new_owner is not None else None
    rule = clock.rule if clock is not None else None
    reassign(
        [lead],
        target,
        by=None,
        rule="SLA escalation",
        reason=(
            f"No first sales touch by {breach.due_at:%Y-%m-%d %H:%M} UTC"
            + (f" ({rule})" if rule is not None else "")
            + "; the agreement escalates by moving the lead."
        ),
    )


def _next_rep(owner_id: int, now: dt.datetime) -> int | None:
    """The owner's team's next available rep by the routing round robin, never the owner."""
    from leads.routing import next_rep

    profile = RepProfile.objects.filter(user_id=owner_id).select_related("team").first()
    if profile is None:
        return None
    return next_rep(profile.team, exclude_user_id=owner_id, at=now)


# --- Step 3: clocks in their last stretch get a warning ----------------------------


def _warn_clocks_due_soon(context: _Context) -> int:
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
            notify(_warning_messages(rows, context), at=context.now)
            warned += len(rows)


def _warning_messages(rows: list[dict[str, Any]], context: _Context) -> list[Message]:
    messages = []
    for row in rows:
        lead_id, lead = row["pk"], _lead_name(row)
        key = f"sla-warning:{_clock_key(lead_id, row['sla_due_at'])}"
        due = _when(row["sla_due_at"], context, row["sla_rule_id"])
        common = {"kind": Kind.SLA_WARNING, "lead_id": lead_id, "url": _lead_url(lead_id)}
        if row["owner_id"] is not None:
            messages.append(
                Message(
                    user_id=row["owner_id"],
                    event_key=f"{key}:owner",
                    title=f"Follow up soon: {lead}",
                    body=f"The first sales touch is due {due}.",
                    **common,
                )
            )
            continue
        for manager in context.desk_managers():
            messages.append(
                Message(
                    user_id=manager,
                    event_key=f"{key}:desk:{manager}",
                    title=f"Unassigned lead due soon: {lead}",
                    body=f"The first sales touch is due {due} and nobody owns the lead yet.",
                    **common,
                )
            )
    return messages


# --- A late touch -----------------------------------------------------------------


def record_late_touch(lead: Lead, at: dt.datetime) -> None:
    """Settle the breach of a lead whose first sales touch came after its due time.

    Call it after `Lead.record_sales_touch`, in the same transaction. The lead stays
    breached; the breach records when it was finally touched. A touch that beat the
    check to a clock that had already run out records the breach itself (nobody is
    notified: the lead is being worked).
    """
    if lead.sla_status != Lead.SLAStatus.BREACHED or lead.sla_due_at is None:
        return
    if lead.first_touch_at is None or lead.first_touch_at <= lead.sla_due_at:
        return
    touched = lead.first_touch_at
    if Breach.objects.filter(lead=lead, due_at=lead.sla_due_at, resolved_at__isnull=True).update(
        resolved_at=touched
    ):
        return
    owner = owner_at(lead, lead.sla_due_at)
    Breach.objects.bulk_create(
        [
            Breach(
                lead=lead,
                rule_id=lead.sla_rule_id,
                agreement_id=lead.sla_agreement_id,
                due_at=lead.sla_due_at,
                detected_at=at,
                owner_at_due_id=owner,
                manager_at_due_id=managers_of([owner]).get(owner) if owner else None,
                resolved_at=touched,
            )
        ],
        ignore_conflicts=True,
    )


# --- Daily: leads untouched since assignment ------------------------------------


# Nurture is parked on purpose; closed leads have no queue.
UNTOUCHED_STAGES = tuple(sorted(OPEN_STAGES - {Stage.NURTURE}))


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
                owner__isnull=False,
                stage__in=UNTOUCHED_STAGES,
                assigned_at__lte=now - dt.timedelta(days=days),
            )
            .filter(Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=F("assigned_at")))
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
    names = _names(counts)
    messages = [
        Message(
            user_id=owner,
            kind=Kind.UNTOUCHED,
            event_key=f"untouched:{days}:{day}:owner:{owner}",
            title=f"{n} of your leads had no sales touch for {days} days",
            body=f"Assigned to you {days} or more days ago and never touched since. "
            "They are at the top of your queue.",
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
                kind=Kind.UNTOUCHED,
                event_key=f"untouched:{days}:{day}:manager:{manager}",
                title=f"{total} leads in your teams had no sales touch for {days} days",
                body=", ".join(f"{name}: {n}" for name, n in sorted(reps)),
                url=reverse("leads:team"),
            )
        )
    notify(messages, at=now)


# --- Daily: marketing commitment pacing -----------------------------------------


def period_bounds(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of the month or quarter containing `day`."""
    first_month = day.month if period == "month" else 3 * ((day.month - 1) // 3) + 1
    start = day.replace(month=first_month, day=1)
    months = 1 if period == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    end = dt.date(day.year + year, month + 1, 1) - dt.timedelta(days=1)
    return start, end


def snapshot_marketing_pacing(now: dt.datetime | None = None) -> int:
    """Store today's delivered-so-far vs target for each commitment of the active agreement.

    One row per day, period and figure (re-running the same day refreshes it).
    Returns the number of rows written.
    """
    from reports.queries import marketing_delivered

    now = now or timezone.now()
    agreement = Agreement.current()
    if agreement is None:
        return 0
    spec = agreement.calendar_spec()
    zone = spec.zone if spec is not None else timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    written = 0
    for commitment in agreement.commitments.all():
        start, end = period_bounds(today, commitment.period)
        since = dt.datetime.combine(start, dt.time(0), tzinfo=zone)
        delivered = marketing_delivered(since, now)
        total_days = (end - start).days + 1
        elapsed = (today - start).days + 1
        days_left = total_days - elapsed
        targets = {
            PacingSnapshot.Figure.NEW_LEADS: commitment.new_leads,
            PacingSnapshot.Figure.MQLS: commitment.mqls,
            PacingSnapshot.Figure.SALES_ACCEPTED: commitment.sales_accepted,
            PacingSnapshot.Figure.PIPELINE: commitment.pipeline_amount,
            PacingSnapshot.Figure.ACCEPTANCE_RATE: commitment.min_acceptance_rate,
        }
        with transaction.atomic():
            for figure, target in targets.items():
                target = Decimal(target or 0)
                done = delivered[figure]
                is_rate = figure == PacingSnapshot.Figure.ACCEPTANCE_RATE
                expected = None if is_rate else _cents(target * elapsed / total_days)
                needed = None
                if not is_rate:
                    needed = _cents(max(target - done, Decimal(0)) / max(days_left, 1))
                PacingSnapshot.objects.update_or_create(
                    date=today,
                    period=commitment.period,
                    figure=figure,
                    defaults={
                        "agreement": agreement,
                        "period_start": start,
                        "period_end": end,
                        "target": target,
                        "delivered": done,
                        "expected_by_now": expected,
                        "pace_needed_per_day": needed,
                        "days_left": days_left,
                        "taken_at": now,
                    },
                )
                written += 1
    return written


def _cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))
