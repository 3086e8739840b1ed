"""core.model_schema: a response schema without resolvers is read by pydantic alone; with resolvers, by ninja."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ninja.schema import DjangoGetter
from pydantic import AliasPath, Field, ValidationError

from core.model_schema import ModelOut


class Place(ModelOut):
    name: str


class Thing(ModelOut):
    label: str = Field(validation_alias="first_label")
    place: Place | None
    owner: str = Field(validation_alias=AliasPath("owner", "name"))


class ResolvedThing(ModelOut):
    label: str

    @staticmethod
    def resolve_label(obj) -> str:
        return obj.labels[0].upper()


def a_thing() -> SimpleNamespace:
    return SimpleNamespace(first_label="soil", place=SimpleNamespace(name="field"), owner=SimpleNamespace(name="ann"))


def test_reads_attributes_aliases_and_nested_objects_without_ninjas_getter(monkeypatch):
    wrapped = []
    monkeypatch.setattr(DjangoGetter, "__init__", lambda self, *args: wrapped.append(args) or None)

    thing = Thing.model_validate(a_thing())

    assert thing.model_dump() == {"label": "soil", "place": {"name": "field"}, "owner": "ann"}
    assert wrapped == []


def test_a_schema_with_resolvers_is_read_through_ninja():
    assert ResolvedThing.model_validate(SimpleNamespace(labels=["soil", "mud"])).label == "SOIL"


def test_a_missing_attribute_is_a_validation_error_naming_the_field():
    with pytest.raises(ValidationError, match="first_label"):
        Thing.model_validate(SimpleNamespace(place=None, owner=SimpleNamespace(name="ann")))
