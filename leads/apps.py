from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        # The beat schedules of every app, written once per migrate (after this app's
        # post_migrate). django_celery_beat's models import only once the registry is ready.
        from config.schedules import ensure_schedules, gather_statistics_after_migrate

        post_migrate.connect(
            ensure_schedules, sender=self, weak=False, dispatch_uid="accord_schedules"
        )
        post_migrate.connect(
            gather_statistics_after_migrate,
            sender=self,
            weak=False,
            dispatch_uid="accord_planner_statistics",
        )

        from agreements.models import Agreement, BusinessCalendar, Holiday, ResponseRule

        from .tasks import recompute_clocks_after_commit

        # Running clocks follow the calendar and rules in force, whichever path edits them
        # (in force: once a version is activated).
        for model in (Agreement, BusinessCalendar, Holiday, ResponseRule):
            for signal in (post_save, post_delete):
                signal.connect(
                    recompute_clocks_after_commit,
                    sender=model,
                    weak=False,
                    dispatch_uid=f"recompute_clocks:{model.__name__}:{signal is post_save}",
                )
