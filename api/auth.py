"""DRF's side of API tokens: who is calling (Bearer token), what it may do (scopes), how often."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from config.security import take_slot

from . import tokens
from .models import ApiToken


class TokenUser:
    """The caller of an API request: an integration, not a person (request.user)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, token: ApiToken) -> None:
        self.token = token

    def __str__(self) -> str:
        return f"API token {self.token}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`; an unknown or revoked token is refused with 401."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[TokenUser, ApiToken] | None:
        scheme, _, raw = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        if not raw.strip():
            raise exceptions.AuthenticationFailed(
                "Send the token as “Authorization: Bearer <token>”."
            )
        try:
            token = tokens.authenticate(raw.strip())
        except tokens.TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        tokens.mark_used(token)
        return TokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="accord-api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The schema says how to authenticate: a bearer token."""

    target_class = BearerTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token Ops created in the admin (API tokens).",
        }


class HasScope(permissions.BasePermission):
    """The token carries the scope the view names for this method (`required_scopes`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated(
                "Send an API token as “Authorization: Bearer <token>”."
            )
        method = "GET" if request.method == "HEAD" else request.method
        scope = view.required_scopes.get(method)
        if scope is None:
            self.message = f"{request.path} does not take {request.method}."
            return False
        if not token.allows(scope):
            self.message = (
                f"This token lacks the scope “{scope}” that {request.method} "
                f"{request.path} needs. Ask Ops to create a token with it."
            )
            return False
        return True


class TokenRateThrottle(throttling.BaseThrottle):
    """API_RATE requests per token, counted in the shared cache (config.security.take_slot)."""

    def __init__(self) -> None:
        self.seconds = 0

    def allow_request(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        limit, period = settings.API_RATE
        self.seconds = take_slot(f"api:{token.token_hash}", limit, period)
        return self.seconds == 0

    def wait(self) -> float:
        return self.seconds
