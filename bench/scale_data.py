"""Build a database of MGnify's size for ``bench/api_scale.py``: studies, samples, runs and analyses with
realistic JSON results, generated inside Postgres (``INSERT … SELECT … FROM generate_series``), so that the
rows never pass through Python.

At ``scale=1``: 20,000 studies, 200,000 samples, 1,000,000 runs and about 500,000 analyses, each completed
analysis carrying quality control with per-position quality curves, results, Pfam and rRNA annotations,
downloads and provenance shaped by :mod:`analyses.schemas` (the JSON templates are built from those schemas
and validated, then varied per row in SQL). One study is large (``BIG_STUDY_RUNS`` runs, 95% analysed), as
MGnify's largest are; the rest share the other runs. One study in 50 is private to a Webin submitter, and
everything under it is private too, so the visibility filters do real work.

The schema comes from the project's migrations (``manage.py migrate``), so the indexes measured are the
project's own. A ``bench_scale`` table records the scale, so an existing database of the same scale is reused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analyses.public_counts import RECOUNT_SQL  # noqa: E402

FULL_STUDIES = 20_000
FULL_SAMPLES = 200_000
FULL_RUNS = 1_000_000
BIG_STUDY_RUNS = 10_000
PRIVATE_EVERY = 50
RUNS_PER_SAMPLE = 5
PFAM_MODELS = 40
PFAM_HITS = 60
RRNA_GENES = 8
WEBIN_OWNERS = 7

BIOME_TREE = {
    "Environmental": {
        "Aquatic": ["Marine", "Freshwater", "Estuary", "Sediment"],
        "Terrestrial": ["Soil", "Volcanic", "Deep subsurface"],
        "Air": ["Indoor", "Outdoor"],
    },
    "Host-associated": {
        "Human": ["Digestive system", "Skin", "Oral", "Respiratory system"],
        "Mammals": ["Digestive system", "Skin"],
        "Plants": ["Rhizosphere", "Phylloplane"],
    },
    "Engineered": {
        "Wastewater": ["Activated Sludge", "Industrial wastewater"],
        "Bioreactor": ["Continuous culture"],
    },
}
TITLE_WORDS = [
    "gut", "soil", "marine", "sediment", "rhizosphere", "wastewater", "skin", "oral", "permafrost", "hot spring",
    "infant", "antibiotic", "time series", "coral", "biofilm", "compost", "lake", "river", "mouse", "cattle",
]  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    """Row counts at a scale factor (1.0 = MGnify's size)."""

    studies: int
    samples: int
    runs: int
    big_study_runs: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        runs = max(1_000, round(FULL_RUNS * scale))
        return cls(
            studies=max(20, round(FULL_STUDIES * scale)),
            samples=runs // RUNS_PER_SAMPLE,
            runs=runs,
            big_study_runs=max(100, round(BIG_STUDY_RUNS * min(1.0, scale * 10))),
        )


def admin_url(database_url: str) -> str:
    """The same server's ``postgres`` database, for CREATE/DROP DATABASE."""
    base, _, _name = database_url.rpartition("/")
    return f"{base}/postgres"


def existing_scale(database_url: str) -> float | None:
    """The scale the database was built at, or None when it does not exist or is incomplete."""
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            row = conn.execute("SELECT scale FROM bench_scale WHERE complete").fetchone()
    except psycopg.Error:
        return None
    return float(row[0]) if row else None


def recreate_database(database_url: str) -> None:
    name = database_url.rpartition("/")[2]
    with psycopg.connect(admin_url(database_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(database_url: str) -> None:
    env = {**os.environ, "EMG_DATABASE__URL": database_url, "DJANGO_SETTINGS_MODULE": "emgapiv2.settings"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], check=True, env=env, cwd=ROOT)


# ---------------------------------------------------------------------------------------------- JSON templates


def json_templates() -> dict[str, str]:
    """One completed analysis' JSON columns, built and validated with the project's schemas."""
    sys.path.insert(0, str(ROOT))
    from analyses.management.commands.make_dev_data import (
        downloads_for,
        provenance_for,
        quality_control_for,
        results_for,
    )
    from analyses.models import Analysis
    from analyses.schemas import (
        AnalysisAnnotations,
        LengthHistogram,
        PfamAnnotations,
        PfamDomainCount,
        PfamThreshold,
        ProteinDomainHit,
        QualityCurve,
        RrnaAnnotations,
        RrnaCount,
        RrnaGene,
    )

    quality = quality_control_for(7).model_copy(
        update={
            "quality_curves": [
                QualityCurve(
                    mate=mate,
                    before_filtering=[round(36 - position * 0.04 - (position % 7) * 0.1, 2) for position in range(151)],
                    after_filtering=[round(37 - position * 0.02, 2) for position in range(151)],
                )
                for mate in ("read1", "read2")
            ]
        }
    )
    results = results_for("MGYA_TEMPLATE", 7, assembly=False).model_copy(
        update={
            "contig_lengths": LengthHistogram(
                bin_edges=[200 * 2**step for step in range(13)], counts=[40_000 // (step + 1) for step in range(12)]
            )
        }
    )
    models = [(f"PF{index * 37 + 5:05d}.{index % 30 + 1}", f"Domain_{index}") for index in range(PFAM_MODELS)]
    annotations = AnalysisAnnotations(
        pfam=PfamAnnotations(
            models=[accession for accession, _ in models],
            counts=[
                PfamDomainCount(
                    accession=accession,
                    name=name,
                    description=f"{name} family",
                    domains=500 - index * 11,
                    proteins=480 - index * 11,
                    threshold=PfamThreshold.GATHERING,
                )
                for index, (accession, name) in enumerate(models)
            ],
            hits=[
                ProteinDomainHit(
                    protein=f"contig_{hit}_{hit % 9 + 1}",
                    accession=models[hit % PFAM_MODELS][0],
                    name=models[hit % PFAM_MODELS][1],
                    score=round(150 - hit * 0.7, 1),
                    i_evalue=float(f"1e-{hit % 40 + 5}"),
                    envelope_start=1 + hit % 50,
                    envelope_end=200 + hit % 90,
                )
                for hit in range(PFAM_HITS)
            ],
        ),
        rrna=RrnaAnnotations(
            counts=[
                RrnaCount(kingdom="bacteria", gene="SSU", count=5),
                RrnaCount(kingdom="bacteria", gene="5S", count=3),
            ],
            genes=[
                RrnaGene(
                    contig=f"contig_{gene}",
                    start=100 + gene,
                    end=1600 + gene,
                    strand="+",
                    kingdom="bacteria",
                    gene="SSU" if gene < 5 else "5S",
                    model="16S_rRNA" if gene < 5 else "5S_rRNA",
                    evalue=1e-300,
                )
                for gene in range(RRNA_GENES)
            ],
        ),
    )
    downloads = [file.model_dump(mode="json") for file in downloads_for("MGYA_TEMPLATE")]
    provenance = provenance_for("ERR_TEMPLATE", Analysis.State.COMPLETED, ("raw-reads", "2.0.0"), 7)
    return {
        "quality_control": quality.model_dump_json(),
        "results": results.model_dump_json(),
        "annotations": annotations.model_dump_json(),
        "downloads": json.dumps(downloads),
        "provenance": provenance.model_dump_json(),
    }


# ---------------------------------------------------------------------------------------------- loading


def study_of_run(run: str, sizes: Sizes) -> str:
    """SQL: the study id of run id ``run`` (the big study first, the rest in contiguous blocks)."""
    rest_runs = sizes.runs - sizes.big_study_runs
    return (
        f"(CASE WHEN {run} <= {sizes.big_study_runs} THEN 1 "
        f"ELSE 2 + (({run} - {sizes.big_study_runs} - 1)::bigint * {sizes.studies - 1} / {rest_runs}) END)"
    )


def private(study: str) -> str:
    return f"({study} % {PRIVATE_EVERY} = 0)"


def owner(study: str) -> str:
    return f"(CASE WHEN {private(study)} THEN 'Webin-' || (1000 + {study} % {WEBIN_OWNERS}) ELSE '' END)"


def load_biomes(conn: psycopg.Connection) -> int:
    """The biome tree (a realistic slice of GOLD's); Postgres generates the ltree paths."""
    lineages = ["root"]
    for top, middles in BIOME_TREE.items():
        lineages.append(f"root:{top}")
        for middle, leaves in middles.items():
            lineages.append(f"root:{top}:{middle}")
            lineages += [f"root:{top}:{middle}:{leaf}" for leaf in leaves]
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO analyses_biome (biome_name, lineage) VALUES (%s, %s)",
            [(lineage.rsplit(":", 1)[-1], lineage) for lineage in lineages],
        )
    return len(lineages)


def load(conn: psycopg.Connection, sizes: Sizes, templates: dict[str, str], log) -> None:
    """Every table, in dependency order, each one INSERT … SELECT; then the studies' public counts, once.

    Triggers are off for the load (``session_replication_role = replica``, as for any bulk load): the counts'
    triggers would copy every row into a transition table, and foreign keys would be checked row by row. The
    counts are then counted once from the tables (``analyses.public_counts.RECOUNT_SQL``).
    """
    conn.execute("SET session_replication_role = replica")
    n_biomes = load_biomes(conn)
    conn.execute(
        "CREATE TABLE bench_template AS SELECT %s::jsonb AS quality_control, %s::jsonb AS results, "
        "%s::jsonb AS annotations, %s::jsonb AS downloads, %s::jsonb AS provenance",
        [templates[name] for name in ("quality_control", "results", "annotations", "downloads", "provenance")],
    )
    leaf_biomes = "(SELECT array_agg(id ORDER BY id) FROM analyses_biome WHERE nlevel(path) = 4)"
    first_run_of_sample = f"(j * {RUNS_PER_SAMPLE} - {RUNS_PER_SAMPLE - 1})"
    big = sizes.big_study_runs
    words = "ARRAY[" + ",".join(f"'{word}'" for word in TITLE_WORDS) + "]"
    steps = [
        (
            "ena_study",
            f"""INSERT INTO ena_study (id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                accession, metadata, fetched_at, title)
            SELECT i, now() - make_interval(hours => {sizes.studies} - i), now(), {private("i")}, {owner("i")},
                ARRAY['PRJEB' || (100000 + i), 'ERP' || (100000 + i)], 'PRJEB' || (100000 + i),
                jsonb_build_object('study_accession', 'PRJEB' || (100000 + i),
                    'secondary_study_accession', 'ERP' || (100000 + i), 'center_name', 'EMBL-EBI'),
                now(), 'Metagenomes of ' || ({words})[1 + i % 20] || ' and ' || ({words})[1 + (i / 20) % 20]
            FROM generate_series(1, {sizes.studies}) i""",
        ),
        (
            "analyses_study",
            f"""INSERT INTO analyses_study (id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                accession, title, biome_id, ena_study_id)
            SELECT e.id, e.created_at, e.updated_at, e.is_private, e.webin_submitter, e.ena_accessions,
                'MGYS' || lpad(e.id::text, 8, '0'), e.title, (b.ids)[1 + e.id % array_length(b.ids, 1)], e.id
            FROM ena_study e, (SELECT {leaf_biomes} AS ids) b""",
        ),
        (
            "ena_sample",
            f"""INSERT INTO ena_sample (id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                accession, metadata, fetched_at, title, tax_id, scientific_name, study_id)
            SELECT j, now(), now(), {private("st")}, {owner("st")},
                ARRAY['SAMEA' || (1000000 + j), 'ERS' || (1000000 + j)], 'SAMEA' || (1000000 + j),
                jsonb_build_object('sample_accession', 'SAMEA' || (1000000 + j), 'collection_date', '2023-06-15',
                    'lat', 51.5, 'lon', -0.1, 'depth', '5 m'),
                now(), 'sample ' || j, '256318', 'metagenome', st
            FROM generate_series(1, {sizes.samples}) j,
                LATERAL (SELECT {study_of_run(first_run_of_sample, sizes)} AS st) x""",
        ),
        (
            "analyses_sample",
            """INSERT INTO analyses_sample (id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                biome_id, ena_sample_id)
            SELECT e.id, e.created_at, e.updated_at, e.is_private, e.webin_submitter, e.ena_accessions, s.biome_id, e.id
            FROM ena_sample e JOIN analyses_study s ON s.id = e.study_id""",
        ),
        (
            "analyses_sample_studies",
            "INSERT INTO analyses_sample_studies (sample_id, study_id) SELECT id, study_id FROM ena_sample",
        ),
        (
            "ena_run",
            f"""INSERT INTO ena_run (id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                accession, metadata, fetched_at, experiment_accession, library_strategy, library_layout, library_source,
                library_selection, instrument_platform, instrument_model, read_count, base_count, first_public,
                fastq_files, sample_id, study_id)
            SELECT r, now() - make_interval(secs => {sizes.runs} - r), now(), {private("st")}, {owner("st")},
                ARRAY['ERR' || (1000000 + r)], 'ERR' || (1000000 + r),
                jsonb_build_object('run_accession', 'ERR' || (1000000 + r), 'experiment_accession',
                    'ERX' || (1000000 + r), 'instrument_model', 'Illumina NovaSeq 6000', 'nominal_length', 350),
                now(), 'ERX' || (1000000 + r), CASE WHEN r % 10 = 0 THEN 'AMPLICON' ELSE 'WGS' END, 'PAIRED',
                'METAGENOMIC', CASE WHEN r % 10 = 0 THEN 'PCR' ELSE 'RANDOM' END, 'ILLUMINA',
                'Illumina NovaSeq 6000', 2000000 + r % 100000, (2000000 + r % 100000) * 300, DATE '2023-06-01',
                jsonb_build_array(
                    jsonb_build_object('url', 'ftp.sra.ebi.ac.uk/vol1/fastq/ERR' || (1000000 + r) || '_1.fastq.gz',
                        'md5', md5(r::text || '_1'), 'bytes', 180000000 + r),
                    jsonb_build_object('url', 'ftp.sra.ebi.ac.uk/vol1/fastq/ERR' || (1000000 + r) || '_2.fastq.gz',
                        'md5', md5(r::text || '_2'), 'bytes', 180000000 + r)),
                (r + {RUNS_PER_SAMPLE - 1}) / {RUNS_PER_SAMPLE}, st
            FROM generate_series(1, {sizes.runs}) r, LATERAL (SELECT {study_of_run("r", sizes)} AS st) x""",
        ),
        (
            "analyses_run",
            """INSERT INTO analyses_run (id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                experiment_type, instrument_platform, instrument_model, metadata, ena_run_id, sample_id, study_id)
            SELECT id, created_at, updated_at, is_private, webin_submitter, ena_accessions,
                CASE WHEN library_strategy = 'AMPLICON' THEN 'AMPLI' ELSE 'METAG' END, instrument_platform,
                instrument_model, '{}'::jsonb, id, sample_id, study_id
            FROM ena_run""",
        ),
        (
            "analyses_analysis",
            f"""INSERT INTO analyses_analysis (id, created_at, updated_at, is_private, webin_submitter, accession,
                experiment_type, pipeline_name, pipeline_version, state, is_superseded, status, quality_control,
                results, annotations, downloads, provenance, run_id, sample_id, study_id)
            SELECT n, r.created_at, r.updated_at, r.is_private, r.webin_submitter, 'MGYA' || lpad(n::text, 8, '0'),
                r.experiment_type, 'raw-reads', CASE WHEN n % 4 = 0 THEN '1.0.0' ELSE '2.0.0' END, st.state,
                n % 997 = 0, jsonb_build_object('analysis_created', jsonb_build_object('at', r.created_at)),
                CASE WHEN st.state IN ('completed', 'failed') THEN
                    jsonb_set(t.quality_control, '{{passed_filter_reads}}', to_jsonb(1800000 + n % 99991)) END,
                CASE WHEN st.state = 'completed' THEN
                    jsonb_set(t.results, '{{predicted_proteins}}', to_jsonb(150000 + n % 77777)) END,
                CASE WHEN st.state = 'completed' THEN t.annotations END,
                CASE WHEN st.state = 'completed' THEN
                    replace(t.downloads::text, 'MGYA_TEMPLATE', 'MGYA' || lpad(n::text, 8, '0'))::jsonb
                    ELSE '[]'::jsonb END,
                CASE WHEN st.state <> 'pending' THEN
                    replace(t.provenance::text, 'ERR_TEMPLATE', r.ena_accessions[1])::jsonb END,
                r.id, r.sample_id, r.study_id
            FROM (SELECT row_number() OVER (ORDER BY id) AS n, * FROM analyses_run
                  WHERE (id <= {big} AND id % 20 <> 0) OR (id > {big} AND id % 2 = 0)) r,
                bench_template t,
                LATERAL (SELECT CASE WHEN n % 100 < 90 THEN 'completed' WHEN n % 100 < 95 THEN 'failed'
                    WHEN n % 100 < 98 THEN 'running' ELSE 'pending' END AS state) st""",
        ),
    ]
    for table, sql in steps:
        started = time.monotonic()
        with conn.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.rowcount
        conn.commit()
        log(f"  {table:<26} {rows:>10,} rows in {time.monotonic() - started:6.1f}s")
    log(f"  analyses_biome             {n_biomes:>10,} rows")
    for sequence, table in (("analyses_mgys_seq", "analyses_study"), ("analyses_mgya_seq", "analyses_analysis")):
        conn.execute(f"SELECT setval('{sequence}', (SELECT max(id) FROM {table}))")
    for table in (
        "analyses_biome", "ena_study", "analyses_study", "ena_sample", "analyses_sample", "analyses_sample_studies",
        "ena_run", "analyses_run", "analyses_analysis",
    ):  # fmt: skip
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
        )
    conn.execute("SET session_replication_role = DEFAULT")
    started = time.monotonic()
    conn.execute(RECOUNT_SQL)
    log(f"  analyses_study_public_counts counted in {time.monotonic() - started:6.1f}s")
    conn.commit()


def build(database_url: str, scale: float, *, rebuild: bool = False, log=print) -> float:
    """Make sure ``database_url`` holds the data set at ``scale``; return the seconds spent building (0 if reused)."""
    if not rebuild and existing_scale(database_url) == scale:
        log(f"reusing {database_url.rpartition('/')[2]} (scale {scale}); applying any new migrations")
        migrate(database_url)
        return 0.0
    started = time.monotonic()
    sizes = Sizes.at(scale)
    log(f"building at scale {scale}: {sizes}")
    recreate_database(database_url)
    migrate(database_url)
    templates = json_templates()
    with psycopg.connect(database_url) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        load(conn, sizes, templates, log)
        conn.execute("CREATE TABLE bench_scale (scale double precision, complete boolean)")
        conn.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        vacuum_started = time.monotonic()
        conn.execute("VACUUM (ANALYZE)")
        log(f"  VACUUM ANALYZE in {time.monotonic() - vacuum_started:.1f}s")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        conn.execute("INSERT INTO bench_scale VALUES (%s, true)", (scale,))
    elapsed = time.monotonic() - started
    log(f"built in {elapsed:.0f}s, {size}")
    return elapsed
