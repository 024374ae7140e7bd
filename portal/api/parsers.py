"""The API reads JSON only, and bad JSON of any kind is a 400, never a 500."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json

MAX_BODY = 1024 * 1024  # no write of this API needs more than a megabyte


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, also refusing an unknown charset, an oversized body and nesting that
    would exhaust the recursion limit (each of which DRF's own would answer with a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise ParseError(f"The body is larger than {MAX_BODY // 1024} KB.")
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            text = raw.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            raise ParseError("Send the body as JSON in UTF-8.") from None
        try:
            return json.loads(text, parse_constant=json.strict_constant)
        except RecursionError:
            raise ParseError("The JSON is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
