"""Chaos: the synthetic study analysed end to end on the 3-node cluster by a real Prefect server and
worker, with one fault injected mid-pipeline. Each test ends with every analysis completed exactly
once (or failed with its reason where the fault is final), no step completed twice within one
launch attempt, a ledger story that tells what happened, and none of our Slurm jobs left running.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from analyses.models import Analysis
from analyses.schemas import Provenance
from tests.flows.chaos.conftest import LEASE_SECONDS, ChaosPlatform, wait_until
from tests.flows.chaos.observe import (
    accounted_jobs,
    launch_record,
    our_live_jobs,
    running_jobs,
    step_jobs_by_attempt,
    steps_completed_twice,
    story,
)
from tests.slurm import nodes
from workflows.ledger.models import LEASED_STATES, WorkItem, WorkState

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.slurm,
    pytest.mark.prefect,
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

RUNS = 2  # runs of the synthetic study analysed per test (its first two, in accession order)


# --- helpers -----------------------------------------------------------------------------------


def analyses() -> list[Analysis]:
    return list(Analysis.objects.select_related("run__ena_run").order_by("accession"))


def completed_steps(analysis: Analysis) -> list[str]:
    if not analysis.provenance:
        return []
    jobs = Provenance.model_validate(analysis.provenance).slurm_jobs
    return [job.step for job in jobs if job.step != "head" and job.state == "COMPLETED"]


def mid_pipeline(count: int = RUNS) -> list[Analysis] | None:
    """The analyses, once all ``count`` run on Slurm and one has a step completed (else None)."""
    found = [a for a in analyses() if a.state == Analysis.State.RUNNING and a.provenance]
    if len(found) == count and any(completed_steps(a) for a in found):
        return found
    return None


def head_jobs_per_work_dir(platform: ChaosPlatform, since: datetime) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for job in accounted_jobs(platform.work_root, since):
        if job.name.endswith("-head"):
            result.setdefault(Path(job.work_dir).name, []).append(job.job_id)
    return {name: sorted(set(ids)) for name, ids in result.items()}


def assert_each_completed_exactly_once(platform: ChaosPlatform, since: datetime, count: int = RUNS) -> None:
    """Every analysis completed, its item DONE after one attempt's worth of work, no step completed twice."""
    done = analyses()
    assert len(done) == count
    accounted = accounted_jobs(platform.work_root, since)
    for analysis in done:
        assert analysis.state == Analysis.State.COMPLETED, (analysis.accession, analysis.status)
        assert analysis.results["assembly"]["n50"] > 0
        item = WorkItem.objects.get(external_ref=analysis.accession)
        assert item.state == WorkState.DONE, story(item)
        assert steps_completed_twice(launch_record(analysis, platform.work_root), accounted) == []
    assert WorkItem.objects.filter(state=WorkState.DONE).count() == count


def assert_nothing_of_ours_runs(platform: ChaosPlatform) -> None:
    wait_until(lambda: our_live_jobs(platform.work_root) == [], timeout=60, what="our Slurm jobs to end")


# --- 1. the worker dies -------------------------------------------------------------------------


def test_a_killed_worker_is_replaced_and_the_running_head_jobs_are_adopted(chaos: ChaosPlatform) -> None:
    since = datetime.now()
    worker = chaos.start_worker()
    first = chaos.analyse(sample_limit=RUNS)
    running = wait_until(mid_pipeline, timeout=600, what="pipelines running with a step done")
    head_jobs = {a.accession: launch_record(a, chaos.work_root).attempts[-1].head_job_id for a in running}

    chaos.kill_worker(worker)  # the worker and its flow-run process, as in a host crash
    assert our_live_jobs(chaos.work_root), "the pipelines' Slurm jobs run on without the worker"
    chaos.start_worker()
    # The dead holder's leases lapse (nothing renews them); then the study is launched again.
    wait_until(
        lambda: not WorkItem.objects.filter(state__in=LEASED_STATES, lease_expires_at__gt=timezone.now()).exists(),
        timeout=LEASE_SECONDS * 4,
        what="the dead worker's leases to lapse",
    )
    second = chaos.analyse(sample_limit=RUNS)
    assert chaos.wait_for_flow_run(second) == "COMPLETED"

    assert_each_completed_exactly_once(chaos, since)
    assert head_jobs_per_work_dir(chaos, since) == {accession: [job] for accession, job in head_jobs.items()}
    for accession, head_job in head_jobs.items():
        analysis = Analysis.objects.get(accession=accession)
        assert len(launch_record(analysis, chaos.work_root).attempts) == 1, "the pipeline was launched again"
        lines = story(WorkItem.objects.get(external_ref=accession))
        assert lines[:3] == ["-->pending", "pending->claimed", "claimed->running"], lines
        assert "running->pending" in lines, lines  # the lease lapsed
        assert any(line.startswith(f"progress: adopted head job {head_job} (follow)") for line in lines), lines
        assert lines[-1] == "running->done", lines
    assert str(first) not in {a.provenance.get("prefect_flow_run_id") for a in analyses()}
    assert_nothing_of_ours_runs(chaos)


# --- 2. a node is lost --------------------------------------------------------------------------


def step_on_a_node_without_a_head_job(platform: ChaosPlatform) -> tuple[str, str] | None:
    """(step job id, node) of a running step whose node runs no head job, or None."""
    ours = running_jobs(platform.work_root)
    head_nodes = {job.node for job in ours if job.name.endswith("-head")}
    for job in ours:
        if not job.name.endswith("-head") and job.node not in head_nodes:
            return job.job_id, job.node
    return None


def test_a_lost_node_has_its_step_resubmitted_elsewhere_and_the_analyses_complete(chaos: ChaosPlatform) -> None:
    since = datetime.now()
    chaos.start_worker()
    flow_run = chaos.analyse(sample_limit=RUNS)
    step_job, node = wait_until(
        lambda: step_on_a_node_without_a_head_job(chaos), timeout=600, what="a step on a node without a head job"
    )

    nodes.kill_node(node)  # slurmd, slurmstepd and the step's processes: the node is gone
    wait_until(  # Slurm notices: no answer ("*"), then DOWN
        lambda: nodes.node_state(node).endswith("*") or nodes.node_state(node).startswith("down"),
        timeout=90,
        what=f"Slurm to notice {node} is gone",
        every=0.5,
    )

    assert chaos.wait_for_flow_run(flow_run) == "COMPLETED"
    assert_each_completed_exactly_once(chaos, since)
    accounted = accounted_jobs(chaos.work_root, since)
    [lost] = [job for job in accounted if job.job_id == step_job]
    assert lost.state == "NODE_FAIL" and lost.nodes == node, lost
    analysis = Analysis.objects.get(accession=Path(lost.work_dir).name)
    rules = step_jobs_by_attempt(launch_record(analysis, chaos.work_root))[1]
    [rule] = [rule for rule, job_ids in rules.items() if step_job in job_ids]
    retried = [job for job in accounted if job.job_id in rules[rule] and job.completed]
    assert len(retried) == 1 and node not in retried[0].nodes, (rule, rules[rule], retried)
    assert_nothing_of_ours_runs(chaos)


# --- 3. Postgres restarts -----------------------------------------------------------------------


def restart_postgres(down_seconds: float) -> None:
    """Stop the test database's server (fast: every connection is cut), keep it down, start it again."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_dir = cursor.fetchone()[0]
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    connection.close()
    pg_ctl = f"/usr/lib/postgresql/{major}/bin/pg_ctl"
    owner = Path(data_dir).owner()
    run = ["runuser", "-u", owner, "--"] if owner != "root" else []
    subprocess.run([*run, pg_ctl, "-D", data_dir, "stop", "-m", "fast", "-w"], check=True, timeout=60)
    time.sleep(down_seconds)
    options = (Path(data_dir) / "postmaster.opts").read_text().split(maxsplit=1)
    extra = ["-o", options[1].strip()] if len(options) > 1 else []
    subprocess.run(
        [*run, pg_ctl, "-D", data_dir, "start", "-w", "-l", str(Path(data_dir) / "restart.log"), *extra],
        check=True,
        timeout=60,
        stdout=subprocess.DEVNULL,
    )


def test_a_postgres_restart_mid_pipeline_is_ridden_out(chaos: ChaosPlatform) -> None:
    since = datetime.now()
    chaos.start_worker()
    flow_run = chaos.analyse(sample_limit=RUNS)
    running = wait_until(mid_pipeline, timeout=600, what="pipelines running with a step done")

    restart_postgres(down_seconds=LEASE_SECONDS + 5)  # longer than a lease: no renewal can happen meanwhile

    assert chaos.wait_for_flow_run(flow_run) == "COMPLETED"
    assert_each_completed_exactly_once(chaos, since)
    for analysis in running:
        assert len(launch_record(analysis, chaos.work_root).attempts) == 1
        item = WorkItem.objects.get(external_ref=analysis.accession)
        assert item.attempts == 1, story(item)
    worker_log = (chaos.prefect.home / "worker.log").read_text()
    assert "database unreachable" in worker_log
    assert_nothing_of_ours_runs(chaos)


# --- 4. ENA misbehaves --------------------------------------------------------------------------


def test_ena_errors_rate_limits_and_a_stalled_download_are_retried(chaos: ChaosPlatform) -> None:
    since = datetime.now()
    chaos.mirror.faults.server_error(times=2)
    chaos.mirror.faults.too_many_requests(times=2, retry_after=1.0)
    chaos.mirror.faults.stall_download(seconds=60, times=1, fraction=0.3)
    chaos.start_worker(EMG_ENA__TIMEOUT_SECONDS="3", EMG_ENA__BACKOFF_BASE_SECONDS="0.2")
    before = len(chaos.mirror.requests)
    started = time.monotonic()

    flow_run = chaos.analyse(sample_limit=RUNS)

    assert chaos.wait_for_flow_run(flow_run) == "COMPLETED"
    assert_each_completed_exactly_once(chaos, since)
    statuses = [request.status for request in chaos.mirror.requests[before:]]
    assert statuses.count(500) == 2 and statuses.count(429) == 2, statuses
    assert 206 in statuses, "the stalled download was not resumed with a Range request"
    assert time.monotonic() - started < 600
    assert_nothing_of_ours_runs(chaos)


# --- 5. the same study twice at once --------------------------------------------------------------


def test_two_analyse_study_runs_at_once_analyse_each_run_once(chaos: ChaosPlatform) -> None:
    since = datetime.now()
    chaos.start_worker()
    runs = [chaos.analyse(sample_limit=RUNS), chaos.analyse(sample_limit=RUNS)]

    assert [chaos.wait_for_flow_run(run) for run in runs] == ["COMPLETED", "COMPLETED"]
    assert_each_completed_exactly_once(chaos, since)
    heads = head_jobs_per_work_dir(chaos, since)
    assert len(heads) == RUNS and all(len(ids) == 1 for ids in heads.values()), heads
    for item in WorkItem.objects.all():
        assert item.attempts == 1, story(item)
        assert story(item).count("pending->claimed") == 1
    assert_nothing_of_ours_runs(chaos)


# --- 6. the head job times out ------------------------------------------------------------------


def test_a_head_job_timeout_cancels_its_steps_fails_with_the_reason_and_a_rerun_resumes(
    chaos: ChaosPlatform,
) -> None:
    since = datetime.now()
    worker = chaos.start_worker(EMG_SLURM__HEAD_TIME_LIMIT_MINUTES="1")
    flow_run = chaos.analyse()  # the whole study at once: four pipelines share the CPUs, none ends in a minute

    assert chaos.wait_for_flow_run(flow_run) == "COMPLETED"  # the flow ends; its analyses failed
    assert_nothing_of_ours_runs(chaos)  # the head jobs and every step they left are gone
    timed_out = [a for a in analyses() if a.state == Analysis.State.FAILED]
    assert timed_out, [(a.accession, a.state) for a in analyses()]
    for analysis in timed_out:
        message = analysis.status["analysis_failed"]["message"]
        assert "TIMEOUT" in message, message
        item = WorkItem.objects.get(external_ref=analysis.accession)
        assert item.state == WorkState.FAILED and "TIMEOUT" in item.events.order_by("at", "id").last().message
    first_attempt_steps = {
        a.accession: set(completed_steps(a)) for a in timed_out
    }  # recorded while followed: the steps attempt 1 finished

    chaos.kill_worker(worker)
    chaos.start_worker()
    rerun = chaos.analyse(rerun_failed=True)

    assert chaos.wait_for_flow_run(rerun) == "COMPLETED"
    total = Analysis.objects.count()
    assert_each_completed_exactly_once(chaos, since, count=total)
    for analysis in timed_out:
        record = launch_record(analysis, chaos.work_root)
        assert len(record.attempts) == 2
        rerun_rules = set(step_jobs_by_attempt(record)[2])
        assert not rerun_rules & first_attempt_steps[analysis.accession], "a finished step ran again"
        lines = story(WorkItem.objects.get(external_ref=analysis.accession))
        assert "failed->pending" in lines and any(line.startswith("progress: relaunching") for line in lines)
    assert_nothing_of_ours_runs(chaos)
