"""The generic NGCP v1 REST protocol the Sipwise emulator speaks, independent of resources.

Everything here follows ``/work/shared/carrier-docs/notes-sipwise.md`` §2-§4 (the
ngcp-panel ``Role/API.pm`` behaviour): the error body, HAL+JSON rendering, paging,
wildcard filters, form validation messages and RFC 6902 PATCH with the NGCP extensions.
The resources themselves live in :mod:`portal.sandbox.carriers.sipwise`.

Choices where the notes are silent:

- Validation texts other than the ones quoted in the notes (e.g. "field is required",
  "Value must be an integer") are our wording; the notes pin only the
  ``Validation failed. field='x', input='y', errors='z'`` frame, which clients parse.
- A form field of a compound (call-forward destinations, time entries) is named by its
  dotted path, e.g. ``field='cft.destinations.0.timeout'``.
- A PUT or POST body that is valid JSON but not an object gets 422
  ``Validation failed. field='body', input='<json>', errors='must be a JSON object'``.
- JSON Pointer failures are worded
  ``The entity could not be processed: A pointer that references a non-existent value (pointer: /x)``.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

HAL_PROFILE = "http://purl.org/sipwise/ngcp-api/"
HAL_MEDIA_TYPE = f'application/hal+json; profile="{HAL_PROFILE}"'
CURIES = {"href": "http://purl.org/sipwise/ngcp-api/#rel-{rel}", "name": "ngcp", "templated": True}


class ApiError(Exception):
    """An answer in the platform's error format: ``{"code": N, "message": "..."}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    # Compact JSON plus a newline, always application/json (notes §2).
    body = json.dumps({"code": status, "message": message}, separators=(",", ":")) + "\n"
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def hal_json(doc: Any) -> str:
    # Data::HAL serialises with JSON::XS "pretty" and canonical (sorted) keys.
    return json.dumps(doc, indent=3, sort_keys=True, separators=(",", " : ")) + "\n"


def hal_response(accept: str, doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    media_type = "application/json" if "application/json" in accept else HAL_MEDIA_TYPE
    return Response(hal_json(doc), status_code=status, media_type=media_type, headers=headers)


def timestamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


# ---------------------------------------------------------------------- wildcards
def pattern_matcher(pattern: str, question_mark: bool = False) -> Callable[[Any], bool]:
    """Exact case-insensitive match unless the pattern has ``*`` (or ``?`` where allowed)."""
    wild = "*?" if question_mark else "*"
    if not any(char in pattern for char in wild):
        wanted = pattern.casefold()
        return lambda value: value is not None and str(value).casefold() == wanted
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" and question_mark else re.escape(char) for char in pattern
    )
    compiled = re.compile(regex, re.IGNORECASE | re.DOTALL)
    return lambda value: value is not None and compiled.fullmatch(str(value)) is not None


# ------------------------------------------------------------------ form validation
class ValidationErrors:
    """Collects field errors and raises them as one 422, the way HTML::FormHandler does."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, value: Any, message: str, secret: bool = False) -> None:
        shown = "*****" if secret else display_input(value)
        self.items.append(f"field='{field}', input='{shown}', errors='{message}'")

    def raise_if_any(self) -> None:
        if self.items:
            raise ApiError(422, "Validation failed. " + "; ".join(self.items))


def display_input(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)


@dataclass(frozen=True)
class Field:
    """One form field: how its input is checked and converted."""

    name: str
    kind: str = "text"  # text | int | posint | float | bool | enum | email | identifier
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    secret: bool = False
    minimum: float | None = None
    maximum: float | None = None


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
IDENTIFIER = re.compile(r"^[A-Za-z0-9+=,;_.~'()!*-]+$")


def convert(field: Field, value: Any) -> tuple[Any, str | None]:
    """(converted value, None) or (None, error message) for a present, non-null value."""
    converter = _CONVERTERS[field.kind]
    converted, problem = converter(field, value)
    if problem is None and isinstance(converted, (int, float)) and not isinstance(converted, bool):
        if field.minimum is not None and converted < field.minimum:
            return None, f"Value must be at least {field.minimum:g}"
        if field.maximum is not None and converted > field.maximum:
            return None, f"Value must be at most {field.maximum:g}"
    return converted, problem


def _text(field: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, (dict, list, bool)):
        return None, "Value must be a string"
    return str(value), None


def _integer(field: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, "Value must be an integer"
    if isinstance(value, int):
        return value, None
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value), None
    return None, "Value must be an integer"


def _positive_integer(field: Field, value: Any) -> tuple[Any, str | None]:
    number, problem = _integer(field, value)
    if problem or number <= 0:
        return None, "Value must be a positive integer"
    return number, None


def _float(field: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return None, "Must be a number"
    try:
        return float(value), None
    except (TypeError, ValueError):
        return None, "Must be a number"


def _boolean(field: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    if value in (0, 1, "0", "1"):
        return bool(int(value)), None
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true", None
    return None, "Value must be a boolean"


def _enum(field: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and value in field.choices:
        return value, None
    return None, f"'{display_input(value)}' is not a valid value"


def _email(field: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and EMAIL.match(value):
        return value, None
    return None, "Email should be of the format someuser@example.com"


def _identifier(field: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        return None, "Contains invalid symbols."
    text = str(value)
    if re.search(r"\s", text):
        return None, "Cannot contain spaces."
    if not IDENTIFIER.match(text) or text.startswith(".") or text.endswith(".") or ".." in text:
        return None, "Contains invalid symbols."
    return text, None


_CONVERTERS: dict[str, Callable[[Field, Any], tuple[Any, str | None]]] = {
    "text": _text,
    "int": _integer,
    "posint": _positive_integer,
    "float": _float,
    "bool": _boolean,
    "enum": _enum,
    "email": _email,
    "identifier": _identifier,
}


def validate_form(fields: Iterable[Field], body: dict[str, Any], errors: ValidationErrors) -> dict[str, Any]:
    """The converted values of ``fields`` (defaults for the absent ones); errors are collected."""
    values: dict[str, Any] = {}
    for field in fields:
        raw = body.get(field.name)
        if raw is None or raw == "":
            if field.required:
                errors.add(field.name, raw, f"'{field.name}' field is required", field.secret)
            values[field.name] = field.default
            continue
        converted, problem = convert(field, raw)
        if problem:
            errors.add(field.name, raw, problem, field.secret)
        values[field.name] = converted
    return values


# ------------------------------------------------------------------------- paging
@dataclass(frozen=True)
class Paging:
    page: int
    rows: int
    count: bool  # False with no_count=1|true: total_count is null


PAGING_ERROR = "Query parameters 'page' and 'rows', when specified, must be greater than 0."


def parse_paging(params: dict[str, str]) -> Paging:
    numbers = []
    for name, default in (("page", 1), ("rows", 10)):
        raw = params.get(name)
        if raw is None:
            numbers.append(default)
            continue
        if not raw.isdigit() or int(raw) < 1:
            raise ApiError(400, PAGING_ERROR)
        numbers.append(int(raw))
    count = params.get("no_count", "").lower() not in ("1", "true")
    return Paging(page=numbers[0], rows=numbers[1], count=count)


def page_href(path: str, page: int, rows: int, params: dict[str, str]) -> str:
    # The platform appends the other query parameters unescaped (notes §3).
    extra = "".join(f"&{key}={value}" for key, value in params.items() if key not in ("page", "rows"))
    return f"{path}?page={page}&rows={rows}{extra}"


def sort_records(records: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
    """Order by ``order_by`` when it names a column; unknown columns are ignored (notes §3)."""
    column = params.get("order_by")
    descending = params.get("order_by_direction", "asc").lower() == "desc"
    if not column or not records or column not in records[0]:
        return records

    def key(record: dict[str, Any]) -> tuple[bool, str | float]:
        value = record.get(column)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value is None, value
        return value is None, "" if value is None else json.dumps(value, sort_keys=True)

    try:
        return sorted(records, key=key, reverse=descending)
    except TypeError:  # a column mixing numbers and text: order as text
        return sorted(records, key=lambda r: str(r.get(column)), reverse=descending)


# -------------------------------------------------------------------------- PATCH
_PATCH_KEYS = {
    "add": ({"path", "value"}, {"mode"}),
    "remove": ({"path"}, {"value", "index"}),
    "replace": ({"path", "value"}, set()),
    "copy": ({"from", "path"}, set()),
}


def quoted_list(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def check_patch(operations: Any, allowed_ops: tuple[str, ...]) -> list[dict[str, Any]]:
    """Validate a JSON-patch document the way the platform does (all 400s, notes §2)."""
    if not isinstance(operations, list):
        raise ApiError(400, "Body for PATCH must be an array.")
    for operation in operations:
        if not isinstance(operation, dict):
            raise ApiError(400, "Array in body of PATCH must only contain hashes.")
        op = operation.get("op")
        if op is None:
            raise ApiError(400, "PATCH element must have an 'op' field.")
        if op not in allowed_ops:
            raise ApiError(400, f"Invalid PATCH op '{op}', must be one of {quoted_list(allowed_ops)}")
        required, optional = _PATCH_KEYS[op]
        allowed_keys = {"op"} | required | optional
        for key in operation:
            if key not in allowed_keys:
                order = ["op", *sorted(required), *sorted(optional)]
                raise ApiError(400, f"Invalid PATCH key '{key}' for op '{op}', must be one of {quoted_list(order)}")
        missing = sorted(required - set(operation))
        if missing:
            raise ApiError(400, f"Missing PATCH keys {quoted_list(missing)} for op '{op}'")
    return operations


def _unprocessable(pointer: str) -> ApiError:
    return ApiError(
        422,
        f"The entity could not be processed: A pointer that references a non-existent value (pointer: {pointer})",
    )


def _pointer_tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise _unprocessable(pointer)
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def _resolve_parent(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = _pointer_tokens(pointer)
    if not tokens:
        raise _unprocessable(pointer)
    container = doc
    for token in tokens[:-1]:
        container = _child(container, token, pointer)
    return container, tokens[-1]


def _child(container: Any, token: str, pointer: str) -> Any:
    if isinstance(container, dict) and token in container:
        return container[token]
    if isinstance(container, list) and token.isdigit() and int(token) < len(container):
        return container[int(token)]
    raise _unprocessable(pointer)


def _get(doc: Any, pointer: str) -> Any:
    value = doc
    for token in _pointer_tokens(pointer):
        value = _child(value, token, pointer)
    return value


def _add(doc: Any, pointer: str, value: Any, append: bool = False) -> None:
    container, token = _resolve_parent(doc, pointer)
    if isinstance(container, dict):
        if append and isinstance(container.get(token), list) and isinstance(value, list):
            container[token].extend(value)  # NGCP extension: "mode": "append"
        else:
            container[token] = value
    elif isinstance(container, list):
        if token == "-":
            container.append(value)
        elif token.isdigit() and int(token) <= len(container):
            container.insert(int(token), value)
        else:
            raise _unprocessable(pointer)
    else:
        raise _unprocessable(pointer)


def _remove(doc: Any, pointer: str) -> None:
    container, token = _resolve_parent(doc, pointer)
    _child(container, token, pointer)  # must exist
    if isinstance(container, dict):
        del container[token]
    else:
        del container[int(token)]


def _partial_match(element: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict) and isinstance(element, dict):
        return all(str(element.get(key)) == str(value) for key, value in wanted.items())
    return element == wanted


def _remove_matching(doc: Any, operation: dict[str, Any]) -> None:
    # NGCP extension: remove the array elements matching a (partial) value, or the n-th match.
    target = _get(doc, operation["path"])
    if not isinstance(target, list):
        raise _unprocessable(operation["path"])
    matches = [i for i, element in enumerate(target) if _partial_match(element, operation["value"])]
    if "index" in operation:
        index = operation["index"]
        matches = matches[index : index + 1] if isinstance(index, int) and index >= 0 else []
    for position in reversed(matches):
        del target[position]


def apply_patch(doc: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    result = copy.deepcopy(doc)
    for operation in operations:
        op, path = operation["op"], operation["path"]
        if op == "add":
            _add(result, path, copy.deepcopy(operation["value"]), append=operation.get("mode") == "append")
        elif op == "replace":
            container, token = _resolve_parent(result, path)
            _child(container, token, path)
            if isinstance(container, dict):
                container[token] = copy.deepcopy(operation["value"])
            else:
                container[int(token)] = copy.deepcopy(operation["value"])
        elif op == "remove":
            if "value" in operation:
                _remove_matching(result, operation)
            else:
                _remove(result, path)
        elif op == "copy":
            _add(result, path, copy.deepcopy(_get(result, operation["from"])))
    return result
