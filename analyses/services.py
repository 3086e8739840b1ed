"""Small write functions for the analyses app (keyword-only, typed), used by dev data and curators' tools.

Each one is idempotent: called twice with the same arguments it leaves the database as called once.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from analyses.models import Analysis, Biome, Run, Sample, Study
from ena.models import Study as ENAStudy


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


@transaction.atomic
def study_ensure_for_ena_study(
    *, ena_study: ENAStudy, biome: Biome | None = None, title: str | None = None, **privacy: Any
) -> Study:
    """Return the (oldest) MGYS study mirroring ``ena_study``, creating it if there is none; refresh its fields.

    Its ``ena_accessions`` become the ENA study's (primary and secondary).

    :param ena_study: the ENA study
    :param biome: the study's biome
    :param title: defaults to the ENA study's title
    :param privacy: ``is_private`` and/or ``webin_submitter``; default: copied from the ENA study
    """
    fields = {
        "ena_accessions": list(ena_study.ena_accessions or [ena_study.accession]),
        "biome": biome,
        "title": title if title is not None else ena_study.title,
        "is_private": privacy.get("is_private", ena_study.is_private),
        "webin_submitter": privacy.get("webin_submitter", ena_study.webin_submitter),
    }
    study = Study.objects.select_for_update().filter(ena_study=ena_study).order_by("id").first()
    if study is None:
        return Study.objects.create(ena_study=ena_study, **fields)
    for name, value in fields.items():
        setattr(study, name, value)
    study.save()
    return study


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


def sample_link_studies(*, sample: Sample, studies: list[Study]) -> None:
    """Add ``sample`` to ``studies`` (no-op for links that exist).

    :param sample: the sample
    :param studies: the studies it belongs to
    """
    sample.studies.add(*studies)
