"""Mapping of Slurm job states (``workflows.slurm.JobState`` or their names) to pipeline states."""

from __future__ import annotations

from workflows.pipelines.launchers.base import PipelineState

_PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SUBMITTED"}
_RUNNING = {"RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESIZING", "STOPPED"}
_COMPLETED = {"COMPLETED"}
_CANCELLED = {"CANCELLED", "REVOKED", "DEADLINE"}


def state_name(state: object) -> str:
    """``JobState.RUNNING`` / ``"RUNNING"`` / ``"CANCELLED by 0"`` -> ``"RUNNING"`` / ``"CANCELLED"``."""
    raw = getattr(state, "value", None) or getattr(state, "name", None) or str(state)
    return str(raw).split()[0].split("+")[0].upper()


def head_job_state(state: object | None) -> PipelineState:
    """The pipeline's state given its head job's Slurm state (None: not known to Slurm yet)."""
    if state is None:
        return PipelineState.PENDING
    name = state_name(state)
    if name in _PENDING:
        return PipelineState.PENDING
    if name in _RUNNING:
        return PipelineState.RUNNING
    if name in _COMPLETED:
        return PipelineState.COMPLETED
    if name in _CANCELLED:
        return PipelineState.CANCELLED
    # FAILED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, PREEMPTED, ...
    return PipelineState.FAILED


def final_state_of(state: object | None) -> bool:
    return head_job_state(state).is_final
