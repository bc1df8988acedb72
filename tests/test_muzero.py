"""MuZero: the value transform and supports, n-step targets with absorbing states, the unroll's
loss on a tiny batch, batched self-play against one game at a time, a tiny run of the command
that writes a checksummed checkpoint and resumes, and the agent in the arena."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.errors import GamepitError
from gamepit.learners import toolkit
from gamepit.learners.muzero import learner as muzero
from gamepit.nets.muzero import (
    inverse_transform,
    scalar_to_support,
    support_to_scalar,
    transform,
)
from gamepit.protocols import split_act_result
from gamepit.training.settings import ConfigError, merge
from tests.conftest import ROOT, learn

TINY = ["--set", "iterations=2", "--set", "selfplay_games=4", "--set", "sims=4",
        "--set", "min_buffer=1", "--set", "batch_size=8", "--set", "train_steps=2",
        "--set", "hidden=8", "--set", "width=16", "--set", "device=cpu",
        "--set", "checkpoint_every=1", "--set", "representation=mlp"]


def args_for(**overrides) -> muzero.MuZeroArgs:
    return merge(muzero.MuZeroArgs, "muzero", {"game": "tictactoe", **overrides})


# --------------------------------------------------------------------------- transform, support


def test_h_and_its_inverse_invert_each_other():
    x = torch.tensor([-1e5, -300.0, -1.0, -0.25, 0.0, 1e-3, 0.5, 1.0, 7.0, 1234.5, 1e5],
                     dtype=torch.float64)
    np.testing.assert_allclose(inverse_transform(transform(x)), x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(transform(inverse_transform(x)), x, rtol=1e-9, atol=1e-9)
    assert float(transform(torch.tensor(1.0))) == pytest.approx(np.sqrt(2) - 1 + 1e-3)
    assert (transform(x).abs() < x.abs() + 1e-12).all()  # it squashes


@pytest.mark.parametrize("support", [1, 10, 300])
def test_scalar_to_support_and_back_round_trips(support):
    limit = float(inverse_transform(torch.tensor(float(support))))
    x = torch.tensor([-limit, -3.7, -1.0, 0.0, 0.3, 1.0, 2.5, limit * 0.99])
    x = x[x.abs() <= limit]
    distribution = scalar_to_support(x, support)
    assert distribution.shape == (len(x), 2 * support + 1)
    np.testing.assert_allclose(distribution.sum(-1), 1.0, atol=1e-6)
    assert ((distribution > 0).sum(-1) <= 2).all()  # two-hot
    # the logits of a two-hot distribution (log of it) give back the scalar
    back = support_to_scalar(torch.log(distribution + 1e-30), support)
    np.testing.assert_allclose(back, x, rtol=1e-3, atol=1e-3)


def test_values_beyond_the_support_are_clipped_to_its_ends():
    distribution = scalar_to_support(torch.tensor([1e6, -1e6]), 2)
    np.testing.assert_array_equal(distribution[0], [0, 0, 0, 0, 1])
    np.testing.assert_array_equal(distribution[1], [1, 0, 0, 0, 0])


# --------------------------------------------------------------------------- n-step targets


def test_nstep_targets_on_a_hand_made_trajectory():
    """Five positions, rewards 1, 0, 2, 0, 3 (of the action at each), search values
    10, 20, 30, 40, 50, discount 0.5, n = 2."""
    rewards = np.array([1, 0, 2, 0, 3], dtype=float)
    values = np.array([10, 20, 30, 40, 50], dtype=float)
    index = np.arange(7)  # two positions past the end
    ended = muzero.nstep_values(rewards, values, index, 5, True, 2, 0.5)
    # z_t = r_t + 0.5 r_(t+1) + 0.25 v_(t+2); past the end nothing (absorbing states)
    expected = [1 + 0 + 0.25 * 30, 0 + 1 + 0.25 * 40, 2 + 0 + 0.25 * 50, 0 + 1.5, 3, 0, 0]
    np.testing.assert_allclose(ended, expected)
    # a game cut at its fifth position bootstraps from its last value instead
    cut = muzero.nstep_values(rewards, values, index, 5, False, 2, 0.5)
    np.testing.assert_allclose(cut, [*expected[:3], 0 + 0.5 * 50, 50, 0, 0])
    # n past the game's length: the discounted sum of all that follows (Monte Carlo)
    whole = muzero.nstep_values(rewards, values, np.array([0]), 5, True, 10, 0.5)
    assert whole[0] == pytest.approx(1 + 0 + 0.25 * 2 + 0 + 0.0625 * 3)
    # reanalyse replaces the stored bootstrap values
    fresh = muzero.nstep_values(rewards, values, np.array([0]), 5, True, 2, 0.5,
                                value_at=lambda positions: -np.ones(len(positions)))
    assert fresh[0] == pytest.approx(1 - 0.25)


def test_buffer_targets_are_for_the_mover_with_absorbing_states():
    """A won tic-tac-toe game as the buffer sees it: X (player 0) wins with its third move."""
    moves = [4, 0, 2, 6, 3, 5, 1, 8, 7]  # any legal line; only the recorded arrays matter
    length = 5
    trajectory = muzero.Trajectory(
        np.zeros((length, 2, 3, 3), dtype=np.int8), np.array(moves[:length]),
        np.array([0, 0, 0, 0, 1], dtype=np.float32),  # X's last move wins: +1 for player 0
        np.zeros(length, dtype=np.float32), np.full((length, 9), 1 / 9, dtype=np.float32),
        np.array([0, 1, 0, 1, 0]), True)
    buffer = muzero.ReplayBuffer(100, (2, 3, 3), 9, np.int8)
    buffer.add(trajectory)
    args = args_for(td_steps=9, unroll_steps=5)
    batch = buffer.sample(64, args, np.random.default_rng(0))
    for row, slot in enumerate(batch["slots"]):
        start = int(slot)
        for k in range(6):
            position = start + k
            inside = position < length
            assert batch["mask"][row, k] == float(inside)
            # the winner (X) to move: +1; O to move: -1; past the end: 0
            want = (1.0 if position % 2 == 0 else -1.0) if inside else 0.0
            assert batch["values"][row, k] == pytest.approx(want)
            if not inside:
                assert not batch["policies"][row, k].any()
        for k in range(5):
            position = start + k
            assert batch["rewards"][row, k] == (1.0 if position == length - 1 else 0.0)
            if position < length:
                assert batch["actions"][row, k] == moves[position]


def test_the_ring_keeps_the_newest_positions():
    buffer = muzero.ReplayBuffer(8, (1,), 2, np.float32)
    for game in range(3):
        buffer.add(muzero.Trajectory(np.full((5, 1), game, dtype=np.float32),
                                     np.zeros(5, dtype=np.int64), np.zeros(5, np.float32),
                                     np.zeros(5, np.float32), np.full((5, 2), 0.5, np.float32),
                                     np.zeros(5, dtype=np.int64), True))
    assert len(buffer) == 8 and buffer.total == 15
    assert sorted(buffer.position.tolist()) == list(range(7, 15))


# --------------------------------------------------------------------------- the unroll


def test_the_unroll_loss_is_finite_and_falls_on_a_tiny_batch():
    torch.manual_seed(0)
    game_args = args_for(hidden=16, width=32, support=3, unroll_steps=5, td_steps=9,
                         representation="mlp")
    from gamepit.games.tictactoe import TicTacToe
    game = TicTacToe()
    network = muzero.build_network(muzero.network_shape(game, game_args))
    counter = iter(range(100))
    selfplay = muzero.SelfPlay(game, args_for(sims=4), 8, lambda: next(counter, None))
    trajectories, _ = selfplay.play(network, torch.device("cpu"), 9)
    buffer = muzero.ReplayBuffer(1000, (2, 3, 3), 9, np.int8)
    for trajectory in trajectories:
        buffer.add(trajectory)
    batch = buffer.sample(32, game_args, np.random.default_rng(0))
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    losses = []
    for step in range(60):
        parts, _ = muzero.train_step(network, optimizer, batch, game_args, torch.device("cpu"),
                                     step)
        losses.append(parts["losses/total"])
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0]


def test_a_loss_that_is_not_finite_stops_with_one_line():
    from gamepit.games.tictactoe import TicTacToe
    game_args = args_for(hidden=8, width=8, support=1)
    network = muzero.build_network(muzero.network_shape(TicTacToe(), game_args))
    buffer = muzero.ReplayBuffer(100, (2, 3, 3), 9, np.int8)
    buffer.add(muzero.Trajectory(np.zeros((3, 2, 3, 3), np.int8), np.array([0, 1, 2]),
                                 np.zeros(3, np.float32), np.zeros(3, np.float32),
                                 np.full((3, 9), 1 / 9, np.float32), np.array([0, 1, 0]), True))
    batch = buffer.sample(4, game_args, np.random.default_rng(0))
    batch["weights"] = np.full(4, np.nan, dtype=np.float32)
    optimizer = torch.optim.Adam(network.parameters())
    with pytest.raises(GamepitError) as caught:
        muzero.train_step(network, optimizer, batch, game_args, torch.device("cpu"), 7)
    assert "\n" not in str(caught.value) and "gradient step 7" in str(caught.value)


# --------------------------------------------------------------------------- self-play


@pytest.mark.parametrize("game_name", ["tictactoe", "connect_four"])
def test_batched_self_play_plays_the_games_of_one_at_a_time(registry, game_name):
    game = registry.make_game(game_name)
    args = args_for(game=game_name, sims=6, hidden=16, width=32, max_moves=12)
    torch.manual_seed(0)
    network = muzero.build_network(muzero.network_shape(game, args)).eval()
    seeds = [3, 4, 5, 6, 7, 8]
    together = muzero.SelfPlay(game, args, len(seeds), muzero.seeds_from(seeds))
    batched, moves = together.play(network, torch.device("cpu"), 50)
    alone = []
    for seed in seeds:
        single = muzero.SelfPlay(game, args, 1, muzero.seeds_from([seed]))
        alone.extend(single.play(network, torch.device("cpu"), 50)[0])
    assert len(batched) == len(alone) == len(seeds)
    assert moves == sum(len(t) for t in batched)
    by_first = sorted(batched, key=lambda t: t.actions.tolist())
    alone = sorted(alone, key=lambda t: t.actions.tolist())
    for a, b in zip(by_first, alone, strict=True):
        np.testing.assert_array_equal(a.actions, b.actions)
        np.testing.assert_allclose(a.policies, b.policies, atol=1e-6)
        assert a.observations.shape == (len(a), *game.observation_shape)
        assert a.policies.shape == (len(a), game.num_actions)
        np.testing.assert_allclose(a.policies.sum(1), 1.0, atol=1e-5)
        state = game.new_state()
        for action in a.actions:  # the recorded moves are a legal game
            assert state.legal_mask()[action]
            state.apply(int(action))
        assert state.is_terminal() == a.terminal


# --------------------------------------------------------------------------- the command


def test_a_tiny_run_writes_a_checksummed_checkpoint_and_resumes(tmp_path, cli):
    run_dir = tmp_path / "run"
    first = cli("train", "muzero", "--game", "tictactoe", "--run", str(run_dir), *TINY,
                cwd=ROOT, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    assert f"muzero:checkpoint={run_dir / 'model.pt'}" in first.stdout
    data = toolkit.load_checkpoint(run_dir / "checkpoint.pt")  # checks the digest
    assert data["algorithm"] == "muzero" and int(data["iteration"]) == 2
    assert toolkit.load_checkpoint(run_dir / "model.pt")["game"] == "tictactoe"
    again = cli("train", "muzero", "--game", "tictactoe", "--run", str(run_dir), *TINY,
                "--set", "iterations=3", cwd=ROOT, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming" in again.stdout and "at iteration 2" in again.stdout
    assert int(toolkit.load_checkpoint(run_dir / "checkpoint.pt")["iteration"]) == 3
    # a damaged checkpoint is one line
    damaged = bytearray((run_dir / "model.pt").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (run_dir / "model.pt").write_bytes(bytes(damaged))
    refused = cli("match", "tictactoe", f"muzero:checkpoint={run_dir / 'model.pt'}", "random",
                  "-n", "1", cwd=ROOT, timeout=120)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


# --------------------------------------------------------------------------- the agent


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("muzero")
    learn(muzero, {"game": "tictactoe", "run_dir": str(run_dir), "iterations": 1,
                            "selfplay_games": 4, "sims": 4, "min_buffer": 1, "batch_size": 8,
                            "train_steps": 2, "hidden": 8, "width": 16, "device": "cpu"})
    return run_dir / "model.pt"


def test_the_agent_plays_in_the_arena_batched(registry, tiny_model, tmp_path):
    game = registry.make_game("tictactoe")
    agent = registry.make_agent(f"muzero:checkpoint={tiny_model},sims=8")
    assert agent.batched
    other = registry.make_agent("random")
    seatings = [[agent, other] if i % 2 == 0 else [other, agent] for i in range(6)]
    results = play_lockstep(game, seatings, list(range(6)),
                            [["muzero", "random"], ["random", "muzero"]] * 3,
                            settings=MatchSettings(replay_dir=str(tmp_path)))
    assert len(results) == 6 and all(r.steps >= 5 for r in results)
    import json
    steps = [json.loads(line) for path in tmp_path.glob("*.jsonl")
             for line in path.read_text().splitlines() if '"type":"step"' in line]
    recorded = [step["info"] for step in steps if step["info"]]
    assert len(recorded) >= 15  # muzero's moves of six games carry their info
    assert all({"value", "policy", "visit_counts", "reward"} <= set(info) for info in recorded)
    agent.reset(game, 0, seed=1)
    action, info = split_act_result(agent.act(game.new_state()))
    assert {"value", "policy", "visit_counts", "reward"} <= set(info)
    assert int(np.sum(info["visit_counts"])) == 8 and game.new_state().legal_mask()[action]


def test_the_agent_conforms(registry, tiny_model):
    from gamepit.authoring.checks import check_agent
    check_agent(registry.make_agent(f"muzero:checkpoint={tiny_model},sims=6"),
                registry.make_game("tictactoe"), games=2)


def test_the_agent_refuses_a_game_it_was_not_trained_on(registry, tiny_model):
    agent = registry.make_agent(f"muzero:checkpoint={tiny_model}")
    with pytest.raises(GamepitError, match="trained on tictactoe"):
        agent.reset(registry.make_game("connect_four"), 0, seed=1)
    with pytest.raises(GamepitError, match="no built-in muzero checkpoint"):
        registry.make_agent("muzero:checkpoint=builtin:nonesuch")


def test_symmetric_games_map_observations_actions_and_policies_together(registry):
    game = registry.make_game("tictactoe")
    args = args_for(sims=4, hidden=8, width=8)
    network = muzero.build_network(muzero.network_shape(game, args)).eval()
    trajectory = muzero.SelfPlay(game, args, 1, muzero.seeds_from([0])).play(
        network, torch.device("cpu"), 9)[0][0]
    copies = muzero.symmetric_games(game, trajectory)
    assert len(copies) == 8
    np.testing.assert_array_equal(copies[0].actions, trajectory.actions)
    for copy_ in copies:
        state = game.new_state()
        for t, action in enumerate(copy_.actions):  # a legal game whose boards are the copy's
            np.testing.assert_array_equal(state.observation(state.current_player),
                                          copy_.observations[t])
            state.apply(int(action))
        assert state.returns() == game_returns(game, trajectory)


def game_returns(game, trajectory):
    state = game.new_state()
    for action in trajectory.actions:
        state.apply(int(action))
    return state.returns()


def test_the_shipped_tictactoe_model_never_loses_to_perfect_play(registry):
    """``builtin:tictactoe`` (benchmarks/RESULTS.md: how it was trained) from both seats, with
    one random opening move so the games differ."""
    game = registry.make_game("tictactoe")
    agent = registry.make_agent("muzero:checkpoint=builtin:tictactoe,sims=50")
    other = registry.make_agent("alphabeta:depth=9")
    seatings = [[agent, other] if i % 2 == 0 else [other, agent] for i in range(8)]
    results = play_lockstep(game, seatings, list(range(8)),
                            [["muzero", "alphabeta"], ["alphabeta", "muzero"]] * 4,
                            settings=MatchSettings(opening_moves=1))
    assert [r.outcome(i % 2) for i, r in enumerate(results)] == [0.5] * 8


def test_the_shipped_connect_four_model_beats_random_from_both_seats(registry):
    """``builtin:connect_four`` (the convolutional-dynamics run of long_runs/mz_c4_conv) beats
    random play from both seats: 7 of 8 games at least (it lost 1 of 40 at 100 simulations,
    benchmarks/RESULTS.md); random play against itself wins about half."""
    game = registry.make_game("connect_four")
    agent = registry.make_agent("muzero:checkpoint=builtin:connect_four,sims=50")
    other = registry.make_agent("random")
    seatings = [[agent, other] if i % 2 == 0 else [other, agent] for i in range(8)]
    results = play_lockstep(game, seatings, list(range(8)),
                            [["muzero", "random"], ["random", "muzero"]] * 4)
    wins = [r.outcome(i % 2) == 1.0 for i, r in enumerate(results)]
    assert sum(wins[0::2]) >= 3 and sum(wins[1::2]) >= 3 and sum(wins) >= 7, wins


# --------------------------------------------------------------------------- conv representation


def connect_four_network(**overrides) -> tuple[object, muzero.MuZeroNet]:
    from gamepit.games.connect_four import ConnectFour
    game = ConnectFour()
    args = args_for(game="connect_four", hidden=16, width=32, support=1, channels=8,
                    blocks=1, **overrides)
    return game, muzero.build_network(muzero.network_shape(game, args))


def self_played_buffer(game, network) -> muzero.ReplayBuffer:
    """A replay buffer of four games ``network`` plays at 2 simulations a move."""
    counter = iter(range(100))
    selfplay = muzero.SelfPlay(game, args_for(game=game.name, sims=2), 4,
                               lambda: next(counter, None))
    trajectories, _ = selfplay.play(network, torch.device("cpu"), 42)
    buffer = muzero.ReplayBuffer(1000, game.observation_shape, game.num_actions,
                                 game.observation_dtype)
    for trajectory in trajectories:
        buffer.add(trajectory)
    return buffer


def test_planes_get_a_convolutional_representation_by_default():
    from gamepit.nets.muzero import ConvRepresentation
    game, network = connect_four_network()
    assert isinstance(network.representation, ConvRepresentation)
    shape = muzero.network_shape(game, args_for(game="connect_four", channels=8, blocks=1))
    assert (shape["representation"], shape["channels"], shape["blocks"]) == ("conv", 8, 1)
    _, flat = connect_four_network(representation="mlp")
    assert isinstance(flat.representation, torch.nn.Sequential)
    network.eval()
    observations = torch.as_tensor(np.stack([game.new_state(s).observation(0)
                                             for s in range(5)]))
    with torch.no_grad():
        hidden = network.represent(observations)
        following, reward = network.dynamics(hidden, torch.arange(5))
        policy, value = network.predict(following)
    assert hidden.shape == (5, 16)
    assert float(hidden.min()) >= 0 and float(hidden.max()) <= 1  # min-max scaled
    assert following.shape == (5, 16) and reward.shape == (5, 3)
    assert float(following.min()) >= 0 and float(following.max()) <= 1
    assert policy.shape == (5, game.num_actions) and value.shape == (5, 3)


def test_a_convolutional_representation_needs_planes():
    with pytest.raises(ConfigError, match="representation must be"):
        args_for(representation="resnet")
    with pytest.raises(ValueError, match=r"\[C, H, W\]"):
        muzero.MuZeroNet(10, 2, 8, 8, 1, 1, (10,), channels=4)


def test_the_conv_unroll_loss_falls_on_a_tiny_batch():
    torch.manual_seed(0)
    game, network = connect_four_network(unroll_steps=3, td_steps=42)
    game_args = args_for(game="connect_four", unroll_steps=3, td_steps=42, support=1)
    buffer = self_played_buffer(game, network)
    batch = buffer.sample(16, game_args, np.random.default_rng(0))
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    network.train()
    losses = [muzero.train_step(network, optimizer, batch, game_args, torch.device("cpu"),
                                step)[0]["losses/total"] for step in range(60)]
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.6 * losses[0]  # 11.6 -> 6.0 here; its floor is far lower


def test_the_shipped_tictactoe_checkpoint_keeps_its_mlp():
    """builtin:tictactoe predates the conv representation: its shape has no ``representation``
    and it must load as the MLP it was trained as (a conv network would not load its weights)."""
    network, data = muzero.load_agent_network("builtin:tictactoe")
    assert "representation" not in data["shape"]
    assert not network.convolutional
    assert isinstance(network.representation, torch.nn.Sequential)


def test_the_consistency_loss_teaches_the_dynamics_what_is_seen_later(tmp_path, registry):
    """EfficientZero's consistency loss: the batch holds the observations seen after each
    action, the loss is masked past a game's end, and training lowers it (the hidden state
    after k actions comes to predict the representation of the position then seen)."""
    torch.manual_seed(0)
    game, network = connect_four_network(consistency_weight=2.0)
    assert network.consistent and not connect_four_network()[1].consistent
    game_args = args_for(game="connect_four", unroll_steps=3, td_steps=42, support=1,
                         consistency_weight=2.0)
    buffer = self_played_buffer(game, network)
    batch = buffer.sample(16, game_args, np.random.default_rng(0))
    assert batch["later_observations"].shape == (16, 3, *game.observation_shape)
    following = buffer.observations[(buffer.position[batch["slots"]] + 1) % buffer.capacity]
    inside = batch["mask"][:, 1] > 0
    assert inside.any() and np.array_equal(batch["later_observations"][inside, 0],
                                           following[inside])
    ended = {**batch, "mask": np.eye(4, dtype=np.float32)[np.zeros(16, dtype=int)]}
    _, parts, _ = muzero.unroll_loss(network, ended, game_args, torch.device("cpu"))
    assert parts["losses/consistency"] == 0.0  # nothing is seen past the end of a game
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    network.train()
    losses = [muzero.train_step(network, optimizer, batch, game_args, torch.device("cpu"),
                                step)[0]["losses/consistency"] for step in range(40)]
    assert losses[-1] < losses[0] - 0.5, losses  # a sum over 3 steps of -cos, in [-3, 3]

    spec = learn(muzero, {"game": "tictactoe", "iterations": 2, "selfplay_games": 2,
                          "sims": 2, "min_buffer": 1, "batch_size": 8, "train_steps": 2,
                          "hidden": 8, "width": 16, "consistency_weight": 2.0,
                          "device": "cpu", "run_dir": str(tmp_path)})
    assert '"losses/consistency"' in (tmp_path / "metrics.jsonl").read_text()
    registry.make_agent(f"{spec},sims=2").close()


# --------------------------------------------------------------------------- spatial hidden states


def test_actions_are_drawn_as_columns_cells_or_constant_planes():
    from gamepit.nets.muzero import action_planes
    columns = action_planes(7, 6, 7)  # connect four: one action a column
    assert columns.shape == (7, 1, 6, 7)
    assert columns[3, 0, :, 3].tolist() == [1.0] * 6 and float(columns[3].sum()) == 6
    cells = action_planes(82, 9, 9)  # 9x9 Go: one a cell and a pass
    assert cells.shape == (82, 2, 9, 9)
    assert float(cells[10, 0, 1, 1]) == 1 and float(cells[10].sum()) == 1
    assert float(cells[81, 1].sum()) == 81 and float(cells[81, 0].sum()) == 0
    moves = action_planes(3, 10, 10)  # MinAtar: a constant plane per action
    assert moves.shape == (3, 3, 10, 10)
    assert moves[1, 1].eq(1).all() and float(moves[1].sum()) == 100


def test_a_convolutional_dynamics_keeps_the_board_planes(tmp_path, registry):
    """dynamics=conv: the hidden state is the representation's planes (channels x 6 x 7),
    scaled to [0, 1]; each action leads somewhere else; the unroll loss falls on a tiny batch
    as the flat network's does; a run of it writes an agent that plays."""
    from gamepit.nets.muzero import ConvDynamics
    torch.manual_seed(0)
    game, network = connect_four_network(dynamics="conv", unroll_steps=3, td_steps=42)
    assert isinstance(network.dynamics_net, ConvDynamics) and network.hidden == 8 * 6 * 7
    network.eval()
    observation = torch.as_tensor(game.new_state(0).observation(0))[None].repeat(7, 1, 1, 1)
    with torch.no_grad():
        hidden = network.represent(observation)
        following, reward = network.dynamics(hidden, torch.arange(7))
        policy, value = network.predict(following)
    assert hidden.shape == following.shape == (7, 8 * 6 * 7)
    assert float(following.min()) >= 0 and float(following.max()) <= 1
    assert reward.shape == value.shape == (7, 3) and policy.shape == (7, 7)
    assert len({tuple(row.round(decimals=5).tolist()) for row in following}) == 7
    game_args = args_for(game="connect_four", unroll_steps=3, td_steps=42, support=1)
    batch = self_played_buffer(game, network).sample(16, game_args, np.random.default_rng(0))
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    network.train()
    losses = [muzero.train_step(network, optimizer, batch, game_args, torch.device("cpu"),
                                step)[0]["losses/total"] for step in range(60)]
    assert all(np.isfinite(losses)) and losses[-1] < 0.6 * losses[0], losses[::10]

    spec = learn(muzero, {"game": "connect_four", "iterations": 1, "selfplay_games": 2,
                          "moves_per_iteration": 4, "sims": 2, "min_buffer": 1,
                          "batch_size": 8, "train_steps": 2, "channels": 4, "blocks": 1,
                          "dynamics": "conv", "device": "cpu", "run_dir": str(tmp_path)})
    loaded, data = muzero.load_agent_network(str(tmp_path / muzero.MODEL))
    assert data["shape"]["dynamics"] == "conv" and loaded.spatial
    agent = registry.make_agent(f"{spec},sims=2")
    try:
        state = game.new_state(0)
        assert state.legal_mask()[split_act_result(agent.act(state))[0]]
    finally:
        agent.close()


def test_a_convolutional_dynamics_needs_the_convolutional_representation():
    with pytest.raises(ConfigError, match="dynamics must be conv or mlp"):
        args_for(dynamics="resnet")
    with pytest.raises(GamepitError, match="dynamics=conv needs the convolutional"):
        connect_four_network(dynamics="conv", representation="mlp")


def test_a_layer_normed_dynamics_answers_the_same_in_training_and_in_search():
    """dynamics_norm=layer: no batch statistics in the dynamics and prediction, so a hidden
    state's next state, reward, policy and value do not depend on the batch it is in or on the
    mode; with batch norm they do in training. Layer norm is the default; a checkpoint from
    before the setting had batch norm."""
    torch.manual_seed(0)
    game, network = connect_four_network(dynamics="conv", dynamics_norm="layer")
    observations = torch.as_tensor(np.stack([game.new_state(s).observation(0)
                                             for s in range(6)]))
    network.eval()
    with torch.no_grad():
        hidden = network.represent(observations)
        searched = [*network.dynamics(hidden, torch.arange(6)), *network.predict(hidden)]
        network.train()
        trained = [*network.dynamics(hidden, torch.arange(6)), *network.predict(hidden)]
        alone = [*network.dynamics(hidden[:2], torch.arange(2)), *network.predict(hidden[:2])]
    for a, b, c in zip(searched, trained, alone, strict=True):
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(a[:2], c)
    assert muzero.MuZeroArgs.dynamics_norm == "layer"
    shape = muzero.network_shape(game, args_for(game="connect_four", dynamics="conv"))
    assert shape["dynamics_norm"] == "layer"
    del shape["dynamics_norm"]
    assert muzero.stored_shape(shape)["dynamics_norm"] == "batch"
    _, batch_normed = connect_four_network(dynamics="conv", dynamics_norm="batch")
    batch_normed.train()
    with torch.no_grad():
        hidden = batch_normed.represent(observations)
        whole = batch_normed.dynamics(hidden, torch.arange(6))[0]
        part = batch_normed.dynamics(hidden[:2], torch.arange(2))[0]
    assert not torch.allclose(whole[:2], part)
    with pytest.raises(ConfigError, match="dynamics_norm must be batch or layer"):
        args_for(dynamics_norm="group")
