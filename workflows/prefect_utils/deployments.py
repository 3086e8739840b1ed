"""Start deployed flows and read their state through the Prefect API (used by the API and the admin).

Plain functions over Prefect's sync client, so callers need no event loop and no flow context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_AUTH_STRING

from core.errors import Unavailable


class FlowLaunchError(Unavailable):
    """The flow could not be started: Prefect unreachable, or the deployment missing."""


@dataclass(frozen=True)
class FlowRunInfo:
    id: UUID
    name: str
    deployment: str | None
    state_type: str | None
    state_name: str | None
    ui_url: str
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    parameters: dict[str, Any]


def flow_run_ui_url(ui_url: str, flow_run_id: UUID | str) -> str:
    return f"{ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"


def _client(api_url: str) -> SyncPrefectClient:
    """A client of the Prefect API; it sends ``PREFECT_API_AUTH_STRING`` when the server requires one."""
    return SyncPrefectClient(
        api=api_url.rstrip("/"), auth_string=PREFECT_API_AUTH_STRING.value(), httpx_settings={"timeout": 10}
    )


def _info(flow_run, *, ui_url: str, deployment: str | None) -> FlowRunInfo:
    state = flow_run.state
    return FlowRunInfo(
        id=flow_run.id,
        name=flow_run.name,
        deployment=deployment,
        state_type=state.type.value if state else None,
        state_name=state.name if state else None,
        ui_url=flow_run_ui_url(ui_url, flow_run.id),
        created=flow_run.created,
        start_time=flow_run.start_time,
        end_time=flow_run.end_time,
        parameters=dict(flow_run.parameters or {}),
    )


def start_deployment(
    deployment: str,
    *,
    parameters: dict[str, Any],
    api_url: str,
    ui_url: str,
    tags: list[str] | None = None,
) -> FlowRunInfo:
    """Create a flow run of ``deployment`` (``flow-name/deployment-name``) and return at once.

    :param deployment: the deployment's full name
    :param parameters: the flow's parameters
    :param api_url: the Prefect API, e.g. ``http://127.0.0.1:4200/api``
    :param ui_url: the Prefect UI root, for the returned link
    :param tags: tags for the flow run (e.g. the study accession) to find it later
    """
    try:
        with _client(api_url) as client:
            found = client.read_deployment_by_name(deployment)
            flow_run = client.create_flow_run_from_deployment(found.id, parameters=parameters, tags=tags or [])
    except ObjectNotFound:
        raise FlowLaunchError(f"Prefect has no deployment {deployment!r}: run `task deploy-flows`") from None
    except Exception as error:  # httpx and Prefect raise many types for an unreachable server
        raise FlowLaunchError(f"Could not reach Prefect at {api_url}: {error}") from error
    return _info(flow_run, ui_url=ui_url, deployment=deployment)


def read_flow_run(flow_run_id: UUID, *, api_url: str, ui_url: str) -> FlowRunInfo | None:
    """The flow run's current state, or None if Prefect does not know it."""
    try:
        with _client(api_url) as client:
            flow_run = client.read_flow_run(flow_run_id)
    except ObjectNotFound:
        return None
    except Exception as error:
        raise FlowLaunchError(f"Could not reach Prefect at {api_url}: {error}") from error
    return _info(flow_run, ui_url=ui_url, deployment=None)
