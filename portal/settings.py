"""The portal's one settings module: every value from the environment (django-environ).

With no environment at all it runs on an embedded default that needs no server:
SQLite under ``var/``, a Celery broker in a SQLite file (kombu's SQLAlchemy transport),
mail to the console. ``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``EMAIL_URL`` switch
to PostgreSQL, Redis/RabbitMQ and SMTP. ``DEBUG`` is off unless asked for, and the
defaults pass ``manage.py check --deploy``; ``HTTPS_ONLY=false`` relaxes the HTTPS-only
settings for a portal served over plain HTTP on localhost (the demo).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _machine_local_secret(name: str, make) -> str:
    """A secret made once for the embedded default and kept in ``var/`` (mode 0600)."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _new_fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _legacy_field_key(secret_key: str) -> str:
    # Before FIELD_ENCRYPTION_KEYS had its own file the embedded default derived the key from
    # SECRET_KEY; a var/ made then keeps that key as a second one, so its secrets still decrypt.
    return base64.urlsafe_b64encode(hashlib.sha256(f"field-encryption:{secret_key}".encode()).digest()).decode()


SECRET_KEY = env.str("SECRET_KEY", default="")
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
# Secrets at rest (carrier credentials, SIP and trunk passwords, TOTP keys) are Fernet-encrypted
# with these keys; the first encrypts, all decrypt, so a key can be rotated (docs/security.md).
# They never derive from SECRET_KEY: changing SECRET_KEY logs everybody out and nothing more.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if SECRET_KEY and not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "SECRET_KEY is set but FIELD_ENCRYPTION_KEYS is not: set both in production "
        "(python -m portal.core.crypto prints a new key; docs/security.md)."
    )
if not SECRET_KEY:
    # The embedded default (demo, development): machine-local keys under var/.
    had_secret_key = (VAR_DIR / "secret_key").exists()
    SECRET_KEY = _machine_local_secret("secret_key", lambda: secrets.token_urlsafe(50))
    if not FIELD_ENCRYPTION_KEYS:
        first_run_keys = [_new_fernet_key()] + ([_legacy_field_key(SECRET_KEY)] if had_secret_key else [])
        FIELD_ENCRYPTION_KEYS = _machine_local_secret("field_encryption_keys", lambda: ",".join(first_run_keys)).split(",")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.core.apps.PortalAdminConfig",  # django.contrib.admin, its login through allauth
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "auditlog",
    "django_htmx",
    "csp",
    "django_filters",
    "django_tables2",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the API docs page's files, served by whitenoise
    "django_celery_beat",
    "portal.core",
    "portal.accounts",
    "portal.tenancy",
    "portal.sync",
    "portal.carriers",
    "portal.customers",
    "portal.subscribers",
    "portal.numbers",
    "portal.trunks",
    "portal.forwards",
    "portal.home",
    "portal.ui",
    "portal.operations",
    "portal.branding",
    "portal.selfservice",
    "portal.apitokens",
    "portal.api",
]

MIDDLEWARE = [
    "portal.core.middleware.ClientAddressMiddleware",
    "portal.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.tenancy.middleware.TenancyMiddleware",
    "portal.selfservice.viewas.ViewAsMiddleware",  # staff "view as customer": after the access is known
    "portal.ui.middleware.ForbiddenPageMiddleware",
    "portal.accounts.middleware.RequireMfaMiddleware",
    "portal.core.middleware.NoStoreForLoggedInMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.tenancy.context_processors.tenancy",
                "portal.branding.brand.context_processor",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process and the worker write side by side.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction starts, so the claim and the
            # limiter's count-then-insert are serialised between processes.
            "transaction_mode": "IMMEDIATE",
        }
    )
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test.sqlite3")
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

# django-allauth: email + password, no public sign-up (people are invited), TOTP MFA.
# Every login goes through allauth's flow, the admin's too (portal/core/adminsite.py), so its
# rate limits, lockout and MFA stage apply to every login path (docs/security.md).
ACCOUNT_ADAPTER = "portal.accounts.adapters.InviteOnlyAccountAdapter"
ACCOUNT_FORMS = {"add_email": "portal.accounts.forms.AddEmailForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
# Logins are not held back for an unverified address (invitations prove it), but a new address
# replaces the old one only once its owner follows the link mailed to it.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True  # the old address hears of a change of address, password or MFA
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
# The per-address lock is short and a password reset lifts it (allauth clears it on a successful
# reset), so nobody can keep a known user out by typing wrong passwords for their address.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
}
# Behind a proxy every request comes from the proxy. With BEHIND_PROXY the client is the address
# our proxies appended to X-Forwarded-For (TRUSTED_PROXY_COUNT of them), or the one header a proxy
# sets (TRUSTED_CLIENT_IP_HEADER, e.g. X-Real-IP); ClientAddressMiddleware makes it REMOTE_ADDR for
# everything after it: allauth's rate limits, the audit log, the logs. Without BEHIND_PROXY those
# headers are ignored (anybody can send them).
BEHIND_PROXY = env.bool("BEHIND_PROXY", default=False)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
TRUSTED_CLIENT_IP_HEADER = env.str("TRUSTED_CLIENT_IP_HEADER", default="")
MFA_ADAPTER = "portal.accounts.adapters.EncryptingMfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Reseller Portal")
# allauth refuses an authenticator while any address of the user is unverified, against someone
# who signs up with another person's address and locks them out with MFA. Nobody signs up here
# (logins come from invitations, which prove the address), and staff who must use MFA have to
# be able to enrol from the page they are sent to.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Platform admins (superusers) must use an authenticator app; resellers choose for their staff.
PLATFORM_ADMIN_MFA = env.bool("PLATFORM_ADMIN_MFA", default=True)

# Caches back allauth's rate limits; they must be shared by every web process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# HTTPS_ONLY: on by default; off only for a portal on plain HTTP on localhost. (Not "HTTPS":
# CGI servers, runserver's included, read that variable as "this request came over TLS".)
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=True)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts and styles come only from our own static files
# (no inline <script>, no on*= attributes, no eval: htmx is configured by a meta tag in
# base.html); images may be data: URIs (the TOTP QR code, the empty favicon).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Celery: the broker is transport only; the sync jobs in the database are the truth.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=f"sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
if CELERY_BROKER_URL.startswith("sqlite:"):
    # kombu's SQLAlchemy transport, polled ten times a second (portal/core/broker.py).
    CELERY_BROKER_TRANSPORT = "portal.core.broker:Transport"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message that cannot be sent at once is not worth a page waiting for (kombu would try
# to connect for 6 s): the job stays in its table and the sweeper sends it. Workers keep
# their own reconnection settings.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than any countdown we use (SYNC_COUNTDOWN_MAX): longer waits live in the database.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = 3600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# The sync engine (portal/sync): retries, waits and the sweeper.
SYNC_BACKOFF_BASE = env.float("SYNC_BACKOFF_BASE", default=2.0)  # seconds before the 2nd attempt, doubling
SYNC_BACKOFF_MAX = env.float("SYNC_BACKOFF_MAX", default=300.0)  # cap (kept far below the visibility timeout)
SYNC_COUNTDOWN_MAX = env.float("SYNC_COUNTDOWN_MAX", default=60.0)  # longer waits live in next_attempt_at
SYNC_PARENT_WAIT = env.float("SYNC_PARENT_WAIT", default=30.0)  # re-check a child whose parent has not landed
# A child whose parent the carrier refused waits for a person to retry or fix the parent
# (the parent's landing releases it at once); it is looked at again only this often.
SYNC_REFUSED_PARENT_WAIT = env.float("SYNC_REFUSED_PARENT_WAIT", default=6 * 3600.0)
SYNC_REDELIVER_AFTER = env.float("SYNC_REDELIVER_AFTER", default=60.0)  # a due job not picked up by then is resent
SYNC_SWEEP_INTERVAL = env.float("SYNC_SWEEP_INTERVAL", default=15.0)
# A carrier account that leaves a request unanswered (timeout, refused connection) sends
# nothing for this long, doubling per unanswered request in a row, up to the maximum.
SYNC_UNANSWERED_REST = env.float("SYNC_UNANSWERED_REST", default=5.0)
SYNC_UNANSWERED_REST_MAX = env.float("SYNC_UNANSWERED_REST_MAX", default=120.0)
# How long a worker process trusts its view of which accounts wait for a worker (the fair
# share of worker slots each busy account gets).
SYNC_FAIR_SHARE_TTL = env.float("SYNC_FAIR_SHARE_TTL", default=1.0)
# Requests per window (seconds) per carrier kind; a carrier account can override its own.
# SureVoIP publishes 5,000 an hour; the others publish none: see docs/sync.md for these choices.
SYNC_RATE_LIMITS = {
    "surevoip": (5000, 3600),
    "simwood": (20, 1),
    "sipwise": (20, 1),
    "simotel": (10, 1),
}
# Reconciliation (docs/reconciliation.md): each enabled carrier account is compared with
# the carrier every SYNC_RECONCILE_INTERVAL seconds; carrier objects are matched CHUNK at a
# time; a wait for the account's request budget up to MAX_WAIT s is slept through (longer
# ones stop the run: the next one tries again); a run longer than TIME_LIMIT s is stopped.
SYNC_RECONCILE_INTERVAL = env.float("SYNC_RECONCILE_INTERVAL", default=6 * 3600.0)
SYNC_RECONCILE_CHUNK = env.int("SYNC_RECONCILE_CHUNK", default=500)
SYNC_RECONCILE_MAX_WAIT = env.float("SYNC_RECONCILE_MAX_WAIT", default=60.0)
SYNC_RECONCILE_TIME_LIMIT = env.int("SYNC_RECONCILE_TIME_LIMIT", default=4 * 3600)
# Alerts (portal/operations/alerts.py): found and mailed to each reseller's managers as one
# digest every ALERT_DIGEST_INTERVAL s; a change queued longer than ALERT_PENDING_AFTER s is
# an alert; an acknowledged condition (not an event) may come back after ALERT_REPEAT_AFTER s.
ALERT_DIGEST_INTERVAL = env.float("ALERT_DIGEST_INTERVAL", default=900.0)
ALERT_PENDING_AFTER = env.float("ALERT_PENDING_AFTER", default=1800.0)
ALERT_REPEAT_AFTER = env.float("ALERT_REPEAT_AFTER", default=86400.0)
ALERT_CHECK_CONNECTIONS = env.bool("ALERT_CHECK_CONNECTIONS", default=True)
# Long operations a person starts (CSV imports, drift resolution, carrier imports).
OPERATION_TIME_LIMIT = env.int("OPERATION_TIME_LIMIT", default=4 * 3600)
CSV_IMPORT_MAX_BYTES = env.int("CSV_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
# The portal's own address, for links in e-mails sent by workers (no request to ask).
PORTAL_URL = env.str("PORTAL_URL", default="")
CELERY_BEAT_SCHEDULE = {
    "sync-sweep": {"task": "portal.sync.tasks.sweep", "schedule": SYNC_SWEEP_INTERVAL},
    "reconcile-accounts": {"task": "portal.sync.tasks.reconcile_all", "schedule": SYNC_RECONCILE_INTERVAL},
    # A holiday forward's dates are cleared once they are over (a carrier without years would repeat them).
    "forwards-end-past-windows": {"task": "portal.forwards.tasks.end_past_windows", "schedule": 3600},
    "alert-digests": {"task": "portal.operations.tasks.send_alert_digests", "schedule": ALERT_DIGEST_INTERVAL},
    "api-idempotency-keys": {"task": "portal.api.tasks.purge_idempotency_keys", "schedule": 3600.0},
}

# The sandbox carriers (demo and tests): where seed_demo creates its carrier accounts.
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8100")
SANDBOX_ADMIN_TOKEN = env.str("SANDBOX_ADMIN_TOKEN", default="")

# Where a carrier account may point (the worker sends its credentials there): the carriers'
# published API hosts, over HTTPS. Sipwise C5 and Simotel run on the operator's own servers:
# the platform lists those hosts (comma-separated, "*.example.net" for a domain).
CARRIER_API_HOSTS = {
    "simwood": env.list("CARRIER_HOSTS_SIMWOOD", default=["api.simwood.com"]),
    "surevoip": env.list("CARRIER_HOSTS_SUREVOIP", default=["api.surevoip.co.uk", "sandbox.surevoip.co.uk"]),
    "sipwise": env.list("CARRIER_HOSTS_SIPWISE", default=[]),
    "simotel": env.list("CARRIER_HOSTS_SIMOTEL", default=["panel.hostedpbx.ir"]),
}
CARRIER_ANY_HOST = env.bool("CARRIER_ANY_HOST", default=DEBUG)  # development only
SANDBOX_CARRIERS = env.bool("SANDBOX_CARRIERS", default=False)  # the demo: SANDBOX_URL's host and port too

# The REST API (portal/api, docs/api.md): tokens (portal/apitokens) or the session (with CSRF),
# JSON only, one error shape, a request budget per token in the shared cache.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.apitokens.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.api.permissions.IsResellerStaff", "portal.api.permissions.TokenMayWrite"],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.Pagination",
    "DEFAULT_SCHEMA_CLASS": "portal.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="1200/min")  # per token
API_PAGE_SIZE = 50
API_MAX_PAGE_SIZE = 500
API_IDEMPOTENCY_TTL = env.int("API_IDEMPOTENCY_TTL", default=24 * 3600)  # seconds an Idempotency-Key is kept
# id:secret pairs; the first digests new tokens, all check them (rotation). Unset: derived from
# SECRET_KEY and SECRET_KEY_FALLBACKS (docs/api.md).
API_TOKEN_PEPPERS = env.list("API_TOKEN_PEPPERS", default=[])
SPECTACULAR_SETTINGS = {
    "TITLE": "Reseller Portal API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "defaultModelsExpandDepth": 0, "docExpansion": "none"},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "portal.api.schema.describe_api"],
    "ENUM_NAME_OVERRIDES": {
        f"{name}Enum": f"portal.{app}.models.{name}"
        for app, name in [("customers", "CustomerStatus"), ("subscribers", "SubscriberStatus"),
                          ("numbers", "NumberStatus"), ("trunks", "TrunkType"), ("forwards", "ForwardType")]
    },
}

AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_DISABLE_REMOTE_ADDR = False

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "portal.core.logging.RequestContextFilter"}},
    "formatters": {
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s request=%(request_id)s user=%(user)s "
            "reseller=%(reseller)s %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "filters": ["request_context"],
            "formatter": "line",
        },
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
