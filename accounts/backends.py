"""Authentication backends: local passwords and Webin accounts, both behind the lock-out.

While an account or an address has too many recent failed logins, every password check is refused,
the right password included (``PermissionDenied`` stops Django trying the next backend).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts import throttle, webin
from core.errors import TooManyRequests
from core.visibility import WEBIN_ACCOUNT_PATTERN


def refuse_while_locked_out(request: HttpRequest | None, username: str | None) -> None:
    """:raises PermissionDenied: (Django's) while ``username`` or the caller's address is locked out."""
    try:
        throttle.refuse_if_locked_out(username, request)
    except TooManyRequests:
        raise PermissionDenied from None


class LockedOutModelBackend(ModelBackend):
    """Django's username/password backend (staff, curators), behind the lock-out."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        refuse_while_locked_out(request, username)
        return super().authenticate(request, username=username, password=password, **kwargs)


class WebinBackend(BaseBackend):
    """A submitter logs in with their Webin account and password, checked by the Webin service.

    The first login creates a local user named after the account (not staff, no local password);
    what they see is decided by :mod:`core.visibility` (their own private data).
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **_: Any
    ) -> Any:
        if not username or not password or not WEBIN_ACCOUNT_PATTERN.match(username):
            return None
        refuse_while_locked_out(request, username)
        if not webin.credentials_valid(username, password):
            return None
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user if user.is_active else None

    def get_user(self, user_id: int) -> Any:
        return get_user_model().objects.filter(pk=user_id, is_active=True).first()
