from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Make the project's Celery app the current one in every process (web and worker).
        from portal import celery  # noqa: F401

        from .audit import register_models

        register_models()
