"""Who may read a DRS object: :mod:`core.visibility`, with what is hidden answered as missing (404).

The caller is ``request.user``, identified once by :class:`accounts.middleware.APICredentialsMiddleware`
(session, user token or HTTP Basic); bad credentials were already answered with 401 there.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from core.errors import NotFound
from drs.models import DrsObject


def request_user(request: HttpRequest) -> Any:
    """The caller (possibly anonymous)."""
    return getattr(request, "user", None)


def check_readable(obj: DrsObject, user: Any) -> None:
    """:raises NotFound: ``obj`` is private and ``user`` may not see it (so ids cannot be probed for existence)."""
    if not obj.is_visible_to(user):
        raise NotFound(f"No DRS object with id {obj.id}")
