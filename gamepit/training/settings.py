"""Training settings: a learner's dataclass of arguments, overridden by a YAML file, then by
``--set key=value`` pairs from the command line (defaults < YAML < --set).

Every mistake (an unknown key, a value of the wrong type, a YAML file that is not a mapping) is
one ``ConfigError`` line naming the key and what was expected. This module imports no torch: the
train command validates a configuration before anything heavy is loaded.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from gamepit.errors import GamepitError
from gamepit.specs import parse_bool


class ConfigError(GamepitError):
    """A configuration file or override is wrong; the message names the key."""


def parse_sets(pairs: Iterable[str]) -> dict[str, str]:
    """``["lr=3e-4", "dueling=true"]`` -> ``{"lr": "3e-4", "dueling": "true"}``."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--set {pair!r}: expected key=value")
        result[key.strip()] = value.strip()
    return result


def field_types(args_class: type) -> dict[str, Any]:
    """Field name -> resolved type annotation of an arguments dataclass."""
    hints = typing.get_type_hints(args_class)
    return {f.name: hints.get(f.name, str) for f in dataclasses.fields(args_class)}


def coerce_value(key: str, value: Any, kind: Any) -> Any:
    """Convert a YAML value or a ``--set`` string to a field's type, or raise ConfigError."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        kind = options[0]
    try:
        if kind is bool:
            return value if isinstance(value, bool) else parse_bool(value)
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)  # accepts "1e6" for step counts
            if not number.is_integer():
                raise ValueError
            return int(number)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind is str:
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        name = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"{key}: expected {name}, got {value!r}") from None
    return value


def merge(args_class: type, learner: str, *layers: Mapping[str, Any]) -> Any:
    """Build ``args_class`` from its defaults overridden by each layer in turn."""
    kinds = field_types(args_class)
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key not in kinds:
                valid = ", ".join(sorted(kinds))
                raise ConfigError(f"{learner} has no setting {key!r}; valid settings: {valid}")
            values[key] = coerce_value(key, value, kinds[key])
    try:
        args = args_class(**values)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{learner}: {error}") from None
    check = getattr(args, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as error:
            raise ConfigError(f"{learner}: {error}") from None
    return args


def field_docs(args_class: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass (CleanRL style), by field name."""
    try:
        source = textwrap.dedent(inspect.getsource(args_class))
    except (OSError, TypeError):
        return {}
    docs: dict[str, str] = {}
    body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
    for node, following in zip(body, body[1:], strict=False):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def describe(args_class: type) -> str:
    """One line per setting: name, default and its docstring (for ``--help``)."""
    docs = field_docs(args_class)
    lines = []
    for f in dataclasses.fields(args_class):
        default = f.default if f.default is not dataclasses.MISSING else "(required)"
        lines.append(f"  {f.name} = {default!r}\n      {docs.get(f.name, '')}")
    return "\n".join(lines)


def as_plain_dict(args: Any) -> dict[str, Any]:
    """The arguments as plain types only, so checkpoints hold no code to unpickle."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}
