"""Replays: the record of a match, written as it is played, read back, verified and shown.

Format (version 1): a JSON Lines file, UTF-8, one object a line, no pickle.

1. Header: ``{"format": "gamepit-replay", "version": 1, "match_id", "game" (spec string),
   "game_name", "num_players", "seed", "agents" (spec strings by seat), "hash_every",
   "move_time", "created" (ISO 8601 UTC), "versions" (package versions)}``.
2. One step per action: ``{"type": "step", "i", "player", "action", "rewards" (by seat),
   "seconds", "info" (the agent's info dict, made JSON by ``protocols.to_json``), "hash" (on
   every step ``i`` with ``(i + 1) % hash_every == 0``: the first 16 hex digits of the SHA-256
   of the state's fingerprint after the action)}``.
3. End: ``{"type": "end", "returns" (by seat), "steps", "forfeit_seat", "forfeit_reason",
   "final_hash"}``.

The game spec and seed rebuild the start state; applying the actions re-simulates the match,
and the hashes prove the re-simulation is the same game. A file without an end line is
truncated (its match was cut off). Every record is checked against the schema below in one
place, ``read_replay``, so a damaged or hostile file is one
line naming the file and the line. Recording is ``gamepit.replay.recorder``, a step observer
the engine builds from a match's settings; this module reads, re-simulates and verifies.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gamepit.errors import ReplayError
from gamepit.protocols import Game, State, state_hash
from gamepit.specs import INT_LIMIT

FORMAT = "gamepit-replay"
VERSION = 1
SUFFIX = ".jsonl"
DEFAULT_FOLDER = "replays"  # where the commands record replays and look for them


# --------------------------------------------------------------------------- the schema


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT_LIMIT


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and (
        not isinstance(value, float) or not math.isnan(value))


def _numbers(count: int) -> Callable[[Any], bool]:
    return lambda value: (isinstance(value, list) and len(value) == count
                          and all(_is_number(item) for item in value))


def _int_in(low: int, high: int | None = None) -> Callable[[Any], bool]:
    return lambda value: _is_int(value) and value >= low and (high is None or value <= high)


_STR = (lambda value: isinstance(value, str), "a string")


def _header_schema() -> dict[str, tuple[Callable[[Any], bool], str]]:
    return {
        "game": (lambda value: isinstance(value, str) and bool(value.strip()), "a game spec"),
        "game_name": _STR,
        "num_players": (_int_in(1, 1000), "a positive integer"),
        "seed": (_is_int, "an integer"),
        "agents": (lambda value: isinstance(value, list)
                   and all(isinstance(item, str) for item in value), "a list of agent specs"),
        "hash_every": (_int_in(1), "a positive integer"),
    }


_OPTIONAL_HEADER = {
    "move_time": (lambda value: value is None or (_is_number(value) and 0 < value < math.inf),
                  "null or a positive number"),
    "match_id": _STR, "created": _STR,
    "versions": (lambda value: isinstance(value, dict), "an object"),
}


def _step_schema(players: int) -> dict[str, tuple[Callable[[Any], bool], str]]:
    return {
        "i": (_int_in(0), "a step number"),
        "player": (_int_in(0, players - 1), f"a seat 0..{players - 1}"),
        "action": (_int_in(0), "an action number (a non-negative integer)"),
        "rewards": (_numbers(players), f"a list of {players} numbers"),
        "seconds": (lambda value: _is_number(value) and value >= 0, "a non-negative number"),
    }


_OPTIONAL_STEP = {
    "info": (lambda value: isinstance(value, dict), "an object"),
    "hash": (lambda value: isinstance(value, str) and len(value) == 16, "a 16-digit hash"),
}


def _end_schema(players: int) -> dict[str, tuple[Callable[[Any], bool], str]]:
    return {
        "returns": (_numbers(players), f"a list of {players} numbers"),
        "steps": (_int_in(0), "a step count"),
        "forfeit_seat": (lambda value: value is None or _int_in(0, players - 1)(value),
                         f"null or a seat 0..{players - 1}"),
        "forfeit_reason": _STR,
        "final_hash": (lambda value: isinstance(value, str) and len(value) == 16,
                       "a 16-digit hash"),
    }


def _check(record: dict[str, Any], required: dict[str, Any], optional: dict[str, Any],
           where: str) -> None:
    for key, (valid, wanted) in required.items():
        if key not in record:
            raise ReplayError(f"{where}: '{key}' is missing")
        if not valid(record[key]):
            raise ReplayError(f"{where}: '{key}' must be {wanted}, got {_short(record[key])}")
    for key, (valid, wanted) in optional.items():
        if key in record and not valid(record[key]):
            raise ReplayError(f"{where}: '{key}' must be {wanted}, got {_short(record[key])}")


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_header(header: dict[str, Any], where: str) -> None:
    """Raise ReplayError (one line, starting with ``where``) unless ``header`` is a version-1
    replay header with every field of the right type."""
    if header.get("format") != FORMAT:
        raise ReplayError(f"{where}: not a gamepit replay (no '{FORMAT}' header)")
    if header.get("version") != VERSION:
        raise ReplayError(f"{where}: replay format version {_short(header.get('version'))} is "
                          f"not supported (this gamepit reads version {VERSION})")
    _check(header, _header_schema(), _OPTIONAL_HEADER, where)
    if len(header["agents"]) != header["num_players"]:
        raise ReplayError(f"{where}: {len(header['agents'])} agents for "
                          f"{header['num_players']} players")


def check_end(end: dict[str, Any], players: int, where: str) -> None:
    """Raise ReplayError (one line) unless ``end`` is a well-formed end record."""
    _check(end, _end_schema(players), {}, where)


# --------------------------------------------------------------------------- reading


@dataclass
class Replay:
    path: str
    header: dict[str, Any]
    steps: list[dict[str, Any]]
    end: dict[str, Any] | None  # None when the file is truncated
    cut_line: int | None = None  # the line cut off mid-write, if any

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


def _parse_line(raw: bytes, where: str) -> dict[str, Any]:
    """One line as a JSON object, or ReplayError saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReplayError(f"{where}: not UTF-8 (byte {raw[error.start]:#04x} at column "
                          f"{error.start + 1})") from None
    try:
        record = json.loads(text)
    except RecursionError:
        raise ReplayError(f"{where}: JSON nested too deeply (corrupted file)") from None
    except ValueError:
        raise ReplayError(f"{where}: not valid JSON (corrupted file)") from None
    if not isinstance(record, dict):
        raise ReplayError(f"{where}: not a JSON object (corrupted file)")
    return record


def _open_bytes(path: Path) -> bytes:
    if path.exists() and not path.is_file():
        raise ReplayError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such replay file") from None
    except OSError as error:
        raise ReplayError(f"{path}: cannot read: {error.strerror or error}") from None


def read_replay(path: str | Path, allow_truncated: bool = False) -> Replay:
    """Read and check a replay file; raises ReplayError, one line naming the file and the line
    at fault, if it is damaged. A last line cut off mid-write reads as a truncated file."""
    path = Path(path)
    data = _open_bytes(path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise ReplayError(f"{path}: empty file, not a gamepit replay")
    header = _parse_line(lines[0], f"{path}: line 1")
    check_header(header, f"{path}: line 1")
    players = header["num_players"]
    step_schema = _step_schema(players)
    steps: list[dict[str, Any]] = []
    end = None
    cut_line = None
    for number, raw in enumerate(lines[1:], 2):
        where = f"{path}: line {number}"
        if end is not None:
            raise ReplayError(f"{where} follows the end record (corrupted file)")
        try:
            record = _parse_line(raw, where)
        except ReplayError:
            if number == len(lines) and not data.endswith(b"\n"):
                cut_line = number  # the last line was cut off mid-write: a truncated file
                break
            raise
        kind = record.get("type")
        if kind == "step":
            _check(record, step_schema, _OPTIONAL_STEP, where)
            if record["i"] != len(steps):
                raise ReplayError(f"{where}: is step {record['i']}, expected step {len(steps)} "
                                  "(corrupted file)")
            steps.append(record)
        elif kind == "end":
            check_end(record, players, where)
            end = record
        else:
            raise ReplayError(f"{where}: unknown record type {_short(kind)}")
    if end is None and not allow_truncated:
        cut = f"line {cut_line} is cut off; " if cut_line else ""
        raise ReplayError(f"{path}: {cut}truncated after {len(steps)} steps (no end record); "
                          "the match was cut off")
    return Replay(str(path), header, steps, end, cut_line)


# --------------------------------------------------------------------------- re-simulating


def simulate(replay: Replay, registry: Any, upto: int | None = None, check: bool = True,
             before: Callable[[State, dict[str, Any]], None] | None = None,
             game: Game | None = None) -> tuple[State, int]:
    """Rebuild the game from the header and apply the first ``upto`` actions (all by default),
    checking actions and, with ``check``, players, rewards and hashes. ``before(state, step)``
    is called before each action is applied (to name moves in their position); ``game`` is
    the header's game if already built. Returns the state and how many hashes matched."""
    game = game or registry.make_game(replay.header["game"])
    where = replay.path
    if game.num_players != replay.header["num_players"]:
        raise ReplayError(f"{where}: line 1: header says {replay.header['num_players']} "
                          f"players, {game.spec or game.name} has {game.num_players}")
    if check and game.name != replay.header["game_name"]:
        raise ReplayError(f"{where}: line 1: header says game_name "
                          f"{_short(replay.header['game_name'])}, the spec builds {game.name!r}")
    state = game.new_state(replay.header["seed"])
    every = replay.header["hash_every"]
    checked = 0
    steps = replay.steps if upto is None else replay.steps[:upto]
    for step in steps:
        i, action = step["i"], step["action"]
        at = f"{where}: line {i + 2}: step {i}"  # steps start on line 2
        if state.is_terminal():
            raise ReplayError(f"{at}: the game was already over on re-simulation")
        if check and state.current_player != step["player"]:
            raise ReplayError(f"{at}: recorded player {step['player']} but "
                              f"player {state.current_player} is to move")
        if not 0 <= action < game.num_actions:
            raise ReplayError(f"{at}: action {action} is out of range "
                              f"(the game has actions 0..{game.num_actions - 1})")
        if not state.legal_mask()[action]:
            raise ReplayError(f"{at}: action {action} is illegal on "
                              "re-simulation")
        if before is not None:
            before(state, step)
        returns_before = state.returns()
        state.apply(action)
        if not check:
            continue
        rewards = [a - b for a, b in zip(state.returns(), returns_before, strict=True)]
        if not _same(rewards, step["rewards"]):
            raise ReplayError(f"{at}: recorded rewards {step['rewards']} but "
                              f"re-simulation gives {rewards}")
        if (i + 1) % every == 0:
            if "hash" not in step:
                raise ReplayError(f"{at}: its state hash is missing (a hash is "
                                  f"recorded every {every} steps; the file was edited)")
            if state_hash(state) != step["hash"]:
                raise ReplayError(f"{at}: state hash differs on re-simulation "
                                  "(the game or its version changed, or the file was edited)")
            checked += 1
        elif "hash" in step:
            raise ReplayError(f"{at}: a state hash where none is recorded (every "
                              f"{every} steps; the file was edited)")
    return state, checked


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-9)
                                    for x, y in zip(a, b, strict=True))


def verify(path: str | Path, registry: Any) -> str:
    """Re-simulate a replay and check every record against it: players, actions, rewards and
    hashes of the steps, and the end record's step count, final hash, forfeit and returns,
    which are derived again from the simulation. Returns a one-line report; raises ReplayError
    (one line) at the first field that does not match."""
    replay = read_replay(path)
    state, checked = simulate(replay, registry)
    end = replay.end
    assert end is not None
    steps = len(replay.steps)
    if end["steps"] != steps:
        raise ReplayError(f"{path}: end record says {end['steps']} steps, file has {steps}")
    if state_hash(state) != end["final_hash"]:
        raise ReplayError(f"{path}: final state hash differs on re-simulation")
    checked += 1
    players = replay.header["num_players"]
    board = [float(r) for r in state.returns()]
    seat, reason = end["forfeit_seat"], end["forfeit_reason"]
    note = ""
    if seat is not None:
        if state.is_terminal():
            raise ReplayError(f"{path}: end record says seat {seat} forfeited, but the game "
                              f"was over on the board after step {steps} (returns {board})")
        if not reason.strip():
            raise ReplayError(f"{path}: end record says seat {seat} forfeited with no reason")
        to_move = state.current_player
        before_play = all((step.get("info") or {}).get("opening") for step in replay.steps)
        if seat != to_move and not before_play:  # a failed reset forfeits before any move
            raise ReplayError(f"{path}: end record says seat {seat} forfeited at step {steps}, "
                              f"but seat {to_move} was to move")
        expected = ([-1.0 if s == seat else 1.0 for s in range(players)] if players > 1
                    else board)
    else:
        if reason:
            raise ReplayError(f"{path}: end record gives a forfeit reason but no forfeit seat")
        expected = board
        if not state.is_terminal():
            note = f" (stopped after {steps} steps, before the game was over)"
    if not _same(expected, end["returns"]):
        raise ReplayError(f"{path}: end record returns {end['returns']} differ from "
                          f"{expected} derived on re-simulation")
    return (f"ok: {path}: {steps} steps re-simulated, {checked} state hashes match, result: "
            f"{replay.describe_result()}{note}")

