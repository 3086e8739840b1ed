"""A plain-Python Slurm client: submit jobs and arrays, query states in bulk, cancel, wait.

>>> from workflows.slurm import SlurmClient, JobSpec
>>> client = SlurmClient()
>>> job_id = client.submit(JobSpec(name="hello", command="echo hello"))
>>> client.wait([job_id])[job_id].state.is_success
True
"""

from workflows.slurm.backend import SlurmBackend
from workflows.slurm.cli import CliBackend
from workflows.slurm.client import SlurmClient
from workflows.slurm.errors import (
    InvalidDependencyError,
    InvalidPartitionError,
    InvalidTimeLimitError,
    ResourceRequestError,
    SlurmError,
    SlurmSubmissionError,
    SlurmUnavailableError,
    SlurmWaitTimeout,
)
from workflows.slurm.models import ArraySpec, JobSpec, SlurmDefaults, SlurmJob
from workflows.slurm.states import JobState

__all__ = [
    "ArraySpec",
    "CliBackend",
    "InvalidDependencyError",
    "InvalidPartitionError",
    "InvalidTimeLimitError",
    "JobSpec",
    "JobState",
    "ResourceRequestError",
    "SlurmBackend",
    "SlurmClient",
    "SlurmDefaults",
    "SlurmError",
    "SlurmJob",
    "SlurmSubmissionError",
    "SlurmUnavailableError",
    "SlurmWaitTimeout",
]
