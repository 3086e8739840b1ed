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
    "ena",
    "drs",
    "analyses",
    "workflows.ledger",
    "workflows.automation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
AUTH_PASSWORD_VALIDATORS: list[dict] = []
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
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
