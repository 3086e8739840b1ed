"""The platform's one visibility rule: who may see a row that may be private to a Webin submitter.

* Anyone sees public rows.
* A submitter sees the private rows of their own Webin account (their username is the account id,
  e.g. ``Webin-777``).
* A user holding :data:`VIEW_PRIVATE_PERMISSION` (curators, superusers) sees every private row.
  ``is_staff`` alone grants nothing: staff reach the admin, permissions decide what they see there.

Everything that reads private data (API lists, details and counts, DRS objects and bundles, exports,
the work ledger's reads, the admin) asks this module. What is hidden is answered like what is missing.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q

#: The permission (``app_label.codename``) that lets a user see every private row.
VIEW_PRIVATE_PERMISSION = "accounts.view_private_data"
#: A Webin submission account id, the owner of private ENA data.
WEBIN_ACCOUNT_PATTERN = re.compile(r"^Webin-[0-9]{1,12}$")


def is_authenticated(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "is_active", True))


def webin_account(user: Any) -> str | None:
    """The Webin account whose private data ``user`` owns, or ``None`` (anonymous, staff accounts)."""
    if not is_authenticated(user):
        return None
    username = user.get_username()
    return username if WEBIN_ACCOUNT_PATTERN.match(username) else None


def sees_all_private(user: Any) -> bool:
    """Whether ``user`` may see every private row (the permission, or a superuser)."""
    return is_authenticated(user) and user.has_perm(VIEW_PRIVATE_PERMISSION)


def sees_only_public(user: Any) -> bool:
    """Whether ``user`` sees public rows alone (anonymous callers; accounts with neither Webin data nor the
    permission): what is counted for them can be counted ahead (``analyses.public_counts``)."""
    return not sees_all_private(user) and webin_account(user) is None


def visibility_filter(user: Any) -> Q | None:
    """The rows ``user`` may see as a ``Q`` over ``is_private``/``webin_submitter``; ``None`` means all rows."""
    if sees_all_private(user):
        return None
    account = webin_account(user)
    if account is None:
        return Q(is_private=False)
    return Q(is_private=False) | Q(webin_submitter=account)


def may_see(user: Any, *, is_private: bool, owner: str) -> bool:
    """The same rule for one row already loaded."""
    if not is_private or sees_all_private(user):
        return True
    account = webin_account(user)
    return account is not None and account == owner
