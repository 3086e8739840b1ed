"""Custom model fields shared by the apps."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError


class SchemaJSONField(models.JSONField):
    """A JSONField whose value must satisfy a pydantic schema every time it is written.

    Validation happens in ``get_prep_value``, so it covers ``save()``, ``update()`` and the bulk
    operations alike; the stored value is the schema's JSON dump (defaults filled in).
    The schema is code, not database state, so it is left out of migrations.
    """

    def __init__(self, *args: Any, schema: Any = None, **kwargs: Any):
        self.schema = schema
        self._adapter = TypeAdapter(schema) if schema is not None else None
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def validate_value(self, value: Any) -> Any:
        if self._adapter is None or value is None:
            return value
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        try:
            parsed = self._adapter.validate_python(value)
        except PydanticValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "(root)"
            raise ValidationError(
                f"{self.model.__name__}.{self.name} does not match its schema at {where}: {first['msg']}",
                code="invalid_schema",
            ) from None
        return self._adapter.dump_python(parsed, mode="json")

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(self.validate_value(value))

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        self.validate_value(value)


class LtreeField(models.TextField):
    """Postgres ``ltree`` (from the ltree extension): a label path queryable by ancestry."""

    description = "Postgres ltree label path"

    def db_type(self, connection) -> str:
        return "ltree"


@LtreeField.register_lookup
class DescendantOrSelf(models.Lookup):
    """``path__descendant_of="root.Environmental"``: the node itself and everything below it."""

    lookup_name = "descendant_of"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} <@ {rhs}::ltree", [*lhs_params, *rhs_params]
