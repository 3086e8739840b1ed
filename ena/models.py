"""Models that mirror ENA's objects: studies, samples and read runs, with their raw metadata."""

from __future__ import annotations

from django.db import models

from core.fields import SchemaJSONField
from core.model_mixins import ENAAccessionsMixin, PrivacyMixin, TimeStampedModel
from ena.schemas import FASTQ_FILES_SCHEMA, IMPORT_REPORT_SCHEMA


class ENAObject(ENAAccessionsMixin, PrivacyMixin, TimeStampedModel):
    """Shared shape: a primary accession, all accessions, raw ENA metadata and when it was fetched."""

    accession = models.CharField(max_length=32, unique=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="The record as ENA returned it")
    fetched_at = models.DateTimeField(null=True, blank=True, help_text="When ENA was last asked")

    class Meta(ENAAccessionsMixin.Meta):
        abstract = True

    def __str__(self) -> str:
        return self.accession


class Study(ENAObject):
    """An ENA study: primary accession PRJ*, secondary ERP/SRP/DRP."""

    title = models.TextField(blank=True, default="")
    import_report = SchemaJSONField(
        schema=IMPORT_REPORT_SCHEMA,
        null=True,
        blank=True,
        help_text="What the last import found: counts, records skipped with their reasons, runs ENA no longer lists",
    )

    class Meta(ENAObject.Meta):
        verbose_name = "ENA study"
        verbose_name_plural = "ENA studies"


class Sample(ENAObject):
    """An ENA sample: primary accession SAMEA/SAMN/SAMD, secondary ERS/SRS/DRS."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="samples")
    title = models.TextField(blank=True, default="")
    tax_id = models.CharField(max_length=16, blank=True, default="")
    scientific_name = models.CharField(max_length=255, blank=True, default="")

    class Meta(ENAObject.Meta):
        verbose_name = "ENA sample"


class Run(ENAObject):
    """An ENA read run (ERR/SRR/DRR) and the FASTQ files ENA holds for it."""

    class LibraryLayout(models.TextChoices):
        SINGLE = "SINGLE"
        PAIRED = "PAIRED"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="runs")
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="runs")
    experiment_accession = models.CharField(max_length=32, blank=True, default="")
    library_strategy = models.CharField(max_length=64, blank=True, default="", db_index=True)
    library_layout = models.CharField(max_length=16, choices=LibraryLayout.choices, blank=True, default="")
    library_source = models.CharField(max_length=64, blank=True, default="")
    library_selection = models.CharField(max_length=64, blank=True, default="")
    instrument_platform = models.CharField(max_length=64, blank=True, default="")
    instrument_model = models.CharField(max_length=128, blank=True, default="")
    read_count = models.BigIntegerField(null=True, blank=True)
    base_count = models.BigIntegerField(null=True, blank=True)
    first_public = models.DateField(null=True, blank=True)
    fastq_files = SchemaJSONField(schema=FASTQ_FILES_SCHEMA, default=list, blank=True)

    class Meta(ENAObject.Meta):
        verbose_name = "ENA run"
