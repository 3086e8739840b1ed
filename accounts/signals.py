"""Signal receivers: failed logins count towards lock-out; ``migrate`` keeps the curators group up to date."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_login_failed
from django.db.models import Q
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from accounts import throttle
from accounts.permissions import CURATOR_CAPABILITIES, CURATORS_GROUP


@receiver(user_login_failed, dispatch_uid="accounts.count_failed_login")
def count_failed_login(sender: Any, credentials: dict[str, Any], request: Any = None, **_: Any) -> None:
    throttle.record_failed_login(credentials.get("username"), request)


#: What curators may do in the admin besides the capabilities: see everything, edit curated metadata.
CURATOR_ADMIN_PERMISSIONS = (
    *(
        f"{app}.view_{model}"
        for app, model in (
            ("analyses", "biome"),
            ("analyses", "study"),
            ("analyses", "sample"),
            ("analyses", "run"),
            ("analyses", "assembly"),
            ("analyses", "analysis"),
            ("ena", "study"),
            ("ena", "sample"),
            ("ena", "run"),
            ("drs", "drsobject"),
            # the work ledger's app label is ``workflows`` (the app it began in), not ``ledger``
            ("workflows", "pipeline"),
            ("workflows", "workitem"),
            ("workflows", "workevent"),
        )
    ),
    "analyses.change_study",
    "analyses.change_sample",
    "analyses.change_run",
    "analyses.change_analysis",
)


@receiver(post_migrate, dispatch_uid="accounts.ensure_curators_group")
def ensure_curators_group(sender: Any, **_: Any) -> None:
    """After ``migrate``: the ``curators`` group holds the curator capabilities and admin permissions.

    Run after every app's migrations (idempotent), since each app's permissions appear only after its own.
    """
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    wanted = [capability.value for capability in CURATOR_CAPABILITIES] + list(CURATOR_ADMIN_PERMISSIONS)
    query = Q()
    for name in wanted:
        app_label, _, codename = name.partition(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    group.permissions.add(*Permission.objects.filter(query))
