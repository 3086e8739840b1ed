"""Parser of a Snakemake 9 run's console log (the head job's stdout) into steps and progress.

The lines it relies on, as Snakemake 9 and its Slurm executor plugin print them::

    Job stats:            ...   total    8
    rule fastp:           (block with "    input: a, b", "    output: c", "    jobid: 1")
    Job 1 has been submitted with SLURM jobid 4242 (log: .../4242.log).
    Finished jobid: 1 (Rule: fastp)
    3 of 8 steps (38%) done
    Error in rule prodigal:          (block with "    jobid: 3")
    Nothing to be done (all requested files are present and up to date).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_RULE = re.compile(r"^(?:local)?rule (?P<rule>\S+):$")
_JOBID = re.compile(r"^\s+jobid: (?P<jobid>\d+)$")
_FILES = re.compile(r"^\s+(?P<kind>input|output): (?P<files>.+)$")
_SUBMITTED = re.compile(r"Job (?P<jobid>\d+) has been submitted with SLURM jobid (?P<slurm>\d+)")
_FINISHED = re.compile(r"Finished jobid: (?P<jobid>\d+) \(Rule: (?P<rule>\S+)\)")
_PROGRESS = re.compile(r"^(?P<done>\d+) of (?P<total>\d+) steps \(\S+\) done")
_TOTAL = re.compile(r"^total\s+(?P<total>\d+)\s*$")
_ERROR = re.compile(r"^Error in rule (?P<rule>\S+):$")
_NOTHING = "Nothing to be done"
_COMPLETE = re.compile(r"^\d+ of \d+ steps \(100%\) done")


@dataclass
class SnakemakeJob:
    """One job (rule instance) of one Snakemake invocation."""

    jobid: str
    rule: str
    #: every Slurm job submitted for it, in order: a retried step (``--retries``) has several
    slurm_job_ids: list[str] = field(default_factory=list)
    finished: bool = False
    failed: bool = False
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def slurm_job_id(self) -> str | None:
        """The latest Slurm job of this step (the one that finished, for a step that succeeded on a retry)."""
        return self.slurm_job_ids[-1] if self.slurm_job_ids else None


@dataclass
class SnakemakeRun:
    """What one Snakemake invocation's log says."""

    jobs: dict[str, SnakemakeJob] = field(default_factory=dict)
    steps_done: int = 0
    steps_total: int | None = None
    failed_rules: list[str] = field(default_factory=list)
    nothing_to_do: bool = False
    complete: bool = False

    @property
    def started_rules(self) -> list[str]:
        return [job.rule for job in self.jobs.values()]

    def rule_dependencies(self) -> dict[str, set[str]]:
        """Rule -> the rules whose outputs it reads, from the files each job's block names."""
        made_by = {output: job.rule for job in self.jobs.values() for output in job.outputs}
        return {
            job.rule: {made_by[path] for path in job.inputs if path in made_by} - {job.rule}
            for job in self.jobs.values()
        }


def parse_snakemake_log(text: str) -> SnakemakeRun:
    """Parse a Snakemake console log.

    :param text: the log's text (complete or still growing)
    """
    run = SnakemakeRun()
    pending_rule: str | None = None
    error_rule: str | None = None
    files: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        if match := _RULE.match(line):
            pending_rule, error_rule, files = match["rule"], None, {}
            continue
        if pending_rule is not None and (match := _FILES.match(line)):
            files[match["kind"]] = tuple(path.strip() for path in match["files"].split(","))
            continue
        if match := _ERROR.match(line):
            error_rule, pending_rule = match["rule"], None
            if match["rule"] not in run.failed_rules:
                run.failed_rules.append(match["rule"])
            continue
        if match := _JOBID.match(line):
            jobid = match["jobid"]
            if pending_rule is not None:
                job = run.jobs.setdefault(jobid, SnakemakeJob(jobid=jobid, rule=pending_rule))
                job.inputs, job.outputs = files.get("input", job.inputs), files.get("output", job.outputs)
                pending_rule = None
            elif error_rule is not None:
                run.jobs.setdefault(jobid, SnakemakeJob(jobid=jobid, rule=error_rule)).failed = True
                error_rule = None
            continue
        if match := _SUBMITTED.search(line):
            job = run.jobs.get(match["jobid"])
            if job is not None and match["slurm"] not in job.slurm_job_ids:
                job.slurm_job_ids.append(match["slurm"])
            continue
        if match := _FINISHED.search(line):
            run.jobs.setdefault(match["jobid"], SnakemakeJob(jobid=match["jobid"], rule=match["rule"])).finished = True
            continue
        if match := _PROGRESS.match(line):
            run.steps_done, run.steps_total = int(match["done"]), int(match["total"])
            run.complete = run.complete or bool(_COMPLETE.match(line))
            continue
        if match := _TOTAL.match(line):
            if run.steps_total is None:
                run.steps_total = int(match["total"])
            continue
        if _NOTHING in line:
            run.nothing_to_do = True
    # A step that failed and then finished on a retry did not fail the run.
    recovered = {job.rule for job in run.jobs.values() if job.finished}
    run.failed_rules = [rule for rule in run.failed_rules if rule not in recovered]
    return run


def read_snakemake_log(path: Path) -> SnakemakeRun:
    """Parse the log at ``path``; an empty run if it does not exist yet."""
    if not path.is_file():
        return SnakemakeRun()
    return parse_snakemake_log(path.read_text(errors="replace"))
