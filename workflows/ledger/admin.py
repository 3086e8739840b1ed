"""Admin for the work ledger: pipelines, work items (with operator filters and actions), events, tokens."""

from __future__ import annotations

import json
from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from workflows.ledger import selectors, services
from workflows.ledger.errors import LedgerError
from workflows.ledger.models import APIToken, Pipeline, WorkEvent, WorkItem, WorkState
from workflows.ledger.tokens import revoke_token

ADMIN_EVENT_LIMIT = 50


def pretty_json(value) -> str:
    return format_html("<pre style='white-space: pre-wrap'>{}</pre>", json.dumps(value, indent=2, sort_keys=True))


def admin_actor(request: HttpRequest) -> str:
    return f"admin:{request.user.get_username()}"


class LongRunningFilter(admin.SimpleListFilter):
    """Operator view: items claimed or running far beyond their pipeline's usual duration."""

    title = "long-running"
    parameter_name = "long_running"

    def lookups(self, request, model_admin):
        return [("yes", "Far beyond the usual duration")]

    def queryset(self, request, queryset: QuerySet[WorkItem]) -> QuerySet[WorkItem]:
        if self.value() == "yes":
            return queryset.filter(selectors.long_running_q())
        return queryset


class RecentFailureFilter(admin.SimpleListFilter):
    """Operator view: items that failed recently."""

    title = "recent failures"
    parameter_name = "failed_within"
    WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}

    def lookups(self, request, model_admin):
        return [("1h", "Failed in the last hour"), ("24h", "Failed in the last 24 hours"), ("7d", "In the last 7 days")]

    def queryset(self, request, queryset: QuerySet[WorkItem]) -> QuerySet[WorkItem]:
        window = self.WINDOWS.get(self.value() or "")
        if window is None:
            return queryset
        return queryset.filter(state=WorkState.FAILED, finished_at__gte=timezone.now() - window)


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "repository_uri", "max_attempts", "lease_seconds", "expected_duration")
    search_fields = ("name", "version", "repository_uri")
    readonly_fields = ("schema_pretty", "created_at", "updated_at")
    exclude = ("input_schema",)

    @admin.display(description="input schema")
    def schema_pretty(self, obj: Pipeline) -> str:
        return pretty_json(obj.input_schema)


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "pipeline",
        "state",
        "external_ref",
        "attempts",
        "lease_holder",
        "lease_expires_at",
        "created_at",
    )
    list_filter = ("pipeline", "state", LongRunningFilter, RecentFailureFilter)
    list_select_related = ("pipeline",)
    search_fields = ("=input_hash", "lease_holder", "=external_ref")
    ordering = ("-id",)
    show_full_result_count = False
    actions = ("cancel", "rerun")
    exclude = ("input",)
    readonly_fields = (
        "pipeline",
        "input_pretty",
        "input_hash",
        "state",
        "attempts",
        "lease_holder",
        "lease_expires_at",
        "claimed_at",
        "started_at",
        "finished_at",
        "created_at",
        "updated_at",
        "recent_events",
    )

    @admin.display(description="input (canonical)")
    def input_pretty(self, obj: WorkItem) -> str:
        return pretty_json(obj.input)

    @admin.display(description=f"latest {ADMIN_EVENT_LIMIT} events")
    def recent_events(self, obj: WorkItem) -> str:
        events = list(obj.events.order_by("-at", "-id")[:ADMIN_EVENT_LIMIT])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.kind, e.from_state, e.to_state, e.message)
                for e in events
            ),
        )
        return format_html(
            "<table><tr><th>at</th><th>actor</th><th>kind</th><th>from</th><th>to</th><th>message</th></tr>{}</table>",
            rows,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # work is registered through the services (flows, API), which canonicalise inputs

    def _transition_all(self, request: HttpRequest, queryset: QuerySet[WorkItem], to_state: WorkState) -> None:
        done, refused = 0, []
        for item in queryset:
            try:
                services.transition(
                    item=item,
                    to_state=to_state,
                    actor=admin_actor(request),
                    override_lease=True,
                    reset_attempts=True,
                    message=f"{to_state} from the admin",
                )
                done += 1
            except LedgerError as error:
                refused.append(str(error))
        self.message_user(request, f"{done} item(s) moved to {to_state}.", messages.SUCCESS)
        for message in refused[:10]:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Cancel the selected items")
    def cancel(self, request: HttpRequest, queryset: QuerySet[WorkItem]) -> None:
        self._transition_all(request, queryset, WorkState.CANCELLED)

    @admin.action(description="Re-run the selected failed items")
    def rerun(self, request: HttpRequest, queryset: QuerySet[WorkItem]) -> None:
        self._transition_all(request, queryset, WorkState.PENDING)


@admin.register(WorkEvent)
class WorkEventAdmin(admin.ModelAdmin):
    list_display = ("at", "item_id", "actor", "kind", "from_state", "to_state", "message")
    list_filter = ("kind", "to_state", "item__pipeline")
    search_fields = ("=item__id", "actor", "message")
    raw_id_fields = ("item",)
    show_full_result_count = False
    ordering = ("-at", "-id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the log is append-only


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "role", "pipeline", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("role", "pipeline")
    search_fields = ("name", "=prefix")
    readonly_fields = ("prefix", "secret_hash", "created_at", "last_used_at", "created_by")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mint with `manage.py create_ledger_token` or POST /api/v2/work/tokens (shown once)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[APIToken]) -> None:
        for token in queryset:
            revoke_token(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)
