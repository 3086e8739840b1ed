"""Each study's public counts (:class:`analyses.models.StudyPublicCounts`), kept by Postgres triggers.

What is counted is what an anonymous caller sees under a study: samples linked to it that are not private,
runs that are not private, analyses neither private nor superseded. Every write that can change a count
moves it in the same transaction:

* every insert, update and delete of analyses, runs, samples and sample-study links fires one
  statement-level trigger, which reads the statement's transition tables: a COPY of a million runs, or a
  study's runs all made public at once, adds one grouped upsert per study, not one per row. (A row-level
  trigger on the counted columns alone would skip the common update, an analysis' state, but moves the
  counter once per row: a 20,000-row privacy change would update one counter row 20,000 times in one
  transaction, each walking the row's growing chain of versions.) An update that changes no count writes
  nothing;
* ``TRUNCATE`` resets the counter it empties; deleting a study deletes its row.

Counters are upserted in study-id order, so two transactions touching the same studies lock them in the
same order. :data:`RECOUNT_SQL` rebuilds every row from the tables (the migration's backfill, and
``manage.py recount_studies`` should a row ever be wrong); :func:`drifted_studies` lists rows that differ
from a live count. Changing the SQL here needs a new migration that runs :data:`INSTALL_SQL` again.

What it costs: a single-row statement pays ~0.1 ms for its trigger. A transaction that writes one study's
rows one statement at a time moves its counter each time: 20,000 single-row inserts in one transaction took
6.5 s instead of 2.2 s. The platform writes in bulk statements (the ENA import, planning analyses).
"""

from __future__ import annotations

from django.db import connection, transaction

COUNTS_TABLE = "analyses_study_public_counts"

#: The counters a study's row keeps (its columns).
COUNTERS = ("samples", "runs", "analyses")


def _upsert_branch(counter: str) -> str:
    return f"""
        INSERT INTO {COUNTS_TABLE} AS c (study_id, {counter})
        SELECT d.study_id, d.delta FROM unnest(study_ids, deltas) AS d(study_id, delta)
        WHERE d.delta <> 0 AND EXISTS (SELECT 1 FROM analyses_study s WHERE s.id = d.study_id)
        ORDER BY d.study_id
        ON CONFLICT (study_id) DO UPDATE SET {counter} = c.{counter} + EXCLUDED.{counter};"""


_branches = "".join(
    f"\n    {'IF' if n == 0 else 'ELSIF'} counter = '{counter}' THEN{_upsert_branch(counter)}"
    for n, counter in enumerate(COUNTERS)
)

#: Adds ``deltas[i]`` to the counter ``counter`` of study ``study_ids[i]`` (ids in ascending order). One static
#: statement per counter rather than one built with ``format``: PL/pgSQL keeps static statements' plans, and
#: planning a dynamic one on every call tripled what a single-row insert paid for its trigger.
_ADD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION analyses_add_public_counts(counter text, study_ids bigint[], deltas bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF study_ids IS NULL THEN
        RETURN;
    END IF;
{_branches}
    ELSE
        RAISE EXCEPTION 'no public counter %', counter;
    END IF;
END $$;
"""


def _counter_trigger(function: str, counter: str, table: str, counted_studies: str) -> str:
    """A statement-level trigger function, and its triggers on ``table``, that move ``counter`` of each study.

    ``counted_studies`` is a query of one ``study_id`` column per counted row (a study repeats), with
    ``{rows}`` where the transition table goes: the count moves by the counted rows of ``new_rows`` less
    those of ``old_rows``, summed per study, and only where the sum is not zero (an analysis' state change
    writes nothing).
    """
    new, old = counted_studies.format(rows="new_rows"), counted_studies.format(rows="old_rows")
    return f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    deltas bigint[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE {COUNTS_TABLE} SET {counter} = 0 WHERE {counter} <> 0;
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(study_id ORDER BY study_id), array_agg(n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT study_id, count(*) AS n FROM ({new}) AS r GROUP BY study_id) AS g;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(study_id ORDER BY study_id), array_agg(-n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT study_id, count(*) AS n FROM ({old}) AS r GROUP BY study_id) AS g;
    ELSE
        SELECT array_agg(study_id ORDER BY study_id), array_agg(n ORDER BY study_id) INTO ids, deltas
        FROM (SELECT study_id, sum(n)::bigint AS n
              FROM (SELECT study_id, 1 AS n FROM ({new}) AS r UNION ALL SELECT study_id, -1 FROM ({old}) AS r) AS b
              GROUP BY study_id HAVING sum(n) <> 0) AS g;
    END IF;
    PERFORM analyses_add_public_counts('{counter}', ids, deltas);
    RETURN NULL;
END $$;

CREATE TRIGGER {function}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
"""


#: ``(function, counter, table, counted rows' studies)``. A sample counts once for each study it is linked to
#: while it is public, so two tables move ``samples``: links as they come and go (counted while their sample
#: exists and is public), and samples as their privacy changes or they are deleted (counted through the links
#: that still exist). Whichever of a sample and its links is deleted first counts it out; the other then
#: finds nothing to count.
_COUNTED = (
    ("analyses_count_analyses", "analyses", "analyses_analysis",
     "SELECT study_id FROM {rows} WHERE NOT is_private AND NOT is_superseded"),
    ("analyses_count_runs", "runs", "analyses_run", "SELECT study_id FROM {rows} WHERE NOT is_private"),
    ("analyses_count_sample_links", "samples", "analyses_sample_studies",
     "SELECT l.study_id FROM {rows} l JOIN analyses_sample s ON s.id = l.sample_id WHERE NOT s.is_private"),
    ("analyses_count_samples", "samples", "analyses_sample",
     "SELECT l.study_id FROM {rows} s JOIN analyses_sample_studies l ON l.sample_id = s.id WHERE NOT s.is_private"),
)  # fmt: skip

_STUDIES = f"""
CREATE OR REPLACE FUNCTION analyses_drop_public_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {COUNTS_TABLE} WHERE study_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER analyses_drop_public_counts_delete AFTER DELETE ON analyses_study
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analyses_drop_public_counts();
"""

#: Creates the functions and triggers (migration 0006).
INSTALL_SQL = _ADD_FUNCTION + "".join(_counter_trigger(*counted) for counted in _COUNTED) + _STUDIES

#: Drops them again (the migration's reverse).
UNINSTALL_SQL = (
    "".join(
        f"DROP TRIGGER IF EXISTS {function}_{event} ON {table};\n"
        for function, _, table, _ in _COUNTED
        for event in ("insert", "update", "delete", "truncate")
    )
    + "DROP TRIGGER IF EXISTS analyses_drop_public_counts_delete ON analyses_study;\n"
    + "".join(f"DROP FUNCTION IF EXISTS {function}();\n" for function, *_ in _COUNTED)
    + "DROP FUNCTION IF EXISTS analyses_drop_public_counts();\n"
    + "DROP FUNCTION IF EXISTS analyses_add_public_counts(text, bigint[], bigint[]);\n"
)

#: What each counter counts, over its own table: the first ``_COUNTED`` entry moving it, read on the table
#: itself instead of a transition table, so the triggers and the recount share one definition.
_COUNTED_ROWS = {counter: counted.format(rows=table) for _, counter, table, counted in reversed(_COUNTED)}

#: Every study's counts, counted from the tables (grouped scans, seconds at MGnify's size).
LIVE_COUNTS_SQL = (
    "SELECT s.id AS study_id, "
    + ", ".join(f"coalesce({counter}.n, 0) AS {counter}" for counter in COUNTERS)
    + " FROM analyses_study s"
    + "".join(
        f" LEFT JOIN (SELECT study_id, count(*) AS n FROM ({_COUNTED_ROWS[counter]}) AS r GROUP BY study_id)"
        f" {counter} ON {counter}.study_id = s.id"
        for counter in COUNTERS
    )
)

_COUNTED_TABLES = ", ".join(sorted({table for _, _, table, _ in _COUNTED}))
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
