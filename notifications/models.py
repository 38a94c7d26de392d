"""In-app notifications: one row per event and recipient, ever (the event key is unique)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """Something a user should know about, shown in their list and sent by email once."""

    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning", "Follow-up due soon"
        SLA_BREACH = "sla_breach", "Follow-up time missed"
        SLA_ESCALATION = "sla_escalation", "SLA escalation"
        REASSIGNED = "reassigned", "Lead reassigned"
        UNTOUCHED = "untouched", "Untouched leads"
        NURTURE_WAKEUP = "nurture_wakeup", "Back from nurture"
        FEEDBACK_REPLY = "feedback_reply", "Reply to feedback"
        AGREEMENT = "agreement", "Agreement"
        CONTENT_OPENED = "content_opened", "Shared content opened"
        CONTENT_REQUEST = "content_request", "Content request"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # notification_user_recent (user, ...) serves every user lookup
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    event_key = models.CharField(
        max_length=200,
        help_text="Names the event and the recipient's part in it; a second insert is ignored.",
    )  # unique: Meta.constraints
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    items = models.JSONField(
        default=list,
        blank=True,
        help_text='A digest\'s leads: [{"name", "url", "detail"}, …], each name a link.',
    )
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    # The email: tried from email_next_try_at on, marked sent only once the mail server
    # accepted it, retried with backoff after a failure (see services.deliver_pending_emails).
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mail server accepted the email."
    )
    email_attempts = models.PositiveIntegerField(
        default=0, help_text="Attempts to send the email so far."
    )
    email_next_try_at = models.DateTimeField(
        null=True,
        blank=True,
        default=timezone.now,
        help_text="When the email is tried next (while a worker sends it: until when it holds "
        "it). Empty once sent, or when no email is sent.",
    )
    email_error = models.TextField(
        blank=True, help_text="Why the last attempt failed, or why no email is sent."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # The SLA check writes thousands of rows a run: only the indexes a query needs.
        # event_key is unique through a constraint rather than unique=True, which on
        # Postgres adds a varchar_pattern_ops copy for LIKE 'x%' that nothing runs.
        constraints = [models.UniqueConstraint(fields=["event_key"], name="notification_once")]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_recent"),
            models.Index(
                fields=["user"],
                name="notification_user_unread",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["email_next_try_at", "id"],
                name="notification_email_due",
                condition=models.Q(email_next_try_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def email_status(self) -> str:
        """Where the email stands, in words for ops."""
        if self.emailed_at is not None:
            return "Sent"
        if self.email_next_try_at is None:
            return f"Not sent: {self.email_error}" if self.email_error else "Not sent"
        if self.email_error:
            return f"Retrying after: {self.email_error}"
        return "Waiting"
