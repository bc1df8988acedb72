"""Spec strings: ``name`` or ``name:key=value,key=value`` naming a game or an agent.

A value may hold commas inside brackets (``openspiel:go(board_size=9,komi=7.5)``). The first
part may leave out its key; it then sets the entry's first option (``atari:pong``).
"""

from __future__ import annotations

from typing import Any

from gamepit.errors import SpecError
from gamepit.protocols import Option, PluginEntry

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(text: str) -> bool:
    """``1/true/yes/on`` and ``0/false/no/off`` in any case; ValueError otherwise."""
    lowered = str(text).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def split_spec(text: str) -> tuple[str, list[tuple[str | None, str]]]:
    """Split a spec string into its name and its (key, value) parts, keys possibly None."""
    text = text.strip()
    if not text:
        raise SpecError("empty spec: expected NAME or NAME:key=value,...")
    name, _, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise SpecError(f"spec {text!r} has no name before ':'")
    parts: list[tuple[str | None, str]] = []
    for raw in _split_top_level(rest) if rest.strip() else []:
        key, eq, value = raw.partition("=")
        if eq and "(" not in key:
            if not key.strip():
                raise SpecError(f"spec {text!r}: empty option name in {raw!r}")
            parts.append((key.strip(), value.strip()))
        else:
            parts.append((None, raw.strip()))
    return name, parts


def _split_top_level(text: str) -> list[str]:
    pieces, depth, current = [], 0, []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece.strip()]


def coerce(option: Option, value: str, where: str) -> Any:
    """Convert a string to the option's type, with an error that names the option."""
    try:
        result: Any = parse_bool(value) if option.type is bool else option.type(value)
    except (TypeError, ValueError):
        raise SpecError(
            f"{where}: option {option.name!r} expects {option.type.__name__}, got {value!r}"
        ) from None
    if option.choices and result not in option.choices:
        choices = ", ".join(str(c) for c in option.choices)
        raise SpecError(f"{where}: option {option.name}={value} is not one of: {choices}")
    return result


def bind_options(entry: PluginEntry, parts: list[tuple[str | None, str]]) -> dict[str, Any]:
    """Match spec parts against an entry's declared options; returns typed keyword arguments
    holding only the options the spec set (the plugin's own defaults apply to the rest)."""
    where = f"{entry.kind} {entry.name!r}"
    valid = ", ".join(option.name for option in entry.options) or "(none)"
    kwargs: dict[str, Any] = {}
    for index, (key, value) in enumerate(parts):
        if key is None:
            if index != 0 or not entry.options:
                raise SpecError(
                    f"{where}: {value!r} needs a key=value form; valid options: {valid}")
            key = entry.options[0].name
        option = entry.option(key)
        if option is None:
            raise SpecError(f"{where} has no option {key!r}; valid options: {valid}")
        if key in kwargs:
            raise SpecError(f"{where}: option {key!r} given twice")
        kwargs[key] = coerce(option, value, where)
    return kwargs


def format_spec(name: str, options: dict[str, Any]) -> str:
    """The canonical spec string for a name and its options (inverse of split + bind)."""
    if not options:
        return name
    return name + ":" + ",".join(f"{key}={_format_value(value)}" for key, value in options.items())


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
