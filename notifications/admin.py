from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "kind", "title", "read_at", "emailed_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "event_key", "user__username")
    raw_id_fields = ("user", "lead")
    readonly_fields = ("event_key", "created_at", "emailed_at")
    date_hierarchy = "created_at"
