from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        # The content report reads the content app's tables (reports.content), and
        # reports.tables' menu is defined before it.
        from .content import register

        register()
