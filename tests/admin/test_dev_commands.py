"""``make_dev_data`` and ``create_dev_superuser``: non-interactive, idempotent, and what they load is served."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study
from analyses.schemas import AnalysisResults, DownloadFile, QualityControl
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy

pytestmark = pytest.mark.django_db

MODELS = [Biome, Study, Sample, Run, Assembly, Analysis, ENAStudy, ENASample, ENARun]


def _snapshot() -> dict[str, list]:
    return {
        model.__name__ + model._meta.app_label: sorted(model.objects.values_list("pk", flat=True)) for model in MODELS
    }


def test_make_dev_data_is_idempotent():
    call_command("make_dev_data", stdout=io.StringIO())
    first = _snapshot()
    call_command("make_dev_data", stdout=io.StringIO())
    assert _snapshot() == first
    assert Study.objects.count() == 3 and Study.objects.filter(is_private=True).count() == 1
    assert Analysis.objects.count() == 10
    assert set(Analysis.objects.values_list("state", flat=True)) == set(Analysis.State.values)
    assert Biome.objects.filter(lineage="root:Host-associated:Human:Digestive system").exists()


def test_dev_data_json_matches_schemas_and_privacy_is_consistent():
    call_command("make_dev_data", stdout=io.StringIO())
    for analysis in Analysis.objects.filter(state=Analysis.State.COMPLETED):
        AnalysisResults.model_validate(analysis.results)
        QualityControl.model_validate(analysis.quality_control) if analysis.quality_control else None
        assert [DownloadFile.model_validate(d) for d in analysis.downloads]
    private = Study.objects.get(is_private=True)
    assert private.webin_submitter
    assert not Run.objects.filter(study=private, is_private=False).exists()
    assert not Analysis.objects.filter(study=private, is_private=False).exists()


def test_dev_data_is_served_by_the_api():
    call_command("make_dev_data", stdout=io.StringIO())
    client = Client()
    assert client.get("/api/v2/studies").json()["count"] == 2
    assert client.get("/api/v2/studies/PRJEB40001").status_code == 200
    assert client.get("/api/v2/studies/PRJEB40003").status_code == 404
    completed = client.get("/api/v2/analyses", {"state": "completed"}).json()["items"]
    assert client.get(f"/api/v2/analyses/{completed[0]['accession']}/results").status_code == 200


def test_create_dev_superuser_generates_a_password_once_and_takes_one_from_env(monkeypatch, tmp_path):
    monkeypatch.setattr("core.config.LOCAL_STATE_DIR", tmp_path)
    monkeypatch.delenv("EMG_DEV_SUPERUSER_PASSWORD", raising=False)
    call_command("create_dev_superuser", stdout=io.StringIO())
    call_command("create_dev_superuser", stdout=io.StringIO())
    password_file = tmp_path / "dev_superuser_password"
    password = password_file.read_text().strip()
    assert len(password) >= 20 and password_file.stat().st_mode & 0o777 == 0o600
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password(password)
    assert not user.check_password("admin"), "no published password works"
    monkeypatch.setenv("EMG_DEV_SUPERUSER_USERNAME", "curator")
    monkeypatch.setenv("EMG_DEV_SUPERUSER_PASSWORD", "correct-horse-battery-staple")
    call_command("create_dev_superuser", stdout=io.StringIO())
    assert get_user_model().objects.get(username="curator").check_password("correct-horse-battery-staple")
    assert get_user_model().objects.count() == 2


def test_create_dev_superuser_refuses_a_weak_password(monkeypatch):
    monkeypatch.setenv("EMG_DEV_SUPERUSER_PASSWORD", "admin")
    with pytest.raises(CommandError, match="EMG_DEV_SUPERUSER_PASSWORD: .*too short"):
        call_command("create_dev_superuser", stdout=io.StringIO())
    assert not get_user_model().objects.exists()
