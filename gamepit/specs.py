"""Spec strings: ``name`` or ``name:key=value,key=value`` naming a game or an agent.

A value may hold commas inside brackets (``openspiel:go(board_size=9,komi=7.5)``) or quotes
(``gtp:cmd=pachi 'threads=1,pass_all_alive'``). The first
part may leave out its key; it then sets the entry's first option (``atari:pong``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable
from typing import Any

from gamepit.errors import SpecError
from gamepit.protocols import INT_LIMIT, Option, PluginEntry, Range

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
SEED_MAX = INT_LIMIT


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
    pieces, depth, current, quote = [], 0, [], ""
    for char in text:
        if quote:  # inside quotes nothing splits (an engine's "threads=1,pass_all_alive")
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0 and not quote:
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
    except (TypeError, ValueError, OverflowError):
        raise SpecError(
            f"{where}: option {option.name!r} expects {option.type.__name__}, got {value!r}"
        ) from None
    if option.choices and result not in option.choices:
        choices = ", ".join(str(c) for c in option.choices)
        raise SpecError(f"{where}: option {option.name}={value} is not one of: {choices}")
    if option.type in (int, float):
        problem = option.range.problem(result)
        if problem:
            raise SpecError(f"{where}: option {option.name}={value} {problem}")
    return result


def number_arg(kind: type = int, low: float | None = None, high: float | None = None
               ) -> Callable[[str], Any]:
    """An argparse ``type=`` for a finite int or float within ``low``..``high``, so
    ``--seed -1`` or ``--move-time nan`` is one line from argparse, not a forfeit per game."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except (TypeError, ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        problem = Range(low, high).problem(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text} {problem}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


seed_arg = number_arg(int, 0, SEED_MAX)


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


# Modules a spec may import (``gym:module:Env-v0``), granted only on the command line with
# ``--allow-import MODULE`` (or ``GAMEPIT_ALLOW_IMPORT``): a name read from a replay header or a
# YAML file is never imported because of that file.
_ALLOWED_IMPORTS: set[str] = set()


def allow_imports(modules: Iterable[str]) -> None:
    """Grant spec strings the right to import these modules (top-level names or dotted)."""
    _ALLOWED_IMPORTS.update(name.strip() for name in modules if name.strip())


def check_import_allowed(module: str, where: str) -> None:
    """Raise SpecError unless ``module`` (or a package above it) was granted."""
    parts = module.split(".")
    granted = _ALLOWED_IMPORTS | {
        name for name in os.environ.get("GAMEPIT_ALLOW_IMPORT", "").split(",") if name}
    if not any(".".join(parts[:i]) in granted for i in range(1, len(parts) + 1)):
        raise SpecError(f"{where}: importing module {module!r} needs the command-line option "
                        f"--allow-import {parts[0]}")


# An engine agent (``gtp:cmd=...``, ``uci:cmd=...``) runs a program. One named on the command
# line runs (the CLI grants it); one read from a file (a tournament's YAML, a ledger, a replay,
# the viewer's page) runs only if ``--allow-engine PROGRAM`` or ``GAMEPIT_ALLOW_ENGINE`` grants it.
_ALLOWED_ENGINES: set[str] = set()


def allow_engines(programs: Iterable[str]) -> None:
    """Grant engine specs the right to run these programs (by base name, e.g. ``gnugo``)."""
    _ALLOWED_ENGINES.update(os.path.basename(name.strip()) for name in programs if name.strip())


def engine_program(parts: list[tuple[str | None, str]]) -> str:
    """The program an engine spec's parts name (``cmd=...`` or the first bare part), '' if
    none; the base name of the command's first word."""
    import shlex

    for key, value in parts:
        if key in (None, "cmd"):
            try:
                words = shlex.split(value)
            except ValueError:
                return ""
            return os.path.basename(words[0]) if words else ""
    return ""


def granted_engines() -> list[str]:
    """The programs engine specs may run here (granted, or in ``GAMEPIT_ALLOW_ENGINE``), for
    workers elsewhere (a Ray cluster does not share this process's environment)."""
    return sorted(_ALLOWED_ENGINES | {
        os.path.basename(name) for name in os.environ.get("GAMEPIT_ALLOW_ENGINE", "").split(",")
        if name})


def check_engine_allowed(program: str, where: str) -> None:
    """Raise SpecError unless ``program`` was granted to engine specs."""
    if program not in granted_engines():
        raise SpecError(f"{where}: running {program!r} from a spec read from a file needs the "
                        f"command-line option --allow-engine {program}")
