"""Property tests of the canonical input form: equal under the schema <=> equal hash."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.ledger.canonical import (
    InputError,
    SchemaDefinitionError,
    canonical_json,
    canonicalise_and_hash,
    schema_from,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "i": {"type": "integer"},
        "s": {"type": "string"},
        "f": {"type": "number"},
        "flag": {"type": "boolean", "default": False},
        "tags": {"type": "array", "items": {"type": "string"}},
        "nested": {"type": "object", "properties": {"k": {"type": "integer"}, "name": {"type": ["string", "null"]}}},
    },
    "required": ["i", "s", "f"],
    "additionalProperties": False,
}

MAX_EXACT = 2**53
ints = st.integers(min_value=-MAX_EXACT, max_value=MAX_EXACT)
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


def identity(value, schema=SCHEMA, version="1"):
    return canonicalise_and_hash(value, schema=schema, pipeline_name="p", pipeline_version=version)[1]


@st.composite
def inputs(draw):
    value = {"i": draw(ints), "s": draw(texts), "f": draw(floats)}
    if draw(st.booleans()):
        value["tags"] = draw(st.lists(texts, max_size=3))
    if draw(st.booleans()):
        value["nested"] = {"k": draw(ints), "name": draw(st.one_of(st.none(), texts))}
    return value


@st.composite
def equivalent_variant(draw, value):
    """The same input written differently: key order, number formatting, string/number types, Unicode form."""
    i = value["i"]
    f = value["f"]
    i_forms = [i, str(i), float(i)] if abs(i) <= MAX_EXACT else [i, str(i)]
    f_forms = [f, repr(f)] + ([int(f)] if f.is_integer() else [])
    variant = {
        "f": draw(st.sampled_from(f_forms)),
        "s": unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), value["s"]),
        "i": draw(st.sampled_from(i_forms)),
    }
    if "tags" in value:
        variant["tags"] = [unicodedata.normalize("NFD", tag) for tag in value["tags"]]
    if "nested" in value:
        nested = value["nested"]
        variant["nested"] = {"name": nested["name"], "k": draw(st.sampled_from([nested["k"], str(nested["k"])]))}
        if nested["name"] is None and draw(st.booleans()):
            del variant["nested"]["name"]  # absent and null are the same for an optional property
    if draw(st.booleans()):
        variant["flag"] = False  # the default, written out
    keys = draw(st.permutations(list(variant)))
    return {key: variant[key] for key in keys}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_equal_inputs_under_the_schema_hash_equally(data):
    value = data.draw(inputs())
    variant = data.draw(equivalent_variant(value))
    assert identity(value) == identity(variant)


@settings(max_examples=300, deadline=None)
@given(value=inputs(), delta=st.integers(min_value=1, max_value=1000))
def test_different_inputs_hash_differently(value, delta):
    changed_i = {**value, "i": value["i"] + delta}
    changed_s = {**value, "s": value["s"] + "x"}
    changed_flag = {**value, "flag": True}
    hashes = {identity(value), identity(changed_i), identity(changed_s), identity(changed_flag)}
    assert len(hashes) == 4


@settings(max_examples=100, deadline=None)
@given(value=inputs())
def test_pipeline_name_and_version_are_part_of_the_identity(value):
    assert identity(value, version="1") != identity(value, version="2")


@pytest.mark.parametrize("raw", ["1", 1, 1.0])
def test_integer_field_accepts_all_spellings_of_one(raw):
    assert identity({"i": raw, "s": "a", "f": 0}) == identity({"i": 1, "s": "a", "f": 0})


@pytest.mark.parametrize("raw", [1, 1.0, "1"])
def test_string_field_canonicalises_numbers_to_text(raw):
    canonical, _ = canonicalise_and_hash(
        {"i": 0, "s": raw, "f": 0}, schema=SCHEMA, pipeline_name="p", pipeline_version="1"
    )
    assert canonical["s"] == "1"


@pytest.mark.parametrize(
    "bad",
    [{"i": 1.5, "s": "a", "f": 0}, {"i": True, "s": "a", "f": 0}, {"i": 1, "s": "a", "f": 0, "extra": 1}, {"s": "a"}],
)
def test_inputs_that_do_not_match_the_schema_are_refused(bad):
    with pytest.raises(InputError):
        identity(bad)


def test_without_a_schema_only_generic_rules_apply():
    assert identity({"a": 1}, schema=None) == identity({"a": 1.0}, schema=None)
    assert identity({"a": 1}, schema=None) != identity({"a": "1"}, schema=None)
    assert canonical_json({"b": [1.0, "é"], "a": 2.5}) == '{"a":2.5,"b":[1,"é"]}'
    with pytest.raises(InputError):
        canonical_json({"a": float("nan")})


def test_a_pydantic_model_declares_the_schema():
    from pydantic import BaseModel

    class Run(BaseModel):
        accession: str

    class AnalysisInput(BaseModel):
        run: Run
        min_read_length: int | None = None

    schema = schema_from(AnalysisInput)
    a = identity({"run": {"accession": "ERR1"}, "min_read_length": "5"}, schema=schema)
    assert a == identity({"min_read_length": 5.0, "run": {"accession": "ERR1"}}, schema=schema)
    assert identity({"run": {"accession": "ERR1"}}, schema=schema) == identity(
        {"run": {"accession": "ERR1"}, "min_read_length": None}, schema=schema
    )


def test_unsupported_schemas_are_refused_early():
    with pytest.raises(SchemaDefinitionError):
        schema_from({"type": "object", "properties": {"a": {"$ref": "https://example.org/x.json"}}})
