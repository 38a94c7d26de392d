from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA engine"

    def ready(self) -> None:
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, dispatch_uid="accord_sla_schedules")
