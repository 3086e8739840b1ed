"""Admin for the work ledger: pipelines, work items (with operator filters and actions), events, tokens.

Part of the curator's console (see ``analyses.admin``): a work item's page opens with the chain it
belongs to (its analysis, study and run; the Prefect flow run holding its lease), lists link their
items and analyses, and ``by-ref/<MGYA>/`` opens the newest item producing an analysis (the analysis
page links there by URL name, since ``analyses`` may not import this app). The ledger is a record:
nothing in it is deleted from the admin, and what the services write is read-only here.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin import VisibleRowsAdminMixin
from analyses.admin import console
from analyses.admin.html import EMPTY, change_link, external_link, link, privacy_badge, state_badge, table
from analyses.models import Analysis
from ena.accessions import AccessionKind, accession_kind
from workflows.ledger import selectors, services
from workflows.ledger.canonical import InputError, SchemaDefinitionError, canonicalise_and_hash
from workflows.ledger.errors import LedgerError
from workflows.ledger.models import APIToken, Pipeline, WorkEvent, WorkItem, WorkState
from workflows.ledger.tokens import revoke_token

ADMIN_EVENT_LIMIT = 50
#: The key of a work item's canonical input that names its run, as ``workflows.analysis_ledger`` registers it
#: (``{"run": "ERR…"}``; that module sits above this one, so the key is restated here).
RUN_INPUT_KEY = "run"
#: At most this many analyses of one run are looked up when searching work items by a run accession.
RUN_SEARCH_LIMIT = 1000
#: A lease holder that is a Prefect flow run: ``flow:<uuid>``.
FLOW_HOLDER = re.compile(r"^flow:(?P<id>[0-9a-fA-F-]{36})$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def pretty_json(value: Any) -> str:
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
    search_help_text = "Part of a pipeline's name, version or repository."
    readonly_fields = ("schema_pretty", "created_at", "updated_at")
    exclude = ("input_schema",)

    @admin.display(description="input schema")
    def schema_pretty(self, obj: Pipeline) -> str:
        return pretty_json(obj.input_schema)


def lease_holder_html(holder: str, *, short: bool = False) -> SafeString | str:
    """A lease holder; ``flow:<uuid>`` links to that flow run in the Prefect UI.

    :param short: for list columns: ``flow 6f1c3d0e…``, the whole holder in the link's title
    """
    match = FLOW_HOLDER.match(holder or "")
    if match:
        url = console.prefect_flow_run_url(match["id"])
        if short:
            return format_html(
                '<a href="{}" title="{}" target="_blank" rel="noopener noreferrer">flow {}… ↗</a>',
                url,
                holder,
                match["id"][:8],
            )
        return external_link(url, holder)
    return holder or EMPTY


def analysis_change_url(analysis_id: int | None) -> str | None:
    return reverse("admin:analyses_analysis_change", args=[analysis_id]) if analysis_id else None


def run_input_hashes(run_accession: str) -> list[str]:
    """The identity hash of ``{"run": run_accession}`` under each pipeline's schema (pipelines are few)."""
    hashes = []
    for pipeline in Pipeline.objects.only("name", "version", "input_schema"):
        try:
            _canonical, digest = canonicalise_and_hash(
                {RUN_INPUT_KEY: run_accession},
                schema=pipeline.input_schema,
                pipeline_name=pipeline.name,
                pipeline_version=pipeline.version,
            )
        except (InputError, SchemaDefinitionError):
            continue  # this pipeline's inputs are not runs
        hashes.append(digest)
    return hashes


def work_items_of_run(run_accession: str) -> Q:
    """Items whose input names the run, found through two indexes rather than a scan of ``input``.

    * ``input_hash``: the run's canonical input ``{"run": …}`` hashed for each pipeline (the
      ``workflows_workitem_hash`` index), which finds items of any wrapper registering that shape;
    * ``external_ref``: the MGYAs of the run's analyses (GIN index on the run's accessions, then the
      ``external_ref`` index), which finds items whose input names the run under another shape.
    """
    analyses = Analysis.objects.filter(run__ena_accessions__contains=[run_accession]).values_list(
        "accession", flat=True
    )[:RUN_SEARCH_LIMIT]
    return Q(input_hash__in=run_input_hashes(run_accession)) | Q(external_ref__in=list(analyses))


WORK_ITEM_SEARCH_HELP = (
    "An MGYA (the analysis an item produces), a run accession (ERR…, the run in its input), "
    "an item id, a lease holder (flow:<uuid>) or an input hash."
)


@admin.register(WorkItem)
class WorkItemAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    #: Fits 1,280 px beside both sidebars: the lease holder shortened, its expiry under it, dates as dates.
    list_display = ("id", "pipeline", "state_badge", "analysis_link", "attempts_text", "lease", "created")
    list_display_links = ("id",)
    list_filter = ("pipeline", "state", LongRunningFilter, RecentFailureFilter)
    list_select_related = ("pipeline",)
    search_fields = ("=input_hash", "=lease_holder", "=external_ref")
    search_help_text = WORK_ITEM_SEARCH_HELP
    ordering = ("-id",)
    show_full_result_count = False
    #: re-run and cancel are the automation app's (``workflows.automation.admin``): they act on the analysis too
    actions = ()
    change_form_template = "admin/analyses/console_change_form.html"
    #: Written by the services only (registration, claims, transitions): never from a form.
    readonly_fields = (
        "pipeline",
        "external_ref_link",
        "state_badge",
        "input_pretty",
        "input_hash",
        "attempts",
        "lease_holder_link",
        "lease_expires_at",
        "claimed_at",
        "started_at",
        "finished_at",
        "privacy",
        "webin_submitter",
        "created_at",
        "updated_at",
        "recent_events",
    )
    fields = (
        "pipeline",
        "external_ref_link",
        "state_badge",
        "max_attempts",
        "attempts",
        "lease_holder_link",
        "lease_expires_at",
        "claimed_at",
        "started_at",
        "finished_at",
        "input_pretty",
        "input_hash",
        "privacy",
        "webin_submitter",
        "created_at",
        "updated_at",
        "recent_events",
    )

    class Media:
        css = {"all": ("analyses/admin/console.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkItem]:
        """With the id of the analysis each item produces (one subquery on the unique accession index)."""
        analysis_id = Analysis.objects.filter(accession=OuterRef("external_ref")).values("id")[:1]
        return super().get_queryset(request).annotate(analysis_id=Subquery(analysis_id))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WorkItem], search_term: str
    ) -> tuple[QuerySet[WorkItem], bool]:
        """Each kind of term through an index: MGYA, run accession, id, lease holder, input hash."""
        term = search_term.strip()
        kind = accession_kind(term) if term else None
        if kind is AccessionKind.MGNIFY_ANALYSIS:
            return queryset.filter(external_ref=term), False
        if kind is AccessionKind.RUN:
            return queryset.filter(work_items_of_run(term)), False
        if term.isdigit():
            return queryset.filter(pk=int(term)), False
        if SHA256_HEX.match(term):
            return queryset.filter(input_hash=term), False
        if term:
            return queryset.filter(Q(lease_holder=term) | Q(external_ref=term)), False
        return queryset, False

    def get_urls(self) -> list[URLPattern]:
        by_ref = path(
            "by-ref/<str:external_ref>/",
            self.admin_site.admin_view(self.by_ref_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_by_ref",
        )
        return [by_ref, *super().get_urls()]

    def by_ref_view(self, request: HttpRequest, external_ref: str) -> HttpResponse:
        """Redirect to the newest item the user may see whose ``external_ref`` is ``external_ref`` (an MGYA).

        :raises Http404: there is none (the admin's 404 page)
        """
        if not self.has_view_or_change_permission(request):
            raise Http404("No work item")
        item = self.get_queryset(request).filter(external_ref=external_ref).order_by("-created_at", "-id").first()
        if item is None:
            raise Http404(f"No work item produces {external_ref}")
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[item.pk])
        )

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False, **kwargs: Any
    ) -> HttpResponse:
        item = context.get("original")
        if item is not None and item.pk is not None:
            context["console"] = self.console_for(request, item)
        return super().render_change_form(request, context, add=add, change=change, **kwargs)

    def console_for(self, request: HttpRequest, item: WorkItem) -> console.Console:
        """The item's analysis with its study and run (one query), the pipeline, the state, the flow run."""
        analysis = (
            Analysis.objects.visible_to(request.user)
            .select_related("study", "run")
            .defer("status", "quality_control", "results", "annotations", "downloads")
            .filter(pk=getattr(item, "analysis_id", None))
            .first()
        )
        chain = []
        if analysis is not None:
            chain += [
                console.ChainLink("study", console.study_label(analysis.study)),
                console.ChainLink("run", change_link(analysis.run)),
                console.ChainLink(
                    "analysis",
                    format_html("{} {}", change_link(analysis, analysis.accession), state_badge(analysis.state)),
                ),
            ]
        else:
            chain.append(console.ChainLink("produces", item.external_ref or EMPTY))
        flow_run_id = (analysis.provenance or {}).get("prefect_flow_run_id") if analysis is not None else None
        chain += [
            console.ChainLink("work item", format_html("#{} {}", item.pk, state_badge(item.state))),
            console.ChainLink("pipeline", str(item.pipeline)),
            console.ChainLink("lease holder", lease_holder_html(item.lease_holder)),
            console.ChainLink("flow run (analysis)", console.flow_run_link(flow_run_id) if analysis else EMPTY),
        ]
        sections = []
        if analysis is not None and (analysis.provenance or {}).get("slurm_jobs"):
            sections.append(
                console.Section(
                    "Slurm jobs of the analysis", console.slurm_jobs_table(analysis.provenance["slurm_jobs"])
                )
            )
        return console.Console(chain=chain, sections=sections)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # work is registered through the services (flows, API), which canonicalise inputs

    def has_delete_permission(self, request: HttpRequest, obj: WorkItem | None = None) -> bool:
        return False  # the ledger is the record of what ran: cancel an item, never delete it

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj: WorkItem) -> SafeString | str:
        return state_badge(obj.state)

    @admin.display(description="analysis", ordering="external_ref")
    def analysis_link(self, obj: WorkItem) -> SafeString | str:
        return link(analysis_change_url(getattr(obj, "analysis_id", None)), obj.external_ref or EMPTY)

    @admin.display(description="produces (external ref)")
    def external_ref_link(self, obj: WorkItem) -> SafeString | str:
        return self.analysis_link(obj)

    @admin.display(description="privacy")
    def privacy(self, obj: WorkItem) -> SafeString:
        """Private or public as a neutral badge (a red ✖ for "public" reads like an error)."""
        return privacy_badge(obj.is_private)

    @admin.display(description="tries", ordering="attempts")
    def attempts_text(self, obj: WorkItem) -> str:
        return f"{obj.attempts}/{obj.max_attempts}"

    @admin.display(description="lease holder", ordering="lease_holder")
    def lease_holder_link(self, obj: WorkItem) -> SafeString | str:
        return lease_holder_html(obj.lease_holder)

    @admin.display(description="lease", ordering="lease_expires_at")
    def lease(self, obj: WorkItem) -> SafeString | str:
        if not obj.lease_holder:
            return EMPTY
        expiry = obj.lease_expires_at.strftime("%m-%d %H:%M") if obj.lease_expires_at else EMPTY
        return format_html(
            '{}<br><span class="console-quiet">until {}</span>', lease_holder_html(obj.lease_holder, short=True), expiry
        )

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: WorkItem) -> str:
        return obj.created_at.strftime("%Y-%m-%d")

    @admin.display(description="input (canonical)")
    def input_pretty(self, obj: WorkItem) -> str:
        return pretty_json(obj.input)

    @admin.display(description=f"latest {ADMIN_EVENT_LIMIT} events")
    def recent_events(self, obj: WorkItem) -> str:
        events = list(obj.events.order_by("-at", "-id")[:ADMIN_EVENT_LIMIT])
        return table(
            ("at", "actor", "kind", "from", "to", "message"),
            (
                (
                    e.at.strftime("%Y-%m-%d %H:%M:%S"),
                    lease_holder_html(e.actor),
                    e.kind,
                    state_badge(e.from_state),
                    state_badge(e.to_state),
                    e.message,
                )
                for e in events
            ),
        )

    def transition_in_ledger(self, request: HttpRequest, items: list[WorkItem], to_state: WorkState) -> None:
        """Move ``items`` to ``to_state`` in the ledger alone (lease overridden, attempts granted again), saying
        what was refused. The automation app's re-run and cancel use it for items of no analysis (an external
        wrapper's); an analysis' item goes through the analysis' own services instead."""
        done = 0
        for item in items:
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
                self.message_user(request, str(error), messages.WARNING)
        if done:
            self.message_user(request, f"{done} item(s) moved to {to_state} in the ledger.", messages.SUCCESS)


@admin.register(WorkEvent)
class WorkEventAdmin(admin.ModelAdmin):
    list_display = ("at", "item_link", "actor_link", "kind", "from_badge", "to_badge", "message_short")
    list_filter = ("kind", "to_state", "item__pipeline")
    search_fields = ("=item__id", "=actor")
    search_help_text = "A work item's id, or an actor exactly (flow:<uuid>, admin:<user>, a token's name)."
    raw_id_fields = ("item",)
    show_full_result_count = False
    ordering = ("-at", "-id")

    class Media:
        css = {"all": ("analyses/admin/console.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[WorkEvent]:
        """Events of the items the user may see only (their messages name private runs)."""
        return super().get_queryset(request).filter(item__in=WorkItem.objects.visible_to(request.user))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WorkEvent | None = None) -> bool:
        return False  # the log is append-only

    def has_delete_permission(self, request: HttpRequest, obj: WorkEvent | None = None) -> bool:
        return False  # ... and kept

    @admin.display(description="item", ordering="item_id")
    def item_link(self, obj: WorkEvent) -> SafeString:
        return link(reverse("admin:workflows_workitem_change", args=[obj.item_id]), f"#{obj.item_id}")

    @admin.display(description="actor", ordering="actor")
    def actor_link(self, obj: WorkEvent) -> SafeString | str:
        return lease_holder_html(obj.actor)

    @admin.display(description="from")
    def from_badge(self, obj: WorkEvent) -> SafeString | str:
        return state_badge(obj.from_state)

    @admin.display(description="to", ordering="to_state")
    def to_badge(self, obj: WorkEvent) -> SafeString | str:
        return state_badge(obj.to_state)

    @admin.display(description="message")
    def message_short(self, obj: WorkEvent) -> str:
        return obj.message if len(obj.message) <= 100 else f"{obj.message[:99]}…"


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "role", "pipeline", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("role", "pipeline")
    search_fields = ("name", "=prefix")
    search_help_text = "Part of a token's name, or its prefix exactly."
    readonly_fields = ("prefix", "secret_hash", "created_at", "last_used_at", "created_by")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mint with `manage.py create_ledger_token` or POST /api/v2/work/tokens (shown once)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[APIToken]) -> None:
        for token in queryset:
            revoke_token(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)
