"""Scheduled metadata export: studies, samples, runs and analyses as DRS objects.

Thin: all the work is ``analyses.exports.export_collections``. Deploy it with a nightly schedule::

    python -m workflows.prefect_utils.deploy export_collections --cron "0 3 * * *"

(``task deploy-flow FLOW=export_collections`` plus the cron). Each run writes a new
``<exports_root>/<timestamp>/`` and re-points the stable bundle ``mgnify-export-latest`` at it.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from workflows.django_activation import EMG_CONFIG  # noqa: F401  (activates Django before models load)

from analyses.exports import export_collections as run_export

DEFAULT_SCHEDULE_CRON = "0 3 * * *"


@flow(name="export_collections", log_prints=False)
def export_collections(include_private: bool = False, owner: str | None = None) -> dict:
    """Export every collection and register the files and bundles; return the manifest.

    :param include_private: also export private rows (the export is then readable by admins only)
    :param owner: a Webin account: export only the rows private to it, as DRS objects it owns
    """
    result = run_export(include_private=include_private, owner=owner)
    logger = get_run_logger()
    for name, entry in result.manifest["collections"].items():
        logger.info("%s: %d rows in %s (%s)", name, entry["count"], entry["file"], entry["drs_id"])
    logger.info("bundle %s now holds export %s", result.latest.id, result.bundle.id)
    return result.manifest
