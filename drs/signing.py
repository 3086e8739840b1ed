"""Signed, expiring access URLs for private DRS blobs, verified by the platform's own file view.

A signature is an HMAC-SHA256 (keyed from ``SECRET_KEY`` via ``salted_hmac``) over the object id and
the expiry time, so neither can be changed without invalidating it. Lifetimes are bounded by
``EMG_DRS__MAX_ACCESS_URL_SECONDS`` on both sides: a longer one is neither issued nor accepted, so even
a signature made with a leaked key is only good for that long.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from core.config import DrsConfig

SALT = "drs.signing.access-url"


class SignatureError(Exception):
    """The signed URL is not valid; ``reason`` says why (shown to the caller)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ForgedSignature(SignatureError):
    """Missing, malformed or wrong signature parameters, or a lifetime no genuine URL has: not to be trusted."""


class ExpiredSignature(SignatureError):
    """A genuine signature past its expiry: the caller should ask for a new URL."""


@dataclass(frozen=True)
class SignedParams:
    expires: int
    signature: str

    def query(self) -> str:
        return urlencode({"expires": self.expires, "signature": self.signature})


def _drs_config() -> DrsConfig:
    return settings.EMG_CONFIG.drs


def access_url_ttl_seconds() -> int:
    """How long a signed URL stays valid (``EMG_DRS__ACCESS_URL_SECONDS``, default one hour)."""
    return _drs_config().access_url_seconds


def _signature(object_id: str, expires: int) -> str:
    return salted_hmac(SALT, f"{object_id}\n{expires}", algorithm="sha256").hexdigest()


def sign(object_id: str, *, ttl_seconds: int | None = None, now: float | None = None) -> SignedParams:
    """Signature parameters that let anyone holding them fetch ``object_id`` until they expire.

    :param object_id: the blob's DRS id
    :param ttl_seconds: validity; default ``access_url_ttl_seconds()``
    :param now: the current Unix time (for tests)
    :raises ValueError: ``ttl_seconds`` above ``EMG_DRS__MAX_ACCESS_URL_SECONDS``
    """
    ttl = access_url_ttl_seconds() if ttl_seconds is None else ttl_seconds
    cap = _drs_config().max_access_url_seconds
    if ttl > cap:
        raise ValueError(f"A signed URL may live at most {cap} s (EMG_DRS__MAX_ACCESS_URL_SECONDS), not {ttl} s")
    expires = int((time.time() if now is None else now) + ttl)
    return SignedParams(expires=expires, signature=_signature(object_id, expires))


def verify(object_id: str, *, expires: str | None, signature: str | None, now: float | None = None) -> None:
    """Check signature parameters for ``object_id``.

    The lifetime cap is checked before the signature, so a URL no genuine signer could have issued is
    refused whatever key signed it.

    :raises ForgedSignature: parameters missing, malformed or tampered with, or an expiry beyond the cap
    :raises ExpiredSignature: a genuine signature whose expiry has passed
    """
    if not expires or not signature:
        raise ForgedSignature("This object is private: a signed access URL is required")
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        raise ForgedSignature("Malformed expiry in the signed URL")
    expires_at = int(expires)
    current = time.time() if now is None else now
    if expires_at > current + _drs_config().max_access_url_seconds:
        raise ForgedSignature("Invalid signature: the expiry is beyond the longest lifetime a signed URL may have")
    if not constant_time_compare(_signature(object_id, expires_at), signature):
        raise ForgedSignature("Invalid signature")
    if expires_at < current:
        raise ExpiredSignature("The signed URL has expired; request a new one from the access endpoint")
