"""Replay recording: this module is a plugin on the match hooks that writes each match to a
JSON Lines file as it is played (format in ``gamepit.replay.format``), flushed a line at a
time, so a crash mid-match leaves every finished step on disk."""

from __future__ import annotations

import json
import platform
import re
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from gamepit.plugins.markers import hookimpl
from gamepit.protocols import to_json
from gamepit.replay.format import FORMAT, SUFFIX, VERSION


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("gamepit", "numpy", "pluggy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


_open: dict[str, IO[str]] = {}


def _write(match: Any, handle: IO[str], record: dict[str, Any]) -> None:
    # The one place records become JSON: an agent's info holding a set, a numpy array or any
    # object is converted (lists, numbers, strings), so no step is ever dropped.
    try:
        handle.write(json.dumps(to_json(record), separators=(",", ":")) + "\n")
        handle.flush()  # a crash mid-match leaves every finished step on disk
    except OSError as error:  # a full disk, a file size limit: this replay is lost, and said
        _give_up(match, handle, error)


def _give_up(match: Any, handle: IO[str], error: OSError) -> None:
    """A replay that cannot be written: its partial file is removed and the match says why,
    so no summary counts it."""
    _open.pop(match.match_id, None)
    try:
        handle.close()
    except OSError:
        pass
    path = match.extra.pop("replay_path", None)
    if path:
        Path(path).unlink(missing_ok=True)
    match.extra["replay_error"] = error.strerror or str(error)


@hookimpl
def gamepit_match_start(match: Any) -> None:
    if not match.replay_dir:
        return
    folder = Path(match.replay_dir)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    who = "-vs-".join(re.sub(r"[^A-Za-z0-9_.=-]+", "_", spec)[:40] for spec in match.agent_specs)
    game_name = re.sub(r"[^A-Za-z0-9_]+", "_", match.game.name)
    path = folder / f"{stamp}_{game_name}_{who}_{match.match_id}{SUFFIX}"
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as error:
        match.extra["replay_error"] = error.strerror or str(error)
        return
    _open[match.match_id] = handle
    match.extra["replay_path"] = str(path)
    _write(match, handle, {
        "format": FORMAT, "version": VERSION, "match_id": match.match_id,
        "game": match.game_spec, "game_name": match.game.name,
        "num_players": match.game.num_players, "seed": match.seed,
        "agents": list(match.agent_specs), "hash_every": match.hash_every,
        "move_time": match.move_time,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
    })


@hookimpl
def gamepit_match_step(match: Any, step: Any) -> None:
    handle = _open.get(match.match_id)
    if handle is None:
        return
    record = {"type": "step", "i": step.index, "player": step.player, "action": step.action,
              "rewards": step.rewards, "seconds": step.seconds, "info": step.info}
    if step.hash:
        record["hash"] = step.hash
    _write(match, handle, record)


@hookimpl
def gamepit_match_end(match: Any, result: Any) -> None:
    handle = _open.pop(match.match_id, None)
    if handle is None:
        return
    _write(match, handle, {"type": "end", "returns": result.returns, "steps": result.steps,
                           "forfeit_seat": result.forfeit_seat,
                           "forfeit_reason": result.forfeit_reason,
                           "final_hash": result.final_hash})
    try:
        handle.close()
    except OSError as error:
        _give_up(match, handle, error)
