"""POST /intake/<channel-slug>/: the token-authenticated endpoint for forms and tools.

CSRF-exempt because it is not a browser session endpoint: the bearer token is
the credential, and no cookie is read. Every answer, refusals included, is JSON.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import intake as service

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


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
    if wait := service.rate_wait(token):
        response = JsonResponse(
            {"error": f"Too many posts with this token: try again in {wait} seconds."},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    if _too_large(request):
        limit = settings.INTAKE_MAX_BODY_BYTES
        return _invalid(
            [{"field": "", "message": f"The body is larger than {limit // 1024} KB."}],
            status=413,
        )
    content_type = request.content_type or ""
    try:
        if content_type == "application/json":
            data = service.parse_json(request.body)
        elif content_type in FORM_TYPES:
            data = {key: request.POST.get(key) for key in request.POST}
        else:
            return _invalid(
                [{"field": "", "message": "Send application/json or form-encoded fields."}],
                status=415,
            )
        result = service.receive(
            token, data, idempotency_key=request.headers.get("Idempotency-Key", "")
        )
    except service.IntakeInvalid as exc:
        return _invalid(exc.errors)
    except service.IdempotencyConflict as exc:
        return _invalid([{"field": "Idempotency-Key", "message": str(exc)}], status=422)
    return JsonResponse(
        result.as_dict(), status=201 if result.created and not result.duplicate else 200
    )


def _too_large(request: HttpRequest) -> bool:
    """Whether the body passes INTAKE_MAX_BODY_BYTES: as declared, or as read."""
    limit = settings.INTAKE_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return True
    try:
        return len(request.body) > limit
    except RequestDataTooBig:
        return True


def _invalid(errors: list[dict[str, str]], status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)
