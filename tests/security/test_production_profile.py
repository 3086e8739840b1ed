"""The production profile refuses unsafe settings, development has no published key, signed URLs are bounded,
and secrets stay out of logs.

The profile tests run ``manage.py`` in a subprocess with a clean ``EMG_*`` environment: refusing to start is
something only a fresh process can show.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import stat
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.utils.crypto import salted_hmac

from core import config as core_config
from core.config import EMGConfig, load_config
from core.logging import REDACTED, RedactSecretsFilter
from drs.signing import SALT, ExpiredSignature, ForgedSignature, SignatureError, sign, verify

#: The key every installation ran on before the profile existed, published in the repository.
OLD_PUBLISHED_KEY = "dev-only-insecure-secret-key-change-me"
OBJECT_ID = "sha256-" + "ab" * 32
TEN_YEARS = 10 * 365 * 24 * 3600
STRONG_KEY = secrets.token_urlsafe(50)
PRODUCTION = {
    "EMG_ENVIRONMENT": "production",
    "EMG_SECRET_KEY": STRONG_KEY,
    "EMG_ALLOWED_HOSTS": '["www.example.org"]',
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``manage.py *args`` with only the given ``EMG_*`` variables (plus the test database)."""
    environment = {key: val for key, val in os.environ.items() if not key.startswith("EMG_")}
    environment["EMG_DATABASE__URL"] = os.environ.get(
        "EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/emg_api"
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=core_config.PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_finds_no_issues_in_production():
    result = _manage("check", "--deploy", **PRODUCTION)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_turns_on_https_hardening_behind_a_proxy():
    names = [
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_PROXY_SSL_HEADER",
        "ALLOWED_HOSTS",
    ]
    code = f"from django.conf import settings; print(repr([getattr(settings, name) for name in {names!r}]))"
    result = _manage(
        "shell", "-c", code, **PRODUCTION, EMG_SECURITY__PROXY_SSL_HEADER='["HTTP_X_FORWARDED_PROTO","https"]'
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == repr(
        [31_536_000, True, True, True, True, ("HTTP_X_FORWARDED_PROTO", "https"), ["www.example.org"]]
    )


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"EMG_SECRET_KEY": None}, "EMG_SECRET_KEY"),
        ({"EMG_SECRET_KEY": ""}, "EMG_SECRET_KEY"),
        ({"EMG_SECRET_KEY": OLD_PUBLISHED_KEY}, "EMG_SECRET_KEY"),
        ({"EMG_SECRET_KEY": secrets.token_hex(20)}, "EMG_SECRET_KEY"),  # 40 characters
        ({"EMG_SECRET_KEY": "abcd" * 20}, "EMG_SECRET_KEY"),  # long, but 4 distinct characters
        ({"EMG_SECRET_KEY": "django-insecure-" + secrets.token_urlsafe(50)}, "EMG_SECRET_KEY"),
        ({"EMG_DEBUG": "true"}, "EMG_DEBUG"),
        ({"EMG_ALLOWED_HOSTS": '["*"]'}, "EMG_ALLOWED_HOSTS"),
        ({"EMG_ALLOWED_HOSTS": '["www.example.org", "*"]'}, "EMG_ALLOWED_HOSTS"),
        ({"EMG_ALLOWED_HOSTS": "[]"}, "EMG_ALLOWED_HOSTS"),
        ({"EMG_ALLOWED_HOSTS": None}, "EMG_ALLOWED_HOSTS"),
    ],
    ids=[
        "key-unset",
        "key-empty",
        "key-old-default",
        "key-short",
        "key-few-characters",
        "key-django-insecure",
        "debug",
        "hosts-star",
        "hosts-with-star",
        "hosts-empty",
        "hosts-unset",
    ],
)
def test_production_refuses_to_start(override, named):
    env = {**PRODUCTION, **override}
    result = _manage("check", **{key: value for key, value in env.items() if value is not None})
    print(result.stderr)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Configuration error: {named}:")
    assert "Traceback" not in result.stderr
    key = env.get("EMG_SECRET_KEY")
    assert not key or key not in result.stderr, "the refused key must not be echoed"


def test_development_generates_its_key_once(monkeypatch, tmp_path):
    monkeypatch.setattr(core_config, "LOCAL_STATE_DIR", tmp_path / "state")
    monkeypatch.delenv("EMG_SECRET_KEY", raising=False)
    monkeypatch.delenv("EMG_ENVIRONMENT", raising=False)
    first = load_config()
    key_file = tmp_path / "state" / core_config.DEV_SECRET_KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = load_config()
    key = first.secret_key.get_secret_value()
    assert key == second.secret_key.get_secret_value() == key_file.read_text().strip()
    assert key != OLD_PUBLISHED_KEY and core_config.secret_key_weakness(key) is None
    assert key not in repr(first)
    assert [path.name for path in key_file.parent.iterdir()] == [key_file.name], "no temporary file left"


def test_development_keeps_an_explicit_key_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(core_config, "LOCAL_STATE_DIR", tmp_path)
    monkeypatch.setenv("EMG_SECRET_KEY", STRONG_KEY)
    assert EMGConfig().secret_key.get_secret_value() == STRONG_KEY
    assert not any(tmp_path.iterdir())


def test_the_running_key_is_not_the_published_one():
    assert settings.SECRET_KEY != OLD_PUBLISHED_KEY
    assert core_config.secret_key_weakness(settings.SECRET_KEY) is None


def _signature_with(key: str, object_id: str, expires: int) -> str:
    """What an attacker holding ``key`` would compute."""
    return salted_hmac(SALT, f"{object_id}\n{expires}", secret=key, algorithm="sha256").hexdigest()


@pytest.mark.parametrize("lifetime", [600, TEN_YEARS])
def test_url_forged_with_the_old_default_key_is_refused(lifetime):
    expires = int(time.time()) + lifetime
    with pytest.raises(ForgedSignature):
        verify(OBJECT_ID, expires=str(expires), signature=_signature_with(OLD_PUBLISHED_KEY, OBJECT_ID, expires))


def test_genuine_signature_beyond_the_maximum_lifetime_is_refused():
    expires = int(time.time()) + TEN_YEARS
    genuine = _signature_with(settings.SECRET_KEY, OBJECT_ID, expires)
    with pytest.raises(ForgedSignature, match="beyond"):
        verify(OBJECT_ID, expires=str(expires), signature=genuine)
    just_inside = int(time.time()) + settings.EMG_CONFIG.drs.max_access_url_seconds - 60
    verify(OBJECT_ID, expires=str(just_inside), signature=_signature_with(settings.SECRET_KEY, OBJECT_ID, just_inside))


def test_sign_refuses_a_lifetime_above_the_maximum():
    cap = settings.EMG_CONFIG.drs.max_access_url_seconds
    with pytest.raises(ValueError, match="EMG_DRS__MAX_ACCESS_URL_SECONDS"):
        sign(OBJECT_ID, ttl_seconds=cap + 1)
    signed = sign(OBJECT_ID, ttl_seconds=cap)
    verify(OBJECT_ID, expires=str(signed.expires), signature=signed.signature)


def test_sign_uses_the_configured_lifetime(settings):
    drs = settings.EMG_CONFIG.drs.model_copy(update={"access_url_seconds": 120})
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"drs": drs})
    now = time.time()
    assert sign(OBJECT_ID, now=now).expires == int(now + 120)


def test_expired_genuine_signature_is_expired_not_forged():
    signed = sign(OBJECT_ID, now=time.time() - 7200)
    with pytest.raises(ExpiredSignature, match="expired"):
        verify(OBJECT_ID, expires=str(signed.expires), signature=signed.signature)


@pytest.mark.parametrize(
    ("expires", "signature"),
    [
        (None, "ab" * 32),
        ("", "ab" * 32),
        ("1900000000", None),
        ("abc", "ab" * 32),
        ("-5", "ab" * 32),
        ("1e10", "ab" * 32),
        ("１２３", "ab" * 32),  # fullwidth digits: int() would accept them
        ("9" * 5000, "ab" * 32),
        (None, None),
    ],
)
def test_missing_and_malformed_parameters_are_forged(expires, signature):
    with pytest.raises(ForgedSignature):
        verify(OBJECT_ID, expires=expires, signature=signature)


def test_tampered_signature_and_other_object_are_forged():
    signed = sign(OBJECT_ID)
    # another last digit: a fixed "0" left one signature in 16 untouched, and the test failed then
    tampered = signed.signature[:-1] + ("1" if signed.signature.endswith("0") else "0")
    with pytest.raises(ForgedSignature):
        verify(OBJECT_ID, expires=str(signed.expires), signature=tampered)
    with pytest.raises(ForgedSignature):
        verify("sha256-" + "cd" * 32, expires=str(signed.expires), signature=signed.signature)
    with pytest.raises(ForgedSignature):
        verify(OBJECT_ID, expires=str(signed.expires + 1), signature=signed.signature)
    assert issubclass(ForgedSignature, SignatureError) and issubclass(ExpiredSignature, SignatureError)


@pytest.fixture
def console_output():
    """What the configured console handler writes, while the test runs."""
    handler = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(each, RedactSecretsFilter) for each in handler.filters)
    )
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def test_log_filter_redacts_the_secret_key_headers_and_tokens(console_output):
    key = settings.SECRET_KEY
    token = "emgu_0123abcd_" + secrets.token_urlsafe(32)
    ledger = "emgl_89abcdef_" + secrets.token_urlsafe(32)
    log = logging.getLogger("emgapiv2.test_security")
    log.warning("key=%s", key)
    log.warning("request headers: %s", {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "application/json"})
    log.warning("Authorization: Bearer %s", token)
    log.warning("META HTTP_AUTHORIZATION='Bearer abc.def.ghi' and a stray %s in text", ledger)
    try:
        raise RuntimeError(f"failed with {key}")
    except RuntimeError:
        log.exception("boom")
    output = console_output.getvalue()
    print(output)
    for secret in (key, "dXNlcjpwYXNz", token, ledger, "abc.def.ghi"):
        assert secret not in output
    assert output.count(REDACTED) >= 6
    assert "application/json" in output and "emgl_89abcdef_" in output, "non-secret text and prefixes are kept"
    assert "RuntimeError" in output


def test_log_filter_redacts_every_configured_secret():
    """Through ``settings.LOGGING`` in a fresh process, so the filter reads the configuration it is given."""
    webin, db_password = secrets.token_urlsafe(16), "p%40ss-" + secrets.token_hex(8)
    code = (
        "import logging, django; django.setup(); from django.conf import settings; "
        "log = logging.getLogger('analyses.anything'); "
        "log.error('key %s webin %s db %s', settings.SECRET_KEY, "
        "settings.EMG_CONFIG.webin.emg_webin_password.get_secret_value(), settings.EMG_CONFIG.database.url); "
        "log.error('decoded db password: %s', settings.DATABASES['default']['PASSWORD'])"
    )
    env = {key: val for key, val in os.environ.items() if not key.startswith("EMG_")}
    env.update(
        EMG_SECRET_KEY=STRONG_KEY,
        EMG_WEBIN__EMG_WEBIN_PASSWORD=webin,
        EMG_DATABASE__URL=f"postgresql://emg:{db_password}@127.0.0.1:5432/emg",
        DJANGO_SETTINGS_MODULE="emgapiv2.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=core_config.PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(result.stderr)
    assert result.returncode == 0, result.stderr
    for secret in (STRONG_KEY, webin, db_password, "p@ss-"):
        assert secret not in result.stderr
    assert "postgresql://emg:" + REDACTED + "@127.0.0.1" in result.stderr
