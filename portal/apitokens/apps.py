from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "portal.apitokens"
    label = "apitokens"
    verbose_name = "API tokens"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from .models import ApiToken

        # Who made or revoked which token, and when: the digest is left out of the log.
        auditlog.register(ApiToken, exclude_fields=["digest", "pepper_id", "last_used_at", "last_used_ip"])
