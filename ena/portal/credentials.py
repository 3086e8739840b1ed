"""The platform's Webin credentials as HTTP Basic auth: what ENA wants for private metadata and private files."""

from __future__ import annotations

import httpx

from core.config import WebinConfig

#: The settings that hold the credentials, for messages saying they are missing.
WEBIN_SETTINGS = "EMG_WEBIN__EMG_WEBIN_ACCOUNT and EMG_WEBIN__EMG_WEBIN_PASSWORD"


def webin_basic_auth(webin: WebinConfig) -> httpx.BasicAuth | None:
    """HTTP Basic auth of the configured Webin account, or None when account or password is not set."""
    if not webin.emg_webin_account or webin.emg_webin_password is None:
        return None
    return httpx.BasicAuth(webin.emg_webin_account, webin.emg_webin_password.get_secret_value())
