"""What a new holder of a work item does with the launch its previous holder left behind."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from workflows.pipelines.launchers.progress import PipelineProgress
from workflows.pipelines.launchers.records import LaunchHandle


class Verdict(StrEnum):
    """FOLLOW a live head job, COLLECT a completed one's outputs, or RELAUNCH (resuming) a dead one."""

    FOLLOW = "follow"
    COLLECT = "collect"
    RELAUNCH = "relaunch"


@dataclass(frozen=True)
class Reattachment:
    """The previous launch on a work area and the verdict on it, with the reason in words."""

    handle: LaunchHandle
    verdict: Verdict
    reason: str
    progress: PipelineProgress | None = None

    @property
    def adopted(self) -> bool:
        return self.verdict in (Verdict.FOLLOW, Verdict.COLLECT)
