from django.apps import AppConfig


class SelfServiceConfig(AppConfig):
    name = "portal.selfservice"
    label = "selfservice"
    verbose_name = "Self-service"
