from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "portal.sync"
    label = "sync"
    verbose_name = "Carrier sync"
