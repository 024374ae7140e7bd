from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "portal.subscribers"
    label = "subscribers"
    verbose_name = "Subscribers"

    def ready(self) -> None:
        from . import sync

        sync.register()
