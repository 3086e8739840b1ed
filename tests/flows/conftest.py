"""Fixtures for flow tests: the local ENA mirror over real HTTP, the real Slurm cluster, and config
pointing the platform (and its flow modules) at them with work and results in a temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from analyses.ena_sync import import_ena_study
from analyses.models import Analysis, Study
from devtools.ena_mirror.generator import (
    PRIVATE_STUDY_WEBIN_ACCOUNT,
    SYNTHETIC_STUDY_ACCESSION,
    mirror_webin_accounts,
)
from devtools.ena_mirror.server import MirrorHandle, run_mirror_in_thread
from workflows.analysis_ledger import register_study_work
from workflows.flows import analyse_study as analyse_study_module
from workflows.flows import move_data as move_data_module
from workflows.flows import realistic_example as realistic_example_module
from workflows.ledger.models import WorkItem
from workflows.pipelines import get_pipeline, launcher_for
from workflows.pipelines.workarea import WorkArea
from workflows.prefect_utils.local_server import LocalPrefect, local_prefect

FLOW_MODULES = (analyse_study_module, move_data_module, realistic_example_module)


@pytest.fixture(scope="module")
def mirror() -> Iterator[MirrorHandle]:
    handle = run_mirror_in_thread()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def storage(tmp_path: Path) -> dict[str, Path]:
    return {"work_root": tmp_path / "work", "results_root": tmp_path / "results", "exports_root": tmp_path / "exports"}


@pytest.fixture
def platform_config(settings, monkeypatch, mirror: MirrorHandle, storage: dict[str, Path]):
    """EMG_CONFIG with the mirror as ENA and temporary storage, for Django and for the flow modules."""
    mirror.faults.clear()
    config = settings.EMG_CONFIG
    config = config.model_copy(
        update={
            "ena": mirror.ena_config(),
            "storage": config.storage.model_copy(update=storage),
        }
    )
    settings.EMG_CONFIG = config
    for module in FLOW_MODULES:
        monkeypatch.setattr(module, "EMG_CONFIG", config)
    return config


def current_database_url() -> str:
    """A URL to the database the test process uses (pytest-django's test database)."""
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def platform_env(mirror: MirrorHandle, storage: dict[str, Path]) -> dict[str, str]:
    """The environment a worker (another process) needs to act on this test's database, mirror and storage.

    The platform's Webin account is the mirror's private study's submitter, so private imports work.
    """
    webin = mirror_webin_accounts(mirror.data_dir)
    return {
        "EMG_WEBIN__EMG_WEBIN_ACCOUNT": PRIVATE_STUDY_WEBIN_ACCOUNT,
        "EMG_WEBIN__EMG_WEBIN_PASSWORD": webin[PRIVATE_STUDY_WEBIN_ACCOUNT],
        "EMG_DATABASE__URL": current_database_url(),
        "EMG_ENA__PORTAL_API_URL": mirror.portal_api_url,
        "EMG_ENA__FASTQ_URL_SCHEME": "http",
        "EMG_ENA__REQUESTS_PER_SECOND": "100",
        "EMG_STORAGE__WORK_ROOT": str(storage["work_root"]),
        "EMG_STORAGE__RESULTS_ROOT": str(storage["results_root"]),
        "EMG_STORAGE__EXPORTS_ROOT": str(storage["exports_root"]),
        "SLURM_CONF": os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"),
    }


@contextmanager
def prefect_platform(
    directory: Path, settings, mirror: MirrorHandle, storage: dict[str, Path], flows: Sequence[str] = ("analyse_study",)
) -> Iterator[LocalPrefect]:
    """A real Prefect server (UI included) with ``flows`` deployed and a worker in the ``slurm`` pool, both acting
    on this test's database, mirror and storage; the platform's settings point at it while it runs."""
    with local_prefect(directory) as server:
        env = platform_env(mirror, storage)
        server.deploy(*flows, extra_env=env)
        server.start_worker(extra_env=env)
        settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
            update={
                "prefect": settings.EMG_CONFIG.prefect.model_copy(
                    update={"api_url": server.api_url, "ui_url": server.ui_url}
                )
            }
        )
        yield server


@pytest.fixture
def work(platform_config, settings):
    """One registered analysis of the synthetic study, with short leases."""
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
        update={"pipelines": settings.EMG_CONFIG.pipelines.model_copy(update={"lease_seconds": 2})}
    )
    import_ena_study(SYNTHETIC_STUDY_ACCESSION)
    study = Study.objects.by_accession(SYNTHETIC_STUDY_ACCESSION).get()
    registration = register_study_work(
        study=study, pipeline_name="raw-reads", pipeline_version="2.0.0", actor="test", run_limit=1
    )
    [work] = registration.work
    analysis = Analysis.objects.select_related("study", "run__ena_run").get(accession=work.accession)
    pipeline = get_pipeline("raw-reads", "2.0.0")
    launcher = launcher_for(pipeline)
    yield analysis, WorkItem.objects.get(pk=work.item_id), pipeline, launcher, settings.EMG_CONFIG
    handle = launcher.last_launch(WorkArea.for_analysis(analysis.accession))
    if handle is not None:
        launcher.cancel(handle)
