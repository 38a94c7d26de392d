"""One customer, one record: the log of merges (what moved, what was replaced) that undo reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


# --- Duplicates (customers.duplicates) -------------------------------------------------


class DuplicatePair(models.Model):
    """Two leads the last duplicate scan found likely to be one person, with why.

    The scan reads every lead, too slow for a page request at a million leads, so its
    pairs are stored here and refreshed by `customers.tasks.refresh_duplicates`.
    """

    lead_a = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="+", db_index=False
    )  # the unique constraint's index serves it
    lead_b = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(help_text="0–100: how sure the match is.")
    reasons = models.JSONField(default=list)
    group = models.BigIntegerField(help_text="The smallest lead id of the pair's group.")
    found_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score", "lead_a", "lead_b"]
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="duplicatepair_leads")
        ]
        indexes = [models.Index(fields=["group"], name="duplicatepair_group")]

    def __str__(self) -> str:
        return f"leads {self.lead_a_id} and {self.lead_b_id}: {self.score}"


class DuplicateDismissal(models.Model):
    """Two leads someone said are not duplicates: the scan never proposes them again."""

    lead_a = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    lead_b = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-dismissed_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="duplicatedismissal_leads")
        ]

    def __str__(self) -> str:
        return f"leads {self.lead_a_id} and {self.lead_b_id}: not duplicates"
