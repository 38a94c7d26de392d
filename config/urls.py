from django.contrib import admin
from django.urls import include, path

from config.security import ThrottledPasswordResetView

admin.site.site_header = "Accord administration"
admin.site.site_title = "Accord admin"
admin.site.index_title = "Definitions, agreements and data"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/password_reset/",
        ThrottledPasswordResetView.as_view(),
        name="password_reset",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("agreements.urls")),
    path("", include("reports.urls")),
    path("", include("notifications.urls")),
    path("", include("customers.urls")),
    path("", include("content.urls")),
    path("api/", include("api.urls")),
    path("", include("leads.urls")),
]
