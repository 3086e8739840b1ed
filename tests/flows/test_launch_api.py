"""The launch endpoints' refusals: authentication, bad accessions, unknown studies, Prefect down."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import get_user_model

from analyses.models import Study
from workflows.prefect_utils.local_server import free_port

URL = "/api/v2/private/studies/{}/analyse"


@pytest.fixture
def prefect_down(settings):
    """Point the platform at a port where no Prefect server listens."""
    dead = f"http://127.0.0.1:{free_port()}"
    config = settings.EMG_CONFIG
    settings.EMG_CONFIG = config.model_copy(
        update={"prefect": config.prefect.model_copy(update={"api_url": f"{dead}/api", "ui_url": dead})}
    )


def basic(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.mark.django_db
def test_anonymous_callers_are_refused(client) -> None:
    response = client.post(URL.format("PRJEB12345"), content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_users_without_the_launch_permission_are_refused(client) -> None:
    get_user_model().objects.create_user("curious", password="pw", is_staff=True)
    response = client.post(URL.format("PRJEB12345"), content_type="application/json", **basic("curious", "pw"))
    assert response.status_code == 403
    assert "accounts.launch_analyses" in response.json()["detail"]


def test_malformed_accession_is_a_400_naming_it(admin_client) -> None:
    response = admin_client.post(URL.format("PRJ-nope"), content_type="application/json")
    assert response.status_code == 400
    assert "PRJ-nope" in response.json()["detail"]


def test_unknown_mgys_is_a_404(admin_client) -> None:
    response = admin_client.post(URL.format("MGYS99999999"), content_type="application/json")
    assert response.status_code == 404
    assert "MGYS99999999" in response.json()["detail"]


def test_study_without_ena_study_is_a_400(admin_client) -> None:
    study = Study.objects.create(title="curated only")
    response = admin_client.post(URL.format(study.accession), content_type="application/json")
    assert response.status_code == 400
    assert "no ENA study" in response.json()["detail"]


@pytest.mark.django_db
def test_prefect_unreachable_is_a_503_with_a_message(client, superuser, prefect_down) -> None:
    response = client.post(
        URL.format("PRJEB12345"), content_type="application/json", **basic("admin", "admin-password")
    )
    assert response.status_code == 503
    assert "Could not reach Prefect" in response.json()["detail"]


@pytest.mark.django_db
def test_flow_run_state_with_prefect_unreachable_is_a_503(admin_client, prefect_down) -> None:
    response = admin_client.get("/api/v2/private/flow-runs/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 503


def test_admin_action_reports_prefect_unreachable(admin_client, prefect_down) -> None:
    study = Study.objects.create(title="t", ena_accessions=["PRJEB1"])
    response = admin_client.post(
        "/admin/analyses/study/",
        {"action": "analyse_selected_studies", "_selected_action": [study.pk], "apply": "1"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Could not reach Prefect" in response.content.decode()
