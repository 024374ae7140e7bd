from django.apps import AppConfig


class TrunksConfig(AppConfig):
    name = "portal.trunks"
    label = "trunks"
    verbose_name = "Trunks"

    def ready(self) -> None:
        from . import sync

        sync.register()
