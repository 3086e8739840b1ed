"""Admin for users' API tokens, and the mixin that applies the visibility rule to every admin list."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import UserToken
from accounts.permissions import Capability, has_capability


class VisibleRowsAdminMixin:
    """Rows that may be private: a staff user without ``accounts.view_private_data`` sees only public ones
    (and their own), on lists, change pages and searches alike (:mod:`core.visibility`)."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[misc]


@admin.register(UserToken)
class UserTokenAdmin(admin.ModelAdmin):
    """Everybody's tokens, for users holding ``accounts.manage_tokens``: see and revoke, never the secrets."""

    list_display = ("prefix", "name", "user", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("=prefix", "name", "user__username")
    readonly_fields = ("user", "prefix", "scopes", "created_at", "expires_at", "last_used_at")
    exclude = ("secret_hash",)
    raw_id_fields = ("user",)
    actions = ("revoke",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_capability(request.user, Capability.MANAGE_TOKENS)

    def has_view_permission(self, request: HttpRequest, obj: UserToken | None = None) -> bool:
        return has_capability(request.user, Capability.MANAGE_TOKENS)

    def has_change_permission(self, request: HttpRequest, obj: UserToken | None = None) -> bool:
        return has_capability(request.user, Capability.MANAGE_TOKENS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[UserToken]) -> None:
        from django.utils import timezone

        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked")
