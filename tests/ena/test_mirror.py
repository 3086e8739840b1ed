"""The local ENA mirror itself: generated data, ENA response format, control endpoint, ranges."""

from __future__ import annotations

import gzip
import hashlib
import re

import httpx

from ena.mirror.generator import (
    SYNTHETIC_SAMPLES,
    generate_amplicon_study,
    large_study_record,
    read_studies,
    synthetic_genomes,
)
from ena.mirror.simulate import STOP_CODONS, reverse_complement


def test_synthetic_study_files_match_their_advertised_md5_size_and_read_count(mirror_data_dir):
    record = next(r for r in read_studies(mirror_data_dir) if r.accession == "PRJEB90001")
    assert len(record.samples) == len(SYNTHETIC_SAMPLES) == len(record.runs)
    for run in record.runs:
        paths = run["fastq_ftp"].split(";")
        assert len(paths) == 2 and all(p.startswith("vol1/fastq/ERR900/") for p in paths)
        for path, md5, size in zip(paths, run["fastq_md5"].split(";"), run["fastq_bytes"].split(";"), strict=True):
            data = (mirror_data_dir / path).read_bytes()
            assert hashlib.md5(data).hexdigest() == md5 and len(data) == int(size)
        lines = gzip.decompress((mirror_data_dir / paths[1]).read_bytes()).decode().splitlines()
        assert len(lines) == 4 * int(run["read_count"])
        assert re.fullmatch(rf"@{run['run_accession']}\.1 1/2", lines[0])
        assert len(lines[1]) == 150 == len(lines[3]) and set(lines[1]) <= set("ACGT") and lines[2] == "+"


def test_generation_is_deterministic(tmp_path):
    first = generate_amplicon_study(tmp_path / "a")
    second = generate_amplicon_study(tmp_path / "b")
    assert first.runs == second.runs  # same md5s and sizes, byte-identical gzip
    assert large_study_record(100).runs == large_study_record(100).runs


def test_genomes_are_coding_like():
    for genome in synthetic_genomes():
        assert 30_000 <= len(genome.sequence) <= 55_000
        assert genome.gene_count >= 30
        # Long ORFs (>= 300 codons) on either strand: the genes the generator laid down.
        long_orfs = 0
        for strand in (genome.sequence, reverse_complement(genome.sequence)):
            for frame in range(3):
                codons = [strand[i : i + 3] for i in range(frame, len(strand) - 2, 3)]
                run = 0
                for codon in codons:
                    run = 0 if codon in STOP_CODONS else run + 1
                    long_orfs += run == 300
        assert long_orfs >= genome.gene_count // 4


def test_portal_answers_in_enas_format(ena_mirror):
    url = ena_mirror.portal_api_url + "search"
    params = {"result": "read_run", "query": 'study_accession="PRJEB90001"', "fields": "read_count,fastq_ftp"}
    rows = httpx.get(url, params={**params, "format": "json"}).json()
    assert list(rows[0]) == ["run_accession", "read_count", "fastq_ftp"]  # primary accession first, all strings
    assert rows[0]["read_count"] == "12000"
    tsv = httpx.get(url, params=params).text.splitlines()
    assert tsv[0] == "run_accession\tread_count\tfastq_ftp" and len(tsv) == 5
    bad = httpx.get(ena_mirror.portal_api_url + "filereport", params={"accession": "nope", "result": "read_run"})
    assert bad.status_code == 400 and "Invalid accession" in bad.json()["message"]
    unknown = httpx.get(
        ena_mirror.portal_api_url + "filereport", params={"accession": "ERR0000001", "result": "read_run"}
    )
    assert unknown.status_code == 204 and unknown.content == b""
    none = httpx.get(url, params={**params, "query": 'study_accession="PRJEB99999"', "format": "json"})
    assert none.status_code == 200 and none.json() == []


def test_faults_can_be_set_over_http(ena_mirror):
    control = ena_mirror.base_url + "/_mirror/faults"
    response = httpx.post(
        control,
        json={
            "rules": [{"kind": "status", "status": 429, "times": 2, "retry_after": 3}],
            "wrong_md5_runs": ["ERR9000001"],
        },
    )
    assert response.status_code == 200 and response.json()["wrong_md5_runs"] == ["ERR9000001"]
    search = ena_mirror.portal_api_url + "search?result=study&query=study_accession%3D%22PRJEB90001%22&format=json"
    first = httpx.get(search)
    assert first.status_code == 429 and first.headers["Retry-After"] == "3"
    assert httpx.get(search).status_code == 429
    assert httpx.get(search).status_code == 200
    assert httpx.post(control, json={"rules": [{"kind": "explode"}]}).status_code == 400
    assert httpx.delete(control).json() == {"rules": [], "wrong_md5_runs": []}


def test_fastq_files_support_open_ended_ranges(ena_mirror, mirror_data_dir):
    path = "vol1/fastq/ERR900/001/ERR9000001/ERR9000001_1.fastq.gz"
    data = (mirror_data_dir / path).read_bytes()
    partial = httpx.get(f"{ena_mirror.base_url}/{path}", headers={"Range": "bytes=100-"})
    assert partial.status_code == 206 and partial.content == data[100:]
    assert partial.headers["Content-Range"] == f"bytes 100-{len(data) - 1}/{len(data)}"
    assert httpx.get(f"{ena_mirror.base_url}/vol1/fastq/../../etc/passwd").status_code == 404
