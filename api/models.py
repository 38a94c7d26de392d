"""API tokens (one per integration, with scopes) and the receipts that make posts idempotent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a token may do; each endpoint names the scope it needs."""

    LEADS_READ = "leads:read", "leads:read — read leads and their changes"
    LEADS_WRITE = "leads:write", "leads:write — create and update leads"
    ACTIVITIES_WRITE = "activities:write", "activities:write — post activities of known leads"
    ACTIVITIES_CREATE_SUSPECTS = (
        "activities:create_suspects",
        "activities:create_suspects — an activity of an unknown address creates a Suspect",
    )
    SUPPRESSION_READ = "suppression:read", "suppression:read — read the suppression list"
    MERGE_WRITE = "merge:write", "merge:write — merge leads and undo merges"


class ApiToken(models.Model):
    """A secret that lets one integration (the CRM, the marketing automation tool) use the API.

    Only its SHA-256 is stored (leads.intake.hash_token). Leads it posts enter by its
    channel, through web-to-lead's intake recorded under `intake_token`: an intake token
    of its own whose secret is never issued, so the API token is no key to /intake/.
    """

    name = models.CharField(max_length=100, help_text="Which integration uses it, e.g. “CRM”.")
    channel = models.ForeignKey(
        "agreements.Channel",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Leads and Suspects this integration creates come in by this channel.",
    )
    scopes = models.JSONField(default=list, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=12, editable=False, help_text="To recognise it.")
    intake_token = models.OneToOneField(
        "leads.IntakeToken", on_delete=models.PROTECT, related_name="api_token", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class ActivityReceipt(models.Model):
    """One activity an integration posted, by its external id: a repeat finds it here."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="receipts")
    external_id = models.CharField(max_length=200)
    activity = models.ForeignKey("leads.Activity", on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the posted payload.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "external_id"], name="api_one_activity_per_external_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.token_id}: {self.external_id}"
