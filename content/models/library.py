"""The content library and tracked sharing.

Marketing publishes assets (a link or an uploaded file, in versions); a rep's touch
records the asset versions it used (TouchAsset); sharing an asset with a lead makes a
per-lead link (SharedLink) whose counted opens are LinkOpen rows. Usage and shares point
at the version used, so replacing a file keeps the old version's history.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from agreements.stages import Stage


class AssetKind(models.Model):
    """What an asset is (case study, deck, data sheet…): Ops edit the list in the admin."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveIntegerField(default=100, help_text="Lower numbers come first.")
    is_active = models.BooleanField(
        default=True, help_text="Inactive kinds are not offered for new assets."
    )

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    """One piece of sales content. Its link or file lives in its versions; the current
    version is the one shared and attached from now on."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Retired"

    title = models.CharField(max_length=200)
    kind = models.ForeignKey(AssetKind, on_delete=models.PROTECT, related_name="assets")
    description = models.TextField(blank=True)
    personas = models.ManyToManyField(
        "agreements.Persona",
        blank=True,
        related_name="+",
        help_text="The personas it fits; none: every persona.",
    )
    campaign = models.ForeignKey(
        "leads.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who answers for it; told when customers open it.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    current_version = models.ForeignKey(
        "AssetVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version shared and attached from now on.",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        indexes = [models.Index(fields=["status", "title"], name="asset_status_title")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED


class AssetStage(models.Model):
    """A lead stage an asset fits (an asset with none fits every stage)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(max_length=20, choices=Stage.choices)

    class Meta:
        ordering = ["asset", "stage"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "stage"], name="assetstage_once"),
        ]
        indexes = [models.Index(fields=["stage", "asset"], name="assetstage_stage_asset")]

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.stage}"


class AssetVersion(models.Model):
    """One version of an asset: a link, or an uploaded file kept where every web process
    reads it (the database, or the "content" storage when one is configured)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    link_url = models.URLField(max_length=1000, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    storage_name = models.CharField(
        max_length=300,
        blank=True,
        help_text='Its name in the "content" storage; empty: the bytes are in the database.',
    )
    note = models.CharField(max_length=200, blank=True, help_text="What changed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["asset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "number"], name="assetversion_number_once"),
            models.CheckConstraint(
                condition=~models.Q(link_url="") | ~models.Q(file_name=""),
                name="assetversion_link_or_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset_id} v{self.number}"

    @property
    def is_file(self) -> bool:
        return bool(self.file_name)


class AssetFile(models.Model):
    """The bytes of a version's uploaded file, when no "content" storage is configured."""

    version = models.OneToOneField(
        AssetVersion, on_delete=models.CASCADE, primary_key=True, related_name="stored_file"
    )
    data = models.BinaryField(blank=True, default=b"")

    def __str__(self) -> str:
        return f"file of version {self.version_id}"


class TouchAsset(models.Model):
    """An asset version a sales touch used."""

    activity = models.ForeignKey("leads.Activity", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="touches")
    version = models.ForeignKey(AssetVersion, on_delete=models.PROTECT, related_name="touches")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, help_text="When the touch happened.")

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "asset"], name="touchasset_once"),
        ]
        indexes = [
            models.Index(fields=["asset", "at"], name="touchasset_asset_at"),
            models.Index(fields=["lead", "at"], name="touchasset_lead_at"),
        ]

    def __str__(self) -> str:
        return f"touch {self.activity_id} used {self.version}"


class SharedLink(models.Model):
    """A per-lead link to an asset version (/c/<token>): no login, unguessable."""

    token = models.CharField(max_length=64, unique=True, editable=False)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="links")
    version = models.ForeignKey(AssetVersion, on_delete=models.PROTECT, related_name="links")
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    shared_at = models.DateTimeField(default=timezone.now)
    activity = models.ForeignKey(
        "leads.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text='The "Shared" entry on the lead\'s timeline.',
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-shared_at", "-id"]
        indexes = [
            models.Index(fields=["asset", "shared_at"], name="sharedlink_asset_at"),
            models.Index(fields=["lead", "shared_at"], name="sharedlink_lead_at"),
        ]

    def __str__(self) -> str:
        return f"link to {self.asset_id} for lead {self.lead_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class LinkOpen(models.Model):
    """One counted open of a shared link by the customer (bots, HEAD requests, link
    previews and opens over the rate limit are not counted, so not stored)."""

    link = models.ForeignKey(SharedLink, on_delete=models.CASCADE, related_name="opens")
    at = models.DateTimeField(default=timezone.now)
    user_agent = models.CharField(max_length=300, blank=True)
    ip_hash = models.CharField(
        max_length=64, blank=True, help_text="A keyed hash of the address, never the address."
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["link", "at"], name="linkopen_link_at")]

    def __str__(self) -> str:
        return f"open of link {self.link_id} at {self.at:%Y-%m-%d %H:%M}"
