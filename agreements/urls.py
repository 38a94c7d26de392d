from django.urls import path

from . import views

app_name = "agreements"

urlpatterns = [
    path("playbook/", views.playbook, name="playbook"),
]
