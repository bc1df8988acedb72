"""``gym:ENV_ID``: any Gymnasium environment with a Discrete action space as a one-player game.

The bridge gives the environment every face a single-agent learner or the arena needs: the
Gymnasium environment itself (``gym_env``), a simulator ``State`` (for matches, replays and
evaluation) and the PettingZoo face built from that state. ``gym:CartPole-v1`` is the small,
fast environment the learners' CI tests train on.

A state's episode is fixed by its seed: ``new_state(seed)`` resets the environment with that
seed, so a replay (seed + actions) re-simulates exactly. ``clone`` deep-copies the environment
(cheap for the classic-control environments); environments that cannot be copied (native
handles, and EzPickle environments such as ALE's, whose copy is a fresh environment) are cloned by
replaying the actions from the seed when the clone is first stepped, which is correct but slow
for long episodes (use ``atari:`` for Atari).

``MODULE:Env-v0`` ids, where Gymnasium imports MODULE to register the environment, need the
module granted on the command line (``--allow-import MODULE``): a spec is not code.
"""

from __future__ import annotations

import copy
import importlib
import re
from typing import Any

import numpy as np

from gamepit.errors import SpecError
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game, Option
from gamepit.protocols import game as game_entry
from gamepit.specs import check_import_allowed

_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_STEPS = 100_000_000  # the highest episode cap a spec may set


class GymState(BaseState):
    """One episode of a Gymnasium environment, driven action by action."""

    def __init__(self, game: GymGame, seed: int | None) -> None:
        self.game = game
        self.seed = seed
        self._env = game.raw_env()
        observation, _ = self._env.reset(seed=seed)
        self.last_observation = game.encode(observation)
        self.actions: list[int] = []
        self.total_reward = 0.0
        self.over = False

    @property
    def current_player(self) -> int:
        return -1 if self.over else 0

    def legal_mask(self) -> np.ndarray:
        return np.full(self.game.num_actions, not self.over, dtype=bool)

    def legal_actions(self) -> list[int]:
        return [] if self.over else list(range(self.game.num_actions))

    def apply(self, action: int) -> None:
        if self.over or not 0 <= action < self.game.num_actions:
            raise ValueError(f"illegal action {action} in {self.game.spec or self.game.name}")
        observation, reward, terminated, truncated, _ = self.env.step(int(action))
        self.last_observation = self.game.encode(observation)
        self.actions.append(int(action))
        self.total_reward += float(reward)
        self.over = bool(terminated or truncated)
        if self.over:
            self.env.close()

    def clone(self) -> GymState:
        other = GymState.__new__(GymState)
        other.game, other.seed = self.game, self.seed
        other.last_observation = self.last_observation.copy()
        other.actions = self.actions[:]
        other.total_reward, other.over = self.total_reward, self.over
        other._env = None
        if self.over:
            other._env = self._env  # closed and never stepped again
        elif self.game.copyable and self._env is not None:
            try:
                other._env = copy.deepcopy(self._env)
            except Exception:  # emulators and native handles: re-simulate from the seed
                self.game.copyable = False
        # Otherwise the copy is re-simulated from the seed when the clone is first stepped:
        # the arena hands every agent a clone, and most never step it.
        return other

    @property
    def env(self) -> Any:
        """The live environment, re-simulated from the seed for a clone that had none."""
        if self._env is None:
            self._env = self.game.raw_env()
            self._env.reset(seed=self.seed)
            for action in self.actions:
                self._env.step(action)
        return self._env

    def is_terminal(self) -> bool:
        return self.over

    def returns(self) -> list[float]:
        return [self.total_reward]

    def observation(self, player: int) -> np.ndarray:
        return self.last_observation

    def render(self) -> str:
        values = np.array2string(self.last_observation.reshape(-1)[:16], precision=3)
        return (f"{self.game.env_id} step {len(self.actions)} return {self.total_reward:g}"
                f"{' (over)' if self.over else ''}\nobservation {values}")

    def fingerprint(self) -> bytes:
        return (f"{len(self.actions)}|{self.total_reward!r}|{self.over}|".encode()
                + np.ascontiguousarray(self.last_observation).tobytes())


def import_registering_module(env_id: str) -> None:
    """Import ``MODULE`` of a ``MODULE:ENV-v0`` id (Gymnasium's way to name an environment that
    a module registers when imported), but only a module the user granted on the command line
    (``--allow-import``): a spec string, a replay header or a YAML file is not code. Gymnasium's
    own ids (``CartPole-v1``, ``ALE/Pong-v5``) import nothing and need no grant."""
    if ":" not in env_id:
        return
    module, _, name = env_id.partition(":")
    if not _MODULE.match(module) or not name or ":" in name:
        raise SpecError(f"gym: {env_id!r} is not an id like CartPole-v1 or MODULE:Env-v0 "
                        "(MODULE a dotted module name)")
    check_import_allowed(module, "gym")
    try:
        importlib.import_module(module)
    except ImportError as error:
        raise SpecError(f"gym: cannot import module {module!r} named in {env_id!r}: "
                        f"{error}") from None


def _ez_pickled(env: Any) -> bool:
    from gymnasium.utils import EzPickle

    while env is not None:
        if isinstance(env, EzPickle):
            return True
        env = getattr(env, "env", None)
    return False


class GymGame(Game):
    """A Gymnasium environment seen as a one-player game."""

    num_players = 1
    capabilities = Capabilities(gymnasium=True)

    def __init__(self, env_id: str = "CartPole-v1", max_episode_steps: int = 0) -> None:
        import gymnasium as gym
        from gymnasium import spaces

        try:
            import ale_py

            gym.register_envs(ale_py)  # so ALE/... ids resolve too
        except ImportError:
            pass
        env_id = env_id.strip()
        if not env_id:
            raise ValueError("name a Gymnasium environment, e.g. gym:CartPole-v1")
        import_registering_module(env_id)
        self.env_id = env_id
        self.make_kwargs: dict[str, Any] = {}
        if max_episode_steps > 0:
            self.make_kwargs["max_episode_steps"] = max_episode_steps
        try:
            probe = gym.make(env_id, **self.make_kwargs)
        except Exception as error:  # gym.error.Error, or whatever an env's constructor raises
            problem = " ".join(str(error).split()) or type(error).__name__
            raise ValueError(f"cannot make Gymnasium environment {env_id!r}: {problem}") from None
        action_space, observation_space = probe.action_space, probe.observation_space
        # EzPickle environments (ALE's) "deep-copy" into a fresh environment, losing the episode:
        # clones of those are re-simulated from the seed instead.
        self.copyable = not _ez_pickled(probe)
        probe.close()
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError(f"{env_id} has a {type(action_space).__name__} action space; "
                             "the gym bridge needs a Discrete one")
        self.name = f"gym_{env_id}"
        self.num_actions = int(action_space.n)
        if isinstance(observation_space, spaces.Discrete):
            self.one_hot = int(observation_space.n)
            self.observation_shape = (self.one_hot,)
            self.observation_dtype = np.float32
            self.observation_bounds = (0, 1)
        elif isinstance(observation_space, spaces.Box):
            self.one_hot = 0
            self.observation_shape = tuple(observation_space.shape)
            self.observation_dtype = observation_space.dtype.type
            low = float(np.min(observation_space.low))
            high = float(np.max(observation_space.high))
            self.observation_bounds = (low, high)
        else:
            raise ValueError(f"{env_id} has a {type(observation_space).__name__} observation "
                             "space; the gym bridge takes Box or Discrete observations")

    def encode(self, observation: Any) -> np.ndarray:
        """Gymnasium's observation as the array ``State.observation`` gives."""
        if self.one_hot:
            planes = np.zeros(self.one_hot, dtype=np.float32)
            planes[int(observation)] = 1.0
            return planes
        return np.asarray(observation, dtype=self.observation_dtype)

    def new_state(self, seed: int | None = None) -> GymState:
        return GymState(self, seed)

    def raw_env(self, **kwargs: Any) -> Any:
        """The environment as Gymnasium makes it, observations not yet encoded."""
        import gymnasium as gym

        return gym.make(self.env_id, **{**self.make_kwargs, **kwargs})

    def gym_env(self, **kwargs: Any) -> Any:
        import gymnasium as gym

        env = self.raw_env(**kwargs)
        if self.one_hot:
            env = gym.wrappers.TransformObservation(
                env, self.encode, gym.spaces.Box(0, 1, (self.one_hot,), np.float32))
        return env


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry(
        "gym", GymGame,
        "Any Gymnasium environment with discrete actions as a one-player game (gym:CartPole-v1).",
        [Option("env_id", str, "CartPole-v1", "Gymnasium id, e.g. CartPole-v1 or Acrobot-v1"),
         Option("max_episode_steps", int, 0, "cut episodes after this many steps (0: the env's)",
                low=0, high=MAX_STEPS)],
    )]
