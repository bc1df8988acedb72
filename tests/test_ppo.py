"""PPO: GAE against its definition, the clipped loss, learning on CartPole, self-play on
tic-tac-toe that beats random, a smoke run on real ALE Pong, and agents from checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gamepit.arena import play_match, play_series
from gamepit.authoring.checks import check_agent
from gamepit.files import load_yaml
from gamepit.learners import toolkit
from gamepit.learners.ppo.learner import (
    OpponentPool,
    PPOArgs,
    SelfPlayEnv,
    build_network,
    compute_gae,
    train,
)
from gamepit.training.settings import merge

ROOT = Path(__file__).resolve().parents[1]


def test_gae_matches_its_definition_across_episode_ends():
    rng = np.random.default_rng(0)
    steps, envs, gamma, lam = 6, 3, 0.9, 0.8
    rewards = rng.normal(size=(steps, envs))
    values = rng.normal(size=(steps, envs))
    dones = (rng.random((steps, envs)) < 0.3).astype(float)
    next_value = rng.normal(size=envs)
    advantages, returns = compute_gae(*(torch.tensor(x) for x in
                                        (rewards, values, dones, next_value)), gamma, lam)
    for env in range(envs):
        for t in range(steps):
            # Sum of (gamma*lambda)^k TD errors until the episode ends.
            total, weight = 0.0, 1.0
            for k in range(t, steps):
                following = next_value[env] if k == steps - 1 else values[k + 1, env]
                alive = 1.0 - dones[k, env]
                delta = rewards[k, env] + gamma * following * alive - values[k, env]
                total += weight * delta
                if not alive:
                    break
                weight *= gamma * lam
            assert advantages[t, env].item() == pytest.approx(total, rel=1e-6, abs=1e-9)
            assert returns[t, env].item() == pytest.approx(total + values[t, env], rel=1e-6)


def test_ppo_learns_cartpole(registry, tmp_path):
    settings = load_yaml(ROOT / "configs" / "ppo_cartpole.yaml")
    args = merge(PPOArgs, "ppo", settings, {"run_dir": str(tmp_path), "device": "cpu",
                                            "eval_episodes": 0})
    spec = train(args)
    agent = registry.make_agent(spec)
    game = registry.make_game("gym:CartPole-v1")
    scores = [play_match(game, [agent], seed).returns[0]
              for seed in range(200, 210)]
    assert np.mean(scores) > 150, scores  # random play scores about 22


def test_self_play_env_plays_both_seats_and_masks_illegal_moves(registry):
    game = registry.make_game("tictactoe")
    network = build_network({"observation_shape": [2, 3, 3], "num_actions": 9,
                             "args": {"hidden": 64}})
    rng = np.random.default_rng(0)
    environment = SelfPlayEnv(game, 8, OpponentPool(network, 4, 0.5, rng), torch.device("cpu"),
                              rng)
    observations, info = environment.reset(seed=0)
    seats_seen, finished = set(), 0
    for _ in range(60):
        seats_seen |= set(environment.seats.tolist())
        for env, state in enumerate(environment.states):
            assert state.current_player == environment.seats[env]  # always the learner's turn
            assert np.array_equal(info["legal_mask"][env], state.legal_mask())
        actions = [rng.choice(np.flatnonzero(mask)) for mask in info["legal_mask"]]
        observations, rewards, terminated, truncated, info = environment.step(np.array(actions))
        finished += int(terminated.sum())
        assert set(rewards[terminated].tolist()) <= {-1.0, 0.0, 1.0}
        assert not rewards[~terminated].any()
    assert seats_seen == {0, 1} and finished > 8


def test_self_play_on_tictactoe_beats_random(registry, tmp_path):
    """The CI budget of configs/ppo_selfplay_tictactoe.yaml, then 100 games against random with
    seats alternating: score (win 1, draw 0.5) above 0.7."""
    settings = load_yaml(ROOT / "configs" / "ppo_selfplay_tictactoe.yaml")
    args = merge(PPOArgs, "ppo", settings, {"run_dir": str(tmp_path), "device": "cpu",
                                            "eval_episodes": 4})
    spec = train(args)
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 4  # evaluation games recorded
    game = registry.make_game("tictactoe")
    agent, random_agent = registry.make_agent(spec), registry.make_agent("random")
    check_agent(agent, game)
    series = play_series(game, [agent, random_agent], 100, seed=500)
    assert series.score()[0] > 0.7, series.summary()


def test_ppo_smoke_run_on_real_pong_and_resume(registry, tmp_path):
    base = dict(game="atari:pong,max_frames=800", num_envs=4, num_steps=32, num_minibatches=2,
                update_epochs=1, eval_episodes=0, device="cpu", run_dir=str(tmp_path),
                clip_rewards=True, checkpoint_every=128)
    train(PPOArgs(total_steps=256, **base))
    first = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    assert first["step"] == 256 and first["update"] == 2
    spec = train(PPOArgs(total_steps=512, **base))  # the same run folder continues
    second = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    assert second["step"] == 512 and second["update"] == 4
    assert any(not torch.equal(first["network"][k], second["network"][k])
               for k in first["network"])
    agent = registry.make_agent(spec)
    check_agent(agent, registry.make_game("atari:pong,max_frames=200"), games=1)


class Corridor:
    """A one-player game with only a simulator State (no Gymnasium face): walk right along a
    corridor of ``length`` cells to score 1; stepping left from the first cell is illegal."""

    class State:
        def __init__(self, length: int) -> None:
            self.length, self.position, self.steps = length, 0, 0

        @property
        def current_player(self) -> int:
            return -1 if self.is_terminal() else 0

        def legal_mask(self) -> np.ndarray:
            return np.array([self.position > 0, True]) & (not self.is_terminal())

        def legal_actions(self) -> list[int]:
            return np.flatnonzero(self.legal_mask()).tolist()

        def apply(self, action: int) -> None:
            self.position += 1 if action == 1 else -1
            self.steps += 1

        def clone(self):
            other = Corridor.State(self.length)
            other.position, other.steps = self.position, self.steps
            return other

        def is_terminal(self) -> bool:
            return self.position == self.length - 1 or self.steps >= 3 * self.length

        def returns(self) -> list[float]:
            return [1.0 if self.position == self.length - 1 else 0.0]

        def observation(self, player: int) -> np.ndarray:
            cells = np.zeros(self.length, dtype=np.float32)
            cells[self.position] = 1.0
            return cells

        def render(self) -> str:
            return "".join("@" if i == self.position else "." for i in range(self.length))

        def fingerprint(self) -> bytes:
            return bytes([self.position, self.steps])

    def __init__(self, length: int = 8) -> None:
        from gamepit.protocols import Capabilities

        self.name, self.num_players, self.num_actions = "corridor", 1, 2
        self.observation_shape, self.observation_dtype = (length,), np.float32
        self.observation_bounds = (0, 1)
        self.capabilities = Capabilities(aec=False)
        self.length, self.spec = length, "corridor"

    def new_state(self, seed=None):
        return Corridor.State(self.length)

    def aec_env(self):
        raise NotImplementedError


class CorridorPlugin:
    from gamepit.plugins import hookimpl

    @hookimpl
    def gamepit_add_games(self) -> list:
        from gamepit.protocols import game

        return [game("corridor", Corridor, "walk right to score")]


def test_ppo_trains_on_a_game_with_only_a_simulator_state(tmp_path):
    from gamepit.plugins.manager import PluginManager

    manager = PluginManager(autoload=False)
    manager.register(CorridorPlugin(), name="corridor-plugin")
    spec = train(PPOArgs(game="corridor", total_steps=4096, num_envs=4, num_steps=64,
                         learning_rate=3e-3, run_dir=str(tmp_path), device="cpu",
                         eval_episodes=3), manager)
    metrics = [line for line in (tmp_path / "metrics.jsonl").read_text().splitlines()
               if "eval/return" in line]
    assert '"eval/return": 1.0' in metrics[-1]
    agent = manager.registry.make_agent(spec)
    result = play_match(manager.registry.make_game("corridor"), [agent], 0)
    assert result.returns == [1.0] and result.steps == 7  # straight to the end
