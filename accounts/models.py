"""Submitters' API tokens, the holder of the platform's capability permissions, and abuse counters."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.permissions import Capability


class PlatformCapabilities(models.Model):
    """No table: the content type the capability permissions (``accounts.launch_analyses``, ...) hang on."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [(capability.codename, capability.label) for capability in Capability]

    def __str__(self) -> str:
        return "platform capabilities"


class TokenScope(models.TextChoices):
    READ = "read", "Read the caller's private data"
    LAUNCH = "launch", "Start analyses (needs the launch permission too)"


class UserTokenQuerySet(models.QuerySet):
    def live(self) -> UserTokenQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class UserToken(models.Model):
    """A bearer token ``emgu_<prefix>_<secret>`` of one user; only ``sha256(secret)`` is stored.

    It acts as its user within its scopes, and always expires.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=8, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=16, choices=TokenScope.choices))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = UserTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(scopes=[]), name="accounts_usertoken_has_a_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}) of {self.user}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class RateCounter(models.Model):
    """A fixed-window counter: failed logins of an account or address, launches of a user.

    Written only with one atomic upsert (:mod:`accounts.throttle`), so concurrent workers count right.
    """

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.window_started_at:%Y-%m-%d %H:%M:%S}"
