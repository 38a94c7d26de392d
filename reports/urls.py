from django.urls import path

from . import content_views, views

app_name = "reports"

urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/<slug:key>/", views.report, name="report"),
    path("reports/<slug:key>/export.<str:fmt>", views.export, name="export"),
    # The content report lists the touches, shares, deals … behind a number.
    path("reports/content/leads/", content_views.drilldown, name="content_drilldown"),
    path("reports/<slug:key>/leads/", views.drilldown, name="drilldown"),
]
