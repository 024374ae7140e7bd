"""The OpenAPI description: the token scheme, the error shape on every operation, the headers.

Every operation lists the errors it can answer (all in the one shape of ``errors.py``),
its ``If-Match`` / ``Idempotency-Key`` request headers where they apply, and its
``ETag``, ``Location`` and ``Retry-After`` response headers, so that a client generated
from the schema (and schemathesis, in the tests) knows every answer it may get.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: invalid, not_found, precondition_failed, …")
    detail = serializers.CharField(help_text="One sentence for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field → its messages; nested fields as forwards.0.destinations.1.target.")
    errors = serializers.ListField(child=serializers.CharField(), help_text="Messages about no single field.")

    class Meta:
        ref_name = "Error"


def _example(code: str, detail: str, fields: dict | None = None, errors: list | None = None) -> OpenApiExample:
    return OpenApiExample(code, value={"code": code, "detail": detail, "fields": fields or {}, "errors": errors or []},
                          response_only=True)


ERRORS = {
    400: ("The request is invalid: see the fields (a service's refusal names its fields too).",
          _example("invalid", "Check this field: email.", {"email": ["Enter a valid email address."]})),
    401: ("No credentials, or a token that is unknown, revoked or expired.",
          _example("token_expired", "This token has expired.")),
    403: ("Known, but not allowed: not reseller staff, a read-only token writing, an address the token does not "
          "allow, or a right the role lacks.",
          _example("read_only_token", "This token is read-only: make a token that may change things to do this.")),
    404: ("No such object, or not yours to see (the same answer either way).", _example("not_found", "Not found.")),
    409: ("The object's state refuses this now (the reason is in detail), or the Idempotency-Key's first request "
          "is still being processed (retry after Retry-After).",
          _example("conflict", "Customer 7 still has subscribers: remove them first, or terminate the customer.")),
    412: ("If-Match named a version that is not the object's current one: read it again.",
          _example("precondition_failed",
                   "The object changed since you read it: read it again, then send your change.")),
    415: ("Send JSON (Content-Type: application/json).",
          _example("unsupported_media_type", 'Unsupported media type "text/plain" in request.')),
    422: ("The Idempotency-Key was used before for a different request.",
          _example("idempotency_key_reused", "This Idempotency-Key was used for another request (a different "
                   "method, path or body). Use a new key for a new request.")),
    429: ("Too many requests for this token: wait Retry-After seconds.",
          _example("throttled", "Request was throttled. Expected available in 12 seconds.")),
    502: ("The carrier failed or refused; detail has its words.",
          _example("carrier_error", "Simwood said: service unavailable")),
}


def errors_for(*codes: int) -> dict[int, OpenApiResponse]:
    """Error responses for ``extend_schema(responses=…)``."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERRORS[code][0], examples=[ERRORS[code][1]])
            for code in codes}


IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The version (ETag) you read: the change is made only if the object is still at it, else 412.",
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Any unique string (a UUID): a retry with the same key and body gets the first answer instead of "
                "doing it twice. Kept 24 hours.",
)
ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201],
                        description="The object's version, for If-Match.")
LOCATION = OpenApiParameter("Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[201],
                            description="Where the new object is.")
RETRY_AFTER = OpenApiParameter("Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[429],
                               description="Seconds to wait before trying again.")
REPLAYED = OpenApiParameter("Idempotent-Replayed", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201, 202],
                            description="“true” when this is the stored answer to an earlier request with the same "
                                        "Idempotency-Key.")


# What the filters the staff lists' FilterSets declare without a label mean, for the schema.
PARAMETER_DESCRIPTIONS = {
    "id": "The object's id. Another reseller's object is a 404, as a missing one is.",
    "carrier_account": "Only those on this carrier account (its id).",
    "customer": "Only those of this customer (its id).",
    "subscriber": "Only those of this SIP account (its id).",
    "number": "Only those of this number (its id).",
    "enabled": "true: only those switched on; false: only those switched off.",
    "object_kind": "The kind of object: customer, subscriber, number, trunk, subscriber_forwards, number_forwards.",
    "object_id": "The object's id (with object_type, or object_kind).",
    "since": "From this moment on (ISO 8601, e.g. 2026-11-30T00:00:00Z).",
    "until": "Before this moment (ISO 8601).",
    "limit": "How many to ask the carrier for (1–100).",
}


class PortalAutoSchema(AutoSchema):
    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if not parameter.get("description") and parameter["name"] in PARAMETER_DESCRIPTIONS:
                parameter["description"] = PARAMETER_DESCRIPTIONS[parameter["name"]]
        return parameters

    def _has_id(self) -> bool:
        return "{id}" in self.path

    def _idempotent(self) -> bool:
        handler = getattr(self.view, getattr(self.view, "action", None) or "", None)
        return self.method == "POST" and getattr(handler, "idempotent", False)

    def error_codes(self) -> set[int]:
        codes = {401, 403, 429}
        method = self.method
        if self._has_id():
            codes.add(404)
        if method == "GET" and not self._has_id() and self._is_list_view():
            codes |= {400, 404}  # a bad filter value; a page past the end
        if method in ("POST", "PUT", "PATCH"):
            codes |= {400, 415}
        if method == "POST":
            codes.add(409)
        if self._idempotent():
            codes.add(422)
        if method in ("PUT", "PATCH", "DELETE", "POST") and self._has_id():
            codes |= {409, 412}
        return codes

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in ("PUT", "PATCH", "DELETE", "POST") and self._has_id():
            parameters.append(IF_MATCH)
        if self._idempotent():
            parameters += [IDEMPOTENCY_KEY, REPLAYED]
        if self.method in ("GET", "PUT", "PATCH", "POST") and (self._has_id() or self._is_create_operation()):
            parameters.append(ETAG)
        if self._is_create_operation():
            parameters.append(LOCATION)
        parameters.append(RETRY_AFTER)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in sorted(self.error_codes()):
            if str(code) not in responses:
                description, example = ERRORS[code]
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description, examples=[example]), str(code))
        return responses


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.apitokens.authentication.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rpt_<key>.<secret>",
            "description": "An API token made on the portal's API tokens page (shown once). "
                           "Send it as Authorization: Bearer rpt_….",
        }


DESCRIPTION = """\
The reseller portal's REST API: everything the staff pages do, for your own systems (CRM, billing).
Every change goes through the same services as the pages (same checks, audit log and sync to the carrier),
and every object shows where its carrier stands with it (`sync_state`, `sync_error`).

**Authentication.** Make a token on the portal's *API tokens* page (it is shown once) and send it as
`Authorization: Bearer rpt_…`. A token acts as its owner, with their reseller and role; a read-only token
cannot change anything. A logged-in browser session works too (with the CSRF header).

**Errors** always have the same shape: `{"code", "detail", "fields", "errors"}`. A refused field is
named in `fields` (nested ones as `forwards.0.destinations.1.target`). Another reseller's object is a 404.

**Concurrency.** Every object has a `version`, sent as its `ETag`. Send it back in `If-Match` with `PUT`,
`PATCH` or `DELETE`: if someone changed the object meanwhile the answer is 412 and nothing changes.

**Retries.** Send an `Idempotency-Key` (a UUID) with a `POST`: a retry with the same key and body gets the
first answer (`Idempotent-Replayed: true`) instead of doing it twice. Keys are kept 24 hours.

**Lists** are paged (`?page=`, `?page_size=` up to 500), filtered as on the staff pages (`?q=` searches),
and ordered with `?ordering=` (`-` for descending).

**Limits.** Each token has its own request budget; over it the answer is 429 with `Retry-After`.
"""


TAGS = [
    ("customers", "Your customers: who everything else belongs to."),
    ("subscribers", "SIP accounts (extensions) of a customer; their call forwards as a set."),
    ("numbers", "Phone numbers: add from a carrier, assign, route, set a 999 address, release."),
    ("available-numbers", "What a carrier account offers now, to add with POST /api/v1/numbers/."),
    ("trunks", "SIP trunks of a customer's PBX."),
    ("forwards", "Call forwards one by one (each owner's set is also under its subscriber or number)."),
    ("carrier-accounts", "Where things are provisioned (credentials are never shown); managers test them."),
    ("sync-jobs", "Each change on its way to a carrier, and the carrier's answer; retry the failed ones."),
    ("drift", "What reconciliation found different at a carrier; resolve it either way."),
    ("audit-log", "Who changed what, when, field by field."),
]


def describe_api(result, generator, request, public):
    """drf-spectacular post-processing hook: the API's own introduction and its sections, in order."""
    result.setdefault("info", {})["description"] = DESCRIPTION
    result["tags"] = [{"name": name, "description": text} for name, text in TAGS]
    return result
