"""``manage.py make_dev_data``: a small, realistic data set so the API and admin show something.

Three studies (one private to a Webin submitter), a biome tree, ENA studies/samples/runs with
realistic accessions, an assembly, and analyses in every state with results, quality control,
downloads and provenance that satisfy :mod:`analyses.schemas`. Idempotent: rows are upserted on
their accessions, so running it again changes nothing but ``updated_at``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from analyses import services
from analyses.ena_sync import store_and_sync
from analyses.models import Analysis, Assembly, ExperimentType, Run, Sample, Study
from analyses.schemas import (
    AnalysisResults,
    AnalysisStatusFlag,
    AssemblyStats,
    DownloadFile,
    ProfileHit,
    Provenance,
    QualityControl,
    ReadStats,
    SequenceFileStats,
    SlurmJobRecord,
)
from ena.models import Study as ENAStudyRow
from ena.portal.types import ENARun, ENASample, ENAStudy, ENAStudyBundle
from ena.schemas import FastqFile

BIOMES = [
    "root",
    "root:Environmental",
    "root:Environmental:Aquatic",
    "root:Environmental:Aquatic:Marine",
    "root:Environmental:Aquatic:Freshwater",
    "root:Environmental:Terrestrial",
    "root:Environmental:Terrestrial:Soil",
    "root:Host-associated",
    "root:Host-associated:Human",
    "root:Host-associated:Human:Digestive system",
    "root:Host-associated:Human:Digestive system:Large intestine",
    "root:Engineered",
    "root:Engineered:Wastewater",
]

PIPELINES = {
    ExperimentType.METAGENOMIC: ("raw-reads", "2.0.0"),
    ExperimentType.AMPLICON: ("amplicon", "6.0.0"),
    ExperimentType.ASSEMBLY: ("assembly-analysis", "6.0.0"),
}

WEBIN_SUBMITTER = "Webin-12345"


@dataclass
class DevStudy:
    """One study of the data set and how many samples/runs it has, in which analysis states."""

    project: str
    secondary: str
    title: str
    biome: str
    experiment_type: ExperimentType
    states: list[Analysis.State]
    scientific_name: str
    tax_id: str
    instrument_model: str
    library_strategy: str
    is_private: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


STUDIES = [
    DevStudy(
        project="PRJEB40001",
        secondary="ERP123401",
        title="Marine surface water metagenomes from a North Atlantic transect",
        biome="root:Environmental:Aquatic:Marine",
        experiment_type=ExperimentType.METAGENOMIC,
        states=[Analysis.State.COMPLETED, Analysis.State.COMPLETED, Analysis.State.RUNNING],
        scientific_name="marine metagenome",
        tax_id="408172",
        instrument_model="Illumina NovaSeq 6000",
        library_strategy="WGS",
    ),
    DevStudy(
        project="PRJEB40002",
        secondary="ERP123402",
        title="Gut microbiome of healthy adults: 16S rRNA amplicon sequencing of stool samples",
        biome="root:Host-associated:Human:Digestive system:Large intestine",
        experiment_type=ExperimentType.AMPLICON,
        states=[Analysis.State.COMPLETED, Analysis.State.COMPLETED, Analysis.State.FAILED, Analysis.State.PENDING],
        scientific_name="human gut metagenome",
        tax_id="408170",
        instrument_model="Illumina MiSeq",
        library_strategy="AMPLICON",
    ),
    DevStudy(
        project="PRJEB40003",
        secondary="ERP123403",
        title="Agricultural soil metagenomes under simulated drought (embargoed)",
        biome="root:Environmental:Terrestrial:Soil",
        experiment_type=ExperimentType.METAGENOMIC,
        states=[Analysis.State.COMPLETED, Analysis.State.PENDING],
        scientific_name="soil metagenome",
        tax_id="410658",
        instrument_model="Illumina HiSeq 4000",
        library_strategy="WGS",
        is_private=True,
    ),
]


def _hex(text: str, algorithm: str) -> str:
    return hashlib.new(algorithm, text.encode()).hexdigest()


def _read_stats(seed: int, *, filtered: bool) -> ReadStats:
    reads = 2_000_000 + 137_531 * seed
    if filtered:
        reads = int(reads * 0.93)
    return ReadStats(
        total_reads=reads,
        total_bases=reads * 150,
        q20_rate=0.97 if filtered else 0.94,
        q30_rate=0.92 if filtered else 0.88,
        gc_content=0.41 + seed / 1000,
        mean_read_length=150.0 if not filtered else 146.2,
    )


def quality_control_for(seed: int) -> QualityControl:
    """Plausible fastp numbers for run number ``seed``."""
    before, after = _read_stats(seed, filtered=False), _read_stats(seed, filtered=True)
    dropped = before.total_reads - after.total_reads
    return QualityControl(
        before_filtering=before,
        after_filtering=after,
        passed_filter_reads=after.total_reads,
        low_quality_reads=dropped * 2 // 3,
        too_short_reads=dropped - dropped * 2 // 3,
    )


def results_for(accession: str, seed: int, *, assembly: bool) -> AnalysisResults:
    """Plausible results: sequence stats, predicted proteins, profile hits (and assembly stats)."""
    proteins = 150_000 + 7_919 * seed
    return AnalysisResults(
        assembly=(
            AssemblyStats(
                contig_count=48_211,
                total_length=96_532_117,
                n50=3_417,
                longest_contig=412_908,
                shortest_contig=500,
                gc_content=0.52,
            )
            if assembly
            else None
        ),
        predicted_proteins=proteins,
        sequence_stats=[
            SequenceFileStats(
                file=f"{accession}_proteins.faa.gz",
                format="FASTA",
                type="Protein",
                num_seqs=proteins,
                sum_len=proteins * 212,
                min_len=30,
                avg_len=212.4,
                max_len=4_981,
                n50=268,
            )
        ],
        profile_hits=[
            ProfileHit(profile="PF00005 ABC_tran", proteins_hit=2_113 + seed),
            ProfileHit(profile="PF00072 Response_reg", proteins_hit=1_420 + seed),
            ProfileHit(profile="PF07690 MFS_1", proteins_hit=1_217 + seed),
        ],
    )


def downloads_for(accession: str) -> list[DownloadFile]:
    """The files a completed analysis exposes, with (synthetic but well-formed) checksums."""
    files = [
        ("proteins.faa.gz", "Predicted proteins", "fasta", 41_882_113),
        ("qc_report.html", "fastp quality control report", "html", 482_311),
        ("profile_hits.tsv", "Proteins per HMM profile", "tsv", 18_224),
    ]
    return [
        DownloadFile(
            alias=f"{accession}_{name}",
            description=description,
            file_type=file_type,
            relative_path=f"{accession}/{name}",
            size_bytes=size,
            md5=_hex(f"{accession}/{name}", "md5"),
            sha256=_hex(f"{accession}/{name}", "sha256"),
        )
        for name, description, file_type, size in files
    ]


def status_for(state: Analysis.State, started: datetime) -> dict[str, dict[str, Any]]:
    """The status flags an analysis in ``state`` would have collected."""
    flags: list[tuple[AnalysisStatusFlag, str | None]] = [(AnalysisStatusFlag.ANALYSIS_CREATED, None)]
    if state != Analysis.State.PENDING:
        flags += [(AnalysisStatusFlag.READS_FETCHED, None), (AnalysisStatusFlag.ANALYSIS_STARTED, None)]
    if state == Analysis.State.COMPLETED:
        flags += [(AnalysisStatusFlag.ANALYSIS_COMPLETED, None), (AnalysisStatusFlag.RESULTS_IMPORTED, None)]
    if state == Analysis.State.FAILED:
        flags += [(AnalysisStatusFlag.ANALYSIS_FAILED, "fastp: too few reads passed filtering (312 < 10000)")]
    return {
        flag.value: {"at": (started + timedelta(minutes=17 * index)).isoformat(), "message": message}
        for index, (flag, message) in enumerate(flags)
    }


def provenance_for(run_accession: str, state: Analysis.State, pipeline: tuple[str, str], seed: int) -> Provenance:
    """Pipeline, parameters, tool versions and Slurm jobs of one analysis."""
    name, version = pipeline
    job_state = {Analysis.State.COMPLETED: "COMPLETED", Analysis.State.FAILED: "FAILED"}.get(state, "RUNNING")
    failed = state == Analysis.State.FAILED
    return Provenance(
        pipeline_name=name,
        pipeline_version=version,
        parameters={"min_read_length": 50, "qualified_quality_phred": 15},
        parameters_hash=_hex(f"{name}{version}", "sha256")[:16],
        tool_versions={"fastp": "0.23.4", "seqkit": "2.8.2", "hmmer": "3.4"},
        input_checksums={f"{run_accession}_1.fastq.gz": _hex(f"{run_accession}_1", "md5")},
        slurm_jobs=[
            SlurmJobRecord(job_id=str(41_000 + seed), step="head", state=job_state, exit_code=1 if failed else 0)
        ],
        work_dir=f"/work/analyses/{run_accession}",
        failed_step="fastp" if failed else None,
        error_message="too few reads passed filtering" if failed else None,
    )


def _privacy(spec: DevStudy) -> dict[str, Any]:
    return {"is_private": spec.is_private, "webin_submitter": WEBIN_SUBMITTER if spec.is_private else ""}


def ena_bundle_for(number: int, spec: DevStudy) -> ENAStudyBundle:
    """The study's ENA records as the Portal API client would return them: one sample and run per analysis."""
    base = 7_100_000 + number * 100
    accessions = [(f"SAMEA{base + i}", f"ERS{base + i}", f"ERR{base + i}") for i in range(len(spec.states))]
    return ENAStudyBundle(
        study=ENAStudy(
            accession=spec.project,
            secondary_accessions=[spec.secondary],
            title=spec.title,
            raw={"study_accession": spec.project, "secondary_study_accession": spec.secondary},
        ),
        samples=[
            ENASample(
                accession=sample,
                secondary_accessions=[secondary],
                title=f"{spec.scientific_name} sample {i + 1} of {spec.project}",
                tax_id=spec.tax_id,
                scientific_name=spec.scientific_name,
                raw={"sample_accession": sample, "collection_date": f"2023-0{i + 1}-15"},
            )
            for i, (sample, secondary, _run) in enumerate(accessions)
        ],
        runs=[
            ENARun(
                accession=run,
                experiment_accession=f"ERX{base + i}",
                sample_accession=sample,
                study_accession=spec.project,
                library_strategy=spec.library_strategy,
                library_layout="PAIRED",
                library_source="METAGENOMIC",
                library_selection="PCR" if spec.experiment_type == ExperimentType.AMPLICON else "RANDOM",
                instrument_platform="ILLUMINA",
                instrument_model=spec.instrument_model,
                read_count=2_000_000 + 137_531 * i,
                base_count=(2_000_000 + 137_531 * i) * 300,
                first_public=date(2023, 6, 1) if not spec.is_private else None,
                fastq_files=[
                    FastqFile(
                        url=f"https://ftp.sra.ebi.ac.uk/vol1/fastq/{run[:6]}/{run}/{run}_{mate}.fastq.gz",
                        md5=_hex(f"{run}_{mate}", "md5"),
                        bytes=180_000_000 + i,
                    )
                    for mate in (1, 2)
                ],
                raw={"run_accession": run, "experiment_accession": f"ERX{base + i}"},
            )
            for i, (sample, _secondary, run) in enumerate(accessions)
        ],
        **_privacy(spec),
    )


class Command(BaseCommand):
    help = "Load a small realistic data set (studies, samples, runs, analyses with results). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            biomes = {lineage: services.biome_ensure(lineage=lineage) for lineage in BIOMES}
            for number, spec in enumerate(STUDIES):
                self._load_study(number, spec, biomes[spec.biome])
        counts = {model.__name__: model.objects.count() for model in (ENAStudyRow, Sample, Run, Assembly, Analysis)} | {
            "Biome": len(biomes)
        }
        self.stdout.write(self.style.SUCCESS("Dev data loaded: " + ", ".join(f"{n} {k}" for k, n in counts.items())))

    def _load_study(self, number: int, spec: DevStudy, biome) -> None:
        """The study's ENA records go through the same import as ENA's (``store_and_sync``), then analyses."""
        summary = store_and_sync(bundle=ena_bundle_for(number, spec))
        study = Study.objects.get(accession=summary.mgys_accession)
        services.study_set_biome(study=study, biome=biome, with_samples=True)
        runs = list(Run.objects.filter(study=study).select_related("sample").order_by("ena_run__accession"))
        pipeline = PIPELINES[spec.experiment_type]
        started = timezone.now() - timedelta(days=30 - number)
        for index, (run, state) in enumerate(zip(runs, spec.states, strict=True)):
            seed = number * 10 + index
            completed = state == Analysis.State.COMPLETED
            analysis = services.analysis_ensure_for_run(
                run=run,
                pipeline_name=pipeline[0],
                pipeline_version=pipeline[1],
                defaults={
                    "state": state,
                    "status": status_for(state, started),
                    "quality_control": quality_control_for(seed) if state != Analysis.State.PENDING else None,
                    "provenance": provenance_for(run.first_ena_accession, state, pipeline, seed),
                },
            )
            Analysis.objects.filter(pk=analysis.pk).update(
                results=results_for(analysis.accession, seed, assembly=False) if completed else None,
                downloads=downloads_for(analysis.accession) if completed else [],
            )
        if number == 0:
            self._load_assembly(study, runs[0], _privacy(spec))

    def _load_assembly(self, study, run: Run, privacy: dict[str, Any]) -> None:
        """One submitted metaSPAdes assembly of ``run`` and its completed assembly analysis."""
        assembly, _ = Assembly.objects.update_or_create(
            accession="ERZ7100001",
            defaults={
                "ena_accessions": ["ERZ7100001", "GCA_947100001.1"],
                "run": run,
                "study": study,
                "assembler_name": "metaspades",
                "assembler_version": "3.15.5",
                "status": Assembly.Status.SUBMITTED,
                "metadata": {"coverage": 42.7, "min_contig_length": 500},
                **privacy,
            },
        )
        pipeline = PIPELINES[ExperimentType.ASSEMBLY]
        analysis, _ = Analysis.objects.update_or_create(
            assembly=assembly,
            pipeline_name=pipeline[0],
            pipeline_version=pipeline[1],
            is_superseded=False,
            defaults={
                "study": study,
                "sample": run.sample,
                "experiment_type": ExperimentType.ASSEMBLY,
                "state": Analysis.State.COMPLETED,
                "status": status_for(Analysis.State.COMPLETED, timezone.now() - timedelta(days=3)),
                "provenance": provenance_for(run.first_ena_accession, Analysis.State.COMPLETED, pipeline, 99),
                **privacy,
            },
        )
        Analysis.objects.filter(pk=analysis.pk).update(
            results=results_for(analysis.accession, 99, assembly=True), downloads=downloads_for(analysis.accession)
        )
