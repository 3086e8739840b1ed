"""Pipeline definitions, typed parameters and their hash, inputs, the registry, the work area, checksums."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.checksums import file_checksums
from workflows.pipelines import get_pipeline
from workflows.pipelines.definition import AssemblyInputs, Engine, RunInputs, parameters_hash
from workflows.pipelines.raw_reads import RawReadsParameters
from workflows.pipelines.raw_reads.pipeline import PFAM_MODELS_DIR
from workflows.pipelines.raw_reads_nf import RawReadsNextflowPipeline
from workflows.pipelines.registry import UnknownPipeline, available_pipelines
from workflows.pipelines.workarea import WorkArea


def test_registry() -> None:
    pipeline = get_pipeline("raw-reads", "2.0.0")
    assert (pipeline.name, pipeline.version, pipeline.engine) == ("raw-reads", "2.0.0", Engine.SNAKEMAKE)
    assert pipeline.entry_point().name == "Snakefile" and pipeline.entry_point().is_file()
    assert ("raw-reads", "2.0.0") in available_pipelines()
    nf = get_pipeline("raw-reads-nf", RawReadsNextflowPipeline.version)
    assert nf.engine == Engine.NEXTFLOW and (nf.entry_point() / "main.nf").is_file()
    with pytest.raises(UnknownPipeline, match="raw-reads@2.0.0"):
        get_pipeline("raw-reads", "9.9.9")


def test_parameters_hash_is_sha256_of_canonical_json() -> None:
    params = RawReadsParameters(min_contig_length=500)
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert parameters_hash(params) == hashlib.sha256(canonical.encode()).hexdigest()
    # same values -> same hash whatever the construction; a changed value -> another hash
    assert parameters_hash(RawReadsParameters.model_validate({"min_contig_length": 500})) == parameters_hash(params)
    assert parameters_hash(RawReadsParameters()) != parameters_hash(params)


def test_parameters_are_validated() -> None:
    pipeline = get_pipeline("raw-reads", "2.0.0")
    assert pipeline.validate_parameters(None) == RawReadsParameters()
    assert pipeline.validate_parameters({"pfam_evalue": 0.01}).pfam_evalue == 0.01
    with pytest.raises(ValidationError):
        pipeline.validate_parameters({"rrna_length_cutoff": 1.5})
    with pytest.raises(ValidationError):
        pipeline.validate_parameters({"no_such_parameter": 1})
    with pytest.raises(ValidationError):
        RawReadsParameters(megahit_k_list="21,28")
    with pytest.raises(ValidationError):
        RawReadsParameters(megahit_k_list="39,21")
    with pytest.raises(ValidationError):
        RawReadsParameters(prodigal_mode="guess")


def test_inputs(tmp_path: Path, paired_reads) -> None:
    pipeline = get_pipeline("raw-reads", "2.0.0")
    inputs = RunInputs(fastq=paired_reads)
    assert inputs.paired and all(p.is_absolute() for p in inputs.fastq)
    pipeline.validate_inputs(inputs)
    with pytest.raises(FileNotFoundError):
        pipeline.validate_inputs(RunInputs(fastq=[tmp_path / "missing.fastq.gz"]))
    with pytest.raises(ValueError, match="takes reads inputs"):
        pipeline.validate_inputs(AssemblyInputs(contigs=paired_reads[0]))
    with pytest.raises(ValidationError):
        RunInputs(fastq=[])


def test_engine_config_carries_inputs_params_and_resources(paired_reads) -> None:
    pipeline = get_pipeline("raw-reads", "2.0.0")
    config = pipeline.engine_config(RunInputs(fastq=paired_reads), RawReadsParameters(translation_table=4))
    assert config["paired"] is True and config["reads"] == [str(p) for p in paired_reads]
    assert config["params"]["translation_table"] == 4
    assert config["resources"]["fastp"]["memory_mb"] >= 1500  # fastp reserves ~1.1 GB
    assert [Path(p).name for p in config["pfam_models"]] == ["Pkinase.hmm", "fn3.hmm", "globins4.hmm"]
    assert all(Path(p).parent == PFAM_MODELS_DIR for p in config["pfam_models"])
    assert Path(config["rrna_deoverlap"]).is_file()
    # every step of the definition has its rule in the Snakefile, and the reverse
    snakefile = pipeline.entry_point().read_text()
    rules = {line.split()[1].rstrip(":") for line in snakefile.splitlines() if line.startswith("rule ")}
    assert rules - {"all"} == set(pipeline.steps)


def test_work_area(tmp_path: Path) -> None:
    area = WorkArea.for_analysis("MGYA00000001", work_root=tmp_path, keep=False)
    assert area.root == (tmp_path / "MGYA00000001").resolve()
    assert all(d.is_dir() for d in (area.logs_dir, area.results_dir, area.tmp_dir, area.benchmarks_dir))
    assert area.path("results/x.txt") == area.root / "results/x.txt"
    with pytest.raises(ValueError):
        area.path("../elsewhere")
    with pytest.raises(ValueError):
        WorkArea.for_analysis("../MGYA1", work_root=tmp_path)
    assert area.environment()["TMPDIR"] == str(area.tmp_dir)
    area.write_json("pipeline/x.json", {"a": 1})
    assert area.read_json("pipeline/x.json") == {"a": 1}
    assert area.finish() is True and not area.root.exists()

    kept = WorkArea.for_analysis("MGYA00000002", work_root=tmp_path, keep=True)
    (kept.results_dir / "r.txt").write_text("r")
    assert kept.finish() is False
    assert (kept.results_dir / "r.txt").exists() and not kept.tmp_dir.exists()


def test_work_area_root_from_configuration(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EMG_STORAGE__WORK_ROOT", str(tmp_path / "configured"))
    monkeypatch.setenv("EMG_STORAGE__KEEP_WORK_DIRS", "false")
    from django.conf import settings

    # Django's settings object wins when configured; here it is read from the same environment.
    expected_root = settings.EMG_CONFIG.storage.work_root
    area = WorkArea.for_analysis("MGYA00000003")
    assert area.root.parent == Path(expected_root).resolve()


def test_file_checksums_streaming(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    sums = file_checksums(path, chunk_bytes=4096)
    assert sums.size_bytes == len(data)
    assert sums.md5 == hashlib.md5(data).hexdigest()
    assert sums.sha256 == hashlib.sha256(data).hexdigest()
