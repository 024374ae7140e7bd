from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Logins"

    def ready(self) -> None:
        from . import mfa  # noqa: F401  (connects its signal receivers)
