"""Bulk writes for tens of thousands of rows: insert with Postgres ``COPY``, update only what changed.

Used by every import that mirrors an upstream source (ENA rows, the platform rows synced from them).
:func:`upsert` compares each desired row with what is stored, ``COPY``-inserts the new ones, bulk-updates
the changed ones and leaves the rest alone, so an unchanged re-import writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pydantic_core
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import ExpressionWrapper
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.utils import timezone
from psycopg.types.json import Jsonb

from core.fields import SchemaJSONField

LOOKUP_CHUNK = 50_000
CREATE_BATCH = 2_000
UPDATE_BATCH = 1_000


@dataclass
class ObjectCounts:
    """What an upsert did to one model's rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class Upserted:
    """The outcome of :func:`upsert`: every row by key, the old values of changed rows, and the counts."""

    objects: dict[Any, Any]
    before: dict[Any, dict[str, Any]] = field(default_factory=dict)
    counts: ObjectCounts = field(default_factory=ObjectCounts)


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def new_instance(model: type[models.Model], values: dict[str, Any]) -> models.Model:
    """An unsaved instance from attribute names (``study_id``, not ``study``), skipping ``__init__``'s
    per-field work, which dominated large imports. Unset fields get their defaults."""
    obj = model.__new__(model)
    obj._state = ModelState()
    for model_field in model._meta.concrete_fields:
        if model_field.attname not in values and not model_field.has_db_default():
            obj.__dict__[model_field.attname] = model_field.get_default()
    obj.__dict__.update(values)
    return obj


def any_of(model: type[models.Model], attname: str, values: Sequence[Any]) -> ExpressionWrapper:
    """``column = ANY(%s)`` with one array parameter: unlike ``__in``, cheap to compile for 10^4+ values."""
    column = connection.ops.quote_name(model._meta.get_field(attname).column)
    table = connection.ops.quote_name(model._meta.db_table)
    return ExpressionWrapper(RawSQL(f"{table}.{column} = ANY(%s)", [list(values)]), output_field=models.BooleanField())


def existing_by(model: type[models.Model], key: str, values: Sequence[Any]) -> dict[Any, Any]:
    """The stored rows whose ``key`` is in ``values``, by key (queried in chunks)."""
    found: dict[Any, Any] = {}
    for chunk in chunks(list(values), LOOKUP_CHUNK):
        for obj in model.objects.filter(any_of(model, key, chunk)):
            found[getattr(obj, key)] = obj
    return found


def upsert(
    model: type[models.Model],
    *,
    key: str,
    desired: dict[Any, dict[str, Any]],
    on_create: Callable[[Any], dict[str, Any]] = lambda _key: {},
    stamp: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> Upserted:
    """Create missing rows and update rows whose values differ from ``desired``; leave the rest alone.

    :param key: the unique field identifying rows (``accession``, ``ena_sample_id``...)
    :param desired: key -> the values the row should have; every row names the same fields, and those
        are the fields this upsert owns (compared and updated)
    :param on_create: key -> extra values for a new row only
    :param stamp: values set on created and changed rows (e.g. ``fetched_at``)
    :param progress: called with the number of rows handled so far
    """
    stamp = stamp or {}
    fields = list(next(iter(desired.values()), ()))
    existing = existing_by(model, key, list(desired))
    to_create, to_update = [], []
    before: dict[Any, dict[str, Any]] = {}
    counts = ObjectCounts()
    now = timezone.now()
    for item_key, values in desired.items():
        obj = existing.get(item_key)
        if obj is None:
            obj = new_instance(model, {key: item_key, **values, **on_create(item_key), **stamp})
            to_create.append(obj)
            existing[item_key] = obj
            continue
        if all(getattr(obj, name) == values[name] for name in fields):
            counts.unchanged += 1
            continue
        before[item_key] = {name: getattr(obj, name) for name in fields}
        for name in fields:
            setattr(obj, name, values[name])
        for name, value in stamp.items():
            setattr(obj, name, value)
        obj.updated_at = now
        to_update.append(obj)
    done = counts.unchanged
    for batch in chunks(to_create, CREATE_BATCH):
        copy_insert(model, batch, key=key)
        done += len(batch)
        if progress:
            progress(done)
    for batch in chunks(to_update, UPDATE_BATCH):
        model.objects.bulk_update(batch, [*fields, *stamp, "updated_at"])
        done += len(batch)
        if progress:
            progress(done)
    if progress and not (to_create or to_update):
        progress(done)
    counts.created, counts.updated = len(to_create), len(to_update)
    return Upserted(existing, before, counts)


def _json_text(value: Any) -> bytes:
    """JSON for a COPY'd JSON column, encoded in Rust: ``json.dumps`` was a sixth of a 20,000-run
    import's Python time. NaN and infinities stay JSON-invalid constants, so Postgres still refuses them."""
    return pydantic_core.to_json(value, inf_nan_mode="constants")


def _copy_value(model_field: models.Field) -> Callable[[Any], Any]:
    """How to turn an attribute value into what psycopg's COPY writes, for one field (decided once)."""
    if isinstance(model_field, SchemaJSONField):
        return lambda value: None if value is None else Jsonb(model_field.validate_value(value), dumps=_json_text)
    if isinstance(model_field, models.JSONField):
        return lambda value: None if value is None else Jsonb(value, dumps=_json_text)
    return lambda value: value  # str, int, bool, date, aware datetime, list: psycopg adapts them


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` the given rows (values psycopg adapts as they are)."""
    db = connections[DEFAULT_DB_ALIAS]
    names = ", ".join(db.ops.quote_name(column) for column in columns)
    # wrap_database_errors: psycopg errors become Django's (DataError, IntegrityError...) as with the ORM.
    with (
        db.wrap_database_errors,
        db.cursor() as cursor,
        cursor.cursor.copy(f"COPY {db.ops.quote_name(table)} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def copy_insert(model: type[models.Model], objs: Sequence[models.Model], *, key: str) -> None:
    """Insert new rows with Postgres ``COPY`` (much faster than multi-row INSERT), then set their pks.

    ``auto_now``/``auto_now_add`` fields get the current time and ``SchemaJSONField`` values are
    validated against their schema, as ``bulk_create`` would do.

    :param key: a unique field of the model, used to read back the new rows' primary keys
    """
    if not objs:
        return
    meta = model._meta
    fields = [
        f
        for f in meta.concrete_fields
        if not f.primary_key
        and not getattr(f, "generated", False)
        and not (f.has_db_default() and getattr(objs[0], f.attname, None) is None)
    ]
    now = timezone.now()
    stamped = [f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    for obj in objs:
        for attname in stamped:
            setattr(obj, attname, now)
    converters = [(f.attname, _copy_value(f)) for f in fields]
    copy_rows(
        meta.db_table,
        [f.column for f in fields],
        ([convert(getattr(obj, attname)) for attname, convert in converters] for obj in objs),
    )
    key_field = meta.get_field(key)
    keys = [getattr(obj, key_field.attname) for obj in objs]
    pks: dict[Any, Any] = {}
    for chunk in chunks(keys, LOOKUP_CHUNK):
        pks.update(model.objects.filter(any_of(model, key_field.attname, chunk)).values_list(key_field.attname, "pk"))
    db_alias = connections[DEFAULT_DB_ALIAS].alias
    for obj in objs:
        obj.pk = pks[getattr(obj, key_field.attname)]
        obj._state.adding = False
        obj._state.db = db_alias


def advisory_xact_lock(key: str) -> None:
    """Serialise transactions that use the same ``key`` (a transaction-scoped Postgres advisory lock)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])
