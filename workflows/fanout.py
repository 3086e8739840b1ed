"""A study's analyses all launched at once and followed together: plain library code the analyse-study flow calls.

One thread per analysis blocked on its pipeline caps a study at a handful of analyses at a time
however large the cluster, and a heartbeat thread and a Slurm query per analysis per poll do not
scale to thousands. Here one flow run claims its study's runnable analyses (atomically, in the
work ledger) up to its share of the cluster (``EMG_SLURM__MAX_HEAD_JOBS_PER_STUDY``) and:

* prepares and launches them on a small bounded pool of threads (``EMG_SLURM__FANOUT_THREADS``):
  select the reads, adopt what an earlier holder left or fetch the reads and submit the head job.
  Submitting never waits for anything to run: Slurm queues what it cannot start;
* follows every launched pipeline from one thread with one batched poll per cycle
  (:meth:`Launcher.poll_many`: one squeue and one sacct whatever the number of analyses);
* concludes each ended pipeline on the pool (relaunch after a lost head job, record the failure,
  or publish the results; the outcome and the claim's end in one transaction, as
  :class:`~workflows.analysis_runner.AnalysisRun` does for one analysis);
* keeps all its leases with one UPDATE per beat (:class:`~workflows.analysis_ledger.LeaseKeeper`).

As analyses end, more of the study's are claimed, so at most the share is in flight. Each analysis'
failure is its own (:class:`AnalysisRun` phases never raise). A crash of the whole process leaves
the leases to lapse: the next holder adopts the head jobs still running (``Launcher.reattach``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial

from django.db import connections

from analyses.models import Analysis
from core.db import outlasting_disconnects
from ena.datamover import Datamover
from workflows import analysis_ledger
from workflows.analysis_ledger import Lease, LeaseKeeper, StudyWork
from workflows.analysis_runner import AnalysisOutcome, AnalysisRun, Outcome
from workflows.pipelines.definition import PipelineDefinition
from workflows.pipelines.launchers.base import Launcher
from workflows.slurm import SlurmError

logger = logging.getLogger(__name__)

#: Batched polls in a row that Slurm did not answer before the analyses followed are failed.
MAX_FAILED_POLLS = 30


@dataclass
class Tracked:
    """One claimed analysis of the fan-out: its lease and its phases."""

    work: StudyWork
    lease: Lease
    run: AnalysisRun | None = None


@dataclass
class PollRecord:
    """One batched poll: how many pipelines it read and how long it took."""

    analyses: int
    seconds: float


@dataclass
class FanOutReport:
    """What a fan-out did: each item's outcome (None when another holder had it, or it was done), and its polls."""

    outcomes: dict[int, AnalysisOutcome | None] = field(default_factory=dict)
    polls: list[PollRecord] = field(default_factory=list)
    #: seconds from the start until every claimed analysis had its head job submitted (or had ended)
    all_launched_after: float | None = None
    claimed: int = 0


class _Pool:
    """A few worker threads, each with its own datamover and database connection, closed when it ends."""

    def __init__(self, threads: int, datamover: Callable[[], AbstractContextManager[Datamover]]) -> None:
        self._jobs: queue.Queue[Callable[[Datamover], None] | None] = queue.Queue()
        self._datamover = datamover
        self._threads = [
            threading.Thread(target=self._work, name=f"fanout-{index}", daemon=True) for index in range(threads)
        ]

    def __enter__(self) -> _Pool:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()

    def submit(self, job: Callable[[Datamover], None]) -> None:
        self._jobs.put(job)

    def _work(self) -> None:
        try:
            with self._datamover() as datamover:
                while (job := self._jobs.get()) is not None:
                    job(datamover)
        finally:
            connections.close_all()


class StudyFanOut:
    """Runs a study's registered analyses on Slurm, all at once up to a share; see the module docstring.

    :param pipeline: the pipeline every analysis runs
    :param launcher: its engine's launcher (``launcher_for(pipeline)``)
    :param datamover: makes a datamover for each pool thread (a context manager)
    :param holder: who claims the work (``flow:<flow run id>``)
    :param max_in_flight: head jobs (analyses) in flight at once: the study's share of the cluster
    :param threads: the pool that prepares, launches and concludes
    :param poll_seconds: first interval between batched polls; it grows by half up to ``max_poll_seconds``
        while nothing new is launched
    :param timeout_seconds: each pipeline's deadline, from its launch
    """

    def __init__(
        self,
        *,
        pipeline: PipelineDefinition,
        launcher: Launcher,
        datamover: Callable[[], AbstractContextManager[Datamover]],
        holder: str,
        max_in_flight: int,
        threads: int,
        poll_seconds: float = 1.0,
        max_poll_seconds: float = 15.0,
        params: dict | None = None,
        timeout_seconds: float = 6 * 3600,
        flow_run_id: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.launcher = launcher
        self.datamover = datamover
        self.holder = holder
        self.max_in_flight = max_in_flight
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.max_poll_seconds = max_poll_seconds
        self.params = params
        self.timeout_seconds = timeout_seconds
        self.flow_run_id = flow_run_id
        self._events: queue.Queue[tuple[str, Tracked]] = queue.Queue()

    # ---- the one following thread -----------------------------------------------------------------

    def run(self, work: Sequence[StudyWork]) -> FanOutReport:
        """Claim, launch, follow and conclude ``work``; return each item's outcome once all have ended."""
        started = time.monotonic()
        report = FanOutReport()
        waiting: deque[StudyWork] = deque(work)
        following: dict[int, Tracked] = {}
        in_flight: dict[int, Tracked] = {}
        launching: set[int] = set()
        interval = self.poll_seconds
        next_poll = time.monotonic() + interval
        failed_polls = 0
        lease_seconds = analysis_ledger.lease_seconds_for(self.pipeline)
        with (
            LeaseKeeper(self.holder, lease_seconds=lease_seconds) as keeper,
            _Pool(self.threads, self.datamover) as pool,
        ):
            while waiting or in_flight:
                free = self.max_in_flight - len(in_flight)
                if free > 0 and waiting:
                    batch = [waiting.popleft() for _ in range(min(free, len(waiting)))]
                    for tracked in self._claim(batch, report):
                        keeper.add(tracked.lease)
                        in_flight[tracked.lease.item.pk] = tracked
                        launching.add(tracked.lease.item.pk)
                        pool.submit(partial(self._start, tracked))
                if not in_flight:
                    continue
                # Take what the pool finished (launches, conclusions) until the next poll is due.
                for kind, tracked in self._events_until(next_poll):
                    item_id = tracked.lease.item.pk
                    if kind == "started":
                        launching.discard(item_id)
                    if tracked.run is not None and tracked.run.outcome is None:
                        following[item_id] = tracked
                        interval = self.poll_seconds  # something new to watch: look soon
                        next_poll = min(next_poll, time.monotonic() + interval)
                    else:
                        keeper.remove(tracked.lease)
                        in_flight.pop(item_id, None)
                        report.outcomes[item_id] = tracked.run.outcome if tracked.run is not None else None
                if report.all_launched_after is None and not waiting and not launching:
                    report.all_launched_after = time.monotonic() - started
                if not following:
                    next_poll = time.monotonic() + interval
                elif time.monotonic() >= next_poll:
                    if self._poll(following, pool, report):
                        failed_polls = 0
                    else:
                        failed_polls += 1
                        if failed_polls >= MAX_FAILED_POLLS:
                            self._fail_all(following, pool, f"Slurm did not answer {failed_polls} polls in a row")
                    interval = min(interval * 1.5, self.max_poll_seconds)
                    next_poll = time.monotonic() + interval
        return report

    def _events_until(self, deadline: float) -> Iterator[tuple[str, Tracked]]:
        """Events from the pool: wait for the first until ``deadline``, then take all that are there."""
        try:
            yield self._events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return
        while True:
            try:
                yield self._events.get_nowait()
            except queue.Empty:
                return

    def _claim(self, batch: list[StudyWork], report: FanOutReport) -> list[Tracked]:
        """Claim what of ``batch`` is free (one statement); the rest is another holder's, done or failed."""
        leases = outlasting_disconnects(
            lambda: analysis_ledger.claim_many(item_ids=[work.item_id for work in batch], holder=self.holder),
            what=f"claiming {len(batch)} analyses",
        )
        by_item = {lease.item.pk: lease for lease in leases}
        report.claimed += len(leases)
        tracked = []
        for work in batch:
            if work.item_id in by_item:
                tracked.append(Tracked(work=work, lease=by_item[work.item_id]))
            else:
                report.outcomes[work.item_id] = None
        return tracked

    def _poll(self, following: dict[int, Tracked], pool: _Pool, report: FanOutReport) -> bool:
        """One batched poll of every pipeline followed; the ended ones go to the pool to conclude."""
        tracked = list(following.values())
        began = time.monotonic()
        try:
            readings = self.launcher.poll_many([entry.run.handle for entry in tracked])  # type: ignore[union-attr]
        except SlurmError as error:
            logger.warning("batched poll of %d pipelines failed; next cycle tries again: %s", len(tracked), error)
            return False
        report.polls.append(PollRecord(analyses=len(tracked), seconds=time.monotonic() - began))
        for entry, progress in zip(tracked, readings, strict=True):
            run = entry.run
            assert run is not None
            final = run.judge(progress)
            if run.outcome is not None:  # handed over, or timed out (and recorded)
                del following[entry.lease.item.pk]
                self._events.put(("ended", entry))
            elif final is not None:
                del following[entry.lease.item.pk]
                pool.submit(partial(self._conclude, entry, final))
        return True

    def _fail_all(self, following: dict[int, Tracked], pool: _Pool, message: str) -> None:
        for entry in list(following.values()):
            del following[entry.lease.item.pk]

            def fail(datamover: Datamover, entry: Tracked = entry) -> None:
                assert entry.run is not None
                entry.run.guarded(partial(_raise, SlurmError(message)))
                self._events.put(("ended", entry))

            pool.submit(fail)

    # ---- pool jobs ---------------------------------------------------------------------------------

    def _start(self, tracked: Tracked, datamover: Datamover) -> None:
        """Move the item to RUNNING, then select reads and adopt or fetch and launch."""
        with self._ending(tracked):
            analysis_ledger.begin(tracked.lease)
            analysis = Analysis.objects.select_related("study", "run__ena_run").get(accession=tracked.work.accession)
            tracked.run = AnalysisRun(
                analysis=analysis,
                pipeline=self.pipeline,
                launcher=self.launcher,
                datamover=datamover,
                params=self.params,
                timeout_seconds=self.timeout_seconds,
                flow_run_id=self.flow_run_id,
                claim=tracked.lease,
            )
            tracked.run.start()
        self._events.put(("started", tracked))

    def _conclude(self, tracked: Tracked, progress, datamover: Datamover) -> None:
        """Relaunch, fail or publish an ended pipeline (a relaunch goes back to being followed)."""
        assert tracked.run is not None
        with self._ending(tracked):
            tracked.run.datamover = datamover  # a relaunch fetches with this thread's datamover
            tracked.run.conclude(progress)
        self._events.put(("concluded", tracked))

    @contextmanager
    def _ending(self, tracked: Tracked) -> Iterator[None]:
        """The runner itself broke (not the analysis): fail the item and its analysis, as ``claimed`` does."""
        try:
            yield
        except Exception as error:
            if not tracked.lease.lost:
                logger.exception("%s failed unexpectedly", tracked.work.accession)
            try:
                analysis_ledger.fail_unless_completed(tracked.lease, error)
            except Exception:  # the item stays leased; its lease lapses and the next holder adopts it
                logger.exception("%s: could not record the failure", tracked.work.accession)
            outcome = AnalysisOutcome(
                accession=tracked.work.accession,
                run_accession=None,
                outcome=Outcome.HANDED_OVER if tracked.lease.lost else Outcome.FAILED,
                message=f"{type(error).__name__}: {error}",
            )
            if tracked.run is None:
                tracked.run = _Ended(outcome)  # type: ignore[assignment]
            else:
                tracked.run.outcome = outcome


@dataclass
class _Ended:
    """Stands for the phases of an analysis whose start broke before its run existed."""

    outcome: AnalysisOutcome


def _raise(error: Exception) -> None:
    raise error
