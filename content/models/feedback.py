"""Sales tells marketing what works: ratings of the assets reps used, and content requests
marketing answers on the agreement's clock."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from agreements.stages import Stage

__all__ = ["ContentRequest", "Rating"]


class Rating(models.Model):
    """A rep's verdict on an asset version they used on a lead: it helped or it did not,
    and why. One per rep, version and lead; changing it keeps the row."""

    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey("content.Asset", on_delete=models.CASCADE, related_name="ratings")
    version = models.ForeignKey(
        "content.AssetVersion", on_delete=models.CASCADE, related_name="ratings"
    )
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    helped = models.BooleanField()
    reason = models.CharField(max_length=500)
    rated_at = models.DateTimeField(default=timezone.now, help_text="The latest verdict's time.")

    class Meta:
        ordering = ["-rated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rep", "version", "lead"], name="rating_once_per_rep_version_lead"
            )
        ]
        indexes = [models.Index(fields=["asset", "rated_at"], name="rating_asset_at")]

    def __str__(self) -> str:
        return f"{'helped' if self.helped else 'did not help'}: {self.version}"


class ContentRequest(models.Model):
    """Sales asks marketing for content ("a deck for healthcare CFOs"); marketing answers
    with an asset and/or words, within the business days the agreement in force promised.

    The due, warning and escalation times are set when it is made, from that version's
    promise and calendar; the SLA check stamps each step (`warned_at`, `breached_at`,
    `escalated_at`) once.
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField("what is needed")
    persona = models.ForeignKey(
        "agreements.Persona", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    agreement = models.ForeignKey(
        "agreements.Agreement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version whose promise the request runs on (empty: none promised).",
    )
    due_at = models.DateTimeField(null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The marketer who took it; empty: the whole marketing team answers for it.",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answer_text = models.TextField(blank=True)
    answer_asset = models.ForeignKey(
        "content.Asset", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The SLA check reads only the unanswered requests with a promise.
            models.Index(
                fields=["due_at"],
                name="contentrequest_open_due",
                condition=models.Q(answered_at__isnull=True, due_at__isnull=False),
            ),
            models.Index(fields=["created_at"], name="contentrequest_created"),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        """Unanswered past its due time (or answered after it)."""
        if self.due_at is None:
            return False
        return (self.answered_at or now or timezone.now()) > self.due_at

    @property
    def answered_on_time(self) -> bool | None:
        """None while unanswered or without a promise."""
        if self.answered_at is None or self.due_at is None:
            return None
        return self.answered_at <= self.due_at
