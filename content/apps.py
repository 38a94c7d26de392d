from django.apps import AppConfig


class ContentConfig(AppConfig):
    """Sales content: the library marketing publishes, tracked sharing, ratings, requests."""

    name = "content"
    verbose_name = "Sales content"
