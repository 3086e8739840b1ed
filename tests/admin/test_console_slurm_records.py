"""The Slurm job records the console's table shows get ``node`` and ``elapsed_seconds`` where the engine knows them.

Nothing is invented: Snakemake's benchmark gives a finished step's wall time and no node; Nextflow's trace
gives ``realtime``, and the node only when the trace has Nextflow's ``hostname`` column.
"""

from __future__ import annotations

from pathlib import Path

from workflows.pipelines.launchers.nextflow import TRACE_FIELDS, nextflow_step_records
from workflows.pipelines.launchers.progress import PipelineProgress, PipelineState, StepRecord
from workflows.pipelines.workarea import WorkArea


def test_progress_records_carry_the_steps_elapsed_time():
    progress = PipelineProgress(
        state=PipelineState.RUNNING,
        head_job_id="10",
        steps=[
            StepRecord(step="fastp", slurm_job_id="11", state="COMPLETED", exit_code=0, duration_seconds=74.6),
            StepRecord(step="megahit", slurm_job_id="12", state="RUNNING"),
        ],
    )
    records = {record.step: record for record in progress.slurm_job_records()}
    assert records["fastp"].elapsed_seconds == 75 and records["fastp"].node is None
    assert records["megahit"].elapsed_seconds is None and records["head"].elapsed_seconds is None


def _trace(fields: tuple[str, ...], rows: list[dict[str, str]]) -> str:
    lines = ["\t".join(fields)] + ["\t".join(row.get(name, "-") for name in fields) for row in rows]
    return "\n".join(lines) + "\n"


def test_nextflow_records_take_realtime_and_hostname_from_the_trace(tmp_path: Path):
    work_area = WorkArea(root=tmp_path)
    (tmp_path / "pipeline_info").mkdir()
    row = {
        "task_id": "1",
        "hash": "ab/cdef01",
        "native_id": "77",
        "name": "FASTP (r)",
        "status": "COMPLETED",
        "exit": "0",
        "submit": "2024-05-01 10:00:01.123",
        "duration": "3s",
        "realtime": "1m 2s",
    }
    (tmp_path / "pipeline_info" / "trace-001.txt").write_text(
        _trace((*TRACE_FIELDS, "hostname"), [{**row, "hostname": "node-3"}])
    )
    [record] = nextflow_step_records(work_area)
    assert (record.job_id, record.node, record.elapsed_seconds) == ("77", "node-3", 62)


def test_nextflow_records_without_a_hostname_column_name_no_node(tmp_path: Path):
    (tmp_path / "pipeline_info").mkdir()
    row = {
        "task_id": "1",
        "hash": "ab/cdef01",
        "native_id": "78",
        "name": "PFAM (r)",
        "status": "FAILED",
        "exit": "1",
        "realtime": "5s",
    }
    (tmp_path / "pipeline_info" / "trace-001.txt").write_text(_trace(TRACE_FIELDS, [row]))
    [record] = nextflow_step_records(WorkArea(root=tmp_path))
    assert record.node is None and record.elapsed_seconds == 5
