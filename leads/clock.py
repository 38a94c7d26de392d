"""A lead's SLA clock: started, settled, stopped and recomputed here and nowhere else.

Entering a stage that a response rule of the agreement in force covers (an MQL
hand-raise) starts a clock, due after the rule's allowance in the agreement's
business time. The first sales touch settles it (met when at or before the due
time, breached after). Leaving for a stage where nobody is expected to touch the
lead stops it. A calendar or rule change recomputes the running clocks. The SLA
check breaches the clocks that ran out (`breach_due_clocks`) and reads each rule's
warning and escalation times from the `RuleBook`.

The per-lead functions set the lead's fields in memory; the caller saves, in its
transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agreements.calendar import CalendarSpec, add_duration, business_duration_between
from agreements.models import Agreement, ResponseRule
from agreements.stages import CLOCK_STOPPING_STAGES

from . import ledger
from .models import LEAD_FACTS, Activity, Assignment, Lead, LeadEvent

PENDING = Lead.SLAStatus.PENDING
MET = Lead.SLAStatus.MET
BREACHED = Lead.SLAStatus.BREACHED
NONE = Lead.SLAStatus.NONE

Kind = LeadEvent.Kind

RECOMPUTE_BATCH = 2000

# Sent (lead=, at=) inside the touch's transaction when a touch comes after its clock was
# due: the SLA engine, a layer above, records or resolves the breach.
touched_after_due = Signal()

# The rules `Rules.held` keeps for its block (None: read them on each call).
_HELD: ContextVar[Rules | None] = ContextVar("rules_held", default=None)


@dataclass(frozen=True)
class ClockStart:
    """A clock a rule starts: which rule of which agreement, from when, due when."""

    rule: ResponseRule
    agreement: Agreement
    started_at: dt.datetime
    due_at: dt.datetime


@dataclass(frozen=True)
class Rules:
    """The agreement in force and its business calendar, read once per operation."""

    agreement: Agreement | None
    spec: CalendarSpec | None

    @classmethod
    def in_force(cls) -> Rules:
        """The active agreement with its calendar (no agreement: no clocks start); inside
        `held`, the rules read when it began."""
        held = _HELD.get()
        if held is not None:
            return held
        agreement = Agreement.current()
        return cls(agreement, agreement.calendar_spec() if agreement is not None else None)

    @classmethod
    @contextmanager
    def held(cls) -> Iterator[Rules]:
        """Read the rules once for a run of many operations that changes no agreement (the
        demo's replay of a year): every `in_force` inside the block answers with them."""
        rules = cls.in_force()
        token = _HELD.set(rules)
        try:
            yield rules
        finally:
            _HELD.reset(token)

    def counts_as_touch(self, kind: str) -> bool:
        """Whether an activity of this kind by the sales side is a sales touch under these
        rules (the agreement's choice; every kind of touch without an agreement)."""
        if kind not in Activity.SALES_TOUCH_KINDS:
            return False
        return self.agreement is None or self.agreement.counts_as_touch(kind)

    @property
    def calendar(self) -> CalendarSpec:
        """The business calendar time to first touch is counted in (Mon–Fri 09–17 UTC
        without one)."""
        return self.spec or CalendarSpec()

    def due_at(self, rule: ResponseRule, started_at: dt.datetime) -> dt.datetime:
        """When a clock of `rule` started at `started_at` is due, in the rule's kind of time."""
        return add_duration(
            started_at, rule.due_after(self.spec), self.spec, business=rule.business_time
        )

    def warn_at(self, rule: ResponseRule, started_at: dt.datetime) -> dt.datetime:
        """When the owner is warned: after the rule's warning share of the window."""
        share = rule.due_after(self.spec) * (rule.warn_at_percent or 100) / 100
        return add_duration(started_at, share, self.spec, business=rule.business_time)

    def escalate_at(self, rule: ResponseRule, started_at: dt.datetime) -> dt.datetime | None:
        """When a breach of the rule escalates, counted from the clock's start."""
        after = rule.escalate_after(self.spec)
        if after is None:
            return None
        return add_duration(started_at, after, self.spec, business=rule.business_time)

    def start(self, stage: str, channel_id: int | None, at: dt.datetime) -> ClockStart | None:
        """The clock a lead entering `stage` from `channel_id` at `at` starts, if any."""
        if self.agreement is None:
            return None
        rule = self.agreement.rule_for(stage, channel_id)
        if rule is None:
            return None
        return ClockStart(rule, self.agreement, at, self.due_at(rule, at))


def set_running(lead: Lead, clock: ClockStart) -> None:
    """Write a started clock onto the lead (in memory)."""
    lead.sla_started_at = clock.started_at
    lead.sla_due_at = clock.due_at
    lead.sla_status = PENDING
    lead.sla_rule = clock.rule
    lead.sla_agreement = clock.agreement


def enter_stage(lead: Lead, at: dt.datetime, rules: Rules | None = None) -> list[LeadEvent]:
    """Start, keep or stop the lead's clock for the stage it has just entered.

    A covered stage starts a new clock (a clock still running ends first). Otherwise a
    running clock keeps running into the sales stages (the first touch still settles it
    there) and ends in nurture, disqualified or converted: breached if already overdue,
    else stopped. A settled clock keeps its outcome. Returns the ledger events.
    """
    rules = rules or Rules.in_force()
    clock = rules.start(lead.stage, lead.channel_id, at)
    if clock is not None:
        events = _end_running(lead, at)
        set_running(lead, clock)
        events.append(
            ledger.event(
                lead,
                Kind.CLOCK_STARTED,
                at,
                owner_id=lead.owner_id,
                started_at=clock.started_at,
                due_at=clock.due_at,
            )
        )
        return events
    if lead.sla_status == PENDING:
        if lead.stage in CLOCK_STOPPING_STAGES:
            return _end_running(lead, at)
        return []
    if lead.sla_status not in (MET, BREACHED):
        lead.sla_status = NONE
    return []


def _end_running(lead: Lead, at: dt.datetime) -> list[LeadEvent]:
    """End a running clock without a touch: breached if already overdue, else stopped."""
    if lead.sla_status != PENDING or lead.sla_due_at is None:
        return []
    started, due = lead.sla_started_at, lead.sla_due_at
    if at > due:
        lead.sla_status = BREACHED
        owner = owner_at(lead, due)
        return [
            ledger.event(
                lead, Kind.CLOCK_BREACHED, due, owner_id=owner, started_at=started, due_at=due
            )
        ]
    clear(lead)
    return [
        ledger.event(
            lead, Kind.CLOCK_STOPPED, at, owner_id=lead.owner_id, started_at=started, due_at=due
        )
    ]


def clear(lead: Lead) -> None:
    """No clock on the lead."""
    lead.sla_status = NONE
    lead.sla_started_at = None
    lead.sla_due_at = None
    lead.sla_rule = None
    lead.sla_agreement = None


def settle_on_touch(lead: Lead, at: dt.datetime) -> str | None:
    """A sales touch at `at` settles a running clock: met at or before the due time, else
    breached. Returns the outcome, or None when no clock was running."""
    if lead.sla_status != PENDING or lead.sla_due_at is None:
        return None
    lead.sla_status = MET if at <= lead.sla_due_at else BREACHED
    return lead.sla_status


def awaits_first_touch(lead: Lead) -> bool:
    """Whether the lead's clock (its latest) has had no sales touch since it started — not
    whether the lead was ever touched: a lead back in MQL after earlier touches has a new
    clock that waits for its own first touch. No clock: False; a clock without a recorded
    start (rows from before starts were kept): a touch since its due time answers it (a
    touch before may be from an earlier stint)."""
    if lead.sla_started_at is None:
        due = lead.sla_due_at
        return due is not None and (lead.last_touch_at is None or lead.last_touch_at < due)
    return lead.last_touch_at is None or lead.last_touch_at < lead.sla_started_at


def awaiting_first_touch() -> Q:
    """`awaits_first_touch` as a condition on leads, for the queue's "SLA breached" bucket
    (leads.queries): the same rule, kept in step by a test over every case."""
    not_since_due = Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=F("sla_due_at"))
    no_start = Q(sla_started_at__isnull=True, sla_due_at__isnull=False) & not_since_due
    not_since_start = Q(last_touch_at__isnull=True) | Q(last_touch_at__lt=F("sla_started_at"))
    return no_start | (Q(sla_started_at__isnull=False) & not_since_start)


def first_touch_since_start(lead: Lead) -> dt.datetime | None:
    """The first sales touch on the lead's clock (at or after it started), if any; for a
    clock without a recorded start, the lead's first touch."""
    if lead.sla_started_at is None:
        return lead.first_touch_at
    touches = Activity.objects.filter(
        lead=lead, is_touch=True, occurred_at__gte=lead.sla_started_at
    )
    return touches.order_by("occurred_at").values_list("occurred_at", flat=True).first()


def record_sales_touch(lead: Lead, touch: Activity, rules: Rules) -> list[LeadEvent]:
    """Stamp a human sales touch on the lead: first and last touch, business time to the
    first touch, and the clock it settles. Returns its ledger events: the sales touch and
    what it did to the clock. Anything that is not a sales touch (a note, a marketing
    email, a system activity) changes nothing and returns none."""
    if not touch.is_touch or not rules.counts_as_touch(touch.kind):
        return []
    at, by = touch.occurred_at, touch.actor
    events = [ledger.event(lead, Kind.SALES_TOUCH, at, owner_id=lead.owner_id, actor=by)]
    awaited = awaits_first_touch(lead)  # before this touch is stamped
    if lead.first_touch_at is None:
        lead.first_touch_at = at
    answers_clock = (
        lead.sla_started_at is not None
        and lead.sla_status in (PENDING, BREACHED)
        and awaited
        and at >= lead.sla_started_at
    )
    if lead.last_touch_at is None or at > lead.last_touch_at:
        lead.last_touch_at = at
    # Any touch settles a running clock: a lead back in MQL after earlier touches gets a
    # new clock, and its next touch is what meets (or misses) it.
    started, due = lead.sla_started_at, lead.sla_due_at
    outcome = settle_on_touch(lead, at)
    if outcome == MET:
        events.append(
            ledger.event(
                lead, Kind.CLOCK_MET, at, owner_id=lead.owner_id, started_at=started, due_at=due
            )
        )
    elif outcome == BREACHED:
        events.append(
            ledger.event(
                lead,
                Kind.CLOCK_BREACHED,
                due,
                owner_id=owner_at(lead, due),
                started_at=started,
                due_at=due,
            )
        )
    if answers_clock:
        events.append(first_touch_event(lead, at, by, started, due, rules.calendar))
    # The first touch on a clock that ran out (settled late now, or breached by the check
    # before) settles its breach; a touch dated before the clock started does not.
    on_clock = lead.sla_started_at is None or at >= lead.sla_started_at
    if outcome == BREACHED or (awaited and on_clock and lead.sla_status == BREACHED):
        touched_after_due.send(sender=Lead, lead=lead, at=at)
    return events


def first_touch_event(
    lead: Lead,
    at: dt.datetime,
    by: Any,
    started: dt.datetime,
    due: dt.datetime | None,
    spec: CalendarSpec,
) -> LeadEvent:
    """The first sales touch on a clock with DESIGN's three waits in business seconds:
    customer wait (start → touch), routing delay (start → the toucher's assignment; zero
    if already assigned) and rep response (the later of the two → touch)."""
    assigned = (
        Assignment.objects.filter(lead_id=lead.pk, to_owner_id=getattr(by, "pk", None), at__lte=at)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    handed = max(started, assigned) if assigned is not None else started

    def seconds(start: dt.datetime, end: dt.datetime) -> int:
        return max(int(business_duration_between(start, end, spec).total_seconds()), 0)

    return ledger.event(
        lead,
        Kind.FIRST_TOUCH,
        at,
        owner_id=lead.owner_id,
        actor=by,
        started_at=started,
        due_at=due,
        customer_wait=seconds(started, at),
        routing_delay=seconds(started, handed),
        rep_response=seconds(handed, at),
    )


def owner_at(lead: Lead, instant: dt.datetime) -> int | None:
    """Who owned `lead` at `instant`: whoever the first move after it took the lead from
    (None: the lead desk), else its owner now."""
    later = (
        Assignment.objects.filter(lead=lead, at__gt=instant)
        .order_by("at", "id")
        .values_list("from_owner_id", flat=True)[:1]
    )
    moved = list(later)
    return moved[0] if moved else lead.owner_id


def recompute_running_clocks(now: dt.datetime | None = None) -> int:
    """Move the due time of every running clock to what the agreement in force says (after
    a version with another holiday, working hours or rule was signed and activated).

    A clock started under an older version moves to the in-force version's rule for the
    same stage and the lead's channel (it keeps its old terms when no rule covers it). A
    clock whose new due time is already past stays pending: the next SLA check breaches
    it as it does any due clock. Returns how many clocks moved.
    """
    rules = Rules.in_force()
    if rules.agreement is None:
        return 0
    agreement = rules.agreement
    by_rule = {rule.pk: rule for rule in agreement.rules.all()}
    moved = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            batch = list(
                Lead.objects.select_for_update(of=("self",))
                .filter(sla_status=PENDING, sla_started_at__isnull=False, pk__gt=last_pk)
                .order_by("pk")
                .only(
                    "pk",
                    "channel_id",
                    "sla_started_at",
                    "sla_due_at",
                    "sla_rule_id",
                    "sla_agreement_id",
                    "version",
                )[:RECOMPUTE_BATCH]
            )
            if not batch:
                return moved
            last_pk = batch[-1].pk
            stages = dict(
                ResponseRule.objects.filter(
                    pk__in={lead.sla_rule_id for lead in batch} - set(by_rule)
                ).values_list("pk", "stage")
            )
            changed = []
            for lead in batch:
                rule = by_rule.get(lead.sla_rule_id)
                if rule is None and lead.sla_rule_id in stages:
                    rule = agreement.rule_for(stages[lead.sla_rule_id], lead.channel_id)
                if rule is None:
                    continue
                due = rules.due_at(rule, lead.sla_started_at)
                if due != lead.sla_due_at or rule.pk != lead.sla_rule_id:
                    lead.sla_due_at = due
                    lead.sla_rule_id = rule.pk
                    lead.sla_agreement_id = agreement.pk
                    changed.append(lead)
            Lead.objects.bulk_update(changed, ["sla_due_at", "sla_rule", "sla_agreement"])
            moved += len(changed)


# --- Clocks that ran out ------------------------------------------------------------

# What the check reads of a lead whose clock it breaches or warns about.
CLOCK_FIELDS = (
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
# The lead's facts its breach's ledger row carries (leads.models.LEAD_FACTS), returned by
# the claiming statement so the ledger need not read the leads again.
CLAIMED_FIELDS = (*CLOCK_FIELDS, "sla_started_at", *LEAD_FACTS, "moved_from")


def more_due_than(now: dt.datetime, n: int) -> bool:
    """Whether more than `n` clocks are due by `now`: at most n + 1 counted, through the
    partial index of running clocks (lead_sla_pending_due), as breach_due_clocks finds them."""
    due = Lead.with_merged.filter(sla_status=PENDING, sla_due_at__lte=now).order_by()
    return due[: n + 1].count() > n


def breach_due_clocks(now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Mark up to `limit` clocks due by `now` breached, in one statement, and append their
    breaches to the ledger; return their leads. Run it inside a transaction.

    The partial index lead_sla_pending_due finds them (only due clocks are read); on
    Postgres they are locked with SKIP LOCKED, so a second worker takes the next ones
    and a worker that died mid-run leaves its batch to the next run. Each row also
    says who owned the lead at its due time (`moved_from`, see `owner_at_due`). One UPDATE ...
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
        # planner expects BATCH rows and hashes a scan of the whole table; `= ANY(array)`
        # looks each one up by primary key.
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
            first_name, last_name, email, sla_started_at, {", ".join(LEAD_FACTS)},
            {moved_from}"""  # noqa: S608
    at = connection.ops.adapt_datetimefield_value(now)
    params = [BREACHED, at, PENDING, at, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(CLAIMED_FIELDS, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        row["sla_due_at"] = _aware(row["sla_due_at"])
        if row["sla_started_at"] is not None:
            row["sla_started_at"] = _aware(row["sla_started_at"])
    ledger.append_rows(
        [
            ledger.row(
                row["pk"],
                Kind.CLOCK_BREACHED,
                row["sla_due_at"],
                owner_id=owner_at_due(row["owner_id"], row["moved_from"]),
                started_at=row["sla_started_at"],
                due_at=row["sla_due_at"],
                facts=tuple(row[name] for name in LEAD_FACTS),
            )
            for row in rows
        ]
    )
    return rows


def _aware(value: dt.datetime | str) -> dt.datetime:
    """A datetime column read by a raw cursor (SQLite gives text) as an aware UTC datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def owner_at_due(owner_id: int | None, moved_from: int | None) -> int | None:
    """Who owned a lead at an instant, from its owner now and `moved_from`: the owner the
    first move after the instant took it from (0: the lead desk; None: not moved since,
    so the owner now had it then)."""
    if moved_from is None:
        return owner_id
    return moved_from or None


# --- The rules' warning and escalation times, for the SLA check ----------------------


# What a rule or calendar the clocks cannot count with raises (CalendarError is a ValueError,
# an unknown time zone a KeyError, an absurd allowance an OverflowError).
RULE_ERRORS = (ValueError, KeyError, OverflowError)


@dataclass(frozen=True)
class RuleClock:
    """One response rule with its calendar, ready for arithmetic without the database.

    A rule the check cannot count with carries its `problem` and neither warns nor
    escalates, so every other rule's clocks go on.
    """

    rule: ResponseRule
    spec: CalendarSpec | None
    problem: str = ""

    @property
    def business(self) -> bool:
        return self.rule.business_time

    @property
    def window(self) -> dt.timedelta:
        """The promised time to first touch."""
        return self.rule.due_after(self.spec)

    def warning_horizon(self, now: dt.datetime) -> dt.datetime | None:
        """Clocks due at or before this instant have used up the rule's warning share by now.

        The warning comes when `warn_at_percent` of the window has passed, i.e. when
        the time left (in the rule's kind of time) is at most the rest of the window.
        None: the rule warns at 100 %, which is the breach itself.
        """
        percent = self.rule.warn_at_percent or 0
        if percent >= 100 or self.problem:
            return None
        left = self.window * (100 - percent) / 100
        return add_duration(now, left, self.spec, business=self.business)

    def escalation_time(self, due_at: dt.datetime) -> dt.datetime | None:
        """When a breached clock escalates; the rule counts the delay from the clock's start.

        Adding (escalation delay − window) to the due time lands on the same instant
        as adding the whole delay to the start, in business time as in wall-clock time.
        """
        if self.problem:
            return None
        extra = self._escalation_extra
        if extra is None:
            return None
        # Clocks run out together (business hours put every lead that came in overnight
        # on one due time): each due time is worked out once per rule and check.
        if due_at not in self._escalations:
            self._escalations[due_at] = add_duration(
                due_at, extra, self.spec, business=self.business
            )
        return self._escalations[due_at]

    @functools.cached_property
    def _escalations(self) -> dict[dt.datetime, dt.datetime]:
        return {}

    @functools.cached_property
    def _escalation_extra(self) -> dt.timedelta | None:
        """The escalation delay beyond the window (worked out once per rule and check)."""
        after = self.rule.escalate_after(self.spec)
        if after is None:
            return None
        return max(after - self.window, dt.timedelta(0))


class RuleBook:
    """Every response rule (of every agreement version) with its calendar, loaded in 3 queries.

    A rule or calendar that cannot be counted with is set aside with its problem
    (`problems`, for Ops) instead of stopping the check for every other lead.
    """

    def __init__(self, clocks: dict[int, RuleClock]) -> None:
        self.clocks = clocks
        self.problems: list[str] = []

    @classmethod
    def load(cls, now: dt.datetime | None = None) -> RuleBook:
        now = now or timezone.now()
        rules = ResponseRule.objects.select_related(
            "agreement__calendar", "escalate_to", "channel"
        ).prefetch_related("agreement__calendar__holidays")
        specs: dict[int, CalendarSpec] = {}
        book = cls({})
        for rule in rules:
            calendar = rule.agreement.calendar
            try:
                spec = None
                if calendar is not None:
                    if calendar.pk not in specs:
                        holidays = [h.date for h in calendar.holidays.all()]
                        specs[calendar.pk] = calendar.spec(holidays=holidays)
                    spec = specs[calendar.pk]
                rule_clock = RuleClock(rule=rule, spec=spec)
                rule_clock.warning_horizon(now)
                rule_clock.escalation_time(now)
            except RULE_ERRORS as exc:
                rule_clock = book.set_aside(RuleClock(rule=rule, spec=None), exc)
            book.clocks[rule.pk] = rule_clock
        return book

    def set_aside(self, rule_clock: RuleClock, error: Exception) -> RuleClock:
        """Record why a rule cannot be counted with; it stays known but inert."""
        rule = rule_clock.rule
        problem = (
            f"Response rule “{rule}” of agreement version {rule.agreement.version} cannot be "
            f"counted with ({error}); its leads get no warning or escalation until it is fixed."
        )
        if problem not in self.problems:
            self.problems.append(problem)
        inert = RuleClock(rule=rule, spec=rule_clock.spec, problem=problem)
        self.clocks[rule.pk] = inert
        return inert

    def get(self, rule_id: int | None) -> RuleClock | None:
        return self.clocks.get(rule_id) if rule_id is not None else None

    def warning_horizons(self, now: dt.datetime) -> dict[int, dt.datetime]:
        """Per rule id: leads due at or before this instant are in their warning share."""
        horizons = {}
        for rule_id, clock in list(self.clocks.items()):
            try:
                horizon = clock.warning_horizon(now)
            except RULE_ERRORS as exc:
                self.set_aside(clock, exc)
                continue
            if horizon is not None and horizon > now:
                horizons[rule_id] = horizon
        return horizons

    def escalation_time(self, rule_id: int | None, due_at: dt.datetime) -> dt.datetime | None:
        clock = self.get(rule_id)
        if clock is None:
            return None
        try:
            return clock.escalation_time(due_at)
        except RULE_ERRORS as exc:
            self.set_aside(clock, exc)
            return None
