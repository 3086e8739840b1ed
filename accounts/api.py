"""``/api/v2/auth/``: who am I, and a user's own API tokens.

A submitter signs in with their Webin account (HTTP Basic, checked by the Webin service) or a
session, mints a token here, and uses ``Authorization: Bearer emgu_…`` from then on. A token cannot
mint tokens: that needs the password (or a session), so a leaked token cannot outlive its expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status

from accounts.auth import signed_in
from accounts.models import TokenScope, UserToken
from accounts.permissions import Capability, has_capability
from accounts.tokens import issue_user_token, revoke_user_token
from core.api import ErrorOut
from core.errors import NotFound, PermissionDenied
from core.visibility import webin_account

router = Router(auth=signed_in, tags=["Accounts"])

ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 422, 429)}
TOKEN_PREFIX_PATTERN = r"^[0-9a-f]{8}$"


class UserTokenIn(Schema):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[\w .:@+-]+$", description="A label of your choice")
    scopes: list[TokenScope] = Field(default=[TokenScope.READ], max_length=2, description="read is always included")
    expires_in_days: int = Field(30, ge=1, le=366, description="Lifetime in days (the server caps it)")


class UserTokenOut(Schema):
    prefix: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedUserTokenOut(UserTokenOut):
    token: str = Field(description="The token itself: shown in this response only, never again")


class MeOut(Schema):
    username: str
    webin_account: str | None = Field(description="The Webin account whose private data you see, if any")
    capabilities: list[str] = Field(description="Permissions held, e.g. accounts.launch_analyses")
    credentials: str = Field(description="How this request identified you: session, basic or token")
    token: UserTokenOut | None = None


@router.get("/me", response={200: MeOut, **ERRORS}, summary="Who the request is authenticated as")
def me(request: HttpRequest):
    user = request.user
    token = getattr(request, "api_token", None)
    return {
        "username": user.get_username(),
        "webin_account": webin_account(user),
        "capabilities": [capability.value for capability in Capability if has_capability(user, capability)],
        "credentials": getattr(request, "credentials", None) or "session",
        "token": token,
    }


@router.post("/tokens", response={201: IssuedUserTokenOut, **ERRORS}, summary="Mint an API token for yourself")
def create_token(request: HttpRequest, payload: UserTokenIn):
    """Needs your password (HTTP Basic) or a session, not a token. The response holds the token once."""
    if getattr(request, "api_token", None) is not None:
        raise PermissionDenied("A token cannot mint tokens: authenticate with your password (HTTP Basic)")
    issued = issue_user_token(
        user=request.user,
        name=payload.name,
        scopes=payload.scopes,
        lifetime=timedelta(days=payload.expires_in_days),
    )
    issued.token.token = issued.plaintext
    return Status(201, issued.token)


@router.get("/tokens", response={200: list[UserTokenOut], **ERRORS}, summary="Your tokens (never their secrets)")
def list_tokens(request: HttpRequest):
    return UserToken.objects.filter(user=request.user).order_by("-created_at")[:100]


@router.post(
    "/tokens/{prefix}/revoke", response={200: UserTokenOut, **ERRORS}, summary="Revoke one of your tokens at once"
)
def revoke_token(request: HttpRequest, prefix: str = Path(..., pattern=TOKEN_PREFIX_PATTERN)):
    """Your own tokens; a user with ``accounts.manage_tokens`` may revoke anyone's. Others' are 404."""
    tokens = UserToken.objects.filter(prefix=prefix)
    if not has_capability(request.user, Capability.MANAGE_TOKENS):
        tokens = tokens.filter(user=request.user)
    token = tokens.first()
    if token is None:
        raise NotFound(f"No token {prefix}")
    return revoke_user_token(token=token)
