from django.apps import AppConfig


class NumbersConfig(AppConfig):
    name = "portal.numbers"
    label = "numbers"
    verbose_name = "Numbers"

    def ready(self) -> None:
        from . import sync

        sync.register()
