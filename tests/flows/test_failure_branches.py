"""The ways one analysis fails, each for real: the outcome and the ledger's FAILED are one write, the
failure names its step and Slurm's (or the parser's) words, and nothing half-published remains.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyses.models import Analysis
from drs.models import DrsObject
from ena.datamover import Datamover
from tests.flows.holders import first_holder_launches_and_dies, run_as_next_holder
from workflows.analysis_runner import Outcome, fetch_reads, launch_with_retries, select_reads
from workflows.ledger.models import WorkItem, WorkState
from workflows.pipelines import launcher_for
from workflows.pipelines.launchers.records import read_launch_record
from workflows.pipelines.workarea import WorkArea
from workflows.prefect_utils.local_server import free_port
from workflows.slurm import SlurmClient, SlurmUnavailableError
from workflows.slurm.cli import CliBackend

pytestmark = [pytest.mark.slurm, pytest.mark.django_db(transaction=True)]


def assert_failed_and_nothing_published(analysis: Analysis, item: WorkItem, step: str) -> str:
    analysis.refresh_from_db()
    item.refresh_from_db()
    assert analysis.state == Analysis.State.FAILED
    assert analysis.provenance is None or analysis.provenance.get("failed_step") in (step, None)
    assert not analysis.results and not analysis.downloads
    assert not DrsObject.objects.filter(id=analysis.accession).exists()
    assert item.state == WorkState.FAILED
    message = analysis.status["analysis_failed"]["message"]
    assert message.startswith(f"{step}: "), message
    assert item.events.order_by("at", "id").last().message.startswith(f"{step}: ")
    return message


def unreachable_slurm(tmp_path: Path) -> SlurmClient:
    """A client whose slurm.conf names a controller port nobody listens on (Slurm down or unreachable)."""
    live = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    text = live.read_text().replace("SlurmctldPort=6817", f"SlurmctldPort={free_port()}")
    conf = tmp_path / "slurm.conf"
    conf.write_text(text)
    return SlurmClient(CliBackend(slurm_conf=conf, command_timeout=20))


def test_slurm_unreachable_at_submission_is_retried_then_reported_with_nothing_submitted(work, tmp_path) -> None:
    analysis, item, pipeline, _launcher, config = work
    launcher = launcher_for(pipeline, slurm=unreachable_slurm(tmp_path))
    work_area = WorkArea.for_analysis(analysis.accession)
    with Datamover(config.ena, webin=config.webin) as datamover:
        inputs, _ = fetch_reads(
            analysis=analysis, work_area=work_area, datamover=datamover, selection=select_reads(analysis)
        )
    waits: list[float] = []

    with pytest.raises(SlurmUnavailableError) as unavailable:
        launch_with_retries(
            launcher,
            pipeline,
            inputs=inputs,
            params=None,
            work_area=work_area,
            attempts=3,
            first_delay_seconds=0.01,
            sleep=waits.append,
        )

    assert len(waits) == 2, "three attempts, two pauses"
    assert "contact slurm controller" in str(unavailable.value).lower(), unavailable.value
    record = read_launch_record(work_area)
    assert record is None or record.attempts == []


def test_a_refused_submission_fails_the_analysis_at_launch_without_retrying(work) -> None:
    analysis, item, pipeline, _launcher, config = work
    refusing = launcher_for(pipeline, partition="no-such-partition")

    outcome = run_as_next_holder(analysis, item, pipeline, refusing, config)

    assert outcome.outcome == Outcome.FAILED and outcome.failed_step == "launch"
    message = assert_failed_and_nothing_published(analysis, item, "launch")
    assert "invalid partition" in message.lower(), message
    record = read_launch_record(WorkArea.for_analysis(analysis.accession))
    assert record is None or record.attempts == []


def test_unparsable_outputs_fail_at_publish_and_publish_nothing(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    assert launcher.wait(handle, timeout_seconds=600).state == "completed"
    (work_area.results_dir / "stats" / "seqkit_stats.tsv").write_text("not\tthe\nseqkit table\n")

    outcome = run_as_next_holder(*work)

    assert outcome.outcome == Outcome.FAILED and outcome.failed_step == "publish_results", outcome
    assert_failed_and_nothing_published(analysis, item, "publish_results")


def test_a_results_store_that_cannot_be_written_fails_at_publish_and_publishes_nothing(work, settings) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    assert launcher.wait(handle, timeout_seconds=600).state == "completed"
    blocker = work_area.root.parent / "not-a-directory"
    blocker.write_text("a file where the results root should be")
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
        update={"storage": settings.EMG_CONFIG.storage.model_copy(update={"results_root": blocker / "results"})}
    )

    outcome = run_as_next_holder(*work)

    assert outcome.outcome == Outcome.FAILED and outcome.failed_step == "publish_results", outcome
    message = assert_failed_and_nothing_published(analysis, item, "publish_results")
    assert "not-a-directory" in message
