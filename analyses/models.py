"""The platform's own objects: MGYS studies, samples, runs, assemblies, MGYA analyses and biomes."""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Func, Q, Value
from django.utils import timezone

from analyses.schemas import (
    ANALYSIS_STATUS_SCHEMA,
    DOWNLOADS_SCHEMA,
    AnalysisAnnotations,
    AnalysisResults,
    AnalysisStatusFlag,
    Provenance,
    QualityControl,
)
from core.fields import LtreeField, SchemaJSONField
from core.model_mixins import ENAAccessionsMixin, PrivacyMixin, PrivacyQuerySet, TimeStampedModel

MGYS_SEQUENCE = "analyses_mgys_seq"
MGYA_SEQUENCE = "analyses_mgya_seq"


def minted_accession(prefix: str, sequence: str) -> Func:
    """A database default that mints ``prefix`` + zero-padded ``nextval(sequence)`` (see migration 0001)."""
    return Func(Value(prefix), Func(Value(sequence), function="nextval"), function="emg_mint_accession")


def lineage_to_ltree() -> Func:
    """``root:Host-associated:Human`` -> ltree ``root.Host_associated.Human`` (labels allow [A-Za-z0-9_])."""
    labels = Func(F("lineage"), Value("[^A-Za-z0-9_:]+"), Value("_"), Value("g"), function="regexp_replace")
    return Func(Func(labels, Value(":"), Value("."), function="replace"), function="text2ltree")


def lineage_to_ltree_text(lineage: str) -> str:
    """The same mapping as ``lineage_to_ltree`` in Python, for building query values."""
    import re

    return re.sub(r"[^A-Za-z0-9_:]+", "_", lineage).replace(":", ".")


class ExperimentType(models.TextChoices):
    AMPLICON = "AMPLI", "Amplicon"
    METAGENOMIC = "METAG", "Metagenomic"
    METATRANSCRIPTOMIC = "METAT", "Metatranscriptomic"
    ASSEMBLY = "ASSEM", "Assembly"
    UNKNOWN = "UNKNO", "Unknown"

    @classmethod
    def for_library(cls, library_strategy: str, library_source: str) -> ExperimentType:
        """The experiment type of an ENA run, from its library strategy and source.

        AMPLICON -> AMPLI; WGS/WGA/WXS/OTHER + METAGENOMIC -> METAG; any + METATRANSCRIPTOMIC
        (e.g. RNA-Seq) -> METAT; anything else -> UNKNO.
        """
        strategy, source = library_strategy.upper(), library_source.upper()
        if strategy == "AMPLICON":
            return cls.AMPLICON
        if source == "METATRANSCRIPTOMIC":
            return cls.METATRANSCRIPTOMIC
        if source == "METAGENOMIC" and strategy in {"WGS", "WGA", "WXS", "OTHER"}:
            return cls.METAGENOMIC
        return cls.UNKNOWN


class Biome(models.Model):
    """A node of the GOLD-style biome tree, e.g. ``root:Environmental:Aquatic:Marine``."""

    biome_name = models.CharField(max_length=255)
    lineage = models.CharField(max_length=1024, unique=True)
    path = models.GeneratedField(expression=lineage_to_ltree(), output_field=LtreeField(), db_persist=True)

    class Meta:
        ordering = ["lineage"]
        indexes = [GistIndex(fields=["path"], name="analyses_biome_path_gist")]

    def __str__(self) -> str:
        return self.lineage

    @property
    def depth(self) -> int:
        return self.lineage.count(":") + 1


class Study(ENAAccessionsMixin, PrivacyMixin, TimeStampedModel):
    """An MGnify study (MGYS), usually mirroring one ENA study."""

    accession = models.CharField(max_length=16, unique=True, db_default=minted_accession("MGYS", MGYS_SEQUENCE))
    ena_study = models.ForeignKey(
        "ena.Study", null=True, blank=True, on_delete=models.PROTECT, related_name="mgnify_studies"
    )
    #: indexed by ``study_biome_id`` (with the list order), not alone
    biome = models.ForeignKey(
        Biome, null=True, blank=True, on_delete=models.PROTECT, related_name="studies", db_index=False
    )
    title = models.TextField(blank=True, default="")
    search_vector = models.GeneratedField(
        expression=SearchVector("title", config="english"), output_field=SearchVectorField(), db_persist=True
    )

    class Meta(ENAAccessionsMixin.Meta):
        #: "MGnify" keeps the platform's studies, samples and runs apart from ENA's mirrored records (the ena app)
        verbose_name = "MGnify study"
        verbose_name_plural = "MGnify studies"
        indexes = [
            *ENAAccessionsMixin.Meta.indexes,
            GinIndex(fields=["search_vector"], name="analyses_study_search_gin"),
            models.Index(fields=["biome", "id"], include=["is_private"], name="study_biome_id"),
            models.Index(fields=["id"], condition=Q(is_private=False), name="study_public_id"),
        ]

    def __str__(self) -> str:
        return f"{self.accession} {self.title[:60]}"


class StudyPublicCounts(models.Model):
    """How many public samples, runs and (active) analyses a study has, kept by Postgres triggers.

    A study detail shows these counts; counting them live costs time in proportion to the study (3.4 ms for
    one of 10,000 runs, more for the largest ENA studies), reading them here one row. The triggers
    (:mod:`analyses.public_counts`, migration 0006) move them in the transaction of every insert, delete,
    privacy change and supersession, whoever writes (the ORM, COPY, raw SQL), so they are never stale. Never
    written by Django; only callers who see public rows alone read them, the rest count live.
    """

    #: No foreign-key constraint, so Django's deletion collector leaves the row to the study's delete trigger.
    study = models.OneToOneField(
        Study, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="public_counts"
    )
    samples = models.BigIntegerField(db_default=0)
    runs = models.BigIntegerField(db_default=0)
    analyses = models.BigIntegerField(db_default=0)

    class Meta:
        db_table = "analyses_study_public_counts"
        verbose_name = "MGnify study's public counts"
        verbose_name_plural = "MGnify studies' public counts"

    def __str__(self) -> str:
        return f"study {self.study_id}: {self.samples} samples, {self.runs} runs, {self.analyses} analyses"


class Sample(ENAAccessionsMixin, PrivacyMixin, TimeStampedModel):
    ena_sample = models.OneToOneField("ena.Sample", on_delete=models.PROTECT, related_name="mgnify_sample")
    studies = models.ManyToManyField(Study, related_name="samples")
    #: indexed by ``sample_biome_id`` (with the list order), not alone
    biome = models.ForeignKey(
        Biome, null=True, blank=True, on_delete=models.PROTECT, related_name="samples", db_index=False
    )

    class Meta(ENAAccessionsMixin.Meta):
        verbose_name = "MGnify sample"
        indexes = [
            *ENAAccessionsMixin.Meta.indexes,
            models.Index(fields=["biome", "id"], include=["is_private"], name="sample_biome_id"),
            models.Index(fields=["id"], condition=Q(is_private=False), name="sample_public_id"),
        ]

    def __str__(self) -> str:
        return self.first_ena_accession or f"sample {self.pk}"


class Run(ENAAccessionsMixin, PrivacyMixin, TimeStampedModel):
    ena_run = models.OneToOneField("ena.Run", on_delete=models.PROTECT, related_name="mgnify_run")
    #: indexed by ``run_study_id`` (with the list order), not alone
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="runs", db_index=False)
    sample = models.ForeignKey(Sample, on_delete=models.CASCADE, related_name="runs")
    #: indexed by ``run_experiment_type_id``
    experiment_type = models.CharField(max_length=5, choices=ExperimentType.choices, default=ExperimentType.UNKNOWN)
    instrument_platform = models.CharField(max_length=64, blank=True, default="")
    instrument_model = models.CharField(max_length=128, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True, help_text="Curator-editable platform metadata")

    class Meta(ENAAccessionsMixin.Meta):
        verbose_name = "MGnify run"
        #: Lists are newest first (``ORDER BY id DESC``) behind a visibility filter: each index leads with what a
        #: list filters on, then ``id`` for the order, and carries the visibility columns so that pages and
        #: counts are index-only scans (see ``bench/api_scale.py``).
        indexes = [
            *ENAAccessionsMixin.Meta.indexes,
            models.Index(fields=["study", "id"], include=["is_private"], name="run_study_id"),
            models.Index(
                fields=["experiment_type", "id"], include=["study", "is_private"], name="run_experiment_type_id"
            ),
            models.Index(fields=["id"], include=["study"], condition=Q(is_private=False), name="run_public_id"),
        ]

    def __str__(self) -> str:
        return self.first_ena_accession or f"run {self.pk}"


class Assembly(ENAAccessionsMixin, PrivacyMixin, TimeStampedModel):
    class Status(models.TextChoices):
        PENDING = "pending"
        ASSEMBLING = "assembling"
        COMPLETED = "completed"
        FAILED = "failed"
        SUBMITTED = "submitted"

    accession = models.CharField(max_length=32, unique=True, null=True, blank=True, help_text="ERZ once submitted")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="assemblies")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="assemblies")
    assembler_name = models.CharField(max_length=64, blank=True, default="")
    assembler_version = models.CharField(max_length=32, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta(ENAAccessionsMixin.Meta):
        verbose_name_plural = "assemblies"

    def __str__(self) -> str:
        return self.accession or f"assembly {self.pk}"


class AnalysisQuerySet(PrivacyQuerySet):
    def active(self) -> AnalysisQuerySet:
        return self.filter(is_superseded=False)


class Analysis(PrivacyMixin, TimeStampedModel):
    """An MGYA: one pipeline (name, version) applied to one run or assembly, exactly once."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"

    accession = models.CharField(max_length=16, unique=True, db_default=minted_accession("MGYA", MGYA_SEQUENCE))
    #: indexed by ``analysis_study_id`` (with the list order), not alone
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="analyses", db_index=False)
    sample = models.ForeignKey(Sample, null=True, blank=True, on_delete=models.CASCADE, related_name="analyses")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="analyses")
    assembly = models.ForeignKey(Assembly, null=True, blank=True, on_delete=models.CASCADE, related_name="analyses")
    experiment_type = models.CharField(
        max_length=5, choices=ExperimentType.choices, default=ExperimentType.UNKNOWN, db_index=True
    )
    pipeline_name = models.CharField(max_length=64, db_index=True)
    pipeline_version = models.CharField(max_length=32, db_index=True)
    #: indexed by ``analysis_state_id``
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    is_superseded = models.BooleanField(default=False, help_text="Replaced by a requested re-run")
    status = SchemaJSONField(schema=ANALYSIS_STATUS_SCHEMA, default=dict, blank=True)
    quality_control = SchemaJSONField(schema=QualityControl | None, null=True, blank=True)
    results = SchemaJSONField(schema=AnalysisResults | None, null=True, blank=True)
    annotations = SchemaJSONField(
        schema=AnalysisAnnotations | None,
        null=True,
        blank=True,
        help_text="Pfam domains and rRNA genes: large tables, read only by their action endpoints",
    )
    downloads = SchemaJSONField(schema=DOWNLOADS_SCHEMA, default=list, blank=True)
    provenance = SchemaJSONField(schema=Provenance | None, null=True, blank=True)

    objects = AnalysisQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "analyses"
        #: As for runs: what a list filters on, then ``id`` for its order, carrying the visibility columns.
        indexes = [
            models.Index(fields=["study", "id"], include=["is_private", "is_superseded"], name="analysis_study_id"),
            models.Index(
                fields=["state", "id"], include=["study", "is_private", "is_superseded"], name="analysis_state_id"
            ),
            models.Index(
                fields=["id"],
                include=["study"],
                condition=Q(is_private=False, is_superseded=False),
                name="analysis_public_id",
            ),
            # The admin dashboard's analyses per day (``workflows.automation.dashboard``): a range of days read
            # index-only. ``created_at`` never changes, so the index costs analyses' updates nothing (HOT).
            models.Index(
                fields=["created_at"], include=["state", "is_private", "webin_submitter"], name="analysis_created"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "pipeline_name", "pipeline_version"],
                condition=Q(run__isnull=False, is_superseded=False),
                name="one_active_analysis_per_run_pipeline_version",
                violation_error_message="This run already has an analysis with this pipeline and version.",
            ),
            models.UniqueConstraint(
                fields=["assembly", "pipeline_name", "pipeline_version"],
                condition=Q(assembly__isnull=False, is_superseded=False),
                name="one_active_analysis_per_assembly_pipeline_version",
            ),
            models.CheckConstraint(
                condition=Q(run__isnull=False) | Q(assembly__isnull=False), name="analysis_has_run_or_assembly"
            ),
        ]

    def __str__(self) -> str:
        return self.accession

    def set_status_flag(self, flag: AnalysisStatusFlag, message: str | None = None) -> None:
        """Record ``flag`` as set now (call ``save`` afterwards)."""
        self.status = {**(self.status or {}), flag.value: {"at": timezone.now().isoformat(), "message": message}}
