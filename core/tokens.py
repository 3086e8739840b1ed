"""Bearer tokens ``<scheme>_<prefix>_<secret>``, stored as ``sha256(secret)``: the parts every token kind shares.

The prefix (8 hex characters) is stored in clear and indexed, so a request costs one indexed lookup
and one constant-time comparison. The secret has 256 bits of entropy, so a plain sha256 (not a slow
password hash) is the right tool: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

#: ``last_used_at`` is written at most this often per token, so busy tokens cause no write contention.
LAST_USED_RESOLUTION = timedelta(seconds=60)
PREFIX_BYTES = 4
SECRET_BYTES = 32
#: What a well-formed token looks like; anything else is refused before a query is made.
TOKEN_PATTERN = re.compile(r"^(?P<scheme>[a-z]{2,8})_(?P<prefix>[0-9a-f]{8})_(?P<secret>[A-Za-z0-9_-]{20,100})$")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MintedSecret:
    """A new token: ``plaintext`` is shown once; ``prefix`` and ``secret_hash`` are what is stored."""

    plaintext: str
    prefix: str
    secret_hash: str


def mint(scheme: str) -> MintedSecret:
    """A fresh random token of ``scheme`` (e.g. ``emgu``)."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return MintedSecret(plaintext=f"{scheme}_{prefix}_{secret}", prefix=prefix, secret_hash=hash_secret(secret))


def split(plaintext: str, scheme: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed token of ``scheme``, else ``None``."""
    match = TOKEN_PATTERN.match(plaintext.strip())
    if match is None or match["scheme"] != scheme:
        return None
    return match["prefix"], match["secret"]


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(secret_hash, hash_secret(secret))


def scheme_of(plaintext: str) -> str | None:
    """The scheme of something that looks like a token (``emgu``, ``emgl``), else ``None``."""
    match = TOKEN_PATTERN.match(plaintext.strip())
    return match["scheme"] if match else None


def record_use(token: Any) -> None:
    """Set ``token.last_used_at`` to now, at most once per :data:`LAST_USED_RESOLUTION`.

    The update is conditional, so concurrent requests with one token do not queue on its row.

    :param token: a token model instance with ``pk`` and ``last_used_at``
    """
    now = timezone.now()
    stale = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at >= stale:
        return
    manager: models.Manager = type(token)._default_manager
    manager.filter(pk=token.pk).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)).update(
        last_used_at=now
    )
