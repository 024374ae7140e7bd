from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "portal.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from . import sync

        sync.register()
