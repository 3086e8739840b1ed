"""Curators' admin for MGnify objects (the curator's console): biomes, studies, samples, runs, assemblies, analyses.

* Every change page opens with the chain of linked records (:mod:`analyses.admin.console`): study →
  sample, run → analysis → work item → Prefect flow run → Slurm jobs → result files; a failed analysis
  opens with why it failed and the end of the failed step's log (:mod:`analyses.admin.failure`).
* Results are tables and the read API's charts; the raw JSON is folded away.
* What the pipeline owns is read-only (state, pipeline, links to study/sample/run/assembly, results);
  curator metadata (titles, biomes, privacy) stays editable.
* Search by any accession a curator holds, each kind where it is indexed (``accession_lookups_by_kind``);
  lists use ``list_select_related`` and show links, never a query per row.
* Lists are newest first (``-id``) behind the visibility rule, without a second COUNT on big tables.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin import VisibleRowsAdminMixin
from analyses import selectors
from analyses.admin import console
from analyses.admin.html import (
    EMPTY,
    admin_changelist_url,
    change_link,
    flag_text,
    privacy_badge,
    state_badge,
    table,
)
from analyses.charts import StudyChart
from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study, lineage_to_ltree_text
from ena.accessions import AccessionKind
from ena.admin import (
    JSON_FORMFIELD_OVERRIDES,
    SAMPLE_KINDS,
    STUDY_KINDS,
    AccessionSearchMixin,
    FamilyTitleMixin,
    import_report_html,
    short_text,
)

__all__ = [
    "AnalysisAdmin",
    "AssemblyAdmin",
    "BiomeAdmin",
    "RunAdmin",
    "SampleAdmin",
    "StudyAdmin",
    "change_link",
    "changelist_link",
]

INLINE_LIMIT = 20
#: Biomes offered by the biome list filter: those at most this many labels deep (root:A:B:C).
BIOME_FILTER_MAX_DEPTH = 4
CONSOLE_TEMPLATE = "admin/analyses/console_change_form.html"
CONSOLE_CSS = "analyses/admin/console.css"
#: The study charts whose data may be missing, and where it is (as the API decides, one query for all).
STUDY_CHART_DATA: dict[StudyChart, tuple[str, str]] = {
    StudyChart.ASSEMBLY_SUMMARY: ("results", "$ ? (@.assembly.n50 >= 0 || @.predicted_proteins >= 0)"),
    StudyChart.PFAM_HEATMAP: ("annotations", "$.pfam.counts"),
}


# ---------------------------------------------------------------------------------------------- helpers


def changelist_link(model: type, text: str, **filters: Any) -> SafeString:
    """A link to ``model``'s changelist filtered by ``filters`` (field lookups as query parameters).

    :param model: the model whose changelist to open
    :param text: the link text
    :param filters: e.g. ``study__id__exact=3``
    """
    return format_html('<a href="{}">{}</a>', admin_changelist_url(model, filters), text)


def is_changelist(request: HttpRequest) -> bool:
    return bool(request.resolver_match and request.resolver_match.url_name.endswith("_changelist"))


def biome_filter(field_path: str, title: str = "biome") -> type[admin.SimpleListFilter]:
    """A list filter by biome lineage that includes everything below the chosen biome.

    :param field_path: the path to the biome foreign key's id from the model, e.g. ``study__biome_id``
    :param title: the filter's title
    """

    class BiomeLineageFilter(admin.SimpleListFilter):
        parameter_name = "biome_lineage"

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            biomes = Biome.objects.filter(lineage__regex=rf"^[^:]+(:[^:]+){{0,{BIOME_FILTER_MAX_DEPTH - 1}}}$")
            return [(lineage, lineage) for lineage in biomes.order_by("lineage").values_list("lineage", flat=True)]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if not self.value():
                return queryset
            under = Biome.objects.filter(path__descendant_of=lineage_to_ltree_text(self.value())).values("id")
            return queryset.filter(**{f"{field_path}__in": under})

    BiomeLineageFilter.title = title
    return BiomeLineageFilter


class ConsoleAdminMixin:
    """Change pages open with the console (:mod:`analyses.admin.console`) built by :meth:`console_for`."""

    change_form_template = CONSOLE_TEMPLATE

    def console_for(self, request: HttpRequest, obj: Any) -> console.Console | None:
        return None

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], add: bool = False, change: bool = False, **kwargs: Any
    ) -> HttpResponse:
        obj = context.get("original")
        if obj is not None and obj.pk is not None:
            context["console"] = self.console_for(request, obj)
        return super().render_change_form(request, context, add=add, change=change, **kwargs)  # type: ignore[misc]


class PrivacyListMixin(FamilyTitleMixin, VisibleRowsAdminMixin):
    """Only rows the user may see; ``-id`` order; no second COUNT on big tables; titles the models' names."""

    ordering = ("-id",)
    show_full_result_count = False
    formfield_overrides = JSON_FORMFIELD_OVERRIDES

    class Media:
        css = {"all": (CONSOLE_CSS,)}

    @admin.display(description="privacy", ordering="is_private")
    def privacy(self, obj: Any) -> SafeString:
        return privacy_badge(obj.is_private)

    @admin.display(description="ENA accessions")
    def ena_accessions_text(self, obj: Any) -> str:
        return console.accessions_text(obj.ena_accessions)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: Any) -> str:
        return obj.created_at.strftime("%Y-%m-%d")


def study_column(study: Study | None) -> SafeString | str:
    return change_link(study, study.accession) if study is not None else EMPTY


# ---------------------------------------------------------------------------------------------- biomes


@admin.register(Biome)
class BiomeAdmin(admin.ModelAdmin):
    list_display = ("lineage", "biome_name")
    search_fields = ("lineage", "biome_name")
    search_help_text = "Part of a lineage (root:Environmental:Aquatic) or a biome's name."
    readonly_fields = ("path",)
    ordering = ("lineage",)


# ---------------------------------------------------------------------------------------------- studies


@admin.register(Study)
class StudyAdmin(ConsoleAdminMixin, PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("accession", "title_short", "ena_accessions_text", "biome_short", "privacy", "created")
    list_filter = ("is_private", biome_filter("biome_id"))
    list_select_related = ("biome",)
    search_fields = ("=accession", "title")
    search_help_text = "An MGYS, or the study's ENA project (PRJEB…) or study (ERP…) accession; or words of the title."
    accession_lookups_by_kind = {
        AccessionKind.MGNIFY_STUDY: ("accession",),
        **{kind: ("ena_accessions",) for kind in STUDY_KINDS},
    }
    autocomplete_fields = ("biome", "ena_study")
    readonly_fields = (
        "accession",
        "ena_import",
        "all_samples",
        "all_analyses",
        "newest_samples",
        "newest_analyses",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        ("Curator metadata", {"fields": ("title", "biome", "is_private", "webin_submitter")}),
        ("ENA", {"fields": ("accession", "ena_study", "ena_accessions", "ena_import")}),
        (
            "Contents",
            {
                "fields": (
                    "all_samples",
                    "newest_samples",
                    "all_analyses",
                    "newest_analyses",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if is_changelist(request):
            return queryset
        return queryset.select_related("biome", "ena_study")

    def console_for(self, request: HttpRequest, obj: Study) -> console.Console:
        """Analyses by state and chart data in two aggregate queries, counts of samples and runs in two more."""
        return console.study_console(
            obj,
            state_counts=selectors.study_analysis_states(user=request.user, study=obj),
            charts_available=selectors.study_json_paths_exist(user=request.user, study=obj, paths=STUDY_CHART_DATA),
            counts={
                "samples": obj.samples.visible_to(request.user).count(),
                "runs": obj.runs.visible_to(request.user).count(),
            },
        )

    @admin.display(description="title", ordering="title")
    def title_short(self, obj: Study) -> str:
        return short_text(obj.title)

    @admin.display(description="biome", ordering="biome__lineage")
    def biome_short(self, obj: Study) -> str:
        """The last two labels of the lineage (the full one is on the page and in the filter)."""
        return ":".join(obj.biome.lineage.split(":")[-2:]) if obj.biome_id else EMPTY

    @admin.display(description="ENA import")
    def ena_import(self, obj: Study) -> SafeString | str:
        if obj.ena_study_id is None:
            return EMPTY
        return import_report_html(obj.ena_study.import_report)

    @admin.display(description="All samples")
    def all_samples(self, obj: Study) -> SafeString | str:
        if obj.pk is None:
            return EMPTY
        return changelist_link(Sample, "all samples of this study", studies__id__exact=obj.pk)

    @admin.display(description="All analyses")
    def all_analyses(self, obj: Study) -> SafeString | str:
        if obj.pk is None:
            return EMPTY
        return changelist_link(Analysis, f"{obj.analyses.count()} analyses", study__id__exact=obj.pk)

    @admin.display(description=f"newest {INLINE_LIMIT} samples")
    def newest_samples(self, obj: Study) -> SafeString | str:
        """The study's newest samples by accession, linked (a bounded query on the M2M's index)."""
        if obj.pk is None:
            return EMPTY
        samples = obj.samples.order_by("-id")[:INLINE_LIMIT]
        return table(
            ("sample", "ENA accessions", "privacy"),
            (
                (change_link(sample), console.accessions_text(sample.ena_accessions), privacy_badge(sample.is_private))
                for sample in samples
            ),
        )

    @admin.display(description=f"newest {INLINE_LIMIT} analyses")
    def newest_analyses(self, obj: Study) -> SafeString | str:
        if obj.pk is None:
            return EMPTY
        analyses = obj.analyses.defer(*AnalysisAdmin.json_fields).order_by("-id")[:INLINE_LIMIT]
        return console.analyses_table(list(analyses))


# ---------------------------------------------------------------------------------------------- samples, runs


@admin.register(Sample)
class SampleAdmin(ConsoleAdminMixin, PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "ena_accessions_text", "biome", "privacy", "created")
    list_filter = ("is_private", biome_filter("biome_id"))
    list_select_related = ("biome",)
    search_fields = ("=ena_sample__accession",)
    search_help_text = "A sample (ERS…) or BioSample (SAMEA…) accession; a study's MGYS/PRJEB…/ERP… lists its samples."
    accession_lookups_by_kind = {
        **{kind: ("ena_accessions",) for kind in SAMPLE_KINDS},
        **{kind: ("studies__ena_accessions",) for kind in STUDY_KINDS},
        AccessionKind.MGNIFY_STUDY: ("studies__accession",),
    }
    accession_multi_valued = ("studies",)
    raw_id_fields = ("ena_sample", "studies")
    autocomplete_fields = ("biome",)
    readonly_fields = ("created_at", "updated_at")

    def console_for(self, request: HttpRequest, obj: Sample) -> console.Console:
        studies = list(obj.studies.visible_to(request.user).order_by("id")[:INLINE_LIMIT])
        runs = list(obj.runs.visible_to(request.user).order_by("id")[:INLINE_LIMIT])
        return console.sample_console(obj, studies, runs)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if is_changelist(request) else queryset.select_related("ena_sample", "biome")


@admin.register(Run)
class RunAdmin(ConsoleAdminMixin, PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "study_and_sample", "type_code", "instrument_model", "privacy", "created")
    list_filter = ("experiment_type", "is_private", "instrument_platform", biome_filter("study__biome_id"))
    list_select_related = ("study", "sample")
    search_fields = ("=ena_run__accession", "=study__accession")
    search_help_text = "A run (ERR…) accession; a study's MGYS/PRJEB…/ERP… or a sample's ERS…/SAMEA… lists its runs."
    accession_lookups_by_kind = {
        AccessionKind.RUN: ("ena_accessions",),
        AccessionKind.MGNIFY_STUDY: ("study__accession",),
        **{kind: ("study__ena_accessions",) for kind in STUDY_KINDS},
        **{kind: ("sample__ena_accessions",) for kind in SAMPLE_KINDS},
    }
    raw_id_fields = ("ena_run", "study", "sample")
    readonly_fields = ("created_at", "updated_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if is_changelist(request) else queryset.select_related("study", "sample", "ena_run")

    def console_for(self, request: HttpRequest, obj: Run) -> console.Console:
        analyses = obj.analyses.visible_to(request.user).defer(*AnalysisAdmin.json_fields).order_by("-id")
        return console.run_console(obj, list(analyses[:INLINE_LIMIT]))

    @admin.display(description="study", ordering="study__accession")
    def study_link(self, obj: Run) -> SafeString | str:
        return study_column(obj.study)

    @admin.display(description="sample", ordering="sample__id")
    def sample_link(self, obj: Run) -> SafeString | str:
        return change_link(obj.sample)

    @admin.display(description="study / sample", ordering="study__accession")
    def study_and_sample(self, obj: Run) -> SafeString:
        return format_html(
            '{}<br><span class="console-quiet">{}</span>', study_column(obj.study), change_link(obj.sample)
        )

    @admin.display(description="type", ordering="experiment_type")
    def type_code(self, obj: Run) -> SafeString:
        return format_html('<abbr title="{}">{}</abbr>', obj.get_experiment_type_display(), obj.experiment_type)


# ---------------------------------------------------------------------------------------------- assemblies


@admin.register(Assembly)
class AssemblyAdmin(PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "study_link", "run_link", "assembler", "status_badge", "privacy")
    list_filter = ("status", "is_private", "assembler_name", biome_filter("study__biome_id"))
    list_select_related = ("study", "run")
    search_fields = ("=accession", "=study__accession")
    search_help_text = "An assembly (ERZ…, GCA_…) accession; a run's ERR… or a study's MGYS/PRJEB…/ERP… lists its own."
    accession_lookups_by_kind = {
        AccessionKind.ASSEMBLY: ("accession", "ena_accessions"),
        AccessionKind.ANALYSIS: ("accession", "ena_accessions"),
        AccessionKind.RUN: ("run__ena_accessions",),
        AccessionKind.MGNIFY_STUDY: ("study__accession",),
        **{kind: ("study__ena_accessions",) for kind in STUDY_KINDS},
    }
    raw_id_fields = ("run", "study")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="study", ordering="study__accession")
    def study_link(self, obj: Assembly) -> SafeString | str:
        return study_column(obj.study)

    @admin.display(description="run")
    def run_link(self, obj: Assembly) -> SafeString | str:
        return change_link(obj.run)

    @admin.display(description="assembler", ordering="assembler_name")
    def assembler(self, obj: Assembly) -> str:
        return f"{obj.assembler_name} {obj.assembler_version}".strip() or EMPTY

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Assembly) -> SafeString | str:
        return state_badge(obj.status)


# ---------------------------------------------------------------------------------------------- analyses


@admin.register(Analysis)
class AnalysisAdmin(ConsoleAdminMixin, PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    #: Fits 1,280 px beside the admin's navigation and filter sidebars: study and run share a column,
    #: the experiment type is its code, state and flags share a column, the update its date.
    list_display = ("accession", "study_and_run", "pipeline", "type_code", "state_and_flags", "updated")
    list_filter = (
        "state",
        "experiment_type",
        "pipeline_name",
        "pipeline_version",
        "is_private",
        "is_superseded",
        biome_filter("study__biome_id"),
    )
    list_select_related = ("study", "run")
    search_fields = ("=accession", "=study__accession")
    search_help_text = (
        "An MGYA; a study's MGYS, PRJEB… or ERP…; a run's ERR…, a sample's ERS…/SAMEA… or an assembly's accession."
    )
    accession_lookups_by_kind = {
        AccessionKind.MGNIFY_ANALYSIS: ("accession",),
        AccessionKind.MGNIFY_STUDY: ("study__accession",),
        **{kind: ("study__ena_accessions",) for kind in STUDY_KINDS},
        AccessionKind.RUN: ("run__ena_accessions",),
        **{kind: ("sample__ena_accessions",) for kind in SAMPLE_KINDS},
        AccessionKind.ASSEMBLY: ("assembly__accession", "assembly__ena_accessions"),
        AccessionKind.ANALYSIS: ("assembly__accession", "assembly__ena_accessions"),
    }
    json_fields = ("status", "quality_control", "results", "annotations", "downloads", "provenance")
    #: What the pipeline owns: shown, never taken from a POST (they are not form fields at all).
    pipeline_fields = (
        "accession",
        "study_link",
        "sample_link",
        "run_link",
        "assembly_link",
        "pipeline_name",
        "pipeline_version",
        "state_badge",
        "superseded",
        "created_at",
        "updated_at",
    )
    readonly_fields = pipeline_fields
    fieldsets = (
        ("Curator metadata", {"fields": ("experiment_type", "is_private", "webin_submitter")}),
        ("Pipeline (read-only: written by the pipeline)", {"fields": pipeline_fields}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Lists: no JSON columns. Change pages: everything but ``annotations``, of which only the count tables."""
        queryset = super().get_queryset(request)
        if is_changelist(request):
            return queryset.defer(*self.json_fields)
        return (
            queryset.select_related("study", "sample", "run", "assembly")
            .defer("annotations")
            .annotate(
                pfam_counts=KeyTransform("counts", KeyTransform("pfam", "annotations")),
                rrna_counts=KeyTransform("counts", KeyTransform("rrna", "annotations")),
            )
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # analyses are created by the platform (one per run, pipeline and version), never by hand

    def has_delete_permission(self, request: HttpRequest, obj: Analysis | None = None) -> bool:
        """Never by hand: an analysis is the record of work done (its ledger item, files and DRS objects point
        at it); deleting one would leave them dangling and let the run be analysed again unasked."""
        return False

    def console_for(self, request: HttpRequest, obj: Analysis) -> console.Console:
        return console.analysis_console(obj)

    @admin.display(description="study", ordering="study__accession")
    def study_link(self, obj: Analysis) -> SafeString | str:
        return study_column(obj.study)

    @admin.display(description="run")
    def run_link(self, obj: Analysis) -> SafeString | str:
        return change_link(obj.run)

    @admin.display(description="sample")
    def sample_link(self, obj: Analysis) -> SafeString | str:
        return change_link(obj.sample)

    @admin.display(description="assembly")
    def assembly_link(self, obj: Analysis) -> SafeString | str:
        return change_link(obj.assembly)

    @admin.display(description="pipeline", ordering="pipeline_name")
    def pipeline(self, obj: Analysis) -> str:
        return f"{obj.pipeline_name} {obj.pipeline_version}"

    @admin.display(description="state", ordering="state")
    def state_badge(self, obj: Analysis) -> SafeString | str:
        return state_badge(obj.state)

    @admin.display(description="superseded", ordering="is_superseded")
    def superseded(self, obj: Analysis) -> SafeString | str:
        return flag_text(obj.is_superseded, yes="superseded by a re-run", no="no")

    @admin.display(description="study / run", ordering="study__accession")
    def study_and_run(self, obj: Analysis) -> SafeString:
        run_or_assembly = change_link(obj.run) if obj.run_id else format_html("assembly {}", obj.assembly_id)
        return format_html('{}<br><span class="console-quiet">{}</span>', study_column(obj.study), run_or_assembly)

    @admin.display(description="type", ordering="experiment_type")
    def type_code(self, obj: Analysis) -> SafeString:
        return format_html('<abbr title="{}">{}</abbr>', obj.get_experiment_type_display(), obj.experiment_type)

    @admin.display(description="state", ordering="state")
    def state_and_flags(self, obj: Analysis) -> SafeString:
        """The state's badge, then private and superseded (neither is an error, so neither is red)."""
        parts = [state_badge(obj.state)]
        if obj.is_private:
            parts.append(privacy_badge(True))
        if obj.is_superseded:
            parts.append(flag_text(True, yes="superseded"))
        return format_html(" ".join(["{}"] * len(parts)), *parts)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, obj: Analysis) -> SafeString:
        return format_html(
            '<span title="{}">{}</span>', obj.updated_at.isoformat(), obj.updated_at.strftime("%Y-%m-%d")
        )
