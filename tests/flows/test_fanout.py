"""A study's analyses launched all at once and followed together (``workflows.fanout``).

Real Postgres, real Slurm (the 3-node dev cluster), the ENA mirror over HTTP serving a study of
small runs, and a pipeline whose one step only waits (``fanout_pipeline``). Slurm calls are counted
by wrapping the real backend, never replacing it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prefect.testing.utilities import prefect_test_harness

from analyses.ena_sync import import_ena_study
from analyses.models import Analysis, Study
from devtools.ena_mirror.fanout_study import FANOUT_STUDY_ACCESSION, RUN_START, fanout_study_record
from devtools.ena_mirror.server import MirrorHandle, run_mirror_in_thread
from ena.datamover import Datamover
from tests.flows.fanout_pipeline import NAME, VERSION, pipeline_with
from workflows.analysis_ledger import LeaseKeeper, StudyWork, claim_many, register_study_work
from workflows.analysis_runner import Outcome
from workflows.fanout import FanOutReport, StudyFanOut
from workflows.ledger import services as ledger
from workflows.ledger.models import WorkItem, WorkState
from workflows.pipelines import get_pipeline, launcher_for
from workflows.pipelines.launchers.records import read_launch_record
from workflows.pipelines.registry import unregister
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import SlurmClient
from workflows.slurm.cli import CliBackend

pytestmark = [pytest.mark.slurm, pytest.mark.django_db(transaction=True)]

RUNS = 8


class CountingBackend:
    """The real command-line backend, with each call counted by the thread that made it."""

    def __init__(self) -> None:
        self.real = CliBackend()
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls[(kind, threading.current_thread().name)] += 1

    def submit(self, spec, array=None):
        self._count("submit")
        return self.real.submit(spec, array)

    def query(self, job_ids: Sequence[str]):
        self._count("query")
        return self.real.query(job_ids)

    def cancel(self, job_ids: Sequence[str]) -> None:
        self._count("cancel")
        return self.real.cancel(job_ids)

    def active_jobs(self):
        self._count("active_jobs")
        return self.real.active_jobs()

    def made_by(self, kind: str, thread: str) -> int:
        return self.calls[(kind, thread)]


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Iterator[MirrorHandle]:
    """The mirror serving only the fan-out study (tiny FASTQ pairs in a temporary data directory)."""
    data_dir = tmp_path_factory.mktemp("fanout-mirror")
    handle = run_mirror_in_thread(data_dir, generate=False, studies=[fanout_study_record(data_dir, RUNS)])
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def wait_pipeline(request) -> Iterator:
    seconds, fail_run = getattr(request, "param", (15.0, f"ERR{RUN_START + 2}"))
    pipeline_with(seconds, fail_run)
    yield get_pipeline(NAME, VERSION)
    unregister(NAME, VERSION)


@pytest.fixture
def study_work(platform_config, settings, wait_pipeline) -> list[StudyWork]:
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
        update={"pipelines": settings.EMG_CONFIG.pipelines.model_copy(update={"lease_seconds": 4})}
    )
    import_ena_study(FANOUT_STUDY_ACCESSION)
    study = Study.objects.by_accession(FANOUT_STUDY_ACCESSION).get()
    return register_study_work(study=study, pipeline_name=NAME, pipeline_version=VERSION, actor="test").work


def fanout(pipeline, slurm: SlurmClient, holder: str, config, *, threads: int = 2) -> StudyFanOut:
    return StudyFanOut(
        pipeline=pipeline,
        launcher=launcher_for(pipeline, slurm=slurm),
        datamover=lambda: Datamover(config.ena, webin=config.webin),
        holder=holder,
        max_in_flight=1000,
        threads=threads,
        poll_seconds=0.5,
        max_poll_seconds=2.0,
    )


def head_job_ids(work: Sequence[StudyWork]) -> dict[str, list[str]]:
    """Each analysis' head jobs, over every launch on its work area."""
    heads = {}
    for item in work:
        record = read_launch_record(WorkArea.for_analysis(item.accession))
        heads[item.accession] = [attempt.head_job_id for attempt in record.attempts] if record else []
    return heads


def cancel_everything(work: Sequence[StudyWork]) -> None:
    jobs = [job for ids in head_job_ids(work).values() for job in ids]
    if jobs:
        SlurmClient().cancel(jobs)


def test_a_study_larger_than_the_pool_is_launched_whole_and_followed_with_one_query_per_poll(
    study_work, wait_pipeline, platform_config, mirror
) -> None:
    """8 analyses, 2 launch threads: every head job is submitted before any pipeline ends; each poll
    cycle is one Slurm query (from the following thread) for all of them; a download refused by its
    md5 and a pipeline that fails do not stop the others, which publish their results."""
    bad_md5, failing = f"ERR{RUN_START + 1}", f"ERR{RUN_START + 2}"
    mirror.faults.wrong_md5(bad_md5)
    import_ena_study(FANOUT_STUDY_ACCESSION)  # the run's files now carry an md5 their bytes do not have
    backend = CountingBackend()
    runner = fanout(wait_pipeline, SlurmClient(backend=backend), "flow:fanout-test", platform_config)
    report: FanOutReport | None = None

    def run() -> None:
        nonlocal report
        try:
            report = runner.run(study_work)
        finally:
            connections.close_all()

    following = threading.Thread(target=run, name="following")
    following.start()
    try:
        following.join(timeout=600)
        assert not following.is_alive(), "the fan-out did not end"
    finally:
        cancel_everything(study_work)
    assert report is not None

    by_run = {Analysis.objects.get(accession=w.accession).run.ena_run.accession: w for w in study_work}
    outcomes = {run: report.outcomes[w.item_id] for run, w in by_run.items()}
    assert outcomes[bad_md5].outcome == Outcome.FAILED and outcomes[bad_md5].failed_step == "fetch_reads"
    assert outcomes[failing].outcome == Outcome.FAILED and outcomes[failing].failed_step == "wait"
    completed = [run for run, outcome in outcomes.items() if outcome.outcome == Outcome.COMPLETED]
    assert len(completed) == RUNS - 2
    for run in completed:
        analysis = Analysis.objects.get(accession=by_run[run].accession)
        assert analysis.state == Analysis.State.COMPLETED and analysis.downloads[0]["drs_object_id"]
    states = Counter(WorkItem.objects.filter(pk__in=[w.item_id for w in study_work]).values_list("state", flat=True))
    assert states == {WorkState.DONE: RUNS - 2, WorkState.FAILED: 2}

    # all head jobs were submitted before the first pipeline ended
    heads = [ids[0] for ids in head_job_ids(study_work).values() if ids]
    assert len(heads) == RUNS - 1  # the bad download never launched
    jobs = SlurmClient().states(heads)
    last_submitted = max(jobs[job].submit_time for job in heads)
    first_ended = min(jobs[job].end_time for job in heads if jobs[job].end_time is not None)
    assert last_submitted < first_ended, "a head job was submitted only after another pipeline ended"
    assert report.all_launched_after is not None and report.all_launched_after < 15

    # one Slurm query per poll cycle, from the following thread, for every pipeline followed
    assert report.polls and max(poll.analyses for poll in report.polls) == RUNS - 1
    assert backend.made_by("query", "following") == len(report.polls)
    assert backend.made_by("submit", "following") == 0 and backend.made_by("cancel", "following") == 0
    assert sum(count for (kind, thread), count in backend.calls.items() if kind == "submit") == RUNS - 1


@pytest.mark.parametrize("wait_pipeline", [(20.0, "")], indirect=True)
def test_two_fanouts_of_one_study_at_once_never_run_an_analysis_twice(
    study_work, wait_pipeline, platform_config
) -> None:
    """Two holders fan out the same study at the same moment: each analysis is claimed and launched once."""
    reports: dict[str, FanOutReport] = {}
    barrier = threading.Barrier(2)

    def run(holder: str) -> None:
        runner = fanout(wait_pipeline, SlurmClient(), holder, platform_config)
        barrier.wait()
        try:
            reports[holder] = runner.run(study_work)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(holder,)) for holder in ("flow:first", "flow:second")]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(timeout=600)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        cancel_everything(study_work)

    ran = {
        holder: {item for item, outcome in report.outcomes.items() if outcome is not None}
        for holder, report in reports.items()
    }
    assert not ran["flow:first"] & ran["flow:second"], "an analysis was run by both holders"
    assert ran["flow:first"] | ran["flow:second"] == {w.item_id for w in study_work}
    assert reports["flow:first"].claimed + reports["flow:second"].claimed == RUNS
    assert all(len(ids) == 1 for ids in head_job_ids(study_work).values()), "an analysis was launched twice"
    assert all(
        outcome.outcome == Outcome.COMPLETED
        for report in reports.values()
        for outcome in report.outcomes.values()
        if outcome is not None
    )


@pytest.mark.parametrize("wait_pipeline", [(0.0, "")], indirect=True)
def test_the_lease_keeper_renews_every_lease_in_one_statement_and_notices_a_lost_one(study_work) -> None:
    leases = claim_many(item_ids=[w.item_id for w in study_work], holder="flow:keeper")
    assert len(leases) == RUNS
    keeper = LeaseKeeper("flow:keeper", lease_seconds=600)
    for lease in leases:
        keeper.add(lease)
    before = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        keeper.beat()

    assert len(queries) == 1 and queries[0]["sql"].lstrip().upper().startswith("UPDATE")
    items = WorkItem.objects.filter(pk__in=[lease.item.pk for lease in leases])
    assert all(item.lease_expires_at > before + timedelta(seconds=590) for item in items)
    assert all(lease.renewals == 1 for lease in leases)

    # a claim that lapsed and was taken by another holder: the next beat marks it lost, and only it
    lost = leases[0]
    WorkItem.objects.filter(pk=lost.item.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    [taken] = ledger.claim(pipeline=lost.item.pipeline, holder="flow:other", among=[lost.item.pk])
    keeper.beat()
    assert lost.lost and not any(lease.lost for lease in leases[1:])
    assert len(keeper) == RUNS - 1
    taken.refresh_from_db()
    assert taken.lease_holder == "flow:other"


@pytest.mark.parametrize("wait_pipeline", [(0.0, "")], indirect=True)
def test_the_keepers_thread_holds_short_leases_past_their_length(study_work) -> None:
    leases = claim_many(item_ids=[w.item_id for w in study_work], holder="flow:keeper")
    with LeaseKeeper("flow:keeper", lease_seconds=2) as keeper:
        for lease in leases:
            keeper.add(lease)
        time.sleep(5)  # 2.5 leases
        assert not ledger.claim(pipeline=leases[0].item.pipeline, holder="flow:other", limit=RUNS), "reaped"
    assert keeper.beats >= 6 and not any(lease.lost for lease in leases)


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=240):
        yield


@pytest.mark.prefect
@pytest.mark.parametrize("wait_pipeline", [(3.0, f"ERR{RUN_START + 2}")], indirect=True)
def test_the_flow_runs_a_study_with_a_constant_number_of_task_runs(
    harness, study_work, wait_pipeline, platform_config
) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from workflows.flows.analyse_study import analyse_study

    state = analyse_study(FANOUT_STUDY_ACCESSION, pipeline_name=NAME, pipeline_version=VERSION, return_state=True)
    summary = state.result()
    assert len(summary.completed) == RUNS - 1 and list(summary.failed.values())[0].startswith("wait:")

    async def task_runs() -> int:
        async with get_client() as client:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
            )
            return len(runs)

    assert asyncio.run(task_runs()) == 3  # import, register, analyse: whatever the number of runs

    again = analyse_study(FANOUT_STUDY_ACCESSION, pipeline_name=NAME, pipeline_version=VERSION)
    assert again.completed == [] and again.failed == {} and len(again.skipped) == RUNS
    assert Counter(again.skipped.values())["already done"] == RUNS - 1
