"""Checks of untrusted input that every request passes before any view runs (no Django needed).

Postgres refuses a NUL in text and a lone UTF-16 surrogate cannot be encoded as UTF-8, so either one,
anywhere, would otherwise surface as a 500 deep inside a query or a ``JSONField``; so would JSON nested
deep enough to exhaust the recursion limit, and ``NaN``/``Infinity``, which ``jsonb`` does not accept.
Each check raises :class:`InputRefused`, whose message names the offending parameter
(``query.search: contains a NUL byte``, ``body.input.run: contains a lone UTF-16 surrogate``).
:mod:`core.middleware` turns it into a 4xx.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Containers (objects and arrays) a JSON body may nest; far more than any schema of the platform needs.
MAX_JSON_DEPTH = 32
#: Characters of one string inside a JSON body (the body's size is bounded separately).
MAX_JSON_STRING_LENGTH = 1_000_000
MAX_PATH_LENGTH = 2048
MAX_QUERY_NAME_LENGTH = 256
MAX_QUERY_VALUE_LENGTH = 4096
MAX_HEADER_LENGTH = 8192

_SURROGATE = re.compile("[\ud800-\udfff]")
#: C0 controls but tab, and DEL: never part of a token or a byte range.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


class InputRefused(ValueError):
    """An input the platform refuses: ``where`` names it, ``problem`` says why, ``status`` is the answer's."""

    def __init__(self, where: str, problem: str, *, status: int = 400) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.status = status


def printable(text: str, limit: int = 64) -> str:
    """``text`` safe to echo in an error message: control characters and surrogates escaped, cut at ``limit``."""
    shown = text[:limit].encode("unicode_escape").decode("ascii")
    return shown + ("..." if len(text) > limit else "")


def string_problem(value: str, *, max_length: int | None = None, controls: bool = False) -> str | None:
    """Why ``value`` is refused, or ``None`` when it is clean.

    :param value: the string to check
    :param max_length: the most characters it may have (``None``: any)
    :param controls: refuse control characters too (for headers)
    """
    if "\x00" in value:
        return "contains a NUL byte"
    if _SURROGATE.search(value):
        return "contains a lone UTF-16 surrogate"
    if controls and _CONTROL.search(value):
        return "contains a control character"
    if max_length is not None and len(value) > max_length:
        return f"is longer than {max_length} characters"
    return None


def check_string(value: str, *, where: str, max_length: int | None = None, controls: bool = False) -> None:
    """:raises InputRefused: when :func:`string_problem` finds one; ``where`` names the input."""
    problem = string_problem(value, max_length=max_length, controls=controls)
    if problem is not None:
        raise InputRefused(where, problem)


def check_name(name: str, *, where: str) -> None:
    """:raises InputRefused: when the name of a query parameter or a JSON member is unclean; ``where`` is its
    container (``query``, ``body.items[0]``)."""
    problem = string_problem(name, max_length=MAX_QUERY_NAME_LENGTH)
    if problem is not None:
        raise InputRefused(f"{where}.{printable(name)}", f"its name {problem}")


def check_json(
    value: Any,
    *,
    where: str = "body",
    max_depth: int = MAX_JSON_DEPTH,
    max_string_length: int | None = MAX_JSON_STRING_LENGTH,
) -> None:
    """Check parsed JSON without recursion: nesting at most ``max_depth``, every key and string clean, floats finite.

    :param value: what ``json.loads`` returned
    :param where: the name of the whole value, the prefix of each member's (``body.items[2].input``)
    :raises InputRefused: naming the first offending member
    """
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        node, name, depth = stack.pop()
        if isinstance(node, str):
            check_string(node, where=name, max_length=max_string_length)
        elif isinstance(node, float) and not math.isfinite(node):
            raise InputRefused(name, "is not a finite number")
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                raise InputRefused(name, f"is nested deeper than {max_depth} levels")
            if isinstance(node, dict):
                for key, member in node.items():
                    check_name(key, where=name)
                    stack.append((member, f"{name}.{key}", depth + 1))
            else:
                stack.extend((member, f"{name}[{index}]", depth + 1) for index, member in enumerate(node))


def _refuse_constant(constant: str) -> Any:
    raise InputRefused("body", f"contains {constant}, which is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InputRefused("body", f"contains {printable(text, 32)}, too large for a number")
    return number


def parse_json(raw: bytes, *, where: str = "body", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a UTF-8 JSON body and :func:`check_json` it.

    :raises InputRefused: the body is not UTF-8, not JSON (``NaN``/``Infinity`` are not), too deep, or unclean
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputRefused(where, f"is not valid UTF-8 (byte {error.start})") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InputRefused(where, f"is nested deeper than {max_depth} levels") from None
    except json.JSONDecodeError as error:
        raise InputRefused(
            where, f"is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except InputRefused:
        raise
    except ValueError as error:  # e.g. an integer of more digits than int() accepts
        raise InputRefused(where, f"is not acceptable JSON ({printable(str(error), 120)})") from None
    check_json(value, where=where, max_depth=max_depth)
    return value
