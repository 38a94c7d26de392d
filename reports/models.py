"""Daily report snapshots: what the trends report draws."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from agreements.stages import Stage

from . import facts

if TYPE_CHECKING:
    from .filters import ReportFilters


class ReportSnapshot(models.Model):
    """One day's value of one figure, company-wide or for one team, rep, channel, campaign
    or persona. Written by the daily snapshot task; a re-run the same day overwrites it."""

    class Dimension(models.TextChoices):
        ALL = "all", "Everyone"
        TEAM = "team", "Team"
        REP = "rep", "Rep"
        CHANNEL = "channel", "Channel"
        CAMPAIGN = "campaign", "Campaign"
        PERSONA = "persona", "Persona"

    # Leads per stage, SLA clocks met/breached that day, and untouched aging buckets.
    METRICS: ClassVar[tuple[str, ...]] = (
        *(f"stage_{s}" for s in Stage.values),
        "sla_met",
        "sla_breached",
        "untouched_1",
        "untouched_2",
        "untouched_3",
    )

    date = models.DateField()
    dimension = models.CharField(max_length=10, choices=Dimension.choices, default=Dimension.ALL)
    key = models.PositiveIntegerField(default=0, help_text="The team, rep, … id; 0 for all.")
    metric = models.CharField(max_length=30)
    value = models.IntegerField(default=0)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "dimension", "key", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "dimension", "key", "metric"], name="one_snapshot_value_per_day"
            )
        ]
        indexes = [models.Index(fields=["dimension", "key", "date"], name="snapshot_dim_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.dimension}:{self.key} {self.metric}={self.value}"

    @classmethod
    def dimension_for(cls, filters: ReportFilters) -> tuple[str, int]:
        """The stored series that answers these filters: the most specific one chosen."""
        for name in ("rep", "team", "campaign", "channel", "persona"):
            value: Any = getattr(filters, name)
            if value is not None:
                return name, int(value)
        return cls.Dimension.ALL, 0


class Tenure(models.Model):
    """One assignment of a lead and what happened while (and after) it was held: the
    stored facts the sales activity report and the scoreboard count over.

    Kept exactly by database triggers on assignments, sales touches and stage changes
    (reports/facts.py; any write path, bulk ones too) and rebuilt from those tables by
    `reports.facts.rebuild_tenures` (the migration's backfill, the benchmark's bulk load).
    Lead-wide facts (`reached`, `working_at`) are repeated on each of the lead's tenures.
    """

    assignment = models.OneToOneField(
        "leads.Assignment",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        related_name="+",
        help_text="The assignment's new owner (empty: the lead desk).",
    )
    started_at = models.DateTimeField(help_text="When the assignment was made.")
    next_at = models.DateTimeField(null=True, help_text="The lead's next assignment.")
    prev_at = models.DateTimeField(null=True, help_text="The lead's previous assignment.")
    touched_at = models.DateTimeField(null=True, help_text="First sales touch from started_at.")
    left_at = models.DateTimeField(
        null=True, help_text="First entry into disqualified, converted or nurture from started_at."
    )
    touches = models.IntegerField(default=0, help_text="Sales touches from started_at to next_at.")
    reached = models.SmallIntegerField(
        default=0, help_text="Stages the lead ever entered: 1 Working, 2 SQL, 4 Opportunity."
    )
    working_at = models.DateTimeField(null=True, help_text="The lead's first entry into Working.")
    # The lead's own columns, repeated (reports.facts.LEAD_COPY).
    stage = models.CharField(max_length=20, default="")
    channel_id = models.BigIntegerField(null=True)
    campaign_id = models.BigIntegerField(null=True)
    persona_id = models.BigIntegerField(null=True)
    first_touch_at = models.DateTimeField(null=True)
    sla_status = models.CharField(max_length=10, default="")
    sla_due_at = models.DateTimeField(null=True)
    ttft = models.PositiveIntegerField(
        null=True, help_text="The lead's business seconds to its first touch."
    )
    # working_touch_1_at … working_touch_8_at follow (reports.facts.WORKING_TOUCH_COLUMNS).

    class Meta:
        indexes = [models.Index(fields=["started_at"], name="tenure_started_at")]

    def __str__(self) -> str:
        return f"{self.lead_id} held by {self.rep_id} from {self.started_at:%Y-%m-%d}"


for _n, _name in enumerate(facts.WORKING_TOUCH_COLUMNS, start=1):
    Tenure.add_to_class(
        _name,
        models.DateTimeField(null=True, help_text=f"The lead's sales touch no. {_n} from Working."),
    )


class DeliveryEvent(models.Model):
    """One event of a lead that the marketing delivery figures count: created, became an
        MQL (entered it, or was created as one), entered SQL, was disqualified, was closed
        (disqualified or converted), opened a deal (with its amount; every deal counts, so deals
    have no previous event); with the previous event of the same kind of the lead, so
        "the leads with such an event in a range" are the events in it whose previous one is
        before it (no grouping per lead), and the lead's facts the figures split and filter on.

        Kept exactly by database triggers on leads, stage changes, deals and feedback
        (reports/facts.py) and rebuilt by `reports.facts.rebuild_delivery`. Leads without a
        channel have none (they are never marketing-sourced; a channel set later adds them).
    """

    class Kind(models.IntegerChoices):
        CREATED = 0, "Created"
        MQL = 1, "Became an MQL"
        SQL = 2, "Entered SQL"
        DISQUALIFIED = 3, "Disqualified"
        CLOSED = 4, "Closed"
        DEAL = 5, "Deal opened"

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    kind = models.SmallIntegerField(choices=Kind.choices)
    at = models.DateTimeField()
    prev_at = models.DateTimeField(null=True, help_text="The lead's previous event of this kind.")
    channel_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField(null=True)
    persona_id = models.BigIntegerField(null=True)
    closed = models.BooleanField(help_text="The lead is disqualified or converted now.")
    traceable = models.BooleanField(
        help_text="Closed, and converted, with a deal or with structured feedback."
    )
    reason = models.CharField(
        max_length=30, null=True, help_text="The lead's latest structured feedback reason."
    )
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, help_text="A deal's amount (kind Deal)."
    )

    class Meta:
        # Covering: a range's events are read from the index alone (no row lookups).
        indexes = [
            models.Index(
                fields=[
                    "at",
                    "prev_at",
                    "kind",
                    "channel_id",
                    "campaign_id",
                    "persona_id",
                    "closed",
                    "traceable",
                    "reason",
                    "amount",
                    "lead",
                ],
                name="delivery_event_range",
            ),
            # The events with a previous one of their kind (not in DeliveryTally).
            models.Index(
                fields=[
                    "at",
                    "prev_at",
                    "kind",
                    "channel_id",
                    "campaign_id",
                    "persona_id",
                    "closed",
                    "traceable",
                    "amount",
                ],
                condition=models.Q(prev_at__isnull=False),
                name="delivery_event_repeat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.get_kind_display()} at {self.at:%Y-%m-%d}"


class DeliveryTally(models.Model):
    """How many delivery events there are per UTC day and per what the figures split on
    (kind, channel, campaign, persona; for Closed events whether the lead is closed and
    traceable): a ledger of +n / -n rows for the events written and removed, so a range's
    totals read about one row per day and key instead of every event (at 1,000,000 leads:
    ~150,000 rows for a year's ~2,100,000 events).

    Only events without a previous one of their kind (nearly all) are tallied: whether
    such an event counts for a range depends on its time alone; the others, and the parts
    of a range that do not cover whole UTC days, are read from the events. Written by
    triggers on the event table (append only: no row is updated, so concurrent writers
    never wait on a tally row), summed per key by `reports.facts.compact_tally` (the
    daily snapshot task) and rebuilt by `reports.facts.rebuild_tally`.
    """

    day = models.DateField(help_text="The UTC day of the events.")
    kind = models.SmallIntegerField(choices=DeliveryEvent.Kind.choices)
    channel_id = models.BigIntegerField()
    campaign_id = models.BigIntegerField(null=True)
    persona_id = models.BigIntegerField(null=True)
    closed = models.BooleanField(help_text="Closed events of leads closed now.")
    traceable = models.BooleanField(help_text="Closed events of traceable leads.")
    events = models.IntegerField(help_text="Events added (negative: removed).")
    amount = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, help_text="Their deals' amount."
    )

    class Meta:
        # Covering: a range's rows are read from the index alone (every column the
        # triggers write, in the order reports.facts keeps them).
        indexes = [
            models.Index(
                fields=list(facts.TALLY_COLUMNS),
                name="delivery_tally_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.get_kind_display()}: {self.events:+d}"
