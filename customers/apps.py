from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """One customer, one record: duplicates, merge with undo, companies and search."""

    name = "customers"
    verbose_name = "Customers"
