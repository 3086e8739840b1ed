"""Django settings. Everything configurable comes from ``EMG_CONFIG`` (see ``core.config``)."""

from __future__ import annotations

import sys

from core.config import PROJECT_ROOT, load_config
from emgapiv2.database import DatabaseURLError, database_settings

EMG_CONFIG = load_config()

BASE_DIR = PROJECT_ROOT
SECRET_KEY = EMG_CONFIG.secret_key.get_secret_value()
DEBUG = EMG_CONFIG.debug
ALLOWED_HOSTS = EMG_CONFIG.allowed_hosts

# HTTPS hardening: on in production (behind a TLS proxy), off in development, which serves plain HTTP.
PRODUCTION = EMG_CONFIG.is_production
_security = EMG_CONFIG.security
SECURE_HSTS_SECONDS = (31_536_000 if PRODUCTION else 0) if _security.hsts_seconds is None else _security.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = _security.hsts_include_subdomains
SECURE_HSTS_PRELOAD = _security.hsts_preload
SECURE_SSL_REDIRECT = PRODUCTION if _security.ssl_redirect is None else _security.ssl_redirect
SECURE_PROXY_SSL_HEADER = _security.proxy_ssl_header
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [str(EMG_CONFIG.service_urls.app_root).rstrip("/")]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    # The platform's apps, lowest layer first (see README "Layout"): each imports only those above it here.
    "accounts",
    "ena",
    "drs",
    "analyses",
    "workflows.ledger",
    "workflows.automation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.InputGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.APICredentialsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# A locked-out account or address is refused before any password is checked (accounts.backends).
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockedOutModelBackend",
    "accounts.backends.WebinBackend",
]

ROOT_URLCONF = "emgapiv2.urls"
WSGI_APPLICATION = "emgapiv2.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

try:
    DATABASES = {"default": database_settings(EMG_CONFIG.database)}
except DatabaseURLError as error:
    sys.exit(f"Configuration error: {error}")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = PROJECT_ROOT / ".local" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # On the handler, not a logger: a logger's filters miss records propagated from its children.
    "filters": {"redact_secrets": {"()": "core.logging.RedactSecretsFilter", "config": EMG_CONFIG}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
