"""Analyses as work-ledger items: register a study's once, claim one atomically, hold its lease, finish it.

This is how ``analyse-study`` gets its exactly-once guarantee: the Analysis row is unique per
(run, pipeline, version) in the database, and running it needs a claim on the matching work
item, which only one holder at a time can have. Done or in-progress work is skipped; failed
work runs again only when a re-run is asked for. The same ledger serves external wrappers
through ``/api/v2/work/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from analyses import recording
from analyses.models import Analysis, Study
from workflows.analysis_runner import AnalysisOutcome, Outcome
from workflows.ledger import services as ledger
from workflows.ledger.models import Pipeline, WorkItem, WorkState
from workflows.pipelines import get_pipeline

#: The pipeline's own estimate of one analysis; leases are renewed on every poll well within it.
LEASE_SECONDS = 15 * 60
HEARTBEAT_EVERY_SECONDS = 30.0
RUN_INPUT_KEY = "run"


@dataclass(frozen=True)
class StudyWork:
    item_id: int
    accession: str


@dataclass(frozen=True)
class Registration:
    work: list[StudyWork]
    created: int


def ledger_pipeline(name: str, version: str) -> Pipeline:
    definition = get_pipeline(name, version)
    return ledger.ensure_pipeline(
        name=definition.name,
        version=definition.version,
        repository_uri=f"{settings.EMG_CONFIG.service_urls.app_root}pipelines/{definition.name}",
        lease_seconds=LEASE_SECONDS,
    )


def register_study_work(
    *,
    study: Study,
    pipeline_name: str,
    pipeline_version: str,
    actor: str,
    run_limit: int | None = None,
    rerun_failed: bool = False,
) -> Registration:
    """Create each run's Analysis and its work item (both idempotent), and requeue failures if asked.

    :param study: the MGYS study
    :param run_limit: only the first N runs by accession
    :param rerun_failed: failed items go back to pending (attempts granted again)
    :param actor: recorded on the ledger's events
    """
    pipeline = ledger_pipeline(pipeline_name, pipeline_version)
    runs = list(study.runs.select_related("ena_run").order_by("ena_run__accession")[:run_limit])
    analyses, created = recording.ensure_run_analyses(
        study=study, runs=runs, pipeline_name=pipeline_name, pipeline_version=pipeline_version
    )
    registrations = ledger.register_work(
        pipeline=pipeline,
        inputs=[{RUN_INPUT_KEY: analysis.run.ena_run.accession} for analysis in analyses],
        external_refs=[analysis.accession for analysis in analyses],
        actor=actor,
    )
    if rerun_failed:
        for (item, _created), analysis in zip(registrations, analyses, strict=True):
            if item.state == WorkState.FAILED:
                with transaction.atomic():
                    ledger.transition(
                        item=item,
                        to_state=WorkState.PENDING,
                        actor=actor,
                        message="re-run requested",
                        reset_attempts=True,
                    )
                    recording.requeue(analysis=analysis, message="re-run requested")
    return Registration(
        work=[
            StudyWork(item.pk, analysis.accession) for (item, _), analysis in zip(registrations, analyses, strict=True)
        ],
        created=created,
    )


class Lease:
    """A claimed work item: renew it while working, then finish it."""

    def __init__(self, item: WorkItem, holder: str):
        self.item = item
        self.holder = holder
        self._last_heartbeat = time.monotonic()

    def heartbeat(self) -> None:
        """Renew the lease, at most every HEARTBEAT_EVERY_SECONDS (cheap enough to call on every poll)."""
        if time.monotonic() - self._last_heartbeat >= HEARTBEAT_EVERY_SECONDS:
            ledger.heartbeat(item_ids=[self.item.pk], holder=self.holder)
            self._last_heartbeat = time.monotonic()

    def finish(self, outcome: AnalysisOutcome) -> None:
        done = outcome.outcome == Outcome.COMPLETED
        ledger.transition(
            item=self.item,
            to_state=WorkState.DONE if done else WorkState.FAILED,
            actor=self.holder,
            holder=self.holder,
            message="" if done else f"{outcome.failed_step}: {outcome.message or ''}"[:2000],
        )


@contextmanager
def claimed(*, item_id: int, holder: str) -> Iterator[Lease | None]:
    """Claim one work item for ``holder`` (atomic, SKIP LOCKED); yield its Lease, or None if not ours to run.

    The runner records the analysis' own failures (``workflows.analysis_runner``); an exception that
    escapes it (the runner itself broke, or the process is stopping) fails the item and the analysis
    here, then propagates.
    """
    item = WorkItem.objects.select_related("pipeline").get(pk=item_id)
    items = ledger.claim(pipeline=item.pipeline, holder=holder, limit=1, among=[item_id])
    if not items:
        yield None
        return
    lease = Lease(items[0], holder)
    ledger.transition(item=lease.item, to_state=WorkState.RUNNING, actor=holder, holder=holder)
    try:
        yield lease
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"
        analysis = Analysis.objects.filter(accession=lease.item.external_ref).first()
        if analysis is not None:
            recording.mark_failed(analysis=analysis, message=message)
        ledger.transition(item=lease.item, to_state=WorkState.FAILED, actor=holder, holder=holder, message=message)
        raise


def why_skipped(item_id: int) -> str:
    """Why a flow run did not run this item: it is done, failed, or someone else holds it."""
    item = WorkItem.objects.get(pk=item_id)
    if item.state in (WorkState.CLAIMED, WorkState.RUNNING):
        return f"{item.state} by {item.lease_holder}"
    if item.state == WorkState.FAILED:
        return "failed earlier (launch with rerun_failed to run it again)"
    return f"already {item.state}"
