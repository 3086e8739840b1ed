"""Who may read a DRS object, and the caller's identity (Django session or HTTP Basic)."""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth import authenticate
from django.http import HttpRequest

from core.errors import AuthenticationRequired, PermissionDenied
from drs.models import DrsObject


def request_user(request: HttpRequest):
    """The caller: the session's user, else the user named by valid HTTP Basic credentials, else anonymous.

    Invalid Basic credentials are an error (401) rather than a silent fall-back to anonymous.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        return user
    try:
        username, _, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthenticationRequired("Malformed HTTP Basic credentials") from None
    authenticated = authenticate(request, username=username, password=password)
    if authenticated is None or not authenticated.is_active:
        raise AuthenticationRequired("Invalid username or password")
    return authenticated


def check_readable(obj: DrsObject, user) -> None:
    """Allow public objects to anyone; private ones to their owner and to staff.

    Anonymous callers get 401 (authenticate and retry), authenticated callers who are not allowed
    get 403 (retrying with the same identity will not help), as the DRS error model describes.

    :raises AuthenticationRequired: an anonymous caller
    :raises PermissionDenied: an authenticated caller who is not allowed
    """
    if obj.is_visible_to(user):
        return
    if user is None or not user.is_authenticated:
        raise AuthenticationRequired(f"DRS object {obj.id} is private: authentication is required")
    raise PermissionDenied(f"DRS object {obj.id} is private and not readable by {user.get_username()}")
