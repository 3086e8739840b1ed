"""Users' API tokens: ``emgu_<prefix>_<secret>`` (see :mod:`core.tokens`), scoped, expiring, revocable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import TokenScope, UserToken
from accounts.permissions import Capability, has_capability
from core import tokens as token_parts
from core.errors import InvalidInput, PermissionDenied

TOKEN_SCHEME = "emgu"
#: A user may hold at most this many live tokens.
MAX_LIVE_TOKENS_PER_USER = 20


@dataclass(frozen=True)
class IssuedUserToken:
    """A new token: ``plaintext`` is shown once and never stored."""

    token: UserToken
    plaintext: str


def issue_user_token(
    *, user: Any, name: str, scopes: Iterable[TokenScope | str] = (TokenScope.READ,), lifetime: timedelta | None = None
) -> IssuedUserToken:
    """Mint a token for ``user``.

    :param user: the token's owner; the token acts as them within ``scopes``
    :param name: a label the owner chooses
    :param scopes: ``read`` is always included; ``launch`` needs the launch permission
    :param lifetime: how long it lives; default and maximum from ``EMG_CONFIG.auth``
    :raises InvalidInput: a lifetime out of bounds, or too many live tokens
    :raises PermissionDenied: ``launch`` asked by a user who may not launch
    """
    config = settings.EMG_CONFIG.auth
    wanted = {TokenScope(scope) for scope in scopes} | {TokenScope.READ}
    if TokenScope.LAUNCH in wanted and not has_capability(user, Capability.LAUNCH_ANALYSES):
        raise PermissionDenied(f"{user.get_username()} may not launch analyses, so a token cannot either")
    lifetime = lifetime if lifetime is not None else timedelta(days=config.token_default_days)
    if not timedelta(minutes=1) <= lifetime <= timedelta(days=config.token_max_days):
        raise InvalidInput(f"A token lives between 1 minute and {config.token_max_days} days")
    if UserToken.objects.live().filter(user=user).count() >= MAX_LIVE_TOKENS_PER_USER:
        raise InvalidInput(f"At most {MAX_LIVE_TOKENS_PER_USER} live tokens per user: revoke one first")
    minted = token_parts.mint(TOKEN_SCHEME)
    token = UserToken.objects.create(
        user=user,
        name=name,
        prefix=minted.prefix,
        secret_hash=minted.secret_hash,
        scopes=sorted(wanted),
        expires_at=timezone.now() + lifetime,
    )
    return IssuedUserToken(token=token, plaintext=minted.plaintext)


def authenticate_user_token(plaintext: str) -> UserToken | None:
    """The live token for ``plaintext`` (its user loaded), or ``None`` if malformed, unknown, expired or revoked."""
    parts = token_parts.split(plaintext, TOKEN_SCHEME)
    if parts is None:
        return None
    prefix, secret = parts
    token = UserToken.objects.live().select_related("user").filter(prefix=prefix).first()
    if token is None or not token.user.is_active or not token_parts.secret_matches(secret, token.secret_hash):
        return None
    token_parts.record_use(token)
    return token


def revoke_user_token(*, token: UserToken) -> UserToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
