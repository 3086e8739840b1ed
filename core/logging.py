"""Keep secrets out of logs: a filter that redacts configured secrets and bearer credentials from every record.

Installed on the console handler in ``settings.LOGGING``. It masks the value of every ``SecretStr`` in
``EMG_CONFIG`` (the secret key, the Webin password, ...), the password in the database URL, the value of
any ``Authorization`` header and anything that looks like a platform token (``emgu_…``, ``emgl_…``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

from core.config import EMGConfig, current_config

REDACTED = "[REDACTED]"
#: Shorter secrets are not masked: replacing every "ab" in a log would destroy it and hide almost nothing.
MIN_SECRET_LENGTH = 4
#: ``Authorization: Bearer x``, ``'HTTP_AUTHORIZATION': 'Basic x'``, ``authorization=x``: the value up to a quote,
#: comma, brace or line end.
AUTHORIZATION = re.compile(r"""(authorization['"]?\s*[:=]\s*['"]?)[^'"\r\n,}]+""", re.IGNORECASE)
#: Platform tokens ``emgu_<prefix>_<secret>`` and ``emgl_<prefix>_<secret>``: the public prefix is kept.
TOKEN = re.compile(r"\b(emg[lu]_(?:[0-9a-f]{8}_)?)[A-Za-z0-9_-]{4,}")


def secret_values(config: EMGConfig) -> list[str]:
    """Every secret the configuration holds, longest first (so a secret containing another is masked whole)."""
    found = set(_secret_strs(config))
    if config.database.url:
        password = urlsplit(config.database.url).password
        if password:
            found.update({password, unquote(password)})
    return sorted((value for value in found if len(value) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _secret_strs(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secret_strs(getattr(value, name))
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from _secret_strs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_strs(item)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with the given secrets, ``Authorization`` values and token-looking strings replaced."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = AUTHORIZATION.sub(rf"\g<1>{REDACTED}", text)
    return TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """Rewrites each record's message, traceback and stack with secrets masked; never drops a record.

    The message is formatted here (``msg % args``) because a secret can arrive in the arguments.
    """

    def __init__(self, config: EMGConfig | None = None, name: str = ""):
        super().__init__(name)
        self._config = config
        self._secrets: list[str] | None = None

    @property
    def secrets(self) -> list[str]:
        if self._secrets is None:
            self._secrets = secret_values(self._config or current_config())
        return self._secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the handler's to report, not ours
            return True
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True
