from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("team/", views.team, name="team"),
    path("desk/", views.desk, name="desk"),
    path("marketing/", views.marketing, name="marketing"),
    path("imports/", views.imports, name="imports"),
    path("ops/", views.ops, name="ops"),
    path("leads/<int:lead_id>/", views.lead_detail, name="detail"),
    path("leads/<int:lead_id>/touch/", views.lead_touch, name="touch"),
    path("leads/<int:lead_id>/transition/", views.lead_transition, name="transition"),
]
