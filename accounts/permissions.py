"""What a user may do beyond reading public data: one Django permission per action.

``is_staff`` lets a user into the admin and nothing more; each action needs its permission (a
superuser has them all). Curators get the :data:`CURATORS_GROUP` group.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from core.errors import PermissionDenied
from core.visibility import VIEW_PRIVATE_PERMISSION, is_authenticated

#: The group curators are put in: every capability but managing other people's tokens.
CURATORS_GROUP = "curators"


class Capability(models.TextChoices):
    """Permissions as ``app_label.codename`` (what ``user.has_perm`` takes), with their descriptions."""

    VIEW_PRIVATE_DATA = VIEW_PRIVATE_PERMISSION, "See every private study, sample, run, analysis and file"
    LAUNCH_ANALYSES = "accounts.launch_analyses", "Start analyses of studies"
    RERUN_ANALYSES = "accounts.rerun_analyses", "Ask for failed or completed analyses to run again"
    MANAGE_TOKENS = "accounts.manage_tokens", "List and revoke any user's API tokens"

    @property
    def codename(self) -> str:
        return self.value.partition(".")[2]


CURATOR_CAPABILITIES = (Capability.VIEW_PRIVATE_DATA, Capability.LAUNCH_ANALYSES, Capability.RERUN_ANALYSES)


def has_capability(user: Any, capability: Capability) -> bool:
    return is_authenticated(user) and user.has_perm(capability.value)


def require_capability(user: Any, capability: Capability) -> None:
    """:raises PermissionDenied: unless ``user`` holds ``capability``."""
    if not has_capability(user, capability):
        name = user.get_username() if is_authenticated(user) else "an anonymous user"
        raise PermissionDenied(f"{name} lacks the permission {capability.value!r} ({capability.label.lower()})")
