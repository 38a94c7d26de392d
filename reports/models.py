"""Daily report snapshots: what the trends report draws."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models
from django.utils import timezone

from agreements.stages import Stage

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
