"""Every refusal is JSON that says why, in web-to-lead's shapes.

`{"error": "…"}` for who may call and how often (401, 403, 404, 429), and
`{"errors": [{"field": …, "message": …}]}` for what was posted (400, 413, 415, 422).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class Unprocessable(exceptions.APIException):
    """The post is well formed but cannot be used (422), with the fields that say why."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This post cannot be used."

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The body is too large."


class Invalid(exceptions.APIException):
    """The post is not what the endpoint takes (400), with the fields that say why."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The post is not valid."

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(e["message"] for e in errors))
        self.errors = errors


def field_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """A serializer's nested error detail as a flat list of {field, message}."""
    if isinstance(detail, dict):
        found: list[dict[str, str]] = []
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else f"{prefix}{key}"
            found += field_errors(value, f"{name}." if name else "")
        return found
    if isinstance(detail, list):
        found = []
        for item in detail:
            found += field_errors(item, prefix)
        return found
    return [{"field": prefix.rstrip("."), "message": str(detail)}]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, Retry-After, WWW-Authenticate), with our JSON bodies."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Invalid | Unprocessable):
        response.data = {"errors": exc.errors}
    elif isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": field_errors(exc.detail)}
    elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType | PayloadTooLarge):
        response.data = {"errors": [{"field": "", "message": str(exc.detail)}]}
    elif isinstance(exc, exceptions.Throttled):
        response.data = {
            "error": f"Too many requests with this token: try again in {exc.wait:.0f} seconds."
        }
    else:
        response.data = {"error": str(getattr(exc, "detail", exc))}
    return response
