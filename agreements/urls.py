from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("playbook/changes/", views.changes, name="changes"),
    path("playbook/v<int:version>/sign/", views.sign, name="sign"),
    path("playbook/v<int:version>/draft/", views.new_draft, name="new_draft"),
    path(
        "playbook/v<int:version>/ask-to-sign/",
        views.request_signatures,
        name="request_signatures",
    ),
    path("playbook/v<int:version>/content.json", views.content_export, name="content"),
]
