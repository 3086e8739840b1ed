"""Fixtures of the work-ledger tests: a pipeline with an input schema, tokens, an API helper."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from workflows.ledger import services
from workflows.ledger.models import Pipeline, TokenRole
from workflows.ledger.tokens import issue_token

BASE = "/api/v2/work"
RUN_SCHEMA = {
    "type": "object",
    "properties": {
        "run": {"type": "string"},
        "min_read_length": {"type": "integer", "default": 50},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["run"],
    "additionalProperties": False,
}


@dataclass
class API:
    """JSON calls to /api/v2/work with an optional bearer token."""

    client: Client

    def call(self, method: str, path: str, token: str | None = None, body: Any = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(f"{BASE}{path}", **kwargs)

    def get(self, path: str, token: str | None = None):
        return self.call("get", path, token)

    def post(self, path: str, body: Any = None, token: str | None = None):
        return self.call("post", path, token, body if body is not None else {})


@pytest.fixture
def api(client) -> API:
    return API(client)


@pytest.fixture
def pipeline(db) -> Pipeline:
    return services.ensure_pipeline(
        name="raw-reads", version="6.0.1", repository_uri="https://example.org/raw-reads", input_schema=RUN_SCHEMA
    )


@pytest.fixture
def other_pipeline(db) -> Pipeline:
    return services.ensure_pipeline(name="assembly", version="2.0", repository_uri="https://example.org/assembly")


@pytest.fixture
def admin_token(db) -> str:
    return issue_token(name="ops", role=TokenRole.ADMIN).plaintext


@pytest.fixture
def pipeline_token(pipeline) -> str:
    return issue_token(name="raw-reads-wrapper", role=TokenRole.PIPELINE, pipeline=pipeline).plaintext


@pytest.fixture
def other_token(other_pipeline) -> str:
    return issue_token(name="assembly-wrapper", role=TokenRole.PIPELINE, pipeline=other_pipeline).plaintext
