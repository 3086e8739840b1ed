"""realistic-example: a curator in the loop.

Create the ENA study in the database, suspend until a curator gives a sample limit in the
Prefect UI (a typed form), list the study's runs from ENA, and move each run's reads on Slurm
with the move-data flow. While suspended the flow run holds no worker and no process; resuming
it (UI button, or ``resume_flow_run(id, run_input={"sample_limit": 2})``) starts it again on a
worker, where cached task results carry it past the work already done.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from workflows.django_activation import EMG_CONFIG

from ena.portal.client import ENAPortalClient
from ena.services import upsert_ena_study
from workflows.data_moving import MovedRun, RunFiles
from workflows.flows.move_data import move_data

SAMPLE_LIMIT_KEY = "sample-limit"


class SampleLimit(RunInput):
    """How many of the study's samples to fetch reads for."""

    sample_limit: int = Field(default=2, ge=1, le=10_000, description="Fetch the reads of at most this many samples")


@task(retries=3, retry_delay_seconds=[2, 10, 30], task_run_name="create {study_accession} in the database")
def create_study(study_accession: str) -> str:
    with ENAPortalClient.from_settings() as client:
        study = client.get_study(study_accession)
    return upsert_ena_study(study=study).accession


@task(retries=3, retry_delay_seconds=[2, 10, 30], task_run_name="list runs of {study_accession} from ENA")
def list_runs(study_accession: str, sample_limit: int) -> list[RunFiles]:
    """The runs of the first ``sample_limit`` samples (by accession), with their FASTQ files."""
    with ENAPortalClient.from_settings() as client:
        runs = client.list_runs(study_accession)
    samples = sorted({run.sample_accession for run in runs})[:sample_limit]
    return [
        RunFiles(accession=run.accession, fastq_files=run.fastq_files)
        for run in sorted(runs, key=lambda r: r.accession)
        if run.sample_accession in samples
    ]


@flow(name="realistic-example", log_prints=True)
def realistic_example(study_accession: str = "PRJEB90001", input_timeout_seconds: int = 24 * 3600) -> list[MovedRun]:
    """Create the study, wait for a curator's sample limit, then move those samples' reads on Slurm.

    :param study_accession: the ENA study
    :param input_timeout_seconds: how long to wait for the curator before failing
    """
    logger = get_run_logger()
    accession = create_study(study_accession)
    logger.info("%s is in the database; waiting for a curator to choose a sample limit", accession)
    limit: SampleLimit = suspend_flow_run(
        wait_for_input=SampleLimit.with_initial_data(
            description=f"How many samples of {accession} should have their reads fetched?"
        ),
        timeout=input_timeout_seconds,
        key=SAMPLE_LIMIT_KEY,
    )
    runs = list_runs(accession, limit.sample_limit)
    logger.info("moving %d runs of %s (sample limit %d)", len(runs), accession, limit.sample_limit)
    destination = Path(EMG_CONFIG.storage.work_root) / "realistic-example" / str(flow_run.get_id())
    return move_data(
        runs=runs, destination=str(destination), timeout_seconds=EMG_CONFIG.slurm.default_time_limit_minutes * 60
    )
