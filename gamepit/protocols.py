"""The only things plugins share: games, simulator states, agents, searches, evaluators, learners.

This module is the contract between plugins. It imports numpy and nothing heavier (no torch, no
PettingZoo): faces that need those are built lazily by the games that offer them.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

KINDS = ("game", "agent", "search", "learner")
INT_LIMIT = 2**63 - 1  # what SQLite and numpy hold; larger integers are refused everywhere


@dataclass(frozen=True)
class Range:
    """Where a number may lie: ``low``..``high`` inclusive, above ``above`` (a learning rate
    is above 0). The one range type: a plugin's ``Option``, a learner's settings
    (``training.settings.setting``) and a tournament's settings declare theirs with it."""

    low: float | None = None
    high: float | None = None
    above: float | None = None

    def problem(self, value: float) -> str:
        """Why ``value`` is not acceptable ('' if it is): NaN, an infinity, an integer beyond
        64 bits, or outside the range."""
        if isinstance(value, float) and not math.isfinite(value):
            return "must be a finite number"
        if isinstance(value, int) and abs(value) > INT_LIMIT:
            return "is too large"
        if self.low is not None and value < self.low:
            return f"must be at least {self.low:g}"
        if self.high is not None and value > self.high:
            return f"must be at most {self.high:g}"
        if self.above is not None and not value > self.above:
            return f"must be above {self.above:g}"
        return ""

    def text(self) -> str:
        """The range as text, e.g. ``[0..1]``, ``(0..]`` or ``[1..]``; '' if unbounded."""
        if self.low is None and self.high is None and self.above is None:
            return ""

        def number(bound: float | None) -> str:
            return ("" if bound is None else f"{bound:,}" if float(bound).is_integer()
                    else f"{bound:g}")

        start = f"({number(self.above)}" if self.above is not None else f"[{number(self.low)}"
        return f"{start}..{number(self.high)}]"


# --------------------------------------------------------------------------- registration


@dataclass(frozen=True)
class Option:
    """One typed option of a plugin entry, set in a spec string as ``key=value``."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] | None = None
    low: float | None = None  # inclusive bounds for int and float options
    high: float | None = None

    @property
    def range(self) -> Range:
        return Range(self.low, self.high)

    def describe(self) -> str:
        text = f"{self.name}: {self.type.__name__}"
        if self.choices:
            text += " in {" + "|".join(str(c) for c in self.choices) + "}"
        if self.range.text():
            text += f" in {self.range.text()}"
        text += f" = {self.default!r}"
        return text


@dataclass(frozen=True)
class PluginEntry:
    """A named, lazily built game, agent, search or learner that a plugin contributes.

    ``target`` is either a callable that takes the options as keyword arguments, or a
    ``"package.module:attribute"`` string imported only when the entry is first built, so
    listing plugins never imports torch.
    """

    kind: str
    name: str
    target: str | Callable[..., Any]
    description: str
    options: tuple[Option, ...] = ()
    origin: str = ""  # filled in by the registry: which plugin contributed the entry

    def option(self, name: str) -> Option | None:
        for option in self.options:
            if option.name == name:
                return option
        return None


def game(name: str, target: str | Callable[..., Any], description: str,
         options: Sequence[Option] = ()) -> PluginEntry:
    """Shorthand for a game entry, for use in ``gamepit_add_games`` implementations."""
    return PluginEntry("game", name, target, description, tuple(options))


def agent(name: str, target: str | Callable[..., Any], description: str,
          options: Sequence[Option] = ()) -> PluginEntry:
    """Shorthand for an agent entry, for use in ``gamepit_add_agents`` implementations."""
    return PluginEntry("agent", name, target, description, tuple(options))


def search(name: str, target: str | Callable[..., Any], description: str,
           options: Sequence[Option] = ()) -> PluginEntry:
    """Shorthand for a search entry, for use in ``gamepit_add_searches`` implementations."""
    return PluginEntry("search", name, target, description, tuple(options))


def learner(name: str, target: str | Callable[..., Any], description: str,
            options: Sequence[Option] = ()) -> PluginEntry:
    """Shorthand for a learner entry, for use in ``gamepit_add_learners`` implementations."""
    return PluginEntry("learner", name, target, description, tuple(options))


# --------------------------------------------------------------------------- games


@dataclass(frozen=True)
class Capabilities:
    """Which faces a game offers and what kind of game it is; checked up front by consumers."""

    aec: bool = True  # PettingZoo AEC environment (every game has one)
    state: bool = True  # simulator State for search and the arena
    gymnasium: bool = False  # Gymnasium environment (single-agent games)
    vector: bool = False  # batched vector environment for training throughput
    deterministic: bool = True
    perfect_information: bool = True
    symmetries: bool = False  # ``Game.symmetries`` gives data-augmentation transforms


@runtime_checkable
class State(Protocol):
    """A simulator state: what search and the arena drive. Cheap to clone.

    Players are numbered from 0. ``current_player`` is -1 once the game is over. ``returns``
    are cumulative per player (for board games: +1 win, -1 loss, 0 draw, at the end).
    """

    @property
    def current_player(self) -> int: ...

    def legal_mask(self) -> np.ndarray: ...

    def legal_actions(self) -> list[int]: ...

    def apply(self, action: int) -> None: ...

    def clone(self) -> State: ...

    def is_terminal(self) -> bool: ...

    def returns(self) -> list[float]: ...

    def observation(self, player: int) -> np.ndarray: ...

    def render(self) -> str: ...

    def fingerprint(self) -> bytes: ...


# --------------------------------------------------------------------------- optional State methods
# A State may offer any of these; its consumers test for them with ``isinstance(state, P)``
# (or ``issubclass`` on the state's type, once per batch), and ``gamepit check game`` says
# which a game offers and compares each fast path with plain play.


@runtime_checkable
class HasBoardView(Protocol):
    def board_view(self) -> dict[str, Any]:
        """For the viewer: ``{"style", "rows", "cols", "cells"}``, cells row-major from the top
        left, "" for empty, else a piece code ("X"/"O" tic-tac-toe and connect four, "B"/"W"
        go and othello, FEN letters for chess); style is one of "grid", "discs", "go",
        "othello", "chess"."""


@runtime_checkable
class HasFrame(Protocol):
    def frame(self) -> np.ndarray:
        """The screen, (H, W, 3) uint8, for games with pixels (Atari)."""


@runtime_checkable
class HasActionNames(Protocol):
    def action_to_string(self, action: int) -> str:
        """The move's name in this position, for games whose notation depends on it (chess
        SAN); replays, the viewer and ``human`` prefer it to ``Game.action_to_string``."""


@runtime_checkable
class HasHeuristic(Protocol):
    def heuristic_value(self, player: int) -> float:
        """A guess at the value for ``player`` in (-0.5, 0.5), for depth-limited search at its
        horizon."""


@runtime_checkable
class HasRandomPlayout(Protocol):
    def random_playout(self, rng: Any) -> float:
        """One uniformly random playout to the end (``rng``: a ``random.Random``), faster than
        the generic one: what the player to move gains from here (0 if over)."""


@runtime_checkable
class HasBatchPlayouts(Protocol):
    @staticmethod
    def batch_random_playouts(states: Sequence[Any], rng: np.random.Generator) -> np.ndarray:
        """``random_playout`` of many states of this type at once, [K] floats; the search uses
        it for batches of at least ``gamepit.search.playouts.BATCH_KERNEL_FROM`` states."""


@runtime_checkable
class HasBatchObservations(Protocol):
    @staticmethod
    def batch_observations(states: Sequence[Any]) -> np.ndarray:
        """``observation(current_player)`` of many states of this type, stacked [K, *shape]:
        the same values and dtype, only faster."""


@runtime_checkable
class HasArrayModel(Protocol):
    @staticmethod
    def array_model(rollouts: int = 1, seed: int | None = None, capacity: int = 4096) -> Any:
        """A fresh search ``Model`` with the same rules on rows of arrays
        (``gamepit.search.array_models``): ``initial(roots, keys=None)`` takes states of this
        type as roots, handles are rows, leaves are valued by the mean of ``rollouts`` random
        playouts drawn from each row's key (a root's from ``keys``, a child's from its
        parent's and the move, so a tree's values do not depend on the trees beside it).
        For the ``mcts`` agent, which keeps subtrees between moves, it also offers
        ``columns`` (its row arrays), ``encode(states)`` (their rows, all columns but
        ``key``), ``gather(rows)`` and ``append(block)``: see ``ConnectFourArrayModel``."""


@runtime_checkable
class HasReseed(Protocol):
    def reseed(self, seed: int) -> None:
        """Draw the state's future chance (sticky actions, spawns) from a new stream, so a
        planner samples futures instead of reading the real one (``planner``)."""


@runtime_checkable
class HasNoveltyAtoms(Protocol):
    def novelty_atoms(self) -> Any:
        """The hashable atoms IW(1) tracks for novelty (default: the RAM bytes where the state
        has them, else the observation's non-zero cells)."""


@functools.cache
def offers(kind: type, method: type) -> bool:
    """Whether states of type ``kind`` offer an optional method (``method``: one of the
    protocols above), remembered per type: a protocol check costs microseconds, too many for
    a search's inner loop."""
    return issubclass(kind, method)


OPTIONAL_STATE_METHODS: dict[str, type] = {
    "board_view": HasBoardView, "frame": HasFrame, "action_to_string": HasActionNames,
    "heuristic_value": HasHeuristic, "random_playout": HasRandomPlayout,
    "batch_random_playouts": HasBatchPlayouts, "batch_observations": HasBatchObservations,
    "array_model": HasArrayModel, "reseed": HasReseed, "novelty_atoms": HasNoveltyAtoms}


# What a State must have (the arena checks each game's first state for them; ``gamepit check``
# says how to add each).
STATE_MEMBERS = ("current_player", "legal_mask", "legal_actions", "apply", "clone",
                 "is_terminal", "returns", "observation", "render", "fingerprint")


class BaseState:
    """Defaults that most states can inherit; override for speed where it matters."""

    def legal_actions(self) -> list[int]:
        return np.flatnonzero(self.legal_mask()).tolist()  # type: ignore[attr-defined]

    def fingerprint(self) -> bytes:
        """Bytes that identify the position; replays hash them to verify re-simulation."""
        parts = [str(self.current_player).encode()]  # type: ignore[attr-defined]
        for player in range(len(self.returns())):  # type: ignore[attr-defined]
            parts.append(np.ascontiguousarray(self.observation(player)).tobytes())  # type: ignore[attr-defined]
        return b"|".join(parts)


def state_hash(state: State) -> str:
    """A short, stable hash of a state's fingerprint, stored in replays."""
    return hashlib.sha256(state.fingerprint()).hexdigest()[:16]


class Game:
    """Base class for game plugins. Subclasses set the class attributes and offer faces.

    Options from the spec string arrive as keyword arguments to ``__init__``. ``spec`` is set
    by the registry to the canonical spec string that built this game, so a replay can
    rebuild it.
    """

    name: str = ""
    num_players: int = 2
    num_actions: int = 0
    observation_shape: tuple[int, ...] = ()
    observation_dtype: type = np.int8
    observation_bounds: tuple[float, float] = (0, 1)
    capabilities: Capabilities = Capabilities()
    spec: str = ""
    reference_scores: tuple[float, float] | None = None  # (random, human) on one-player games
    player_names: tuple[str, ...] = ()  # seats in the game's words ("X", "O"), where it has them

    def new_state(self, seed: int | None = None) -> State:
        """A fresh state at the start of the game (``seed`` matters for stochastic games)."""
        raise NotImplementedError(f"{self.name} offers no simulator state")

    def gym_env(self, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{self.name} offers no Gymnasium environment")

    def vector_env(self, num_envs: int, seed: int | None = None, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{self.name} offers no vector environment")

    def action_to_string(self, action: int) -> str:
        return str(action)

    def string_to_action(self, text: str) -> int:
        """Parse a human's move; raises ValueError with a hint on bad input."""
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an action number 0..{self.num_actions - 1}") from None

    def symmetries(self, observation: np.ndarray, policy: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Equivalent (observation, policy) pairs for data augmentation; identity by default."""
        return [(observation, policy)]

    def export(self, replay: Any, fmt: str) -> str:
        """Export a replay to a game-specific text format (SGF, PGN...)."""
        raise NotImplementedError(f"{self.name} has no {fmt} export")


# --------------------------------------------------------------------------- agents


ActResult = int | tuple[int, dict[str, Any]]


class Resign(Exception):
    """Raised by ``act`` to give up the game: the arena records a forfeit whose reason is the
    message itself ("resigned", "input ended"), not "act raised ..."."""


class Agent:
    """Base class for agents. ``act`` returns an action, or an action and an info dict
    (policy, value, visit counts...) that replays store and the viewer shows.

    The arena hands each agent a clone of the state, so an agent may change it freely.
    Neural agents set ``batched = True`` and implement ``act_batch`` to play many games
    through one forward pass.
    """

    batched: bool = False
    spec: str = ""

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        self.game = game
        self.player = player
        self.rng = np.random.default_rng(seed)

    def act(self, state: State) -> ActResult:
        raise NotImplementedError

    def act_batch(self, states: Sequence[State]) -> list[ActResult]:
        return [self.act(state) for state in states]

    def check_fit(self, game: Game) -> None:
        """Raise ``GamepitError`` (one line) if this agent cannot play ``game`` at all, e.g. a
        checkpoint trained on other observation shapes or action counts. Commands call it
        once before any game is played; the default fits every game."""

    def close(self) -> None:
        """Release resources (processes, files, GPU memory)."""


def split_act_result(result: ActResult) -> tuple[int, dict[str, Any]]:
    """Normalise what ``act`` returned to (action, info); the one place that checks it.
    Raises ``TypeError`` ("illegal action ...") for anything but an integer action (a Python
    or numpy int; not a bool, float, string or bytes) with an optional dict of info."""
    action, info = result if isinstance(result, tuple) and len(result) == 2 else (result, None)
    if not isinstance(action, (int, np.integer)) or isinstance(action, bool):
        raise TypeError(f"illegal action {action!r}: an action is an int, not a "
                        f"{type(action).__name__}")
    if info is not None and not isinstance(info, dict):
        raise TypeError(f"illegal action info {type(info).__name__}: info is a dict")
    return int(action), dict(info or {})


def to_json(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data: dicts with string keys, lists (from lists, tuples, sets and numpy
    arrays), numbers (numpy scalars too), strings, booleans and None; anything else becomes its
    ``str``. The arena passes every info dict through this and the recorder every record, so no step
    is ever dropped."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 64:
        return str(value)
    if isinstance(value, dict):
        return {str(key): to_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [to_json(item, depth + 1) for item in value]
        try:
            return sorted(items)
        except TypeError:  # mixed types: keep a stable order all the same
            return sorted(items, key=repr)
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, torch tensors
    if callable(tolist) and type(value).__module__.split(".")[0] in ("numpy", "torch"):
        return to_json(tolist(), depth + 1)
    return str(value)


# --------------------------------------------------------------------------- matches
# What the match hooks hand to observers (replay recording, progress, live viewers).


@dataclass
class MatchInfo:
    """What observers know about a match when it starts."""

    match_id: str
    game: Game
    game_spec: str
    agent_specs: list[str]  # by seat
    seed: int
    replay_dir: str | None = None
    hash_every: int = 10
    move_time: float | None = None
    started: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepRecord:
    """One action of a match, as observers hear it."""

    index: int
    player: int
    action: int
    rewards: list[float]
    info: dict[str, Any]
    seconds: float
    hash: str | None = None  # hash of the state after the action, every hash_every steps


@dataclass
class MatchResult:
    """How a match ended: returns by seat, and the forfeit if there was one."""

    returns: list[float]  # by seat
    steps: int
    forfeit_seat: int | None = None
    forfeit_reason: str = ""
    final_hash: str = ""
    replay_path: str | None = None  # the replay written, if one was asked for and written
    replay_error: str = ""  # why the replay asked for could not be written (then no path)

    def outcome(self, seat: int) -> float:
        """1 win, 0.5 draw, 0 loss for ``seat`` in a game of two or more players."""
        if len(self.returns) < 2:
            raise ValueError("outcome compares seats; a one-player game has a score")
        mine = self.returns[seat]
        others = max(r for i, r in enumerate(self.returns) if i != seat)
        return 1.0 if mine > others else 0.0 if mine < others else 0.5


# --------------------------------------------------------------------------- search


class Evaluator(Protocol):
    """Batch of states -> (priors [batch, num_actions], values [batch]).

    Values are from the point of view of each state's current player, in [-1, 1] for
    two-player zero-sum games. Priors need not be masked; search masks them.
    """

    def evaluate(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Expansion:
    """What a model says about positions the search has just reached, one row per position."""

    handles: list[Any]  # what the model needs to step on from there (a State, a hidden state)
    priors: np.ndarray  # [K, A]: need not be masked or normalised; the tree does both
    values: np.ndarray  # [K]: for the player to move; ignored at terminal positions
    legal: np.ndarray  # [K, A] bool
    to_play: np.ndarray  # [K] int: the player to move, -1 when the game is over
    rewards: np.ndarray  # [K]: earned by the action that led here, in player 0's terms


class Model(Protocol):
    """What the tree searches: a real simulator with an Evaluator, a game's own array model
    (``State.array_model``), or a learned model.

    ``initial`` describes the roots; ``recurrent`` steps from stored handles by one action
    each. One call covers the new leaves of every tree in the batch, so a network evaluates
    them in one forward pass.
    """

    def initial(self, roots: Sequence[Any]) -> Expansion: ...

    def recurrent(self, handles: Sequence[Any], actions: np.ndarray) -> Expansion: ...


@dataclass
class SearchResult:
    """What a search returns for one root state."""

    policy: np.ndarray  # over all actions, sums to 1 over legal ones
    visit_counts: np.ndarray
    value: float  # root value from the current player's point of view
    extra: dict[str, Any] = field(default_factory=dict)


class Search(Protocol):
    """Plans from simulator states with an evaluator; one call may advance many roots."""

    def search(self, states: Sequence[State], evaluator: Evaluator) -> list[SearchResult]: ...


# --------------------------------------------------------------------------- learners


class Learner(Protocol):
    """Trains from a config, writes checkpoints, emits metrics through the hooks, and returns
    the spec of an agent the arena can load (e.g. ``alphazero:checkpoint=runs/c4/best.pt``)."""

    def train(self, args: Any) -> str:
        """``args``: the learner's ``Args`` dataclass when it declares one (``gamepit train``
        merges it from the defaults, the YAML file and ``--set``, each value checked), else a
        dict of the settings as given."""
