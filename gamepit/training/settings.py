"""Training settings: a learner's dataclass of arguments, overridden by a YAML file, then by
``--set key=value`` pairs from the command line (defaults < YAML < --set).

Every mistake (an unknown key, a value of the wrong type or out of its range, NaN or an
infinity, a YAML file that is not a mapping) is one ``ConfigError`` line naming the key and what
was expected. Ranges are declared once, on the dataclass field (``setting(default, low=...)``),
and checked here for every learner. This module imports no torch: the train command validates a
configuration before anything heavy is loaded.
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
from gamepit.protocols import Range
from gamepit.specs import parse_bool

SEED_MAX = 2**31 - 1  # seeds reach gymnasium, numpy and replay headers; plenty of room
THREADS_MAX = 256  # torch CPU threads; libgomp runs out of memory long before 100,000


class ConfigError(GamepitError):
    """A configuration file or override is wrong; the message names the key."""


def setting(default: Any, *, low: float | None = None, high: float | None = None,
            above: float | None = None, spec: str | None = None, required: bool = False
            ) -> Any:
    """A dataclass field for a learner's arguments with what ``merge`` checks: its ``Range``
    (``low``..``high`` inclusive, ``above`` exclusive: a learning rate is above 0), ``spec``
    for a spec string of that kind (``"agent"``, ``"game"``) that the train command parses
    before training, ``required`` for a value that may not be left empty."""
    metadata = {"range": Range(low, high, above), "spec": spec, "required": required}
    return dataclasses.field(default=default, metadata=metadata)


def range_of(field: dataclasses.Field) -> Range:
    """A field's declared range (unbounded if it declares none)."""
    return field.metadata.get("range") or Range()


def check_field(field: dataclasses.Field, value: Any) -> None:
    """Raise ConfigError when a value breaks its field's declared range; NaN, infinities and
    integers past 64 bits are refused for every number."""
    if field.metadata.get("required") and value in ("", None):
        raise ConfigError(f"{field.name}: a value is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    problem = range_of(field).problem(value)
    if problem:
        raise ConfigError(f"{field.name}={value!r} {problem}")


def spec_fields(args: Any) -> dict[str, tuple[str, str]]:
    """Settings that name a spec: field name -> (kind, value), for parsing before training."""
    return {f.name: (f.metadata["spec"], getattr(args, f.name))
            for f in dataclasses.fields(args) if f.metadata.get("spec")
            and getattr(args, f.name)}


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
            if isinstance(value, int):
                return value
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
    for field in dataclasses.fields(args_class):
        check_field(field, getattr(args, field.name))
    check = getattr(args, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as error:
            raise ConfigError(f"{learner}: {error}") from None
    return args


def field_docs(args_class: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass (CleanRL style), by field name;
    a field declared again in a subclass has the subclass's."""
    docs: dict[str, str] = {}
    for klass in reversed(args_class.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
        for node, following in zip(body, body[1:], strict=False):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def describe(args_class: type) -> str:
    """One line per setting: name, default and its docstring (for ``--help``); the class's own
    settings first, then those it inherits (the search learners' shared tail)."""
    docs = field_docs(args_class)
    by_name = {f.name: f for f in dataclasses.fields(args_class)}
    own = [name for name in vars(args_class).get("__annotations__", {}) if name in by_name]
    lines = []
    for f in [by_name[name] for name in own] + [f for f in by_name.values() if f.name not in own]:
        if f.metadata.get("required") or f.default is dataclasses.MISSING:
            shown = "(required)"
        else:
            shown = repr(f.default)
        limits = range_of(f).text()
        limits = f"  in {limits}" if limits else ""
        lines.append(f"  {f.name} = {shown}{limits}\n      {docs.get(f.name, '')}")
    return "\n".join(lines)


def as_plain_dict(args: Any) -> dict[str, Any]:
    """The arguments as plain types only, so checkpoints hold no code to unpickle."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(args)}
