"""analyses.recording: analyses created once per (run, pipeline, version); Slurm jobs written only on change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analyses import recording
from analyses.models import Analysis, Biome, ExperimentType
from analyses.schemas import Provenance, SlurmJobRecord
from tests.api.conftest import make_chain

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    biome = Biome.objects.create(biome_name="Marine", lineage="root:Environmental:Aquatic:Marine")
    return make_chain(1, biome=biome, title="t", experiment_type=ExperimentType.METAGENOMIC)


def test_ensure_run_analyses_creates_each_once(chain) -> None:
    study, _sample, run = chain
    first, created = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    again, created_again = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    other_version, created_other = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="2.0.0"
    )
    assert (created, created_again, created_other) == (1, 0, 1)
    assert [a.accession for a in first] == [a.accession for a in again]
    assert other_version[0].accession != first[0].accession
    assert first[0].accession.startswith("MGYA") and first[0].status["analysis_created"]["at"]
    assert Analysis.objects.filter(run=run).count() == 2


def job(state: str, at: datetime) -> SlurmJobRecord:
    return SlurmJobRecord(job_id="42", step="fastp", state=state, updated_at=at)


def test_slurm_jobs_are_written_only_when_they_change(chain) -> None:
    study, _sample, run = chain
    (analysis,), _ = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    recording.mark_started(analysis=analysis, provenance=Provenance(pipeline_name="raw-reads", pipeline_version="1"))
    now = datetime.now(UTC)

    assert recording.record_slurm_jobs(analysis=analysis, jobs=[job("RUNNING", now)]) is True
    assert recording.record_slurm_jobs(analysis=analysis, jobs=[job("RUNNING", now + timedelta(seconds=5))]) is False
    assert recording.record_slurm_jobs(analysis=analysis, jobs=[job("COMPLETED", now + timedelta(seconds=9))]) is True

    stored = Analysis.objects.get(pk=analysis.pk)
    assert stored.state == Analysis.State.RUNNING
    assert stored.provenance["slurm_jobs"][0]["state"] == "COMPLETED"


def test_failure_keeps_step_and_message(chain) -> None:
    study, _sample, run = chain
    (analysis,), _ = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    recording.mark_started(analysis=analysis, provenance=Provenance(pipeline_name="raw-reads", pipeline_version="1"))
    recording.mark_failed(analysis=analysis, failed_step="megahit", message="out of memory")

    stored = Analysis.objects.get(pk=analysis.pk)
    assert stored.state == Analysis.State.FAILED
    assert stored.status["analysis_failed"]["message"] == "megahit: out of memory"
    assert stored.provenance["failed_step"] == "megahit"
    recording.requeue(analysis=stored, message="re-run requested")
    assert Analysis.objects.get(pk=analysis.pk).state == Analysis.State.PENDING


def test_a_failure_before_the_launch_records_the_flow_run_that_failed_it(chain) -> None:
    """Failing while fetching reads, an analysis has no provenance yet: it gets one naming the pipeline, the step,
    the message and the flow run, so the admin's chain leads a curator to that flow run."""
    study, _sample, run = chain
    (analysis,), _ = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    flow_run_id = "0b8f7c56-4a53-4a6e-9d6c-6f9b7a2f1c10"
    recording.mark_failed(analysis=analysis, failed_step="fetch_reads", message="md5 mismatch", flow_run_id=flow_run_id)

    provenance = Analysis.objects.get(pk=analysis.pk).provenance
    assert provenance["prefect_flow_run_id"] == flow_run_id
    assert (provenance["pipeline_name"], provenance["pipeline_version"]) == ("raw-reads", "1.0.0")
    assert (provenance["failed_step"], provenance["error_message"]) == ("fetch_reads", "md5 mismatch")
    assert provenance["slurm_jobs"] == [] and provenance["work_dir"] is None


def test_a_failure_without_a_flow_run_leaves_no_provenance(chain) -> None:
    study, _sample, run = chain
    (analysis,), _ = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    recording.mark_failed(analysis=analysis, failed_step="fetch_reads", message="md5 mismatch")
    stored = Analysis.objects.get(pk=analysis.pk)
    assert stored.provenance is None and stored.status["analysis_failed"]["message"] == "fetch_reads: md5 mismatch"


def test_slurm_jobs_are_recorded_on_the_row_as_it_is_not_over_a_stale_copy(chain) -> None:
    """A runner's copy of the analysis predates a curator's cancellation: recording its last poll of the jobs must
    not write back the provenance without the cancellation's step and message."""
    study, _sample, run = chain
    (analysis,), _ = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    recording.mark_started(analysis=analysis, provenance=Provenance(pipeline_name="raw-reads", pipeline_version="1"))
    runners_copy = Analysis.objects.get(pk=analysis.pk)
    recording.mark_failed(analysis=analysis, failed_step="cancelled", message="cancelled by admin:alice")

    assert recording.record_slurm_jobs(analysis=runners_copy, jobs=[job("CANCELLED", datetime.now(UTC))]) is True
    stored = Analysis.objects.get(pk=analysis.pk)
    assert stored.provenance["failed_step"] == "cancelled"
    assert stored.provenance["error_message"] == "cancelled by admin:alice"
    assert stored.provenance["slurm_jobs"][0]["state"] == "CANCELLED"


def test_a_cancellation_counts_until_the_analysis_is_queued_again(chain) -> None:
    """``cancelled_in_this_attempt`` tells a curator's cancellation (which a racing launch may have overwritten
    with RUNNING) from an older one a re-run left behind, and from a failure of another kind."""
    from analyses.services import analysis_mark_cancelled, cancelled_in_this_attempt

    study, _sample, run = chain
    (analysis,), _ = recording.ensure_run_analyses(
        study=study, runs=[run], pipeline_name="raw-reads", pipeline_version="1.0.0"
    )
    assert not cancelled_in_this_attempt(analysis)
    analysis_mark_cancelled(analysis=analysis, by="admin:alice")
    assert cancelled_in_this_attempt(analysis)
    recording.mark_started(analysis=analysis, provenance=Provenance(pipeline_name="raw-reads", pipeline_version="1"))
    assert cancelled_in_this_attempt(Analysis.objects.get(pk=analysis.pk))  # a launch raced it: still cancelled
    recording.requeue(analysis=analysis, message="re-run requested by admin:alice")
    assert not cancelled_in_this_attempt(Analysis.objects.get(pk=analysis.pk))
    recording.mark_failed(analysis=analysis, failed_step="megahit", message="out of memory")
    assert not cancelled_in_this_attempt(Analysis.objects.get(pk=analysis.pk))
