"""One customer, one record: the log of merges (what moved, what was replaced) that undo reads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Merge(models.Model):
    """Two or more leads merged into one survivor: who, when, the plan shown, and its undo."""

    survivor = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    merged_at = models.DateTimeField(default=timezone.now)
    plan = models.JSONField(default=dict, help_text="The plan as confirmed (survivor, choices).")
    survivor_before = models.JSONField(
        default=dict, help_text="The survivor's row before the merge, column → value."
    )
    survivor_after = models.JSONField(
        default=dict, help_text="The survivor's row right after the merge (undo compares it)."
    )
    survivor_rows = models.JSONField(
        default=dict,
        help_text='The survivor\'s rows right after the merge, "app.Model.field" → ids: '
        "undo finds the rows added since.",
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"merge {self.pk} into lead {self.survivor_id}"

    def get_absolute_url(self) -> str:
        return reverse("customers:merge_detail", args=[self.pk])

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class MergedLead(models.Model):
    """A lead merged away by a merge, with its row as it was before (undo writes it back)."""

    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="merged_leads")
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(max_length=254)
    before = models.JSONField(default=dict, help_text="The lead's row before, column → value.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.email} (lead {self.lead_id})"


class MovedRow(models.Model):
    """One row a merge moved from a merged lead to the survivor (or created for it), as it was."""

    class Action(models.TextChoices):
        MOVED = "moved", "Moved to the survivor"
        CHANGED = "changed", "Changed by the merge"
        CREATED = "created", "Created by the merge"

    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="moved_rows")
    model = models.CharField(max_length=100, help_text='The row\'s model, "app.Model".')
    field = models.CharField(max_length=100, help_text="Its column that points at the lead.")
    row_id = models.BigIntegerField()
    from_lead_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.MOVED)
    before = models.JSONField(
        null=True, blank=True, help_text="The row before the merge (undo writes it back)."
    )
    after = models.JSONField(
        default=dict, help_text="The row right after the merge (undo checks it is unchanged)."
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["merge", "model"], name="movedrow_merge_model")]

    def __str__(self) -> str:
        return f"{self.model} {self.row_id}: {self.action}"


class ReplacedValue(models.Model):
    """A survivor's field value a merge replaced: the old value, the new and where it came from."""

    merge = models.ForeignKey(Merge, on_delete=models.CASCADE, related_name="replaced_values")
    field = models.CharField(max_length=100)
    label = models.CharField(max_length=100)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    old_text = models.CharField(max_length=300, blank=True)
    new_text = models.CharField(max_length=300, blank=True)
    from_lead_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_text!r} → {self.new_text!r}"


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
    group = models.BigIntegerField(help_text="The pair's group: its rank in the last scan.")
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
