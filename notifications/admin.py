from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "title", "read_at", "emailed_at", "email_status")
    list_filter = (
        "kind",
        ("read_at", admin.EmptyFieldListFilter),
        ("emailed_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("title", "event_key", "user__username")
    raw_id_fields = ("user", "lead")
    readonly_fields = (
        "event_key",
        "created_at",
        "emailed_at",
        "email_attempts",
        "email_next_try_at",
        "email_error",
    )
    date_hierarchy = "created_at"
    actions = ["retry_emails"]

    @admin.display(description="Email")
    def email_status(self, notification: Notification) -> str:
        return notification.email_status

    @admin.action(description="Send the email again (unsent ones only)", permissions=["change"])
    def retry_emails(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        count = services.retry_emails(queryset)
        self.message_user(
            request, f"{count} email(s) will be sent within a minute.", messages.SUCCESS
        )
