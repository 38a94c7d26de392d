from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API the marketing automation tool and the CRM use (/api/v1/)."""

    name = "api"
    verbose_name = "API"
