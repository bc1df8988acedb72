"""MuZero's value on two-player games: the signs of recorded values and rewards, the targets at
every unrolled step (for the player to move there, 0 past the end of a game), bootstrapped
targets, the learned model's rewards in the search, the value head learning at every step, and
the untransformed win/draw/loss support that board games train with."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gamepit.errors import GamepitError
from gamepit.learners import toolkit
from gamepit.learners.muzero import learner as muzero
from gamepit.nets.muzero import inverse_transform, scalar_to_support, support_to_scalar
from gamepit.training.settings import merge
from tests.conftest import learn

# known games, and who won: X (player 0) four in column 3; O (player 1) four in column 1
X_WINS = ("connect_four", [3, 4, 3, 4, 3, 4, 3], [1.0, -1.0])
O_WINS = ("connect_four", [0, 1, 0, 1, 0, 1, 6, 1], [-1.0, 1.0])
DRAW = ("tictactoe", [4, 0, 2, 6, 3, 5, 1, 7, 8], [0.0, 0.0])
MOVER_VALUE = 0.5  # what the "search" says at every position, for the player to move


def args_for(game: str, **overrides) -> muzero.MuZeroArgs:
    return merge(muzero.MuZeroArgs, "muzero", {"game": game, **overrides})


def recorded(registry, game_name: str, moves: list[int]) -> muzero.Trajectory:
    """The game as self-play records it (``record_move``), the search's value at every
    position being MOVER_VALUE for the player to move."""
    game = registry.make_game(game_name)
    state, record = game.new_state(), muzero.new_record()
    for action in moves:
        policy = np.asarray(state.legal_mask(), dtype=np.float32)
        muzero.record_move(record, state, action, policy / policy.sum(), MOVER_VALUE)
    assert state.is_terminal()
    return muzero.trajectory_of(record, True)


def replayed(registry, game_name: str, moves: list[int]) -> tuple[list[int], list[list[float]]]:
    """Independently of the recording: the player to move before each move, and the returns
    before each move and after the last."""
    state = registry.make_game(game_name).new_state()
    movers, returns = [], [list(state.returns())]
    for action in moves:
        movers.append(state.current_player)
        state.apply(action)
        returns.append(list(state.returns()))
    return movers, returns


def buffer_with(registry, games: list[tuple[str, list[int], list[float]]]) -> muzero.ReplayBuffer:
    game = registry.make_game(games[0][0])
    buffer = muzero.ReplayBuffer(200, game.observation_shape, game.num_actions,
                                 game.observation_dtype)
    for game_name, moves, _ in games:
        buffer.add(recorded(registry, game_name, moves))
    return buffer


# --------------------------------------------------------------------------- recorded signs


@pytest.mark.parametrize("known", [X_WINS, O_WINS, DRAW], ids=["X wins", "O wins", "draw"])
def test_recorded_rewards_and_values_are_in_player_0s_terms(registry, known):
    game_name, moves, outcome = known
    trajectory = recorded(registry, game_name, moves)
    movers, returns = replayed(registry, game_name, moves)
    assert returns[-1] == outcome
    np.testing.assert_array_equal(trajectory.to_play, movers)
    # the search's MOVER_VALUE for the mover, stored for player 0
    np.testing.assert_allclose(trajectory.values,
                               [MOVER_VALUE if p == 0 else -MOVER_VALUE for p in movers])
    # player 0's reward: 0 until the last move, then the outcome for player 0
    np.testing.assert_allclose(trajectory.rewards, [0.0] * (len(moves) - 1) + [outcome[0]])


@pytest.mark.parametrize("known", [X_WINS, O_WINS, DRAW], ids=["X wins", "O wins", "draw"])
def test_every_unrolled_target_is_the_outcome_for_the_player_to_move(registry, known):
    """Monte Carlo targets (discount 1, n at least the game's length), as the connect four
    config trains: at each unrolled step k the value target is the final outcome for the player
    to move at position start + k, the reward target of the action there is the mover's (+1
    for the winning move, whoever makes it), and past the end values and rewards are 0 and the
    policy is masked out. A shorter game first puts the known one at later global positions."""
    game_name, moves, outcome = known
    filler = X_WINS if game_name == "connect_four" else DRAW
    buffer = buffer_with(registry, [filler, known])
    movers, returns = replayed(registry, game_name, moves)
    start_of_game, length = len(filler[1]), len(moves)
    steps = 5
    batch = buffer.sample(400, args_for(game_name, td_steps=42, unroll_steps=steps,
                                        discount=1.0), np.random.default_rng(0))
    seen = set()
    for row, slot in enumerate(batch["slots"]):
        start = int(buffer.position[slot]) - start_of_game
        if start < 0:
            continue  # a position of the filler game
        seen.add(start)
        for k in range(steps + 1):
            t = start + k
            inside = t < length
            assert batch["mask"][row, k] == float(inside)
            want = outcome[movers[t]] if inside else 0.0
            assert batch["values"][row, k] == pytest.approx(want), (start, k)
            if inside:
                np.testing.assert_allclose(batch["policies"][row, k].sum(), 1.0, rtol=1e-6)
            else:
                assert not batch["policies"][row, k].any()
        for k in range(steps):
            t = start + k
            if t < length:
                mover_reward = returns[t + 1][movers[t]] - returns[t][movers[t]]
                assert batch["rewards"][row, k] == pytest.approx(mover_reward), (start, k)
                assert batch["actions"][row, k] == moves[t]
            else:
                assert batch["rewards"][row, k] == 0.0
    assert seen == set(range(length))  # every start position was checked
    if outcome != [0.0, 0.0]:  # the winning move's reward is +1 for the winner
        last = [row for row, slot in enumerate(batch["slots"])
                if int(buffer.position[slot]) - start_of_game == length - 1][0]
        assert batch["rewards"][last, 0] == 1.0 and batch["values"][last, 0] == 1.0


@pytest.mark.parametrize("td_steps", [1, 2, 3])
def test_bootstrapped_targets_take_the_value_from_the_right_side(registry, td_steps):
    """With n below the game's length the target bootstraps from the search value n moves on,
    which belongs to the mover there: the same player after an even n, the opponent after an
    odd one. O wins the game at its last move (position 7)."""
    game_name, moves, outcome = O_WINS
    buffer = buffer_with(registry, [O_WINS])
    movers, _ = replayed(registry, game_name, moves)
    length = len(moves)
    index = np.arange(length)
    z0 = muzero.nstep_values(buffer.rewards, buffer.values, index, length, True, td_steps, 1.0)
    for t in range(length):
        mover = movers[t]
        if t + td_steps < length:  # bootstrapped: the value of the mover at t + n, seen by t's
            want = MOVER_VALUE if td_steps % 2 == 0 else -MOVER_VALUE
        else:  # the game ends within n: its outcome for the mover at t
            want = outcome[mover]
        assert z0[t] * (1.0 if mover == 0 else -1.0) == pytest.approx(want), t


# --------------------------------------------------------------------------- the learned model


@pytest.mark.parametrize("transformed", [True, False])
def test_the_searchs_rewards_are_the_movers_turned_into_player_0s(registry, transformed):
    """A network whose dynamics always predicts a reward of +1 for the mover: the learned model
    hands the tree +1 below player 0's moves and -1 below player 1's, and the players
    alternate past the root."""
    game = registry.make_game("connect_four")
    args = args_for("connect_four", hidden=8, width=16, support=1, representation="mlp",
                    transform=transformed)
    network = muzero.build_network(muzero.network_shape(game, args)).eval()
    with torch.no_grad():
        network.reward[-1].bias.copy_(torch.tensor([-30.0, -30.0, 30.0]))  # all on bin +1
        one = float(network.scalar(network.reward[-1].bias[None]))
    highest = float(inverse_transform(torch.tensor(1.0))) if transformed else 1.0  # 2.988 or 1
    assert one == pytest.approx(highest, rel=1e-3)
    model = muzero.LearnedModel(network, torch.device("cpu"), 2)
    first, second = game.new_state(), game.new_state()
    second.apply(3)  # player 1 to move
    roots = model.initial([first, second])
    np.testing.assert_array_equal(roots.to_play, [0, 1])
    below = model.recurrent(roots.handles, np.array([0, 0]))
    np.testing.assert_allclose(below.rewards, [one, -one], rtol=1e-3)
    np.testing.assert_array_equal(below.to_play, [1, 0])
    further = model.recurrent(below.handles, np.array([2, 2]))
    np.testing.assert_allclose(further.rewards, [-one, one], rtol=1e-3)
    np.testing.assert_array_equal(further.to_play, [0, 1])


def unrolled_value_errors(registry, transformed: bool, steps: int = 3) -> np.ndarray:
    """|predicted - target| [B, K+1] of the values along the unroll, after 100 gradient steps
    on a fixed batch of two known connect four games (X wins one, O the other; they share only
    the empty board, whose rows are left out, so every target can be met)."""
    torch.manual_seed(0)
    game = registry.make_game("connect_four")
    args = args_for("connect_four", hidden=16, width=32, support=1, representation="mlp",
                    transform=transformed, unroll_steps=steps, td_steps=42, value_weight=1.0)
    network = muzero.build_network(muzero.network_shape(game, args))
    buffer = buffer_with(registry, [X_WINS, O_WINS])
    batch = buffer.sample(80, args, np.random.default_rng(1))
    rows = batch["observations"].reshape(80, -1).any(1)  # not the empty board
    batch = {key: value[rows] for key, value in batch.items()}
    assert (batch["mask"][:, steps] == 0).any() and (batch["values"][:, steps] != 0).any()
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    for step in range(100):
        muzero.train_step(network, optimizer, batch, args, torch.device("cpu"), step)
    network.eval()
    with torch.no_grad():
        hidden = network.represent(torch.as_tensor(batch["observations"]))
        predicted = [network.scalar(network.predict(hidden)[1])]
        for k in range(steps):
            hidden, _ = network.dynamics(hidden, torch.as_tensor(batch["actions"][:, k]))
            predicted.append(network.scalar(network.predict(hidden)[1]))
    return np.abs(torch.stack(predicted, 1).numpy() - batch["values"])


def test_the_value_head_learns_the_outcome_at_every_unrolled_step(registry):
    """The value predicted by unrolling the dynamics from each start position comes to the
    outcome for the player to move at every step k, and to 0 past the end: the value head gets
    gradient through every step of the unroll. Through h with support 1 (a win the two-hot
    0.585/0.415, under a 0.68-nat floor) the same 100 steps leave errors of about 0.3 a step
    past the first (under 0.003 without h): why board games train without the transform."""
    plain = unrolled_value_errors(registry, transformed=False)
    assert plain.max() < 0.05
    through_h = unrolled_value_errors(registry, transformed=True)
    assert (through_h < 1).all()  # the signs are right
    assert through_h[:, 1:].mean() > 20 * plain[:, 1:].mean()


# --------------------------------------------------------------------------- the support


def test_without_the_transform_an_outcome_is_a_one_hot_bin():
    outcomes = torch.tensor([-1.0, 0.0, 1.0, 0.5])
    plain = scalar_to_support(outcomes, 1, transformed=False)
    np.testing.assert_array_equal(plain[:3], torch.eye(3))
    np.testing.assert_allclose(plain[3], [0, 0.5, 0.5])  # linear between the bins
    back = support_to_scalar(torch.log(plain + 1e-30), 1, transformed=False)
    np.testing.assert_allclose(back, outcomes, atol=1e-6)
    # through h a win is two-hot, and no prediction's cross-entropy goes below its entropy
    win = scalar_to_support(torch.tensor([1.0]), 1)[0]
    np.testing.assert_allclose(win, [0, 0.5848, 0.4152], atol=1e-4)
    entropy = float(-(win[win > 0] * win[win > 0].log()).sum())
    assert entropy == pytest.approx(0.679, abs=1e-3)


def test_the_transform_setting_is_kept_in_checkpoints(registry, tmp_path):
    game = registry.make_game("connect_four")
    args = args_for("connect_four", hidden=8, width=16, support=1, representation="mlp",
                    transform=False)
    shape = muzero.network_shape(game, args)
    assert shape["transform"] is False
    network = muzero.build_network(shape)
    meta = {"algorithm": "muzero", "game": "connect_four", "shape": shape, "discount": 1.0,
            "args": {}}
    path = toolkit.save_agent_network(tmp_path / "model.pt", meta, "network", network, step=0,
                                      train_seconds=0.0)
    loaded, data = muzero.load_agent_network(str(path))
    assert loaded.transformed is False and data["shape"]["transform"] is False
    # checkpoints from before the setting (builtin:tictactoe) put values through h
    old, data = muzero.load_agent_network("builtin:tictactoe")
    assert "transform" not in data["shape"] and old.transformed is True


def test_resuming_with_another_transform_is_one_line(tmp_path):
    run = tmp_path / "run"
    tiny = {"game": "tictactoe", "run_dir": str(run), "iterations": 1, "selfplay_games": 2,
            "sims": 2, "min_buffer": 1, "batch_size": 4, "train_steps": 1, "hidden": 8,
            "width": 8, "device": "cpu", "representation": "mlp", "support": 1}
    learn(muzero, tiny)
    with pytest.raises(GamepitError) as caught:
        learn(muzero, {**tiny, "iterations": 2, "transform": False})
    assert "\n" not in str(caught.value) and "another --run folder" in str(caught.value)
