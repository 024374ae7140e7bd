from django.apps import AppConfig


class CarriersConfig(AppConfig):
    name = "portal.carriers"
    label = "carriers"
    verbose_name = "Carriers"
