"""Small write functions for the analyses app (keyword-only, typed), used by dev data and curators' tools.

Each one is idempotent: called twice with the same arguments it leaves the database as called once.
Platform rows that mirror ENA are created only by :mod:`analyses.ena_sync`; these functions set what
curators own (biomes) and create analyses.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from analyses import recording
from analyses.models import Analysis, Biome, Run, Sample, Study
from analyses.schemas import AnalysisStatusFlag


def biome_ensure(*, lineage: str, biome_name: str | None = None) -> Biome:
    """Return the biome with ``lineage``, creating it and any missing ancestors.

    :param lineage: e.g. ``root:Host-associated:Human:Digestive system``
    :param biome_name: display name; defaults to the lineage's last label
    """
    labels = lineage.split(":")
    biome = None
    for depth in range(1, len(labels) + 1):
        node_lineage = ":".join(labels[:depth])
        name = biome_name if depth == len(labels) and biome_name else labels[depth - 1]
        biome, _ = Biome.objects.get_or_create(lineage=node_lineage, defaults={"biome_name": name})
    assert biome is not None
    return biome


def study_set_biome(*, study: Study, biome: Biome | None, with_samples: bool = False) -> None:
    """Set a study's biome (a curator-owned field), and optionally its samples'.

    :param study: the MGYS study
    :param biome: the biome, or None to clear it
    :param with_samples: also set the biome of every sample of the study
    """
    now = timezone.now()
    Study.objects.filter(pk=study.pk).exclude(biome=biome).update(biome=biome, updated_at=now)
    study.biome = biome
    if with_samples:
        samples: QuerySet[Sample] = Sample.objects.filter(studies=study)
        samples.exclude(biome=biome).update(biome=biome, updated_at=now)


def analysis_ensure_for_run(
    *, run: Run, pipeline_name: str, pipeline_version: str, defaults: dict[str, Any] | None = None
) -> Analysis:
    """The active analysis of ``run`` with this pipeline and version, created or updated with ``defaults``.

    Study, sample, experiment type and privacy are taken from the run.

    :param run: the analysed run
    :param pipeline_name: e.g. ``raw-reads``
    :param pipeline_version: e.g. ``1.0.0``
    :param defaults: other fields to set (``state``, ``results``, ``quality_control``, ...)
    """
    values = {
        "study_id": run.study_id,
        "sample_id": run.sample_id,
        "experiment_type": run.experiment_type,
        "is_private": run.is_private,
        "webin_submitter": run.webin_submitter,
        **(defaults or {}),
    }
    analysis, _ = Analysis.objects.update_or_create(
        run=run, pipeline_name=pipeline_name, pipeline_version=pipeline_version, is_superseded=False, defaults=values
    )
    return analysis


#: ``Provenance.failed_step`` of an analysis a curator cancelled: it ends FAILED, by cancellation.
CANCELLED_STEP = "cancelled"


def analysis_mark_cancelled(*, analysis: Analysis, by: str) -> None:
    """Record that ``by`` cancelled the analysis: FAILED at the step ``cancelled``, saying who.

    A cancelled analysis is a failed one (it can be re-run like any failure, and lists of failures
    show it); the step and the ``analysis_failed`` flag's message tell it apart. Locks the row and
    reads it afresh, so a runner's stale copy of the provenance is not written back.

    :param analysis: the analysis (not completed)
    :param by: who cancelled it, e.g. ``admin:alice``
    :raises core.errors.Conflict: the analysis is completed
    """
    with transaction.atomic():
        locked = Analysis.objects.select_for_update().get(pk=analysis.pk)
        recording.mark_failed(analysis=locked, failed_step=CANCELLED_STEP, message=f"cancelled by {by}")
    analysis.state, analysis.status, analysis.provenance = locked.state, locked.status, locked.provenance


def analysis_is_cancelled(analysis: Analysis) -> bool:
    """Whether the analysis ended by a cancellation (see :func:`analysis_mark_cancelled`)."""
    return analysis.state == Analysis.State.FAILED and cancelled_in_this_attempt(analysis)


def cancelled_in_this_attempt(analysis: Analysis) -> bool:
    """Whether a curator cancelled the analysis since it was last (re)queued, whatever its state now.

    A runner that was launching when the cancellation came may have marked it running again after it; this
    tells that analysis from one whose work item was only cancelled in the ledger (an operator handing the
    item to another holder), which is not the analysis' cancellation. A re-run (``recording.requeue``)
    sets a newer ``analysis_created`` flag, so an older cancellation does not count.
    """
    status = analysis.status or {}
    failed = _flag_of(status, AnalysisStatusFlag.ANALYSIS_FAILED)
    if not (failed.get("message") or "").startswith(f"{CANCELLED_STEP}: "):
        return False
    created = _flag_of(status, AnalysisStatusFlag.ANALYSIS_CREATED)
    return str(created.get("at") or "") <= str(failed.get("at") or "")


def _flag_of(status: dict, flag: AnalysisStatusFlag) -> dict:
    value = status.get(flag.value) or {}
    return value if isinstance(value, dict) else value.model_dump(mode="json")
