"""The canonical form of a work item's input, and the hash that is its identity.

Two inputs are the *same work* when, after the pipeline's input schema has normalised them, they
serialise to the same canonical JSON. The identity of a work item is then::

    sha256(canonical_json({"pipeline": name, "version": version, "input": canonical_input}))

How an input is normalised:

1. **Unicode**: every string and every object key is NFC-normalised (so ``"é"`` typed as one code
   point or as ``e`` + combining accent is the same text).
2. **The schema decides types.** A pipeline may declare an input schema (a JSON Schema subset, or a
   pydantic model, whose ``model_json_schema()`` is stored). It is compiled to a pydantic model
   and the input is validated in lax mode, so:

   * ``integer``: ``"1"``, ``1`` and ``1.0`` all become ``1``; ``1.5``, ``"x"`` and booleans are refused;
   * ``number``: ``"1.5"``, ``1.5`` become ``1.5``; ``1``, ``1.0``, ``"1"`` become ``1``;
   * ``string``: ``"1"`` stays ``"1"``; the JSON numbers ``1`` and ``1.0`` become ``"1"`` (a number
     is rendered in its canonical JSON form, below);
   * ``boolean``: pydantic's lax booleans (``true``, ``"true"``, ``1``, ``"yes"`` ...);
   * ``object``: declared properties are validated; a missing optional property takes its
     ``default``, and an optional property without a default that is absent or ``null`` is left out;
     ``additionalProperties: false`` refuses unknown keys, otherwise they are kept (generic rules);
   * ``array`` (``items``), ``enum``, ``anyOf`` / ``oneOf`` (e.g. ``X | None``), ``$ref`` into ``$defs``.

   Without a schema only the generic rules apply: ``"1"`` and ``1`` stay different (nothing says
   which is meant), but ``1`` and ``1.0`` are the same JSON number.
3. **Serialisation** follows RFC 8785 (JSON Canonicalization Scheme) in spirit: keys sorted by code
   point, no insignificant whitespace, UTF-8, integral numbers written as integers (``1.0`` -> ``1``),
   other floats in their shortest round-trip form; ``NaN`` and infinities are refused.

Plain Python + pydantic; importable without Django.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, create_model
from pydantic import ValidationError as PydanticValidationError

from core.errors import InvalidInput

JSONValue = Any
JSONSchema = Mapping[str, Any]

HASH_KEY_PIPELINE = "pipeline"
HASH_KEY_VERSION = "version"
HASH_KEY_INPUT = "input"

#: The largest integer a float represents exactly; integral floats beyond it keep float form.
_MAX_EXACT_FLOAT_INT = 2**53


class InputError(InvalidInput):
    """An input does not match its pipeline's schema, or is not representable as canonical JSON."""


class SchemaDefinitionError(InvalidInput):
    """A pipeline's declared input schema uses something this module does not understand."""


# --- generic normalisation ------------------------------------------------------------------


def _normalise_number(value: int | float | Decimal) -> int | float:
    if isinstance(value, Decimal):
        value = float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{value!r} is not a JSON number")
        if value.is_integer() and abs(value) <= _MAX_EXACT_FLOAT_INT:
            return int(value)
    return value


def normalise(value: JSONValue, *, where: str = "(root)") -> JSONValue:
    """The generic rules: NFC strings and keys, integral floats to ints, tuples to lists.

    :param value: a JSON-like value (dict, list, str, int, float, bool, None)
    :param where: the path of ``value``, for error messages
    :raises InputError: for non-finite floats, non-string keys, keys equal after NFC, other types
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, int | float | Decimal):
        try:
            return _normalise_number(value)
        except InputError as error:
            raise InputError(f"at {where}: {error}") from None
    if isinstance(value, Enum):
        return normalise(value.value, where=where)
    if isinstance(value, Mapping):
        result: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InputError(f"at {where}: object keys must be strings, got {key!r}")
            nfc_key = unicodedata.normalize("NFC", key)
            if nfc_key in result:
                raise InputError(f"at {where}: two keys are the same text after Unicode normalisation: {key!r}")
            result[nfc_key] = normalise(item, where=f"{where}.{nfc_key}")
        return result
    if isinstance(value, list | tuple):
        return [normalise(item, where=f"{where}[{index}]") for index, item in enumerate(value)]
    raise InputError(f"at {where}: {type(value).__name__} is not a JSON value")


def canonical_json(value: JSONValue) -> str:
    """Serialise ``value`` canonically (sorted keys, compact, UTF-8 text, integral floats as ints)."""
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


# --- schema compilation ---------------------------------------------------------------------


def _number_as_text(value: Any) -> Any:
    """For ``string`` properties: JSON numbers become their canonical text (``1.0`` -> ``"1"``)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return json.dumps(_normalise_number(value))
    return value


def _refuse_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    return value


_STRING = Annotated[str, BeforeValidator(_number_as_text)]
_INTEGER = Annotated[int, BeforeValidator(_refuse_bool)]
_NUMBER = Annotated[float, BeforeValidator(_refuse_bool)]
_SIMPLE_TYPES: dict[str, Any] = {
    "string": _STRING,
    "integer": _INTEGER,
    "number": _NUMBER,
    "boolean": bool,
    "null": None,
}


class _Compiler:
    """Turns a JSON Schema subset into a pydantic type; ``$defs`` are resolved lazily."""

    def __init__(self, root: JSONSchema):
        self.root = root
        self.defs: Mapping[str, JSONSchema] = root.get("$defs", root.get("definitions", {}))
        self.models: dict[str, Any] = {}
        self.counter = 0

    def compile(self, schema: JSONSchema | bool, name: str) -> Any:
        if schema is True or schema == {}:
            return Any
        if not isinstance(schema, Mapping):
            raise SchemaDefinitionError(f"{name}: a schema must be an object, got {schema!r}")
        if "$ref" in schema:
            return self._ref(schema["$ref"])
        if "const" in schema:
            return Literal[normalise(schema["const"])]
        if "enum" in schema:
            return Literal[tuple(normalise(item) for item in schema["enum"])]
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema:
                options = [
                    self.compile(option, f"{name}.{keyword}{index}") for index, option in enumerate(schema[keyword])
                ]
                return Union[tuple(options)]  # noqa: UP007 (runtime construction)
        kind = schema.get("type")
        if isinstance(kind, list):
            return Union[tuple(self.compile({**schema, "type": single}, name) for single in kind)]  # noqa: UP007
        if kind in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[kind]
        if kind == "array":
            return list[self.compile(schema.get("items", True), f"{name}[]")]
        if kind == "object" or "properties" in schema:
            return self._object(schema, name)
        if kind is None:
            return Any
        raise SchemaDefinitionError(f"{name}: unsupported type {kind!r}")

    def _ref(self, ref: str) -> Any:
        prefixes = ("#/$defs/", "#/definitions/")
        if not ref.startswith(prefixes):
            raise SchemaDefinitionError(f"only local references into $defs are supported, got {ref!r}")
        key = ref.split("/", 2)[2]
        if key not in self.models:
            if key not in self.defs:
                raise SchemaDefinitionError(f"reference {ref!r} is not defined")
            self.models[key] = None  # recursion guard: recursive schemas are not supported
            self.models[key] = self.compile(self.defs[key], key)
        if self.models[key] is None:
            raise SchemaDefinitionError(f"recursive reference {ref!r} is not supported")
        return self.models[key]

    def _object(self, schema: JSONSchema, name: str) -> Any:
        properties: Mapping[str, Any] = schema.get("properties", {})
        if not properties and schema.get("additionalProperties", True) not in (True, False):
            return dict[str, self.compile(schema["additionalProperties"], f"{name}{{}}")]
        required = set(schema.get("required", []))
        fields: dict[str, Any] = {}
        for index, (prop, subschema) in enumerate(properties.items()):
            field_type = self.compile(subschema, f"{name}.{prop}")
            key = unicodedata.normalize("NFC", prop)
            if prop in required:
                fields[f"f{index}"] = (field_type, Field(alias=key))
            elif isinstance(subschema, Mapping) and "default" in subschema:
                fields[f"f{index}"] = (field_type, Field(default=normalise(subschema["default"]), alias=key))
            else:
                fields[f"f{index}"] = (field_type | None, Field(default=None, alias=key))
        extra = "forbid" if schema.get("additionalProperties", True) is False else "allow"
        self.counter += 1
        return create_model(  # type: ignore[call-overload]
            f"Input{self.counter}_{''.join(ch for ch in name if ch.isalnum())[:40]}",
            __config__=ConfigDict(extra=extra, populate_by_name=False),
            **fields,
        )


def _dump(value: Any) -> Any:
    """Dump a validated value to plain JSON, leaving out optional properties that are ``None``."""
    if isinstance(value, BaseModel):
        dumped: dict[str, Any] = {}
        for field_name, info in type(value).model_fields.items():
            item = getattr(value, field_name)
            if item is None and not info.is_required():
                continue
            dumped[info.alias or field_name] = _dump(item)
        for key, item in (value.model_extra or {}).items():
            dumped[key] = _dump(item)
        return dumped
    if isinstance(value, dict):
        return {key: _dump(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_dump(item) for item in value]
    return value


class InputSchema:
    """A compiled input schema: ``canonicalise(raw)`` returns the canonical JSON-ready value."""

    def __init__(self, schema: JSONSchema | None):
        self.schema = schema
        self._adapter: TypeAdapter | None = None
        if schema:
            self._adapter = TypeAdapter(_Compiler(schema).compile(schema, "input"))

    def canonicalise(self, raw: JSONValue) -> JSONValue:
        """Validate ``raw`` against the schema and return its canonical (normalised) value.

        :raises InputError: when ``raw`` does not match the schema
        """
        value = normalise(raw)
        if self._adapter is None:
            return value
        try:
            validated = self._adapter.validate_python(value)
        except PydanticValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(root)"
            raise InputError(f"input does not match the pipeline's schema at {where}: {first['msg']}") from None
        return normalise(_dump(validated))


def schema_from(declared: JSONSchema | type[BaseModel] | None) -> dict[str, Any] | None:
    """The JSON Schema to store for a pipeline: a pydantic model becomes its ``model_json_schema()``.

    :raises SchemaDefinitionError: if the schema cannot be compiled
    """
    if declared is None:
        return None
    if isinstance(declared, type) and issubclass(declared, BaseModel):
        declared = declared.model_json_schema()
    schema = dict(declared)
    compile_schema(json.dumps(schema, sort_keys=True))  # fail early on unsupported schemas
    return schema


@lru_cache(maxsize=256)
def compile_schema(schema_json: str | None) -> InputSchema:
    """A cached compiled schema, keyed by the schema's JSON text."""
    return InputSchema(json.loads(schema_json) if schema_json else None)


def input_schema_for(schema: JSONSchema | None) -> InputSchema:
    return compile_schema(json.dumps(schema, sort_keys=True) if schema else None)


def work_identity(*, pipeline_name: str, pipeline_version: str, canonical_input: JSONValue) -> str:
    """The sha256 hex digest identifying ``canonical_input`` for the pipeline ``name`` at ``version``."""
    document = {HASH_KEY_PIPELINE: pipeline_name, HASH_KEY_VERSION: pipeline_version, HASH_KEY_INPUT: canonical_input}
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def canonicalise_and_hash(
    raw: JSONValue, *, schema: JSONSchema | None, pipeline_name: str, pipeline_version: str
) -> tuple[JSONValue, str]:
    """``(canonical input, identity hash)`` for ``raw`` under a pipeline's schema.

    :raises InputError: if ``raw`` does not match the schema
    """
    canonical = input_schema_for(schema).canonicalise(raw)
    return canonical, work_identity(
        pipeline_name=pipeline_name, pipeline_version=pipeline_version, canonical_input=canonical
    )
