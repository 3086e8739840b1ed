"""Registers the waiting fan-out pipeline on import, for processes configured rather than called.

``bench/study_fanout.py --via-api`` cannot call :func:`tests.flows.fanout_pipeline.pipeline_with`
inside the worker's flow-run process (another interpreter started by the worker), so it names this
module in ``EMG_PIPELINES__MODULES``: the registry imports it on first lookup, exactly as it imports
the bundled pipelines, and the head jobs then wait ``EMG_BENCH_FANOUT_SECONDS`` (default 900 s: the
benchmark cancels them once every one is submitted).
"""

from __future__ import annotations

import os

from tests.flows.fanout_pipeline import pipeline_with

#: Environment variable giving how long each head job waits, in seconds.
SECONDS_VARIABLE = "EMG_BENCH_FANOUT_SECONDS"

pipeline_with(seconds=float(os.environ.get(SECONDS_VARIABLE, "900")))
