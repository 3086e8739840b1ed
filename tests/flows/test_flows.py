"""Each flow under prefect_test_harness, against the real ENA mirror (HTTP), Slurm and Postgres."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from analyses.models import Analysis
from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from drs.models import DrsObject
from ena.portal.client import ENAPortalClient
from workflows.data_moving import RunFiles
from workflows.flows.analyse_study import analyse_study
from workflows.flows.move_data import move_data
from workflows.flows.realistic_example import create_study, list_runs
from workflows.ledger.models import WorkItem, WorkState
from workflows.pipelines import (
    InputKind,
    NextflowLauncher,
    NextflowPipeline,
    PipelineParameters,
    SnakemakeLauncher,
    get_pipeline,
    launcher_for,
    register,
)
from workflows.pipelines.registry import unregister

pytestmark = [pytest.mark.slurm, pytest.mark.prefect]


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=240):
        yield


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_move_data_moves_verified_reads_and_fails_a_bad_md5_alone(harness, platform_config, mirror, tmp_path) -> None:
    with ENAPortalClient(platform_config.ena) as client:
        good, bad = client.list_runs(SYNTHETIC_STUDY_ACCESSION)[:2]
    mirror.faults.wrong_md5(bad.accession)
    with ENAPortalClient(platform_config.ena) as client:
        advertised_bad = next(r for r in client.list_runs(SYNTHETIC_STUDY_ACCESSION) if r.accession == bad.accession)

    results = move_data(
        runs=[
            RunFiles(accession=good.accession, fastq_files=good.fastq_files),
            RunFiles(accession=bad.accession, fastq_files=advertised_bad.fastq_files),
        ],
        destination=str(tmp_path / "moved"),
        timeout_seconds=300,
    )

    by_run = {result.accession: result for result in results}
    assert by_run[good.accession].ok
    for file in good.fastq_files:
        local = tmp_path / "moved" / good.accession / file.url.rsplit("/", 1)[-1]
        assert md5_of(local) == file.md5
    assert not by_run[bad.accession].ok
    assert "md5" in by_run[bad.accession].message
    assert not list((tmp_path / "moved" / bad.accession).glob("*.fastq.gz")), "a corrupt file was kept"


@pytest.mark.django_db(transaction=True)
def test_analyse_study_runs_each_run_once_and_fails_a_bad_md5_alone(harness, platform_config, mirror) -> None:
    mirror.faults.wrong_md5("ERR9000002")

    first = analyse_study(SYNTHETIC_STUDY_ACCESSION, sample_limit=2)

    assert first.created == 2
    assert len(first.completed) == 1 and len(first.failed) == 1
    done = Analysis.objects.get(accession=first.completed[0])
    assert done.state == Analysis.State.COMPLETED
    assert done.results["assembly"]["n50"] > 0
    assert done.results["predicted_proteins"] > 0
    assert done.quality_control["before_filtering"]["total_reads"] > 0
    assert all(download["drs_object_id"] for download in done.downloads)
    assert DrsObject.objects.filter(id=done.accession).exists(), "the analysis bundle is a DRS object"
    assert {job["step"] for job in done.provenance["slurm_jobs"]} >= {"head", "fastp", "megahit", "prodigal"}

    failed = Analysis.objects.get(accession=next(iter(first.failed)))
    assert failed.state == Analysis.State.FAILED
    assert failed.run.ena_run.accession == "ERR9000002"
    assert "md5" in failed.status["analysis_failed"]["message"]
    assert "fetch_reads" in first.failed[failed.accession]

    again = analyse_study(SYNTHETIC_STUDY_ACCESSION, sample_limit=2)

    assert again.created == 0 and again.completed == [] and again.failed == {}
    assert again.skipped == {
        done.accession: "already done",
        failed.accession: "failed earlier (launch with rerun_failed to run it again)",
    }
    items = WorkItem.objects.filter(external_ref__in=[done.accession, failed.accession])
    assert {item.external_ref: (item.state, item.attempts) for item in items} == {
        done.accession: (WorkState.DONE, 1),
        failed.accession: (WorkState.FAILED, 1),
    }


@pytest.mark.django_db(transaction=True)
def test_realistic_example_tasks_create_the_study_and_list_limited_runs(harness, platform_config) -> None:
    assert create_study(SYNTHETIC_STUDY_ACCESSION) == SYNTHETIC_STUDY_ACCESSION
    from ena.models import Study

    study = Study.objects.get(accession=SYNTHETIC_STUDY_ACCESSION)
    assert "ERP900001" in study.ena_accessions
    runs = list_runs(SYNTHETIC_STUDY_ACCESSION, 2)
    assert [run.accession for run in runs] == ["ERR9000001", "ERR9000002"]
    assert all(len(run.fastq_files) == 2 for run in runs)


class ReadCountParameters(PipelineParameters):
    min_length: int = 50


class ReadCountNextflowPipeline(NextflowPipeline):
    """A second pipeline on the Nextflow engine, registered by this test only."""

    name = "read-count-nf"
    version = "0.1.0"
    input_kind = InputKind.READS
    parameters_model = ReadCountParameters
    outputs = ()
    repository = str(Path(__file__).parent)  # a local project directory: no revision

    def parse_outputs(self, work_area, *, analysis_accession=None):
        raise AssertionError("never reached: Nextflow cannot run on these machines")


@pytest.fixture
def nextflow_pipeline():
    register(ReadCountNextflowPipeline)
    yield get_pipeline(ReadCountNextflowPipeline.name, ReadCountNextflowPipeline.version)
    unregister(ReadCountNextflowPipeline.name, ReadCountNextflowPipeline.version)


def test_the_launcher_is_the_pipeline_engines(nextflow_pipeline) -> None:
    assert type(launcher_for(get_pipeline("raw-reads", "2.0.0"))) is SnakemakeLauncher
    assert type(launcher_for(nextflow_pipeline)) is NextflowLauncher


@pytest.mark.django_db(transaction=True)
def test_analyse_study_runs_a_registered_nextflow_pipeline_with_the_nextflow_launcher(
    harness, platform_config, nextflow_pipeline
) -> None:
    """The flow picks the Nextflow launcher for a Nextflow pipeline: its head job runs ``nextflow run`` on Slurm.

    Nextflow cannot be installed here, so the head job fails at once; the analysis records that
    failure at the step "nextflow" with the head job's own words, after the launcher wrote its config.
    """
    summary = analyse_study(
        SYNTHETIC_STUDY_ACCESSION,
        sample_limit=1,
        pipeline_name=nextflow_pipeline.name,
        pipeline_version=nextflow_pipeline.version,
    )

    assert summary.pipeline == "read-count-nf@0.1.0" and summary.created == 1
    [(accession, message)] = summary.failed.items()
    analysis = Analysis.objects.get(accession=accession)
    assert (analysis.pipeline_name, analysis.state) == ("read-count-nf", Analysis.State.FAILED)
    work = Path(analysis.provenance["work_dir"])
    head_script = (work / "pipeline" / "head-001.sh").read_text()
    assert f" run {nextflow_pipeline.repository} -profile slurm -c {work}/pipeline/nextflow-slurm.config" in head_script
    assert "-resume -with-trace" in head_script
    assert "executor = 'slurm'" in (work / "pipeline" / "nextflow-slurm.config").read_text()
    assert message.startswith("nextflow: head job ")
    assert analysis.provenance["failed_step"] == "nextflow"
    assert "nextflow" in analysis.status["analysis_failed"]["message"].split("--- log tail ---")[1]
    [head] = [job for job in analysis.provenance["slurm_jobs"] if job["step"] == "head"]
    assert head["job_id"] == message.split()[3]
