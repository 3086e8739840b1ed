"""What the chaos tests read to judge a run: Slurm's accounting, the work areas, the ledger's events."""

from __future__ import annotations

import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from analyses.models import Analysis
from workflows.ledger.models import EventKind, WorkEvent, WorkItem
from workflows.pipelines.launchers.records import LaunchRecord, read_launch_record
from workflows.pipelines.launchers.snakemake_log import read_snakemake_log
from workflows.pipelines.workarea import WorkArea

SACCT_FIELDS = "JobIDRaw,JobName,State,NodeList,WorkDir,ElapsedRaw,Start,End"


@dataclass(frozen=True)
class AccountedJob:
    """One row of ``sacct --duplicates``: a requeued job has one row per time it ran."""

    job_id: str
    name: str
    state: str
    nodes: str
    work_dir: str
    elapsed_seconds: int

    @property
    def completed(self) -> bool:
        return self.state == "COMPLETED"


def accounted_jobs(work_root: Path, since: datetime) -> list[AccountedJob]:
    """Every Slurm job (each run of a requeued one) started since ``since`` in a work area under ``work_root``."""
    out = subprocess.run(
        [
            "sacct",
            "-X",
            "-n",
            "-P",
            "-a",
            "--duplicates",
            "-S",
            since.strftime("%Y-%m-%dT%H:%M:%S"),
            "-o",
            SACCT_FIELDS,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    jobs = []
    for line in out.splitlines():
        job_id, name, state, nodes, work_dir, elapsed, _start, _end = line.split("|")
        if str(work_root) in work_dir:
            jobs.append(AccountedJob(job_id, name, state.split()[0], nodes, work_dir, int(elapsed or 0)))
    return jobs


def our_live_jobs(work_root: Path) -> list[str]:
    """Jobs of ours that squeue still shows queued or running."""
    out = subprocess.run(
        ["squeue", "-h", "-a", "-t", "PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED", "-o", "%i|%Z"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return [line.split("|")[0] for line in out.splitlines() if str(work_root) in line]


@dataclass(frozen=True)
class RunningJob:
    job_id: str
    name: str
    node: str
    work_dir: str


def running_jobs(work_root: Path) -> list[RunningJob]:
    """Our jobs running now, with the node each runs on."""
    out = subprocess.run(
        ["squeue", "-h", "-a", "-t", "RUNNING", "-o", "%i|%j|%N|%Z"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    jobs = [RunningJob(*line.split("|", 3)) for line in out.splitlines()]
    return [job for job in jobs if str(work_root) in job.work_dir]


def launch_record(analysis: Analysis, work_root: Path) -> LaunchRecord:
    record = read_launch_record(WorkArea.for_analysis(analysis.accession, work_root=work_root))
    assert record is not None, f"{analysis.accession} was never launched"
    return record


def step_jobs_by_attempt(record: LaunchRecord) -> dict[int, dict[str, list[str]]]:
    """attempt -> rule -> the Slurm job ids Snakemake submitted for it in that attempt (from its log)."""
    result: dict[int, dict[str, list[str]]] = {}
    for attempt in record.attempts:
        run = read_snakemake_log(Path(attempt.head_log))
        rules: dict[str, list[str]] = {}
        for job in run.jobs.values():
            if job.rule != "all" and job.slurm_job_ids:
                rules.setdefault(job.rule, []).extend(job.slurm_job_ids)
        result[attempt.attempt] = rules
    return result


def steps_completed_twice(record: LaunchRecord, accounted: list[AccountedJob]) -> list[str]:
    """Rules that completed more than once within one attempt (counting every run of a requeued job)."""
    completions = Counter(job.job_id for job in accounted if job.completed)
    doubled = []
    for attempt, rules in step_jobs_by_attempt(record).items():
        for rule, job_ids in rules.items():
            if sum(completions[job_id] for job_id in job_ids) > 1:
                doubled.append(f"attempt {attempt}: {rule}")
    return doubled


def story(item: WorkItem) -> list[str]:
    """The item's events as short lines: ``pending->claimed``, ``progress: adopted head job ...``."""
    lines = []
    for event in WorkEvent.objects.filter(item=item).order_by("at", "id"):
        if event.kind == EventKind.TRANSITION:
            lines.append(f"{event.from_state or '-'}->{event.to_state}")
        else:
            lines.append(f"{event.kind}: {event.message}")
    return lines
