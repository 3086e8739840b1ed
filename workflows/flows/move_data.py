"""move-data: download runs' FASTQ files into a work area on Slurm (one array task per run), md5-checked.

Its own deployment (``move-data/move-data``) for operators, and a subflow of realistic-example.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from workflows.django_activation import EMG_CONFIG

from workflows.data_moving import MovedRun, RunFiles, collect_results, submit_move_array, write_manifest
from workflows.slurm import SlurmClient


@task(retries=2, retry_delay_seconds=5)
def submit_array(manifest_path: Path, run_count: int) -> str:
    """Submit the array; retried because a refused or failed sbatch starts nothing."""
    return submit_move_array(client=SlurmClient(), manifest_path=manifest_path, run_count=run_count)


@task
def wait_for_array(manifest_path: Path, array_id: str, timeout_seconds: float) -> list[MovedRun]:
    jobs = SlurmClient().wait([array_id], timeout_seconds=timeout_seconds)
    return collect_results(manifest_path=manifest_path, array_id=array_id, jobs=jobs)


@flow(name="move-data", log_prints=True)
def move_data(runs: list[RunFiles], destination: str | None = None, timeout_seconds: float = 3600) -> list[MovedRun]:
    """Download each run's files into ``<destination>/<run accession>/`` with a Slurm job array.

    :param runs: the runs and their files (URL, md5, size), as the ENA client lists them
    :param destination: default ``<work root>/move-data/<flow run id>``
    :param timeout_seconds: give up waiting after this long
    """
    from prefect.runtime import flow_run

    logger = get_run_logger()
    target = Path(destination) if destination else Path(EMG_CONFIG.storage.work_root) / "move-data" / flow_run.get_id()
    manifest_path = write_manifest(runs=runs, destination=target)
    array_id = submit_array(manifest_path, len(runs))
    logger.info("Slurm array %s moves %d runs into %s", array_id, len(runs), target)
    results = wait_for_array(manifest_path, array_id, timeout_seconds)
    for result in results:
        logger.info("%s %s %s", result.accession, "ok" if result.ok else "FAILED", result.message)
    return results
