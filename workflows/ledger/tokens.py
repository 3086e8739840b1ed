"""API tokens of the work ledger: ``emgl_<prefix>_<secret>``, stored as ``sha256(secret)`` (see :mod:`core.tokens`).

Roles: an **admin** token creates pipelines and tokens and may act on any pipeline's work; a
**pipeline** token acts on its own pipeline's work only. Reads need no token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from core import tokens as token_parts
from core.errors import PermissionDenied
from workflows.ledger.models import APIToken, Pipeline, TokenRole, WorkItem

TOKEN_SCHEME = "emgl"


@dataclass(frozen=True)
class IssuedToken:
    """A freshly minted token: ``plaintext`` is shown once and never stored."""

    token: APIToken
    plaintext: str


def issue_token(
    *,
    name: str,
    role: TokenRole | str,
    pipeline: Pipeline | None = None,
    expires_at: datetime | None = None,
    created_by: str = "",
) -> IssuedToken:
    """Mint a token and store its hash.

    :param name: a label that shows up as the actor of what the token does
    :param role: ``admin`` or ``pipeline``
    :param pipeline: the pipeline a ``pipeline`` token is limited to (``None`` for admin)
    :param expires_at: when the token stops working (``None``: never)
    :param created_by: who asked for it (recorded)
    """
    role = TokenRole(role)
    if (role == TokenRole.PIPELINE) != (pipeline is not None):
        raise ValueError("a pipeline token needs a pipeline and an admin token must not have one")
    minted = token_parts.mint(TOKEN_SCHEME)
    token = APIToken.objects.create(
        name=name,
        prefix=minted.prefix,
        secret_hash=minted.secret_hash,
        role=role,
        pipeline=pipeline,
        expires_at=expires_at,
        created_by=created_by,
    )
    return IssuedToken(token=token, plaintext=minted.plaintext)


def revoke_token(*, token: APIToken) -> APIToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_token(plaintext: str) -> APIToken | None:
    """The live token for ``plaintext``, or ``None`` if it is malformed, unknown, expired or revoked."""
    parts = token_parts.split(plaintext, TOKEN_SCHEME)
    if parts is None:
        return None
    prefix, secret = parts
    now = timezone.now()
    token = (
        APIToken.objects.select_related("pipeline")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None or not token_parts.secret_matches(secret, token.secret_hash):
        return None
    token_parts.record_use(token)
    return token


def token_actor(token: APIToken, holder: str | None = None) -> str:
    """How a token (and the lease holder using it) is named in the event log."""
    label = f"token:{token.name}"
    return f"{label}/{holder}" if holder else label


def require_admin(token: APIToken) -> None:
    """:raises PermissionDenied: unless ``token`` is an admin token."""
    if token.role != TokenRole.ADMIN:
        raise PermissionDenied(f"Token '{token.name}' is a pipeline token; this needs an admin token.")


def require_pipeline_access(token: APIToken, pipeline: Pipeline) -> None:
    """:raises PermissionDenied: unless ``token`` is an admin token or a token for ``pipeline``."""
    if token.role == TokenRole.ADMIN:
        return
    if token.pipeline_id != pipeline.pk:
        raise PermissionDenied(f"Token '{token.name}' may act on pipeline '{token.pipeline}' only, not '{pipeline}'.")


def require_items_access(token: APIToken, item_ids: Sequence[int]) -> None:
    """:raises PermissionDenied: unless ``token`` is an admin token or every item is of its pipeline."""
    if token.role == TokenRole.ADMIN:
        return
    if WorkItem.objects.filter(pk__in=list(item_ids)).exclude(pipeline_id=token.pipeline_id).exists():
        raise PermissionDenied(f"Token '{token.name}' may act on pipeline '{token.pipeline}' only")


class LedgerTokenAuth(HttpBearer):
    """``Authorization: Bearer emgl_...``: any live ledger token; the endpoint checks its role."""

    openapi_description = "A work-ledger token, `emgl_<prefix>_<secret>` (admin or pipeline)."

    def authenticate(self, request: HttpRequest, token: str) -> APIToken | None:
        return authenticate_token(token)


ledger_auth = LedgerTokenAuth()
