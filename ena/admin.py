"""Curators' admin for the ENA mirror: studies, samples and runs, searchable by any accession."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from accounts.admin import VisibleRowsAdminMixin
from ena.accessions import AccessionKind, accession_kind
from ena.models import Run, Sample, Study
from ena.schemas import ImportReport

#: Longest JSON shown in full on a change page; longer values are cut with a note.
MAX_PRETTY_JSON_CHARS = 20_000


def pretty_json(value: Any, *, limit: int = MAX_PRETTY_JSON_CHARS) -> SafeString:
    """Render ``value`` as indented JSON in a ``<pre>``, cut after ``limit`` characters.

    :param value: anything JSON-serialisable (a JSONField's value)
    :param limit: how many characters to show at most
    """
    if value is None:
        return format_html("<em>{}</em>", "none")
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = f"{text[:limit]}\n… ({len(text) - limit} more characters not shown)"
    return format_html('<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}</pre>', text)


def import_report_html(report: dict | None) -> SafeString:
    """A study's import report as curators read it: counts, then a table of the records skipped and why.

    :param report: ``ena.Study.import_report`` (an :class:`ena.schemas.ImportReport` as JSON), or None
    """
    if not report:
        return format_html("<em>{}</em>", "not imported by this version yet")
    parsed = ImportReport.model_validate(report)
    summary = format_html(
        "<p>{} of {} runs and {} of {} samples imported{}{}.</p>",
        parsed.runs_imported,
        parsed.runs_listed,
        parsed.samples_imported,
        parsed.samples_listed,
        f" from the {parsed.data_portal} portal" if parsed.data_portal else "",
        " (private: fetched with the Webin credentials)" if parsed.private else "",
    )
    parts = [summary]
    if parsed.skipped:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (record.result, record.accession or "-", record.field or "-", record.file or "-", record.reason)
                for record in parsed.skipped
            ),
        )
        parts.append(
            format_html(
                "<p><strong>{} records skipped</strong> (the rest of the study was imported):</p>"
                "<table><thead><tr><th>record</th><th>accession</th><th>field</th><th>file</th><th>reason</th>"
                "</tr></thead><tbody>{}</tbody></table>",
                len(parsed.skipped),
                rows,
            )
        )
    if parsed.no_longer_listed:
        parts.append(
            format_html(
                "<p>Runs ENA no longer lists (kept, with their analyses): {}</p>", ", ".join(parsed.no_longer_listed)
            )
        )
    return format_html_join("", "{}", ((part,) for part in parts))


class PrettyJSONFormField(forms.JSONField):
    """A JSON form field that shows its value indented, for hand editing."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


JSON_FORMFIELD_OVERRIDES = {
    models.JSONField: {
        "form_class": PrettyJSONFormField,
        "widget": forms.Textarea(attrs={"rows": 12, "cols": 100, "style": "font-family: monospace"}),
    }
}


def accession_condition(lookup: str, term: str) -> Q:
    """``lookup`` matching ``term``: containment for an accession array (GIN-indexed), equality otherwise."""
    if lookup.endswith("ena_accessions"):
        return Q(**{f"{lookup}__contains": [term]})
    return Q(**{lookup: term})


class AccessionSearchMixin:
    """Search by any accession a curator holds, each kind where it is indexed.

    ``accession_lookups_by_kind`` maps an :class:`~ena.accessions.AccessionKind` to the lookups that find
    it (``ena_accessions`` arrays by containment, other fields exactly), e.g. a PRJEB on an analysis is
    ``study__ena_accessions``. A term of a listed kind is looked up there *only*: one indexed condition
    per lookup instead of ``search_fields``' ``OR`` over joins, which Postgres answers with a sequential scan.

    Other terms that look like an accession are also looked for in ``accession_array_lookups``, on top
    of ``search_fields`` (the behaviour before the kinds were listed).
    """

    accession_array_lookups: tuple[str, ...] = ("ena_accessions",)
    accession_lookups_by_kind: dict[AccessionKind, tuple[str, ...]] = {}
    #: lookups that cross a many-to-many or reverse relation (their matches may repeat a row)
    accession_multi_valued: tuple[str, ...] = ()

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        kind = accession_kind(term) if term else None
        if kind is not None and kind in self.accession_lookups_by_kind:
            lookups = self.accession_lookups_by_kind[kind]
            condition = Q()
            for lookup in lookups:
                condition |= accession_condition(lookup, term)
            crosses_many = any(lookup.split("__")[0] in self.accession_multi_valued for lookup in lookups)
            return queryset.filter(condition), crosses_many
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if term and kind is not None:
            by_array = Q()
            for lookup in self.accession_array_lookups:
                by_array |= Q(**{f"{lookup}__contains": [term]})
            results = results | queryset.filter(by_array)
            may_have_duplicates = may_have_duplicates or any("__" in lookup for lookup in self.accession_array_lookups)
        return results, may_have_duplicates


#: ENA's study accessions, project (PRJEB…) or study (ERP…).
STUDY_KINDS = (AccessionKind.PROJECT, AccessionKind.STUDY)
#: ENA's sample accessions, BioSample (SAMEA…) or sample (ERS…).
SAMPLE_KINDS = (AccessionKind.BIOSAMPLE, AccessionKind.SAMPLE)


class FamilyTitleMixin:
    """Page titles that are the model's names, which name its family: "ENA studies" (ENA's records mirrored)
    vs "MGnify studies" (the platform's; see the models' ``verbose_name``), rather than Django's "Select study
    to change" on both.
    """

    def _family_title(self, singular: bool) -> str:
        opts = self.model._meta  # type: ignore[attr-defined]
        return capfirst(opts.verbose_name if singular else opts.verbose_name_plural)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        extra_context = {"title": self._family_title(singular=False), **(extra_context or {})}
        return super().changelist_view(request, extra_context)  # type: ignore[misc]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> Any:
        extra_context = {"title": self._family_title(singular=True), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]


def short_text(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, for list columns."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def admin_link(obj: Any, text: str | None = None) -> SafeString | str:
    """A link to ``obj``'s admin change page, ``-`` for None."""
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text or str(obj))


class ENAObjectAdmin(FamilyTitleMixin, VisibleRowsAdminMixin, AccessionSearchMixin, admin.ModelAdmin):
    search_fields = ("=accession", "title")
    list_filter = ("is_private",)
    readonly_fields = ("metadata_pretty", "created_at", "updated_at")
    exclude = ("metadata",)
    formfield_overrides = JSON_FORMFIELD_OVERRIDES
    ordering = ("-id",)
    show_full_result_count = False

    @admin.display(description="metadata (as ENA returned it)")
    def metadata_pretty(self, obj: Study | Sample | Run) -> SafeString:
        return pretty_json(obj.metadata)

    @admin.display(description="title", ordering="title")
    def title_short(self, obj: Study | Sample) -> str:
        return short_text(obj.title)

    @admin.display(description="private", ordering="is_private")
    def privacy(self, obj: Study | Sample | Run) -> SafeString:
        if obj.is_private:
            return format_html('<span class="console-badge console-badge--note">{}</span>', "private")
        return format_html('<span class="console-badge console-badge--neutral">{}</span>', "public")

    class Media:
        css = {"all": ("analyses/admin/console.css",)}


@admin.register(Study)
class StudyAdmin(ENAObjectAdmin):
    list_display = ("accession", "title_short", "privacy", "webin_submitter", "fetched_at")
    search_help_text = "A project (PRJEB…) or study (ERP…) accession, primary or secondary; or words of the title."
    accession_lookups_by_kind = {kind: ("accession", "ena_accessions") for kind in STUDY_KINDS}
    readonly_fields = ("import_report_summary", *ENAObjectAdmin.readonly_fields)
    exclude = ("metadata", "import_report")

    @admin.display(description="last import")
    def import_report_summary(self, obj: Study) -> SafeString:
        return import_report_html(obj.import_report)


@admin.register(Sample)
class SampleAdmin(ENAObjectAdmin):
    list_display = ("accession", "title_short", "scientific_name", "study_link", "privacy")
    list_select_related = ("study",)
    raw_id_fields = ("study",)
    search_help_text = (
        "A sample (ERS…) or BioSample (SAMEA…) accession; a study's PRJEB…/ERP… lists its samples; or title words."
    )
    accession_lookups_by_kind = {
        **{kind: ("accession", "ena_accessions") for kind in SAMPLE_KINDS},
        **{kind: ("study__accession", "study__ena_accessions") for kind in STUDY_KINDS},
    }

    @admin.display(description="ENA study", ordering="study__accession")
    def study_link(self, obj: Sample) -> SafeString | str:
        return admin_link(obj.study, obj.study.accession)


@admin.register(Run)
class RunAdmin(ENAObjectAdmin):
    search_fields = ("=accession", "=experiment_accession")
    search_help_text = (
        "A run (ERR…) or experiment (ERX…) accession; a study's PRJEB…/ERP… or a sample's ERS…/SAMEA… lists its runs."
    )
    accession_lookups_by_kind = {
        AccessionKind.RUN: ("accession", "ena_accessions"),
        AccessionKind.EXPERIMENT: ("experiment_accession",),
        **{kind: ("study__accession", "study__ena_accessions") for kind in STUDY_KINDS},
        **{kind: ("sample__accession", "sample__ena_accessions") for kind in SAMPLE_KINDS},
    }
    list_display = ("accession", "study_link", "sample_link", "library_strategy", "library_layout", "instrument_model")
    list_filter = ("is_private", "library_strategy", "library_layout", "instrument_platform")
    list_select_related = ("study", "sample")
    raw_id_fields = ("study", "sample")
    readonly_fields = (*ENAObjectAdmin.readonly_fields, "fastq_files_pretty")
    exclude = ("metadata", "fastq_files")

    @admin.display(description="ENA study", ordering="study__accession")
    def study_link(self, obj: Run) -> SafeString | str:
        return admin_link(obj.study, obj.study.accession)

    @admin.display(description="ENA sample", ordering="sample__accession")
    def sample_link(self, obj: Run) -> SafeString | str:
        return admin_link(obj.sample, obj.sample.accession)

    @admin.display(description="FASTQ files")
    def fastq_files_pretty(self, obj: Run) -> SafeString:
        return pretty_json(obj.fastq_files)
