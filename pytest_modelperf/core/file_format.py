"""The JSON format of baseline files and exports: its schema version, the compact layout baseline
files are written in, and typed field readers whose ``FormatError`` names the field that is
missing or malformed.

The layout keeps a baseline's diff as small as the change it records: an object or array whose
items are all scalars is one line (a summary, 21 quantiles, one recorded run, an environment),
an array of such items is one item per line (the recorded runs), and each of a quality score's
per-example arrays (ids, predictions, references, class scores) is one line, however long, so
that a new model's predictions change one line rather than one per example. Everything else is
one key per line, sorted. Any JSON reader reads it, as it reads the indented layout of older files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from .example_outcomes import ExampleOutcomes, OutcomesError

SCHEMA_VERSION = 1
_INDENT = "  "  # of each nesting level in a baseline file

if TYPE_CHECKING:
    from typing_extensions import TypeIs

Choice = TypeVar("Choice", bound=Enum)


class FormatError(ValueError):
    """A stored dictionary does not have the expected shape; ``path`` names the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def baseline_text(data: Mapping[str, Any]) -> str:
    """A baseline file's text in the compact layout: sorted keys, the same bytes for the same
    data, a final newline. ``ValueError`` for NaN or infinity (callers name the field first)."""
    return _layout(data, (), 0) + "\n"


def _is_example_array(path: tuple[str, ...]) -> bool:
    """``tests.<test>.<measurement>.examples.<field>``: a per-example array, kept on one line."""
    return len(path) == 5 and path[0] == "tests" and path[3] == "examples"


def _layout(value: Any, path: tuple[str, ...], depth: int) -> str:
    if _is_flat(value) or _is_example_array(path):
        return _one_line(value)
    inner = _INDENT * (depth + 1)
    if isinstance(value, Mapping):
        items = [f"{inner}{_one_line(str(key))}: {_layout(value[key], (*path, str(key)), depth + 1)}" for key in sorted(value)]
        opening, closing = "{", "}"
    else:
        items = [f"{inner}{_layout(item, (*path, str(index)), depth + 1)}" for index, item in enumerate(value)]
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(items) + "\n" + _INDENT * depth + closing


def _is_flat(value: Any) -> bool:
    """A scalar, or an object or array whose items are all scalars (or none)."""
    if isinstance(value, Mapping):
        return not any(isinstance(item, (Mapping, list, tuple)) for item in value.values())
    if isinstance(value, (list, tuple)):
        return not any(isinstance(item, (Mapping, list, tuple)) for item in value)
    return True


def _one_line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def is_number(value: object) -> TypeIs[int | float]:
    """An int or a float as JSON gives them (``true`` and ``false`` are not numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def required(data: Mapping[str, Any], key: str, path: str) -> object:
    """The value of ``key``; FormatError when it is missing."""
    if key not in data:
        raise FormatError(f"{path}.{key}", "missing")
    return data[key]


def string_field(data: Mapping[str, Any], key: str, path: str) -> str:
    value = required(data, key, path)
    if not isinstance(value, str):
        raise _wrong_kind(path, key, "str", value)
    return value


def bool_field(data: Mapping[str, Any], key: str, path: str) -> bool:
    value = required(data, key, path)
    if not isinstance(value, bool):
        raise _wrong_kind(path, key, "bool", value)
    return value


def object_field(data: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = required(data, key, path)
    if not isinstance(value, dict):
        raise _wrong_kind(path, key, "dict", value)
    return value


def choice_field(data: Mapping[str, Any], key: str, choices: type[Choice], path: str) -> Choice:
    """A string field that must be the value of one of ``choices``' members."""
    text = string_field(data, key, path)
    try:
        return choices(text)
    except ValueError:
        allowed = ", ".join(str(choice.value) for choice in choices)
        raise FormatError(f"{path}.{key}", f"{text!r} is not one of {allowed}") from None


def unavailable_field(data: Mapping[str, Any], path: str) -> str | None:
    """The optional ``unavailable`` reason: a non-empty string, or None."""
    unavailable = data.get("unavailable")
    if unavailable is not None and (not isinstance(unavailable, str) or not unavailable):
        raise FormatError(f"{path}.unavailable", f"expected a reason such as 'out of memory', got {unavailable!r}")
    return unavailable


def context_field(data: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The optional ``context`` object (empty when absent)."""
    context = data.get("context", {})
    if not isinstance(context, dict):
        raise FormatError(f"{path}.context", "expected an object")
    return context


def examples_field(data: Mapping[str, Any], path: str) -> ExampleOutcomes | None:
    """The optional per-example outcomes of a quality score."""
    if "examples" not in data:
        return None
    try:
        return ExampleOutcomes.from_dict(data["examples"], f"{path}.examples")
    except OutcomesError as error:
        raise FormatError(f"{path}.examples", str(error)) from None


def number_list(data: object, path: str) -> tuple[float, ...]:
    if not isinstance(data, list) or not all(is_number(value) for value in data):
        raise FormatError(path, "expected a list of numbers")
    return tuple(float(value) for value in data)


def number_map(data: object, path: str) -> dict[str, float]:
    if not isinstance(data, dict):
        raise FormatError(path, f"expected an object of numbers, got {type(data).__name__}")
    for key, value in data.items():
        if not is_number(value):
            raise FormatError(f"{path}.{key}", f"expected a number, got {value!r}")
    return {str(key): float(value) for key, value in data.items()}


def _wrong_kind(path: str, key: str, kind: str, value: object) -> FormatError:
    return FormatError(f"{path}.{key}", f"expected {kind}, got {type(value).__name__} {value!r}")
