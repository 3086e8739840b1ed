"""What a launch leaves behind: the handle to follow it, and ``pipeline/launch.json`` in the work area."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from workflows.pipelines.definition import Engine
from workflows.pipelines.workarea import WorkArea

LAUNCH_RECORD = "pipeline/launch.json"


class LaunchHandle(BaseModel):
    """What ``launch`` returns: enough to poll, wait or cancel later, also from another process.

    JSON-serialisable, so a flow can keep it as a task result or on the Analysis.
    """

    pipeline_name: str
    pipeline_version: str
    engine: Engine
    work_dir: Path
    attempt: int = Field(ge=1, description="1 for the first launch on this work area, 2 for the first rerun, ...")
    head_job_id: str
    head_log: Path
    launched_at: datetime
    step_placement: str | None = Field(default=None, description="Where the engine ran the steps, if it says")

    @property
    def slurm_job_ids(self) -> list[str]:
        return [self.head_job_id]


class LaunchAttempt(BaseModel):
    attempt: int
    head_job_id: str
    head_log: str
    launched_at: datetime
    step_placement: str | None = None


class LaunchRecord(BaseModel):
    """``pipeline/launch.json``: what ran in this work area, with which parameters and inputs."""

    pipeline_name: str
    pipeline_version: str
    engine: Engine
    parameters: dict
    parameters_hash: str
    inputs: list[str]
    input_checksums: dict[str, str] = Field(description="input file name -> md5")
    attempts: list[LaunchAttempt] = []


def read_launch_record(work_area: WorkArea) -> LaunchRecord | None:
    path = work_area.path(LAUNCH_RECORD)
    if not path.is_file():
        return None
    return LaunchRecord.model_validate_json(path.read_text())
