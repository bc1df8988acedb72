"""A replay opened for watching: its moves, its boards, and its screens re-simulated on demand.

The web viewer and the exporters share this one piece. Board games are cheap, so every
position's ``board_view()`` is computed in one pass when the replay is opened. Pixel games
(Atari: states with ``frame()``) are not: a 10,000-step replay holds 10,000 screens, so a
screen is re-simulated when asked for, from the nearest snapshot (a ``state.clone()`` kept every
``SNAPSHOT_EVERY`` steps) or from where the last request left off, which makes both playing
forward and seeking cheap. Snapshots are never stepped; they are cloned first.

This module must not know any concrete game: it only uses the State protocol and the optional
``board_view()`` / ``frame()`` methods described in ``gamepit.protocols``.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import numpy as np

from gamepit.errors import GamepitError, ReplayError
from gamepit.protocols import HasActionNames, HasBoardView, HasFrame, State, state_hash
from gamepit.replay import Replay

SNAPSHOT_EVERY = 100
# Emulators may be shared by every game of one ROM (gamepit.games.atari shares them) and are
# not thread-safe, so all screen re-simulation in this process, across replays, takes this one
# lock. Board games, which share nothing, get a lock per replay.
SCREEN_LOCK = threading.RLock()
MAX_ACTION_LABELS = 5000  # chess has 4672 actions; beyond this labels are left to the page


class ReplaySession:
    """One replay, re-simulated for viewing. Thread-safe: the web server's request threads and
    the snapshot warm-up share it through a lock (``SCREEN_LOCK`` for pixel games) that the
    warm-up takes a few steps at a time."""

    def __init__(self, replay: Replay, registry: Any) -> None:
        self.replay = replay
        with SCREEN_LOCK:  # building a pixel game's start state runs its emulator
            self.game = registry.make_game(replay.header["game"])
            start = self.game.new_state(replay.header["seed"])
        self.has_frames = isinstance(start, HasFrame)
        self.has_board = isinstance(start, HasBoardView)
        self._lock = SCREEN_LOCK if self.has_frames else threading.RLock()
        self._snapshots: dict[int, State] = {0: start}
        self._cursor: tuple[int, State] | None = None  # the state after some steps, stepped on
        self._boards: list[dict[str, Any]] | None = None
        self._labels: list[str] | None = None
        self._move_names: list[dict[str, str]] = []  # per step, names that need the position
        self._first_frame_served = threading.Event()
        self._closed = threading.Event()
        self.problem = ""  # set when re-simulation fails (illegal action, hash mismatch)

    @property
    def num_steps(self) -> int:
        return len(self.replay.steps)

    # ------------------------------------------------------------------ re-simulation

    def _advance(self, state: State, start: int, stop: int) -> None:
        """Apply the recorded actions ``start..stop-1`` to ``state``, checking legality and the
        recorded hashes, so the viewer never shows a game that is not the one recorded."""
        for step in self.replay.steps[start:stop]:
            action = step["action"]
            mask = state.legal_mask()
            if not (0 <= action < len(mask)) or not mask[action]:
                raise ReplayError(f"{self.replay.path}: step {step['i']}: action {action} is "
                                  "illegal on re-simulation")
            state.apply(action)
            if "hash" in step and state_hash(state) != step["hash"]:
                raise ReplayError(f"{self.replay.path}: step {step['i']}: state hash differs on "
                                  "re-simulation (the game or its version changed)")

    def state_at(self, step: int) -> State:
        """A fresh copy of the state after ``step`` actions (the caller may change it)."""
        if not 0 <= step <= self.num_steps:
            raise GamepitError(f"step must be between 0 and {self.num_steps}, not {step}")
        with self._lock:
            state = self._reach(step)
            return state.clone()

    def _reach(self, step: int) -> State:
        """The cursor moved to ``step``: from itself when it is at or before ``step`` and nearer
        than the best snapshot, else from a clone of that snapshot. Caller holds the lock."""
        base = max(k for k in self._snapshots if k <= step)
        if self._cursor is not None and base <= self._cursor[0] <= step:
            position, state = self._cursor
        else:
            position, state = base, self._snapshots[base].clone()
        while position < step:
            stop = min(step, (position // SNAPSHOT_EVERY + 1) * SNAPSHOT_EVERY)
            try:
                self._advance(state, position, stop)
            except ReplayError as error:
                self.problem = str(error)
                raise
            position = stop
            if position % SNAPSHOT_EVERY == 0 and position not in self._snapshots:
                self._snapshots[position] = state.clone()
        self._cursor = (position, state)
        return state

    def warm_up(self, chunk: int = 20, first_frame_wait: float = 2.0) -> None:
        """Re-simulate the whole replay once, leaving a snapshot every ``SNAPSHOT_EVERY`` steps,
        so later seeks cost at most that many steps. Meant for a background thread, and kept
        out of the page's way: it starts once the first screen is out (or after
        ``first_frame_wait`` seconds), steps its own state rather than the cursor, and takes
        the lock ``chunk`` steps at a time, pausing in between so screen requests go first."""
        self._first_frame_served.wait(first_frame_wait)
        position, state = 0, None
        while position < self.num_steps and not self._closed.is_set():
            with self._lock:
                furthest = max(self._snapshots)
                if state is None or furthest > position:  # a seek already went further
                    position, state = furthest, self._snapshots[furthest].clone()
                stop = min(self.num_steps, position + chunk)
                try:
                    self._advance(state, position, stop)
                except ReplayError as error:
                    self.problem = str(error)  # the page shows it
                    return
                position = stop
                if position % SNAPSHOT_EVERY == 0 and position not in self._snapshots:
                    self._snapshots[position] = state.clone()
            time.sleep(0.001)  # let a waiting request take the lock first

    def close(self) -> None:
        """Stop the warm-up (the server closes replays it no longer keeps open)."""
        self._closed.set()

    # ------------------------------------------------------------------ what the page shows

    def frame(self, step: int) -> np.ndarray:
        """The screen after ``step`` actions, RGB (H, W, 3) uint8."""
        if not self.has_frames:
            raise GamepitError(f"{self.game.name} has no screen frames (it is a board game)")
        if not 0 <= step <= self.num_steps:
            raise GamepitError(f"step must be between 0 and {self.num_steps}, not {step}")
        with self._lock:
            screen = np.asarray(self._reach(step).frame(), dtype=np.uint8)
        self._first_frame_served.set()
        return screen

    def frame_png(self, step: int) -> bytes:
        return encode_png(self.frame(step))

    def boards(self) -> list[dict[str, Any]]:
        """``board_view()`` of every position, from the start to after the last action."""
        if not self.has_board:
            return []
        with self._lock:
            if self._boards is None:
                state = self._snapshots[0].clone()
                boards = [state.board_view()]
                self._move_names = []
                for i in range(self.num_steps):
                    self._move_names.append(names_in_position(state, self.replay.steps[i]))
                    try:
                        self._advance(state, i, i + 1)
                    except ReplayError as error:
                        self.problem = str(error)
                        break
                    boards.append(state.board_view())
                self._boards = boards
            return self._boards

    def action_labels(self) -> list[str]:
        """How the game writes each action (``b2``, ``e2e4``, ``FIRE``); numbers when it has no
        names or too many actions to list."""
        if self._labels is None:
            count = int(self.game.num_actions)
            if count > MAX_ACTION_LABELS:
                self._labels = []
            else:
                labels = []
                for action in range(count):
                    try:
                        labels.append(str(self.game.action_to_string(action)))
                    except Exception:  # noqa: BLE001 - a game may need a position to name moves
                        labels.append(str(action))
                self._labels = labels
        return self._labels

    def describe(self, frame_url: str | None = None) -> dict[str, Any]:
        """Everything the page needs to play the replay, JSON-ready. ``frame_url`` is a template
        with ``{step}`` for pixel games served over HTTP; exports embed frames instead."""
        replay = self.replay
        steps = [{"player": s["player"], "action": s["action"], "rewards": s.get("rewards", []),
                  "seconds": s.get("seconds"), "info": json_safe(s.get("info") or {})}
                 for s in replay.steps]
        data: dict[str, Any] = {
            "path": replay.path, "header": replay.header, "end": json_safe(replay.end),
            "result": replay.describe_result(), "num_steps": self.num_steps,
            "num_actions": int(self.game.num_actions), "action_labels": self.action_labels(),
            "steps": steps, "kind": "frames" if self.has_frames else "board",
        }
        if self.has_frames:
            data["frame_url"] = frame_url
        elif self.has_board:
            data["boards"] = self.boards()
            for step, names in zip(steps, self._move_names, strict=False):
                if names:
                    step["labels"] = names
        else:
            data["kind"] = "text"
            data["texts"] = [self.state_at(k).render() for k in range(self.num_steps + 1)]
        data["problem"] = self.problem
        return data


def names_in_position(state: State, step: dict[str, Any]) -> dict[str, str]:
    """Names of the moves a step mentions (the one played, the agent's top moves, its most
    visited and likeliest moves), from states that name moves by position (chess: ``e2e4``
    depends on where the pieces are). Empty for games whose names need no position."""
    if not isinstance(state, HasActionNames):
        return {}
    name = state.action_to_string
    info = step.get("info") or {}
    wanted = {step["action"]}
    wanted.update(a for a in info.get("top_moves") or [] if isinstance(a, int))
    for key in ("policy", "visit_counts"):
        values = info.get(key)
        if isinstance(values, list) and values and all(isinstance(v, (int, float))
                                                       for v in values):
            wanted.update(int(a) for a in np.argsort(values)[::-1][:8] if values[a] > 0)
    names = {}
    for action in sorted(wanted):
        try:
            names[str(action)] = str(name(action))
        except Exception:  # noqa: BLE001 - a name is a nicety; the number still shows
            continue
    return names


def json_safe(value: Any) -> Any:
    """``value`` with infinities and NaN written as strings: replays may hold them (a search
    that proved a win), but browsers' JSON does not."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an RGB image (OpenCV wants BGR; imported here so the kernel never needs it)."""
    import cv2

    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    if not ok:
        raise GamepitError("OpenCV could not encode a PNG")
    return buffer.tobytes()
