"""The API reads JSON as web-to-lead does (leads.intake.parse_json), within its size cap."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.parsers import BaseParser

from leads import intake

from .errors import Invalid, PayloadTooLarge


class BoundedJSONParser(BaseParser):
    """One JSON object of at most INTAKE_MAX_BODY_BYTES: finite numbers, shallow nesting."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.INTAKE_MAX_BODY_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The body is larger than {limit // 1024} KB.")
        try:
            return intake.parse_json(body)
        except intake.IntakeInvalid as exc:
            raise Invalid(exc.errors) from None
