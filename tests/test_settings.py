"""Settings come from EMG_-prefixed environment variables with ``__`` nesting; bad ones fail in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings

from core.config import PROJECT_ROOT, DrsConfig, EMGConfig, Environment, load_config


def test_nested_settings_from_environment(monkeypatch):
    monkeypatch.setenv("EMG_WEBIN__EMG_WEBIN_ACCOUNT", "Webin-42")
    monkeypatch.setenv("EMG_WEBIN__EMG_WEBIN_PASSWORD", "hunter2")
    monkeypatch.setenv("EMG_SLURM__DEFAULT_PARTITION", "bigmem")
    monkeypatch.setenv("EMG_SLURM__DEFAULT_CPUS", "8")
    monkeypatch.setenv("EMG_ENA__PORTAL_API_URL", "http://127.0.0.1:8765/ena/portal/api/")
    monkeypatch.setenv("EMG_DEBUG", "true")
    config = load_config()
    assert config.webin.emg_webin_account == "Webin-42"
    assert config.webin.emg_webin_password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(config)
    assert (config.slurm.default_partition, config.slurm.default_cpus) == ("bigmem", 8)
    assert str(config.ena.portal_api_url) == "http://127.0.0.1:8765/ena/portal/api/"
    assert config.debug is True


def test_unprefixed_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("SLURM__DEFAULT_PARTITION", "nope")
    monkeypatch.delenv("EMG_SLURM__DEFAULT_PARTITION", raising=False)
    assert EMGConfig().slurm.default_partition == "pipelines"


def test_config_is_frozen_and_reachable_from_django_settings():
    assert isinstance(settings.EMG_CONFIG, EMGConfig)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        settings.EMG_CONFIG.debug = True


def test_development_answers_only_loopback_hosts_unless_told(monkeypatch):
    monkeypatch.delenv("EMG_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("EMG_ENVIRONMENT", raising=False)
    assert load_config().allowed_hosts == ["127.0.0.1", "localhost", "[::1]"]
    monkeypatch.setenv("EMG_ALLOWED_HOSTS", '["dev.example.org"]')
    assert load_config().allowed_hosts == ["dev.example.org"]


def test_drs_lifetimes_from_environment(monkeypatch):
    monkeypatch.setenv("EMG_DRS__ACCESS_URL_SECONDS", "600")
    monkeypatch.setenv("EMG_DRS__MAX_ACCESS_URL_SECONDS", "3600")
    drs = load_config().drs
    assert (drs.access_url_seconds, drs.max_access_url_seconds) == (600, 3600)
    assert (EMGConfig.model_fields["drs"].default.access_url_seconds, DrsConfig().max_access_url_seconds) == (
        3600,
        86_400,
    )


def test_https_hardening_follows_the_profile():
    assert settings.EMG_CONFIG.environment == Environment.DEVELOPMENT
    assert (settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS) == (
        False,
        False,
        0,
    )
    assert settings.SESSION_COOKIE_HTTPONLY and settings.X_FRAME_OPTIONS == "DENY"
    assert len(settings.AUTH_PASSWORD_VALIDATORS) == 4


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EMG_SLURM__DEFAULT_CPUS", "abc"),
        ("EMG_SLURM__DEFAULT_CPUS", "0"),
        ("EMG_ENA__PORTAL_API_URL", "not a url"),
        ("EMG_ENVIRONMENT", "staging"),
        ("EMG_DRS__ACCESS_URL_SECONDS", "100000"),  # above the default maximum
        ("EMG_DRS__MAX_ACCESS_URL_SECONDS", "-1"),
    ],
)
def test_load_config_names_the_bad_setting(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exit_info:
        load_config()
    message = str(exit_info.value)
    assert name in message and "\n" not in message


def _manage_check(**env: str) -> subprocess.CompletedProcess:
    environment = {key: val for key, val in os.environ.items() if not key.startswith("EMG_")}
    environment["EMG_DATABASE__URL"] = os.environ.get(
        "EMG_DATABASE__URL", "postgresql://postgres@127.0.0.1:5432/emg_api"
    )
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"EMG_SLURM__DEFAULT_CPUS": "abc"}, "EMG_SLURM__DEFAULT_CPUS"),
        ({"EMG_SLURM__MAX_HEAD_JOBS_PER_STUDY": "-3"}, "EMG_SLURM__MAX_HEAD_JOBS_PER_STUDY"),
        ({"EMG_DATABASE__URL": "mysql://db/emg"}, "EMG_DATABASE__URL"),
    ],
)
def test_manage_py_exits_with_one_line_naming_a_malformed_setting(env, named):
    result = _manage_check(**env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr
