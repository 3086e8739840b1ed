"""Shared fixtures. Tests run against real Postgres (EMG_DATABASE__URL, set by `task test`)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from core.config import StorageConfig


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("admin", "admin@example.org", "admin-password")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def storage(settings, tmp_path) -> StorageConfig:
    """Point ``EMG_CONFIG.storage`` at fresh results and exports roots under ``tmp_path``."""
    config = StorageConfig(
        work_root=tmp_path / "work", results_root=tmp_path / "results", exports_root=tmp_path / "exports"
    )
    for root in (config.results_root, config.exports_root):
        root.mkdir(parents=True)
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"storage": config})
    return config
