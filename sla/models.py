"""What the SLA engine records: warnings, breaches, untouched flags and marketing pacing.

Each record is unique per lead and clock (its due time) or per lead, assignment and
threshold, so a re-run or a second worker can only find it already there.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SLAWarning(models.Model):
    """The owner was told that a lead's follow-up time is running out (once per clock)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_warnings")
    due_at = models.DateTimeField(help_text="The clock this warning is about.")
    warned_at = models.DateTimeField(default=timezone.now)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    notified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its notification was written; empty: the next check writes it, in one "
        "digest per person with every warning of the run.",
    )

    class Meta:
        verbose_name = "SLA warning"
        ordering = ["-warned_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "due_at"], name="unique_warning_per_clock")
        ]
        indexes = [
            models.Index(
                fields=["warned_at"],
                name="warning_to_notify",
                condition=models.Q(notified_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"Warning on {self.lead_id} (due {self.due_at:%Y-%m-%d %H:%M})"


class Breach(models.Model):
    """A first-touch promise not kept: the lead, the rule, the due time and who had the lead."""

    class Escalation(models.TextChoices):
        NOTIFY_MANAGER = "notify_manager", "Manager notified"
        LEAD_DESK = "lead_desk", "Moved to the lead desk"
        NEXT_REP = "next_rep", "Reassigned to the next rep"
        SKIPPED = "skipped", "Not escalated (lead closed or parked)"

    # Not indexed alone: unique_breach_per_clock (lead, due_at) serves lead lookups.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="breaches", db_index=False
    )
    # rule, agreement and manager_at_due are not indexed: no query looks breaches up by
    # them, and each index slows the check's bulk insert; deleting a rule or a user
    # (rare) scans this table instead. The four references to rules, agreements and
    # users carry no database constraint either: they are history, written by the check
    # from rows it has just read and locked, and Django applies SET_NULL when one is
    # deleted; Postgres's per-row checks of them weighed on the check's commit. The
    # lead keeps its constraint.
    rule = models.ForeignKey(
        "agreements.ResponseRule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    agreement = models.ForeignKey(
        "agreements.Agreement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    due_at = models.DateTimeField()
    detected_at = models.DateTimeField(default=timezone.now)
    owner_at_due = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who owned the lead at the due time; empty: it sat on the lead desk.",
        db_constraint=False,
        db_index=False,  # breach_owner_due (owner_at_due, due_at) serves it
    )
    manager_at_due = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="The late first sales touch."
    )
    escalate_at = models.DateTimeField(
        null=True, blank=True, help_text="When the rule escalates; empty: it never does."
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation = models.CharField(max_length=20, choices=Escalation.choices, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The next rep, when the escalation reassigned the lead.",
        db_index=False,  # breach_escalated_to: only the rows that have one
    )
    escalated_from = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who owned the lead when it escalated; empty: the lead desk.",
        db_index=False,
        db_constraint=False,
    )
    escalation_notified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the escalation's notifications were written; empty after an escalation: "
        "the next check writes them, in one digest per person with every escalation of the run.",
    )

    class Meta:
        verbose_name_plural = "breaches"
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "due_at"], name="unique_breach_per_clock")
        ]
        indexes = [
            models.Index(
                fields=["escalate_at"],
                name="breach_escalation_due",
                condition=models.Q(escalated_at__isnull=True, resolved_at__isnull=True)
                & models.Q(escalate_at__isnull=False),
            ),
            models.Index(fields=["owner_at_due", "due_at"], name="breach_owner_due"),
            models.Index(fields=["due_at"], name="breach_due"),
            # Empty when the check writes the breach, so that write skips this index;
            # deleting a user still finds their rows through it.
            models.Index(
                fields=["escalated_to"],
                name="breach_escalated_to",
                condition=models.Q(escalated_to__isnull=False),
            ),
            # Escalated, not yet told: a handful of rows at any time.
            models.Index(
                fields=["escalated_at"],
                name="breach_escalation_to_notify",
                condition=models.Q(escalated_at__isnull=False, escalation_notified_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Breach on {self.lead_id} (due {self.due_at:%Y-%m-%d %H:%M})"


class UntouchedFlag(models.Model):
    """No sales touch N days after the lead was assigned (one per assignment and threshold)."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="untouched_flags")
    threshold_days = models.PositiveIntegerField()
    assigned_at = models.DateTimeField(help_text="The assignment the days are counted from.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    flagged_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the owner and manager were told; empty: the next run tells them.",
    )

    class Meta:
        ordering = ["-flagged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "assigned_at", "threshold_days"],
                name="unique_untouched_flag",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "threshold_days"], name="untouched_owner"),
            models.Index(
                fields=["threshold_days"],
                name="untouched_to_notify",
                condition=models.Q(notified_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} untouched {self.threshold_days} days"


class PacingSnapshot(models.Model):
    """One day's standing of one marketing commitment figure: delivered so far vs the target.

    Written daily (one row per day, period and figure), so reports can draw the trend.
    `pace_needed_per_day` is what the rest of the period needs each day to reach the target.
    """

    class Figure(models.TextChoices):
        NEW_LEADS = "new_leads", "New leads"
        MQLS = "mqls", "MQLs"
        SALES_ACCEPTED = "sales_accepted", "Sales-accepted leads (SQL)"
        PIPELINE = "pipeline_amount", "Pipeline amount"
        ACCEPTANCE_RATE = "acceptance_rate", "Acceptance rate (%)"

    date = models.DateField()
    agreement = models.ForeignKey(
        "agreements.Agreement", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    period = models.CharField(max_length=10, help_text="month or quarter")
    period_start = models.DateField()
    period_end = models.DateField(help_text="The last day of the period.")
    figure = models.CharField(max_length=20, choices=Figure.choices)
    target = models.DecimalField(max_digits=16, decimal_places=2)
    delivered = models.DecimalField(max_digits=16, decimal_places=2)
    expected_by_now = models.DecimalField(
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The target spread evenly over the period, up to this day.",
    )
    pace_needed_per_day = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True
    )
    days_left = models.PositiveIntegerField()
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "period", "figure"]
        constraints = [
            models.UniqueConstraint(
                fields=["date", "period", "figure"], name="unique_pacing_per_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.period} {self.figure}: {self.delivered} of {self.target}"

    @property
    def on_pace(self) -> bool | None:
        if self.expected_by_now is None:
            return self.delivered >= self.target
        return self.delivered >= self.expected_by_now
