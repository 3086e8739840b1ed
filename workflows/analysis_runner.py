"""Carry one analysis from reads to stored results: plain library code that the flows call from tasks.

Steps: decide which of the run's FASTQ files are read 1, read 2 or unpaired (``ena.read_files``: a
run no pipeline can take fails here, before any download), fetch those files (md5-checked) into the
analysis' work area, launch the pipeline
on Slurm with the launcher of its engine, follow it while recording its Slurm jobs on the Analysis,
then parse the outputs and publish them (``analyses.publishing``: files, DRS objects and results in
one transaction).

Failures of the analysis are handled here and only here: any error of a step ends as a FAILED
analysis with the step and the message (:func:`run_analysis` returns it; it does not raise), so
one bad run never stops a study.

Exactly once under crashes: a run first asks the launcher what a previous holder of the same work
left in the work area (:meth:`Launcher.reattach`) and adopts it: a live head job is followed, a
completed one's outputs are collected, and only a failed or vanished one is launched again (which
resumes). The outcome (results, DRS objects, the analysis state) and the claim's end (the ledger's
DONE or FAILED) are written in one transaction, so completed work can never be put back to
pending. A run that loses its claim stops following and writes nothing: the new holder adopts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any, Protocol, TypeVar

from django.db import transaction

from analyses import recording
from analyses.models import Analysis
from analyses.publishing import publish_analysis
from analyses.schemas import Provenance, ReadsUsed
from core.db import DISCONNECT_ERRORS, drop_broken_connection, outlasting_disconnects
from core.errors import DomainError
from ena.datamover import Datamover
from ena.portal.errors import ENAError
from ena.read_files import ReadFileSelection, select_stored_run_files
from workflows.pipelines.definition import PipelineDefinition, PipelineParameters, RunInputs
from workflows.pipelines.launchers.base import Launcher
from workflows.pipelines.launchers.progress import PipelineProgress, PipelineState
from workflows.pipelines.launchers.reattach import Reattachment
from workflows.pipelines.launchers.records import LaunchHandle
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import SlurmError, SlurmUnavailableError

logger = logging.getLogger(__name__)
T = TypeVar("T")

SELECT_STEP = "select_reads"
FETCH_STEP = "fetch_reads"
LAUNCH_STEP = "launch"
PIPELINE_STEP = "pipeline"
PUBLISH_STEP = "publish_results"
READS_DIR = "reads"
#: Head-job ends that say nothing about the pipeline (its node died, Slurm preempted it): relaunched at once.
HEAD_JOB_LOSSES = frozenset({"NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "VANISHED"})
#: A head job unknown to Slurm and its accounting for this many polls in a row has vanished.
VANISHED_AFTER_POLLS = 8
MAX_RELAUNCHES_AFTER_LOSS = 2
#: Errors whose message says it all (the others are reported with their type).
EXPLAINED_ERRORS = (ENAError, SlurmError, DomainError, TimeoutError)


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    #: the claim was lost (its lease expired and another holder took the work): nothing recorded
    HANDED_OVER = "handed_over"


class ClaimLost(Exception):
    """This run no longer holds the work: stop, write nothing, leave the Slurm jobs to the new holder."""


class WorkClaim(Protocol):
    """What the runner needs from whoever gave it the right to run this analysis (a work-ledger lease)."""

    @property
    def lost(self) -> bool:
        """True once the claim is no longer this run's."""

    def note(self, message: str, data: dict[str, Any] | None = None) -> None:
        """Keep a line of the story (adopted a head job, relaunched, ...) where operators read it."""

    def finish(self, outcome: AnalysisOutcome) -> None:
        """End the claim; called inside the transaction that records the outcome.

        :raises ClaimLost: the claim is no longer held (the transaction is then rolled back)
        """


@dataclass(frozen=True)
class AnalysisOutcome:
    accession: str
    run_accession: str | None
    outcome: Outcome
    failed_step: str | None = None
    message: str | None = None


def select_reads(analysis: Analysis) -> ReadFileSelection:
    """The run's files by role (read 1, read 2, unpaired), decided from names and layout before any download.

    :raises ena.read_files.UnusableReadFiles: the run's files cannot be taken (the message says why)
    """
    return select_stored_run_files(analysis.run.ena_run)


def reads_used(selection: ReadFileSelection) -> ReadsUsed:
    """The selection as recorded in the analysis' provenance."""
    return ReadsUsed(
        layout=selection.layout.value,
        files=selection.read_names,
        unpaired_not_analysed=selection.unpaired_name,
        library_layout=selection.library_layout,
        rule=selection.rule,
    )


def fetch_reads(
    *, analysis: Analysis, work_area: WorkArea, datamover: Datamover, selection: ReadFileSelection
) -> tuple[RunInputs, dict[str, str]]:
    """Download the selected FASTQ files into ``<work area>/reads``, verified against ENA's md5 and size.

    A private run's files are asked for with the Webin credentials.

    :return: the pipeline inputs (read 1 first), and each file's verified md5 by file name
    """
    ena_run = analysis.run.ena_run
    downloaded = datamover.download_run(
        selection.reads, work_area.path(READS_DIR), accession=ena_run.accession, private=ena_run.is_private
    )
    checksums = {file.path.name: file.md5 for file in downloaded}
    outlasting_disconnects(
        lambda: recording.mark_reads_fetched(analysis=analysis, checksums=checksums), what="recording the reads"
    )
    return RunInputs(fastq=[file.path for file in downloaded]), checksums


@dataclass
class Watch:
    """What following one launch has learnt across readings: how many in a row did not know the head job.

    Shared by :func:`follow` (one analysis, its own polls) and the study fan-out (``workflows.fanout``,
    one batched poll for all), so both judge a reading the same way.
    """

    handle: LaunchHandle
    timeout_seconds: float
    unknown_readings: int = 0

    def judge(
        self, *, analysis: Analysis, launcher: Launcher, progress: PipelineProgress, cancel_failed: bool = True
    ) -> PipelineProgress | None:
        """Record the reading's Slurm jobs on the analysis; return the final progress, or None to keep following.

        A head job unknown to Slurm and its accounting for :data:`VANISHED_AFTER_POLLS` readings in a
        row ends FAILED as ``VANISHED``. A pipeline that ends in anything but success has its
        remaining step jobs cancelled, here or (``cancel_failed=False``) by the caller: a fan-out's
        following thread leaves that Slurm round trip to the thread that concludes.

        :raises TimeoutError: not final within ``timeout_seconds`` of the launch (the jobs are cancelled)
        """
        handle = self.handle
        record_jobs_if_reachable(analysis, progress)
        # One reading of an id Slurm does not know is not a failure (UNKNOWN keeps it RUNNING); many are.
        self.unknown_readings = self.unknown_readings + 1 if progress.head_job_state is None else 0
        if self.unknown_readings >= VANISHED_AFTER_POLLS:
            return progress.model_copy(
                update={
                    "state": PipelineState.FAILED,
                    "head_job_state": "VANISHED",
                    "failed_step": "head job",
                    "error_message": f"head job {handle.head_job_id} vanished: Slurm and its accounting have not "
                    f"known it for {self.unknown_readings} readings",
                }
            )
        if progress.state.is_final:
            if progress.state != PipelineState.COMPLETED and cancel_failed:
                launcher.cancel(handle)  # the engine may have left steps behind (a head job killed at its limit)
            return progress
        if (datetime.now(UTC) - handle.launched_at).total_seconds() > self.timeout_seconds:
            launcher.cancel(handle)
            raise TimeoutError(
                f"{analysis.accession}: pipeline still {progress.state} after {self.timeout_seconds:.0f}s"
            )
        return None


def follow(
    *,
    analysis: Analysis,
    launcher: Launcher,
    handle: LaunchHandle,
    timeout_seconds: float,
    poll_seconds: float = 1.0,
    max_poll_seconds: float = 10.0,
    still_ours: Callable[[], bool] | None = None,
) -> PipelineProgress:
    """Poll the pipeline until it ends, recording its Slurm jobs on the analysis whenever they change.

    The timeout counts from the head job's launch, so an adopted pipeline keeps its original deadline.
    A pipeline that ends in anything but success has its remaining step jobs cancelled (:meth:`Watch.judge`).

    :param still_ours: asked on every poll; when it says no, stop at once (:class:`ClaimLost`)
    :raises TimeoutError: not final within ``timeout_seconds`` of the launch (the jobs are cancelled)
    """
    watch = Watch(handle=handle, timeout_seconds=timeout_seconds)
    interval = poll_seconds
    while True:
        if still_ours is not None and not still_ours():
            raise ClaimLost(f"{analysis.accession}: claim lost while following head job {handle.head_job_id}")
        final = watch.judge(analysis=analysis, launcher=launcher, progress=launcher.poll(handle))
        if final is not None:
            return final
        time.sleep(interval)
        interval = min(interval * 1.5, max_poll_seconds)


def record_jobs_if_reachable(analysis: Analysis, progress: PipelineProgress) -> None:
    """Record the Slurm jobs on the analysis; while the database is down, skip it (the next poll records them)."""
    try:
        recording.record_slurm_jobs(analysis=analysis, jobs=progress.slurm_job_records())
    except DISCONNECT_ERRORS as error:
        logger.warning("%s: database unreachable, Slurm jobs not recorded this poll (%s)", analysis.accession, error)
        drop_broken_connection()


def launch_with_retries(
    launcher: Launcher,
    pipeline: PipelineDefinition,
    *,
    inputs: RunInputs,
    params: PipelineParameters,
    work_area: WorkArea,
    attempts: int = 4,
    first_delay_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> LaunchHandle:
    """Launch, retrying only when Slurm did not answer: then nothing was submitted, so a retry is safe.

    A refused submission (bad partition, too much memory) is not retried: it would be refused again.
    """
    delay = first_delay_seconds
    for attempt in range(1, attempts + 1):
        try:
            return launcher.launch(pipeline, inputs=inputs, params=params, work_area=work_area)
        except SlurmUnavailableError:
            if attempt == attempts:
                raise
            logger.warning("Slurm did not answer (attempt %d of %d); retrying in %.0fs", attempt, attempts, delay)
            sleep(delay)
            delay *= 3
    raise AssertionError("unreachable")


def _failed(
    analysis: Analysis, step: str | None, message: str, claim: WorkClaim | None, flow_run_id: str | None = None
) -> AnalysisOutcome:
    """Record the failure on the analysis and end the claim, in one transaction (or nothing, if the claim is gone).

    :param flow_run_id: the flow run failing it, recorded when the analysis has no provenance yet
    """
    outcome = AnalysisOutcome(
        accession=analysis.accession,
        run_accession=analysis.run.ena_run.accession if analysis.run_id else None,
        outcome=Outcome.FAILED,
        failed_step=step,
        message=message,
    )

    @transaction.atomic
    def record() -> None:
        recording.mark_failed(analysis=analysis, failed_step=step, message=message, flow_run_id=flow_run_id)
        if claim is not None:
            claim.finish(outcome)

    try:
        outlasting_disconnects(record, what=f"recording the failure of {analysis.accession}")
    except ClaimLost as lost:
        return _handed_over(analysis, lost)
    logger.warning("%s failed at %s: %s", analysis.accession, step, message)
    return outcome


def _handed_over(analysis: Analysis, reason: Exception) -> AnalysisOutcome:
    logger.warning("%s: %s", analysis.accession, reason)
    return AnalysisOutcome(
        accession=analysis.accession, run_accession=None, outcome=Outcome.HANDED_OVER, message=str(reason)
    )


def describe(error: Exception) -> str:
    """An error as a failure message: its own words when it is one of ours, else with its type."""
    if isinstance(error, EXPLAINED_ERRORS):
        return str(error)
    return f"{type(error).__name__}: {error}"


def pipeline_failure_message(progress: PipelineProgress) -> str:
    message = progress.error_message or f"pipeline {progress.state}"
    if progress.log_tail:
        message = f"{message}\n--- log tail ---\n{progress.log_tail}"
    return message


def launch_fresh(
    *,
    analysis: Analysis,
    pipeline: PipelineDefinition,
    launcher: Launcher,
    work_area: WorkArea,
    inputs: RunInputs,
    checksums: dict[str, str],
    reads: ReadsUsed,
    params: dict | None,
    flow_run_id: str | None,
) -> LaunchHandle:
    """Launch the pipeline (resuming whatever an earlier launch on this work area finished) and record it."""
    typed_params = pipeline.validate_parameters(params)
    handle = launch_with_retries(launcher, pipeline, inputs=inputs, params=typed_params, work_area=work_area)
    provenance = Provenance(
        pipeline_name=pipeline.name,
        pipeline_version=pipeline.version,
        parameters=typed_params.model_dump(mode="json"),
        parameters_hash=typed_params.sha256(),
        input_checksums=checksums,
        reads=reads,
        work_dir=str(work_area.root),
        prefect_flow_run_id=flow_run_id,
    )
    outlasting_disconnects(
        lambda: recording.mark_started(analysis=analysis, provenance=provenance), what="recording the launch"
    )
    return handle


def _note(
    claim: WorkClaim | None, message: str, previous: Reattachment | None, handle: LaunchHandle | None = None
) -> None:
    logger.info(message)
    if claim is None:
        return
    launch = previous.handle if previous is not None else handle
    data: dict[str, Any] = {}
    if launch is not None:
        data = {"head_job_id": launch.head_job_id, "launch_attempt": launch.attempt}
    if previous is not None:
        data["verdict"] = previous.verdict.value
    claim.note(message, data)


class AnalysisRun:
    """One analysis carried in phases, so that many can share the waiting: :meth:`start` (select the
    reads, adopt what a previous holder left, else fetch and launch), then readings of its pipeline
    (:attr:`watch`) until final, then :meth:`conclude` (relaunch after a lost head job, or record the
    failure, or publish the results; outcome and claim end in one transaction).

    :func:`run_analysis` runs the phases for one analysis and polls it alone; ``workflows.fanout``
    runs them for a whole study with one batched Slurm query per poll. Each phase handles its own
    failures: an error ends the analysis as FAILED with the step and message (:attr:`outcome`), or
    HANDED_OVER when the claim was lost, and never escapes.
    """

    def __init__(
        self,
        *,
        analysis: Analysis,
        pipeline: PipelineDefinition,
        launcher: Launcher,
        datamover: Datamover,
        params: dict | None = None,
        timeout_seconds: float = 6 * 3600,
        flow_run_id: str | None = None,
        claim: WorkClaim | None = None,
    ) -> None:
        self.analysis = analysis
        self.pipeline = pipeline
        self.launcher = launcher
        self.datamover = datamover
        self.params = params
        self.timeout_seconds = timeout_seconds
        self.flow_run_id = flow_run_id
        self.claim = claim
        self.work_area = WorkArea.for_analysis(analysis.accession)
        self.step = SELECT_STEP
        self.selection: ReadFileSelection | None = None
        self.watch: Watch | None = None
        self.relaunches_after_loss = 0
        self._left_to_cancel = False
        #: set once the analysis has ended (completed, failed or handed over)
        self.outcome: AnalysisOutcome | None = None

    @property
    def handle(self) -> LaunchHandle | None:
        return self.watch.handle if self.watch is not None else None

    def start(self) -> AnalysisOutcome | None:
        """Select the reads, then adopt the previous holder's launch or fetch the reads and launch.

        :return: None when there is a pipeline to follow (:attr:`watch`), else the outcome (a failure)
        """
        self.guarded(self._start)
        return self.outcome

    def _start(self) -> None:
        self.step = SELECT_STEP
        self.selection = select_reads(self.analysis)
        self.step = LAUNCH_STEP
        previous = self.launcher.reattach(self.pipeline, self.work_area)
        if previous is not None and previous.adopted:
            self.watch = Watch(handle=previous.handle, timeout_seconds=self.timeout_seconds)
            _note(
                self.claim,
                f"adopted head job {previous.handle.head_job_id} ({previous.verdict}): {previous.reason}",
                previous,
            )
            self.step = PIPELINE_STEP
            return
        if previous is not None:
            _note(self.claim, f"relaunching, resuming: {previous.reason}", previous)
        self._launch()

    def _launch(self) -> None:
        assert self.selection is not None
        self.step = FETCH_STEP
        inputs, checksums = fetch_reads(
            analysis=self.analysis, work_area=self.work_area, datamover=self.datamover, selection=self.selection
        )
        self.step = LAUNCH_STEP
        handle = launch_fresh(
            analysis=self.analysis,
            pipeline=self.pipeline,
            launcher=self.launcher,
            work_area=self.work_area,
            inputs=inputs,
            checksums=checksums,
            reads=reads_used(self.selection),
            params=self.params,
            flow_run_id=self.flow_run_id,
        )
        _note(self.claim, f"launched head job {handle.head_job_id} (attempt {handle.attempt})", None, handle)
        self.watch = Watch(handle=handle, timeout_seconds=self.timeout_seconds)
        self.step = PIPELINE_STEP

    def still_ours(self) -> bool:
        return self.claim is None or not self.claim.lost

    def judge(self, progress: PipelineProgress) -> PipelineProgress | None:
        """One reading of the pipeline (from a batched poll): the final progress, or None to keep following.

        A lost claim ends the analysis as HANDED_OVER (its jobs left running for the new holder); a
        timeout ends it FAILED: then :attr:`outcome` is set and None returned.
        """
        assert self.watch is not None

        def judge() -> PipelineProgress | None:
            if not self.still_ours():
                raise ClaimLost(
                    f"{self.analysis.accession}: claim lost while following head job {self.watch.handle.head_job_id}"
                )
            final = self.watch.judge(
                analysis=self.analysis, launcher=self.launcher, progress=progress, cancel_failed=False
            )
            self._left_to_cancel = final is not None and final.state != PipelineState.COMPLETED
            return final

        return self.guarded(judge)

    def conclude(self, progress: PipelineProgress) -> AnalysisOutcome | None:
        """The pipeline ended: relaunch after a lost head job (None: follow again), else record the outcome."""
        self.guarded(lambda: self._conclude(progress))
        return self.outcome

    def _conclude(self, progress: PipelineProgress) -> AnalysisOutcome | None:
        assert self.watch is not None and self.selection is not None
        handle = self.watch.handle
        if self._left_to_cancel:  # judged here, cancelled off the following thread
            self._left_to_cancel = False
            self.launcher.cancel(handle)  # the engine may have left steps behind (a head job killed at its limit)
        if progress.head_job_state in HEAD_JOB_LOSSES and self.relaunches_after_loss < MAX_RELAUNCHES_AFTER_LOSS:
            self.relaunches_after_loss += 1
            _note(
                self.claim,
                f"head job {handle.head_job_id} lost ({progress.head_job_state}); relaunching, resuming",
                None,
                handle,
            )
            self._launch()
            return None
        if progress.state != PipelineState.COMPLETED:
            self.outcome = _failed(
                self.analysis,
                progress.failed_step or PIPELINE_STEP,
                pipeline_failure_message(progress),
                self.claim,
                self.flow_run_id,
            )
            return self.outcome
        self.step = PUBLISH_STEP
        analysis, claim = self.analysis, self.claim
        outputs = self.pipeline.parse_outputs(self.work_area, analysis_accession=analysis.accession)
        outcome = AnalysisOutcome(
            accession=analysis.accession, run_accession=analysis.run.ena_run.accession, outcome=Outcome.COMPLETED
        )
        provenance = outputs.provenance.model_copy(
            update={
                "prefect_flow_run_id": self.flow_run_id,
                "slurm_jobs": progress.slurm_job_records(),
                "reads": reads_used(self.selection),
            }
        )

        @transaction.atomic
        def publish() -> None:
            publish_analysis(
                analysis=analysis,
                source_dir=self.work_area.results_dir,
                quality_control=outputs.quality_control,
                results=outputs.results,
                annotations=outputs.annotations,
                downloads=outputs.downloads,
                provenance=provenance,
            )
            if claim is not None:
                claim.finish(outcome)

        outlasting_disconnects(publish, what=f"publishing {analysis.accession}")
        self.outcome = outcome
        self.work_area.finish()
        return outcome

    def guarded(self, action: Callable[[], T]) -> T | None:
        """Run one phase; any error ends the analysis (FAILED at the current step, or HANDED_OVER)."""
        try:
            return action()
        except ClaimLost as lost:
            self.outcome = _handed_over(self.analysis, lost)
        except Exception as error:  # this analysis' failure, not the study's
            if self.claim is not None and self.claim.lost:
                self.outcome = _handed_over(self.analysis, error)
            else:
                if not isinstance(error, EXPLAINED_ERRORS):
                    logger.exception("%s: unexpected error at %s", self.analysis.accession, self.step)
                self.outcome = _failed(self.analysis, self.step, describe(error), self.claim, self.flow_run_id)
        return None


def run_analysis(
    *,
    analysis: Analysis,
    pipeline: PipelineDefinition,
    launcher: Launcher,
    datamover: Datamover,
    params: dict | None = None,
    timeout_seconds: float = 6 * 3600,
    flow_run_id: str | None = None,
    claim: WorkClaim | None = None,
) -> AnalysisOutcome:
    """Run ``pipeline`` for one analysis and record everything on it; see the module docstring.

    The phases of :class:`AnalysisRun`, following this one pipeline with its own polls (a study's
    many analyses are followed together by ``workflows.fanout``).

    :param analysis: an analysis of a run (its ``run.ena_run`` lists the FASTQ files)
    :param pipeline: the pipeline definition (name and version must match the analysis)
    :param launcher: the launcher of the pipeline's engine (``workflows.pipelines.launcher_for``)
    :param datamover: downloads the reads
    :param params: pipeline parameters; None for the defaults
    :param flow_run_id: the Prefect flow run doing this, for provenance
    :param claim: the lease this run holds; its end is written with the outcome, and losing it stops the run
    :return: COMPLETED, FAILED with the step and the message (already recorded on the analysis), or
        HANDED_OVER when the claim was lost (nothing recorded: the new holder carries on)
    """
    run = AnalysisRun(
        analysis=analysis,
        pipeline=pipeline,
        launcher=launcher,
        datamover=datamover,
        params=params,
        timeout_seconds=timeout_seconds,
        flow_run_id=flow_run_id,
        claim=claim,
    )
    run.start()
    while run.outcome is None:
        assert run.handle is not None
        progress = run.guarded(
            partial(
                follow,
                analysis=analysis,
                launcher=launcher,
                handle=run.handle,
                timeout_seconds=timeout_seconds,
                still_ours=run.still_ours,
            )
        )
        if progress is not None:
            run.conclude(progress)
    return run.outcome
