from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from . import views

app_name = "api"

# The schema and its docs are for people signed in to Accord (Ops pass them on).
DOCS = {"authentication_classes": [SessionAuthentication], "permission_classes": [IsAuthenticated]}

urlpatterns = [
    path("v1/leads/", views.LeadsView.as_view(), name="leads"),
    path("v1/leads/<int:lead_id>/", views.LeadDetailView.as_view(), name="lead"),
    path("v1/activities/", views.ActivitiesView.as_view(), name="activities"),
    path("v1/merges/", views.MergesView.as_view(), name="merges"),
    path("v1/merges/<int:merge_id>/undo/", views.MergeUndoView.as_view(), name="merge_undo"),
    path("v1/suppression/", views.SuppressionView.as_view(), name="suppression"),
    path("v1/schema/", SpectacularAPIView.as_view(**DOCS), name="schema"),
    # A person who is not signed in is sent to the login page, not given a JSON refusal.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema", **DOCS)),
        name="docs",
    ),
]
