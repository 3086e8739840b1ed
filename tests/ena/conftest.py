"""Fixtures for ENA tests: a real local ENA mirror over HTTP (in-process, ephemeral port)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import ENAConfig, WebinConfig
from devtools.ena_mirror.generator import StudyRecord, ensure_mirror_data, large_study_record
from devtools.ena_mirror.server import MirrorHandle, run_mirror_in_thread
from ena.portal import ENAPortalClient

PAGING_STUDY_RUNS = 2_500
PRIVATE_STUDY = "PRJEB90009"
WEBIN_ACCOUNT = "Webin-90009"
WEBIN_PASSWORD = "hunter2-very-secret-pw"


def private_study_record() -> StudyRecord:
    record = large_study_record(
        3,
        runs_per_sample=1,
        accession=PRIVATE_STUDY,
        secondary="ERP900009",
        run_start=9_200_001,
        sample_start=9_200_001,
    )
    record.private = True
    record.webin_submitter = WEBIN_ACCOUNT
    return record


@pytest.fixture(scope="session")
def mirror_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard synthetic studies, generated once per session into a temporary directory."""
    return ensure_mirror_data(tmp_path_factory.mktemp("ena-mirror"))


@pytest.fixture
def ena_mirror(mirror_data_dir: Path) -> Iterator[MirrorHandle]:
    """A fresh mirror per test (its store and faults are the test's to change)."""
    handle = run_mirror_in_thread(
        mirror_data_dir,
        generate=False,
        studies=[large_study_record(PAGING_STUDY_RUNS), private_study_record()],
        webin_accounts={WEBIN_ACCOUNT: WEBIN_PASSWORD},
    )
    yield handle
    handle.stop()


@pytest.fixture
def ena_config(ena_mirror: MirrorHandle) -> ENAConfig:
    return ena_mirror.ena_config(page_size=1_000, max_retries=3)


@pytest.fixture
def ena_client(ena_config: ENAConfig) -> Iterator[ENAPortalClient]:
    with ENAPortalClient(ena_config, WebinConfig()) as client:
        yield client


@pytest.fixture
def mirror_settings(settings, ena_mirror: MirrorHandle):
    """Point ``settings.EMG_CONFIG.ena`` at the mirror (for code that reads settings)."""
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(
        update={"ena": ena_mirror.ena_config(page_size=1_000, max_retries=3)}
    )
    return settings
