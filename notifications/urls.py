from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/read/", views.mark_all_read, name="mark_all_read"),
    path("notifications/unread/", views.unread_badge, name="unread"),
    path("notifications/<int:notification_id>/", views.notification_open, name="open"),
]
