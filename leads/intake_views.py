"""POST /intake/<channel-slug>/: the token-authenticated endpoint for forms and tools.

CSRF-exempt because it is not a browser session endpoint: the bearer token is
the credential, and no cookie is read.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import intake as service


@csrf_exempt
@require_POST
def intake(request: HttpRequest, channel_slug: str) -> JsonResponse:
    """Accept one lead as JSON or form fields; 201 new lead, 200 updated or repeated."""
    try:
        token = service.authenticate(channel_slug, request.headers.get("Authorization", ""))
    except service.IntakeAuthError as exc:
        response = JsonResponse({"error": str(exc)}, status=exc.status)
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="accord-intake"'
        return response
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return _invalid([{"field": "", "message": "The body is not valid JSON."}])
        if not isinstance(data, dict):
            return _invalid([{"field": "", "message": "Send one JSON object with the lead."}])
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = {key: request.POST.get(key) for key in request.POST}
    else:
        return _invalid(
            [{"field": "", "message": "Send application/json or form-encoded fields."}],
            status=415,
        )
    try:
        result = service.receive(
            token, data, idempotency_key=request.headers.get("Idempotency-Key", "")
        )
    except service.IntakeInvalid as exc:
        return _invalid(exc.errors)
    return JsonResponse(
        result.as_dict(), status=201 if result.created and not result.duplicate else 200
    )


def _invalid(errors: list[dict[str, str]], status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)
