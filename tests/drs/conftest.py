"""Fixtures for the DRS tests: storage roots in a temporary directory, users, an analysis with real files,
and validation of response bodies against the vendored GA4GH DRS 1.5.0 schemas."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from analyses.models import Analysis, Run, Sample, Study
from core.config import StorageConfig
from ena.models import Run as ENARun
from ena.models import Sample as ENASample
from ena.models import Study as ENAStudy

SPEC_PATH = Path(__file__).resolve().parents[2] / "drs" / "schemas" / "drs-1.5.0.openapi-components.yaml"
SPEC_URI = "urn:ga4gh:drs:1.5.0"
OWNER = "Webin-4242"
#: Component schemas that, in the strict check, may carry no property the spec does not define.
STRICT_SCHEMAS = ["DrsObject", "AccessMethod", "AccessURL", "Checksum", "ContentsObject", "Error", "summary"]


def _registry(strict: bool) -> Registry:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    if strict:
        spec = copy.deepcopy(spec)
        for name in STRICT_SCHEMAS:
            spec["components"]["schemas"][name]["additionalProperties"] = False
    return Registry().with_resource(SPEC_URI, Resource(contents=spec, specification=DRAFT4))


REGISTRIES = {True: _registry(True), False: _registry(False)}


def assert_valid(instance: Any, pointer: str, *, strict: bool = True) -> None:
    """Validate ``instance`` against the vendored spec at ``pointer`` (e.g. ``/components/schemas/DrsObject``).

    ``strict`` also forbids properties the spec does not define on the DRS objects themselves.
    """
    validator = Draft4Validator(
        {"$ref": f"{SPEC_URI}#{pointer}"}, registry=REGISTRIES[strict], format_checker=Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(instance), key=lambda error: list(error.path))
    assert not errors, "; ".join(f"{list(error.path)}: {error.message}" for error in errors)


def assert_response_valid(response, response_name: str, *, strict: bool = True) -> Any:
    """Validate a response's JSON body against ``#/components/responses/<response_name>``."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert_valid(body, f"/components/responses/{response_name}/content/application~1json/schema", strict=strict)
    return body


def assert_rfc3339(value: str) -> None:
    assert value.endswith("Z") and "T" in value, value
    datetime.fromisoformat(value)


@pytest.fixture
def owner(db):
    return get_user_model().objects.create_user(OWNER, password="owner-password")


@pytest.fixture
def stranger(db):
    return get_user_model().objects.create_user("Webin-9999", password="stranger-password")


def write_file(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def download_for(results_dir: Path, relative_path: str, content: bytes, alias: str, file_type: str) -> dict:
    write_file(results_dir / relative_path, content)
    return {
        "alias": alias,
        "description": f"{file_type} output",
        "file_type": file_type,
        "relative_path": relative_path,
        "size_bytes": len(content),
        "md5": hashlib.md5(content).hexdigest(),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


@dataclass
class AnalysisWithFiles:
    study: Study
    analysis: Analysis
    results_dir: Path
    contents: dict[str, bytes]


def make_analysis(
    storage: StorageConfig, n: int, *, private: bool = False, owner: str = "", study: Study | None = None
) -> AnalysisWithFiles:
    """A study (or the given one), sample, run and a completed analysis whose downloads exist on disk."""
    ena_study = ENAStudy.objects.create(accession=f"PRJEB9{n:04d}", ena_accessions=[f"PRJEB9{n:04d}"])
    ena_sample = ENASample.objects.create(accession=f"SAMEA9{n:05d}", study=ena_study)
    ena_run = ENARun.objects.create(accession=f"ERR9{n:05d}", study=ena_study, sample=ena_sample)
    privacy = {"is_private": private, "webin_submitter": owner}
    if study is None:
        study = Study.objects.create(
            ena_study=ena_study, title=f"DRS study {n}", ena_accessions=[ena_study.accession], **privacy
        )
    sample = Sample.objects.create(ena_sample=ena_sample, ena_accessions=[ena_sample.accession], **privacy)
    sample.studies.add(study)
    run = Run.objects.create(ena_run=ena_run, study=study, sample=sample, ena_accessions=[ena_run.accession], **privacy)
    analysis = Analysis.objects.create(
        study=study, sample=sample, run=run, pipeline_name="raw-reads", pipeline_version="1.0.0", **privacy
    )
    analysis.refresh_from_db()
    study.refresh_from_db()
    results_dir = Path(storage.results_root) / study.accession / analysis.accession
    contents = {
        f"{analysis.accession}_contigs.fasta": f">contig_1 {analysis.accession}\nACGTACGTTTGA\n".encode() * 50,
        f"{analysis.accession}_profile.tsv": f"profile\thits\nPF00001\t{n}\n".encode(),
    }
    downloads = [
        download_for(results_dir, f"sequences/{alias}", content, alias, alias.rsplit(".", 1)[-1])
        for alias, content in contents.items()
    ]
    Analysis.objects.filter(pk=analysis.pk).update(downloads=downloads, state=Analysis.State.COMPLETED)
    analysis.refresh_from_db()
    return AnalysisWithFiles(study=study, analysis=analysis, results_dir=results_dir, contents=contents)
