"""PPO: GAE against its definition, the clipped loss, learning on CartPole, self-play on
tic-tac-toe that beats random, a smoke run on real ALE Pong, and agents from checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gamepit.agents import rl_common
from gamepit.agents.ppo import (
    OpponentPool,
    PPOArgs,
    SelfPlayEnv,
    build_network,
    compute_gae,
    train,
)
from gamepit.arena import play_match, play_series
from gamepit.checks import check_agent
from gamepit.config import load_yaml, merge

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
    scores = [play_match(game, [agent], seed, replay_dir=None).returns[0]
              for seed in range(200, 210)]
    assert np.mean(scores) > 150, scores  # random play scores about 22


def test_self_play_env_plays_both_seats_and_masks_illegal_moves(registry):
    game = registry.make_game("tictactoe")
    network = build_network({"observation_shape": [2, 3, 3], "num_actions": 9,
                             "args": {"hidden": 64}})
    environment = SelfPlayEnv(game, 8, OpponentPool(network, 4, 0.5), torch.device("cpu"))
    observations, info = environment.reset(seed=0)
    rng = np.random.default_rng(0)
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
    first = rl_common.load_checkpoint(tmp_path / "checkpoint.pt")
    assert first["step"] == 256 and first["update"] == 2
    spec = train(PPOArgs(total_steps=512, **base))  # the same run folder continues
    second = rl_common.load_checkpoint(tmp_path / "checkpoint.pt")
    assert second["step"] == 512 and second["update"] == 4
    assert any(not torch.equal(first["network"][k], second["network"][k])
               for k in first["network"])
    agent = registry.make_agent(spec)
    check_agent(agent, registry.make_game("atari:pong,max_frames=200"), games=1)
