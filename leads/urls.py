from django.urls import path

from . import import_views, intake_views, views

app_name = "leads"

urlpatterns = [
    path("", views.home, name="home"),
    path("playbook/", views.playbook, name="playbook"),
    path("queue/", views.queue, name="queue"),
    path("team/", views.team, name="team"),
    path("team/rep/<int:user_id>/", views.team_rep, name="team_rep"),
    path("team/reassign/", views.reassign, name="reassign"),
    path("desk/", views.desk, name="desk"),
    path("marketing/", views.marketing, name="marketing"),
    path("feedback/<int:feedback_id>/reply/", views.feedback_reply, name="feedback_reply"),
    path("imports/", import_views.imports, name="imports"),
    path("imports/<int:batch_id>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:batch_id>/mapping/", import_views.import_mapping, name="import_mapping"),
    path("imports/<int:batch_id>/preview/", import_views.import_preview, name="import_preview"),
    path("imports/<int:batch_id>/confirm/", import_views.import_confirm, name="import_confirm"),
    path("imports/<int:batch_id>/progress/", import_views.import_progress, name="import_progress"),
    path(
        "imports/<int:batch_id>/rejected.csv", import_views.import_errors_csv, name="import_errors"
    ),
    path("imports/<int:batch_id>/revert/", import_views.import_revert, name="import_revert"),
    path("imports/<int:batch_id>/retry/", import_views.import_retry, name="import_retry"),
    path("intake/<slug:channel_slug>/", intake_views.intake, name="intake"),
    path("ops/", views.ops, name="ops"),
    path("leads/<int:lead_id>/", views.lead_detail, name="detail"),
    path("leads/<int:lead_id>/touch/", views.lead_touch, name="touch"),
    path("leads/<int:lead_id>/transition/", views.lead_transition, name="transition"),
    path("leads/<int:lead_id>/junk/", views.lead_junk, name="junk"),
]
