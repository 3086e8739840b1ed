"""``manage.py create_dev_superuser``: a superuser for development, without prompts.

Username and password come from ``EMG_DEV_SUPERUSER_USERNAME`` / ``EMG_DEV_SUPERUSER_PASSWORD``
(defaults ``admin`` / ``admin``; for development only). Idempotent: an existing user of that name is
made a superuser and given that password.
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create or update a development superuser from EMG_DEV_SUPERUSER_USERNAME/_PASSWORD (admin/admin)."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("EMG_DEV_SUPERUSER_USERNAME") or DEFAULT_USERNAME
        password = os.environ.get("EMG_DEV_SUPERUSER_PASSWORD") or DEFAULT_PASSWORD
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@localhost"}
        )
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} superuser {username!r} (log in at /admin/)"))
