"""Identifies API callers by ``Authorization``: a user token (``Bearer emgu_…``) or HTTP Basic.

After it, ``request.user`` is the one identity every view and :mod:`core.visibility` use, whether
it came from a session cookie, a token or a password; ``request.credentials`` says which
(``None`` for a session or nobody) and ``request.api_token`` holds the token, if any.
Work-ledger tokens (``Bearer emgl_…``) are left to the ledger's own authentication. The admin keeps
its login form. Bad credentials are a 401 and count towards lock-out; a locked-out caller gets 429.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse

from accounts import throttle
from accounts.tokens import TOKEN_SCHEME, authenticate_user_token
from core.api import error_response_for_path
from core.errors import AuthenticationRequired, TooManyRequests
from core.tokens import scheme_of

LEDGER_TOKEN_SCHEME = "emgl"


class Credentials:
    """What ``request.credentials`` holds."""

    TOKEN = "token"
    BASIC = "basic"


def _identify_by_token(request: HttpRequest, value: str) -> None:
    throttle.refuse_if_locked_out(None, request)
    token = authenticate_user_token(value)
    if token is None:
        throttle.record_failed_login(None, request)
        raise AuthenticationRequired("Invalid, expired or revoked token")
    request.user = token.user
    request.api_token = token
    request.credentials = Credentials.TOKEN


def _identify_by_password(request: HttpRequest, value: str) -> None:
    try:
        username, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AuthenticationRequired("Malformed HTTP Basic credentials") from None
    throttle.refuse_if_locked_out(username, request)
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        raise AuthenticationRequired("Invalid username or password")
    request.user = user
    request.credentials = Credentials.BASIC


class APICredentialsMiddleware:
    """Sits after Django's AuthenticationMiddleware; see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.credentials = None
        request.api_token = None
        header = request.headers.get("Authorization", "")
        if header and not request.path.startswith("/admin/"):
            scheme, _, value = header.partition(" ")
            try:
                if scheme.lower() == "basic":
                    _identify_by_password(request, value)
                elif scheme.lower() == "bearer" and scheme_of(value) != LEDGER_TOKEN_SCHEME:
                    _identify_by_token(request, value)
            except AuthenticationRequired as error:
                return error_response_for_path(request.path, 401, str(error))
            except TooManyRequests as error:
                return error_response_for_path(request.path, 429, str(error), error)
        return self.get_response(request)


__all__ = ["TOKEN_SCHEME", "APICredentialsMiddleware", "Credentials"]
