"""Fixtures of the security tests: a small realistic world (public and private objects, DRS blobs, ledger work)
and the credentials of each profile the API is fuzzed as.

The world is committed (``transactional_db``), not wrapped in the test's transaction: a request that fails in the
database then fails alone, as it does in production, instead of poisoning every later request of the run.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.contrib.auth import get_user_model
from prefect.client.orchestration import SyncPrefectClient

from accounts.models import TokenScope
from accounts.tokens import issue_user_token
from analyses.models import Analysis, Assembly, ExperimentType, Run, Sample, Study
from analyses.publishing import register_analysis_files
from analyses.schemas import QualityControl, ReadStats
from analyses.services import biome_ensure
from core.config import StorageConfig
from tests.api.conftest import make_chain
from workflows.ledger import services as ledger
from workflows.ledger.models import TokenRole
from workflows.ledger.tokens import issue_token
from workflows.prefect_utils import deployments

#: The Webin submitter who owns the private study and everything under it.
OWNER = "Webin-777"
OWNER_PASSWORD = "owner-password"
STAFF = "fuzz-admin"
STAFF_PASSWORD = "fuzz-admin-password"
#: Nothing listens here: the launch endpoint answers 503 instead of starting a flow run on a real Prefect.
UNREACHABLE_PREFECT = "http://127.0.0.1:9/api"

QC = QualityControl(
    before_filtering=ReadStats(total_reads=100, total_bases=15000),
    after_filtering=ReadStats(total_reads=90, total_bases=13000),
)
RUN_SCHEMA = {
    "type": "object",
    "properties": {"run": {"type": "string"}, "min_read_length": {"type": "integer", "default": 50}},
    "required": ["run"],
    "additionalProperties": False,
}


#: Tables the schemathesis run leaves for the end of the session (shown with or without ``-s``).
SESSION_SUMMARIES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show the schemathesis tables in the session summary, where CI logs keep them."""
    for summary in SESSION_SUMMARIES:
        terminalreporter.write_sep("=", "schemathesis")
        terminalreporter.write_line(summary)


@dataclass
class Profile:
    """Who the fuzzer is: a name and the headers sent with every request (none for anonymous)."""

    name: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    """The seeded objects the fuzzer can reach through links, and the profiles."""

    public_study: Study
    private_study: Study
    public_analysis: Analysis
    private_analysis: Analysis
    profiles: dict[str, Profile]
    #: Real values of path parameters, by the path template that ends with the parameter (public and private).
    seeds: dict[str, list[str]] = field(default_factory=dict)


def basic(username: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` value."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _chain(n: int, *, lineage: str, title: str, experiment_type: str, private: bool) -> tuple[Study, Sample, Run]:
    """An ENA study/sample/run and their platform counterparts (``tests.api.conftest.make_chain``); private ones
    belong to OWNER."""
    return make_chain(
        7000 + n,
        biome=biome_ensure(lineage=lineage),
        title=title,
        experiment_type=experiment_type,
        private=private,
        owner=OWNER if private else "",
    )


def _analysis_with_files(results_root: Path, study: Study, sample: Sample, run: Run, *, private: bool) -> Analysis:
    """A completed analysis with results, quality control and two downloads on disk, published as DRS objects."""
    analysis = Analysis.objects.create(
        study=study,
        sample=sample,
        run=run,
        experiment_type=run.experiment_type,
        pipeline_name="raw-reads",
        pipeline_version="1.0.0",
        state=Analysis.State.COMPLETED,
        results={"predicted_proteins": 42},
        quality_control=QC,
        is_private=private,
        webin_submitter=OWNER if private else "",
    )
    analysis.refresh_from_db()
    study.refresh_from_db()
    directory = results_root / study.accession / analysis.accession
    downloads = []
    for alias, content in {
        f"{analysis.accession}_contigs.fasta": f">contig_1 {analysis.accession}\nACGTACGTTTGA\n".encode() * 20,
        f"{analysis.accession}_profile.tsv": b"profile\thits\nPF00001\t3\n",
    }.items():
        path = directory / "sequences" / alias
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        downloads.append(
            {
                "alias": alias,
                "description": "output",
                "file_type": alias.rsplit(".", 1)[-1],
                "relative_path": f"sequences/{alias}",
                "size_bytes": len(content),
                "md5": hashlib.md5(content).hexdigest(),
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        )
    Analysis.objects.filter(pk=analysis.pk).update(downloads=downloads)
    analysis.refresh_from_db()
    register_analysis_files(analysis)
    analysis.refresh_from_db()
    return analysis


def owner_bearer(owner) -> Profile:
    """The owner's profile: a bearer user token (``emgu_...``) with the ``read`` scope."""
    issued = issue_user_token(user=owner, scopes=[TokenScope.READ], name="schemathesis")
    return Profile("owner", {"Authorization": f"Bearer {issued.plaintext}"})


def prefect_client_without_connect_retries(api_url: str) -> SyncPrefectClient:
    """Prefect's client as :mod:`workflows.prefect_utils.deployments` makes it, less the three connection retries
    (1.5 s of back-off) Prefect adds to a transport it creates itself: a refused connection fails at once."""
    return SyncPrefectClient(
        api=api_url.rstrip("/"), httpx_settings={"timeout": 10, "transport": httpx.HTTPTransport()}
    )


@pytest.fixture
def fuzz_world(transactional_db, settings, tmp_path, monkeypatch) -> World:
    """Seed the world and point storage at ``tmp_path`` and Prefect at nothing."""
    monkeypatch.setattr(deployments, "_client", prefect_client_without_connect_retries)
    # HTTP Basic checks the password on every request: PBKDF2's 10^6 rounds would make the staff profile 15x slower.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    storage = StorageConfig(
        work_root=tmp_path / "work", results_root=tmp_path / "results", exports_root=tmp_path / "exports"
    )
    for root in (storage.results_root, storage.exports_root):
        root.mkdir(parents=True)
    prefect = settings.EMG_CONFIG.prefect.model_copy(update={"api_url": UNREACHABLE_PREFECT})
    settings.EMG_CONFIG = settings.EMG_CONFIG.model_copy(update={"storage": storage, "prefect": prefect})

    users = get_user_model().objects
    users.create_superuser(STAFF, "fuzz-admin@example.org", STAFF_PASSWORD)
    owner = users.create_user(OWNER, password=OWNER_PASSWORD)

    pub_study, pub_sample, pub_run = _chain(
        1,
        lineage="root:Environmental:Aquatic:Marine",
        title="Ocean surface water metagenomes",
        experiment_type=ExperimentType.METAGENOMIC,
        private=False,
    )
    prv_study, prv_sample, prv_run = _chain(
        2,
        lineage="root:Host-associated:Human:Digestive system",
        title="Gut metagenomes under embargo",
        experiment_type=ExperimentType.METAGENOMIC,
        private=True,
    )
    public_analysis = _analysis_with_files(storage.results_root, pub_study, pub_sample, pub_run, private=False)
    private_analysis = _analysis_with_files(storage.results_root, prv_study, prv_sample, prv_run, private=True)
    pending_analysis = Analysis.objects.create(
        study=pub_study,
        sample=pub_sample,
        run=pub_run,
        experiment_type=ExperimentType.METAGENOMIC,
        pipeline_name="raw-reads",
        pipeline_version="2.0.0",
        state=Analysis.State.PENDING,
    )
    public_assembly = Assembly.objects.create(
        accession="ERZ9700001",
        ena_accessions=["ERZ9700001", "GCA_970000001.1"],
        run=pub_run,
        study=pub_study,
        assembler_name="metaspades",
        status=Assembly.Status.COMPLETED,
    )
    Assembly.objects.create(
        accession="ERZ9700002", run=prv_run, study=prv_study, is_private=True, webin_submitter=OWNER
    )

    pipeline = ledger.ensure_pipeline(
        name="raw-reads", version="6.0.1", repository_uri="https://example.org/raw-reads", input_schema=RUN_SCHEMA
    )
    ledger.ensure_pipeline(name="assembly", version="2.0", repository_uri="https://example.org/assembly")
    ledger.register_work(
        pipeline=pipeline,
        inputs=[{"run": run.ena_accessions[0]} for run in (pub_run, prv_run)],
        external_refs=[public_analysis.accession, private_analysis.accession],
        owners=[None, OWNER],
        actor="seed",
    )
    ledger_token = issue_token(name="fuzz-ops", role=TokenRole.ADMIN).plaintext

    profiles = [
        Profile("anonymous"),
        owner_bearer(owner),
        Profile("staff", {"Authorization": basic(STAFF, STAFF_PASSWORD)}),
        Profile("ledger-token", {"Authorization": f"Bearer {ledger_token}"}),
    ]
    analyses = [public_analysis, private_analysis]
    drs_ids = [item["drs_object_id"] for analysis in analyses for item in analysis.downloads]
    drs_ids += [analysis.accession for analysis in analyses] + [pub_study.accession, prv_study.accession]
    seeds = {
        "/api/v2/studies/{accession}": [
            pub_study.accession,
            prv_study.accession,
            pub_study.ena_accessions[0],
            prv_study.ena_accessions[1],
        ],
        "/api/v2/samples/{accession}": [pub_sample.ena_accessions[0], prv_sample.ena_accessions[1]],
        "/api/v2/runs/{accession}": [pub_run.ena_accessions[0], prv_run.ena_accessions[0]],
        "/api/v2/analyses/{accession}": [a.accession for a in (*analyses, pending_analysis)],
        "/api/v2/assemblies/{id_or_accession}": [
            "ERZ9700001",
            "ERZ9700002",
            "GCA_970000001.1",
            str(public_assembly.pk),
        ],
        "/api/v2/biomes/{lineage}": ["root:Environmental:Aquatic:Marine", "root:Host-associated:Human"],
        "/api/v2/private/studies/{accession}": [pub_study.accession, prv_study.accession],
        "/api/v2/work/pipelines/{name}/{version}": ["raw-reads/6.0.1"],
        "/ga4gh/drs/v1/objects/{object_id}": drs_ids,
        "/ga4gh/drs/v1/objects/{object_id}/access/{access_id}": [f"{drs_id}/https" for drs_id in drs_ids],
    }
    return World(
        seeds=seeds,
        public_study=pub_study,
        private_study=prv_study,
        public_analysis=public_analysis,
        private_analysis=private_analysis,
        profiles={profile.name: profile for profile in profiles},
    )
