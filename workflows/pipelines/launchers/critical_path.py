"""The critical path of a pipeline run: the longest chain of dependent steps, by their own run times.

Overlapping steps (fastp beside tool_versions) do not add up: what bounds a run's wall time is the
slowest chain from an input to the last output. ``bench/pipeline_overhead.py`` compares the wall
time through a launcher with this.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from functools import cache


def critical_path(seconds: Mapping[str, float], depends_on: Mapping[str, Set[str]]) -> tuple[float, list[str]]:
    """The longest chain of steps through the dependency graph, weighted by each step's seconds.

    :param seconds: step -> its own run time; steps missing here weigh nothing
    :param depends_on: step -> the steps it waits for
    :returns: the chain's total seconds and its steps, first to last
    :raises ValueError: the dependencies have a cycle
    """
    visiting: set[str] = set()

    @cache
    def longest_ending_at(step: str) -> tuple[float, tuple[str, ...]]:
        if step in visiting:
            raise ValueError(f"dependency cycle through {step}")
        visiting.add(step)
        before = max((longest_ending_at(previous) for previous in depends_on.get(step, ())), default=(0.0, ()))
        visiting.discard(step)
        return before[0] + seconds.get(step, 0.0), (*before[1], step)

    steps = set(seconds) | set(depends_on)
    if not steps:
        return 0.0, []
    total, chain = max((longest_ending_at(step) for step in sorted(steps)), key=lambda found: found[0])
    return round(total, 3), list(chain)
