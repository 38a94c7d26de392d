from django.apps import AppConfig


class ContentConfig(AppConfig):
    """Sales content: the library marketing publishes, tracked sharing, ratings, requests."""

    name = "content"
    verbose_name = "Sales content"

    def ready(self) -> None:
        # Marketing's answers to content requests are checked in every SLA check run.
        from sla.check import register_check

        from .check import check_content_requests

        register_check(check_content_requests)
