"""A tournament's settings, as given on the command line or in a YAML file (same names), each
mistake one line before any game is played."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gamepit.backends import check_backend
from gamepit.errors import GamepitError
from gamepit.files import load_yaml, plain_output, writable_folder
from gamepit.protocols import INT_LIMIT, Range
from gamepit.replay.format import DEFAULT_FOLDER as DEFAULT_REPLAYS
from gamepit.tournament.ledger import DEFAULT_LEDGER

FORMATS = ("round_robin", "gauntlet")


# --------------------------------------------------------------------------- configuration


@dataclass
class TournamentConfig:
    """A tournament, as given on the command line or in a YAML file (same names)."""

    game: str = ""
    """Game spec string, e.g. ``connect_four`` or ``atari:game=pong,max_frames=20000``."""
    agents: list[str] = field(default_factory=list)
    """Agent spec strings; each must be different."""
    name: str | None = None
    """Name in the ledger; re-running the same name resumes it. Default: the game spec."""
    format: str = "round_robin"
    """``round_robin`` (every pair) or ``gauntlet`` (the gauntlet agent against each other)."""
    gauntlet_agent: str | None = None
    """The challenger of a gauntlet (default: the first agent)."""
    games_per_pair: int = 2
    """Games per pairing, seats alternating; episodes per agent on a single-player game."""
    seed: int = 0
    """Base seed; fixed for a tournament's life (a re-run with another seed is refused)."""
    workers: int = 0
    """Workers (processes, or Ray actors with ``backend: ray``); 0 plays in this process."""
    backend: str | None = None
    """Where games run: ``inprocess``, ``processes`` or ``ray`` (default: processes when
    ``workers`` is above 0, else in this process)."""
    ray_address: str | None = None
    """The Ray cluster to run on (``auto``, or HOST:PORT of its head); default: a local one
    started for the run."""
    move_time: float | None = None
    """Seconds an agent may think on one move before it forfeits the game."""
    start_time: float | None = None
    """Seconds an agent may take to be built or reset for a game before it forfeits it
    (default 60, or the GAMEPIT_START_TIME environment variable)."""
    max_steps: int | None = None
    """Stop a game after this many actions (on top of the game's own episode cap)."""
    batch_size: int = 32
    """Games run in lockstep for a pairing with a batched agent; 0 plays them one by one."""
    replays: str | None = None
    """Folder to record replays in. ``gamepit tournament`` records to ``replays/`` unless told
    ``--no-replays`` (or ``replays: null`` in its YAML); built in Python, a config records none
    unless given a folder."""
    ledger: str = DEFAULT_LEDGER
    """SQLite results ledger file."""
    anchor: list[str] | str | None = None
    """Agents pinned to given ratings, each ``SPEC=ELO`` (or ``SPEC``, pinned at
    ``anchor_elo``); several may be pinned. With none, the mean rating is 0."""
    anchor_elo: float = 0.0
    """Rating of an anchor given without ``=ELO``."""
    csv: str | None = None
    """Write the leaderboard as CSV to this file."""
    json: str | None = None
    """Write the leaderboard as JSON to this file."""
    isolate: bool = False
    """Run each agent in a process of its own, so a crash or hang costs it one game."""
    plugins: list[str] = field(default_factory=list)
    """Extra plugin files or folders (``--plugins`` on the command line only), loaded by every
    worker process too."""

    @property
    def executor(self) -> str:
        """The backend games run on: the one named, else processes with workers, else here."""
        return self.backend or ("processes" if self.workers else "inprocess")

    def check(self) -> None:
        """One-line errors for settings that cannot work, before any game is played."""
        if not self.game:
            raise GamepitError("tournament: no game given (a GAME argument or 'game:' in YAML)")
        if not self.agents:
            raise GamepitError("tournament: no agents given")
        if len(set(self.agents)) != len(self.agents):
            raise GamepitError("tournament: an agent is listed twice")
        check_backend(self.executor, "tournament", self.ray_address)
        if self.format not in FORMATS:
            raise GamepitError(f"tournament: format must be one of {', '.join(FORMATS)}, "
                               f"not {self.format!r}")
        for name, bounds in _RANGES.items():
            value = getattr(self, name)
            problem = "" if value is None else bounds.problem(value)
            if problem:
                raise GamepitError(f"tournament: {name} {value!r} {problem}")
        if self.move_time is not None and self.move_time <= 0:
            raise GamepitError("tournament: move_time must be positive")
        if self.start_time is not None and self.start_time <= 0:
            raise GamepitError("tournament: start_time must be positive")
        if self.seed + self.games_per_pair > INT_LIMIT:
            raise GamepitError("tournament: seed is too large for its games' seeds")
        # Folders are proven writable now, not after the last game has been played.
        if self.replays:
            writable_folder(self.replays, "tournament: replay folder")
        for what, file in (("ledger", self.ledger), ("csv", self.csv), ("json", self.json)):
            if file:
                writable_file(file, f"tournament: {what}")


def writable_file(path: str, what: str) -> None:
    """Refuse an output file that is a folder, or whose folder cannot be written, now."""
    target = plain_output(path, what)
    if target.exists() and not os.access(target, os.W_OK):
        raise GamepitError(f"{what} {path} cannot be written")
    writable_folder(target.resolve().parent, f"{what} folder")


# Inclusive ranges of the numeric settings, checked for YAML and flags alike.
_RANGES: dict[str, Range] = {
    "games_per_pair": Range(1, 10**7), "seed": Range(0, INT_LIMIT), "workers": Range(0, 1024),
    "move_time": Range(0, 10**6), "start_time": Range(0, 10**6), "max_steps": Range(1, 10**9),
    "batch_size": Range(0, 10**5), "anchor_elo": Range(-10**5, 10**5),
}


_TYPES: dict[str, tuple[type, ...]] = {
    "game": (str,), "agents": (list,), "name": (str,), "format": (str,),
    "gauntlet_agent": (str,), "games_per_pair": (int,), "seed": (int,), "workers": (int,),
    "move_time": (int, float), "start_time": (int, float), "max_steps": (int,),
    "batch_size": (int,), "replays": (str,),
    "ledger": (str,), "anchor": (str, list), "anchor_elo": (int, float), "csv": (str,),
    "json": (str,), "isolate": (bool,), "plugins": (list,), "backend": (str,),
    "ray_address": (str,),
}


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML tournament file into a dict of checked settings (keys as TournamentConfig)."""
    document = load_yaml(path)
    unknown = sorted(str(key) for key in document if key not in _TYPES)
    if unknown:
        raise GamepitError(f"{path}: unknown key(s) {', '.join(unknown)}; valid keys: "
                           f"{', '.join(_TYPES)}")
    if "plugins" in document:
        raise GamepitError(f"{path}: a YAML file may not load code: remove 'plugins:' and pass "
                           "each plugin on the command line with --plugins PATH")
    for key, value in document.items():
        if value is None:
            continue
        if isinstance(value, bool) is not (_TYPES[key] == (bool,)) or not isinstance(
                value, _TYPES[key]):
            kind = " or ".join(t.__name__ for t in _TYPES[key])
            raise GamepitError(f"{path}: {key} must be {kind}, not {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise GamepitError(f"{path}: {key} must be a list of strings (spec strings)")
        if key in _RANGES and _RANGES[key].problem(value):
            raise GamepitError(f"{path}: {key}: {value!r} {_RANGES[key].problem(value)}")
    # (replays: null is kept: it says "record none", where a missing key records to replays/)
    return {key: value for key, value in document.items()
            if value is not None or key == "replays"}



def config_from_args(args: argparse.Namespace) -> TournamentConfig:
    """YAML settings (if ``--config``), overridden by every flag given on the command line."""
    settings = load_config(args.config) if args.config else {}
    if args.game is not None:
        settings["game"] = args.game
    if args.agents:
        settings["agents"] = list(args.agents)
    no_replays = getattr(args, "no_replays", False) or (
        "replays" in settings and settings["replays"] is None)  # replays: null in the YAML
    names = {f.name for f in fields(TournamentConfig)} - {"game", "agents", "plugins"}
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    settings["replays"] = None if no_replays else settings.get("replays") or DEFAULT_REPLAYS
    settings["plugins"] = list(args.plugins or [])
    return TournamentConfig(**settings)
