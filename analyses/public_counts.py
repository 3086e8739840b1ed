"""Each study's public counts (:class:`analyses.models.StudyPublicCounts`), kept by Postgres triggers.

What is counted is what an anonymous caller sees under a study: samples linked to it that are not private,
runs that are not private, analyses neither private nor superseded. Every write that can change a count
moves it in the same transaction:

* inserts and deletes of analyses, runs and sample-study links: one statement-level trigger each, reading
  the statement's transition table, so a COPY of a million runs adds one grouped upsert, not a million;
* updates of the columns counted (``is_private``, ``is_superseded``, ``study_id``; a sample's privacy): a
  row-level trigger that fires only when one of them really changes (Postgres allows no transition tables
  with a column list, and an analysis' state changes, the common update, must not pay for this);
* ``TRUNCATE`` resets the counter it empties; deleting a study deletes its row.

Counters are upserted in study-id order, so two transactions touching the same studies lock them in the
same order. :data:`RECOUNT_SQL` rebuilds every row from the tables (the migration's backfill, and
``manage.py recount_studies`` should a row ever be wrong); :func:`drifted_studies` lists rows that differ
from a live count. Changing the SQL here needs a new migration that runs :data:`INSTALL_SQL` again.
"""

from __future__ import annotations

from django.db import connection, transaction

COUNTS_TABLE = "analyses_study_public_counts"

#: Adds ``deltas[i]`` to the counter ``counter`` of study ``study_ids[i]`` (ids in ascending order).
_ADD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analyses_add_public_counts(counter text, study_ids bigint[], deltas bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF study_ids IS NULL THEN
        RETURN;
    END IF;
    EXECUTE format(
        'INSERT INTO {COUNTS_TABLE} AS c (study_id, %1$I) '
        'SELECT d.study_id, d.delta FROM unnest($1, $2) AS d(study_id, delta) '
        'WHERE d.delta <> 0 AND EXISTS (SELECT 1 FROM analyses_study s WHERE s.id = d.study_id) '
        'ORDER BY d.study_id '
        'ON CONFLICT (study_id) DO UPDATE SET %1$I = c.%1$I + EXCLUDED.%1$I',
        counter
    ) USING study_ids, deltas;
END $$;
"""


def _rows_counted_by_study(counter: str, table: str, counted: str) -> str:
    """Statement-level insert/delete trigger function: +/- the rows of the transition table that count."""
    return f"""
CREATE OR REPLACE FUNCTION analyses_count_{counter}_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    deltas bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(study_id ORDER BY study_id), array_agg(n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT study_id, count(*) AS n FROM new_rows WHERE {counted} GROUP BY study_id) AS g;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(study_id ORDER BY study_id), array_agg(-n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT study_id, count(*) AS n FROM old_rows WHERE {counted} GROUP BY study_id) AS g;
    ELSE  -- TRUNCATE
        UPDATE {COUNTS_TABLE} SET {counter} = 0 WHERE {counter} <> 0;
        RETURN NULL;
    END IF;
    PERFORM analyses_add_public_counts('{counter}', ids, deltas);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION analyses_count_{counter}_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT {counted} FROM (SELECT OLD.*) AS old_row) THEN
        PERFORM analyses_add_public_counts('{counter}', ARRAY[OLD.study_id], ARRAY[-1::bigint]);
    END IF;
    IF (SELECT {counted} FROM (SELECT NEW.*) AS new_row) THEN
        PERFORM analyses_add_public_counts('{counter}', ARRAY[NEW.study_id], ARRAY[1::bigint]);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER {counter}_public_count_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analyses_count_{counter}_statement();
CREATE TRIGGER {counter}_public_count_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analyses_count_{counter}_statement();
CREATE TRIGGER {counter}_public_count_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION analyses_count_{counter}_statement();
"""


_ANALYSES = (
    _rows_counted_by_study("analyses", "analyses_analysis", "NOT is_private AND NOT is_superseded")
    + """
CREATE TRIGGER analyses_public_count_update AFTER UPDATE OF is_private, is_superseded, study_id ON analyses_analysis
    FOR EACH ROW WHEN (OLD.is_private IS DISTINCT FROM NEW.is_private
                       OR OLD.is_superseded IS DISTINCT FROM NEW.is_superseded
                       OR OLD.study_id IS DISTINCT FROM NEW.study_id)
    EXECUTE FUNCTION analyses_count_analyses_row();
"""
)

_RUNS = (
    _rows_counted_by_study("runs", "analyses_run", "NOT is_private")
    + """
CREATE TRIGGER runs_public_count_update AFTER UPDATE OF is_private, study_id ON analyses_run
    FOR EACH ROW WHEN (OLD.is_private IS DISTINCT FROM NEW.is_private OR OLD.study_id IS DISTINCT FROM NEW.study_id)
    EXECUTE FUNCTION analyses_count_runs_row();
"""
)

#: A sample counts once for each study it is linked to, while it is public: links are counted as they come
#: and go (the sample must still exist: Django deletes a sample's links before the sample), and a sample's
#: privacy change moves the count of every study it is linked to.
_SAMPLES = f"""
CREATE OR REPLACE FUNCTION analyses_count_sample_links_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    deltas bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(study_id ORDER BY study_id), array_agg(n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT l.study_id, count(*) AS n FROM new_rows l JOIN analyses_sample s ON s.id = l.sample_id
              WHERE NOT s.is_private GROUP BY l.study_id) AS g;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(study_id ORDER BY study_id), array_agg(-n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT l.study_id, count(*) AS n FROM old_rows l JOIN analyses_sample s ON s.id = l.sample_id
              WHERE NOT s.is_private GROUP BY l.study_id) AS g;
    ELSE  -- TRUNCATE
        UPDATE {COUNTS_TABLE} SET samples = 0 WHERE samples <> 0;
        RETURN NULL;
    END IF;
    PERFORM analyses_add_public_counts('samples', ids, deltas);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION analyses_count_sample_links_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM analyses_sample s WHERE s.id = OLD.sample_id AND NOT s.is_private) THEN
        PERFORM analyses_add_public_counts('samples', ARRAY[OLD.study_id], ARRAY[-1::bigint]);
    END IF;
    IF EXISTS (SELECT 1 FROM analyses_sample s WHERE s.id = NEW.sample_id AND NOT s.is_private) THEN
        PERFORM analyses_add_public_counts('samples', ARRAY[NEW.study_id], ARRAY[1::bigint]);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION analyses_count_sample_privacy_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    SELECT array_agg(study_id ORDER BY study_id) INTO ids FROM analyses_sample_studies WHERE sample_id = NEW.id;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM analyses_add_public_counts(
        'samples', ids, array_fill(CASE WHEN NEW.is_private THEN -1 ELSE 1 END::bigint, ARRAY[cardinality(ids)])
    );
    RETURN NULL;
END $$;

CREATE TRIGGER samples_public_count_insert AFTER INSERT ON analyses_sample_studies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analyses_count_sample_links_statement();
CREATE TRIGGER samples_public_count_delete AFTER DELETE ON analyses_sample_studies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analyses_count_sample_links_statement();
CREATE TRIGGER samples_public_count_truncate AFTER TRUNCATE ON analyses_sample_studies
    FOR EACH STATEMENT EXECUTE FUNCTION analyses_count_sample_links_statement();
CREATE TRIGGER samples_public_count_update AFTER UPDATE ON analyses_sample_studies
    FOR EACH ROW WHEN (OLD.study_id IS DISTINCT FROM NEW.study_id OR OLD.sample_id IS DISTINCT FROM NEW.sample_id)
    EXECUTE FUNCTION analyses_count_sample_links_row();
CREATE TRIGGER samples_public_count_privacy AFTER UPDATE OF is_private ON analyses_sample
    FOR EACH ROW WHEN (OLD.is_private IS DISTINCT FROM NEW.is_private)
    EXECUTE FUNCTION analyses_count_sample_privacy_row();
"""

_STUDIES = f"""
CREATE OR REPLACE FUNCTION analyses_drop_public_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {COUNTS_TABLE} WHERE study_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER study_public_counts_delete AFTER DELETE ON analyses_study
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analyses_drop_public_counts();
"""

#: Creates the functions and triggers (migration 0006).
INSTALL_SQL = _ADD_FUNCTION + _ANALYSES + _RUNS + _SAMPLES + _STUDIES

_TRIGGERS = {
    "analyses_analysis": ["analyses_public_count_insert", "analyses_public_count_delete",
                          "analyses_public_count_truncate", "analyses_public_count_update"],
    "analyses_run": ["runs_public_count_insert", "runs_public_count_delete", "runs_public_count_truncate",
                     "runs_public_count_update"],
    "analyses_sample_studies": ["samples_public_count_insert", "samples_public_count_delete",
                                "samples_public_count_truncate", "samples_public_count_update"],
    "analyses_sample": ["samples_public_count_privacy"],
    "analyses_study": ["study_public_counts_delete"],
}  # fmt: skip
_FUNCTIONS = [
    "analyses_count_analyses_statement()", "analyses_count_analyses_row()", "analyses_count_runs_statement()",
    "analyses_count_runs_row()", "analyses_count_sample_links_statement()", "analyses_count_sample_links_row()",
    "analyses_count_sample_privacy_row()", "analyses_drop_public_counts()",
    "analyses_add_public_counts(text, bigint[], bigint[])",
]  # fmt: skip

#: Drops them again (the migration's reverse).
UNINSTALL_SQL = "".join(
    f"DROP TRIGGER IF EXISTS {trigger} ON {table};\n" for table, triggers in _TRIGGERS.items() for trigger in triggers
) + "".join(f"DROP FUNCTION IF EXISTS {function};\n" for function in _FUNCTIONS)

#: Every study's counts, counted from the tables (grouped scans, seconds at MGnify's size).
LIVE_COUNTS_SQL = """
SELECT s.id AS study_id, coalesce(sm.n, 0) AS samples, coalesce(r.n, 0) AS runs, coalesce(a.n, 0) AS analyses
FROM analyses_study s
LEFT JOIN (SELECT l.study_id, count(*) AS n FROM analyses_sample_studies l
           JOIN analyses_sample x ON x.id = l.sample_id WHERE NOT x.is_private GROUP BY l.study_id) sm
       ON sm.study_id = s.id
LEFT JOIN (SELECT study_id, count(*) AS n FROM analyses_run WHERE NOT is_private GROUP BY study_id) r
       ON r.study_id = s.id
LEFT JOIN (SELECT study_id, count(*) AS n FROM analyses_analysis WHERE NOT is_private AND NOT is_superseded
           GROUP BY study_id) a
       ON a.study_id = s.id
"""

_COUNTED_TABLES = "analyses_analysis, analyses_run, analyses_sample, analyses_sample_studies"
_LOCK_COUNTED_TABLES = f"LOCK TABLE {_COUNTED_TABLES} IN SHARE MODE"
_UPSERT_LIVE_COUNTS = f"""
INSERT INTO {COUNTS_TABLE} AS c (study_id, samples, runs, analyses)
SELECT study_id, samples, runs, analyses FROM ({LIVE_COUNTS_SQL}) AS live ORDER BY study_id
ON CONFLICT (study_id) DO UPDATE SET samples = EXCLUDED.samples, runs = EXCLUDED.runs, analyses = EXCLUDED.analyses
"""
#: Rewrites every study's row from :data:`LIVE_COUNTS_SQL`. Concurrent writers wait (the counted tables are
#: locked in SHARE mode for the transaction), so nothing moves between counting and writing.
RECOUNT_SQL = f"{_LOCK_COUNTED_TABLES};\n{_UPSERT_LIVE_COUNTS};"


def recount() -> int:
    """Rewrite every study's public counts from the tables, in one transaction; return how many studies."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_LOCK_COUNTED_TABLES)
        cursor.execute(_UPSERT_LIVE_COUNTS)
        return cursor.rowcount


def drifted_studies() -> list[dict[str, int]]:
    """Studies whose stored counts differ from a live count: each with ``study_id`` and both counts."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT live.study_id, live.samples, live.runs, live.analyses,
                   coalesce(c.samples, 0), coalesce(c.runs, 0), coalesce(c.analyses, 0)
            FROM ({LIVE_COUNTS_SQL}) AS live LEFT JOIN {COUNTS_TABLE} c ON c.study_id = live.study_id
            WHERE (live.samples, live.runs, live.analyses)
                  IS DISTINCT FROM (coalesce(c.samples, 0), coalesce(c.runs, 0), coalesce(c.analyses, 0))
            ORDER BY live.study_id
            """
        )
        names = ("study_id", "samples", "runs", "analyses", "stored_samples", "stored_runs", "stored_analyses")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
