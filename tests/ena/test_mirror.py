"""The local ENA mirror itself: generated data, ENA's field sets, defaults and answers, private data,
suppressed records, the control endpoint, ranges."""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import re
import shutil
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from devtools.ena_mirror.generator import (
    GENERATOR_VERSION,
    GENOME_SPECS,
    LAYOUT_BLANKS_RUN,
    LAYOUT_BROKEN_RUN,
    LAYOUT_ILLUMINA_NAMES,
    LAYOUT_ILLUMINA_NAMES_RUN,
    LAYOUT_PAIRS,
    LAYOUT_SINGLE_RUN,
    LAYOUT_SUPPRESSED_RUN,
    LAYOUT_THREE_FILE_RUN,
    LAYOUT_UNPAIRED_READS,
    LAYOUT_UNTAKEABLE_RUN,
    LAYOUTS_STUDY_ACCESSION,
    LAYOUTS_STUDY_TITLE,
    PLANTED_PROTEINS,
    PLANTED_RRNA,
    PRIVATE_STUDY_ACCESSION,
    PRIVATE_STUDY_RUN,
    PRIVATE_STUDY_WEBIN_ACCOUNT,
    SYNTHETIC_SAMPLES,
    SYNTHETIC_STUDY_ACCESSION,
    StudyRecord,
    ensure_mirror_data,
    generate_amplicon_study,
    generate_layouts_study,
    large_study_record,
    mirror_webin_accounts,
    read_studies,
    study_path,
    synthetic_genomes,
)
from devtools.ena_mirror.layout import webin_accounts_path
from devtools.ena_mirror.portal_fields import (
    FILEREPORT_DEFAULT_FIELDS,
    READ_RUN_RETURN_FIELDS,
    RETURN_FIELDS,
    SAMPLE_RETURN_FIELDS,
    STUDY_RETURN_FIELDS,
)
from devtools.ena_mirror.real_genes import (
    FN3,
    GLOBIN,
    PKINASE,
    RRNA_FASTA,
    build_proteins,
    build_rrna,
    load_proteins,
    load_rrna,
)
from devtools.ena_mirror.server import MirrorHandle, run_mirror_in_thread
from devtools.ena_mirror.simulate import STOP_CODONS, reverse_complement
from ena.portal.types import ANALYSIS_FIELDS, RUN_FIELDS, SAMPLE_FIELDS, STUDY_FIELDS
from tests.ena.conftest import WEBIN_ACCOUNT, WEBIN_PASSWORD
from tests.ena.contract import ENA_FILEREPORT_DEFAULT_FIELDS

PFAM_MODELS_DIR = Path(__file__).resolve().parents[2] / "workflows/pipelines/raw_reads/models/pfam"
HMMER_EXAMPLES = Path("/usr/share/doc/hmmer/examples/tutorial")
BARRNAP_DB = Path("/usr/share/barrnap/db")
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
    genomes = synthetic_genomes()
    assert generate_layouts_study(tmp_path / "a", genomes=genomes) == generate_layouts_study(
        tmp_path / "b", genomes=genomes
    )


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


def test_genomes_carry_the_real_proteins_reverse_translated():
    """Planted genes encode the real proteins (Pfam seed members, 7LESS_DROME, globins) chosen per genome."""
    real = load_proteins()
    for genome, chosen, (_name, _length, gc) in zip(synthetic_genomes(), PLANTED_PROTEINS, GENOME_SPECS, strict=True):
        assert sorted(gene.label for gene in genome.planted) == sorted(chosen)
        for gene in genome.planted:
            dna = genome.sequence[gene.start : gene.end]
            dna = dna if gene.strand == "+" else reverse_complement(dna)
            assert dna == genome.planted_sequence(gene)
            # a complete ORF on the genome: ATG, no internal stop, a stop codon, encoding the real protein
            assert dna.startswith("ATG") and dna[-3:] in STOP_CODONS and len(dna) == 3 * len(gene.protein) + 3
            assert translated(dna) == gene.protein + "*" == real[gene.label].protein + "*"
            # reverse-translated at the genome's composition: the gene looks like its neighbours
            assert abs(gc_fraction(dna) - gc) < 0.06, (gene.label, gc_fraction(dna), gc)
    families = [{f for name in chosen for f in real[name].families} for chosen in PLANTED_PROTEINS]
    # different families per genome; genome 3 has no fibronectin type III protein
    assert families == [{PKINASE, FN3}, {GLOBIN, FN3}, {PKINASE, GLOBIN}]


def test_rrna_operons_are_planted_once_per_genome_as_recorded(mirror_data_dir):
    rrna = load_rrna()
    genomes = synthetic_genomes()
    assert [len(genome.planted_rna) for genome in genomes] == [2, 2, 0]
    for genome, operons in zip(genomes, PLANTED_RRNA, strict=True):
        assert [gene.label for gene in genome.planted_rna] == [name for operon in operons for name in operon]
        for gene in genome.planted_rna:
            assert genome.rna_sequence(gene) == rrna[gene.label].sequence
            # once in all the genomes, on either strand: no repeat for the assembly to collapse
            sequence = rrna[gene.label].sequence
            assert (
                sum(g.sequence.count(sequence) + g.sequence.count(reverse_complement(sequence)) for g in genomes) == 1
            )
    table = (mirror_data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.rrna.tsv").read_text().splitlines()
    assert table[0].split("\t") == ["genome", "gene", "kingdom", "type", "model", "start", "end", "strand"]
    rows = [line.split("\t") for line in table[1:]]
    assert [(r[0], r[2], r[3], r[4]) for r in rows] == [
        ("synthetic_genome_1", "bacteria", "SSU", "16S_rRNA"),
        ("synthetic_genome_1", "bacteria", "5S", "5S_rRNA"),
        ("synthetic_genome_2", "archaea", "SSU", "16S_rRNA"),
        ("synthetic_genome_2", "archaea", "5S", "5S_rRNA"),
    ]
    planted = (mirror_data_dir / "genomes" / f"{SYNTHETIC_STUDY_ACCESSION}.planted.tsv").read_text().splitlines()
    assert planted[0].split("\t")[:4] == ["genome", "gene", "protein", "pfam"]
    assert {line.split("\t")[3] for line in planted[1:]} == {PKINASE, FN3, GLOBIN, f"{FN3},{PKINASE}"}


@pytest.mark.skipif(not (HMMER_EXAMPLES.is_dir() and BARRNAP_DB.is_dir()), reason="hmmer-examples/barrnap absent")
def test_cached_real_genes_are_what_the_debian_packages_give():
    """The committed proteins and rRNA genes are rebuilt identically from the installed packages."""
    assert {p.name: p for p in build_proteins()} == load_proteins()
    rebuilt = build_rrna()
    assert {gene.name: gene for gene, _command in rebuilt} == load_rrna()
    assert all(f"command={command}" in RRNA_FASTA.read_text() for _gene, command in rebuilt)


def _genome_orfs(genomes) -> list[str]:
    """The genomes' ORFs as FASTA records: every stop-free stretch of >= 60 codons from its first ATG."""
    records = []
    for genome in genomes:
        for strand_name, strand in (("+", genome.sequence), ("-", reverse_complement(genome.sequence))):
            for frame in range(3):
                for index, chunk in enumerate(translated(strand[frame : len(strand) - 2]).split("*")):
                    start = chunk.find("M")
                    if start >= 0 and len(chunk) - start >= 60:
                        records.append(f">{genome.name}_{strand_name}{frame}_{index}\n{chunk[start:]}")
    return records


@pytest.mark.skipif(shutil.which("hmmsearch") is None, reason="HMMER not installed")
def test_pfam_models_find_the_planted_proteins_and_nothing_else(tmp_path):
    """HMMER's verdict with the pipeline's models and cut-offs on every ORF of the genomes: each planted
    protein is hit by the models of its domains, and no other ORF is hit."""
    genomes = synthetic_genomes()
    real = load_proteins()
    proteins = tmp_path / "orfs.faa"
    records = _genome_orfs(genomes)
    proteins.write_text("\n".join(records) + "\n")
    hits: set[tuple[str, str]] = set()
    for model in sorted(PFAM_MODELS_DIR.glob("*.hmm")):
        has_ga = any(line.startswith("GA ") for line in model.read_text().splitlines())
        table = tmp_path / f"{model.stem}.tbl"
        cutoffs = ["--cut_ga"] if has_ga else ["-E", "1e-5", "--domE", "1e-5"]
        subprocess.run(
            ["hmmsearch", *cutoffs, "--tblout", table, "-o", "/dev/null", model, proteins],
            check=True,
            capture_output=True,
        )
        for line in table.read_text().splitlines():
            if line and not line.startswith("#"):
                fields = line.split()
                hits.add((fields[0], fields[3] if fields[3] != "-" else fields[2]))
    sequences = dict(record[1:].split("\n") for record in records)
    expected = set()
    for genome in genomes:
        for gene in genome.planted:
            orf = next(name for name, seq in sequences.items() if seq.endswith(gene.protein[1:]))
            expected |= {(orf, family) for family in real[gene.label].families}
    assert len(records) > 150
    assert hits == expected


@pytest.mark.skipif(shutil.which("barrnap") is None, reason="barrnap not installed")
def test_barrnap_finds_the_planted_rrna_genes(tmp_path):
    """barrnap's bacterial and archaeal models find each planted gene where it was planted, on its
    strand, and nothing else; genome 3 has none."""
    genomes = synthetic_genomes()
    fasta = tmp_path / "genomes.fasta"
    fasta.write_text("".join(f">{genome.name}\n{genome.sequence}\n" for genome in genomes))
    rrna = load_rrna()
    for kingdom, short in (("bacteria", "bac"), ("archaea", "arc")):
        gff = subprocess.run(
            ["barrnap", "--quiet", "--kingdom", short, fasta], capture_output=True, text=True, check=True
        ).stdout
        found = [line.split("\t") for line in gff.splitlines() if line and not line.startswith("#")]
        planted = [(genome.name, gene) for genome in genomes for gene in genome.planted_rna]
        # every planted gene (of any kingdom: the 16S models cross-hit) is found overlapping its place
        assert len(found) == len(planted), found
        for fields in found:
            genome, start, end, strand = fields[0], int(fields[3]), int(fields[4]), fields[6]
            name = fields[8].split(";")[0].removeprefix("Name=")
            match = [g for n, g in planted if n == genome and g.start < end and start <= g.end]
            assert len(match) == 1 and match[0].strand == strand
            assert rrna[match[0].label].model == name
            own = rrna[match[0].label].kingdom == kingdom
            if own:  # its own kingdom's model covers it (nearly) end to end
                assert abs(start - (match[0].start + 1)) <= 10 and abs(end - match[0].end) <= 10
        assert "synthetic_genome_3" not in {fields[0] for fields in found}


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
    filereport = ena_mirror.portal_api_url + "filereport"
    bad = httpx.get(filereport, params={"accession": "nope", "result": "read_run", "format": "json"})
    assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/json"
    assert bad.json() == {
        "status": 400,
        "error": "Bad Request",
        "message": "Invalid accession: nope",
        "path": "/ena/portal/api/filereport",
    }
    bad_tsv = httpx.get(filereport, params={"accession": "nope", "result": "read_run"})
    assert bad_tsv.status_code == 400 and bad_tsv.text == "Invalid accession: nope"
    unknown = {"accession": "ERR0000001", "result": "read_run"}
    answer = httpx.get(filereport, params={**unknown, "format": "json"})
    assert answer.status_code == 204 and answer.content == b"" and "Content-Type" not in answer.headers
    tsv_unknown = httpx.get(filereport, params=unknown)  # ENA's TSV: a header line and no rows
    assert (
        tsv_unknown.status_code == 200 and tsv_unknown.text == "\t".join(FILEREPORT_DEFAULT_FIELDS["read_run"]) + "\n"
    )
    none = httpx.get(url, params={**params, "query": 'study_accession="PRJEB99999"', "format": "json"})
    assert none.status_code == 200 and none.json() == []


def portal(mirror: MirrorHandle, endpoint: str, auth: tuple[str, str] | None = None, **params: str) -> httpx.Response:
    return httpx.get(mirror.portal_api_url + endpoint, params={**params, "format": "json"}, auth=auth)


def test_the_clients_field_lists_are_all_in_enas_real_field_sets():
    """What the platform asks for is what ENA can answer (or ENA would refuse the whole request)."""
    for result, fields in (("study", STUDY_FIELDS), ("sample", SAMPLE_FIELDS), ("read_run", RUN_FIELDS)):
        assert set(fields) <= RETURN_FIELDS[result], (result, set(fields) - RETURN_FIELDS[result])
    assert set(ANALYSIS_FIELDS) <= RETURN_FIELDS["analysis"]
    # ENA's sample result names its study by project accession only
    assert "study_accession" in RETURN_FIELDS["sample"] and "secondary_study_accession" not in RETURN_FIELDS["sample"]


def test_every_real_field_is_accepted_and_unknown_ones_are_refused(ena_mirror):
    for result, fields, query in (
        ("study", STUDY_RETURN_FIELDS, 'study_accession="PRJEB90001"'),
        ("sample", SAMPLE_RETURN_FIELDS, 'study_accession="PRJEB90001"'),
        ("read_run", READ_RUN_RETURN_FIELDS, 'study_accession="PRJEB90001"'),
    ):
        response = portal(ena_mirror, "search", result=result, query=query, fields=",".join(fields))
        assert response.status_code == 200, response.text
        rows = response.json()
        assert rows and all(set(row) == set(fields) and all(isinstance(v, str) for v in row.values()) for row in rows)
    # fields the platform's client asks for, which the mirror used to refuse; a record without them answers ""
    asked = "submitted_ftp,sra_ftp,sample_title,lat,lon,location,host_tax_id,host_scientific_name,host_sex"
    (run,) = portal(ena_mirror, "filereport", accession="ERR9000001", result="read_run", fields=asked).json()
    assert run["sample_title"] == "Synthetic mock community sample 1" and run["lat"] == "52.08"
    assert run["sra_ftp"] == run["submitted_ftp"] == run["host_tax_id"] == run["host_sex"] == ""

    def refused(response: httpx.Response, message: str) -> bool:
        return response.status_code == 400 and response.json()["message"] == message

    fields = "sample_accession,secondary_study_accession"  # real for read_run, not for sample
    sample = portal(ena_mirror, "search", result="sample", query='study_accession="PRJEB90001"', fields=fields)
    assert refused(sample, "Invalid fieldName(s) supplied: secondary_study_accession")
    unknown = portal(ena_mirror, "search", result="study", query="", fields="study_accession,no_such,nor_this")
    assert refused(unknown, "Invalid fieldName(s) supplied: no_such,nor_this")
    file_query = portal(ena_mirror, "search", result="read_run", query='fastq_bytes="1"', fields="run_accession")
    assert refused(file_query, "Invalid column (fastq_bytes) has been provided in query")


def test_default_fields_are_enas(ena_mirror):
    host = f"{ena_mirror.host}:{ena_mirror.port}"
    (run,) = portal(ena_mirror, "filereport", accession=LAYOUT_SINGLE_RUN, result="read_run").json()
    assert list(run) == list(ENA_FILEREPORT_DEFAULT_FIELDS)
    assert run["fastq_ftp"] == f"{host}/vol1/fastq/ERR900/001/{LAYOUT_SINGLE_RUN}/{LAYOUT_SINGLE_RUN}.fastq.gz"
    assert run["submitted_ftp"] == f"{host}/vol1/run/ERR900/{LAYOUT_SINGLE_RUN}/layout_single_reads.fastq.gz"
    assert run["submitted_md5"] == run["fastq_md5"] and run["sra_ftp"] == run["sra_bytes"] == run["sra_md5"] == ""
    submitted = httpx.get(f"http://{run['submitted_ftp']}")
    assert submitted.status_code == 200 and hashlib.md5(submitted.content).hexdigest() == run["submitted_md5"]
    for result, query, primary in (
        ("study", 'study_accession="PRJEB90001"', "study_accession"),
        ("sample", 'study_accession="PRJEB90001"', "sample_accession"),
        ("read_run", 'study_accession="PRJEB90001"', "run_accession"),
    ):
        rows = portal(ena_mirror, "search", result=result, query=query).json()
        assert rows and all(list(row) == [primary, "description"] for row in rows)


def test_layouts_study_files_match_their_advertised_md5_size_and_read_count(mirror_data_dir):
    """Every file of the new studies is real gzipped FASTQ; sizes, md5s and counts say what is in them."""
    records = {r.accession: r for r in read_studies(mirror_data_dir)}
    layouts, private = records[LAYOUTS_STUDY_ACCESSION], records[PRIVATE_STUDY_ACCESSION]
    assert layouts.study["study_title"] == LAYOUTS_STUDY_TITLE and layouts.suppressed == [LAYOUT_SUPPRESSED_RUN]
    runs = {run["run_accession"]: run for run in [*layouts.runs, *private.runs]}
    assert sorted(runs) == [f"ERR900040{i}" for i in range(1, 8)] + [PRIVATE_STUDY_RUN]

    def reads(path: str) -> list[str]:
        lines = gzip.decompress((mirror_data_dir / path).read_bytes()).decode().splitlines()
        assert len(lines) % 4 == 0 and all(len(seq) == 150 for seq in lines[1::4]) and set(lines[2::4]) == {"+"}
        return [header.split()[0] for header in lines[0::4]]

    counted = {}
    for accession, run in runs.items():
        paths = run["fastq_ftp"].split(";")
        md5s, sizes = run["fastq_md5"].split(";"), run["fastq_bytes"].split(";")
        assert len(paths) == len(md5s) == len(sizes)
        for path, md5, size in zip(paths, md5s, sizes, strict=True):
            data = (mirror_data_dir / path).read_bytes()
            assert len(data) == int(size) and path.startswith(f"vol1/fastq/ERR900/00{accession[-1]}/{accession}/")
            assert hashlib.md5(data).hexdigest() == md5 or (accession == LAYOUT_BROKEN_RUN and md5 == "")
        counted[accession] = [reads(path) for path in paths]
        for key in ("submitted_ftp", "submitted_md5", "submitted_bytes"):
            assert len(run.get(key, "").split(";")) == (len(paths) if run.get("submitted_ftp") else 1)
        if run.get("submitted_ftp"):
            for path, md5 in zip(run["submitted_ftp"].split(";"), run["submitted_md5"].split(";"), strict=True):
                assert hashlib.md5((mirror_data_dir / path).read_bytes()).hexdigest() == md5

    pairs = LAYOUT_PAIRS
    single = runs[LAYOUT_SINGLE_RUN]
    assert single["library_layout"] == "SINGLE" and [len(f) for f in counted[LAYOUT_SINGLE_RUN]] == [pairs]
    assert single["read_count"] == str(pairs) and single["base_count"] == str(150 * pairs)
    blank = runs[LAYOUT_BLANKS_RUN]
    for name in ("library_layout", "read_count", "base_count", "instrument_model", "first_public", "sample_accession"):
        assert blank[name] == "", name
    assert blank["secondary_sample_accession"] == "ERS9000402" and [len(f) for f in counted[LAYOUT_BLANKS_RUN]] == [
        pairs,
        pairs,
    ]
    (blank_sample,) = [s for s in layouts.samples if s["secondary_sample_accession"] == "ERS9000402"]
    assert blank_sample["sample_accession"] == ""
    # three files, the unpaired one first; read_count counts spots: pairs plus unpaired reads
    three = runs[LAYOUT_THREE_FILE_RUN]
    unpaired, first, second = counted[LAYOUT_THREE_FILE_RUN]
    assert [p.rsplit("/", 1)[1] for p in three["fastq_ftp"].split(";")] == [
        "ERR9000403.fastq.gz",
        "ERR9000403_1.fastq.gz",
        "ERR9000403_2.fastq.gz",
    ]
    assert len(unpaired) == LAYOUT_UNPAIRED_READS and len(first) == len(second) == pairs and first == second
    assert not set(unpaired) & set(first)
    assert three["read_count"] == str(pairs + LAYOUT_UNPAIRED_READS)
    assert three["base_count"] == str(150 * (2 * pairs + LAYOUT_UNPAIRED_READS))
    broken = runs[LAYOUT_BROKEN_RUN]
    assert broken["fastq_md5"].endswith(";") and len(broken["fastq_md5"].split(";")) == 2
    assert (
        broken["fastq_md5"].split(";")[0]
        == hashlib.md5((mirror_data_dir / broken["fastq_ftp"].split(";")[0]).read_bytes()).hexdigest()
    )
    untakeable = runs[LAYOUT_UNTAKEABLE_RUN]
    lane1, lane2 = counted[LAYOUT_UNTAKEABLE_RUN]
    assert untakeable["library_layout"] == "PAIRED" and not set(lane1) & set(lane2)  # no mates to pair
    assert [p.rsplit("/", 1)[1] for p in untakeable["fastq_ftp"].split(";")] == [
        "ERR9000405_lane1.fastq.gz",
        "ERR9000405_lane2.fastq.gz",
    ]
    illumina = runs[LAYOUT_ILLUMINA_NAMES_RUN]
    assert illumina["fastq_ftp"].split(";") == [
        f"vol1/fastq/ERR900/006/ERR9000406/{name}" for name in LAYOUT_ILLUMINA_NAMES
    ]
    assert counted[LAYOUT_ILLUMINA_NAMES_RUN][0] == counted[LAYOUT_ILLUMINA_NAMES_RUN][1]
    assert private.private and private.webin_submitter == PRIVATE_STUDY_WEBIN_ACCOUNT
    assert [len(f) for f in counted[PRIVATE_STUDY_RUN]] == [pairs, pairs]
    assert runs[PRIVATE_STUDY_RUN]["read_count"] == str(pairs)
    # every record field is ENA's and a string
    for record in (layouts, private):
        assert set(record.study) <= RETURN_FIELDS["study"]
        assert all(set(s) <= RETURN_FIELDS["sample"] for s in record.samples)
        assert all(set(r) <= RETURN_FIELDS["read_run"] for r in record.runs)


def test_layouts_study_is_served_as_enas(ena_mirror):
    """Blank values stay blank, the blank-accession sample is served, the suppressed run is not."""
    fields = ",".join(RUN_FIELDS)
    runs = portal(
        ena_mirror, "search", result="read_run", query=f'study_accession="{LAYOUTS_STUDY_ACCESSION}"', fields=fields
    )
    served = {row["run_accession"]: row for row in runs.json()}
    assert sorted(served) == [f"ERR900040{i}" for i in range(1, 7)]  # not the suppressed ERR9000407
    assert all(list(row) == list(RUN_FIELDS) for row in served.values())
    blank = served[LAYOUT_BLANKS_RUN]
    assert blank["sample_accession"] == blank["read_count"] == blank["library_layout"] == ""
    assert blank["secondary_sample_accession"] == "ERS9000402"
    samples = portal(ena_mirror, "search", result="sample", query=f'study_accession="{LAYOUTS_STUDY_ACCESSION}"')
    assert sorted(row["sample_accession"] for row in samples.json()) == [""] + [
        f"SAMEA9000040{i}" for i in (1, 3, 4, 5, 6, 7)
    ]
    suppressed = portal(ena_mirror, "filereport", accession=LAYOUT_SUPPRESSED_RUN, result="read_run")
    assert suppressed.status_code == 204 and suppressed.content == b""
    (broken,) = portal(ena_mirror, "filereport", accession=LAYOUT_BROKEN_RUN, result="read_run").json()
    assert broken["fastq_md5"].endswith(";") and broken["fastq_md5"].count(";") == 1


def test_records_with_a_blank_primary_accession_do_not_collide(ena_mirror):
    """Samples without BioSample accession (one without any accession) are all served, in a stable order."""
    record = copy.deepcopy(ena_mirror.store.study("PRJEB90001"))
    record.study.update(study_accession="PRJEB90008", secondary_study_accession="ERP900008")
    for index, sample in enumerate(record.samples, start=1):
        secondary = f"ERS900800{index}" if index <= 2 else ""
        sample.update(sample_accession="", secondary_sample_accession=secondary, study_accession="PRJEB90008")
    ena_mirror.store.put_study(record)
    query = {"result": "sample", "query": 'study_accession="PRJEB90008"', "fields": "sample_title"}
    rows = portal(ena_mirror, "search", **query).json()
    assert sorted(r["sample_title"] for r in rows) == [f"Synthetic mock community sample {i}" for i in range(1, 5)]
    assert all(r["sample_accession"] == "" for r in rows)
    pages = portal(ena_mirror, "search", limit="2", **query).json()
    pages += portal(ena_mirror, "search", limit="2", offset="2", **query).json()
    assert pages == rows


def test_suppressed_runs_and_samples_are_not_served(ena_mirror):
    def runs() -> list[str]:
        rows = portal(ena_mirror, "search", result="read_run", query='study_accession="PRJEB90001"').json()
        return [row["run_accession"] for row in rows]

    def filereport(accession: str) -> int:
        return portal(ena_mirror, "filereport", accession=accession, result="read_run").status_code

    assert runs() == ["ERR9000001", "ERR9000002", "ERR9000003", "ERR9000004"]
    ena_mirror.store.suppress("ERR9000001")
    assert runs() == ["ERR9000002", "ERR9000003", "ERR9000004"] and filereport("ERR9000001") == 204
    assert len(portal(ena_mirror, "filereport", accession="PRJEB90001", result="read_run").json()) == 3
    ena_mirror.store.suppress("ERS9000002")  # a sample, by its ENA accession: it and its run disappear
    samples = portal(ena_mirror, "search", result="sample", query='study_accession="PRJEB90001"').json()
    assert [s["sample_accession"] for s in samples] == ["SAMEA90000001", "SAMEA90000003", "SAMEA90000004"]
    assert runs() == ["ERR9000003", "ERR9000004"] and filereport("SAMEA90000002") == 204
    ena_mirror.store.unsuppress("ERR9000001")
    ena_mirror.store.unsuppress("ERS9000002")
    assert runs() == ["ERR9000001", "ERR9000002", "ERR9000003", "ERR9000004"] and filereport("ERR9000001") == 200
    ena_mirror.store.unsuppress(LAYOUT_SUPPRESSED_RUN)  # suppressed in its record: served once unsuppressed
    assert filereport(LAYOUT_SUPPRESSED_RUN) == 200
    with pytest.raises(KeyError):
        ena_mirror.store.suppress("ERR0000001")


def test_records_written_before_suppression_existed_still_load():
    data = StudyRecord(study={"study_accession": "PRJEB1"}, samples=[], runs=[]).to_json()
    del data["suppressed"]
    assert StudyRecord.from_json(data).suppressed == []


def test_private_study_and_its_fastq_need_its_submitters_credentials(ena_mirror, mirror_data_dir):
    password = mirror_webin_accounts(mirror_data_dir)[PRIVATE_STUDY_WEBIN_ACCOUNT]
    owner = (PRIVATE_STUDY_WEBIN_ACCOUNT, password)
    query = {"result": "study", "query": f'study_accession="{PRIVATE_STUDY_ACCESSION}"'}
    assert portal(ena_mirror, "search", **query).json() == []
    assert portal(ena_mirror, "search", auth=(WEBIN_ACCOUNT, WEBIN_PASSWORD), **query).json() == []
    assert portal(ena_mirror, "search", auth=(PRIVATE_STUDY_WEBIN_ACCOUNT, "wrong"), **query).status_code == 401
    assert [r["study_accession"] for r in portal(ena_mirror, "search", auth=owner, **query).json()] == [
        PRIVATE_STUDY_ACCESSION
    ]
    assert portal(ena_mirror, "filereport", accession=PRIVATE_STUDY_RUN, result="read_run").status_code == 204
    (run,) = portal(ena_mirror, "filereport", auth=owner, accession=PRIVATE_STUDY_RUN, result="read_run").json()

    url = "http://" + run["fastq_ftp"].split(";")[0]
    path = url.split("/", 3)[3]
    data = (mirror_data_dir / path).read_bytes()
    missing = httpx.get(url.replace(PRIVATE_STUDY_RUN + "_1", PRIVATE_STUDY_RUN + "_9"))
    assert missing.status_code == 404
    for auth in (None, (WEBIN_ACCOUNT, WEBIN_PASSWORD), (PRIVATE_STUDY_WEBIN_ACCOUNT, "wrong"), ("Webin-0", "x")):
        refused = httpx.get(url, auth=auth)
        # the same answer as for a file that does not exist: nothing says the file is there
        assert refused.status_code == 404 and refused.json()["message"] == f"No such file: /{path}", auth
        assert httpx.head(url, auth=auth).status_code == 404
    served = httpx.get(url, auth=owner)
    assert served.status_code == 200 and served.content == data
    ranged = httpx.get(url, auth=owner, headers={"Range": "bytes=10-"})
    assert ranged.status_code == 206 and ranged.content == data[10:]
    public = httpx.get(f"{ena_mirror.base_url}/vol1/fastq/ERR900/001/ERR9000401/ERR9000401.fastq.gz")
    assert public.status_code == 200  # public files need no credentials


def test_webin_accounts_file_is_made_once_private_and_merged(mirror_data_dir, tmp_path):
    path = webin_accounts_path(mirror_data_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    accounts = mirror_webin_accounts(mirror_data_dir)
    assert list(accounts) == [PRIVATE_STUDY_WEBIN_ACCOUNT] and len(accounts[PRIVATE_STUDY_WEBIN_ACCOUNT]) >= 24
    ensure_mirror_data(mirror_data_dir)  # nothing stale: the password stays
    assert mirror_webin_accounts(mirror_data_dir) == accounts
    assert mirror_webin_accounts(tmp_path) == {}
    with run_mirror_in_thread(mirror_data_dir, generate=False, webin_accounts={"Webin-1": "one"}) as mirror:
        assert mirror.store.webin_accounts == {**accounts, "Webin-1": "one"}
        path.write_text(json.dumps({**accounts, "Webin-2": "two"}))
        assert httpx.post(mirror.base_url + "/_mirror/reload").status_code == 200
        assert mirror.store.webin_accounts == {**accounts, "Webin-2": "two", "Webin-1": "one"}
    path.write_text(json.dumps(accounts))


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
