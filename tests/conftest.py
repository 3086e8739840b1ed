"""Shared fixtures. Tests run against real Postgres (EMG_DATABASE__URL, set by `task test`)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.org", "admin-password")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client
