from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "portal.subscribers"
    label = "subscribers"
    verbose_name = "Subscribers"
