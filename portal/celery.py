"""The Celery app. The broker only carries job ids; the database holds the jobs."""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

CODE_CARRYING_CONTENT = {"pickle", "application/x-python-serialize", "application/group-python-serialize"}


@celeryd_init.connect
def _root_is_accepted_where_safe(conf, **kwargs):
    """Silence the worker's "superuser privileges" warning only where it is safe and chosen.

    The danger it names is a message that makes a root worker run code, which takes a
    serializer able to carry code (pickle). The portal's messages are JSON only (job ids);
    so only when WORKER_ROOT_OK is set (scripts/run does so when the demo runs as root, as
    in a container) and no such serializer is accepted is the warning left out. Production
    runs workers as a service user and never sets it.
    """
    accepted = set(conf.accept_content or ())
    if os.environ.get("WORKER_ROOT_OK", "").lower() in {"1", "true", "yes", "on"} and not accepted & CODE_CARRYING_CONTENT:
        warnings.filterwarnings("ignore", message=r"You're running the worker with superuser privileges", category=SecurityWarning)
