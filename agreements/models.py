"""What marketing and sales agreed: channels, personas, the calendar and the SLA versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from leads.stages import Stage


class Channel(models.Model):
    """A lead source: which stage its leads enter and whether reps may prospect it cold."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    entry_stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.SUSPECT)
    is_marketing_sourced = models.BooleanField(
        default=True, help_text="Leads from this channel are marketing's (feedback is owed)."
    )
    allows_cold_prospecting = models.BooleanField(
        default=False, help_text="Reps may work its leads before they are MQLs (IQL → Working)."
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Persona(models.Model):
    """A buyer persona with simple fit rules, used to tag and route leads."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    title_keywords = models.TextField(
        blank=True, help_text="Comma-separated words; any one in the job title matches."
    )
    industries = models.TextField(blank=True, help_text="Comma-separated industries.")
    countries = models.TextField(blank=True, help_text="Comma-separated ISO country codes.")
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower numbers are tried first when several personas match."
    )
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "name"]

    def __str__(self) -> str:
        return self.name


class BusinessCalendar(models.Model):
    """Working days and hours in a time zone, plus holidays: what 'business time' means."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    workday_start = models.TimeField(default="09:00")
    workday_end = models.TimeField(default="17:00")
    working_days = models.CharField(
        max_length=20, default="0,1,2,3,4", help_text="Weekdays worked, 0=Monday … 6=Sunday."
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="unique_holiday_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date}: {self.name}"


class Agreement(models.Model):
    """One version of the service-level agreement between marketing and sales."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200, default="Marketing–Sales service-level agreement")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, null=True, blank=True)
    lead_scoring_enabled = models.BooleanField(
        default=False, help_text="Off: an MQL is a hand-raise, not a score."
    )
    untouched_days_1 = models.PositiveIntegerField(default=30)
    untouched_days_2 = models.PositiveIntegerField(default=60)
    untouched_days_3 = models.PositiveIntegerField(default=90)
    marketing_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    marketing_signed_at = models.DateTimeField(null=True, blank=True)
    sales_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sales_signed_at = models.DateTimeField(null=True, blank=True)
    effective_from = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="active"),
                name="one_active_agreement",
            )
        ]

    def __str__(self) -> str:
        return f"SLA v{self.version} ({self.get_status_display()})"

    @classmethod
    def current(cls) -> Agreement | None:
        return cls.objects.filter(status=cls.Status.ACTIVE).select_related("calendar").first()


class ResponseRule(models.Model):
    """Sales' promise: first touch within a time for leads of a channel and/or stage."""

    class Unit(models.TextChoices):
        MINUTES = "minutes", "minutes"
        HOURS = "hours", "hours"
        DAYS = "days", "days"

    class Escalation(models.TextChoices):
        NOTIFY_MANAGER = "notify_manager", "Notify the owner's manager"
        LEAD_DESK = "lead_desk", "Move the lead to the lead desk"
        NEXT_REP = "next_rep", "Reassign to the next rep (round robin)"

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="rules")
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, help_text="Empty: any channel."
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.MQL)
    within_amount = models.PositiveIntegerField()
    within_unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.HOURS)
    business_time = models.BooleanField(
        default=True, help_text="Count only the calendar's working hours."
    )
    warn_at_percent = models.PositiveSmallIntegerField(default=75)
    escalate_after_amount = models.PositiveIntegerField(null=True, blank=True)
    escalate_after_unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.HOURS)
    escalate_action = models.CharField(
        max_length=20, choices=Escalation.choices, default=Escalation.NOTIFY_MANAGER
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["agreement", "stage", "channel"]

    def __str__(self) -> str:
        scope = self.channel.name if self.channel_id else "any channel"
        kind = "business" if self.business_time else "wall-clock"
        return (
            f"{self.get_stage_display()} from {scope}: first touch within "
            f"{self.within_amount} {kind} {self.within_unit}"
        )
