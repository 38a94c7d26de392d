from typing import Any

from django.apps import AppConfig

from .facts import compact_tally


def compact_tally_after_import(sender: type, **kwargs: Any) -> None:
    """A big import appends a tally row per new event (SQLite): sum them now, not tonight."""
    compact_tally()


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # Models import only once the registry is ready, hence here and not at the top.
        from leads.importing.batches import import_finished

        # Held strongly: a weakly held receiver can be collected and then never runs.
        import_finished.connect(
            compact_tally_after_import, weak=False, dispatch_uid="reports_compact_tally"
        )
