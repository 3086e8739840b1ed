"""Carry one analysis from reads to stored results: plain library code that the flows call from tasks.

Steps: fetch the run's FASTQ files (md5-checked) into the analysis' work area, launch the pipeline
on Slurm with the launcher of its engine, follow it while recording its Slurm jobs on the Analysis,
then parse the outputs and publish them (``analyses.publishing``: files, DRS objects and results in
one transaction).

Failures of the analysis are handled here and only here: any error of a step ends as a FAILED
analysis with the step and the message (:func:`run_analysis` returns it; it does not raise), so
one bad run never stops a study.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from analyses import recording
from analyses.models import Analysis
from analyses.publishing import publish_analysis
from analyses.schemas import Provenance
from core.errors import DomainError
from ena.datamover import Datamover
from ena.portal.errors import ENAError
from ena.schemas import FastqFile
from workflows.pipelines.definition import PipelineDefinition, PipelineParameters, RunInputs
from workflows.pipelines.launchers.base import Launcher
from workflows.pipelines.launchers.progress import PipelineProgress, PipelineState
from workflows.pipelines.launchers.records import LaunchHandle
from workflows.pipelines.workarea import WorkArea
from workflows.slurm import SlurmError, SlurmUnavailableError

logger = logging.getLogger(__name__)

FETCH_STEP = "fetch_reads"
LAUNCH_STEP = "launch"
PIPELINE_STEP = "pipeline"
PUBLISH_STEP = "publish_results"
READS_DIR = "reads"
#: Errors whose message says it all (the others are reported with their type).
EXPLAINED_ERRORS = (ENAError, SlurmError, DomainError, TimeoutError)


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True)
class AnalysisOutcome:
    accession: str
    run_accession: str | None
    outcome: Outcome
    failed_step: str | None = None
    message: str | None = None


def fetch_reads(*, analysis: Analysis, work_area: WorkArea, datamover: Datamover) -> tuple[RunInputs, dict[str, str]]:
    """Download the run's FASTQ files into ``<work area>/reads``, verified against ENA's md5 and size.

    :return: the pipeline inputs, and each file's verified md5 by file name
    """
    ena_run = analysis.run.ena_run
    files = [FastqFile.model_validate(file) for file in ena_run.fastq_files]
    downloaded = datamover.download_run(files, work_area.path(READS_DIR), accession=ena_run.accession)
    checksums = {file.path.name: file.md5 for file in downloaded}
    recording.mark_reads_fetched(analysis=analysis, checksums=checksums)
    return RunInputs(fastq=[file.path for file in downloaded]), checksums


def follow(
    *,
    analysis: Analysis,
    launcher: Launcher,
    handle: LaunchHandle,
    timeout_seconds: float,
    poll_seconds: float = 1.0,
    max_poll_seconds: float = 10.0,
    heartbeat: Callable[[], None] | None = None,
) -> PipelineProgress:
    """Poll the pipeline until it ends, recording its Slurm jobs on the analysis whenever they change.

    :param heartbeat: called on every poll (e.g. to renew a work-ledger lease)
    """
    deadline = time.monotonic() + timeout_seconds
    interval = poll_seconds
    while True:
        progress = launcher.poll(handle)
        recording.record_slurm_jobs(analysis=analysis, jobs=progress.slurm_job_records())
        if heartbeat is not None:
            heartbeat()
        if progress.state.is_final:
            return progress
        if time.monotonic() > deadline:
            launcher.cancel(handle)
            raise TimeoutError(f"{analysis.accession}: pipeline still {progress.state} after {timeout_seconds:.0f}s")
        time.sleep(interval)
        interval = min(interval * 1.5, max_poll_seconds)


def launch_with_retries(
    launcher: Launcher,
    pipeline: PipelineDefinition,
    *,
    inputs: RunInputs,
    params: PipelineParameters,
    work_area: WorkArea,
    attempts: int = 4,
    first_delay_seconds: float = 2.0,
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
            time.sleep(delay)
            delay *= 3
    raise AssertionError("unreachable")


def _failed(analysis: Analysis, step: str | None, message: str) -> AnalysisOutcome:
    recording.mark_failed(analysis=analysis, failed_step=step, message=message)
    logger.warning("%s failed at %s: %s", analysis.accession, step, message)
    return AnalysisOutcome(
        accession=analysis.accession,
        run_accession=analysis.run.ena_run.accession if analysis.run_id else None,
        outcome=Outcome.FAILED,
        failed_step=step,
        message=message,
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


def run_analysis(
    *,
    analysis: Analysis,
    pipeline: PipelineDefinition,
    launcher: Launcher,
    datamover: Datamover,
    params: dict | None = None,
    timeout_seconds: float = 6 * 3600,
    flow_run_id: str | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> AnalysisOutcome:
    """Run ``pipeline`` for one analysis and record everything on it; see the module docstring.

    :param analysis: an analysis of a run (its ``run.ena_run`` lists the FASTQ files)
    :param pipeline: the pipeline definition (name and version must match the analysis)
    :param launcher: the launcher of the pipeline's engine (``workflows.pipelines.launcher_for``)
    :param datamover: downloads the reads
    :param params: pipeline parameters; None for the defaults
    :param flow_run_id: the Prefect flow run doing this, for provenance
    :param heartbeat: called while the pipeline runs
    :return: COMPLETED, or FAILED with the step and the message (already recorded on the analysis)
    """
    work_area = WorkArea.for_analysis(analysis.accession)
    step = FETCH_STEP
    try:
        inputs, checksums = fetch_reads(analysis=analysis, work_area=work_area, datamover=datamover)
        step = LAUNCH_STEP
        typed_params = pipeline.validate_parameters(params)
        handle = launch_with_retries(launcher, pipeline, inputs=inputs, params=typed_params, work_area=work_area)
        recording.mark_started(
            analysis=analysis,
            provenance=Provenance(
                pipeline_name=pipeline.name,
                pipeline_version=pipeline.version,
                parameters=typed_params.model_dump(mode="json"),
                parameters_hash=typed_params.sha256(),
                input_checksums=checksums,
                work_dir=str(work_area.root),
                prefect_flow_run_id=flow_run_id,
            ),
        )
        step = PIPELINE_STEP
        progress = follow(
            analysis=analysis, launcher=launcher, handle=handle, timeout_seconds=timeout_seconds, heartbeat=heartbeat
        )
        if progress.state != PipelineState.COMPLETED:
            return _failed(analysis, progress.failed_step or PIPELINE_STEP, pipeline_failure_message(progress))
        step = PUBLISH_STEP
        outputs = pipeline.parse_outputs(work_area, analysis_accession=analysis.accession)
        publish_analysis(
            analysis=analysis,
            source_dir=work_area.results_dir,
            quality_control=outputs.quality_control,
            results=outputs.results,
            downloads=outputs.downloads,
            provenance=outputs.provenance.model_copy(
                update={"prefect_flow_run_id": flow_run_id, "slurm_jobs": progress.slurm_job_records()}
            ),
        )
    except Exception as error:  # this analysis' failure, not the study's
        if not isinstance(error, EXPLAINED_ERRORS):
            logger.exception("%s: unexpected error at %s", analysis.accession, step)
        return _failed(analysis, step, describe(error))
    work_area.finish()
    return AnalysisOutcome(
        accession=analysis.accession, run_accession=analysis.run.ena_run.accession, outcome=Outcome.COMPLETED
    )
