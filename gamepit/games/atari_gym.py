"""The training faces of single-player Atari: a Gymnasium environment and a vector environment.

Both take the options of the ``atari`` game (``gamepit.games.atari.ATARI_OPTIONS``) and apply the
preprocessing of the Nature DQN paper as CleanRL does: up to ``noop_max`` no-op frames at reset,
``frame_skip`` frames per action with a max over the last two, 84x84 grayscale, a stack of
``frame_stack`` frames (uint8, shape (frame_stack, 84, 84)), FIRE on reset where the game needs
it, and, for training, episodic life and rewards clipped to their sign. Sticky actions
(``sticky``), the full action space and the ``max_frames`` cap are the ALE's own.

The vector face is what learners train on: ale-py's ``AtariVectorEnv``, whose C++ threads do
all of the above natively. Its ``step(actions)`` takes an int array [num_envs] and returns
``(observations uint8 [num_envs, frame_stack, 84, 84], rewards [num_envs],
terminations bool [num_envs], truncations bool [num_envs], infos)`` where infos holds arrays
``env_id``, ``lives``, ``frame_number`` and ``episode_frame_number``. Sub-environments reset
themselves on the step after an episode ends (Gymnasium's NEXT_STEP autoreset mode): that step
ignores its action and returns the first observation of the new episode.

This module imports gymnasium and ale-py at the top; ``gamepit.games.atari`` imports it only
when a face is asked for.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ale_py.env import AtariEnv
from ale_py.vector_env import AtariVectorEnv
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation, TransformReward

# Our option names -> AtariVectorEnv's keyword arguments.
_VECTOR_NAMES = {
    "sticky": "repeat_action_probability",
    "full_action_space": "full_action_space",
    "frame_skip": "frameskip",
    "noop_max": "noop_max",
    "max_frames": "max_num_frames_per_episode",
    "fire_reset": "use_fire_reset",
    "frame_stack": "stack_num",
    "episodic_life": "episodic_life",
    "clip_rewards": "reward_clipping",
}


class EpisodicLife(gym.Wrapper):
    """A lost life ends the episode for the learner, but only game over (or a reset with a
    seed) resets the game: otherwise the next reset continues from where the life was lost
    (DQN's training trick)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return observation, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if self.game_over or kwargs.get("seed") is not None:  # a seed asks for a new game
            observation, info = self.env.reset(**kwargs)
        else:
            observation, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:  # the no-op itself ended the game
                observation, info = self.env.reset(**kwargs)
        self.game_over = False
        self.lives = self.env.unwrapped.ale.lives()
        return observation, info


class FireReset(gym.Wrapper):
    """Press FIRE, then the next action, after every reset: some games (Breakout) wait for it."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.env.reset(**kwargs)
        for action in (1, 2):
            observation, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                observation, info = self.env.reset(**kwargs)
        return observation, info


def needs_fire(env: gym.Env) -> bool:
    meanings = env.unwrapped.get_action_meanings()
    return len(meanings) >= 3 and meanings[1] == "FIRE"


def make_gym_env(game: str, sticky: float = 0.25, full_action_space: bool = False,
                 frame_skip: int = 4, noop_max: int = 30, max_frames: int = 108000,
                 fire_reset: bool = True, frame_stack: int = 4, episodic_life: bool = True,
                 clip_rewards: bool = True, render_mode: str | None = None) -> gym.Env:
    """ale-py's ``AtariEnv`` (one frame per step) under Gymnasium's ``AtariPreprocessing`` and
    ``FrameStackObservation``, with CleanRL's episodic life, fire reset and reward clipping.
    Observations are uint8 (frame_stack, 84, 84)."""
    env: gym.Env = AtariEnv(game=game, frameskip=1, repeat_action_probability=sticky,
                            full_action_space=full_action_space,
                            max_num_frames_per_episode=max_frames, render_mode=render_mode)
    env = AtariPreprocessing(env, noop_max=noop_max, frame_skip=frame_skip, screen_size=84,
                             terminal_on_life_loss=False, grayscale_obs=True, scale_obs=False)
    if episodic_life:
        env = EpisodicLife(env)
    if fire_reset and needs_fire(env):
        env = FireReset(env)
    if clip_rewards:
        env = TransformReward(env, lambda reward: float(np.sign(reward)))
    # Zero padding at reset, as ale-py's vector env does, so the faces show the same stacks.
    return FrameStackObservation(env, frame_stack, padding_type="zero")


class AtariVector(AtariVectorEnv):
    """ale-py's ``AtariVectorEnv``, remembering the seed it was made with for its first
    reset; stepping is ale-py's own, untouched."""

    def __init__(self, game: str, num_envs: int, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(game, num_envs, **kwargs)
        self.first_seed = seed

    def reset(self, *, seed: int | np.ndarray | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is None and self.first_seed is not None:
            seed = self.first_seed
        self.first_seed = None
        return super().reset(seed=seed, options=options)


def vector_arguments(**options: Any) -> dict[str, Any]:
    """Our option names turned into ``AtariVectorEnv`` keyword arguments. Its own names
    (``num_threads``, ``autoreset_mode``, ``reward_clipping``...) pass through and win over
    ours, so a learner may speak either language."""
    ours = {_VECTOR_NAMES[name]: value for name, value in options.items()
            if name in _VECTOR_NAMES}
    native = {name: value for name, value in options.items() if name not in _VECTOR_NAMES}
    return {**ours, **native}


def make_vector_env(num_envs: int, seed: int | None = None, game: str = "pong",
                    **options: Any) -> AtariVector:
    """``num_envs`` copies of ``game`` stepped by ale-py's C++ threads (see the module doc)."""
    if num_envs < 1:
        raise ValueError("num_envs must be at least 1")
    return AtariVector(game, num_envs, seed, **vector_arguments(**options))
