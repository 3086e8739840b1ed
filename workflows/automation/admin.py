"""Admin actions that start and stop work, added to other apps' admins (which know nothing of Prefect or Slurm).

The study, analysis and work-item admins are re-registered as subclasses with the actions: the
Django way to extend another app's ``ModelAdmin`` without that app importing this one. Every action
that starts or stops work first shows a confirmation page (an action answering a ``TemplateResponse``,
posted back with ``apply``), saying what will happen to each record; then it calls the same services
as the API (:mod:`workflows.automation.services`) and reports with links to the flow runs started.

- *Analyse selected studies*: options ``rerun_failed`` (with ``accounts.rerun_analyses``) and a sample
  limit; the page counts the analyses each study would start by the flow's own rule.
- *Re-run selected failed analyses* (``accounts.rerun_analyses``), also a button on a failed analysis.
- *Cancel selected analyses* (``accounts.launch_analyses``), also a button on a pending or running one.
- A work item's *re-run* and *cancel* act on its analysis through the same services (a work item of
  no analysis, an external wrapper's, changes in the ledger alone, as before).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.permissions import Capability, has_capability
from analyses.admin import AnalysisAdmin, StudyAdmin
from analyses.admin.html import admin_change_url, admin_changelist_url, change_link
from analyses.models import Analysis, Study
from core.errors import Conflict
from workflows.analysis_ledger import CANCELLABLE_STATES
from workflows.automation.forms import AnalyseStudiesForm
from workflows.automation.services import (
    FlowLaunchError,
    FlowRunInfo,
    RerunReport,
    actor_of,
    cancel_analysis,
    ena_study_accession_of,
    launch_analyse_study,
    plan_launch,
    rerun_analyses,
    runs_cap,
)
from workflows.ledger import services as ledger_services
from workflows.ledger.admin import WorkItemAdmin
from workflows.ledger.models import LEASED_STATES, WorkItem, WorkState

CONFIRM_TEMPLATE = "admin/automation/confirm.html"
#: More rows than this on a confirmation page: select fewer (each study's count costs three queries).
MAX_CONFIRM_ROWS = 200
#: The POST field that applies a confirmed action (anything else shows or recounts the page).
APPLY = "apply"


def flow_run_link(run: FlowRunInfo) -> SafeString:
    return format_html('<a href="{}" class="flow-run-link">flow run {}</a>', run.ui_url, run.name)


@dataclass(frozen=True)
class Confirmation:
    """What a confirmation page shows: one row per record, the totals, and whether anything can be applied."""

    title: str
    intro: str
    headers: Sequence[str]
    rows: list[Sequence[Any]]
    summary: str
    submit_label: str
    can_apply: bool
    totals: Sequence[Any] = ()
    note: str = ""


class ConfirmingAdminMixin:
    """Confirmation pages for actions (posted back to the changelist) and for one object's own views."""

    def confirmation_page(
        self,
        request: HttpRequest,
        confirmation: Confirmation,
        *,
        hidden: Iterable[tuple[str, Any]],
        back_url: str,
        form: Any = None,
        object_link: SafeString | None = None,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": self.model._meta,  # type: ignore[attr-defined]
            "title": confirmation.title,
            "intro": confirmation.intro,
            "headers": confirmation.headers,
            "rows": confirmation.rows,
            "totals": confirmation.totals,
            "summary": confirmation.summary,
            "note": confirmation.note,
            "submit_label": confirmation.submit_label,
            "can_apply": confirmation.can_apply,
            "form": form,
            "hidden": list(hidden),
            "form_url": request.get_full_path(),
            "back_url": back_url,
            "object_link": object_link,
        }
        return TemplateResponse(request, CONFIRM_TEMPLATE, context)

    def action_hidden(self, request: HttpRequest, queryset: QuerySet) -> list[tuple[str, Any]]:
        """What posts the page back to the same action on the same records."""
        return [
            ("action", request.POST.get("action", "")),
            *(("_selected_action", pk) for pk in queryset.values_list("pk", flat=True)),
        ]

    def changelist_url(self) -> str:
        return admin_changelist_url(self.model)  # type: ignore[attr-defined]

    def too_many(self, request: HttpRequest, queryset: QuerySet) -> bool:
        if queryset.count() <= MAX_CONFIRM_ROWS:
            return False
        self.message_user(  # type: ignore[attr-defined]
            request, f"Select at most {MAX_CONFIRM_ROWS} records for this action.", messages.WARNING
        )
        return True


def report_rerun(model_admin: admin.ModelAdmin, request: HttpRequest, report: RerunReport) -> None:
    """The messages of a re-run: what was queued, the flow runs (linked), what was refused and why."""
    if report.requeued:
        model_admin.message_user(
            request,
            f"{len(report.requeued)} analysis/analyses queued again: "
            + ", ".join(requeued.accession for requeued in report.requeued),
            messages.SUCCESS,
        )
    for run in report.flow_runs:
        accessions = ", ".join(run.parameters.get("analysis_accessions") or [])
        model_admin.message_user(
            request, format_html("{} started for {}", flow_run_link(run), accessions), messages.SUCCESS
        )
    for accession, error in report.launch_errors.items():
        model_admin.message_user(
            request,
            f"{accession} is queued, but no flow run was started ({error}); the next launch of its study runs it.",
            messages.ERROR,
        )
    for accession, reason in report.refused.items():
        model_admin.message_user(request, f"{accession} not re-run: {reason}", messages.WARNING)


def report_cancel(model_admin: admin.ModelAdmin, request: HttpRequest, analysis: Analysis, cancelled) -> None:
    jobs = ", ".join(cancelled.job_ids) or "none had started"
    model_admin.message_user(
        request, f"{analysis.accession} cancelled; Slurm jobs cancelled: {jobs}.", messages.SUCCESS
    )
    if cancelled.slurm_error:
        model_admin.message_user(
            request,
            f"{analysis.accession}: Slurm refused to cancel ({cancelled.slurm_error}); its flow run stops them later.",
            messages.WARNING,
        )


# --------------------------------------------------------------------------------------------- studies


class AutomatedStudyAdmin(ConfirmingAdminMixin, StudyAdmin):
    actions = ("analyse_selected_studies",)

    def has_launch_permission(self, request: HttpRequest) -> bool:
        """The action is offered only to users holding ``accounts.launch_analyses``."""
        return has_capability(request.user, Capability.LAUNCH_ANALYSES)

    @admin.action(description="Analyse selected studies", permissions=["launch"])
    def analyse_selected_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> HttpResponse | None:
        """Confirm (how many analyses each study would start), then start one analyse-study flow run per study."""
        if self.too_many(request, queryset):
            return None
        may_rerun = has_capability(request.user, Capability.RERUN_ANALYSES)
        bound = "apply" in request.POST or "preview" in request.POST
        form = AnalyseStudiesForm(request.POST if bound else None, may_rerun=may_rerun)
        studies = list(queryset.select_related("ena_study").order_by("accession"))
        valid = bound and form.is_valid()
        rerun_failed, limit = (form.wants_rerun, form.runs_limit) if valid else (False, runs_cap(None))
        if APPLY in request.POST and valid:
            self.launch_studies(request, studies, rerun_failed=rerun_failed, sample_limit=limit)
            return None
        return self.confirmation_page(
            request,
            self.studies_confirmation(studies, rerun_failed=rerun_failed, sample_limit=limit),
            hidden=self.action_hidden(request, queryset),
            back_url=self.changelist_url(),
            form=form,
        )

    def studies_confirmation(self, studies: list[Study], *, rerun_failed: bool, sample_limit: int) -> Confirmation:
        rows, total = [], 0
        for study in studies:
            ena_accession = ena_study_accession_of(study)
            if not ena_accession:
                rows.append((change_link(study, study.accession), "-", "-", "-", "-", "no ENA study: not launched"))
                continue
            plan = plan_launch(study=study, rerun_failed=rerun_failed, sample_limit=sample_limit)
            total += plan.to_start
            left = ", ".join(f"{count} {state}" for state, count in sorted(plan.not_starting.items())) or "-"
            rows.append(
                (
                    change_link(study, study.accession),
                    ena_accession,
                    plan.runs,
                    plan.new + plan.pending,
                    plan.rerun if rerun_failed else "-",
                    format_html("<strong>{}</strong> will start; left: {}", plan.to_start, left),
                )
            )
        launchable = sum(1 for study in studies if ena_study_accession_of(study))
        return Confirmation(
            title="Analyse selected studies",
            intro=(
                f"One analyse-study flow run per study, over the first {sample_limit} runs of each by accession. "
                "Runs not analysed yet by the pipeline start, and failed ones too when re-running is ticked; "
                "completed and running analyses are never started again."
            ),
            headers=("study", "ENA study", "runs considered", "new or queued", "failed to re-run", "analyses"),
            rows=rows,
            totals=("total", "", "", "", "", f"{total} will start"),
            summary=f"{total} analyses will start in {launchable} flow run(s).",
            note="Counted from the database now; the flow imports each study from ENA first, so runs ENA added "
            "since the last import would be analysed too.",
            submit_label=f"Start {launchable} flow run(s)",
            can_apply=launchable > 0,
        )

    def launch_studies(
        self, request: HttpRequest, studies: list[Study], *, rerun_failed: bool, sample_limit: int
    ) -> None:
        for study in studies:
            ena_accession = ena_study_accession_of(study)
            if not ena_accession:
                self.message_user(request, f"{study.accession} has no ENA study to analyse", messages.WARNING)
                continue
            try:
                run = launch_analyse_study(
                    ena_study_accession=ena_accession,
                    requested_by=request.user.get_username(),
                    rerun_failed=rerun_failed,
                    sample_limit=sample_limit,
                )
            except FlowLaunchError as error:
                self.message_user(request, f"{study.accession}: {error}", messages.ERROR)
                continue
            self.message_user(
                request, format_html("{}: {} started", study.accession, flow_run_link(run)), messages.SUCCESS
            )


# -------------------------------------------------------------------------------------------- analyses


class AutomatedAnalysisAdmin(ConfirmingAdminMixin, AnalysisAdmin):
    """Analyses with *re-run* and *cancel*, as list actions and as buttons on one analysis' page."""

    actions = ("rerun_selected_analyses", "cancel_selected_analyses")
    change_form_template = "admin/automation/analysis_change_form.html"

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return has_capability(request.user, Capability.RERUN_ANALYSES)

    def has_launch_permission(self, request: HttpRequest) -> bool:
        return has_capability(request.user, Capability.LAUNCH_ANALYSES)

    # ---- list actions -----------------------------------------------------------------------------

    @admin.action(description="Re-run selected failed analyses", permissions=["rerun"])
    def rerun_selected_analyses(self, request: HttpRequest, queryset: QuerySet[Analysis]) -> HttpResponse | None:
        """Confirm, then queue the failed ones again and start one flow run per study for exactly them."""
        if self.too_many(request, queryset):
            return None
        analyses = list(queryset.select_related("study", "study__ena_study").order_by("accession"))
        if APPLY in request.POST:
            self.apply_rerun(request, analyses)
            return None
        return self.confirmation_page(
            request,
            rerun_confirmation(analyses),
            hidden=self.action_hidden(request, queryset),
            back_url=self.changelist_url(),
        )

    @admin.action(description="Cancel selected running analyses", permissions=["launch"])
    def cancel_selected_analyses(self, request: HttpRequest, queryset: QuerySet[Analysis]) -> HttpResponse | None:
        """Confirm, then cancel the pending and running ones: ledger, analysis and Slurm jobs."""
        if self.too_many(request, queryset):
            return None
        analyses = list(queryset.order_by("accession"))
        if APPLY in request.POST:
            self.apply_cancel(request, analyses)
            return None
        return self.confirmation_page(
            request,
            cancel_confirmation(analyses),
            hidden=self.action_hidden(request, queryset),
            back_url=self.changelist_url(),
        )

    def apply_rerun(self, request: HttpRequest, analyses: list[Analysis]) -> None:
        report = rerun_analyses(
            analyses=[analysis for analysis in analyses if analysis.state == Analysis.State.FAILED],
            requested_by=request.user.get_username(),
            actor=actor_of(request.user),
        )
        for analysis in analyses:
            if analysis.state != Analysis.State.FAILED:
                report.refused[analysis.accession] = f"it is {analysis.state}: only failed analyses are re-run"
        report_rerun(self, request, report)

    def apply_cancel(self, request: HttpRequest, analyses: list[Analysis]) -> None:
        for analysis in analyses:
            try:
                cancelled = cancel_analysis(analysis=analysis, actor=actor_of(request.user))
            except Conflict as refusal:
                self.message_user(request, f"{analysis.accession} not cancelled: {refusal}", messages.WARNING)
                continue
            report_cancel(self, request, analysis, cancelled)

    # ---- one analysis: buttons on its page --------------------------------------------------------

    def get_urls(self):
        opts = self.model._meta
        own = [
            path(
                "<path:object_id>/rerun/",
                self.admin_site.admin_view(self.rerun_view),
                name=f"{opts.app_label}_{opts.model_name}_rerun",
            ),
            path(
                "<path:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name=f"{opts.app_label}_{opts.model_name}_cancel",
            ),
        ]
        return own + super().get_urls()

    def render_change_form(self, request: HttpRequest, context: dict, add=False, change=False, form_url="", obj=None):
        """The app's own change form (whatever template it chose), with the re-run or cancel button."""
        base = AnalysisAdmin.change_form_template
        opts = self.model._meta
        context["automation_base_change_form"] = select_template(
            [
                *([base] if base else []),
                f"admin/{opts.app_label}/{opts.model_name}/change_form.html",
                f"admin/{opts.app_label}/change_form.html",
                "admin/change_form.html",
            ]
        )
        if obj is not None:
            context.update(self.button_urls(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def button_urls(self, request: HttpRequest, analysis: Analysis) -> dict[str, str]:
        opts = self.model._meta
        urls = {}
        if analysis.state == Analysis.State.FAILED and self.has_rerun_permission(request):
            urls["automation_rerun_url"] = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_rerun", args=[analysis.pk]
            )
        if analysis.state in CANCELLABLE_STATES and self.has_launch_permission(request):
            urls["automation_cancel_url"] = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_cancel", args=[analysis.pk]
            )
        return urls

    def _one(self, request: HttpRequest, object_id: str) -> Analysis:
        """The analysis if this user may see it in the admin (the app's visibility), else 404."""
        analysis = (
            self.get_queryset(request).select_related("study", "study__ena_study").filter(pk=object_id).first()
            if str(object_id).isdigit()
            else None
        )
        if analysis is None:
            raise Http404(f"No analysis {object_id}")
        return analysis

    def rerun_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.one_analysis_action(
            request, object_id, self.has_rerun_permission, rerun_confirmation, self.apply_rerun
        )

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.one_analysis_action(
            request, object_id, self.has_launch_permission, cancel_confirmation, self.apply_cancel
        )

    def one_analysis_action(
        self,
        request: HttpRequest,
        object_id: str,
        permitted: Callable[[HttpRequest], bool],
        confirmation: Callable[[list[Analysis]], Confirmation],
        apply: Callable[[HttpRequest, list[Analysis]], None],
    ) -> HttpResponse:
        """A button on one analysis' page: its confirmation page, then (posted with ``apply``) the action, back
        on the analysis' page with the messages."""
        analysis = self._one(request, object_id)
        if not permitted(request):
            raise PermissionDenied
        change_url = admin_change_url(analysis)
        if request.method == "POST" and APPLY in request.POST:
            apply(request, [analysis])
            return HttpResponseRedirect(change_url)
        return self.confirmation_page(
            request,
            confirmation([analysis]),
            hidden=(),
            back_url=change_url,
            object_link=change_link(analysis, analysis.accession),
        )


def rerun_confirmation(analyses: list[Analysis]) -> Confirmation:
    rows, count = [], 0
    for analysis in analyses:
        if analysis.state == Analysis.State.FAILED:
            count += 1
            what = "queued again, then run by a new flow run"
        else:
            what = f"skipped: it is {analysis.state} (only failed analyses are re-run)"
        rows.append((change_link(analysis, analysis.accession), analysis.study.accession, analysis.state, what))
    studies = len({analysis.study_id for analysis in analyses if analysis.state == Analysis.State.FAILED})
    return Confirmation(
        title="Re-run failed analyses",
        intro="Each failed (or cancelled) analysis goes back in the work ledger and one analyse-study flow run "
        "per study runs exactly those; the failure stays in its history.",
        headers=("analysis", "study", "state", "what happens"),
        rows=rows,
        summary=f"{count} analysis/analyses will be re-run in {studies} flow run(s); {len(analyses) - count} skipped.",
        submit_label=f"Re-run {count}",
        can_apply=count > 0,
    )


def cancel_confirmation(analyses: list[Analysis]) -> Confirmation:
    rows, count = [], 0
    for analysis in analyses:
        jobs = [job.get("job_id") for job in ((analysis.provenance or {}).get("slurm_jobs") or [])]
        if analysis.state in CANCELLABLE_STATES:
            count += 1
            what = "cancelled: work item cancelled, analysis failed (cancelled), Slurm jobs stopped"
        else:
            what = f"skipped: it is {analysis.state}"
        rows.append(
            (change_link(analysis, analysis.accession), analysis.state, ", ".join(dict.fromkeys(jobs)) or "-", what)
        )
    return Confirmation(
        title="Cancel analyses",
        intro="Cancelling stops the analysis on the cluster and records who cancelled it. The flow run that runs "
        "it carries on with its study's other analyses. A cancelled analysis can be re-run.",
        headers=("analysis", "state", "Slurm jobs", "what happens"),
        rows=rows,
        summary=f"{count} analysis/analyses will be cancelled; {len(analyses) - count} skipped.",
        submit_label=f"Cancel {count}",
        can_apply=count > 0,
    )


# ------------------------------------------------------------------------------------------ work items


class AutomatedWorkItemAdmin(ConfirmingAdminMixin, WorkItemAdmin):
    """Work items whose *re-run* and *cancel* act on their analysis (queue and run it; stop it on Slurm)."""

    actions = ("rerun", "cancel")

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return has_capability(request.user, Capability.RERUN_ANALYSES)

    def has_launch_permission(self, request: HttpRequest) -> bool:
        return has_capability(request.user, Capability.LAUNCH_ANALYSES)

    @admin.action(description="Re-run the selected failed items", permissions=["rerun"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[WorkItem]) -> HttpResponse | None:
        """An item of an analysis: re-run the analysis (queued and run by a flow run); any other: back to pending."""
        if self.too_many(request, queryset):
            return None
        items = list(queryset.select_related("pipeline").order_by("pk"))
        analyses = analyses_of(items)
        if APPLY not in request.POST:
            return self.items_confirmation(request, queryset, items, analyses, ITEM_RERUN)
        rerunnable = [item for item in items if item.state in ITEM_RERUN.allowed]
        report = rerun_analyses(
            analyses=[analyses[item.pk] for item in rerunnable if item.pk in analyses],
            requested_by=request.user.get_username(),
            actor=actor_of(request.user),
        )
        report_rerun(self, request, report)
        self.transition_in_ledger(request, [item for item in rerunnable if item.pk not in analyses], WorkState.PENDING)
        self.report_skipped(request, items, ITEM_RERUN)
        return None

    @admin.action(description="Cancel the selected items", permissions=["launch"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[WorkItem]) -> HttpResponse | None:
        """An item of an analysis: cancel the analysis (ledger, analysis, Slurm); any other: cancelled in the ledger."""
        if self.too_many(request, queryset):
            return None
        items = list(queryset.select_related("pipeline").order_by("pk"))
        analyses = analyses_of(items)
        if APPLY not in request.POST:
            return self.items_confirmation(request, queryset, items, analyses, ITEM_CANCEL)
        plain = []
        for item in items:
            analysis = analyses.get(item.pk)
            if item.state not in ITEM_CANCEL.allowed:
                continue
            if analysis is None or analysis.state not in CANCELLABLE_STATES:
                plain.append(item)  # no analysis, or one already ended: the ledger alone
                continue
            try:
                report_cancel(self, request, analysis, cancel_analysis(analysis=analysis, actor=actor_of(request.user)))
            except Conflict as refusal:
                self.message_user(request, f"{analysis.accession} not cancelled: {refusal}", messages.WARNING)
        self.transition_in_ledger(request, plain, WorkState.CANCELLED)
        self.report_skipped(request, items, ITEM_CANCEL)
        return None

    def items_confirmation(
        self,
        request: HttpRequest,
        queryset: QuerySet[WorkItem],
        items: list[WorkItem],
        analyses: dict[int, Analysis],
        action: ItemAction,
    ) -> TemplateResponse:
        """The confirmation page of a work-item action: what happens to each item, and to its analysis."""
        rows, count = [], 0
        for item in items:
            analysis = analyses.get(item.pk)
            if item.state not in action.allowed:
                what = f"skipped: it is {item.state}"
            elif analysis is not None:
                what = format_html(action.on_analysis, change_link(analysis, analysis.accession))
            else:
                what = action.on_ledger_only
            count += item.state in action.allowed
            rows.append((change_link(item, f"item {item.pk}"), item.pipeline, item.state, what))
        confirmation = Confirmation(
            title=action.title,
            intro=action.intro,
            headers=("item", "pipeline", "state", "what happens"),
            rows=rows,
            summary=f"{count} item(s) will be {action.done}; {len(items) - count} skipped.",
            submit_label=f"{action.verb} {count}",
            can_apply=count > 0,
        )
        return self.confirmation_page(
            request, confirmation, hidden=self.action_hidden(request, queryset), back_url=self.changelist_url()
        )

    def report_skipped(self, request: HttpRequest, items: list[WorkItem], action: ItemAction) -> None:
        for item in items:
            if item.state not in action.allowed:
                self.message_user(request, f"item {item.pk} not {action.done}: it is {item.state}", messages.WARNING)


@dataclass(frozen=True)
class ItemAction:
    """What a work-item action says on its confirmation page, and the item states it acts on."""

    verb: str
    done: str
    title: str
    intro: str
    allowed: tuple[WorkState, ...]
    #: what happens to an item of an analysis (a format string taking the analysis' link)
    on_analysis: str
    #: what happens to an item of no analysis (an external wrapper's)
    on_ledger_only: str


ITEM_RERUN = ItemAction(
    verb="Re-run",
    done="re-run",
    title="Re-run work items",
    intro="A work item of an analysis is re-run as the analysis is: queued again and run by a flow run. Other items "
    "(external wrappers') go back to pending for their wrapper to claim.",
    allowed=tuple(ledger_services.RERUNNABLE_STATES),
    on_analysis="re-run analysis {} by a new flow run",
    on_ledger_only="back to pending in the ledger (no analysis: its wrapper claims it)",
)
ITEM_CANCEL = ItemAction(
    verb="Cancel",
    done="cancelled",
    title="Cancel work items",
    intro="A work item of an analysis is cancelled as the analysis is: the item cancelled, the analysis failed by "
    "cancellation, its Slurm jobs stopped.",
    allowed=(WorkState.PENDING, *LEASED_STATES),
    on_analysis="cancel analysis {} and its Slurm jobs",
    on_ledger_only="cancelled in the ledger (no analysis: its wrapper finds its lease gone)",
)


def analyses_of(items: list[WorkItem]) -> dict[int, Analysis]:
    """The analysis each item produces (its MGYA ``external_ref``, same pipeline and version), in one query."""
    refs = {item.external_ref for item in items if item.external_ref}
    found = {
        (analysis.accession, analysis.pipeline_name, analysis.pipeline_version): analysis
        for analysis in Analysis.objects.filter(accession__in=refs).select_related("study", "study__ena_study")
    }
    return {
        item.pk: found[key]
        for item in items
        if (key := (item.external_ref, item.pipeline.name, item.pipeline.version)) in found
    }


admin.site.unregister(Study)
admin.site.register(Study, AutomatedStudyAdmin)
admin.site.unregister(Analysis)
admin.site.register(Analysis, AutomatedAnalysisAdmin)
admin.site.unregister(WorkItem)
admin.site.register(WorkItem, AutomatedWorkItemAdmin)
