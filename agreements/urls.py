from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("playbook/changes/", views.changes, name="changes"),
    path("playbook/v<int:version>/sign/", views.sign, name="sign"),
]
