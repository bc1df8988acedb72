"""Gumbel search (Danihelka et al. 2022): the sequential halving schedule, Gumbel-top-k, policy
improvement on bandits with known values, solved positions, batched against alone, the
deterministic interior rule, subtree reuse, the plugin and the agents, and the learners'
``search: gumbel`` with playout cap randomisation and MuZero reanalyse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gamepit.arena import play_series
from gamepit.authoring.checks import check_agent
from gamepit.files import load_yaml
from gamepit.games.connect_four import ConnectFour
from gamepit.learners import toolkit
from gamepit.learners.alphazero import learner as alphazero
from gamepit.learners.muzero import learner as muzero
from gamepit.nets.inference import OnnxRunner, fast_copy
from gamepit.nets.residual import PolicyValueNet
from gamepit.protocols import BaseState, split_act_result
from gamepit.search.evaluators import RolloutEvaluator, SimulatorModel, UniformEvaluator
from gamepit.search.gumbel import Gumbel, halving_visits, make_search
from gamepit.search.mcts import MCTS
from gamepit.search.network import NetworkEvaluator
from gamepit.search.tree import SearchConfig, _scores
from tests.conftest import learn

ROOT = Path(__file__).resolve().parents[1]


class Bandit(BaseState):
    """One move, then the game ends with reward ``rewards[action]`` (one player)."""

    def __init__(self, rewards: list[float]) -> None:
        self.rewards, self.taken = rewards, -1

    @property
    def current_player(self) -> int:
        return 0 if self.taken < 0 else -1

    def legal_mask(self) -> np.ndarray:
        return np.full(len(self.rewards), self.taken < 0)

    def apply(self, action: int) -> None:
        self.taken = action

    def clone(self) -> Bandit:
        copy = Bandit(self.rewards)
        copy.taken = self.taken
        return copy

    def is_terminal(self) -> bool:
        return self.taken >= 0

    def returns(self) -> list[float]:
        return [self.rewards[self.taken] if self.taken >= 0 else 0.0]

    def observation(self, player: int) -> np.ndarray:
        return np.array([self.taken], dtype=np.float32)


class FixedPrior:
    """The same prior everywhere and a value of 0."""

    def __init__(self, prior: list[float]) -> None:
        self.prior = np.asarray(prior, dtype=float)

    def evaluate(self, states):
        return np.tile(self.prior, (len(states), 1)), np.zeros(len(states))


def connect_four(*moves: int):
    state = ConnectFour().new_state()
    for move in moves:
        state.apply(move)
    return state


# --------------------------------------------------------------------------- the schedule


def test_halving_schedule_matches_the_papers_rounds():
    # 4 actions, 16 simulations: log2 4 = 2 rounds of 16 // (2 * 4) = 2 visits each for all 4,
    # then 2 survivors get the rest in turn
    assert halving_visits(4, 16) == (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5)
    assert halving_visits(1, 5) == (0, 1, 2, 3, 4)  # one action takes every simulation
    assert halving_visits(2, 4) == (0, 0, 1, 1)
    assert halving_visits(7, 8) == (0,) * 7 + (1,)  # fewer simulations than a full round
    for considered in (2, 3, 7, 16):
        for sims in (2, 5, 16, 50):
            assert len(halving_visits(considered, sims)) == sims


@pytest.mark.parametrize("sims", [4, 8, 16, 32])
def test_sequential_halving_spends_the_budget_on_k_actions_and_plays_a_survivor(sims):
    search = Gumbel(sims, considered=4, seed=0)
    state = connect_four()
    result = search.search([state], FixedPrior([1] * 7), seeds=[3])[0]
    visited = np.flatnonzero(result.visit_counts)
    assert result.visit_counts.sum() == sims
    assert len(visited) == min(4, sims)
    assert result.visit_counts[result.extra["action"]] == result.visit_counts.max()
    assert result.policy.sum() == pytest.approx(1.0)


def test_without_noise_the_k_likeliest_actions_are_the_ones_searched():
    prior = [0.02, 0.3, 0.05, 0.25, 0.08, 0.2, 0.1]
    search = Gumbel(4, considered=4, gumbel_scale=0.0)
    result = search.search([connect_four()], FixedPrior(prior), seeds=[0])[0]
    assert set(np.flatnonzero(result.visit_counts)) == {1, 3, 5, 6}


def test_gumbel_top_k_samples_actions_in_proportion_to_the_prior():
    """With one simulation the action played is argmax g + logits: a sample of the prior."""
    prior = np.array([0.1, 0.6, 0.3])
    search = Gumbel(1, considered=3)
    counts = np.zeros(3)
    for seed in range(3000):
        counts[search.search([Bandit([0, 0, 0])], FixedPrior(prior), seeds=[seed])[0]
               .extra["action"]] += 1
    np.testing.assert_allclose(counts / counts.sum(), prior, atol=0.03)


@pytest.mark.parametrize("sims", [2, 4, 8])
def test_policy_improvement_with_few_simulations_on_a_bandit(sims):
    """The paper's guarantee: with the true values, the action Gumbel plays is better in
    expectation than a sample of the prior, and the improved policy beats the prior, even
    when the prior favours bad actions (here 2 to 8 simulations over 8 arms)."""
    rewards = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0]
    prior = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02])
    before = float(prior @ rewards)
    search = Gumbel(sims, considered=8)
    played, improved = [], []
    for seed in range(300):
        result = search.search([Bandit(rewards)], FixedPrior(prior), seeds=[seed])[0]
        played.append(rewards[result.extra["action"]])
        improved.append(float(result.policy @ rewards))
    assert np.mean(played) > before + 0.05
    assert np.mean(improved) > before + 0.05


def test_visit_counts_alone_do_not_improve_with_two_simulations():
    """What Gumbel fixes: PUCT's visit counts with 2 simulations on the same bandit are no
    better than the prior (the reason its targets need many simulations)."""
    rewards = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0]
    prior = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02])
    puct = MCTS(2, rule="puct").search([Bandit(rewards)], FixedPrior(prior), seeds=[0])[0]
    gumbel = Gumbel(2, considered=8, gumbel_scale=0.0).search(
        [Bandit(rewards)], FixedPrior(prior), seeds=[0])[0]
    assert float(gumbel.policy @ rewards) > float(puct.policy @ rewards)


def test_finds_the_winning_move_and_the_only_block():
    # X (player 0) has three in the bottom row at 0, 1, 2: playing 3 wins
    win = connect_four(0, 6, 1, 6, 2, 5)
    result = Gumbel(16).search([win], UniformEvaluator(), seeds=[1])[0]
    assert result.extra["action"] == 3
    assert result.policy[3] == result.policy.max()
    # O to move must block at 3 (the threat shows two plies deep: random playouts see it);
    # without root noise, as agents play, the survivor is the best of the last two
    block = connect_four(0, 6, 1, 6, 2)
    for seed in range(3):
        result = Gumbel(256, gumbel_scale=0.0).search([block], RolloutEvaluator(4, seed),
                                                      seeds=[seed])[0]
        assert result.extra["action"] == 3 and result.policy.argmax() == 3


def test_a_batch_gives_each_root_the_search_it_gets_alone():
    states = [connect_four(), connect_four(3, 3), connect_four(0, 6, 1, 6, 2)]
    search = Gumbel(12, considered=5)
    together = search.search(states, FixedPrior([1, 2, 3, 4, 3, 2, 1]), seeds=[5, 6, 7])
    for state, seed, batched in zip(states, [5, 6, 7], together, strict=True):
        alone = search.search([state], FixedPrior([1, 2, 3, 4, 3, 2, 1]), seeds=[seed])[0]
        np.testing.assert_array_equal(alone.visit_counts, batched.visit_counts)
        np.testing.assert_allclose(alone.policy, batched.policy)
        assert alone.extra["action"] == batched.extra["action"]


def test_interior_selection_follows_the_improved_policy():
    """argmax pi'(a) - N(a) / (1 + sum N): equal priors and equal values, so pi' is uniform
    and the less visited action is next; a much better value draws the visits to it."""
    config = SearchConfig(rule="gumbel")
    prior = np.array([[0.5, 0.5]])
    score = _scores(config, np.array([[3.0, 1.0]]), np.array([[0.0, 0.0]]), prior,
                    np.ones((1, 1)), np.zeros(1), np.zeros(1), np.zeros(1))
    assert score.argmax() == 1
    score = _scores(config, np.array([[3.0, 1.0]]), np.array([[3.0, -1.0]]), prior,
                    np.ones((1, 1)), np.zeros(1), np.zeros(1), np.zeros(1))
    assert score.argmax() == 0
    illegal = _scores(config, np.zeros((1, 2)), np.zeros((1, 2)), np.array([[1.0, -1.0]]),
                      np.ones((1, 1)), np.zeros(1), np.zeros(1), np.zeros(1))
    assert illegal[0, 1] == -np.inf


def test_a_continued_subtree_runs_the_whole_schedule_again():
    search = Gumbel(8, considered=4)
    model = SimulatorModel(UniformEvaluator(), 7)
    _, tree = search.run(model, [connect_four()], [1])
    action = int(np.argmax(tree.root_visits()[0]))
    kept = tree.subtree(0, int(tree.children[0, 0, action]))
    before = kept.root_visits()[0].copy()
    results, _ = search.run(model, [connect_four(action)], [2], [kept])
    assert (results[0].visit_counts - before).sum() == 8


def test_plugin_and_search_factory(registry):
    search = registry.build("search", "gumbel:sims=4,considered=2")
    assert isinstance(search, Gumbel) and search.sims == 4 and search.considered == 2
    assert isinstance(make_search("puct", 8), MCTS) and not isinstance(make_search("puct", 8),
                                                                         Gumbel)
    with pytest.raises(ValueError, match="search must be one of"):
        make_search("beam", 8)


# --------------------------------------------------------------------------- learners

TINY = {"iterations": 2, "selfplay_games": 3, "sims": 4, "filters": 8, "blocks": 1,
        "value_hidden": 8, "train_steps": 2, "min_buffer": 1, "batch_size": 8,
        "buffer_size": 4096, "max_moves": 0, "eval_games": 0, "device": "cpu", "threads": 1,
        "game": "tictactoe"}


@pytest.fixture(scope="module")
def gumbel_alphazero(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("az_gumbel")
    spec = learn(alphazero, {**TINY, "search": "gumbel", "run_dir": str(run_dir)})
    return spec


def test_alphazero_agent_searches_with_either_kind(gumbel_alphazero, registry):
    agent = registry.make_agent(f"{gumbel_alphazero},sims=8,search=gumbel")
    assert isinstance(agent.mcts, Gumbel)
    assert not isinstance(registry.make_agent(gumbel_alphazero).mcts, Gumbel)  # puct default
    game = registry.make_game("tictactoe")
    check_agent(agent, game)  # act_batch agrees with act, info is JSON
    agent.reset(game, 0, seed=0)
    action, info = split_act_result(agent.act(game.new_state()))
    assert info["visit_counts"].sum() == 8 and info["policy"][action] > 0
    series = play_series(game, [agent, registry.make_agent("random")], 4, 0)
    assert series.games == 4


def test_alphazero_gumbel_learns_tictactoe_to_beat_random(tmp_path, registry):
    spec = learn(alphazero, {**TINY, "search": "gumbel", "iterations": 12,
                                      "selfplay_games": 16, "train_steps": 20, "filters": 16,
                                      "value_hidden": 16, "batch_size": 64,
                                      "run_dir": str(tmp_path)})
    game = registry.make_game("tictactoe")
    series = play_series(game, [registry.make_agent(f"{spec},sims=16"),
                                registry.make_agent("random")], 20, 1)
    assert series.score()[0] >= 0.75, series.summary()


def test_playout_cap_randomisation_trains_on_full_searches_only(registry):
    game = registry.make_game("connect_four")
    args = alphazero.AlphaZeroArgs(game="connect_four", sims=8, fast_sims=2,
                                   full_search_fraction=0.25, value_mix=0.5)
    network = alphazero.build_network(alphazero.network_shape(game, args)).eval()
    batch = alphazero.self_play(game, NetworkEvaluator(network), alphazero.searches_of(args),
                                8, args, np.random.default_rng(0))
    share = len(batch.outcomes) / batch.moves
    assert 0.1 < share < 0.45, share
    # outcomes mixed with the root value: no longer only -1, 0 and 1
    assert not np.isin(batch.outcomes, [-1.0, 0.0, 1.0]).all()
    full = alphazero.self_play(game, NetworkEvaluator(network),
                               alphazero.searches_of(alphazero.AlphaZeroArgs(
                                   game="connect_four", sims=8)), 4, args,
                               np.random.default_rng(0))
    assert len(full.outcomes) == full.moves


def test_muzero_gumbel_runs_with_reanalyse_and_a_replay_ratio(tmp_path, registry):
    settings = {"iterations": 3, "selfplay_games": 3, "sims": 4, "moves_per_iteration": 5,
                "hidden": 8, "width": 16, "train_steps": 2, "min_buffer": 1, "batch_size": 8,
                "buffer_size": 4096, "eval_games": 0, "device": "cpu", "game": "tictactoe",
                "search": "gumbel", "reanalyse_fraction": 0.5, "replay_ratio": 0.4,
                "run_dir": str(tmp_path)}
    spec = learn(muzero, settings)
    agent = registry.make_agent(f"{spec},sims=4,search=gumbel")
    assert isinstance(agent.mcts, Gumbel)
    metrics = [line for line in (tmp_path / "metrics.jsonl").read_text().splitlines()
               if "progress/updates" in line]
    # 15 moves an iteration at 0.4 steps a move: 6 gradient steps each iteration, once the
    updates = [__import__("json").loads(line)["progress/updates"] for line in metrics]
    assert updates == [0.0, 6.0, 12.0], updates  # none before the first game ended


def test_reanalyse_replaces_policy_targets_with_a_fresh_search(registry):
    game = registry.make_game("tictactoe")
    args = muzero.MuZeroArgs(game="tictactoe", hidden=8, width=16, unroll_steps=3,
                             reanalyse_fraction=1.0)
    network = muzero.build_network(muzero.network_shape(game, args)).eval()
    state = game.new_state()
    record = muzero.new_record()
    for action in (4, 0, 8):
        muzero.record_move(record, state, action, np.full(9, 1 / 9), 0.0)
    buffer = muzero.ReplayBuffer(64, game.observation_shape, 9, game.observation_dtype)
    buffer.add(muzero.trajectory_of(record, False))
    assert not buffer.legal[1, 4] and buffer.legal[1, 1]  # square 4 was taken
    seen = []

    def policy_at(slots):
        seen.append(slots.copy())
        return muzero.fresh_policies(network, buffer, torch.device("cpu"),
                                     Gumbel(4, gumbel_scale=0.0), 2,
                                     np.random.default_rng(0))(slots)

    batch = buffer.sample(16, args, np.random.default_rng(1), policy_at=policy_at)
    inside = batch["mask"] > 0
    assert seen and len(np.concatenate(seen)) == inside.sum()
    assert not np.allclose(batch["policies"][inside], 1 / 9)  # new targets
    np.testing.assert_allclose(batch["policies"][inside].sum(-1), 1.0, rtol=1e-5)
    for row, slot in enumerate(batch["slots"]):  # square 4, taken at the first move, gets

        for k in range(4):
            if inside[row, k] and slot + k >= 1:
                assert batch["policies"][row, k, 4] == 0
    untouched = buffer.sample(16, muzero.MuZeroArgs(game="tictactoe", unroll_steps=3),
                              np.random.default_rng(1), policy_at=policy_at)
    np.testing.assert_allclose(untouched["policies"][untouched["mask"] > 0], 1 / 9)


# --------------------------------------------------------------------------- fast inference


def test_fast_network_copy_answers_as_the_network_does():
    torch.manual_seed(0)
    network = PolicyValueNet(2, 6, 7, 7, filters=16, blocks=2)
    network.train()
    for _ in range(3):  # batch norm statistics away from their defaults
        network(torch.randn(32, 2, 6, 7))
    network.eval()
    fast = fast_copy(network, torch.zeros(1, 2, 6, 7))
    assert isinstance(fast, OnnxRunner)  # onnxruntime is a dependency: the copy must use it
    for size in (1, 5, 130):
        batch = torch.randn(size, 2, 6, 7)
        with torch.inference_mode():
            for mine, theirs in zip(network(batch), fast(batch), strict=True):
                torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)
    states = [connect_four(), connect_four(3, 2)]
    eager = NetworkEvaluator(network, fast=False).evaluate(states)
    quick = NetworkEvaluator(network).evaluate(states)
    for mine, theirs in zip(eager, quick, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_a_network_torch_fx_cannot_trace_is_used_as_it_is():
    class Branchy(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent control flow: symbolic tracing refuses it
                return self.linear(x)
            return -self.linear(x)

    network = Branchy().eval()
    assert fast_copy(network, torch.ones(1, 3)) is network  # never traced down one branch


def test_a_copy_onnx_runtime_answers_differently_is_not_used(monkeypatch):
    """The exported copy is checked on a batch it was not traced with: one whose answers
    differ (here: a session that returns zeros) leaves the folded torch network."""
    import onnxruntime

    class Zeros:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def run(self, names, feeds):
            return [np.zeros((len(feeds["input"]), 7), np.float32),
                    np.zeros((len(feeds["input"]), 1), np.float32)]

    monkeypatch.setattr(onnxruntime, "InferenceSession", Zeros)
    network = PolicyValueNet(2, 6, 7, 7, filters=8, blocks=1).eval()
    fast = fast_copy(network, torch.zeros(1, 2, 6, 7))
    assert not isinstance(fast, OnnxRunner) and fast is not network


def test_the_minatar_gumbel_reanalyse_config_runs_at_tiny_size(tmp_path, registry):
    """configs/muzero_minatar_gumbel.yaml (a one-player game with rewards and a discount)
    trains, reanalyses and plays, shrunk to seconds."""
    config = load_yaml(ROOT / "configs" / "muzero_minatar_gumbel.yaml")
    spec = learn(muzero, {
        **config, "iterations": 2, "selfplay_games": 2, "moves_per_iteration": 30,
        "min_buffer": 20, "batch_size": 8, "hidden": 8, "width": 16, "channels": 4,
        "eval_games": 1, "eval_max_steps": 30, "device": "cpu", "run_dir": str(tmp_path)})
    metrics = (tmp_path / "metrics.jsonl").read_text()
    assert '"progress/updates": 15.0' in metrics  # 60 moves at 0.25 steps a move
    agent = registry.make_agent(f"{spec},sims=4,search=gumbel")
    assert isinstance(agent.mcts, Gumbel)
    # the one evaluation (mean return, one episode) is the highest so far: kept as top.pt
    top = toolkit.load_checkpoint(tmp_path / toolkit.TOP)
    assert top["evaluation"] == ("eval_games=1, eval_opponent=random, eval_sims=8, "
                                 "evaluation_search=gumbel, eval_max_steps=30")
    assert f'"eval/return": {top["eval_score"]}' in metrics
    registry.make_agent(f"muzero:checkpoint={tmp_path / toolkit.TOP},sims=4").close()


def test_alphazero_init_goes_on_from_a_trained_network(gumbel_alphazero, tmp_path, cli):
    source = gumbel_alphazero.split("=", 1)[1]
    learn(alphazero, {**TINY, "iterations": 1, "train_steps": 0, "init": source,
                               "run_dir": str(tmp_path / "warm")})
    started, _ = alphazero.load_agent_network(str(tmp_path / "warm" / "best.pt"))
    trained, _ = alphazero.load_agent_network(source)
    for name, value in trained.state_dict().items():
        assert torch.equal(started.state_dict()[name], value), name
    done = cli("train", "alphazero", "--game", "tictactoe", "--run", str(tmp_path / "other"),
               "--set", "filters=16", "--set", "iterations=1", "--init", source)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "has network" in done.stderr and "filters" in done.stderr
