from django.urls import path

from . import content_views, views

app_name = "reports"

urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/<slug:key>/", views.report, name="report"),
    path("reports/<slug:key>/export.<str:fmt>", views.export, name="export"),
    # The content report's drill-down (reports:drilldown for "content") lists the touches,
    # shares, deals … behind a number, not leads.
    path("reports/content/leads/", content_views.drilldown),
    path("reports/<slug:key>/leads/", views.drilldown, name="drilldown"),
]
