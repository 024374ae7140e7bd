from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # Make the project's Celery app the current one in every process (web and worker).
        from portal import celery  # noqa: F401

        from .audit import register_models

        register_models()


class PortalAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the portal's site: its login is allauth's (portal/core/adminsite.py)."""

    default = False  # named in INSTALLED_APPS; "portal.core" alone means CoreConfig
    default_site = "portal.core.adminsite.PortalAdminSite"
