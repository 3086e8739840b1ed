"""Curators' admin for MGnify objects: biomes, studies, samples, runs, assemblies and analyses.

* Search by any accession (MGYS/MGYA exactly, ENA accessions in the GIN-indexed arrays).
* Foreign keys are raw-id or autocomplete widgets, and lists use ``list_select_related``, so no page
  loads a whole table.
* JSON columns are shown indented; pipeline outputs (results, QC, downloads, provenance, status) are
  read-only, curator metadata is editable.
* A study's change page shows its newest samples and analyses inline (at most
  :data:`INLINE_LIMIT` each) with links to the full, filtered changelists.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.admin import VisibleRowsAdminMixin
from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study, lineage_to_ltree_text
from ena.admin import JSON_FORMFIELD_OVERRIDES, AccessionSearchMixin, import_report_html, pretty_json

INLINE_LIMIT = 20
#: Biomes offered by the biome list filter: those at most this many labels deep (root:A:B:C).
BIOME_FILTER_MAX_DEPTH = 4


# ---------------------------------------------------------------------------------------------- helpers


def changelist_link(model: type, text: str, **filters: Any) -> SafeString:
    """A link to ``model``'s changelist filtered by ``filters`` (field lookups as query parameters).

    :param model: the model whose changelist to open
    :param text: the link text
    :param filters: e.g. ``study__id__exact=3``
    """
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return format_html('<a href="{}?{}">{}</a>', url, query, text)


def change_link(obj: Any, text: str | None = None) -> SafeString | str:
    """A link to ``obj``'s change page, or ``-`` when ``obj`` is None."""
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


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


class LimitedInlineFormSet(BaseInlineFormSet):
    """An inline formset over only the newest :data:`INLINE_LIMIT` related rows (two queries, any table size)."""

    limit = INLINE_LIMIT
    select_related: tuple[str, ...] = ()

    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_queryset"):
            queryset = super().get_queryset()
            newest = list(queryset.order_by("-pk").values_list("pk", flat=True)[: self.limit])
            self._queryset = queryset.filter(pk__in=newest).select_related(*self.select_related).order_by("-pk")
        return self._queryset


class ReadOnlyInline(admin.TabularInline):
    """A read-only, limited inline: rows are edited on their own change pages."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PrivacyListMixin(VisibleRowsAdminMixin):
    """Only rows the user may see; ``-id`` order; no second COUNT on big tables."""

    ordering = ("-id",)
    show_full_result_count = False
    formfield_overrides = JSON_FORMFIELD_OVERRIDES


# ---------------------------------------------------------------------------------------------- biomes


@admin.register(Biome)
class BiomeAdmin(admin.ModelAdmin):
    list_display = ("lineage", "biome_name")
    search_fields = ("lineage", "biome_name")
    readonly_fields = ("path",)
    ordering = ("lineage",)


# ---------------------------------------------------------------------------------------------- studies


class StudySamplesFormSet(LimitedInlineFormSet):
    select_related = ("sample",)


class StudySampleInline(ReadOnlyInline):
    model = Study.samples.through
    formset = StudySamplesFormSet
    fields = ("sample_link",)
    readonly_fields = ("sample_link",)
    verbose_name = "sample"
    verbose_name_plural = f"samples (newest {INLINE_LIMIT}; see 'All samples' above for the rest)"
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Links to samples the user may see only."""
        return super().get_queryset(request).filter(sample__in=Sample.objects.visible_to(request.user))

    @admin.display(description="sample")
    def sample_link(self, obj: Any) -> SafeString | str:
        return change_link(obj.sample)


class StudyAnalysesFormSet(LimitedInlineFormSet):
    select_related = ("run",)


class StudyAnalysisInline(VisibleRowsAdminMixin, ReadOnlyInline):
    model = Analysis
    formset = StudyAnalysesFormSet
    fk_name = "study"
    fields = ("accession", "run", "pipeline_name", "pipeline_version", "experiment_type", "state", "is_superseded")
    readonly_fields = fields
    verbose_name_plural = f"analyses (newest {INLINE_LIMIT}; see 'All analyses' above for the rest)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer(*AnalysisAdmin.json_fields)


@admin.register(Study)
class StudyAdmin(PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("accession", "title", "ena_accessions", "biome", "is_private", "created_at")
    list_filter = ("is_private", biome_filter("biome_id"))
    list_select_related = ("biome",)
    search_fields = ("=accession", "title")
    autocomplete_fields = ("biome", "ena_study")
    readonly_fields = ("accession", "ena_import", "all_samples", "all_analyses", "created_at", "updated_at")
    fields = (
        "accession",
        "title",
        "ena_study",
        "ena_import",
        "ena_accessions",
        "biome",
        "is_private",
        "webin_submitter",
        "all_samples",
        "all_analyses",
        "created_at",
        "updated_at",
    )
    inlines = (StudySampleInline, StudyAnalysisInline)

    @admin.display(description="ENA import")
    def ena_import(self, obj: Study) -> SafeString | str:
        if obj.ena_study_id is None:
            return "-"
        return import_report_html(obj.ena_study.import_report)

    @admin.display(description="All samples")
    def all_samples(self, obj: Study) -> SafeString | str:
        if obj.pk is None:
            return "-"
        return changelist_link(Sample, f"{obj.samples.count()} samples", studies__id__exact=obj.pk)

    @admin.display(description="All analyses")
    def all_analyses(self, obj: Study) -> SafeString | str:
        if obj.pk is None:
            return "-"
        return changelist_link(Analysis, f"{obj.analyses.count()} analyses", study__id__exact=obj.pk)


# ---------------------------------------------------------------------------------------------- samples, runs


@admin.register(Sample)
class SampleAdmin(PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "ena_accessions", "biome", "is_private", "created_at")
    list_filter = ("is_private", biome_filter("biome_id"))
    list_select_related = ("biome",)
    search_fields = ("=ena_sample__accession",)
    raw_id_fields = ("ena_sample", "studies")
    autocomplete_fields = ("biome",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Run)
class RunAdmin(PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "study_accession", "experiment_type", "instrument_model", "is_private", "created_at")
    list_filter = ("experiment_type", "is_private", "instrument_platform", biome_filter("study__biome_id"))
    list_select_related = ("study",)
    search_fields = ("=ena_run__accession", "=study__accession")
    raw_id_fields = ("ena_run", "study", "sample")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="study", ordering="study__accession")
    def study_accession(self, obj: Run) -> str:
        return obj.study.accession


# ---------------------------------------------------------------------------------------------- assemblies


@admin.register(Assembly)
class AssemblyAdmin(PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = ("__str__", "study_accession", "run", "assembler_name", "assembler_version", "status", "is_private")
    list_filter = ("status", "is_private", "assembler_name", biome_filter("study__biome_id"))
    list_select_related = ("study", "run")
    search_fields = ("=accession", "=study__accession")
    raw_id_fields = ("run", "study")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(description="study", ordering="study__accession")
    def study_accession(self, obj: Assembly) -> str:
        return obj.study.accession


# ---------------------------------------------------------------------------------------------- analyses


@admin.register(Analysis)
class AnalysisAdmin(PrivacyListMixin, AccessionSearchMixin, admin.ModelAdmin):
    list_display = (
        "accession",
        "study_accession",
        "run",
        "pipeline_name",
        "pipeline_version",
        "experiment_type",
        "state",
        "is_superseded",
        "is_private",
        "updated_at",
    )
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
    accession_array_lookups = ("run__ena_accessions", "sample__ena_accessions", "assembly__ena_accessions")
    raw_id_fields = ("study", "sample", "run", "assembly")
    json_fields = ("status", "quality_control", "results", "annotations", "downloads", "provenance")
    exclude = json_fields
    readonly_fields = (
        "accession",
        "status_pretty",
        "quality_control_pretty",
        "results_pretty",
        "downloads_pretty",
        "provenance_pretty",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            return queryset.defer(*self.json_fields)
        return queryset

    @admin.display(description="study", ordering="study__accession")
    def study_accession(self, obj: Analysis) -> str:
        return obj.study.accession

    @admin.display(description="status flags")
    def status_pretty(self, obj: Analysis) -> SafeString:
        return pretty_json(obj.status)

    @admin.display(description="quality control")
    def quality_control_pretty(self, obj: Analysis) -> SafeString:
        return pretty_json(obj.quality_control)

    @admin.display(description="results")
    def results_pretty(self, obj: Analysis) -> SafeString:
        return pretty_json(obj.results)

    @admin.display(description="downloads")
    def downloads_pretty(self, obj: Analysis) -> SafeString:
        return pretty_json(obj.downloads)

    @admin.display(description="provenance")
    def provenance_pretty(self, obj: Analysis) -> SafeString:
        return pretty_json(obj.provenance)
