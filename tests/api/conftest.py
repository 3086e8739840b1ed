"""Fixtures for the read API tests: a small graph of public and private objects, and bulk rows for paging."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from analyses.models import Analysis, Assembly, Biome, ExperimentType, Run, Sample, Study
from analyses.schemas import DownloadFile, QualityControl, ReadStats
from analyses.services import biome_ensure
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
