"""django-ninja authentication for endpoints that need an identified caller, and token scope checks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from accounts.models import TokenScope
from core.errors import PermissionDenied
from core.visibility import is_authenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignedIn(HttpBearer):
    """Any identified caller: a user token (``Bearer emgu_…``), HTTP Basic, or a session with its CSRF token.

    The credentials themselves are checked once, by :class:`accounts.middleware.APICredentialsMiddleware`;
    this only asks whether the request has an identity. Nobody: 401 with ``WWW-Authenticate``.
    """

    openapi_description = "A user token `emgu_<prefix>_<secret>` (POST /api/v2/auth/tokens), or HTTP Basic."

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if not is_authenticated(user):
            return None
        if getattr(request, "credentials", None) is None and request.method not in SAFE_METHODS:
            if check_csrf(request) is not None:
                raise PermissionDenied("CSRF check failed: a session needs the CSRF token (or use a bearer token)")
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover - __call__ decides
        return None


signed_in = SignedIn()


def require_scope(request: HttpRequest, scope: TokenScope) -> None:
    """:raises PermissionDenied: when the request came with a token that lacks ``scope`` (sessions have all)."""
    token = getattr(request, "api_token", None)
    if token is not None and scope not in token.scopes:
        raise PermissionDenied(f"Token '{token.name}' lacks the scope '{scope}'")
