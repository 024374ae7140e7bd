"""One error shape for the whole API, whatever refused the request.

Every error answer is::

    {"code": "invalid", "detail": "Check these fields: email.",
     "fields": {"email": ["Enter a valid email address."]}, "errors": []}

``code`` is stable, for programs; ``detail`` is a sentence for people; ``fields`` maps a
field (nested ones as ``forwards.0.destinations.1.target``) to its messages; ``errors``
holds what concerns no single field. A domain service's ValidationError (the same
refusal a page shows next to the field) becomes a 400 with its field keys kept.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from portal.sync.provisioning import lost_a_race

log = logging.getLogger(__name__)

NON_FIELD_KEYS = {api_settings.NON_FIELD_ERRORS_KEY, "__all__", "None", ""}


class Conflict(exceptions.APIException):
    """The object's state refuses the request (a delete a service refuses, a job that is not failed)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's state does not allow this now."
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The object changed since you read it: read it again, then send your change."
    default_code = "precondition_failed"


class UnprocessableRequest(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class CarrierUnavailable(exceptions.APIException):
    """The carrier was asked and failed or refused; its own words are the detail."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "The carrier did not answer as expected."
    default_code = "carrier_error"


def service_refusal(exc: DjangoValidationError, *, field_for_errors: str | None = None) -> exceptions.ValidationError:
    """A domain service's ValidationError as DRF's, keeping the fields it names.

    ``field_for_errors``: the API field a refusal that names no field is about (the
    forwards endpoint puts the forward service's messages under ``forwards``).
    """
    if hasattr(exc, "error_dict"):
        detail: dict[str, list[str]] = {}
        for field, errors in exc.error_dict.items():
            key = field if field not in NON_FIELD_KEYS and field is not None else (
                field_for_errors or api_settings.NON_FIELD_ERRORS_KEY)
            detail.setdefault(key, []).extend(m for e in errors for m in e.messages)
        return exceptions.ValidationError(detail)
    return exceptions.ValidationError({field_for_errors or api_settings.NON_FIELD_ERRORS_KEY: exc.messages})


def flatten(detail, path: str = "") -> tuple[dict[str, list[str]], list[str]]:
    """DRF's nested error detail as ``{"a.0.b": [messages]}`` and the messages of no field."""
    fields: dict[str, list[str]] = {}
    loose: list[str] = []

    def add(where: str, message: str) -> None:
        if where:
            fields.setdefault(where, []).append(message)
        else:
            loose.append(message)

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                key = str(key)
                walk(value, where if key in NON_FIELD_KEYS else (f"{where}.{key}" if where else key))
        elif isinstance(node, (list, tuple)):
            if all(not isinstance(item, (dict, list, tuple)) for item in node):
                for item in node:
                    add(where, str(item))
            else:
                for index, item in enumerate(node):
                    if item:  # a list serializer leaves {} for the items that are fine
                        walk(item, f"{where}.{index}" if where else str(index))
        else:
            add(where, str(node))

    walk(detail, path)
    return fields, loose


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def error_body(code: str, detail: str, fields: dict | None = None, errors: list | None = None) -> dict:
    return {"code": code, "detail": detail, "fields": fields or {}, "errors": errors or []}


def exception_handler(exc, context):
    view = context.get("view")
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, DjangoValidationError):
        exc = service_refusal(exc, field_for_errors=getattr(view, "refusal_field", None))
    elif isinstance(exc, IntegrityError):
        # A rule only the database could check (a concurrent writer got there first).
        log.info("integrity error answered as a conflict: %s", exc)
        exc = Conflict("Another change to the same data was made at the same moment: read it again and retry.")
    elif isinstance(exc, OperationalError) and lost_a_race(exc):
        exc = Conflict("Another change to the same data was made at the same moment: retry.")
        exc.wait = 1
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields, loose = flatten(exc.detail)
        if loose and not fields:
            detail = " ".join(loose)
        else:
            detail = f"Check {'this field' if len(fields) == 1 else 'these fields'}: {', '.join(fields)}."
        response.data = error_body("invalid", detail, fields, loose)
    else:
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (list, dict)) else " ".join(flatten(detail)[1]) or str(detail)
        response.data = error_body(_code(exc), message)
    return response
