from django.urls import path

from . import views

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
    path("c/<str:token>/", views.open_link, name="open"),
    path("c/<str:token>", views.open_link),
]
