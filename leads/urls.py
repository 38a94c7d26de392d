from django.urls import path

from . import views

app_name = "leads"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("team/", views.team, name="team"),
    path("team/rep/<int:user_id>/", views.team_rep, name="team_rep"),
    path("team/reassign/", views.reassign, name="reassign"),
    path("desk/", views.desk, name="desk"),
    path("marketing/", views.marketing, name="marketing"),
    path("feedback/<int:feedback_id>/reply/", views.feedback_reply, name="feedback_reply"),
    path("imports/", views.imports, name="imports"),
    path("ops/", views.ops, name="ops"),
    path("leads/<int:lead_id>/", views.lead_detail, name="detail"),
    path("leads/<int:lead_id>/touch/", views.lead_touch, name="touch"),
    path("leads/<int:lead_id>/transition/", views.lead_transition, name="transition"),
]
