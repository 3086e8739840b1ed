"""Activate Django for Prefect flows and workers, and expose ``EMG_CONFIG``.

Flows import this before any model::

    from workflows.django_activation import EMG_CONFIG

ruff's isort settings (pyproject.toml) give this module its own import section ahead of the
project's other modules, so the ordering is enforced by the linter rather than by a rule switched off.
"""

from __future__ import annotations

import os

import django
from django.apps import apps
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emgapiv2.settings")
if not apps.ready:
    django.setup()

EMG_CONFIG = settings.EMG_CONFIG

__all__ = ["EMG_CONFIG"]
