"""``/api/v2/work/`` end to end through Django's test client: statuses, token rules, 409s, OpenAPI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.tokens import hash_secret, split
from workflows.ledger.models import APIToken, TokenRole, WorkItem, WorkState
from workflows.ledger.tokens import TOKEN_SCHEME, issue_token

pytestmark = pytest.mark.django_db

P = "/pipelines/raw-reads/6.0.1"
OTHER = "/pipelines/assembly/2.0"


def claim_one(api, token, holder="w1", path=P):
    response = api.post(f"{path}/claim", {"holder": holder, "limit": 1}, token)
    assert response.status_code == 200, response.content
    return response.json()["items"][0]


def test_register_pipeline_201_then_200(api, admin_token):
    body = {"name": "mags", "version": "1.0", "repository_uri": "https://example.org/mags", "max_attempts": 5}
    assert api.post("/pipelines", body, admin_token).status_code == 201
    again = api.post("/pipelines", body, admin_token)
    assert again.status_code == 200 and again.json()["max_attempts"] == 5
    assert api.get("/pipelines/mags/1.0").json()["repository_uri"] == "https://example.org/mags"


def test_register_one_201_then_200_with_the_same_item(api, pipeline_token):
    first = api.post(f"{P}/items", {"input": {"run": "ERR1", "min_read_length": 50}}, pipeline_token)
    assert first.status_code == 201 and first.json()["created"] is True
    second = api.post(f"{P}/items", {"input": {"min_read_length": "50", "run": "ERR1"}}, pipeline_token)
    assert second.status_code == 200 and second.json() == {**first.json(), "created": False}


def test_register_bulk_reports_created_flags(api, pipeline_token):
    items = [{"input": {"run": f"ERR{n}"}, "external_ref": f"MGYA{n:08d}"} for n in range(3)]
    first = api.post(f"{P}/items/bulk", {"items": items}, pipeline_token)
    assert first.status_code == 201 and first.json()["created"] == 3
    second = api.post(f"{P}/items/bulk", {"items": [*items, {"input": {"run": "ERR9"}}]}, pipeline_token)
    assert second.status_code == 201
    assert [r["created"] for r in second.json()["items"]] == [False, False, False, True]
    third = api.post(f"{P}/items/bulk", {"items": items}, pipeline_token)
    assert third.status_code == 200 and third.json()["existing"] == 3


def test_invalid_input_is_400(api, pipeline_token):
    response = api.post(f"{P}/items", {"input": {"run": "ERR1", "min_read_length": "many"}}, pipeline_token)
    assert response.status_code == 400 and "min_read_length" in response.json()["detail"]


def test_claim_heartbeat_state_messages_and_detail(api, pipeline_token):
    api.post(f"{P}/items", {"input": {"run": "ERR1"}}, pipeline_token)
    item = claim_one(api, pipeline_token)
    assert item["state"] == "claimed" and item["lease_holder"] == "w1" and item["attempts"] == 1
    item_id = item["id"]
    beat = api.post(f"/items/{item_id}/heartbeat", {"holder": "w1", "lease_seconds": 900}, pipeline_token)
    assert beat.status_code == 200 and beat.json()["lease_expires_at"] > item["lease_expires_at"]
    bulk = api.post("/heartbeat", {"holder": "w1", "item_ids": [item_id, 999999]}, pipeline_token)
    assert bulk.status_code == 200 and bulk.json()["lost"] == [999999]
    running = api.post(f"/items/{item_id}/state", {"to_state": "running", "holder": "w1"}, pipeline_token)
    assert running.status_code == 200 and running.json()["state"] == "running"
    message = {"kind": "progress", "message": "step 2/5", "data": {"step": 2}, "holder": "w1"}
    assert api.post(f"/items/{item_id}/messages", message, pipeline_token).status_code == 201
    done = api.post(f"/items/{item_id}/state", {"to_state": "done", "holder": "w1", "message": "ok"}, pipeline_token)
    assert done.status_code == 200 and done.json()["state"] == "done"
    detail = api.get(f"/items/{item_id}").json()
    assert [(e["kind"], e["to_state"]) for e in detail["events"]] == [
        ("transition", "pending"),
        ("transition", "claimed"),
        ("transition", "running"),
        ("progress", ""),
        ("transition", "done"),
    ]
    assert detail["events"][3]["actor"] == "token:raw-reads-wrapper/w1"


def test_scoped_claim(api, pipeline_token):
    ids = [api.post(f"{P}/items", {"input": {"run": f"ERR{n}"}}, pipeline_token).json()["id"] for n in range(3)]
    response = api.post(f"{P}/claim", {"holder": "w", "limit": 5, "item_ids": [ids[2]]}, pipeline_token)
    assert [item["id"] for item in response.json()["items"]] == [ids[2]]


def test_illegal_transition_is_409_naming_both_states(api, pipeline_token):
    api.post(f"{P}/items", {"input": {"run": "ERR1"}}, pipeline_token)
    item = claim_one(api, pipeline_token)
    response = api.post(f"/items/{item['id']}/state", {"to_state": "done", "holder": "w1"}, pipeline_token)
    assert response.status_code == 409
    assert response.json()["detail"] == f"Cannot move work item {item['id']} from 'claimed' to 'done'"


def test_wrong_holder_is_409(api, pipeline_token):
    api.post(f"{P}/items", {"input": {"run": "ERR1"}}, pipeline_token)
    item = claim_one(api, pipeline_token)
    state = api.post(f"/items/{item['id']}/state", {"to_state": "running", "holder": "w2"}, pipeline_token)
    assert state.status_code == 409 and "'w1'" in state.json()["detail"]
    beat = api.post(f"/items/{item['id']}/heartbeat", {"holder": "w2"}, pipeline_token)
    assert beat.status_code == 409 and "stop working" in beat.json()["detail"]


def test_rerun_of_a_failed_item(api, pipeline_token):
    api.post(f"{P}/items", {"input": {"run": "ERR1"}}, pipeline_token)
    item = claim_one(api, pipeline_token)
    api.post(f"/items/{item['id']}/state", {"to_state": "failed", "holder": "w1", "message": "exit 1"}, pipeline_token)
    failures = api.get("/failures").json()
    assert failures["count"] == 1 and failures["items"][0]["last_message"] == "exit 1"
    rerun = api.post(f"/items/{item['id']}/state", {"to_state": "pending"}, pipeline_token)
    assert rerun.status_code == 200 and rerun.json()["state"] == "pending"


# --- token rules ----------------------------------------------------------------------------


def test_reads_are_public(api, pipeline, pipeline_token):
    api.post(f"{P}/items", {"input": {"run": "ERR1"}}, pipeline_token)
    item_id = WorkItem.objects.get().pk
    for path in ["/pipelines", P, "/items", "/items?pipeline=raw-reads&state=pending", f"/items/{item_id}"]:
        assert api.get(path).status_code == 200, path
    for path in ["/long-running", "/failures", "/summary"]:
        assert api.get(path).status_code == 200, path
    assert api.get("/items?state=pending").json()["count"] == 1


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/pipelines", {"name": "x", "version": "1"}),
        ("/tokens", {"name": "x", "role": "admin"}),
        (f"{P}/items", {"input": {"run": "ERR1"}}),
        (f"{P}/items/bulk", {"items": [{"input": {"run": "ERR1"}}]}),
        (f"{P}/claim", {"holder": "w"}),
        ("/heartbeat", {"holder": "w", "item_ids": [1]}),
        ("/items/1/state", {"to_state": "running"}),
        ("/items/1/messages", {"message": "hi"}),
        ("/items/1/heartbeat", {"holder": "w"}),
        ("/reap", {}),
    ],
)
def test_writes_need_a_token(api, pipeline, path, body):
    assert api.post(path, body).status_code == 401
    assert api.post(path, body, "emgl_nonsense_token").status_code == 401


def test_admin_token_creates_pipelines_and_tokens(api, admin_token, pipeline):
    admin = api.post("/tokens", {"name": "ops2", "role": "admin"}, admin_token)
    assert admin.status_code == 201 and admin.json()["token"].startswith("emgl_")
    scoped = {"name": "w", "role": "pipeline", "pipeline_name": "raw-reads", "pipeline_version": "6.0.1"}
    minted = api.post("/tokens", scoped, admin_token)
    assert minted.status_code == 201 and minted.json()["pipeline"] == "raw-reads 6.0.1"
    # the new token works, on its pipeline
    assert api.post(f"{P}/items", {"input": {"run": "ERR1"}}, minted.json()["token"]).status_code == 201
    assert api.post("/pipelines", {"name": "new", "version": "1"}, admin.json()["token"]).status_code == 201


def test_pipeline_token_may_not_create_pipelines_or_mint_tokens(api, pipeline_token):
    assert api.post("/pipelines", {"name": "x", "version": "1"}, pipeline_token).status_code == 403
    scoped = {"name": "w", "role": "pipeline", "pipeline_name": "raw-reads", "pipeline_version": "6.0.1"}
    assert api.post("/tokens", scoped, pipeline_token).status_code == 403
    assert api.post("/tokens", {"name": "w", "role": "admin"}, pipeline_token).status_code == 403
    assert api.get("/tokens", pipeline_token).status_code == 403
    assert api.post("/reap", {}, pipeline_token).status_code == 403


def test_pipeline_token_acts_on_its_own_pipeline_only(api, pipeline_token, other_token):
    api.post(f"{OTHER}/items", {"input": {"run": "X"}}, other_token)
    foreign = claim_one(api, other_token, path=OTHER)
    fid = foreign["id"]
    forbidden = [
        (f"{OTHER}/items", {"input": {"run": "Y"}}),
        (f"{OTHER}/items/bulk", {"items": [{"input": {"run": "Y"}}]}),
        (f"{OTHER}/claim", {"holder": "w1"}),
        (f"/items/{fid}/heartbeat", {"holder": "w1"}),
        ("/heartbeat", {"holder": "w1", "item_ids": [fid]}),
        (f"/items/{fid}/state", {"to_state": "running", "holder": "w1"}),
        (f"/items/{fid}/messages", {"message": "hi"}),
    ]
    for path, body in forbidden:
        response = api.post(path, body, pipeline_token)
        assert response.status_code == 403, (path, response.content)
        assert "may act on pipeline 'raw-reads 6.0.1' only" in response.json()["detail"]
    assert WorkItem.objects.get(pk=fid).state == WorkState.CLAIMED


def test_admin_token_acts_on_any_pipeline_and_may_override_the_lease(api, admin_token, pipeline_token):
    api.post(f"{P}/items", {"input": {"run": "ERR1"}}, admin_token)
    item = claim_one(api, pipeline_token)
    cancel = api.post(f"/items/{item['id']}/state", {"to_state": "cancelled", "message": "operator"}, admin_token)
    assert cancel.status_code == 200 and cancel.json()["state"] == "cancelled"


def test_tokens_are_stored_hashed(api, admin_token):
    prefix, secret = split(admin_token, TOKEN_SCHEME)
    stored = APIToken.objects.get(prefix=prefix)
    assert stored.secret_hash == hash_secret(secret) and secret not in stored.secret_hash
    assert not APIToken.objects.filter(secret_hash__contains=secret).exists()
    listed = api.get("/tokens", admin_token).json()
    assert all("token" not in row and "secret_hash" not in row for row in listed)


def test_expired_token_is_refused(api, pipeline):
    expired = issue_token(name="old", role=TokenRole.ADMIN, expires_at=timezone.now() - timedelta(seconds=1))
    assert api.post("/pipelines", {"name": "x", "version": "1"}, expired.plaintext).status_code == 401
    live = issue_token(name="new", role=TokenRole.ADMIN, expires_at=timezone.now() + timedelta(hours=1))
    assert api.post("/pipelines", {"name": "x", "version": "1"}, live.plaintext).status_code == 201


def test_revoked_token_is_refused(api, admin_token, pipeline_token):
    prefix, _ = split(pipeline_token, TOKEN_SCHEME)
    assert api.post(f"{P}/claim", {"holder": "w"}, pipeline_token).status_code == 200
    assert api.post(f"/tokens/{prefix}/revoke", {}, admin_token).json()["revoked_at"]
    assert api.post(f"{P}/claim", {"holder": "w"}, pipeline_token).status_code == 401


def test_wrong_secret_with_a_valid_prefix_is_refused(api, admin_token):
    prefix, secret = split(admin_token, TOKEN_SCHEME)
    assert api.post("/pipelines", {"name": "x", "version": "1"}, f"emgl_{prefix}_{secret[:-1]}x").status_code == 401


def test_pipeline_token_needs_a_pipeline(api, admin_token):
    response = api.post("/tokens", {"name": "w", "role": "pipeline"}, admin_token)
    assert response.status_code == 400


# --- OpenAPI --------------------------------------------------------------------------------


def test_openapi_documents_the_work_api_with_examples(client):
    schema = client.get("/api/v2/openapi.json").json()
    paths = schema["paths"]
    for path in [
        "/api/v2/work/pipelines",
        "/api/v2/work/pipelines/{name}/{version}/items",
        "/api/v2/work/pipelines/{name}/{version}/items/bulk",
        "/api/v2/work/pipelines/{name}/{version}/claim",
        "/api/v2/work/items/{item_id}/heartbeat",
        "/api/v2/work/items/{item_id}/state",
        "/api/v2/work/items/{item_id}/messages",
        "/api/v2/work/items",
        "/api/v2/work/items/{item_id}",
        "/api/v2/work/tokens",
    ]:
        assert path in paths, path
    components = schema["components"]["schemas"]
    for name in ["ClaimIn", "RegisterWorkIn", "StateIn", "MessageIn", "PipelineIn", "TokenIn"]:
        assert components[name].get("examples"), name
    claim = paths["/api/v2/work/pipelines/{name}/{version}/claim"]["post"]
    assert claim["security"] and "409" in claim["responses"]


def test_item_lists_count_exactly_up_to_the_bound_and_estimate_above(api, pipeline_token, monkeypatch):
    """The ledger's limit/offset lists bound their count as the read API's do: a page that reaches the end
    knows the exact count without counting; above the bound the count is the planner's, never below the page."""
    from core import pagination

    items = [{"input": {"run": f"ERR{n}"}} for n in range(12)]
    assert api.post(f"{P}/items/bulk", {"items": items}, pipeline_token).status_code == 201
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 5)
    monkeypatch.setattr(pagination, "planner_estimate", lambda cursor, sql, params: 3)  # far below the truth

    first = api.get("/items?limit=4").json()
    assert len(first["items"]) == 4 and first["count_exact"] is False and first["count"] == 6  # the 6 rows counted
    last = api.get("/items?limit=4&offset=8").json()
    assert len(last["items"]) == 4 and (last["count"], last["count_exact"]) == (12, True)
    monkeypatch.setattr(pagination, "EXACT_COUNT_LIMIT", 100)
    assert api.get("/items?limit=4").json() | {"items": None} == {"items": None, "count": 12, "count_exact": True}
    assert api.get("/items?limit=4&offset=20").json() == {"items": [], "count": 12, "count_exact": True}
