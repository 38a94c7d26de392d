from django.urls import path

from . import ratings_views, requests_views, views

app_name = "content"

urlpatterns = [
    path("content/", views.library, name="library"),
    path("content/new/", views.asset_new, name="asset_new"),
    path("content/<int:asset_id>/", views.asset_detail, name="asset"),
    path("content/<int:asset_id>/edit/", views.asset_edit, name="asset_edit"),
    path("content/<int:asset_id>/replace/", views.asset_replace, name="asset_replace"),
    path("content/<int:asset_id>/publish/", views.asset_publish, name="asset_publish"),
    path("content/<int:asset_id>/retire/", views.asset_retire, name="asset_retire"),
    path(
        "content/<int:asset_id>/versions/<int:number>/file/",
        views.version_file,
        name="version_file",
    ),
    path("content/leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
    path("content/leads/<int:lead_id>/picker/", views.lead_picker, name="lead_picker"),
    path("content/leads/<int:lead_id>/touch/", views.lead_touch, name="lead_touch"),
    path(
        "content/leads/<int:lead_id>/share/<int:asset_id>/",
        views.lead_share,
        name="lead_share",
    ),
    path("content/links/<int:link_id>/revoke/", views.link_revoke, name="link_revoke"),
    # Ratings and content requests: sales tells marketing what works (d6).
    path("content/requests/", requests_views.request_list, name="requests"),
    path("content/requests/new/", requests_views.request_new, name="request_new"),
    path("content/requests/<int:pk>/", requests_views.request_detail, name="request_detail"),
    path("content/requests/<int:pk>/answer/", requests_views.request_answer, name="request_answer"),
    path("content/requests/<int:pk>/take/", requests_views.request_take, name="request_take"),
    path(
        "content/leads/<int:lead_id>/feedback/",
        ratings_views.lead_feedback,
        name="lead_feedback",
    ),
    path("content/leads/<int:lead_id>/rate/", ratings_views.rate, name="rate"),
    path("c/<str:token>/", views.open_link, name="open"),
    path("c/<str:token>", views.open_link),
]
