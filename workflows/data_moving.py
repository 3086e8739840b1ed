"""Move runs' FASTQ files into a work area with a Slurm job array: one array task per run.

The flow writes a manifest (JSON: each run's accession and files with md5 and size), submits
one array whose task ``i`` runs ``python -m workflows.data_moving MANIFEST`` for run ``i`` (read
from ``SLURM_ARRAY_TASK_ID``), and waits. Each task uses the md5-checking datamover, so a
corrupt file fails that task alone, with the datamover's one-line message in its log.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel

from ena.schemas import FastqFile
from workflows.slurm import JobSpec, SlurmClient, SlurmJob

MANIFEST_NAME = "manifest.json"


class RunFiles(BaseModel):
    accession: str
    fastq_files: list[FastqFile]


class MoveManifest(BaseModel):
    destination: Path
    runs: list[RunFiles]


class MovedRun(BaseModel):
    accession: str
    job_id: str
    ok: bool
    message: str = ""


def write_manifest(*, runs: list[RunFiles], destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    path = destination / MANIFEST_NAME
    path.write_text(MoveManifest(destination=destination, runs=runs).model_dump_json(indent=1))
    return path


def submit_move_array(*, client: SlurmClient, manifest_path: Path, run_count: int, max_parallel: int = 4) -> str:
    """Submit the array (one task per run) and return its id."""
    logs = manifest_path.parent / "logs"
    logs.mkdir(exist_ok=True)
    spec = JobSpec(
        name="move-data",
        command=f"{sys.executable} -m workflows.data_moving {manifest_path}",
        working_directory=Path.cwd(),
        stdout=logs / "move-%a.log",
        stderr=logs / "move-%a.log",
        memory_mb=512,
        time_limit_minutes=60,
    )
    return client.submit_array(spec, range(run_count), max_parallel=max_parallel)


def collect_results(*, manifest_path: Path, array_id: str, jobs: dict[str, SlurmJob]) -> list[MovedRun]:
    """One result per run: whether its array task succeeded, and the last line of its log if not."""
    manifest = MoveManifest.model_validate_json(manifest_path.read_text())
    results = []
    for index, run in enumerate(manifest.runs):
        job_id = f"{array_id}_{index}"
        job = jobs.get(job_id)
        ok = bool(job and job.state.is_success)
        message = ""
        if not ok:
            log = manifest_path.parent / "logs" / f"move-{index}.log"
            lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
            message = lines[-1] if lines else f"task {job_id} ended {job.state if job else 'unknown'}"
        results.append(MovedRun(accession=run.accession, job_id=job_id, ok=ok, message=message))
    return results


def main(argv: list[str] | None = None) -> int:
    """Array task entry point: download run ``$SLURM_ARRAY_TASK_ID`` of the manifest, verified."""
    import os

    from core.config import EMGConfig
    from ena.datamover import download_run_fastqs
    from ena.portal.errors import ENAError

    args = argv if argv is not None else sys.argv[1:]
    manifest = MoveManifest.model_validate_json(Path(args[0]).read_text())
    index = int(args[1]) if len(args) > 1 else int(os.environ["SLURM_ARRAY_TASK_ID"])
    run = manifest.runs[index]
    try:
        files = download_run_fastqs(
            run.fastq_files, manifest.destination / run.accession, accession=run.accession, config=EMGConfig().ena
        )
    except ENAError as error:
        print(f"{run.accession}: {error}", file=sys.stderr)
        return 1
    for file in files:
        print(
            f"{run.accession}: {file.path} {file.bytes} bytes md5 {file.md5}{' (already there)' if file.reused else ''}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
