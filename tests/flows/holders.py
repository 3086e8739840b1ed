"""Playing the holders of an analysis' claim in tests: one that launches and dies, and the next one."""

from __future__ import annotations

import time

from ena.datamover import Datamover
from workflows.analysis_ledger import claimed
from workflows.analysis_runner import fetch_reads, launch_fresh, reads_used, run_analysis, select_reads
from workflows.ledger import services as ledger
from workflows.ledger.models import EventKind, WorkItem, WorkState
from workflows.pipelines.workarea import WorkArea

FIRST = "flow:first-holder"
NEXT = "flow:next-holder"


def first_holder_launches_and_dies(analysis, item, pipeline, launcher, config):
    """Claim, fetch the reads, launch; then nothing more: the lease lapses, the head job runs on."""
    [claim] = ledger.claim(pipeline=item.pipeline, holder=FIRST, lease_seconds=1)
    ledger.transition(item=claim, to_state=WorkState.RUNNING, actor=FIRST, holder=FIRST)
    work_area = WorkArea.for_analysis(analysis.accession)
    selection = select_reads(analysis)
    with Datamover(config.ena, webin=config.webin) as datamover:
        inputs, checksums = fetch_reads(
            analysis=analysis, work_area=work_area, datamover=datamover, selection=selection
        )
    handle = launch_fresh(
        analysis=analysis,
        pipeline=pipeline,
        launcher=launcher,
        work_area=work_area,
        inputs=inputs,
        checksums=checksums,
        reads=reads_used(selection),
        params=None,
        flow_run_id=None,
    )
    time.sleep(1.5)
    return handle, work_area


def run_as_next_holder(analysis, item, pipeline, launcher, config):
    with claimed(item_id=item.pk, holder=NEXT) as lease, Datamover(config.ena, webin=config.webin) as datamover:
        assert lease is not None, "the lapsed lease was not reaped"
        return run_analysis(analysis=analysis, pipeline=pipeline, launcher=launcher, datamover=datamover, claim=lease)


def progress_lines(item: WorkItem) -> list[str]:
    return list(item.events.filter(kind=EventKind.PROGRESS).order_by("at", "id").values_list("message", flat=True))
