"""Who sees what: every identity against every endpoint, DRS path and export that touches a private object.

One world: a public study with a public analysis and a private one (a private run of the owner), and a
private study with its own private analysis; every analysis has real result files registered as DRS
blobs and bundles; a public and an owner metadata export; a private and a public item in the work
ledger. Six identities ask every question, each cell an expected status (and, for lists, whether the
private rows show). The table is printed; any cell that differs fails with the whole table.

The identities authenticate as they would in production: submitters and staff with their own user
tokens (``Bearer emgu_…``); HTTP Basic and sessions are tested in ``tests/security/test_identities.py``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import TokenScope
from accounts.permissions import CURATORS_GROUP
from accounts.tokens import issue_user_token
from analyses.exports import export_collections
from analyses.publishing import register_analysis_files, register_study_bundle
from tests.drs.conftest import make_analysis
from workflows.ledger import services as ledger

OWNER = "Webin-777"
OTHER = "Webin-888"
IDENTITIES = ("anonymous", "owner", "other submitter", "staff without permission", "curator", "admin")
#: The identities the visibility rule lets see the owner's private rows.
SEES_PRIVATE = {"owner", "curator", "admin"}
#: The identities allowed to start analyses (the launch permission).
MAY_LAUNCH = {"curator", "admin"}
UNREACHABLE_PREFECT = "http://127.0.0.1:9/api"


@dataclass
class World:
    public_study: Any
    private_study: Any
    public_analysis: Any
    hidden_analysis: Any  # private, in the public study
    private_analysis: Any  # private, in the private study
    private_blob: str
    owner_export_bundle: str
    private_item_id: int
    public_item_id: int


@pytest.fixture
def world(db, storage, settings) -> World:
    prefect = settings.EMG_CONFIG.prefect.model_copy(update={"api_url": UNREACHABLE_PREFECT})
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"prefect": prefect})
    public = make_analysis(storage, 1)
    hidden = make_analysis(storage, 2, private=True, owner=OWNER, study=public.study)
    private = make_analysis(storage, 3, private=True, owner=OWNER)
    for made in (public, hidden, private):
        register_analysis_files(made.analysis)
    register_study_bundle(public.study)
    register_study_bundle(private.study)
    export_collections()
    owner_export = export_collections(owner=OWNER)
    pipeline = ledger.ensure_pipeline(name="raw-reads", version="1.0.0")
    registrations = ledger.register_work(
        pipeline=pipeline,
        inputs=[{"run": "ERR900003"}, {"run": "ERR900001"}],
        external_refs=[private.analysis.accession, public.analysis.accession],
        owners=[OWNER, None],
        actor="test",
    )
    return World(
        public_study=public.study,
        private_study=private.study,
        public_analysis=public.analysis,
        hidden_analysis=hidden.analysis,
        private_analysis=private.analysis,
        private_blob=private.analysis.downloads[0]["drs_object_id"],
        owner_export_bundle=owner_export.latest.id,
        private_item_id=registrations[0][0].pk,
        public_item_id=registrations[1][0].pk,
    )


def client_for(identity: str) -> Client:
    """A client that authenticates as ``identity`` with a token of its own (none for anonymous)."""
    if identity == "anonymous":
        return Client()
    users = get_user_model().objects
    if identity == "admin":
        user = users.create_superuser("platform-admin", "admin@example.org", "not-used-here")
    else:
        username = {"owner": OWNER, "other submitter": OTHER}.get(identity, identity.replace(" ", "-"))
        user = users.create_user(username, is_staff=identity in {"staff without permission", "curator"})
        if identity == "curator":
            user.groups.add(Group.objects.get(name=CURATORS_GROUP))
    scopes = [TokenScope.READ, TokenScope.LAUNCH] if identity in MAY_LAUNCH else [TokenScope.READ]
    token = issue_user_token(user=user, name="matrix", scopes=scopes).plaintext
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@dataclass(frozen=True)
class Cell:
    """One question: ``ask`` returns what was observed, ``expect`` what the rule says for an identity."""

    name: str
    ask: Callable[[Client, World], Any]
    expect: Callable[[str], Any]


def status(method: str, path: Callable[[World], str], **kwargs: Any) -> Callable[[Client, World], int]:
    def ask(client: Client, world: World) -> int:
        return getattr(client, method)(path(world), **kwargs).status_code

    return ask


def shown(path: Callable[[World], str], private_accession: Callable[[World], str]) -> Callable[[Client, World], Any]:
    """(status, whether the private accession appears anywhere in the JSON body)."""

    def ask(client: Client, world: World) -> tuple[int, bool]:
        response = client.get(path(world))
        return response.status_code, private_accession(world) in response.content.decode()

    return ask


def detail(identity: str) -> int:
    return 200 if identity in SEES_PRIVATE else 404


def listed(identity: str) -> tuple[int, bool]:
    return 200, identity in SEES_PRIVATE


def study_counts(client: Client, world: World) -> tuple[int, int]:
    body = client.get(f"/api/v2/studies/{world.public_study.accession}").json()
    return body["runs_count"], body["analyses_count"]


def bulk_resolved(client: Client, world: World) -> int:
    response = client.post(
        "/ga4gh/drs/v1/objects",
        data={"bulk_object_ids": [world.private_blob, world.private_analysis.accession]},
        content_type="application/json",
    )
    return response.json()["summary"]["resolved"]


def public_export_mentions_private(client: Client, world: World) -> bool:
    """Whether any file of the public export, fetched through DRS, names a private accession."""
    bundle = client.get("/ga4gh/drs/v1/objects/mgnify-export-latest").json()
    text = ""
    for member in bundle["contents"]:
        info = client.get(f"/ga4gh/drs/v1/objects/{member['id']}").json()
        raw = b"".join(client.get(info["access_methods"][0]["access_url"]["url"]).streaming_content)
        text += gzip.decompress(raw).decode() if member["name"].endswith(".gz") else raw.decode()
    private = (world.private_study.accession, world.private_analysis.accession, world.hidden_analysis.accession)
    return any(accession in text for accession in private)


def ledger_view(client: Client, world: World) -> tuple[int, int, bool]:
    """(status of the private item, items listed, whether /summary counts it)."""
    item = client.get(f"/api/v2/work/items/{world.private_item_id}").status_code
    listed_items = client.get("/api/v2/work/items").json()["count"]
    counted = sum(row["count"] for row in client.get("/api/v2/work/summary").json())
    return item, listed_items, counted == 2


def launch(accession: Callable[[World], str]) -> Callable[[Client, World], int]:
    return status("post", lambda w: f"/api/v2/private/studies/{accession(w)}/analyse", content_type="application/json")


def launch_expected(identity: str) -> int:
    """Nobody: 401. No permission: 403. Allowed: 503, since Prefect is unreachable here (past every check)."""
    if identity == "anonymous":
        return 401
    return 503 if identity in MAY_LAUNCH else 403


def private_mgys(world: World) -> str:
    return world.private_study.accession


def private_mgya(world: World) -> str:
    return world.private_analysis.accession


def private_run(world: World) -> str:
    return world.private_analysis.run.ena_accessions[0]


CELLS = [
    # --- /api/v2 read API
    Cell("GET /studies (list)", shown(lambda w: "/api/v2/studies", private_mgys), listed),
    Cell("GET /studies/{private}", status("get", lambda w: f"/api/v2/studies/{private_mgys(w)}"), detail),
    Cell("GET /studies/{ENA acc. of private}", status("get", lambda w: "/api/v2/studies/PRJEB90003"), detail),
    Cell(
        "GET /studies/{private}/analyses",
        status("get", lambda w: f"/api/v2/studies/{private_mgys(w)}/analyses"),
        detail,
    ),
    Cell(
        "GET /studies/{private}/samples", status("get", lambda w: f"/api/v2/studies/{private_mgys(w)}/samples"), detail
    ),
    Cell(
        "GET /studies/{public} counts (runs, analyses)",
        study_counts,
        lambda identity: (2, 2) if identity in SEES_PRIVATE else (1, 1),
    ),
    Cell("GET /studies?search=", shown(lambda w: "/api/v2/studies?search=DRS", private_mgys), listed),
    Cell("GET /samples (list)", shown(lambda w: "/api/v2/samples", lambda w: "SAMEA900003"), listed),
    Cell("GET /samples/{private}", status("get", lambda w: "/api/v2/samples/SAMEA900003"), detail),
    Cell("GET /runs (list)", shown(lambda w: "/api/v2/runs", private_run), listed),
    Cell("GET /runs/{private}", status("get", lambda w: f"/api/v2/runs/{private_run(w)}"), detail),
    Cell("GET /analyses (list)", shown(lambda w: "/api/v2/analyses", private_mgya), listed),
    Cell(
        "GET /analyses (private one in a public study)",
        shown(lambda w: "/api/v2/analyses", lambda w: w.hidden_analysis.accession),
        listed,
    ),
    Cell("GET /analyses/{private}", status("get", lambda w: f"/api/v2/analyses/{private_mgya(w)}"), detail),
    Cell(
        "GET /analyses/{private}/downloads",
        status("get", lambda w: f"/api/v2/analyses/{private_mgya(w)}/downloads"),
        detail,
    ),
    # --- GA4GH DRS
    Cell("DRS GET /objects/{private blob}", status("get", lambda w: f"/ga4gh/drs/v1/objects/{w.private_blob}"), detail),
    Cell(
        "DRS GET /objects/{private analysis bundle}",
        status("get", lambda w: f"/ga4gh/drs/v1/objects/{private_mgya(w)}"),
        detail,
    ),
    Cell(
        "DRS GET /objects/{private study bundle}",
        status("get", lambda w: f"/ga4gh/drs/v1/objects/{private_mgys(w)}"),
        detail,
    ),
    Cell(
        "DRS /objects/{public study}?expand (private member)",
        shown(
            lambda w: f"/ga4gh/drs/v1/objects/{w.public_study.accession}?expand=true",
            lambda w: w.hidden_analysis.accession,
        ),
        listed,
    ),
    Cell(
        "DRS GET /objects/{private blob}/access/https",
        status("get", lambda w: f"/ga4gh/drs/v1/objects/{w.private_blob}/access/https"),
        detail,
    ),
    Cell("DRS GET /files/{private blob}", status("get", lambda w: f"/ga4gh/drs/v1/files/{w.private_blob}"), detail),
    Cell(
        "DRS POST /objects (bulk, 2 private)",
        bulk_resolved,
        lambda identity: 2 if identity in SEES_PRIVATE else 0,
    ),
    # --- metadata exports
    Cell("export: public files name a private accession", public_export_mentions_private, lambda identity: False),
    Cell(
        "export: owner's export bundle",
        status("get", lambda w: f"/ga4gh/drs/v1/objects/{w.owner_export_bundle}"),
        detail,
    ),
    # --- the work ledger's reads
    Cell(
        "ledger: private item, items listed, counted",
        ledger_view,
        lambda identity: (200, 2, True) if identity in SEES_PRIVATE else (404, 1, False),
    ),
    Cell(
        "ledger: /items?external_ref={private MGYA}",
        shown(lambda w: f"/api/v2/work/items?external_ref={private_mgya(w)}", private_run),
        listed,
    ),
    Cell(
        "ledger: /items/{public item}",
        status("get", lambda w: f"/api/v2/work/items/{w.public_item_id}"),
        lambda identity: 200,
    ),
    # --- launching and identity
    Cell("POST /private/studies/{private}/analyse", launch(private_mgys), launch_expected),
    Cell("POST /private/studies/{public}/analyse", launch(lambda w: w.public_study.accession), launch_expected),
    Cell(
        "GET /auth/me",
        status("get", lambda w: "/api/v2/auth/me"),
        lambda identity: 401 if identity == "anonymous" else 200,
    ),
]


def run_matrix(identity: str, world: World) -> list[tuple[str, Any, Any]]:
    client = client_for(identity)
    return [(cell.name, cell.expect(identity), cell.ask(client, world)) for cell in CELLS]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_access_matrix(identity: str, world: World) -> None:
    rows = run_matrix(identity, world)
    width = max(len(name) for name, _, _ in rows)
    table = "\n".join(
        f"{'ok ' if expected == actual else 'BAD'} {name:<{width}}  expected {expected!s:<22} got {actual}"
        for name, expected, actual in rows
    )
    print(f"\n[{identity}]\n{table}")
    assert all(expected == actual for _, expected, actual in rows), f"{identity}:\n{table}"
