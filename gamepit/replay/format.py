"""Replays: the record of a match, written as it is played, read back, verified and shown.

Format (version 1): a JSON Lines file, UTF-8, one object a line, no pickle.

1. Header: ``{"format": "gamepit-replay", "version": 1, "match_id", "game" (spec string),
   "game_name", "num_players", "seed", "agents" (spec strings by seat), "hash_every",
   "created" (ISO 8601 UTC), "versions" (package versions)}``.
2. One step per action: ``{"type": "step", "i", "player", "action", "rewards" (by seat),
   "seconds", "info" (the agent's info dict), "hash" (only every hash_every steps: the first 16
   hex digits of the SHA-256 of the state's fingerprint after the action)}``.
3. End: ``{"type": "end", "returns" (by seat), "steps", "forfeit_seat", "forfeit_reason",
   "final_hash"}``.

The game spec and seed rebuild the start state; applying the actions re-simulates the match,
and the hashes prove the re-simulation is the same game. A file without an end line is
truncated (its match was cut off). Recording is ``gamepit.replay.recorder``, a plugin on the
match hooks; this module reads, re-simulates and verifies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gamepit.errors import ReplayError
from gamepit.protocols import State, state_hash

FORMAT = "gamepit-replay"
VERSION = 1
SUFFIX = ".jsonl"


# --------------------------------------------------------------------------- reading


@dataclass
class Replay:
    path: str
    header: dict[str, Any]
    steps: list[dict[str, Any]]
    end: dict[str, Any] | None  # None when the file is truncated

    @property
    def actions(self) -> list[int]:
        return [step["action"] for step in self.steps]

    def describe_result(self) -> str:
        if self.end is None:
            return "unfinished"
        returns = self.end["returns"]
        if self.end.get("forfeit_seat") is not None:
            seat = self.end["forfeit_seat"]
            return f"seat {seat} forfeited ({self.end.get('forfeit_reason', '')})"
        if len(returns) == 1:
            return f"score {returns[0]:g}"
        best = max(returns)
        winners = [i for i, r in enumerate(returns) if r == best]
        return "draw" if len(winners) == len(returns) else f"seat {winners[0]} won"


def read_replay(path: str | Path, allow_truncated: bool = False) -> Replay:
    """Read a replay file; raises ReplayError with the line at fault if it is damaged."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such replay file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ReplayError(f"{path}: cannot read: {error}") from None
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError:
            if number == len(lines) and not text.endswith("\n"):
                break  # the last line was cut off mid-write: treat as truncated
            raise ReplayError(f"{path}: line {number} is not valid JSON (corrupted file)") from None
        records.append(record)
    if not records or records[0].get("format") != FORMAT:
        raise ReplayError(f"{path}: not a gamepit replay (no '{FORMAT}' header)")
    header = records[0]
    if header.get("version") != VERSION:
        raise ReplayError(f"{path}: replay format version {header.get('version')} is not "
                          f"supported (this gamepit reads version {VERSION})")
    steps, end = [], None
    for number, record in enumerate(records[1:], 2):
        kind = record.get("type")
        if end is not None:
            raise ReplayError(f"{path}: line {number} follows the end record (corrupted file)")
        if kind == "step":
            if record.get("i") != len(steps) or not isinstance(record.get("action"), int):
                raise ReplayError(f"{path}: line {number} is not step {len(steps)} "
                                  "(corrupted file)")
            steps.append(record)
        elif kind == "end":
            end = record
        else:
            raise ReplayError(f"{path}: line {number} has unknown type {kind!r}")
    if end is None and not allow_truncated:
        raise ReplayError(f"{path}: truncated after {len(steps)} steps (no end record); "
                          "the match was cut off")
    return Replay(str(path), header, steps, end)


def list_replays(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ReplayError(f"{folder}: no such folder")
    return sorted(folder.rglob(f"*{SUFFIX}"))


# --------------------------------------------------------------------------- re-simulating


def simulate(replay: Replay, registry: Any, upto: int | None = None,
             check: bool = True) -> tuple[State, int]:
    """Rebuild the game from the header and apply the first ``upto`` actions (all by default),
    checking players, legality and hashes. Returns the state and how many hashes matched."""
    game = registry.make_game(replay.header["game"])
    state = game.new_state(replay.header["seed"])
    checked = 0
    steps = replay.steps if upto is None else replay.steps[:upto]
    where = replay.path
    for step in steps:
        i = step["i"]
        if check and state.current_player != step["player"]:
            raise ReplayError(f"{where}: step {i}: recorded player {step['player']} but "
                              f"player {state.current_player} is to move")
        if not state.legal_mask()[step["action"]]:
            raise ReplayError(f"{where}: step {i}: action {step['action']} is illegal on "
                              "re-simulation")
        state.apply(step["action"])
        if check and "hash" in step:
            if state_hash(state) != step["hash"]:
                raise ReplayError(f"{where}: step {i}: state hash differs on re-simulation "
                                  "(the game or its version changed, or the file was edited)")
            checked += 1
    return state, checked


def verify(path: str | Path, registry: Any) -> str:
    """Re-simulate a replay and check every hash; returns a one-line report."""
    replay = read_replay(path)
    state, checked = simulate(replay, registry)
    end = replay.end
    assert end is not None
    if end["steps"] != len(replay.steps):
        raise ReplayError(f"{path}: end record says {end['steps']} steps, file has "
                          f"{len(replay.steps)}")
    if state_hash(state) != end["final_hash"]:
        raise ReplayError(f"{path}: final state hash differs on re-simulation")
    checked += 1
    if end.get("forfeit_seat") is None and [float(r) for r in state.returns()] != end["returns"]:
        raise ReplayError(f"{path}: returns differ on re-simulation")
    return (f"ok: {path}: {len(replay.steps)} steps re-simulated, {checked} state hashes "
            f"match, result: {replay.describe_result()}")
