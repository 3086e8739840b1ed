"""Fixtures for the read API tests: a small graph of public and private objects, and bulk rows for paging."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from analyses.models import Analysis, Assembly, Biome, ExperimentType, Run, Sample, Study
from analyses.publishing import register_analysis_files, results_dir
from analyses.schemas import (
    AnalysisAnnotations,
    AnalysisResults,
    AssemblyStats,
    DownloadFile,
    LengthHistogram,
    PfamAnnotations,
    PfamDomainCount,
    PfamThreshold,
    ProteinDomainHit,
    QualityControl,
    QualityCurve,
    ReadStats,
    RrnaAnnotations,
    RrnaCount,
    RrnaGene,
)
from analyses.services import biome_ensure
from core.config import StorageConfig
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy

OWNER = "Webin-777"


@dataclass
class Graph:
    marine: Biome
    gut: Biome
    public_study: Study
    private_study: Study
    public_sample: Sample
    private_sample: Sample
    public_run: Run
    private_run: Run
    public_analysis: Analysis
    private_analysis: Analysis
    pending_analysis: Analysis
    public_assembly: Assembly
    private_assembly: Assembly


def make_chain(
    n: int, *, biome: Biome, title: str, experiment_type: str, private: bool = False, owner: str = ""
) -> tuple[Study, Sample, Run]:
    """One ENA study/sample/run and their MGnify counterparts, numbered ``n`` (accessions derive from it)."""
    privacy = {"is_private": private, "webin_submitter": owner}
    ena_study = ENAStudy.objects.create(
        accession=f"PRJEB{90000 + n}", ena_accessions=[f"PRJEB{90000 + n}", f"ERP{900000 + n}"], title=title, **privacy
    )
    ena_sample = ENASample.objects.create(
        accession=f"SAMEA{9000000 + n}",
        ena_accessions=[f"SAMEA{9000000 + n}", f"ERS{9000000 + n}"],
        study=ena_study,
        title=f"sample {n}",
        scientific_name="marine metagenome",
        tax_id="408172",
        **privacy,
    )
    ena_run = ENARun.objects.create(
        accession=f"ERR{9000000 + n}",
        ena_accessions=[f"ERR{9000000 + n}"],
        study=ena_study,
        sample=ena_sample,
        library_strategy="WGS",
        read_count=1000,
        **privacy,
    )
    study = Study.objects.create(
        ena_study=ena_study, ena_accessions=ena_study.ena_accessions, biome=biome, title=title, **privacy
    )
    sample = Sample.objects.create(
        ena_sample=ena_sample, ena_accessions=ena_sample.ena_accessions, biome=biome, **privacy
    )
    sample.studies.add(study)
    run = Run.objects.create(
        ena_run=ena_run,
        ena_accessions=ena_run.ena_accessions,
        study=study,
        sample=sample,
        experiment_type=experiment_type,
        instrument_platform="ILLUMINA",
        **privacy,
    )
    return study, sample, run


QC = QualityControl(
    before_filtering=ReadStats(total_reads=100, total_bases=15000),
    after_filtering=ReadStats(total_reads=90, total_bases=13000),
)
DOWNLOAD = DownloadFile(
    alias="x_proteins.faa.gz",
    file_type="fasta",
    relative_path="x/proteins.faa.gz",
    size_bytes=10,
    md5="0" * 32,
    sha256="a" * 64,
)


@pytest.fixture
def graph(db) -> Graph:
    marine = biome_ensure(lineage="root:Environmental:Aquatic:Marine")
    gut = biome_ensure(lineage="root:Host-associated:Human:Digestive system")
    pub_study, pub_sample, pub_run = make_chain(
        1, biome=marine, title="Ocean surface water metagenomes", experiment_type=ExperimentType.METAGENOMIC
    )
    prv_study, prv_sample, prv_run = make_chain(
        2, biome=gut, title="Secret gut amplicons", experiment_type=ExperimentType.AMPLICON, private=True, owner=OWNER
    )
    public_analysis = Analysis.objects.create(
        study=pub_study,
        sample=pub_sample,
        run=pub_run,
        experiment_type=ExperimentType.METAGENOMIC,
        pipeline_name="raw-reads",
        pipeline_version="1.0.0",
        state=Analysis.State.COMPLETED,
        results={"predicted_proteins": 42},
        quality_control=QC,
        downloads=[DOWNLOAD],
    )
    pending_analysis = Analysis.objects.create(
        study=pub_study,
        sample=pub_sample,
        run=pub_run,
        experiment_type=ExperimentType.METAGENOMIC,
        pipeline_name="raw-reads",
        pipeline_version="2.0.0",
        state=Analysis.State.PENDING,
    )
    private_analysis = Analysis.objects.create(
        study=prv_study,
        sample=prv_sample,
        run=prv_run,
        experiment_type=ExperimentType.AMPLICON,
        pipeline_name="amplicon",
        pipeline_version="6.0.0",
        state=Analysis.State.COMPLETED,
        is_private=True,
        webin_submitter=OWNER,
    )
    public_assembly = Assembly.objects.create(
        accession="ERZ9000001",
        ena_accessions=["ERZ9000001", "GCA_990000001.1"],
        run=pub_run,
        study=pub_study,
        assembler_name="metaspades",
        status=Assembly.Status.COMPLETED,
    )
    private_assembly = Assembly.objects.create(
        accession="ERZ9000002", run=prv_run, study=prv_study, is_private=True, webin_submitter=OWNER
    )
    return Graph(
        marine,
        gut,
        pub_study,
        prv_study,
        pub_sample,
        prv_sample,
        pub_run,
        prv_run,
        public_analysis,
        private_analysis,
        pending_analysis,
        public_assembly,
        private_assembly,
    )


@pytest.fixture
def owner_client(db) -> Client:
    """A client (separate from ``client``) logged in as the Webin account that owns the private objects."""
    owner = Client()
    owner.force_login(get_user_model().objects.create_user(OWNER, password="x"))
    return owner


@pytest.fixture
def staff_client(superuser) -> Client:
    """A client (separate from ``client``, which stays anonymous) logged in as a superuser."""
    staff = Client()
    staff.force_login(superuser)
    return staff


@pytest.fixture
def many(db) -> int:
    """60 of everything (studies, samples, runs, analyses, assemblies), for paging and query counts."""
    biome = biome_ensure(lineage="root:Environmental:Terrestrial:Soil")
    n = 60
    for i in range(n):
        study, sample, run = make_chain(
            100 + i, biome=biome, title=f"Soil study {i}", experiment_type=ExperimentType.METAGENOMIC
        )
        Analysis.objects.create(
            study=study,
            sample=sample,
            run=run,
            pipeline_name="raw-reads",
            pipeline_version="1.0.0",
            experiment_type=ExperimentType.METAGENOMIC,
        )
        Assembly.objects.create(accession=f"ERZ{9100000 + i}", run=run, study=study)
    return n


# ---------------------------------------------------------------------------------------------- annotated analyses
#
# Realistic results of an assembled metagenome, as the pipeline records them: fastp's per-position quality,
# the contig length histogram, Pfam domain counts and hits (hmmsearch --cut_ga), barrnap's rRNA genes.

#: (accession, name, description, domains, proteins) of Pfam families common in marine metagenomes.
PFAM_FAMILIES = (
    ("PF00005.31", "ABC_tran", "ABC transporter", 412, 398),
    ("PF07690.20", "MFS_1", "Major Facilitator Superfamily", 236, 231),
    ("PF00106.29", "adh_short", "short chain dehydrogenase", 201, 199),
    ("PF00072.28", "Response_reg", "Response regulator receiver domain", 188, 170),
    ("PF00528.26", "BPD_transp_1", "Binding-protein-dependent transport system inner membrane component", 160, 121),
    ("PF02518.30", "HATPase_c", "Histidine kinase-, DNA gyrase B-, and HSP90-like ATPase", 143, 143),
    ("PF00583.29", "Acetyltransf_1", "Acetyltransferase (GNAT) family", 131, 127),
    ("PF00501.32", "AMP-binding", "AMP-binding enzyme", 97, 95),
    ("PF00171.26", "Aldedh", "Aldehyde dehydrogenase family", 80, 80),
    ("PF00535.30", "Glycos_transf_2", "Glycosyl transferase family 2", 74, 73),
    ("PF00069.29", "Pkinase", "Protein kinase domain", 61, 58),
    ("PF00440.27", "TetR_N", "Bacterial regulatory proteins, tetR family", 55, 55),
    ("PF00126.31", "HTH_1", "Bacterial regulatory helix-turn-helix protein, lysR family", 49, 49),
    ("PF08240.16", "ADH_N", "Alcohol dehydrogenase GroES-like domain", 41, 41),
    ("PF00107.30", "ADH_zinc_N", "Zinc-binding dehydrogenase", 40, 40),
    ("PF00392.25", "GntR", "Bacterial regulatory proteins, gntR family", 33, 33),
    ("PF01381.26", "HTH_3", "Helix-turn-helix", 30, 29),
    ("PF00356.25", "LacI", "Bacterial regulatory proteins, lacI family", 21, 21),
    ("PF00486.32", "Trans_reg_C", "Transcriptional regulatory protein, C terminal", 19, 19),
    ("PF00196.23", "GerE", "Bacterial regulatory proteins, luxR family", 17, 17),
    ("PF13561.10", "adh_short_C2", "Enoyl-(Acyl carrier protein) reductase", 15, 15),
    ("PF00158.30", "Sigma54_activat", "Sigma-54 interaction domain", 12, 12),
    ("PF00512.29", "HisKA", "His Kinase A (phospho-acceptor) domain", 9, 9),
    ("PF00534.24", "Glycos_transf_1", "Glycosyl transferases group 1", 4, 4),
)
#: Hits stored per family in the fixtures (the real tables have one per domain; a few keep tests quick).
HITS_PER_FAMILY = 3
#: (kingdom, gene, count) of barrnap's genes on the contigs.
RRNA_COUNTS = (
    ("bacteria", "SSU", 3),
    ("bacteria", "LSU", 4),
    ("bacteria", "5S", 6),
    ("archaea", "SSU", 1),
    ("eukaryota", "SSU", 1),
    ("eukaryota", "5.8S", 1),
)
RRNA_MODELS = {"SSU": "16S_rRNA", "LSU": "23S_rRNA", "5S": "5S_rRNA", "5.8S": "5_8S_rRNA"}


def quality_curve(mate: str, length: int, *, offset: float = 0.0, trimmed: int = 0) -> QualityCurve:
    """A fastp-like curve: quality rises over the first bases, plateaus, and falls towards the 3' end."""
    before = [round(min(37.0, 31.0 + 0.6 * i) - 0.0009 * max(0, i - 60) ** 2 - offset, 2) for i in range(length)]
    after = [round(min(38.0, value + 1.2 + 0.02 * i * (i > 100)), 2) for i, value in enumerate(before)]
    return QualityCurve(mate=mate, before_filtering=before, after_filtering=after[: length - trimmed])


def quality_with_curves() -> QualityControl:
    """Paired 150 bp reads: read 2 lower, as usual; filtered reads a few bases shorter."""
    return QualityControl(
        before_filtering=ReadStats(total_reads=2_000_000, total_bases=300_000_000, q30_rate=0.89),
        after_filtering=ReadStats(total_reads=1_890_000, total_bases=279_000_000, q30_rate=0.93),
        passed_filter_reads=1_890_000,
        low_quality_reads=96_000,
        too_short_reads=14_000,
        quality_curves=[quality_curve("read1", 150, trimmed=2), quality_curve("read2", 150, offset=2.5, trimmed=4)],
    )


def results_with_histogram() -> AnalysisResults:
    """A fragmented metagenome assembly: mostly short contigs, a long tail."""
    return AnalysisResults(
        assembly=AssemblyStats(
            contig_count=12_403, total_length=9_870_112, n50=912, longest_contig=88_410, shortest_contig=200
        ),
        contig_lengths=LengthHistogram(
            bin_edges=[200, 300, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000],
            counts=[5_200, 3_100, 2_400, 1_100, 420, 130, 41, 10, 2],
        ),
        predicted_proteins=18_220,
    )


def realistic_annotations() -> AnalysisAnnotations:
    """Pfam counts with a few hits per family, and barrnap's genes matching their counts."""
    counts = [
        PfamDomainCount(
            accession=accession,
            name=name,
            description=description,
            domains=domains,
            proteins=proteins,
            threshold=PfamThreshold.GATHERING,
        )
        for accession, name, description, domains, proteins in PFAM_FAMILIES
    ]
    hits = [
        ProteinDomainHit(
            protein=f"k141_{100 + family * 7 + n}_{n + 1}",
            accession=accession,
            name=name,
            score=round(40.0 + family + n / 10, 1),
            i_evalue=1e-12 * (n + 1),
            envelope_start=5 + n,
            envelope_end=180 + n,
        )
        for family, (accession, name, *_rest) in enumerate(PFAM_FAMILIES)
        for n in range(HITS_PER_FAMILY)
    ]
    genes = [
        RrnaGene(
            contig=f"k141_{kingdom[:3]}_{gene}_{n}",
            start=100 + n,
            end=1600 + n,
            strand="+" if n % 2 == 0 else "-",
            kingdom=kingdom,
            gene=gene,
            model=RRNA_MODELS[gene],
            evalue=1e-200,
            partial=n == 0,
        )
        for kingdom, gene, count in RRNA_COUNTS
        for n in range(count)
    ]
    return AnalysisAnnotations(
        pfam=PfamAnnotations(
            models=[accession for accession, *_rest in PFAM_FAMILIES] + ["PF99999.1"], counts=counts, hits=hits
        ),
        rrna=RrnaAnnotations(
            counts=[RrnaCount(kingdom=kingdom, gene=gene, count=count) for kingdom, gene, count in RRNA_COUNTS],
            genes=genes,
        ),
    )


@dataclass
class Annotated:
    """Completed analyses with everything the charts draw: two public ones in the public study, one private."""

    public: Analysis
    second: Analysis
    private: Analysis
    public_study: Study
    private_study: Study


def publish_fastp_report(analysis: Analysis) -> None:
    """Write a fastp HTML report under the results root and publish it as the analysis' download (a DRS blob)."""
    content = f"<html><head><title>fastp report</title></head><body><h1>{analysis.accession}</h1></body></html>"
    report = results_dir(analysis) / "qc" / "fastp.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(content)
    data = content.encode()
    download = DownloadFile(
        alias=f"{analysis.accession}_fastp.html",
        description="fastp QC report",
        file_type="html",
        relative_path="qc/fastp.html",
        size_bytes=len(data),
        md5=hashlib.md5(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    Analysis.objects.filter(pk=analysis.pk).update(downloads=[download.model_dump(mode="json")])
    analysis.refresh_from_db()
    register_analysis_files(analysis)
    analysis.refresh_from_db()


@pytest.fixture
def annotated(graph: Graph, settings, tmp_path) -> Annotated:
    """Three completed analyses with QC curves, contig histograms, Pfam and rRNA annotations, fastp reports."""
    storage = StorageConfig(
        work_root=tmp_path / "work", results_root=tmp_path / "results", exports_root=tmp_path / "exports"
    )
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"storage": storage})
    annotations = realistic_annotations()
    fewer = annotations.model_copy(
        update={
            "pfam": annotations.pfam.model_copy(
                update={
                    "counts": [
                        count.model_copy(
                            update={"domains": count.domains // 2 + 1, "proteins": count.proteins // 2 + 1}
                        )
                        for count in annotations.pfam.counts[3:18]
                    ]
                }
            )
        }
    )

    def analysis(study: Study, sample: Sample, run: Run, version: str, data: AnalysisAnnotations, **extra) -> Analysis:
        made = Analysis.objects.create(
            study=study,
            sample=sample,
            run=run,
            experiment_type=ExperimentType.METAGENOMIC,
            pipeline_name="raw-reads",
            pipeline_version=version,
            state=Analysis.State.COMPLETED,
            quality_control=quality_with_curves(),
            results=results_with_histogram(),
            annotations=data,
            **extra,
        )
        made.refresh_from_db()
        publish_fastp_report(made)
        return made

    public = analysis(graph.public_study, graph.public_sample, graph.public_run, "3.0.0", annotations)
    second = analysis(graph.public_study, graph.public_sample, graph.public_run, "3.0.1", fewer)
    private = analysis(
        graph.private_study,
        graph.private_sample,
        graph.private_run,
        "3.0.0",
        annotations,
        is_private=True,
        webin_submitter=OWNER,
    )
    return Annotated(public, second, private, graph.public_study, graph.private_study)
