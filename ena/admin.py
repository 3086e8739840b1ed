"""Curators' admin for the ENA mirror: studies, samples and runs, searchable by any accession."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts.admin import VisibleRowsAdminMixin
from ena.accessions import accession_kind
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


class AccessionSearchMixin:
    """Search by any accession: exact matches in ``ena_accessions`` arrays (GIN-indexed), plus ``search_fields``.

    ``accession_array_lookups`` lists the array fields to look in, e.g. ``("ena_accessions",
    "run__ena_accessions")``. They are only consulted when the term looks like an accession.
    """

    accession_array_lookups: tuple[str, ...] = ("ena_accessions",)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and accession_kind(term) is not None:
            by_array = Q()
            for lookup in self.accession_array_lookups:
                by_array |= Q(**{f"{lookup}__contains": [term]})
            results = results | queryset.filter(by_array)
            may_have_duplicates = may_have_duplicates or any("__" in lookup for lookup in self.accession_array_lookups)
        return results, may_have_duplicates


class ENAObjectAdmin(VisibleRowsAdminMixin, AccessionSearchMixin, admin.ModelAdmin):
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


@admin.register(Study)
class StudyAdmin(ENAObjectAdmin):
    list_display = ("accession", "title", "is_private", "webin_submitter", "fetched_at")
    readonly_fields = ("import_report_summary", *ENAObjectAdmin.readonly_fields)
    exclude = ("metadata", "import_report")

    @admin.display(description="last import")
    def import_report_summary(self, obj: Study) -> SafeString:
        return import_report_html(obj.import_report)


@admin.register(Sample)
class SampleAdmin(ENAObjectAdmin):
    list_display = ("accession", "title", "scientific_name", "study", "is_private")
    list_select_related = ("study",)
    raw_id_fields = ("study",)


@admin.register(Run)
class RunAdmin(ENAObjectAdmin):
    search_fields = ("=accession", "=experiment_accession")
    list_display = ("accession", "study", "sample", "library_strategy", "library_layout", "instrument_model")
    list_filter = ("is_private", "library_strategy", "library_layout", "instrument_platform")
    list_select_related = ("study", "sample")
    raw_id_fields = ("study", "sample")
    readonly_fields = (*ENAObjectAdmin.readonly_fields, "fastq_files_pretty")
    exclude = ("metadata", "fastq_files")

    @admin.display(description="FASTQ files")
    def fastq_files_pretty(self, obj: Run) -> SafeString:
        return pretty_json(obj.fastq_files)
