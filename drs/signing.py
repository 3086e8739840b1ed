"""Signed, expiring access URLs for private DRS blobs, verified by the platform's own file view.

A signature is an HMAC-SHA256 (keyed from ``SECRET_KEY`` via ``salted_hmac``) over the object id and
the expiry time, so neither can be changed without invalidating it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "drs.signing.access-url"
DEFAULT_TTL_SECONDS = 3600


class SignatureError(Exception):
    """The signed URL is not valid; ``reason`` says why (shown to the caller)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedParams:
    expires: int
    signature: str

    def query(self) -> str:
        return urlencode({"expires": self.expires, "signature": self.signature})


def access_url_ttl_seconds() -> int:
    """How long a signed URL stays valid (``settings.DRS_ACCESS_URL_TTL_SECONDS``, default one hour)."""
    return int(getattr(settings, "DRS_ACCESS_URL_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def _signature(object_id: str, expires: int) -> str:
    return salted_hmac(SALT, f"{object_id}\n{expires}", algorithm="sha256").hexdigest()


def sign(object_id: str, *, ttl_seconds: int | None = None, now: float | None = None) -> SignedParams:
    """Signature parameters that let anyone holding them fetch ``object_id`` until they expire.

    :param object_id: the blob's DRS id
    :param ttl_seconds: validity; default ``access_url_ttl_seconds()``
    :param now: the current Unix time (for tests)
    """
    ttl = access_url_ttl_seconds() if ttl_seconds is None else ttl_seconds
    expires = int((time.time() if now is None else now) + ttl)
    return SignedParams(expires=expires, signature=_signature(object_id, expires))


def verify(object_id: str, *, expires: str | None, signature: str | None, now: float | None = None) -> None:
    """Check signature parameters for ``object_id``.

    :raises SignatureError: when they are missing, malformed, tampered with or expired
    """
    if not expires or not signature:
        raise SignatureError("This object is private: a signed access URL is required")
    try:
        expires_at = int(expires)
    except ValueError:
        raise SignatureError("Malformed expiry in the signed URL") from None
    if not constant_time_compare(_signature(object_id, expires_at), signature):
        raise SignatureError("Invalid signature")
    if expires_at < (time.time() if now is None else now):
        raise SignatureError("The signed URL has expired; request a new one from the access endpoint")
