from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        # The beat schedules of every app, written once per migrate (after this app's
        # post_migrate). django_celery_beat's models import only once the registry is ready.
        from config.schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="accord_schedules")
