"""A new holder of an analysis adopts what the previous one left on Slurm, for real.

Each test plays the first holder by launching the bundled pipeline on the real cluster and walking
away (as a crashed worker does), then runs the analysis as the next holder through the ledger.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from analyses.models import Analysis
from drs.models import DrsObject
from ena.datamover import Datamover
from tests.flows.holders import NEXT, first_holder_launches_and_dies, progress_lines, run_as_next_holder
from workflows.analysis_ledger import Lease
from workflows.analysis_runner import Outcome, run_analysis
from workflows.ledger import services as ledger
from workflows.ledger.models import WorkState
from workflows.pipelines.launchers.reattach import Verdict
from workflows.pipelines.launchers.records import LAUNCH_RECORD, LaunchRecord, read_launch_record
from workflows.pipelines.launchers.snakemake_log import read_snakemake_log

pytestmark = [pytest.mark.slurm, pytest.mark.django_db(transaction=True)]


def test_a_running_head_job_is_followed_not_launched_again(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)

    outcome = run_as_next_holder(*work)

    assert outcome.outcome == Outcome.COMPLETED, outcome
    record = read_launch_record(work_area)
    assert [attempt.head_job_id for attempt in record.attempts] == [handle.head_job_id], progress_lines(item)
    assert progress_lines(item)[0].startswith(f"adopted head job {handle.head_job_id} (follow)")
    item.refresh_from_db()
    analysis.refresh_from_db()
    assert (item.state, item.attempts, analysis.state) == (WorkState.DONE, 2, Analysis.State.COMPLETED)


def test_a_completed_head_job_has_its_outputs_collected_without_any_new_job(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    assert launcher.wait(handle, timeout_seconds=600).state == "completed"

    outcome = run_as_next_holder(*work)

    assert outcome.outcome == Outcome.COMPLETED
    assert len(read_launch_record(work_area).attempts) == 1
    assert progress_lines(item)[0].startswith(f"adopted head job {handle.head_job_id} (collect)")
    analysis.refresh_from_db()
    assert analysis.results["assembly"]["n50"] > 0


def test_a_cancelled_head_job_is_relaunched_and_resumes_from_its_finished_steps(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    deadline = time.monotonic() + 600
    while launcher.poll(handle).steps_done < 1:
        assert time.monotonic() < deadline, "no step finished"
        time.sleep(1)
    launcher.cancel(handle)
    assert launcher.wait(handle, timeout_seconds=120).state == "cancelled"
    finished_first = {job.rule for job in read_snakemake_log(handle.head_log).jobs.values() if job.finished}

    outcome = run_as_next_holder(*work)

    assert outcome.outcome == Outcome.COMPLETED, outcome
    record = read_launch_record(work_area)
    assert len(record.attempts) == 2
    rerun = {job.rule for job in read_snakemake_log(Path(record.attempts[1].head_log)).jobs.values()}
    assert finished_first and not finished_first & rerun, (finished_first, rerun)
    assert progress_lines(item)[0].startswith("relaunching, resuming: ")


def test_a_head_job_slurm_never_heard_of_counts_as_vanished_and_is_relaunched(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    launcher.cancel(handle)
    record = read_launch_record(work_area)
    record.attempts[-1].head_job_id = "987654321"  # as if accounting had lost it
    work_area.write_json(LAUNCH_RECORD, record)

    verdict = launcher.reattach(pipeline, work_area)

    assert verdict.verdict == Verdict.RELAUNCH
    assert verdict.reason == "head job 987654321 is unknown to Slurm and its accounting"
    assert LaunchRecord.model_validate_json(work_area.path(LAUNCH_RECORD).read_text()).attempts


def test_a_claim_lost_while_following_stops_without_failing_or_cancelling(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    [claim] = ledger.claim(pipeline=item.pipeline, holder=NEXT, lease_seconds=2)
    ledger.transition(item=claim, to_state=WorkState.RUNNING, actor=NEXT, holder=NEXT)
    lease = Lease(claim, NEXT, lease_seconds=2)
    lease.start_heartbeat()
    # an operator hands the item to someone else: the heartbeat notices within half a second
    ledger.transition(item=claim, to_state=WorkState.CANCELLED, actor="admin:curator", override_lease=True)
    try:
        with Datamover(config.ena) as datamover:
            outcome = run_analysis(
                analysis=analysis, pipeline=pipeline, launcher=launcher, datamover=datamover, claim=lease
            )
    finally:
        lease.stop_heartbeat()

    assert outcome.outcome == Outcome.HANDED_OVER, outcome
    analysis.refresh_from_db()
    assert analysis.state == Analysis.State.RUNNING, "a lost claim recorded a failure"
    assert not launcher.poll(handle).state.is_final, "a lost claim cancelled the pipeline"


def test_a_claim_lost_just_before_the_finish_rolls_the_results_back(work) -> None:
    analysis, item, pipeline, launcher, config = work
    handle, work_area = first_holder_launches_and_dies(*work)
    assert launcher.wait(handle, timeout_seconds=600).state == "completed"
    [claim] = ledger.claim(pipeline=item.pipeline, holder=NEXT, lease_seconds=600)
    ledger.transition(item=claim, to_state=WorkState.RUNNING, actor=NEXT, holder=NEXT)
    lease = Lease(claim, NEXT, lease_seconds=600)  # its heartbeat would not notice for minutes
    ledger.transition(item=claim, to_state=WorkState.CANCELLED, actor="admin:curator", override_lease=True)

    with Datamover(config.ena) as datamover:
        outcome = run_analysis(
            analysis=analysis, pipeline=pipeline, launcher=launcher, datamover=datamover, claim=lease
        )

    assert outcome.outcome == Outcome.HANDED_OVER, outcome
    analysis.refresh_from_db()
    assert analysis.state == Analysis.State.RUNNING and not analysis.results
    assert not DrsObject.objects.filter(id=analysis.accession).exists()
    item.refresh_from_db()
    assert item.state == WorkState.CANCELLED
