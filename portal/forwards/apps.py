from django.apps import AppConfig


class ForwardsConfig(AppConfig):
    name = "portal.forwards"
    label = "forwards"
    verbose_name = "Call forwards"

    def ready(self) -> None:
        from . import sync

        sync.register()
