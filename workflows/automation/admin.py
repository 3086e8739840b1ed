"""Admin actions that start flow runs, added to the analyses app's admin (which knows nothing of Prefect).

The study admin is re-registered as a subclass with the action, the Django way to extend another
app's ``ModelAdmin`` without that app importing this one.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.permissions import Capability, has_capability
from analyses.admin import StudyAdmin
from analyses.models import Study
from workflows.automation.services import FlowLaunchError, ena_study_accession_of, launch_analyse_study


class AutomatedStudyAdmin(StudyAdmin):
    actions = ("analyse_selected_studies",)

    def has_launch_permission(self, request: HttpRequest) -> bool:
        """The action is offered only to users holding ``accounts.launch_analyses``."""
        return has_capability(request.user, Capability.LAUNCH_ANALYSES)

    @admin.action(description="Analyse selected studies", permissions=["launch"])
    def analyse_selected_studies(self, request: HttpRequest, queryset: QuerySet[Study]) -> None:
        """Start one analyse-study flow run per study; done or running work is not started again."""
        for study in queryset.select_related("ena_study"):
            ena_accession = ena_study_accession_of(study)
            if not ena_accession:
                self.message_user(request, f"{study.accession} has no ENA study to analyse", messages.WARNING)
                continue
            try:
                run = launch_analyse_study(ena_study_accession=ena_accession, requested_by=request.user.get_username())
            except FlowLaunchError as error:
                self.message_user(request, f"{study.accession}: {error}", messages.ERROR)
                continue
            self.message_user(
                request,
                format_html('{}: flow run <a href="{}">{}</a> started', study.accession, run.ui_url, run.name),
                messages.SUCCESS,
            )


admin.site.unregister(Study)
admin.site.register(Study, AutomatedStudyAdmin)
