from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = "Agreements"

    def ready(self) -> None:
        # Models import only once the registry is ready, hence here and not at the top.
        from .roles import sync_roles

        post_migrate.connect(sync_roles, weak=False, dispatch_uid="accord_sync_roles")
