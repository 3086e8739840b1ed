"""Analyses as work-ledger items: register a study's once, claim one atomically, hold its lease, finish it.

This is how ``analyse-study`` gets its exactly-once guarantee: the Analysis row is unique per
(run, pipeline, version) in the database, and running it needs a claim on the matching work
item, which only one holder at a time can have. Done or in-progress work is skipped; failed
work runs again only when a re-run is asked for. The same ledger serves external wrappers
through ``/api/v2/work/``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from analyses import recording
from analyses.models import Analysis, Run, Study
from analyses.schemas import Provenance
from analyses.services import analysis_mark_cancelled, cancelled_in_this_attempt
from core.config import current_config
from core.db import DISCONNECT_ERRORS, drop_broken_connection
from core.errors import Conflict
from workflows.analysis_runner import AnalysisOutcome, ClaimLost, Outcome
from workflows.ledger import services as ledger
from workflows.ledger.errors import IllegalTransition, LeaseConflict
from workflows.ledger.models import LEASED_STATES, EventKind, Pipeline, WorkEvent, WorkItem, WorkState
from workflows.pipelines import get_pipeline
from workflows.pipelines.definition import PipelineDefinition
from workflows.pipelines.launchers.records import read_launch_record
from workflows.pipelines.workarea import WorkArea, configured_work_root
from workflows.slurm import JobState, SlurmClient, SlurmError

logger = logging.getLogger(__name__)

RUN_INPUT_KEY = "run"
#: Claims of an item whose lapsed lease another claimer is reaping at that moment.
CLAIM_RETRIES = 10


@dataclass(frozen=True)
class StudyWork:
    item_id: int
    accession: str


@dataclass(frozen=True)
class Registration:
    work: list[StudyWork]
    created: int


def ledger_pipeline(name: str, version: str) -> Pipeline:
    definition = get_pipeline(name, version)
    return ledger.ensure_pipeline(
        name=definition.name,
        version=definition.version,
        repository_uri=f"{settings.EMG_CONFIG.service_urls.app_root}pipelines/{definition.name}",
        lease_seconds=lease_seconds_for(definition),
        expected_duration=definition.expected_duration,
    )


#: Analysis states a curator may cancel (:func:`cancel_analysis`); the admin offers its buttons by them too.
CANCELLABLE_STATES = (Analysis.State.PENDING, Analysis.State.RUNNING)


def will_start(state: WorkState | str | None, *, rerun_failed: bool) -> bool:
    """Whether a launch of the study starts this work item: the one rule the flow and its previews share.

    New work (no item yet) and pending items start; failed and cancelled ones only when a re-run is
    asked for; claimed or running items are someone else's (a lapsed lease is adopted, not restarted)
    and done ones are done.

    :param state: the item's state, None when the run has no item yet
    """
    if state is None or state == WorkState.PENDING:
        return True
    return rerun_failed and state in ledger.RERUNNABLE_STATES


def study_runs(study: Study, run_limit: int | None = None) -> QuerySet[Run]:
    """The runs a launch of ``study`` registers: the first ``run_limit`` by ENA accession (all when None)."""
    return study.runs.select_related("ena_run").order_by("ena_run__accession")[:run_limit]


def register_study_work(
    *,
    study: Study,
    pipeline_name: str,
    pipeline_version: str,
    actor: str,
    run_limit: int | None = None,
    rerun_failed: bool = False,
    analysis_accessions: Sequence[str] | None = None,
) -> Registration:
    """Create each run's Analysis and its work item (both idempotent), and requeue failures if asked.

    :param study: the MGYS study
    :param run_limit: only the first N runs by accession
    :param rerun_failed: failed (and cancelled) items go back to pending (attempts granted again)
    :param analysis_accessions: only these analyses' runs (a re-run of chosen analyses); ``run_limit``
        does not apply then
    :param actor: recorded on the ledger's events
    """
    pipeline = ledger_pipeline(pipeline_name, pipeline_version)
    if analysis_accessions is not None:
        runs = list(
            study.runs.select_related("ena_run")
            .filter(analyses__accession__in=list(analysis_accessions))
            .order_by("ena_run__accession")
            .distinct()
        )
    else:
        runs = list(study_runs(study, run_limit))
    analyses, created = recording.ensure_run_analyses(
        study=study, runs=runs, pipeline_name=pipeline_name, pipeline_version=pipeline_version
    )
    registrations = ledger.register_work(
        pipeline=pipeline,
        inputs=[{RUN_INPUT_KEY: analysis.run.ena_run.accession} for analysis in analyses],
        external_refs=[analysis.accession for analysis in analyses],
        owners=[analysis_owner(analysis, study) for analysis in analyses],
        actor=actor,
    )
    if rerun_failed:
        for (item, _created), analysis in zip(registrations, analyses, strict=True):
            if item.state in ledger.RERUNNABLE_STATES:
                with transaction.atomic():
                    ledger.transition(
                        item=item,
                        to_state=WorkState.PENDING,
                        actor=actor,
                        message="re-run requested",
                        reset_attempts=True,
                    )
                    recording.requeue(analysis=analysis, message="re-run requested")
    return Registration(
        work=[
            StudyWork(item.pk, analysis.accession) for (item, _), analysis in zip(registrations, analyses, strict=True)
        ],
        created=created,
    )


@dataclass(frozen=True)
class StudyPlan:
    """What a launch of a study would start, run by run, decided by :func:`will_start` as the flow decides.

    ``to_start`` counts the runs with no analysis (or work item) yet, the pending items, and the
    failed and cancelled ones when a re-run is asked for; ``not_starting`` says why the rest are left.
    """

    study: str
    runs: int
    new: int
    pending: int
    rerun: int
    not_starting: dict[str, int]

    @property
    def to_start(self) -> int:
        return self.new + self.pending + self.rerun


def plan_study_work(
    *, study: Study, pipeline_name: str, pipeline_version: str, run_limit: int | None, rerun_failed: bool
) -> StudyPlan:
    """How many analyses a launch of ``study`` would start now, without writing anything (three queries).

    It reads the same runs (:func:`study_runs`) and applies the same rule (:func:`will_start`) as
    :func:`register_study_work` and the claims after it, so a preview and the flow cannot disagree
    about the database as it is. The flow imports the study from ENA first: runs ENA added since the
    last import are not counted here.
    """
    run_ids = list(study_runs(study, run_limit).values_list("pk", flat=True))
    accessions = dict(
        Analysis.objects.active()
        .filter(run_id__in=run_ids, pipeline_name=pipeline_name, pipeline_version=pipeline_version)
        .values_list("run_id", "accession")
    )
    states = dict(
        WorkItem.objects.filter(
            pipeline__name=pipeline_name, pipeline__version=pipeline_version, external_ref__in=accessions.values()
        ).values_list("external_ref", "state")
    )
    new = pending = rerun = 0
    not_starting: dict[str, int] = {}
    for run_id in run_ids:
        state = states.get(accessions.get(run_id, ""))
        if state is None:
            new += 1
        elif state == WorkState.PENDING:
            pending += 1
        elif will_start(state, rerun_failed=rerun_failed):
            rerun += 1
        else:
            not_starting[state] = not_starting.get(state, 0) + 1
    return StudyPlan(
        study=study.accession, runs=len(run_ids), new=new, pending=pending, rerun=rerun, not_starting=not_starting
    )


# --- re-running and cancelling one analysis (curators: the admin and the API) ----------------------


@dataclass(frozen=True)
class Requeued:
    """An analysis put back in the queue for a re-run: what a flow run needs to run exactly it."""

    accession: str
    study_id: int
    pipeline_name: str
    pipeline_version: str
    item_id: int


@dataclass(frozen=True)
class Cancelled:
    """A cancelled analysis, and the Slurm jobs asked to stop (``slurm_error`` if Slurm did not answer)."""

    accession: str
    item_id: int | None
    job_ids: list[str]
    slurm_error: str | None = None


def work_item_of(analysis: Analysis) -> WorkItem | None:
    """The ledger item that produces ``analysis`` (its MGYA is the item's ``external_ref``)."""
    return (
        WorkItem.objects.filter(
            external_ref=analysis.accession,
            pipeline__name=analysis.pipeline_name,
            pipeline__version=analysis.pipeline_version,
        )
        .order_by("-id")
        .first()
    )


def requeue_for_rerun(*, analysis: Analysis, actor: str) -> Requeued:
    """Put a failed (or cancelled) analysis and its work item back to pending, exactly once.

    One transaction, under a lock on the analysis row and then its item's (the order every writer
    of both takes): of two concurrent requests one requeues and the other finds the analysis no
    longer failed and is refused, so no analysis is ever queued twice. The caller starts a flow run
    for it after the commit (:func:`workflows.automation.services.rerun_analyses`); until one
    claims it, any launch of its study would.

    :param analysis: the analysis (any instance; it is read afresh under the lock)
    :param actor: who asks, e.g. ``admin:alice``, recorded on the ledger and the analysis
    :raises Conflict: the analysis is not failed (pending, running or completed)
    """
    with transaction.atomic():
        locked = Analysis.objects.select_for_update(of=("self",)).select_related("run__ena_run").get(pk=analysis.pk)
        if locked.state != Analysis.State.FAILED:
            raise Conflict(f"{locked.accession} is {locked.state}: only failed analyses are re-run")
        if locked.run_id is None:
            raise Conflict(f"{locked.accession} analyses an assembly: only analyses of runs are re-run here")
        message = f"re-run requested by {actor}"
        item = work_item_of(locked)
        if item is None:  # an analysis made outside the flows: register its work now (pending)
            pipeline = ledger_pipeline(locked.pipeline_name, locked.pipeline_version)
            [(item, _created)] = ledger.register_work(
                pipeline=pipeline,
                inputs=[{RUN_INPUT_KEY: locked.run.ena_run.accession}],
                external_refs=[locked.accession],
                owners=[analysis_owner(locked, locked.study)],
                actor=actor,
            )
        if item.state in ledger.RERUNNABLE_STATES:
            ledger.transition(item=item, to_state=WorkState.PENDING, actor=actor, message=message, reset_attempts=True)
        elif item.state != WorkState.PENDING:
            raise Conflict(f"{locked.accession}: its work item {item.pk} is {item.state}; it is not re-run now")
        recording.requeue(analysis=locked, message=message)
    return Requeued(
        accession=locked.accession,
        study_id=locked.study_id,
        pipeline_name=locked.pipeline_name,
        pipeline_version=locked.pipeline_version,
        item_id=item.pk,
    )


def cancel_analysis(*, analysis: Analysis, actor: str, slurm: SlurmClient | None = None) -> Cancelled:
    """Stop a pending or running analysis: its work item CANCELLED, the analysis failed by cancellation, its jobs
    cancelled on Slurm.

    The ledger and the analysis change in one transaction (analysis row, then item row). Then, the
    transaction committed, its head job and any step still queued or running are ``scancel``-ed. The
    flow run that holds the item finds out by itself, without stopping its other analyses: its next
    batched poll sees the head job CANCELLED, and ending the claim is refused because the item is
    no longer its (``Lease.finish`` -> ``ClaimLost``), so the runner writes nothing; its lease keeper
    finds the lease lost at the next beat and settles what a launch under way left
    (:func:`settle_cancelled`).

    :param analysis: the analysis (read afresh under the lock)
    :param actor: who cancels, e.g. ``admin:alice``
    :param slurm: the Slurm client (default: the configured one)
    :raises Conflict: the analysis is completed or failed already, or its work item has ended
    """
    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        if locked.state not in CANCELLABLE_STATES:
            raise Conflict(f"{locked.accession} is {locked.state}: only pending or running analyses are cancelled")
        item = work_item_of(locked)
        if item is not None:
            if item.state not in (WorkState.PENDING, *LEASED_STATES):
                raise Conflict(f"{locked.accession}: its work item {item.pk} is {item.state} already")
            ledger.transition(
                item=item,
                to_state=WorkState.CANCELLED,
                actor=actor,
                override_lease=True,
                message=f"cancelled by {actor}",
                data={"lease_holder": item.lease_holder} if item.lease_holder else None,
            )
        analysis_mark_cancelled(analysis=locked, by=actor)
    job_ids, error = stop_slurm_jobs(locked, slurm=slurm)
    return Cancelled(accession=locked.accession, item_id=item.pk if item else None, job_ids=job_ids, slurm_error=error)


def slurm_jobs_to_stop(analysis: Analysis) -> list[str]:
    """The analysis' Slurm jobs that may still run: those recorded unfinished, and every head job its
    work area's launch record names (a launch newer than the last recorded poll is there only)."""
    provenance = Provenance.model_validate(analysis.provenance) if analysis.provenance else None
    ids = [
        job.job_id
        for job in (provenance.slurm_jobs if provenance else [])
        if not JobState.from_slurm(job.state).is_terminal
    ]
    work_dir = provenance.work_dir if provenance and provenance.work_dir else None
    root = Path(work_dir) if work_dir else configured_work_root()[0] / analysis.accession
    if root.is_dir():
        record = read_launch_record(WorkArea(root=root, keep=True))
        ids += [attempt.head_job_id for attempt in (record.attempts if record else [])]
    return list(dict.fromkeys(ids))


def stop_slurm_jobs(analysis: Analysis, *, slurm: SlurmClient | None = None) -> tuple[list[str], str | None]:
    """``scancel`` what :func:`slurm_jobs_to_stop` names (finished jobs are ignored by Slurm).

    :return: the job ids, and Slurm's error if it refused or did not answer (never raised: the
        ledger and the analysis are already cancelled; the holder settles again when it notices)
    """
    job_ids = slurm_jobs_to_stop(analysis)
    if not job_ids:
        return [], None
    try:
        (slurm or SlurmClient()).cancel(job_ids)
    except SlurmError as error:
        logger.warning("%s: could not cancel Slurm jobs %s: %s", analysis.accession, job_ids, error)
        return job_ids, str(error)
    return job_ids, None


def settle_cancelled(item_ids: Sequence[int]) -> list[str]:
    """For those of ``item_ids`` a curator cancelled, make sure nothing of the analysis runs on.

    Called by a holder that lost leases (its :class:`LeaseKeeper`, and the flow after its fan-out):
    a launch that was under way when the cancellation came may have submitted a head job and
    marked the analysis running after it. Such an analysis is marked failed by cancellation
    again (by whoever cancelled the item), and its jobs are cancelled. An item cancelled in the
    ledger alone (its analysis not cancelled: an operator handing it on) is left as it is: its
    pipeline runs on for the next holder to adopt.

    :return: the accessions of the cancelled analyses settled
    """
    items = list(WorkItem.objects.filter(pk__in=list(item_ids), state=WorkState.CANCELLED))
    if not items:
        return []
    by_item = dict(
        WorkEvent.objects.filter(item__in=items, to_state=WorkState.CANCELLED)
        .order_by("item_id", "at", "id")
        .values_list("item_id", "actor")
    )
    analyses = Analysis.objects.filter(accession__in=[item.external_ref for item in items if item.external_ref])
    actor_of = {item.external_ref: by_item.get(item.pk, ledger.SYSTEM_ACTOR) for item in items}
    settled = []
    for analysis in analyses:
        if not cancelled_in_this_attempt(analysis):
            continue  # its item was cancelled in the ledger alone (handed to another holder): not the analysis'
        if analysis.state in CANCELLABLE_STATES:
            analysis_mark_cancelled(analysis=analysis, by=actor_of[analysis.accession])
        stop_slurm_jobs(analysis)
        settled.append(analysis.accession)
    return settled


def analysis_owner(analysis: Analysis, study: Study) -> str | None:
    """The privacy of an analysis' work item: ``None`` when public, else the Webin account it is private to.

    The item's input and failure messages name the analysis' run, so it is private while the analysis
    or its study is (the API hides an analysis of a private study too). Registration sets it every
    time: items of a study made public become public with its next analysis.

    :param analysis: the analysis the item produces
    :param study: the study being registered (spares a query per analysis; its own study is read if different)
    """
    owning_study = study if analysis.study_id == study.pk else analysis.study
    if not (analysis.is_private or owning_study.is_private):
        return None
    return analysis.webin_submitter or owning_study.webin_submitter


class Lease:
    """A claimed work item, kept alive by a heartbeat thread while it is worked on; finished once.

    The heartbeat renews the lease every quarter of its length, whatever step runs (downloading,
    following Slurm, publishing), in its own thread and database connection. When a renewal finds the
    item no longer ours (the lease lapsed, say over a long database outage, and another holder
    claimed it), :attr:`lost` turns true and the runner stops without writing anything.
    """

    def __init__(self, item: WorkItem, holder: str, *, lease_seconds: int):
        self.item = item
        self.holder = holder
        self.lease_seconds = lease_seconds
        self.renewals = 0
        self._lost = threading.Event()
        self._keeper: LeaseKeeper | None = None

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def mark_lost(self) -> None:
        """Another holder has the item (a :class:`LeaseKeeper` found out): the runner stops, writing nothing."""
        self._lost.set()

    def start_heartbeat(self) -> None:
        """Keep this lease alone: a :class:`LeaseKeeper` of one, with its own thread and connection."""
        self._keeper = LeaseKeeper(self.holder, lease_seconds=self.lease_seconds)
        self._keeper.add(self)
        self._keeper.__enter__()

    def stop_heartbeat(self) -> None:
        if self._keeper is not None:
            self._keeper.__exit__(None, None, None)

    def note(self, message: str, data: dict[str, Any] | None = None) -> None:
        """Keep a progress line on the item's event log (best effort: never fails the work)."""
        try:
            ledger.post_message(
                item=self.item, actor=self.holder, message=message, kind=EventKind.PROGRESS, data=data or {}
            )
        except DISCONNECT_ERRORS as error:
            logger.warning("lease %s: could not log %r (%s)", self.item.pk, message, error)
            drop_broken_connection()

    def finish(self, outcome: AnalysisOutcome) -> None:
        """DONE or FAILED; called inside the transaction that records the analysis' outcome.

        :raises ClaimLost: the item is no longer ours (cancelled, or reaped and claimed by another
            holder): the caller's transaction rolls back, and what it recorded with it
        """
        done = outcome.outcome == Outcome.COMPLETED
        try:
            ledger.transition(
                item=self.item,
                to_state=WorkState.DONE if done else WorkState.FAILED,
                actor=self.holder,
                holder=self.holder,
                message="" if done else f"{outcome.failed_step}: {outcome.message or ''}"[:2000],
            )
        except (LeaseConflict, IllegalTransition) as error:
            self._lost.set()
            raise ClaimLost(f"work item {self.item.pk} is no longer {self.holder}'s: {error}") from error


class LeaseKeeper:
    """Renews every lease of one holder with one statement per beat, from one thread.

    A study fan-out holds up to a thousand leases at once; a heartbeat thread (and a database
    connection) per lease would be a thousand of each, and a thousand UPDATEs per beat. The keeper
    renews them all with one ``ledger.heartbeat`` call, and marks lost (:meth:`Lease.mark_lost`)
    those the database no longer has for this holder. Leases join when claimed and leave when
    finished. Use as a context manager: the thread stops, and its connection closes, on exit.
    """

    def __init__(self, holder: str, *, lease_seconds: int) -> None:
        self.holder = holder
        self.lease_seconds = lease_seconds
        self.beats = 0
        self._leases: dict[int, Lease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"leases-{holder}", daemon=True)

    @property
    def interval_seconds(self) -> float:
        return max(self.lease_seconds / 4, 0.5)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def add(self, lease: Lease) -> None:
        with self._lock:
            self._leases[lease.item.pk] = lease

    def remove(self, lease: Lease) -> None:
        with self._lock:
            self._leases.pop(lease.item.pk, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._leases)

    def beat(self) -> None:
        """Renew all the leases held now (one UPDATE); mark lost those no longer this holder's."""
        with self._lock:
            leases = dict(self._leases)
        if not leases:
            return
        try:
            result = ledger.heartbeat(item_ids=list(leases), holder=self.holder, lease_seconds=self.lease_seconds)
        except DISCONNECT_ERRORS as error:  # the leases hold a while longer; try again next beat
            logger.warning("%d leases of %s: database unreachable, not renewed (%s)", len(leases), self.holder, error)
            drop_broken_connection()
            return
        self.beats += 1
        for item_id in result.lost:
            lease = leases[item_id]
            if not lease.lost:
                logger.warning("lease %s of %s lost: cancelled, or another holder has the item", item_id, self.holder)
            lease.mark_lost()
            self.remove(lease)
        for item_id in result.renewed:
            leases[item_id].renewals += 1
        if result.lost:
            self._settle(result.lost)

    def _settle(self, item_ids: list[int]) -> None:
        """Leases lost to a cancellation: stop what a launch under way left running (best effort)."""
        try:
            settled = settle_cancelled(item_ids)
        except Exception as error:  # the flow settles again after its fan-out
            logger.warning("%s: could not settle cancelled items %s: %s", self.holder, item_ids, error)
            drop_broken_connection()
            return
        if settled:
            logger.info("%s: cancelled by a curator, stopped: %s", self.holder, ", ".join(settled))

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_seconds):
                self.beat()
        finally:
            connections.close_all()  # this thread's own connection


def claim_many(*, item_ids: Sequence[int], holder: str) -> list[Lease]:
    """Claim those of ``item_ids`` that are free, in one statement per attempt; their Leases, unstarted.

    Atomic and exactly once as :func:`claimed` (``SELECT ... FOR UPDATE SKIP LOCKED``): a concurrent
    claimer gets none of them. An item whose lapsed lease another claimer is reaping at that moment
    is asked for again shortly, like :func:`claimed` does. The items are all of one pipeline. The
    caller moves each to RUNNING (:func:`begin`) and keeps the leases (a :class:`LeaseKeeper`).
    """
    ids = list(dict.fromkeys(int(item_id) for item_id in item_ids))
    if not ids:
        return []
    pipeline = WorkItem.objects.select_related("pipeline").get(pk=ids[0]).pipeline
    lease_seconds = lease_seconds_for(get_pipeline(pipeline.name, pipeline.version))
    items: list[WorkItem] = []
    wanted = ids
    for attempt in range(CLAIM_RETRIES + 1):
        for start in range(0, len(wanted), ledger.MAX_CLAIM_BATCH):
            among = wanted[start : start + ledger.MAX_CLAIM_BATCH]
            items += ledger.claim(
                pipeline=pipeline, holder=holder, limit=len(among), among=among, lease_seconds=lease_seconds
            )
        got = {item.pk for item in items}
        wanted = _lapsed_or_pending([item_id for item_id in wanted if item_id not in got])
        if not wanted or attempt == CLAIM_RETRIES:
            break
        time.sleep(0.2)  # another claimer's reaper holds those rows; it commits in a moment
    order = {item_id: index for index, item_id in enumerate(ids)}
    return [Lease(item, holder, lease_seconds=lease_seconds) for item in sorted(items, key=lambda i: order[i.pk])]


def _lapsed_or_pending(item_ids: list[int]) -> list[int]:
    """Those of ``item_ids`` a claim should get shortly (one query): pending, or leased with the lease lapsed."""
    if not item_ids:
        return []
    now = timezone.now()
    return list(
        WorkItem.objects.filter(pk__in=item_ids)
        .filter(Q(state=WorkState.PENDING) | Q(state__in=LEASED_STATES, lease_expires_at__lt=now))
        .values_list("pk", flat=True)
    )


def begin(lease: Lease) -> None:
    """Move a claimed item to RUNNING, as :func:`claimed` does before the work starts.

    :raises ClaimLost: the item is no longer this holder's (its lease lapsed before the work began)
    """
    try:
        ledger.transition(item=lease.item, to_state=WorkState.RUNNING, actor=lease.holder, holder=lease.holder)
    except (LeaseConflict, IllegalTransition) as error:
        lease.mark_lost()
        raise ClaimLost(f"work item {lease.item.pk} is no longer {lease.holder}'s: {error}") from error


def fail_unless_completed(lease: Lease, error: BaseException) -> None:
    """The runner itself broke on this item: fail it and its analysis, unless completed or no longer ours."""
    if not lease.lost:
        _fail_unless_completed(lease, f"{type(error).__name__}: {error}")


def lease_seconds_for(pipeline: PipelineDefinition) -> int:
    """The lease of one analysis: the configured override, else the pipeline's own (from its expected duration)."""
    return current_config().pipelines.lease_seconds or pipeline.lease_seconds


@contextmanager
def claimed(*, item_id: int, holder: str) -> Iterator[Lease | None]:
    """Claim one work item for ``holder`` (atomic, SKIP LOCKED); yield its Lease, or None if not ours to run.

    While the block runs, the lease's heartbeat keeps it. The runner records the analysis' outcome
    and ends the claim in one transaction (``workflows.analysis_runner``). An ``Exception`` that
    escapes it (the runner itself broke) fails the item and the analysis here, unless the analysis
    is already completed or the claim was lost. An interruption (the worker stopping, the flow
    cancelled) leaves the item as it is: its lease lapses and the next holder adopts the pipeline,
    which runs on in Slurm.
    """
    leases = claim_many(item_ids=[item_id], holder=holder)
    if not leases:
        yield None
        return
    lease = leases[0]
    ledger.transition(item=lease.item, to_state=WorkState.RUNNING, actor=holder, holder=holder)
    lease.start_heartbeat()
    try:
        yield lease
    except Exception as error:
        if not lease.lost:
            _fail_unless_completed(lease, f"{type(error).__name__}: {error}")
        raise
    finally:
        lease.stop_heartbeat()


def _fail_unless_completed(lease: Lease, message: str) -> None:
    with transaction.atomic():
        analysis = Analysis.objects.select_for_update().filter(accession=lease.item.external_ref).first()
        if analysis is not None and analysis.state == Analysis.State.COMPLETED:
            return
        if analysis is not None:
            recording.mark_failed(analysis=analysis, message=message)
        ledger.transition(
            item=lease.item, to_state=WorkState.FAILED, actor=lease.holder, holder=lease.holder, message=message
        )


def why_skipped(item_id: int) -> str:
    """Why a flow run did not run this item: it is done, failed, or someone else holds it."""
    return _why_skipped(WorkItem.objects.get(pk=item_id))


def why_skipped_many(item_ids: Sequence[int]) -> dict[int, str]:
    """:func:`why_skipped` of many items, in one query."""
    return {item.pk: _why_skipped(item) for item in WorkItem.objects.filter(pk__in=list(item_ids))}


def _why_skipped(item: WorkItem) -> str:
    if item.state in (WorkState.CLAIMED, WorkState.RUNNING):
        return f"{item.state} by {item.lease_holder}"
    if item.state == WorkState.FAILED:
        return "failed earlier (launch with rerun_failed to run it again)"
    if item.state == WorkState.CANCELLED:
        return "cancelled (re-run it, or launch with rerun_failed, to run it again)"
    return f"already {item.state}"
