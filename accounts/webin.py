"""Checks a Webin account's password with the Webin authentication service (ENA's, or the local mirror's).

The service answers ``POST {"authRealms": ["ENA"], "username", "password"}`` with 200 and a token for
good credentials, 401/403 otherwise. The password is sent, never logged, never stored.
"""

from __future__ import annotations

import logging

import httpx
from django.conf import settings

logger = logging.getLogger(__name__)


def credentials_valid(account: str, password: str) -> bool:
    """Whether the Webin service accepts ``account``/``password``; ``False`` when it cannot be reached.

    :param account: a Webin account id, e.g. ``Webin-777``
    :param password: its password
    """
    config = settings.EMG_CONFIG.webin
    if config.auth_url is None:
        return False
    try:
        response = httpx.post(
            str(config.auth_url),
            json={"authRealms": ["ENA"], "username": account, "password": password},
            timeout=config.auth_timeout_seconds,
        )
    except httpx.HTTPError as error:
        logger.warning("Webin authentication service unreachable (%s): %s", config.auth_url, type(error).__name__)
        return False
    if response.status_code == 200:
        return True
    if response.status_code not in (401, 403):
        logger.warning("Webin authentication service answered %s for %s", response.status_code, account)
    return False
