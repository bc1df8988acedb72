"""The faces every game with a simulator state gets for free: a PettingZoo AEC environment
(any number of players) and a Gymnasium environment (one-player games).

One class of each serves every native game, so a game file only writes its rules. AEC
observations follow PettingZoo's classic games: ``{"observation": planes, "action_mask": int8
mask}``. Part of the contract; imports gymnasium and PettingZoo, never torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

if TYPE_CHECKING:
    from gamepit.protocols import Game, State


def aec_env(game: Any, render_mode: str | None = None) -> AECEnv:
    """A game's PettingZoo AEC face: its own where it offers one (the PettingZoo bridge, Atari),
    else one built on its simulator state."""
    own = getattr(game, "aec_env", None)
    if own is not None:
        return own(render_mode=render_mode)
    return StateAECEnv(game, render_mode=render_mode)


class StateAECEnv(AECEnv):
    """A PettingZoo AEC environment driven by a gamepit simulator state."""

    def __init__(self, game: Game, render_mode: str | None = None) -> None:
        super().__init__()
        self.game = game
        self.render_mode = render_mode
        self.metadata = {"render_modes": ["human", "ansi"], "name": game.name,
                         "is_parallelizable": False}
        self.possible_agents = [f"player_{i}" for i in range(game.num_players)]
        low, high = game.observation_bounds
        observation_space = spaces.Dict({
            "observation": spaces.Box(low, high, game.observation_shape,
                                      dtype=game.observation_dtype),
            "action_mask": spaces.Box(0, 1, (game.num_actions,), dtype=np.int8),
        })
        self.observation_spaces = {agent: observation_space for agent in self.possible_agents}
        self.action_spaces = {agent: spaces.Discrete(game.num_actions)
                              for agent in self.possible_agents}
        self.state = game.new_state()

    def observation_space(self, agent: str) -> spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.state = self.game.new_state(seed)
        self.agents = self.possible_agents[:]
        self.rewards = {agent: 0.0 for agent in self.agents}
        self._cumulative_rewards = {agent: 0.0 for agent in self.agents}
        self.terminations = {agent: False for agent in self.agents}
        self.truncations = {agent: False for agent in self.agents}
        self.infos = {agent: {} for agent in self.agents}
        self.agent_selection = self.agents[self.state.current_player]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        player = self.possible_agents.index(agent)
        if self.state.current_player == player:
            mask = self.state.legal_mask().astype(np.int8)
        else:
            mask = np.zeros(self.game.num_actions, dtype=np.int8)
        observation = np.asarray(self.state.observation(player), dtype=self.game.observation_dtype)
        return {"observation": observation, "action_mask": mask}

    def step(self, action: int | None) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if action is None or not self.state.legal_mask()[int(action)]:
            raise ValueError(f"illegal action {action!r} for {agent} in {self.game.name}")
        self._cumulative_rewards[agent] = 0.0
        before = self.state.returns()
        self.state.apply(int(action))
        after = self.state.returns()
        self.rewards = {name: float(after[i] - before[i])
                        for i, name in enumerate(self.possible_agents)}
        if self.state.is_terminal():
            self.terminations = {name: True for name in self.agents}
            index = self.possible_agents.index(agent)
            self.agent_selection = self.possible_agents[(index + 1) % len(self.possible_agents)]
        else:
            self.agent_selection = self.possible_agents[self.state.current_player]
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def render(self) -> str | None:
        text = self.state.render()
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass


class StateGymEnv(gym.Env):
    """A Gymnasium environment over a one-player game's simulator state, for games that offer
    no Gymnasium face. An illegal action ends the episode with a reward of -1, so a learner that
    ignores legality learns to avoid it."""

    def __init__(self, game: Game) -> None:
        self.game = game
        low, high = game.observation_bounds
        self.observation_space = spaces.Box(low, high, game.observation_shape,
                                            dtype=game.observation_dtype)
        self.action_space = spaces.Discrete(game.num_actions)
        self.state: State | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None
              ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.state = self.game.new_state(seed)
        return np.asarray(self.state.observation(0)), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert self.state is not None
        if not self.state.legal_mask()[int(action)]:
            return np.asarray(self.state.observation(0)), -1.0, True, False, {"illegal": True}
        before = self.state.returns()[0]
        self.state.apply(int(action))
        reward = self.state.returns()[0] - before
        return (np.asarray(self.state.observation(0)), float(reward), self.state.is_terminal(),
                False, {})
