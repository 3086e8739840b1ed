"""Publish a finished analysis: its files under the results root, as DRS objects, and its results stored.

:func:`publish_analysis` is the one way a completed analysis is recorded. The files are copied out of
the work area first (idempotent); then, in one transaction, each file is registered as a DRS blob
(its bytes checked against the recorded md5 and sha256), the analysis and study bundles are rebuilt,
and the results are stored with the state COMPLETED. A failure anywhere leaves the analysis as it
was: never COMPLETED without its DRS objects.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analyses import recording
from analyses.models import Analysis, Study
from analyses.schemas import AnalysisAnnotations, AnalysisResults, DownloadFile, Provenance, QualityControl
from drs.models import DrsObject
from drs.services import register_blob, register_bundle


def results_dir(analysis: Analysis) -> Path:
    """Where an analysis' published files live: ``<storage.results_root>/<MGYS>/<MGYA>``.

    ``DownloadFile.relative_path`` values are relative to it.
    """
    return Path(settings.EMG_CONFIG.storage.results_root) / analysis.study.accession / analysis.accession


def copy_results(*, analysis: Analysis, source_dir: Path, downloads: list[DownloadFile]) -> Path:
    """Copy the files users download from ``source_dir`` (a work area's results) to :func:`results_dir`.

    The work area may be cleaned afterwards; the published copy is what DRS serves.
    """
    destination = results_dir(analysis)
    for download in downloads:
        target = destination / download.relative_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_dir / download.relative_path, target)
    return destination


def _register_blobs(analysis: Analysis, downloads: list[DownloadFile], base: Path) -> list[tuple[str, DrsObject]]:
    """Register each download as a blob (its bytes checked) and fill its ``drs_object_id``; return the members."""
    members: list[tuple[str, DrsObject]] = []
    for download in downloads:
        blob = register_blob(
            path=base / download.relative_path,
            name=download.alias,
            description=download.description,
            aliases=[download.alias, f"{analysis.accession}/{download.alias}"],
            is_private=analysis.is_private,
            owner=analysis.webin_submitter,
            expected_sha256=download.sha256,
            expected_md5=download.md5,
        )
        download.drs_object_id = blob.id
        members.append((download.alias, blob))
    return members


def _register_bundles(analysis: Analysis, members: list[tuple[str, DrsObject]]) -> DrsObject:
    """The analysis' bundle of its blobs, and its study's bundle rebuilt; return the analysis bundle."""
    bundle = register_bundle(
        bundle_id=analysis.accession,
        name=analysis.accession,
        children=members,
        description=f"Files of analysis {analysis.accession} ({analysis.pipeline_name} {analysis.pipeline_version})",
        is_private=analysis.is_private,
        owner=analysis.webin_submitter,
    )
    register_study_bundle(analysis.study)
    return bundle


@transaction.atomic
def register_analysis_files(analysis: Analysis, *, base_dir: Path | None = None) -> DrsObject:
    """Register every file in ``analysis.downloads`` as a blob, fill each ``drs_object_id``, build the bundles.

    Each file's bytes must match the ``sha256`` and ``md5`` recorded in its ``DownloadFile``. The
    analysis bundle has the analysis' accession as its DRS id and the files' aliases as member names;
    it is private to the analysis' submitter when the analysis is private. The study's bundle is
    rebuilt too (see :func:`register_study_bundle`).

    :param analysis: an analysis whose ``downloads`` are recorded
    :param base_dir: the directory the downloads' ``relative_path`` are under; default :func:`results_dir`
    :returns: the analysis bundle
    :raises drs.services.DrsRegistrationError: a file is missing or its checksums differ
    """
    downloads = [DownloadFile.model_validate(item) for item in analysis.downloads or []]
    members = _register_blobs(analysis, downloads, base_dir or results_dir(analysis))
    stored = [download.model_dump(mode="json") for download in downloads]
    Analysis.objects.filter(pk=analysis.pk).update(downloads=stored, updated_at=timezone.now())
    analysis.downloads = stored
    return _register_bundles(analysis, members)


@transaction.atomic
def register_study_bundle(study: Study) -> DrsObject:
    """(Re)build the study's bundle: one nested bundle per active analysis of the study that has one.

    :param study: the MGYS study; its accession is the bundle's DRS id
    """
    accessions = list(study.analyses.filter(is_superseded=False).values_list("accession", flat=True))
    children = list(DrsObject.objects.bundles().filter(id__in=accessions).order_by("id"))
    return register_bundle(
        bundle_id=study.accession,
        name=study.accession,
        children=[(child.id, child) for child in children],
        description=f"Analysis results of study {study.accession}",
        aliases=list(study.ena_accessions or []),
        is_private=study.is_private,
        owner=study.webin_submitter,
    )


def publish_analysis(
    *,
    analysis: Analysis,
    source_dir: Path,
    quality_control: QualityControl | None,
    results: AnalysisResults,
    downloads: list[DownloadFile],
    provenance: Provenance,
    annotations: AnalysisAnnotations | None = None,
) -> DrsObject:
    """Publish a completed analysis: copy its files, then register them and store its results atomically.

    The downloads are stored once, with their DRS ids.

    :param analysis: the analysis (its study is read for the results path)
    :param source_dir: the directory the downloads' ``relative_path`` are under (the work area's results)
    :param quality_control: parsed read QC, if the pipeline has any
    :param results: parsed results
    :param downloads: the files users download, with their checksums
    :param provenance: pipeline, parameters, tool versions, Slurm jobs
    :param annotations: Pfam domains and rRNA genes, if the pipeline annotates
    :returns: the analysis' DRS bundle
    """
    destination = copy_results(analysis=analysis, source_dir=source_dir, downloads=downloads)
    downloads = [download.model_copy() for download in downloads]  # the caller's keep no DRS ids
    with transaction.atomic():
        members = _register_blobs(analysis, downloads, destination)
        recording.store_results(
            analysis=analysis,
            quality_control=quality_control,
            results=results,
            annotations=annotations,
            downloads=downloads,
            provenance=provenance,
        )
        return _register_bundles(analysis, members)
