"""The ledger's admin pages render for a superuser, with the operator filters and actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from workflows.ledger import services
from workflows.ledger.models import TokenRole, WorkEvent, WorkItem, WorkState
from workflows.ledger.tokens import issue_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(pipeline):
    services.register_work(pipeline=pipeline, inputs=[{"run": f"ERR{n}"} for n in range(4)], actor="t")
    first, second, third = services.claim(pipeline=pipeline, holder="w", limit=3)
    for item in (first, second):
        services.transition(item=item, to_state=WorkState.RUNNING, actor="w", holder="w")
    services.transition(item=second, to_state=WorkState.FAILED, actor="w", holder="w", message="exit 1")
    # first has been running for far longer than the pipeline's expected hour
    WorkItem.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(hours=10))
    services.post_message(item=first, actor="w", message="<b>escaped</b>")
    return first, second, third


@pytest.mark.parametrize("model", ["pipeline", "workitem", "workevent", "apitoken"])
def test_changelists_render(admin_client, items, model):
    issue_token(name="ops", role=TokenRole.ADMIN)
    response = admin_client.get(reverse(f"admin:workflows_{model}_changelist"))
    assert response.status_code == 200


def test_change_pages_render(admin_client, items, pipeline):
    token = issue_token(name="ops", role=TokenRole.ADMIN).token
    first = items[0]
    for url in [
        reverse("admin:workflows_workitem_change", args=[first.pk]),
        reverse("admin:workflows_pipeline_change", args=[pipeline.pk]),
        reverse("admin:workflows_apitoken_change", args=[token.pk]),
        reverse("admin:workflows_workevent_change", args=[WorkEvent.objects.first().pk]),
    ]:
        assert admin_client.get(url).status_code == 200, url
    page = admin_client.get(reverse("admin:workflows_workitem_change", args=[first.pk])).content.decode()
    assert "&lt;b&gt;escaped&lt;/b&gt;" in page and "ERR" in page


def test_operator_filters(admin_client, items):
    first, second, _third = items
    url = reverse("admin:workflows_workitem_changelist")
    long_running = admin_client.get(url, {"long_running": "yes"})
    assert list(long_running.context["cl"].result_list) == [first]
    failures = admin_client.get(url, {"failed_within": "24h"})
    assert list(failures.context["cl"].result_list) == [second]
    by_state = admin_client.get(url, {"state__exact": "claimed"})
    assert len(by_state.context["cl"].result_list) == 1
    assert admin_client.get(url, {"q": first.input_hash}).context["cl"].result_count == 1


def test_rerun_and_cancel_actions(admin_client, items):
    first, second, _third = items
    url = reverse("admin:workflows_workitem_changelist")
    # both ask first (workflows.automation.admin), then apply
    admin_client.post(url, {"action": "rerun", "_selected_action": [second.pk]})
    second.refresh_from_db()
    assert second.state == WorkState.FAILED
    admin_client.post(url, {"action": "rerun", "_selected_action": [second.pk], "apply": "1"})
    admin_client.post(url, {"action": "cancel", "_selected_action": [first.pk], "apply": "1"})
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.state == WorkState.PENDING and first.state == WorkState.CANCELLED
    assert WorkEvent.objects.filter(item=first, to_state=WorkState.CANCELLED, actor="admin:admin").exists()
