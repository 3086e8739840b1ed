"""Fixtures of the pipeline tests: the local ENA mirror's synthetic reads and the real Slurm cluster.

No database: these tests exercise library code (definitions, launchers, parsers) only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.ena_mirror.generator import generate_synthetic_study
from devtools.ena_mirror.layout import fastq_dir

#: where the tests' Slurm jobs can write: the node shares this machine's file system
ENV_WORK_ROOT = "EMG_TEST_PIPELINE_WORK_ROOT"


@pytest.fixture(scope="session")
def mirror_data_dir(tmp_path_factory) -> Path:
    """A temporary data dir of the local ENA mirror (the synthetic study is generated into it)."""
    return tmp_path_factory.mktemp("ena-mirror")


@pytest.fixture(scope="session")
def synthetic_study(mirror_data_dir) -> dict[str, list[Path]]:
    """The mirror's synthetic study, generated (deterministically) into :func:`mirror_data_dir`; its source
    genomes and planted genes are in ``<data dir>/genomes/``.

    :return: run accession -> its FASTQ files (R1, R2)
    """
    data_dir = mirror_data_dir
    record = generate_synthetic_study(data_dir)
    runs = {}
    for run in record.runs:
        accession = run["run_accession"]
        runs[accession] = sorted((data_dir / fastq_dir(accession)).glob("*.fastq.gz"))
    return runs


@pytest.fixture(scope="session")
def paired_reads(synthetic_study) -> list[Path]:
    """The first synthetic run's paired FASTQ files."""
    return next(iter(synthetic_study.values()))


def _cluster_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    try:
        result = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=5)
    except (subprocess.TimeoutExpired, OSError):
        return False
    return "UP" in result.stdout


@pytest.fixture(scope="session")
def slurm_client():
    """A real :class:`workflows.slurm.SlurmClient`; skips if the cluster is not up (task slurm:up)."""
    if not _cluster_up():
        pytest.skip(f"Slurm cluster not reachable (SLURM_CONF={os.environ.get('SLURM_CONF')}): run task slurm:up")
    from workflows.slurm import SlurmClient

    return SlurmClient()
