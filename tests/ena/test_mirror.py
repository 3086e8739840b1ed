"""The local ENA mirror itself: generated data, ENA response format, control endpoint, ranges."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from devtools.ena_mirror.generator import (
    GENERATOR_VERSION,
    GENOME_SPECS,
    PLANTED_FAMILY_COPIES,
    SYNTHETIC_SAMPLES,
    ensure_mirror_data,
    generate_amplicon_study,
    large_study_record,
    read_studies,
    study_path,
    synthetic_genomes,
)
from devtools.ena_mirror.simulate import STOP_CODONS, reverse_complement
from devtools.profile_families import FAMILIES, family_alignments

PROFILES_DIR = Path(__file__).resolve().parents[2] / "workflows/pipelines/raw_reads/profiles"
#: The standard genetic code, written out here independently of the generator's table.
CODE = dict(
    zip(
        (a + b + c for a in "TCAG" for b in "TCAG" for c in "TCAG"),
        "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG",
        strict=True,
    )
)


def translated(dna: str) -> str:
    return "".join(CODE[dna[i : i + 3]] for i in range(0, len(dna) - 2, 3))


def identity(a: str, b: str) -> float:
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def gc_fraction(dna: str) -> float:
    return sum(base in "GC" for base in dna) / len(dna)


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
    for genome, (_name, length, _gc) in zip(synthetic_genomes(), GENOME_SPECS, strict=True):
        assert 30_000 <= len(genome.sequence) <= 55_000
        assert abs(len(genome.sequence) - length) < 2_000  # planted genes count towards the target length
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


def test_genomes_carry_new_members_of_every_profile_family():
    """Planted genes encode proteins that are members of the families of the pipeline's seed alignments."""
    families = {family.name: family for family in family_alignments()}
    alignment_members = {seq for family in families.values() for _name, seq in family.members}
    proteins = []
    for genome, copies, (_name, _length, gc) in zip(
        synthetic_genomes(), PLANTED_FAMILY_COPIES, GENOME_SPECS, strict=True
    ):
        counts = {name: sum(g.label == name for g in genome.planted) for name in FAMILIES}
        assert list(counts.values()) == list(copies) and all(2 <= count <= 4 for count in copies)
        for gene in genome.planted:
            dna = genome.sequence[gene.start : gene.end]
            dna = dna if gene.strand == "+" else reverse_complement(dna)
            assert dna == genome.planted_sequence(gene)
            # a complete ORF on the genome: ATG, no internal stop, a stop codon, encoding the protein
            assert dna.startswith("ATG") and dna[-3:] in STOP_CODONS and len(dna) == 3 * len(gene.protein) + 3
            assert translated(dna) == gene.protein + "*"
            # a member of its family, at about the seed alignments' divergence, and of no other family
            ancestor = families[gene.label].ancestor
            assert len(gene.protein) == FAMILIES[gene.label] and 0.7 <= identity(gene.protein, ancestor) <= 0.9
            for other in families.values():
                if other.name != gene.label and len(other.ancestor) == len(gene.protein):
                    assert identity(gene.protein, other.ancestor) < 0.2
            assert gene.protein not in alignment_members
            # reverse-translated at the genome's composition: the gene looks like its neighbours
            assert abs(gc_fraction(dna) - gc) < 0.05
            proteins.append(gene.protein)
    assert len(set(proteins)) == len(proteins) == sum(map(sum, PLANTED_FAMILY_COPIES))


@pytest.mark.skipif(not (shutil.which("hmmbuild") and shutil.which("hmmsearch")), reason="HMMER not installed")
def test_hmmsearch_finds_each_planted_gene_with_its_own_profile_only(tmp_path):
    """HMMER's own verdict: profiles built from the bundled alignments hit every planted protein, and only
    with the profile of its family; the genomes' other (random) ORFs are not hit."""
    profiles = tmp_path / "profiles.hmm"
    for alignment in sorted(PROFILES_DIR.glob("*.afa")):
        built = tmp_path / f"{alignment.stem}.hmm"
        subprocess.run(
            ["hmmbuild", "--informat", "afa", "--amino", "-n", alignment.stem, built, alignment],
            check=True,
            capture_output=True,
        )
        profiles.write_text((profiles.read_text() if profiles.exists() else "") + built.read_text())
    genomes = synthetic_genomes()
    planted = {gene.name: gene.label for genome in genomes for gene in genome.planted}
    planted_proteins = [gene.protein for genome in genomes for gene in genome.planted]
    records = [f">{gene.name}\n{gene.protein}" for genome in genomes for gene in genome.planted]
    # the other ORFs: every stop-free stretch of >= 100 codons from its first ATG, on both strands,
    # except the planted genes' own (which may reach upstream of the planted ATG)
    for genome in genomes:
        for strand in (genome.sequence, reverse_complement(genome.sequence)):
            for frame in range(3):
                for index, chunk in enumerate(translated(strand[frame : len(strand) - 2]).split("*")):
                    start = chunk.find("M")
                    if start < 0 or len(chunk) - start < 100 or any(p[1:] in chunk for p in planted_proteins):
                        continue
                    records.append(f">{genome.name}_orf_{frame}_{index}\n{chunk[start:]}")
    proteins = tmp_path / "proteins.faa"
    proteins.write_text("\n".join(records) + "\n")
    table = tmp_path / "hits.tbl"
    subprocess.run(
        ["hmmsearch", "-E", "1e-5", "--tblout", table, "-o", "/dev/null", profiles, proteins],
        check=True,
        capture_output=True,
    )
    hits = [line.split() for line in table.read_text().splitlines() if line and not line.startswith("#")]
    assert len(records) > 150
    assert sorted((fields[0], fields[2]) for fields in hits) == sorted(planted.items())
    assert all(float(fields[4]) < 1e-20 for fields in hits)  # full-sequence E-values: unmistakable members


def test_stale_data_from_another_generator_version_is_regenerated(mirror_data_dir, tmp_path):
    data_dir = tmp_path / "mirror"
    shutil.copytree(mirror_data_dir, data_dir)
    current = study_path(data_dir, "PRJEB90001")
    stale = study_path(data_dir, "PRJEB90003")
    assert json.loads(current.read_text())["generator_version"] == GENERATOR_VERSION
    old = json.loads(stale.read_text())
    del old["generator_version"]  # what version 1 wrote
    stale.write_text(json.dumps(old))
    run = old["runs"][0]
    fastq = data_dir / run["fastq_ftp"]
    fastq.write_bytes(b"stale")
    untouched = current.stat().st_mtime_ns

    ensure_mirror_data(data_dir)
    assert json.loads(stale.read_text())["generator_version"] == GENERATOR_VERSION
    assert hashlib.md5(fastq.read_bytes()).hexdigest() == run["fastq_md5"]  # same generator, same bytes
    assert current.stat().st_mtime_ns == untouched


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
