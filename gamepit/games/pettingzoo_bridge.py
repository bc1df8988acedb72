"""The PettingZoo bridge: ``pettingzoo:MODULE`` plays any PettingZoo AEC environment
(``pettingzoo:classic.chess_v6``, ``pettingzoo:classic.connect_four_v3``,
``'pettingzoo:classic.go_v5(board_size=9)'``) as a gamepit game.

Its AEC face is the PettingZoo environment itself. Its simulator State wraps a live environment
and clones it with ``copy.deepcopy``, since AEC environments have no clone of their own. Chess
board views and PGN come from ``gamepit.games.chess_notation``, shared with the OpenSpiel
bridge. PettingZoo and python-chess are imported only when a game is built or exported.
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from gamepit.errors import SpecError
from gamepit.games.chess_notation import chess_pgn, fen_board_view, replayed_state
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game, HasBoardView, Option
from gamepit.protocols import game as game_entry

MAX_MOVES = 1_000_000  # the highest move cap a spec may set
MAX_ACTIONS = 100_000  # more actions than this (go_v5(board_size=1000)) are refused

# Modules (without their version suffix) known to be deterministic with perfect information,
# so search may trust a deepcopy as the simulator. Others are flagged as neither.
_PERFECT_INFORMATION = {"classic.chess", "classic.go", "classic.tictactoe",
                        "classic.connect_four"}
# Seats in the game's words, by PettingZoo's agent order.
_PLAYER_NAMES = {"classic.chess": ("white", "black"), "classic.go": ("black", "white")}
# Boards the replay viewer can draw from two observation planes: module -> (style, transposed).
_TWO_PLANE_BOARDS = {"classic.tictactoe": ("grid", True), "classic.connect_four": ("discs", False)}
# Attributes an environment never changes during a game; clones share them.
_SHARED_ATTRIBUTES = ("observation_spaces", "action_spaces", "metadata", "possible_agents",
                      "_ezpickle_args", "_ezpickle_kwargs")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*([./][A-Za-z_][A-Za-z0-9_-]*)*$")
_MODULE_VERSION = re.compile(r"^(\w+)\.(\w+)_v(\d+)$")  # classic.chess_v6


def parse_module_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``classic.go_v5(board_size=9, komi=7.5)`` -> ("classic.go_v5", {"board_size": 9, ...}).

    Arguments are Python literals passed to the module's ``env()``.
    """
    module, bracket, rest = text.strip().partition("(")
    module = module.strip()
    if not _MODULE.match(module):
        raise SpecError(f"pettingzoo: {text!r} is not a module name like classic.chess_v6")
    if not bracket:
        return module, {}
    try:
        call = ast.parse(f"env({rest}", mode="eval").body
        assert isinstance(call, ast.Call) and not call.args
        arguments = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
        assert None not in arguments
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, AssertionError):
        raise SpecError(f"pettingzoo: cannot read the arguments in {text!r}; write them as "
                        "MODULE(key=value,...) with Python literal values") from None
    if "render_mode" in arguments:
        raise SpecError("pettingzoo: render_mode is chosen by gamepit (the viewer and the "
                        "terminal ask for what they draw), not by the spec")
    return module, arguments


def env_factory(module: str) -> Callable[..., Any]:
    """The function that builds the named environment, given its keyword arguments.

    PettingZoo's registry (``pettingzoo.make``) is used where it knows the environment, named
    either by its id (``classic/chess-v6``) or its module (``classic.chess_v6``); the module's
    own ``env()``, which PettingZoo now deprecates, serves the environments it does not list.
    """
    import pettingzoo

    match = _MODULE_VERSION.match(module)
    env_id = f"{match[1]}/{match[2]}-v{match[3]}" if match else module
    if env_id in getattr(pettingzoo, "aec_registry", {}):
        return functools.partial(pettingzoo.make, "aec", env_id)
    if "/" in module:
        raise SpecError(f"pettingzoo: no environment {module!r} in PettingZoo's registry")
    full_name = f"pettingzoo.{module}"
    try:
        env_module = importlib.import_module(full_name)
    except ModuleNotFoundError as error:
        if error.name and (full_name == error.name or full_name.startswith(error.name + ".")):
            raise SpecError(f"pettingzoo: no environment module {full_name!r} (e.g. "
                            "classic.chess_v6, classic.connect_four_v3, classic.go_v5)") from None
        raise SpecError(f"pettingzoo: {full_name} needs the missing package {error.name!r}; "
                        "pip install it") from None
    except ImportError as error:  # e.g. MPE, moved out of PettingZoo into its own package
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SpecError(f"pettingzoo: cannot import {full_name}: {first_line}") from None
    factory = getattr(env_module, "env", None)
    if not callable(factory):
        raise SpecError(f"pettingzoo: {full_name} has no env() factory")
    return factory


def clone_env(env: Any) -> Any:
    """A deep copy of a live environment and its wrappers, mid-game.

    ``copy.deepcopy`` alone would not do: PettingZoo environments are ``EzPickle``, whose copy
    rebuilds a fresh environment from the constructor's arguments and loses the game. So every
    layer (the wrapper chain, and environments held in attributes, as Hanabi holds Shimmy's)
    gets an empty shell first, registered in deepcopy's memo, and then its attributes are
    deep-copied (references between the layers land on the shells).
    """
    from gymnasium.utils import EzPickle

    layers, seen, pending = [], set(), [env]
    while pending:
        layer = pending.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        layers.append(layer)
        for value in vars(layer).values():
            if isinstance(value, EzPickle) or (value is getattr(layer, "env", None)
                                               and hasattr(value, "__dict__")):
                pending.append(value)
    memo: dict[int, Any] = {}
    shells = []
    for layer in layers:
        for name in _SHARED_ATTRIBUTES:  # fixed for the environment's life: share, not copy
            value = layer.__dict__.get(name)
            if value is not None:
                memo[id(value)] = value
        shell = object.__new__(type(layer))
        memo[id(layer)] = shell
        shells.append(shell)
    for layer, shell in zip(layers, shells, strict=True):
        shell.__dict__.update(copy.deepcopy(layer.__dict__, memo))
    return shells[0]


class PettingZooState(BaseState):
    """A live AEC environment as a simulator State; ``clone`` deep-copies it."""

    __slots__ = ("game", "env", "raw", "moves", "totals", "over", "_mask")

    def __init__(self, game: PettingZooGame, env: Any, moves: int = 0,
                 totals: list[float] | None = None) -> None:
        self.game = game
        self.env = env
        # The wrappers hand attribute reads down to the raw environment one layer at a time;
        # reading the raw one directly makes bookkeeping several times cheaper.
        self.raw = env.unwrapped
        self.moves = moves
        self.totals = totals if totals is not None else [0.0] * game.num_players
        self.over = self._env_over()
        self._mask: np.ndarray | None = None

    def _env_over(self) -> bool:
        """Every agent left is terminated or truncated: the environment's game is over."""
        raw = self.raw
        return not raw.agents or all(raw.terminations[agent] or raw.truncations[agent]
                                     for agent in raw.agents)

    @property
    def truncated(self) -> bool:
        """The move cap ended a game its rules had not ended; it then scores as it stands."""
        return 0 < self.game.max_moves <= self.moves and not self.over

    @property
    def current_player(self) -> int:
        if self.is_terminal():
            return -1
        return self.game.agents.index(self.raw.agent_selection)

    def is_terminal(self) -> bool:
        return self.over or 0 < self.game.max_moves <= self.moves

    def legal_mask(self) -> np.ndarray:
        if self.is_terminal():
            return np.zeros(self.game.num_actions, dtype=bool)
        if self._mask is None:
            self._mask = self._current_mask()
        return self._mask.copy()

    def _current_mask(self) -> np.ndarray:
        env, agent = self.env, self.raw.agent_selection
        mask = np.zeros(self.game.num_actions, dtype=bool)
        if self.game.masked_observation:
            native = np.asarray(env.observe(agent)["action_mask"], dtype=bool)
        elif "action_mask" in self.raw.infos.get(agent, {}):
            native = np.asarray(self.raw.infos[agent]["action_mask"], dtype=bool)
        else:
            native = np.ones(env.action_space(agent).n, dtype=bool)
        mask[:len(native)] = native
        return mask

    def apply(self, action: int) -> None:
        if not self.legal_mask()[int(action)]:
            raise ValueError(f"{self.game.name}: illegal action {action}")
        raw = self.raw
        self.env.step(int(action))
        self._collect_rewards()
        self.over = self._env_over()
        # Agents that dropped out while the game goes on take their dead step now, so the next
        # player to move is always a live one.
        while not self.over and (raw.terminations[raw.agent_selection]
                                 or raw.truncations[raw.agent_selection]):
            self.env.step(None)
            self._collect_rewards()
            self.over = self._env_over()
        self.moves += 1
        self._mask = None

    def _collect_rewards(self) -> None:
        # env.rewards holds what the last step earned; _cumulative_rewards would not do, as
        # it is reset for each agent when that agent acts.
        for agent, reward in self.raw.rewards.items():
            self.totals[self.game.agents.index(agent)] += float(reward)

    def clone(self) -> PettingZooState:
        other = type(self)(self.game, clone_env(self.env), self.moves, self.totals[:])
        other._mask = self._mask
        return other

    def returns(self) -> list[float]:
        return self.totals[:]

    def observation(self, player: int) -> np.ndarray:
        native = self.env.observe(self.game.agents[player])
        if self.game.masked_observation:
            native = native["observation"]
        return self.game.shape_observation(native)

    def render(self) -> str:
        text = self.env.render() if self.game.ansi else None
        if not isinstance(text, str) and isinstance(self, HasBoardView):
            view = self.board_view()
            marks = [cell or "." for cell in view["cells"]]
            text = "\n".join(" ".join(marks[row * view["cols"]:(row + 1) * view["cols"]])
                             for row in range(view["rows"]))
        elif not isinstance(text, str):  # no text mode: a board that prints itself, if any
            board = getattr(self.raw, "board", None)
            printable = board is not None and type(board).__str__ is not object.__str__
            text = str(board) if printable else ""
        mover = "game over" if self.is_terminal() else f"{self.raw.agent_selection} to move"
        status = f"{mover} after {self.moves} moves; returns {self.totals}"
        if self.truncated:
            status += f" (ended by max_moves={self.game.max_moves})"
        return f"{text}\n{status}" if text else status


class PettingZooTwoPlaneState(PettingZooState):
    """Tic-tac-toe and connect four, whose observations are two planes (H, W, 2): the
    observer's pieces, then the opponent's. Player 0's view gives the viewer's board, X for
    player 0 and O for player 1."""

    __slots__ = ()

    def board_view(self) -> dict[str, Any]:
        style, transposed = _TWO_PLANE_BOARDS[self.game.family]
        planes = np.asarray(self.env.observe(self.game.agents[0])["observation"])
        first, second = planes[..., 0], planes[..., 1]
        if transposed:  # PettingZoo's tic-tac-toe numbers its squares column by column
            first, second = first.T, second.T
        cells = np.where(first == 1, "X", np.where(second == 1, "O", ""))
        return {"style": style, "rows": cells.shape[0], "cols": cells.shape[1],
                "cells": cells.reshape(-1).tolist()}


class PettingZooChessState(PettingZooState):
    """PettingZoo chess (player_0 is White): the viewer's board, move names, and the moves in
    UCI for the PGN export."""

    __slots__ = ()

    def board_view(self) -> dict[str, Any]:
        return fen_board_view(self.raw.board.fen())

    def fingerprint(self) -> bytes:
        # The FEN plus the moves is exact (repetitions included) and far cheaper than the
        # default, which would compare two 8x8x111 observations.
        board = self.raw.board
        moves = " ".join(move.uci() for move in board.move_stack)
        return f"{board.fen()}|{moves}|{self.moves}|{self.totals}".encode()

    def uci_moves(self) -> list[str]:
        return [move.uci() for move in self.raw.board.move_stack]

    def action_to_string(self, action: int) -> str:
        """The move in SAN for this position, as OpenSpiel names its chess moves."""
        from pettingzoo.classic.chess import chess_utils

        board = self.raw.board
        move = chess_utils.action_to_move(board, int(action), self.current_player)
        return board.san(move)


class PettingZooGame(Game):
    """Any PettingZoo AEC environment with discrete actions and array observations."""

    def __init__(self, module: str = "", max_moves: int = 0, channels_first: bool = True
                 ) -> None:
        if not module.strip():
            raise SpecError("pettingzoo: name the environment module, e.g. "
                            "pettingzoo:classic.chess_v6")
        if max_moves < 0:
            raise SpecError("pettingzoo: max_moves must be 0 (no cap) or positive")
        self.module_name, self.env_arguments = parse_module_spec(module)
        self.env_factory = env_factory(self.module_name)
        self.name = f"pettingzoo:{self.module_name}"
        self.max_moves = max_moves
        self.channels_first = channels_first
        try:
            probe = self._make_env()
        except SpecError:
            raise
        except Exception as error:  # a missing extra or ROM: the environment says which
            first_line = (str(error).strip().splitlines() or [""])[0]
            raise SpecError(f"pettingzoo: cannot build {self.module_name}: "
                            f"{type(error).__name__}: {first_line}") from None
        from pettingzoo import AECEnv

        if not isinstance(probe, AECEnv):
            raise SpecError(f"pettingzoo: {self.name} is not an AEC environment")
        self.agents: list[str] = list(probe.possible_agents)
        self.num_players = len(self.agents)
        self._read_spaces(probe)
        if self.num_actions > MAX_ACTIONS:
            probe.close()
            raise SpecError(f"pettingzoo: {module.strip()!r} has {self.num_actions} actions, "
                            f"more than the bridge's {MAX_ACTIONS}")
        self.ansi = "ansi" in probe.metadata.get("render_modes", [])
        self.family = re.sub(r"[_-]v\d+$", "", self.module_name).replace("/", ".")
        known = self.family in _PERFECT_INFORMATION
        self.player_names = _PLAYER_NAMES.get(self.family, ())
        self.capabilities = Capabilities(deterministic=known, perfect_information=known)
        self._state_class: type[PettingZooState] = PettingZooState
        if self.family == "classic.chess":
            self._state_class = PettingZooChessState
        elif self.family in _TWO_PLANE_BOARDS:
            self._state_class = PettingZooTwoPlaneState
        probe.close()
        self._prototype: Any = None

    def _make_env(self, render_mode: str | None = None) -> Any:
        arguments = dict(self.env_arguments)
        if render_mode is not None:
            arguments["render_mode"] = render_mode
        try:
            return self.env_factory(**arguments)
        except TypeError as error:
            raise SpecError(f"pettingzoo: {self.module_name}.env() refused the arguments "
                            f"{self.env_arguments}: {error}") from None

    def _read_spaces(self, env: Any) -> None:
        from gymnasium import spaces

        action_sizes, observation_spaces = [], []
        for agent in self.agents:
            action_space = env.action_space(agent)
            if not isinstance(action_space, spaces.Discrete) or int(action_space.start) != 0:
                raise SpecError(f"pettingzoo: {self.name} has action space {action_space}; "
                                "only Discrete(n) actions are bridged")
            action_sizes.append(int(action_space.n))
            observation_spaces.append(env.observation_space(agent))
        self.num_actions = max(action_sizes)
        space = observation_spaces[0]
        self.masked_observation = isinstance(space, spaces.Dict) and "action_mask" in space.spaces
        if isinstance(space, spaces.Dict) and "observation" in space.spaces:
            space = space["observation"]
        if isinstance(space, spaces.Discrete):
            self._one_hot = int(space.n)
            self.observation_shape = (self._one_hot,)
            self.observation_dtype = np.float32
            self.observation_bounds = (0.0, 1.0)
        elif isinstance(space, spaces.Box):
            self._one_hot = 0
            shape = tuple(int(size) for size in space.shape)
            if self.channels_first and len(shape) == 3:
                shape = (shape[2], shape[0], shape[1])
            self.observation_shape = shape
            self.observation_dtype = space.dtype.type
            self.observation_bounds = (float(np.min(space.low)), float(np.max(space.high)))
        else:
            raise SpecError(f"pettingzoo: {self.name} has observation space {space}; only Box "
                            "and Discrete observations are bridged")
        for other in observation_spaces[1:]:
            if other != observation_spaces[0]:
                raise SpecError(f"pettingzoo: {self.name} gives its agents different "
                                "observation spaces, which one observation_shape cannot hold")

    def shape_observation(self, native: Any) -> np.ndarray:
        """The environment's observation in this game's layout (channels first for boards)."""
        if self._one_hot:
            planes = np.zeros(self._one_hot, dtype=np.float32)
            planes[int(native)] = 1.0
            return planes
        array = np.asarray(native)
        if self.channels_first and array.ndim == 3:
            array = np.ascontiguousarray(np.moveaxis(array, -1, 0))
        return array

    def new_state(self, seed: int | None = None) -> PettingZooState:
        # Copying one unused environment is several times cheaper than building one.
        if self._prototype is None:
            self._prototype = self._make_env("ansi" if self.ansi else None)
        env = clone_env(self._prototype)
        env.reset(seed=seed)
        return self._state_class(self, env)

    def aec_env(self, render_mode: str | None = None) -> Any:
        """The PettingZoo environment itself: the AEC face needs no adapter."""
        return self._make_env(render_mode)

    def export(self, replay: Any, fmt: str) -> str:
        if fmt != "pgn" or self._state_class is not PettingZooChessState:
            return super().export(replay, fmt)
        state = replayed_state(self, replay)
        return chess_pgn(state.uci_moves(), replay, white_seat=0)


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry(
        "pettingzoo", PettingZooGame,
        "Any PettingZoo AEC environment (pettingzoo:classic.chess_v6, "
        "'pettingzoo:classic.go_v5(board_size=9)'); simulated by deep copies.",
        [Option("module", str, "", "module under pettingzoo, env() arguments in brackets"),
         Option("max_moves", int, 0, "end the game after this many moves, scored as it "
                                     "stands; 0 = no cap", low=0, high=MAX_MOVES),
         Option("channels_first", bool, True, "move the channel axis of (H, W, C) board "
                                              "observations first, as gamepit's games do")])]
