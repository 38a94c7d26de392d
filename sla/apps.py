from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "SLA engine"

    def ready(self) -> None:
        # Models import only once the registry is ready, hence here and not at the top.
        from leads.clock import touched_after_due

        from .late_touch import record_late_touch

        # Held strongly: a weakly held receiver can be collected and then never runs.
        touched_after_due.connect(record_late_touch, weak=False, dispatch_uid="sla_late_touch")
