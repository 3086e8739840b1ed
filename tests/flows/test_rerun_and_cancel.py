"""Cancelling and re-running one analysis for real: Slurm's jobs stop, a study's flow run lets go of the
cancelled analysis while its others complete, and a re-run runs exactly that analysis again.

Real Postgres, real Slurm (``./task slurm:up``), the ENA mirror over HTTP; the fan-out test runs a
pipeline that only waits (``fanout_pipeline``) under Prefect's test harness. The re-run from the
admin's button through a real worker is ``test_rerun_end_to_end.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from prefect.testing.utilities import prefect_test_harness

from analyses import recording
from analyses.ena_sync import import_ena_study
from analyses.models import Analysis
from analyses.schemas import SlurmJobRecord
from analyses.services import CANCELLED_STEP, analysis_is_cancelled
from devtools.ena_mirror.fanout_study import FANOUT_STUDY_ACCESSION, RUN_START, fanout_study_record
from devtools.ena_mirror.server import MirrorHandle, run_mirror_in_thread
from tests.admin.test_console_actions import build_console
from tests.flows.fanout_pipeline import NAME, VERSION, pipeline_with
from workflows import analysis_ledger
from workflows.ledger.models import WorkEvent, WorkItem, WorkState
from workflows.pipelines import get_pipeline
from workflows.pipelines.launchers.records import read_launch_record
from workflows.pipelines.registry import unregister
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import JobSpec, JobState, SlurmClient

pytestmark = [pytest.mark.slurm, pytest.mark.django_db(transaction=True)]

RUNS = 3
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"{what} after {timeout}s")


def slurm_state(job_id: str) -> JobState:
    return SlurmClient().state(job_id).state


# ------------------------------------------------------------------------------- scancel, for real


def test_cancelling_a_running_analysis_cancels_its_head_job_on_slurm(platform_config) -> None:
    """A real ``sleep`` head job recorded on a running analysis is gone from the queue after the cancel."""
    console = build_console(5)
    running, item = console.analyses["running"], console.items["running"]
    log = Path(platform_config.storage.work_root) / "sleep.out"
    log.parent.mkdir(parents=True, exist_ok=True)
    job_id = SlurmClient().submit(
        JobSpec(
            name=f"head-{running.accession}", command="sleep 300", stdout=log, stderr=log, working_directory=log.parent
        )
    )
    try:
        wait_for(lambda: slurm_state(job_id) == JobState.RUNNING, 30, "the sleep job did not start")
        recording.record_slurm_jobs(
            analysis=running, jobs=[SlurmJobRecord(job_id=job_id, step="head", state="RUNNING")]
        )
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("boss", "b@example.org", "pw"))
        response = client.post(f"/api/v2/analyses/{running.accession}/cancel")
        assert response.status_code == 200, response.content
        assert response.json()["slurm_jobs_cancelled"] == [job_id] and response.json()["slurm_error"] is None
        assert wait_for(lambda: slurm_state(job_id) == JobState.CANCELLED, 30, "the job was not cancelled")
        assert job_id not in [job.job_id for job in SlurmClient().active_jobs()]
    finally:
        SlurmClient().cancel([job_id])
    item.refresh_from_db()
    running.refresh_from_db()
    assert item.state == WorkState.CANCELLED and analysis_is_cancelled(running)
    assert running.status["analysis_failed"]["message"] == "cancelled: cancelled by api:boss"


# ------------------------------------------------------------------- a study's flow run lets go of one


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Iterator[MirrorHandle]:
    """The mirror serving only a small fan-out study (tiny FASTQ pairs)."""
    data_dir = tmp_path_factory.mktemp("rerun-mirror")
    handle = run_mirror_in_thread(data_dir, generate=False, studies=[fanout_study_record(data_dir, RUNS)])
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=240):
        yield


@pytest.fixture
def wait_pipeline(platform_config, settings):
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
        update={"pipelines": settings.EMG_CONFIG.pipelines.model_copy(update={"lease_seconds": 4})}
    )
    pipeline_with(20.0)
    yield get_pipeline(NAME, VERSION)
    unregister(NAME, VERSION)


def head_jobs(accession: str) -> list[str]:
    record = read_launch_record(WorkArea.for_analysis(accession))
    return [attempt.head_job_id for attempt in record.attempts] if record else []


@pytest.mark.prefect
def test_a_cancelled_analysis_ends_alone_and_its_rerun_runs_only_it(harness, wait_pipeline, platform_config) -> None:
    """Three analyses in one flow run; one is cancelled while its head job runs: its job is cancelled on
    Slurm, the flow run goes on and completes the other two, and ends COMPLETED; the cancelled analysis
    stays failed by cancellation with its item CANCELLED. Its re-run (a flow run restricted to it) runs
    exactly that analysis to completion."""
    from workflows.flows.analyse_study import analyse_study

    import_ena_study(FANOUT_STUDY_ACCESSION)
    target_run = f"ERR{RUN_START + 1}"
    cancelled: dict[str, object] = {}

    def cancel_when_running() -> None:
        try:
            analysis = wait_for(
                lambda: Analysis.objects.filter(
                    run__ena_run__accession=target_run, state=Analysis.State.RUNNING
                ).first(),
                120,
                "the analysis did not start",
            )
            wait_for(lambda: head_jobs(analysis.accession), 30, "no head job")
            wait_for(lambda: slurm_state(head_jobs(analysis.accession)[0]) == JobState.RUNNING, 60, "not running")
            cancelled["result"] = analysis_ledger.cancel_analysis(analysis=analysis, actor="admin:tester")
        except Exception as error:  # reported by the main thread
            cancelled["error"] = error
        finally:
            connections.close_all()

    side = threading.Thread(target=cancel_when_running)
    side.start()
    state = analyse_study(FANOUT_STUDY_ACCESSION, pipeline_name=NAME, pipeline_version=VERSION, return_state=True)
    side.join(timeout=60)
    assert "error" not in cancelled, cancelled.get("error")
    assert state.is_completed(), state
    summary = state.result()

    analysis = Analysis.objects.get(run__ena_run__accession=target_run, pipeline_name=NAME)
    item = WorkItem.objects.get(external_ref=analysis.accession)
    assert len(summary.completed) == RUNS - 1 and summary.failed == {}, summary
    assert summary.skipped[analysis.accession].startswith("handed over"), summary.skipped
    assert item.state == WorkState.CANCELLED
    assert analysis.state == Analysis.State.FAILED and analysis_is_cancelled(analysis)
    assert analysis.provenance["failed_step"] == CANCELLED_STEP  # not overwritten by the runner's last poll
    [head] = head_jobs(analysis.accession)
    assert head in cancelled["result"].job_ids
    assert wait_for(lambda: slurm_state(head) == JobState.CANCELLED, 30, "head job not cancelled")
    assert not WorkEvent.objects.filter(item=item, to_state=WorkState.FAILED).exists()  # the runner wrote nothing

    analysis_ledger.requeue_for_rerun(analysis=analysis, actor="admin:tester")
    rerun = analyse_study(
        FANOUT_STUDY_ACCESSION, pipeline_name=NAME, pipeline_version=VERSION, analysis_accessions=[analysis.accession]
    )
    assert rerun.completed == [analysis.accession] and not rerun.skipped and not rerun.failed
    analysis.refresh_from_db()
    item.refresh_from_db()
    assert analysis.state == Analysis.State.COMPLETED and item.state == WorkState.DONE
    assert len(head_jobs(analysis.accession)) == 2  # relaunched (resuming), not adopted from the cancelled job
