from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/<slug:key>/", views.report, name="report"),
    path("reports/<slug:key>/export.<str:fmt>", views.export, name="export"),
    path("reports/<slug:key>/leads/", views.drilldown, name="drilldown"),
]
