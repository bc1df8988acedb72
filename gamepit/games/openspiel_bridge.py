"""The OpenSpiel bridge: ``openspiel:GAME_STRING`` plays any sequential, deterministic,
perfect-information OpenSpiel game (othello, hex, chess, breakthrough, go...) through OpenSpiel's
own native state, whose ``clone`` is the simulator search uses.

Games OpenSpiel cannot simulate honestly for search (chance nodes, hidden information,
simultaneous moves) are refused up front with the reason. ``pyspiel`` is imported only when a
game is built, so listing plugins never pays for it.
"""

from __future__ import annotations

import functools
import math
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from gamepit.errors import SpecError
from gamepit.games.chess_notation import chess_pgn, fen_board_view, replayed_state
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game, Option
from gamepit.protocols import game as game_entry

MAX_MOVES = 1_000_000  # the highest move cap a spec may set
MAX_ACTIONS = 100_000  # more distinct actions than this (hex(board_size=1000)) are refused
PROBE_MOVES = 100_000  # moves of the random game a parameterised game string is checked by
PROBE_SECONDS = 60

# Observation tensors of most OpenSpiel games are one-hot planes in [0, 1] (every bridgeable
# game was played out to check); these few hold counts instead: game short name -> function of
# the loaded game -> the highest value its observation can take.
_HIGH_BOUNDS: dict[str, Callable[[Any], float]] = {
    # 48 seeds, and a move counter that runs up to the game's length
    "mancala": lambda game: float(max(48, game.max_game_length())),
    "quoridor": lambda game: float(game.get_parameters().get("wall_count", 10)),  # walls left
}


@contextmanager
def _quiet_stderr() -> Iterator[list[str]]:
    """Hold back what OpenSpiel's C++ side prints on stderr while a game loads.

    A bad game string makes OpenSpiel print its own ``OpenSpiel exception`` line (for an unknown
    game, the whole list of games) before raising; the user should see our one-line error
    instead. What was printed is handed back so a successful load can still show warnings.
    """
    captured: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


def probe_game(game_string: str) -> str:
    """Play one seeded random game of ``game_string`` and say what is wrong with it ('' if
    nothing): too many actions, a position that is not over yet has no legal move, a board
    that cannot be printed or observed, returns that are not numbers, or OpenSpiel's error.
    Run in a child process (``python -m gamepit.games.openspiel_bridge GAME``), since some
    parameters crash OpenSpiel itself (``connect_four(rows=0)`` is a segmentation fault)."""
    import pyspiel

    try:
        loaded = pyspiel.load_game(game_string)
        kinds, game_type = pyspiel.GameType, loaded.get_type()
        if (game_type.dynamics != kinds.Dynamics.SEQUENTIAL
                or game_type.chance_mode != kinds.ChanceMode.DETERMINISTIC
                or game_type.information != kinds.Information.PERFECT_INFORMATION):
            return ""  # refused in the parent, with the reason
        if loaded.num_distinct_actions() > MAX_ACTIONS:
            return (f"{loaded.num_distinct_actions()} distinct actions, more than the bridge's "
                    f"{MAX_ACTIONS}")
        tensor = (_observation_tensor if game_type.provides_observation_tensor
                  else _information_state_tensor)
        state, rng = loaded.new_initial_state(), random.Random(0)
        for _ in range(PROBE_MOVES):
            str(state)
            for player in range(loaded.num_players()):
                tensor(state, player)
            if state.is_terminal():
                break
            legal = state.legal_actions()
            if not legal:
                return "a position that is not over has no legal move"
            state.apply_action(rng.choice(legal))
        if not all(math.isfinite(value) for value in state.returns()):
            return f"returns {state.returns()} are not finite numbers"
    except Exception as error:  # SpielError, or a bare C++ error such as basic_string
        return (str(error).strip().splitlines() or [type(error).__name__])[0]
    return ""


@functools.lru_cache(maxsize=64)
def _probe_in_child(game_string: str) -> str:
    """``probe_game`` in a child process, so a crash or a runaway game costs one line."""
    try:
        done = subprocess.run([sys.executable, "-m", "gamepit.games.openspiel_bridge",
                               game_string], capture_output=True, text=True,
                              timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        return f"a random game did not finish within {PROBE_SECONDS} s (is it too large?)"
    lines = done.stdout.strip().splitlines()
    if done.returncode < 0:
        return f"OpenSpiel crashed on it (signal {-done.returncode}); check its parameters"
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the probe failed: {last}"
    return "" if lines[-1] == "ok" else lines[-1].removeprefix("problem: ")


def load_perfect_information_game(game_string: str) -> Any:
    """Load an OpenSpiel game, refusing with a SpecError any game the bridge cannot simulate.

    A game string with parameters is first played once in a child process (``probe_game``),
    so a bad parameter (``hex(board_size=0)``) is one line when the spec is built, not a
    forfeit or a crash in the middle of a match."""
    import pyspiel

    short_name = game_string.partition("(")[0].strip()
    if short_name not in pyspiel.registered_names():
        raise SpecError(f"openspiel: unknown game {short_name!r} (pyspiel.registered_names() "
                        "lists the games, e.g. othello, hex, chess, breakthrough)")
    if "(" in game_string:
        problem = _probe_in_child(game_string)
        if problem:
            raise SpecError(f"openspiel: cannot play {game_string!r}: "
                            + " ".join(problem.split()))
    with _quiet_stderr() as printed:
        try:
            loaded = pyspiel.load_game(game_string)
        except Exception as error:  # SpielError, or a bare C++ error for a missing parameter
            loaded, problem = None, (str(error).splitlines() or [type(error).__name__])[0]
    if loaded is None:
        raise SpecError(f"openspiel: cannot load {game_string!r}: {problem}")
    if printed[0].strip():
        print(printed[0].strip(), file=sys.stderr)
    game_type = loaded.get_type()
    kinds = pyspiel.GameType
    if game_type.dynamics != kinds.Dynamics.SEQUENTIAL:
        raise SpecError(f"openspiel: {game_string!r} is not a sequential game (its dynamics are "
                        f"{game_type.dynamics.name}); only turn-taking games are bridged")
    if game_type.chance_mode != kinds.ChanceMode.DETERMINISTIC:
        raise SpecError(f"openspiel: {game_string!r} has chance nodes; only deterministic games "
                        "are bridged, since its clone would not be a faithful simulator")
    if game_type.information != kinds.Information.PERFECT_INFORMATION:
        raise SpecError(f"openspiel: {game_string!r} has imperfect information; only "
                        "perfect-information games are bridged, since search would see hidden "
                        "state through the simulator")
    if not (game_type.provides_observation_tensor
            or game_type.provides_information_state_tensor):
        raise SpecError(f"openspiel: {game_string!r} provides no observation tensor, which "
                        "agents and the PettingZoo face need")
    return loaded


class OpenSpielState(BaseState):
    """A gamepit State around an OpenSpiel state; ``max_moves`` > 0 ends the game early."""

    __slots__ = ("game", "native", "moves")

    def __init__(self, game: OpenSpielGame, native: Any, moves: int = 0) -> None:
        self.game = game
        self.native = native
        self.moves = moves

    @property
    def truncated(self) -> bool:
        """The move cap ended a game its rules had not ended; it then scores as it stands."""
        return 0 < self.game.max_moves <= self.moves and not self.native.is_terminal()

    @property
    def current_player(self) -> int:
        if self.is_terminal():
            return -1
        return self.native.current_player()

    def is_terminal(self) -> bool:
        return self.native.is_terminal() or 0 < self.game.max_moves <= self.moves

    def legal_actions(self) -> list[int]:
        if self.is_terminal():
            return []
        return self.native.legal_actions()

    def legal_mask(self) -> np.ndarray:
        mask = np.zeros(self.game.num_actions, dtype=bool)
        if not self.is_terminal():
            mask[self.native.legal_actions()] = True
        return mask

    def apply(self, action: int) -> None:
        if self.is_terminal():
            raise ValueError(f"{self.game.name}: the game is over")
        self.native.apply_action(int(action))
        self.moves += 1

    def clone(self) -> OpenSpielState:
        return type(self)(self.game, self.native.clone(), self.moves)

    def returns(self) -> list[float]:
        return [float(value) for value in self.native.returns()]

    def observation(self, player: int) -> np.ndarray:
        tensor = self.game.tensor_of(self.native, player)
        return np.asarray(tensor, dtype=np.float32).reshape(self.game.observation_shape)

    def render(self) -> str:
        text = str(self.native)
        if self.truncated:
            text += f"\n(ended after max_moves={self.game.max_moves})"
        return text

    def fingerprint(self) -> bytes:
        # The action history makes it exact even where the printed board omits something
        # (chess repetitions); the printed board keeps it readable in a debugger.
        history = ",".join(str(action) for action in self.native.history())
        return f"{self.native}|{history}|{self.moves}".encode()

    def action_to_string(self, action: int) -> str:
        """The move's name in this position (chess names depend on the position)."""
        return self.native.action_to_string(self.native.current_player(), int(action))


class OthelloState(OpenSpielState):
    """Othello with a board view for the replay viewer, read from the printed board."""

    __slots__ = ()

    def board_view(self) -> dict[str, Any]:
        codes = {"x": "B", "o": "W", "-": ""}
        cells = []
        for line in str(self.native).splitlines():
            parts = line.split()
            if len(parts) == 10 and parts[0].isdigit():  # "1 - - x o ... 1"
                cells.extend(codes[mark] for mark in parts[1:9])
        return {"style": "othello", "rows": 8, "cols": 8, "cells": cells}


class ChessState(OpenSpielState):
    """Chess with a board view in FEN letters; seat 0 is Black and seat 1 White, as in
    OpenSpiel, so White (seat 1) moves first."""

    __slots__ = ()

    def board_view(self) -> dict[str, Any]:
        return fen_board_view(str(self.native))

    def uci_moves(self) -> list[str]:
        return [move.to_lan() for move in self.native.moves_history()]


# Seats in the game's words, by OpenSpiel's player numbers (Black moves first but is seat 1 in
# chess, seat 0 in othello and go).
_PLAYER_NAMES = {"chess": ("black", "white"), "othello": ("black", "white"),
                 "go": ("black", "white"), "tic_tac_toe": ("X", "O")}

_STATE_CLASSES: dict[str, type[OpenSpielState]] = {"othello": OthelloState,
                                                   "chess": ChessState}


class OpenSpielGame(Game):
    """Any sequential, deterministic, perfect-information OpenSpiel game."""

    observation_dtype = np.float32

    def __init__(self, game: str = "", max_moves: int = 0) -> None:
        if not game.strip():
            raise SpecError("openspiel: name the game, e.g. openspiel:othello or "
                            "'openspiel:hex(board_size=7)'")
        if max_moves < 0:
            raise SpecError("openspiel: max_moves must be 0 (no cap) or positive")
        self.native_game = load_perfect_information_game(game.strip())
        game_type = self.native_game.get_type()
        self.short_name = game_type.short_name
        self.name = "openspiel:" + str(self.native_game).removesuffix("()")
        self.num_players = self.native_game.num_players()
        self.num_actions = self.native_game.num_distinct_actions()
        self.max_moves = max_moves
        if game_type.provides_observation_tensor:
            shape = self.native_game.observation_tensor_shape()
            self.tensor_of: Callable[[Any, int], Any] = _observation_tensor
        else:
            shape = self.native_game.information_state_tensor_shape()
            self.tensor_of = _information_state_tensor
        self.observation_shape = tuple(int(size) for size in shape)
        high = _HIGH_BOUNDS.get(self.short_name)
        self.observation_bounds = (0.0, high(self.native_game) if high else 1.0)
        self.capabilities = Capabilities()
        self._state_class = _STATE_CLASSES.get(self.short_name, OpenSpielState)
        self.player_names = _PLAYER_NAMES.get(self.short_name, ())
        self._namer = self.native_game.new_initial_state()

    def new_state(self, seed: int | None = None) -> OpenSpielState:
        return self._state_class(self, self.native_game.new_initial_state())

    def action_to_string(self, action: int) -> str:
        """The action's name from the start position; games whose names depend on the position
        (chess) give the number instead, and their states name moves exactly."""
        if self.short_name == "chess":
            return str(action)
        try:
            return self._namer.action_to_string(0, int(action))
        except Exception:  # pyspiel.SpielError for actions it cannot name out of context
            return str(action)

    def string_to_action(self, text: str) -> int:
        text = text.strip()
        if text.isdigit() and 0 <= int(text) < self.num_actions:
            return int(text)
        for action in range(min(self.num_actions, 10_000)):
            if self.action_to_string(action) == text:
                return action
        raise ValueError(f"expected an action number 0..{self.num_actions - 1} or a move "
                         f"name like {self.action_to_string(0)!r}")

    def export(self, replay: Any, fmt: str) -> str:
        if fmt != "pgn" or self.short_name != "chess":
            return super().export(replay, fmt)
        state = replayed_state(self, replay)
        # OpenSpiel seats Black at 0 and White at 1.
        return chess_pgn(state.uci_moves(), replay, white_seat=1)


def _observation_tensor(native: Any, player: int) -> Any:
    return native.observation_tensor(player)


def _information_state_tensor(native: Any, player: int) -> Any:
    return native.information_state_tensor(player)


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry(
        "openspiel", OpenSpielGame,
        "Any sequential, deterministic, perfect-information OpenSpiel game "
        "(openspiel:othello, 'openspiel:hex(board_size=7)', openspiel:chess).",
        [Option("game", str, "", "OpenSpiel game string, parameters in brackets"),
         Option("max_moves", int, 0, "end the game after this many moves, scored as it "
                                     "stands (a draw in board games); 0 = no cap",
                low=0, high=MAX_MOVES)])]


if __name__ == "__main__":  # the child process of _probe_in_child
    found = probe_game(sys.argv[1])
    print(f"problem: {' '.join(found.split())}" if found else "ok")
