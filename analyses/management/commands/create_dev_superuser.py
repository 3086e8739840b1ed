"""``manage.py create_dev_superuser``: a superuser for development, without prompts.

Username from ``EMG_DEV_SUPERUSER_USERNAME`` (default ``admin``). Password from
``EMG_DEV_SUPERUSER_PASSWORD``, else a random one generated once into
``.local/dev_superuser_password`` (mode 0600): no published password ever works. Either must pass
Django's password validators. Idempotent: an existing user of that name is made a superuser and
given that password. Refused in the production profile.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.config import LOCAL_STATE_DIR, local_secret

DEFAULT_USERNAME = "admin"
PASSWORD_FILE_NAME = "dev_superuser_password"


class Command(BaseCommand):
    help = "Create or update a development superuser (EMG_DEV_SUPERUSER_PASSWORD or .local/dev_superuser_password)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.EMG_CONFIG.is_production:
            raise CommandError("create_dev_superuser is for development: use createsuperuser in production")
        username = os.environ.get("EMG_DEV_SUPERUSER_USERNAME") or DEFAULT_USERNAME
        password = os.environ.get("EMG_DEV_SUPERUSER_PASSWORD") or local_secret(PASSWORD_FILE_NAME, nbytes=18)
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first() or user_model(
            username=username, email=f"{username}@localhost"
        )
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(f"EMG_DEV_SUPERUSER_PASSWORD: {' '.join(error.messages)}") from None
        created = user.pk is None
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Updated"
        where = (
            "EMG_DEV_SUPERUSER_PASSWORD"
            if os.environ.get("EMG_DEV_SUPERUSER_PASSWORD")
            else (LOCAL_STATE_DIR / PASSWORD_FILE_NAME)
        )
        self.stdout.write(self.style.SUCCESS(f"{verb} superuser {username!r} (log in at /admin/; password: {where})"))
