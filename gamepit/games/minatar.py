"""MinAtar (Young & Tian 2019): five 10x10 analogues of Atari games that train on a CPU.

``minatar:GAME`` (or ``minatar:game=GAME``) for asterix, breakout, freeway, seaquest and
space_invaders, one player, on the rules of the ``minatar`` package (PyPI, GPL-3.0). The package
is an optional extra, ``pip install 'gamepit[minatar]'``, imported only when a MinAtar game is
built; registering the plugin never needs it.

Faces: a simulator ``State`` (cheap, independent ``clone`` for planners), a Gymnasium
environment and a vector environment (what DQN and PPO train on), and the PettingZoo face every
game gets. Observations are MinAtar's planes, channels first: float32 ``[C, 10, 10]`` of 0/1
(C = 4 asterix and breakout, 7 freeway, 10 seaquest, 6 space_invaders). ``frame()`` draws the
channels as a coloured grid, so the viewer shows the game and replays export to gif and mp4.

Options keep the paper's defaults: sticky actions with probability 0.1 (the previous action is
repeated), the difficulty ramp on, and all 6 actions (no-op, left, up, right, down, fire) in
every game, as the paper's agents use; ``minimal_actions=true`` gives MinAtar's per-game
minimal set instead.

Randomness. Every random draw (sticky actions and the games' own spawns) comes from a small
generator whose state is one integer held by each State (SplitMix64). So a State is
deterministic given itself: a clone continues exactly as the original would under the same
actions, and a seed and an action list give the same game (replays re-simulate it). A planner
that searches over clones therefore sees the very draws the real game will make (it "knows the
future" of sticky actions and spawns). A planner that should not peek calls the optional
``reseed(seed)`` on its clones, which gives them a fresh stream of draws with the same
distribution. Our stream is not numpy's, so a seed here does not give the game that
``minatar.Environment`` gives for the same seed; with the same draws the steps are identical
(tests/test_minatar.py checks it against the package's own ``Environment``).

Reading the game modules. ``import minatar`` imports matplotlib and seaborn for its display
(about 1.4 s); the five game modules need only numpy. They are loaded from the installed
package's folder by file (about 10 ms), falling back to the ordinary import.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from typing import Any

import numpy as np

from gamepit.errors import GamepitError
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game, Option
from gamepit.protocols import game as game_entry

GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
ACTION_NAMES = ("NOOP", "LEFT", "UP", "RIGHT", "DOWN", "FIRE")  # MinAtar's full set, in order
MAX_STEPS = 100_000_000
INSTALL_HINT = "pip install 'gamepit[minatar]' (or pip install minatar)"
CELL = 16  # pixels per grid cell in frame()

MINATAR_OPTIONS = (
    Option("game", str, "breakout", "MinAtar game", choices=GAMES),
    Option("sticky", float, 0.1, "probability of repeating the previous action (paper: 0.1)",
           low=0.0, high=1.0),
    Option("ramping", bool, True, "difficulty ramp (paper: on); asterix, seaquest and "
           "space_invaders ramp, breakout and freeway do not"),
    Option("minimal_actions", bool, False, "MinAtar's minimal action set for the game instead "
           "of all 6 actions (the paper uses all 6)"),
    Option("max_steps", int, 100_000, "episode cap in actions, a truncation (freeway ends "
           "itself after 2,500)", low=1, high=MAX_STEPS),
)

# Colours of the channels in frame(), by channel index (a channel drawn later wins a cell).
PALETTE = np.array([
    (255, 214, 0), (230, 57, 70), (120, 120, 140), (69, 123, 157), (244, 162, 97),
    (42, 157, 143), (168, 218, 220), (231, 111, 81), (138, 201, 38), (255, 255, 255),
], dtype=np.uint8)
# One letter per channel in render(), by game, in MinAtar's channel order; a cell shows its
# lowest channel (the ball over its trail, an alien over its direction).
SYMBOLS = {
    "asterix": "P#~$",  # player, enemy, trail, gold
    "breakout": "=o+#",  # paddle, ball, trail, brick
    "freeway": "C>12345",  # chicken, car, trails by speed
    "seaquest": "Sb-~*FEod@",  # sub front/back, bullet, trail, enemy bullet, fish, enemy sub,
    #                            oxygen gauge, diver gauge, diver
    "space_invaders": "^a<>|!",  # cannon, alien, alien moving left/right, bullets: ours, theirs
}
# Shared object kinds: what each game's channel is to the player, so that one network can read
# every game's planes in the same places (actor_mimic ``kinds=true``; a trunk trained so starts
# a held-out game's network through its own channels' kinds). A game's channels add into the
# plane of their kind. Where MinAtar's games differ the choice is ours: breakout's ball is a
# prize (something the player must reach, like asterix's gold and seaquest's divers), its bricks
# enemies (what the player's shots clear for points, like space invaders' aliens); freeway's
# car trails keep their speeds apart, and seaquest's two gauges are their own kinds.
OBJECT_KINDS = ("player", "player_back", "enemy", "prize", "trail", "own_shot", "enemy_shot",
                "moving_left", "moving_right", "speed1", "speed2", "speed3", "speed4", "speed5",
                "oxygen", "divers")
CHANNEL_KINDS = {
    "player": "player", "paddle": "player", "chicken": "player", "sub_front": "player",
    "cannon": "player", "sub_back": "player_back",
    "enemy": "enemy", "car": "enemy", "enemy_fish": "enemy", "enemy_sub": "enemy",
    "alien": "enemy", "brick": "enemy",
    "gold": "prize", "ball": "prize", "diver": "prize",
    "trail": "trail", "friendly_bullet": "own_shot", "enemy_bullet": "enemy_shot",
    "alien_left": "moving_left", "alien_right": "moving_right",
    **{f"speed{n}": f"speed{n}" for n in range(1, 6)},
    "oxygen_guage": "oxygen", "diver_guage": "divers",
}
_CONSTANT_FIELDS = ("channels", "action_map", "random", "ramping")
_SHARED_FIELDS = frozenset(("channels", "action_map"))  # never changed: clones share them


# --------------------------------------------------------------------------- the package


@functools.cache
def _game_module(game: str) -> Any:
    """MinAtar's module for ``game`` (its ``Env`` class), without the package's plotting."""
    spec = importlib.util.find_spec("minatar")
    if spec is None:
        raise GamepitError(f"minatar:{game} needs the minatar package (GPL-3.0): "
                           f"{INSTALL_HINT}")
    for folder in spec.submodule_search_locations or ():
        path = os.path.join(folder, "environments", f"{game}.py")
        if os.path.isfile(path):
            file_spec = importlib.util.spec_from_file_location(f"_gamepit_minatar_{game}", path)
            if file_spec is not None and file_spec.loader is not None:
                module = importlib.util.module_from_spec(file_spec)
                file_spec.loader.exec_module(module)
                return module
    return importlib.import_module(f"minatar.environments.{game}")


# --------------------------------------------------------------------------- randomness

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _seed_state(seed: int) -> int:
    return int(np.random.SeedSequence(int(seed) & (2 ** 63 - 1)).generate_state(1, np.uint64)[0])


class SplitMix:
    """SplitMix64 with the few ``numpy.random.RandomState`` methods MinAtar's games call
    (``rand``, ``randint``). Its whole state is one int, so copying it is free (copying a
    RandomState costs about 100 microseconds, 30 times a MinAtar step)."""

    __slots__ = ("state",)

    def __init__(self, state: int) -> None:
        self.state = state & _MASK

    def uniform(self) -> float:
        self.state = s = (self.state + _GOLDEN) & _MASK
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return ((z ^ (z >> 31)) >> 11) * (1.0 / (1 << 53))

    def rand(self, *size: int) -> Any:
        if not size:
            return self.uniform()
        return np.array([self.uniform() for _ in range(int(np.prod(size)))]).reshape(size)

    def randint(self, low: int, high: int | None = None, size: int | None = None) -> Any:
        if high is None:
            low, high = 0, low
        if size is None:
            return low + int(self.uniform() * (high - low))
        return np.array([low + int(self.uniform() * (high - low)) for _ in range(size)],
                        dtype=np.int64)


def _copy(value: Any) -> Any:
    """An independent copy of a MinAtar field: lists (of lists) and arrays are copied."""
    kind = type(value)
    if kind is list:
        return [_copy(item) if type(item) is list else item for item in value]
    if kind is np.ndarray:
        return value.copy()
    return value


def _plain(value: Any) -> Any:
    """A field as plain Python values, so fingerprints do not depend on numpy's reprs."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tobytes().hex()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


# --------------------------------------------------------------------------- the state


class MinAtarState(BaseState):
    """A MinAtar position: the package's own ``Env`` object, the generator it draws from, the
    action in force (sticky actions repeat it), the step count and the score."""

    __slots__ = ("game", "env", "rng", "last_action", "steps", "score", "reward", "_planes")

    def __init__(self, game: MinAtarGame, seed: int) -> None:
        self.game = game
        self.rng = SplitMix(_seed_state(seed))
        # Not a new Env: Env() seeds a numpy RandomState (about 90 us, most of a short
        # episode's cost) and resets from it. The template's constants, then reset(), which
        # sets every other field, drawing from our generator.
        template = game._template
        env = type(template).__new__(type(template))
        fields = env.__dict__
        for name in _CONSTANT_FIELDS:
            if name in template.__dict__:
                fields[name] = template.__dict__[name]
        env.random = self.rng
        env.reset()
        self.env = env
        self.last_action = 0
        self.steps = 0
        self.score = 0.0
        self.reward = 0.0  # of the last action
        self._planes: np.ndarray | None = None

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else 0

    def is_terminal(self) -> bool:
        return bool(self.env.terminal) or self.steps >= self.game.max_steps

    def legal_mask(self) -> np.ndarray:
        return np.full(self.game.num_actions, not self.is_terminal(), dtype=bool)

    def legal_actions(self) -> list[int]:
        return [] if self.is_terminal() else list(range(self.game.num_actions))

    def apply(self, action: int) -> None:
        if self.is_terminal():
            raise ValueError(f"{self.game.name}: the episode is over")
        if not 0 <= action < self.game.num_actions:
            raise ValueError(f"{self.game.name}: action {action} is not in "
                             f"0..{self.game.num_actions - 1}")
        chosen = self.game.action_set[action]
        # As minatar.Environment.act: one draw per step, even when sticky is 0.
        if self.rng.uniform() < self.game.sticky:
            chosen = self.last_action
        self.last_action = chosen
        reward, _ = self.env.act(chosen)
        self.reward = float(reward)
        self.score += self.reward
        self.steps += 1
        self._planes = None

    def clone(self) -> MinAtarState:
        other = MinAtarState.__new__(MinAtarState)
        other.game = self.game
        other.rng = SplitMix(self.rng.state)
        env = self.env
        copy = type(env).__new__(type(env))
        fields = copy.__dict__
        for name, value in env.__dict__.items():
            fields[name] = value if name in _SHARED_FIELDS else _copy(value)
        copy.random = other.rng
        other.env = copy
        other.last_action = self.last_action
        other.steps = self.steps
        other.score = self.score
        other.reward = self.reward
        other._planes = self._planes  # read-only, replaced on apply
        return other

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickles by value (for agents in other processes, ``--isolate``): the game by its
        options, the package's Env object by its fields."""
        fields = {name: value for name, value in self.env.__dict__.items() if name != "random"}
        return (_restore_state, (self.game, fields, self.rng.state, self.last_action,
                                 self.steps, self.score, self.reward))

    def reseed(self, seed: int) -> None:
        """Draw from a fresh stream from now on (for planners that must not see the draws the
        real game will make); the position is unchanged."""
        self.rng.state = _seed_state(seed)

    def returns(self) -> list[float]:
        return [self.score]

    def rewards(self) -> list[float]:
        """The reward of the last action."""
        return [self.reward]

    def observation(self, player: int = 0) -> np.ndarray:
        """MinAtar's planes, channels first: float32 [C, 10, 10] of 0/1. Read-only."""
        if self._planes is None:
            planes = self.planes()
            planes.flags.writeable = False
            self._planes = planes
        return self._planes

    def planes(self) -> np.ndarray:
        """The observation as a new array of the caller's own (what the Gymnasium face
        returns), without keeping it."""
        if self._planes is not None:
            return self._planes.copy()
        return np.ascontiguousarray(self.env.state().transpose(2, 0, 1), dtype=np.float32)

    @staticmethod
    def batch_observations(states: list[MinAtarState]) -> np.ndarray:
        return np.stack([state.observation(0) for state in states])

    def render(self) -> str:
        planes = self.observation(0)
        symbols = SYMBOLS.get(self.game.game, "123456789A")
        rows = []
        for y in range(planes.shape[1]):
            row = ""
            for x in range(planes.shape[2]):
                present = np.flatnonzero(planes[:, y, x])
                row += symbols[present[0]] if len(present) else "."
            rows.append(row)
        status = " (game over)" if self.env.terminal else (
            " (step limit)" if self.is_terminal() else "")
        header = f"minatar {self.game.game} step {self.steps} score {self.score:g}{status}"
        return "\n".join([header, *rows])

    def fingerprint(self) -> bytes:
        fields = sorted((name, _plain(value)) for name, value in self.env.__dict__.items()
                        if name not in _CONSTANT_FIELDS)
        text = repr((fields, self.rng.state, self.last_action, self.steps, self.score))
        return text.encode()

    def frame(self) -> np.ndarray:
        """The channels as a coloured 10x10 grid, ``CELL`` pixels a cell: RGB uint8
        (160, 160, 3). A cell takes the colour of its highest channel, as MinAtar's display."""
        planes = self.observation(0)
        present = planes > 0
        index = np.where(present.any(axis=0),
                         planes.shape[0] - 1 - np.argmax(present[::-1], axis=0), -1)
        grid = np.zeros(index.shape + (3,), dtype=np.uint8)
        grid[:] = (24, 24, 32)
        filled = index >= 0
        grid[filled] = PALETTE[index[filled] % len(PALETTE)]
        image = np.repeat(np.repeat(grid, CELL, axis=0), CELL, axis=1)
        image[::CELL, :] = (0, 0, 0)  # thin grid lines
        image[:, ::CELL] = (0, 0, 0)
        return image


def _restore_state(game: MinAtarGame, fields: dict[str, Any], rng: int, last_action: int,
                   steps: int, score: float, reward: float) -> MinAtarState:
    state = MinAtarState.__new__(MinAtarState)
    state.game = game
    state.rng = SplitMix(rng)
    env = game._module.Env.__new__(game._module.Env)
    env.__dict__.update(fields)
    env.random = state.rng
    state.env = env
    state.last_action, state.steps, state.score, state.reward = last_action, steps, score, reward
    state._planes = None
    return state


# --------------------------------------------------------------------------- the game


class MinAtarGame(Game):
    """One MinAtar game, for one player."""

    num_players = 1
    observation_dtype = np.float32
    observation_bounds = (0.0, 1.0)
    # Deterministic given the state: every draw comes from the state's own generator.
    capabilities = Capabilities(gymnasium=True, vector=True, deterministic=True,
                                perfect_information=False)

    def __init__(self, game: str = "breakout", sticky: float = 0.1, ramping: bool = True,
                 minimal_actions: bool = False, max_steps: int = 100_000) -> None:
        if game not in GAMES:
            raise ValueError(f"minatar: no game named {game!r}; known: {', '.join(GAMES)}")
        if not 0.0 <= sticky <= 1.0:
            raise ValueError("sticky must be a probability in [0, 1]")
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self._module = _game_module(game)
        self.game = game
        self.name = f"minatar_{game}"
        self.sticky = float(sticky)
        self.ramping = bool(ramping)
        self.minimal_actions = bool(minimal_actions)
        self.max_steps = int(max_steps)
        probe = self._template = self._module.Env(ramping=self.ramping)  # new states copy it
        self.action_set: tuple[int, ...] = (tuple(probe.minimal_action_set()) if minimal_actions
                                            else tuple(range(len(ACTION_NAMES))))
        self.num_actions = len(self.action_set)
        self.action_names = [ACTION_NAMES[a] for a in self.action_set]
        self.channel_names = sorted(probe.channels, key=probe.channels.get)
        self.observation_shape = (len(self.channel_names), 10, 10)
        self.object_kinds = OBJECT_KINDS
        self.plane_kinds = tuple(CHANNEL_KINDS[name] for name in self.channel_names)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickles as its options (the package's module is loaded again on the other side)."""
        return (_restore_game, (self.game, self.sticky, self.ramping, self.minimal_actions,
                                self.max_steps, self.spec))

    def new_state(self, seed: int | None = None) -> MinAtarState:
        """The start of an episode; the seed starts every draw of the game (spawns, sticky
        actions), so a seed and an action list always give the same game."""
        if seed is None:
            seed = int(np.random.default_rng().integers(2 ** 63))
        return MinAtarState(self, int(seed))

    def action_to_string(self, action: int) -> str:
        return self.action_names[action]

    def string_to_action(self, text: str) -> int:
        text = text.strip()
        if text.isdigit() and int(text) < self.num_actions:
            return int(text)
        if text.upper() in self.action_names:
            return self.action_names.index(text.upper())
        raise ValueError(f"expected an action number 0..{self.num_actions - 1} or one of "
                         + ", ".join(self.action_names))

    def gym_env(self, render_mode: str | None = None, **kwargs: Any) -> Any:
        """A Gymnasium environment over the State: observations float32 [C, 10, 10], the
        step cap as truncation, ``render_mode`` "rgb_array" (frame) or "ansi" (text)."""
        return _faces()[0](self, render_mode=render_mode)

    def vector_env(self, num_envs: int, seed: int | None = None, **kwargs: Any) -> Any:
        """``num_envs`` States stepped in one loop, auto-resetting in the same step (the
        episode's last observation in ``info["final_obs"]``); ``reward_clipping`` gives the
        sign of the rewards. ``autoreset_mode`` may only be "SameStep"."""
        return _faces()[1](self, num_envs, seed, **kwargs)


def _restore_game(name: str, sticky: float, ramping: bool, minimal_actions: bool,
                  max_steps: int, spec: str) -> MinAtarGame:
    game = MinAtarGame(name, sticky, ramping, minimal_actions, max_steps)
    game.spec = spec
    return game


# --------------------------------------------------------------------------- training faces


@functools.cache
def _faces() -> tuple[type, type]:
    """The Gymnasium and vector classes, built when first asked for (gymnasium is imported
    then, not when the plugin registers)."""
    import gymnasium as gym
    from gymnasium import spaces

    def observation_space(game: MinAtarGame) -> Any:
        return spaces.Box(0.0, 1.0, game.observation_shape, dtype=np.float32)

    class MinAtarGymEnv(gym.Env):
        """One MinAtar game as a Gymnasium environment."""

        metadata = {"render_modes": ["rgb_array", "ansi"]}

        def __init__(self, game: MinAtarGame, render_mode: str | None = None) -> None:
            if render_mode not in (None, "rgb_array", "ansi"):
                raise ValueError(f"render_mode must be rgb_array or ansi, not {render_mode!r}")
            self.game = game
            self.render_mode = render_mode
            self.observation_space = observation_space(game)
            self.action_space = spaces.Discrete(game.num_actions)
            self.state: MinAtarState | None = None

        def reset(self, *, seed: int | None = None, options: dict | None = None
                  ) -> tuple[np.ndarray, dict]:
            super().reset(seed=seed)
            episode_seed = int(self.np_random.integers(2 ** 63))
            self.state = self.game.new_state(episode_seed)
            return self.state.planes(), {}

        def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
            if self.state is None:
                raise RuntimeError("call reset() before step()")
            self.state.apply(int(action))
            state = self.state
            terminated = bool(state.env.terminal)
            truncated = not terminated and state.is_terminal()
            return state.planes(), state.reward, terminated, truncated, {}

        def render(self) -> Any:
            if self.state is None or self.render_mode is None:
                return None
            return self.state.frame() if self.render_mode == "rgb_array" else self.state.render()

    class MinAtarVectorEnv(gym.vector.VectorEnv):
        """``num_envs`` MinAtar States in one Python loop, with Gymnasium's SAME_STEP
        autoreset: where an episode ends, ``step`` returns the first observation of the next
        one and puts the last in ``info["final_obs"]`` (with ``info["_final_obs"]``).
        Episodes draw their seeds from a generator seeded by the first ``reset``'s seed (or
        the ``seed`` given at construction)."""

        def __init__(self, game: MinAtarGame, num_envs: int, seed: int | None = None,
                     autoreset_mode: Any = "SameStep", reward_clipping: bool = False) -> None:
            if num_envs < 1:
                raise ValueError("num_envs must be at least 1")
            mode = getattr(autoreset_mode, "value", autoreset_mode)
            if "same" not in str(mode).lower().replace("_", ""):
                raise ValueError("the MinAtar vector env resets in the same step only "
                                 "(autoreset_mode='SameStep')")
            self.game = game
            self.num_envs = num_envs
            self.reward_clipping = reward_clipping
            self.metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
            self.single_observation_space = observation_space(game)
            self.single_action_space = spaces.Discrete(game.num_actions)
            self.observation_space = gym.vector.utils.batch_space(
                self.single_observation_space, num_envs)
            self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
            self.first_seed = seed
            self.episode_seeds = np.random.default_rng(seed)
            self.states: list[MinAtarState] = []
            self.observations = np.zeros((num_envs, *game.observation_shape), dtype=np.float32)

        def _new(self) -> MinAtarState:
            return self.game.new_state(int(self.episode_seeds.integers(2 ** 63)))

        def reset(self, *, seed: int | None = None, options: dict | None = None
                  ) -> tuple[np.ndarray, dict]:
            if seed is None:
                seed, self.first_seed = self.first_seed, None
            if seed is not None:
                self.episode_seeds = np.random.default_rng(seed)
            self.states = [self._new() for _ in range(self.num_envs)]
            for index, state in enumerate(self.states):
                self.observations[index] = state.observation(0)
            return self.observations.copy(), {}

        def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                dict]:
            if not self.states:
                raise RuntimeError("call reset() before step()")
            actions = np.asarray(actions).reshape(self.num_envs)
            rewards = np.zeros(self.num_envs, dtype=np.float32)
            terminated = np.zeros(self.num_envs, dtype=bool)
            truncated = np.zeros(self.num_envs, dtype=bool)
            finals: list[Any] = [None] * self.num_envs
            observations = self.observations
            for index, state in enumerate(self.states):
                state.apply(int(actions[index]))
                rewards[index] = state.reward
                if state.is_terminal():
                    terminated[index] = bool(state.env.terminal)
                    truncated[index] = not terminated[index]
                    finals[index] = state.planes()
                    state = self.states[index] = self._new()
                observations[index] = state.env.state().transpose(2, 0, 1)  # cast on copy
            info: dict[str, Any] = {}
            done = terminated | truncated
            if done.any():
                info = {"final_obs": np.array(finals, dtype=object), "_final_obs": done}
            if self.reward_clipping:
                rewards = np.sign(rewards)
            return observations.copy(), rewards, terminated, truncated, info

        def close(self, **kwargs: Any) -> None:
            self.states = []

    return MinAtarGymEnv, MinAtarVectorEnv


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry(
        "minatar", "gamepit.games.minatar:MinAtarGame",
        "MinAtar (Young & Tian 2019): asterix, breakout, freeway, seaquest, space_invaders on "
        "a 10x10 grid; needs the minatar package (pip install 'gamepit[minatar]').",
        MINATAR_OPTIONS)]
