"""Search: solved positions, exact evaluators, visit accounting, single-player planning, the
model seam, batched against one-at-a-time, subtree reuse, the torch evaluator, the plugins."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from functools import cache

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_lockstep, play_match, play_series
from gamepit.authoring.checks import check_agent
from gamepit.errors import SpecError
from gamepit.games.connect_four import ConnectFour, ConnectFourArrayModel, ConnectFourState
from gamepit.games.tictactoe import TicTacToe, TicTacToeState
from gamepit.plugins.manager import get_manager
from gamepit.protocols import BaseState, Game, to_json
from gamepit.replay import read_replay
from gamepit.search.array_models import array_model_for
from gamepit.search.encoders import encode
from gamepit.search.evaluators import (
    HeuristicEvaluator,
    RolloutEvaluator,
    SimulatorModel,
    UniformEvaluator,
)
from gamepit.search.mcts import MCTS, MCTSAgent, choose_action
from gamepit.search.playouts import BATCH_KERNEL_FROM, playout_state, playout_values
from gamepit.search.tree import VISITS, Expansion, KeptTrees


def play(state, actions):
    for action in actions:
        state.apply(action)
    return state


def tictactoe(*actions: int) -> TicTacToeState:
    return play(TicTacToe().new_state(), actions)


def connect_four(*actions: int) -> ConnectFourState:
    return play(ConnectFour().new_state(), actions)


def best_move(result) -> int:
    return int(np.argmax(result.visit_counts))


# --------------------------------------------------------------------------- exact solver


@cache
def _solve(board: tuple[int, ...], player: int) -> float:
    state = TicTacToeState.from_board(board, player)
    if state.is_terminal():
        return state.returns()[player]
    best = -1.0
    for action in state.legal_actions():
        child = list(board)
        child[action] = player
        best = max(best, -_solve(tuple(child), 1 - player))
    return best


def exact_value(state: TicTacToeState) -> float:
    """Minimax value of a tic-tac-toe position for the player to move."""
    return _solve(tuple(state.board), state.player)


class ExactEvaluator:
    """Uniform priors and the exact minimax value: a perfect value function."""

    def evaluate(self, states):
        return np.ones((len(states), 9)), np.array([exact_value(s) for s in states])


def optimal_moves(state: TicTacToeState) -> set[int]:
    scores = {}
    for action in state.legal_actions():
        child = state.clone()
        child.apply(action)
        scores[action] = -exact_value(child) if not child.is_terminal() else \
            child.returns()[state.player]
    best = max(scores.values())
    return {action for action, score in scores.items() if score == best}


# --------------------------------------------------------------------------- solved positions

SEARCHES = {
    "uct-rollouts": lambda: (MCTS(sims=400, rule="uct", seed=1), RolloutEvaluator(1, 1)),
    "puct-rollouts": lambda: (MCTS(sims=400, rule="puct", seed=1), RolloutEvaluator(4, 1)),
    "puct-uniform": lambda: (MCTS(sims=600, rule="puct", seed=1), UniformEvaluator()),
}


@pytest.mark.parametrize("kind", list(SEARCHES))
def test_tictactoe_takes_the_win_and_blocks_the_loss(kind):
    search, evaluator = SEARCHES[kind]()
    win = tictactoe(0, 3, 1, 4)  # X: 0 1, O: 3 4; X to move wins at 2
    block = tictactoe(0, 3, 1)  # O must block at 2
    results = search.search([win, block], evaluator)
    assert best_move(results[0]) == 2
    assert best_move(results[1]) == 2
    assert results[0].value > 0.5


@pytest.mark.parametrize("kind", ["uct-rollouts", "puct-rollouts"])
def test_connect_four_takes_the_win_and_blocks_the_loss(kind):
    search, evaluator = SEARCHES[kind]()
    win = connect_four(3, 0, 3, 0, 3, 1)  # X has three in column 3; X to move wins at 3
    block = connect_four(3, 0, 3, 0, 3)  # O to move must block column 3
    horizontal = connect_four(1, 1, 2, 2, 3, 3)  # X wins at 0 or 4
    results = search.search([win, block, horizontal], evaluator)
    assert best_move(results[0]) == 3
    assert best_move(results[1]) == 3
    assert best_move(results[2]) in (0, 4)


def test_exact_evaluator_picks_a_minimax_optimal_move():
    positions = [tictactoe(), tictactoe(4), tictactoe(0), tictactoe(0, 4, 8),
                 tictactoe(4, 0, 8), tictactoe(1, 4, 7)]
    results = MCTS(sims=300, rule="puct", seed=0).search(positions, ExactEvaluator())
    for state, result in zip(positions, results, strict=True):
        assert best_move(result) in optimal_moves(state), state.render()
    # Backed-up values are averages over what was explored, not minimax values, so only a
    # forced win shows clearly in the root value after a few hundred simulations.
    assert exact_value(positions[-1]) == 1.0 and results[-1].value > 0.6


# --------------------------------------------------------------------------- accounting


@pytest.mark.parametrize("rule,leaves,trees", [("puct", 1, 1), ("puct", 4, 3), ("uct", 1, 5),
                                               ("uct", 8, 1)])
def test_visit_counts_add_up_to_the_simulations(rule, leaves, trees):
    search = MCTS(sims=97, rule=rule, leaves=leaves, dirichlet_alpha=0.3, seed=3)
    states = [connect_four(*range(index)) for index in range(trees)]
    for state, result in zip(states, search.search(states, RolloutEvaluator(1, 3)), strict=True):
        assert result.visit_counts.sum() == 97
        assert result.visit_counts[~state.legal_mask()].sum() == 0
        assert result.policy.sum() == pytest.approx(1.0)
        assert -1.0 <= result.value <= 1.0


def test_terminal_nodes_are_revisited_without_new_nodes():
    """Once the winning move is found, later simulations back up the terminal win again."""
    search = MCTS(sims=200, rule="puct", seed=0)
    results, tree = search.run(SimulatorModel(UniformEvaluator(), 9), [tictactoe(0, 3, 1, 4)])
    assert results[0].visit_counts[2] > 100
    assert tree.size[0] < 201  # terminal revisits allocate nothing
    assert results[0].extra["q"][2] == pytest.approx(1.0)


def test_searching_a_finished_game_is_refused():
    with pytest.raises(ValueError, match="finished"):
        MCTS(sims=10).search([tictactoe(0, 3, 1, 4, 2)], UniformEvaluator())


# --------------------------------------------------------------------------- single player


class Corridor(BaseState):
    """A single-player planning problem with a trap for greedy play: from cell 0 of a line,
    step left (0), stay (1) or right (2) for ``HORIZON`` moves; each cell pays its reward
    on arrival. Left pays 1 at once, but the big reward lies three steps to the right."""

    REWARDS = {-3: 1.0, -2: 1.0, -1: 1.0, 0: 0.0, 1: 0.0, 2: 0.0, 3: 5.0}
    HORIZON = 4

    def __init__(self) -> None:
        self.cell, self.steps, self.total = 0, 0, 0.0

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else 0

    def legal_mask(self) -> np.ndarray:
        return np.full(3, not self.is_terminal())

    def apply(self, action: int) -> None:
        self.cell = max(-3, min(3, self.cell + action - 1))
        self.total += self.REWARDS[self.cell]
        self.steps += 1

    def clone(self) -> Corridor:
        other = Corridor()
        other.cell, other.steps, other.total = self.cell, self.steps, self.total
        return other

    def is_terminal(self) -> bool:
        return self.steps >= self.HORIZON

    def returns(self) -> list[float]:
        return [self.total]

    def observation(self, player: int) -> np.ndarray:
        return np.array([self.cell, self.steps], dtype=np.int8)

    def render(self) -> str:
        return f"cell {self.cell} step {self.steps}"


def best_plan(state: Corridor, discount: float = 1.0) -> tuple[float, int]:
    """Brute force: the best discounted return from here, and the first action of it."""
    if state.is_terminal():
        return 0.0, -1
    best = (-np.inf, -1)
    for action in range(3):
        child = state.clone()
        child.apply(action)
        reward = child.total - state.total
        value = reward + discount * best_plan(child, discount)[0]
        best = max(best, (value, action), key=lambda pair: pair[0])
    return best


def principal_variation(tree) -> list[int]:
    """The most visited line from the root of a one-tree search."""
    node, line = 0, []
    while node >= 0 and tree.edges[0, node, VISITS].sum() > 0:
        action = int(tree.edges[0, node, VISITS].argmax())
        line.append(action)
        node = int(tree.children[0, node, action])
    return line


def discounted_return(actions: list[int], discount: float) -> float:
    state, total = Corridor(), 0.0
    for step, action in enumerate(actions):
        before = state.total
        state.apply(action)
        total += discount ** step * (state.total - before)
    return total


@pytest.mark.parametrize("rule,c", [("puct", 2.5), ("uct", None)])
def test_single_player_problem_is_planned_optimally(rule, c):
    optimum, first = best_plan(Corridor())
    assert (optimum, first) == (10.0, 2)  # right, right, right, stay; greedy left gives 4
    search = MCTS(sims=400, rule=rule, c_puct=c, seed=0)
    results, tree = search.run(SimulatorModel(RolloutEvaluator(1, 0), 3), [Corridor()],
                               single_player=True)
    assert best_move(results[0]) == first
    line = principal_variation(tree)
    assert len(line) == Corridor.HORIZON and discounted_return(line, 1.0) == optimum
    assert results[0].value > 4.0  # returns are not squashed into [-1, 1]


# --------------------------------------------------------------------------- the model seam


class ClonedStateModel:
    """A stand-in for a learned model, built from a real game: its hidden state is a cloned
    State, its value the state's heuristic, and it discounts rewards like MuZero's model."""

    def __init__(self, num_actions: int) -> None:
        self.num_actions = num_actions

    def initial(self, roots):
        return self._describe([root.clone() for root in roots], [0.0] * len(roots))

    def recurrent(self, hidden, actions):
        children, rewards = [], []
        for parent, action in zip(hidden, actions.tolist(), strict=True):
            child = parent.clone()
            child.apply(action)
            children.append(child)
            rewards.append(child.returns()[0] - parent.returns()[0])
        return self._describe(children, rewards)

    def _describe(self, states, rewards):
        to_play = np.array([s.current_player for s in states])
        legal = np.array([s.legal_mask() for s in states])
        values = np.array([0.0 if s.is_terminal() else getattr(
            s, "heuristic_value", lambda p: 0.0)(s.current_player) for s in states])
        return Expansion(states, np.ones_like(legal, dtype=float), values, legal, to_play,
                         np.array(rewards, dtype=float))


def test_a_model_seam_search_finds_the_win_in_connect_four():
    roots = [connect_four(3, 0, 3, 0, 3, 1), connect_four(3, 0, 3, 0, 3)]
    results, tree = MCTS(sims=300, seed=0).run(ClonedStateModel(7), roots)
    assert [best_move(r) for r in results] == [3, 3]
    assert all(isinstance(tree.handle(0, node), ConnectFourState)
               for node in range(int(tree.size[0])))


def test_a_discounted_model_plans_the_discounted_optimum():
    # With a steep discount the quick small rewards on the left beat the far big one.
    for discount in (1.0, 0.9, 0.4):
        optimum, first = best_plan(Corridor(), discount)
        search = MCTS(sims=600, rule="puct", c_puct=2.5, discount=discount, seed=0)
        results, tree = search.run(ClonedStateModel(3), [Corridor()], single_player=True)
        assert best_move(results[0]) == first, discount
        line = principal_variation(tree)
        assert discounted_return(line, discount) == pytest.approx(optimum), (discount, line)
    assert best_plan(Corridor(), 0.4)[1] == 0


# --------------------------------------------------------------------------- batched vs alone


@pytest.mark.parametrize("rule,alpha", [("puct", 0.3), ("uct", 0.0)])
def test_batched_and_one_at_a_time_search_agree(rule, alpha):
    """Same seeds, same trees: the array path over many trees and the plain-Python path of
    a lone tree make identical choices."""
    states = [connect_four(), connect_four(3), connect_four(3, 3, 2), connect_four(0, 6, 1)]
    seeds = [11, 12, 13, 14]
    search = MCTS(sims=150, rule=rule, dirichlet_alpha=alpha)
    together = search.search(states, HeuristicEvaluator(), seeds)
    for state, seed, batched in zip(states, seeds, together, strict=True):
        alone = search.search([state], HeuristicEvaluator(), [seed])[0]
        np.testing.assert_array_equal(alone.visit_counts, batched.visit_counts)
        assert alone.value == pytest.approx(batched.value, abs=1e-9)


def test_batched_and_alone_agree_when_planning_a_single_player_problem():
    search = MCTS(sims=120, rule="puct", dirichlet_alpha=0.5)
    together = search.search([Corridor(), Corridor()], UniformEvaluator(), [5, 6])
    assert len(together) == 2
    for seed, batched in zip([5, 6], together, strict=True):
        alone = search.search([Corridor()], UniformEvaluator(), [seed])[0]
        np.testing.assert_array_equal(alone.visit_counts, batched.visit_counts)


def test_root_noise_depends_on_the_seed_only():
    search = MCTS(sims=60, dirichlet_alpha=0.3, dirichlet_epsilon=0.5)
    first = search.search([connect_four()], HeuristicEvaluator(), [7])[0].visit_counts
    again = search.search([connect_four()], HeuristicEvaluator(), [7])[0].visit_counts
    other = [search.search([connect_four()], HeuristicEvaluator(), [s])[0].visit_counts
             for s in (8, 9, 10)]
    np.testing.assert_array_equal(first, again)
    assert any((counts != first).any() for counts in other)


# --------------------------------------------------------------------------- playouts


def test_fast_playouts_estimate_what_the_generic_playout_does():
    state = connect_four(3, 3, 2, 4, 2)
    count = 3000
    generic = np.mean([playout_state(state, random.Random(i)) for i in range(count)])
    single = np.mean([state.random_playout(random.Random(i)) for i in range(count)])
    batch = ConnectFourState.batch_random_playouts([state] * count,
                                                   np.random.default_rng(0)).mean()
    assert abs(single - generic) < 0.08 and abs(batch - generic) < 0.08
    finished = connect_four(0, 1, 0, 1, 0, 1, 0)
    values = [finished.random_playout(random.Random(0)),
              playout_state(finished, random.Random(0)),
              *ConnectFourState.batch_random_playouts([finished], np.random.default_rng(0))]
    assert values == [0.0, 0.0, 0.0]  # nothing left to gain once the game is over


def test_search_finds_the_fast_paths_a_state_offers():
    """The search looks the optional State methods up by type: the batch playout from
    BATCH_KERNEL_FROM states on, the single one below, the generic one for other games and
    for mixed batches; likewise the batched encoder and the array model."""
    states = [connect_four(*range(index % 6)) for index in range(BATCH_KERNEL_FROM)]
    np.testing.assert_array_equal(
        playout_values(states, random.Random(1), np.random.default_rng(2)),
        ConnectFourState.batch_random_playouts(states, np.random.default_rng(2)))
    few = states[:3]
    draws = random.Random(1)
    np.testing.assert_array_equal(playout_values(few, random.Random(1), np.random.default_rng(2)),
                                  [state.random_playout(draws) for state in few])
    mixed = [*few, tictactoe(0)]
    draws = random.Random(1)
    np.testing.assert_array_equal(playout_values(mixed, random.Random(1), np.random.default_rng(2)),
                                  [playout_state(state, draws) for state in mixed])
    np.testing.assert_array_equal(encode(states), ConnectFourState.batch_observations(states))
    assert isinstance(array_model_for(states, seed=0), ConnectFourArrayModel)
    assert array_model_for([tictactoe()]) is None and array_model_for(mixed) is None


def test_array_model_plays_the_rules_of_connect_four():
    model = ConnectFourArrayModel(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(30):
        state = connect_four()
        expansion = model.initial([state])
        handle = expansion.handles[0]
        while not state.is_terminal():
            np.testing.assert_array_equal(expansion.legal[0], state.legal_mask())
            assert expansion.to_play[0] == state.current_player
            action = int(rng.choice(state.legal_actions()))
            before = state.returns()[0]
            state.apply(action)
            expansion = model.recurrent([handle], np.array([action]))
            handle = expansion.handles[0]
            assert expansion.rewards[0] == state.returns()[0] - before
        assert expansion.to_play[0] == -1 and not expansion.legal[0].any()


def random_positions(count: int, seed: int, longest: int = 30) -> list[ConnectFourState]:
    """Unfinished connect four positions after up to ``longest`` random moves."""
    rng = np.random.default_rng(seed)
    found = []
    while len(found) < count:
        state = connect_four()
        for _ in range(int(rng.integers(0, longest))):
            if state.is_terminal():
                break
            state.apply(int(rng.choice(state.legal_actions())))
        if not state.is_terminal():
            found.append(state)
    return found


def test_array_model_builds_the_same_trees_as_states_without_rollouts():
    """With uniform priors and no rollouts the search is deterministic: searching the array
    model or States gives the same trees, so the two play the same rules to the same ends."""
    states = random_positions(32, 0)
    search = MCTS(sims=60, rule="puct", seed=0)
    on_states = search.search(states, UniformEvaluator(), list(range(32)))
    on_arrays, _ = search.run(array_model_for(states, 0, 5), states, list(range(32)))
    for a, b in zip(on_states, on_arrays, strict=True):
        np.testing.assert_array_equal(a.visit_counts, b.visit_counts)
        assert a.value == b.value


def test_the_three_playout_kernels_give_the_same_values():
    """Keyed playouts: the compiled loop (numba is a dependency: it must compile here), the
    same loop run as plain Python, and the numpy lockstep version agree row for row, and a row's
    value depends on its key alone, never on the rows beside it."""
    from gamepit.games import connect_four as c4

    assert c4.compiled_kernels() is not None
    block = ConnectFourArrayModel.encode(random_positions(120, 1))
    keys = np.random.default_rng(2).integers(0, 2**64, 120, dtype=np.uint64)
    columns = block["mine"], block["theirs"], block["heights"], block["moves"]
    compiled = c4.array_playouts(*columns, keys)
    plain = np.zeros(120)
    with np.errstate(over="ignore"):
        c4.playouts_loop(*columns, keys, c4._COLUMN_TOPS, plain)
    np.testing.assert_array_equal(compiled, plain)
    np.testing.assert_array_equal(compiled, c4.playouts_in_numpy(*columns, keys))
    alone = [c4.array_playouts(*(column[i:i + 1] for column in columns), keys[i:i + 1])[0]
             for i in range(0, 120, 7)]
    np.testing.assert_array_equal(alone, compiled[::7])
    assert set(np.unique(compiled)) <= {-1.0, 0.0, 1.0} and len(np.unique(compiled)) > 1


def test_a_childs_playouts_are_not_its_parents_replayed():
    """A child's key is never one of the draws of its parent's playout stream: else the
    child's playout would be the parent's one draw later, nearly the same game (this made the
    array agent lose 0.42 to the State agent at 100 simulations before it was fixed)."""
    from gamepit.games import connect_four as c4

    model = ConnectFourArrayModel(1, 0, 64)
    roots = model.initial([connect_four(), connect_four(3, 3)], [5, 2**63 + 11])
    for root in roots.handles:
        children = model.recurrent([root] * 7, np.arange(7)).handles
        stream, draws = model.key[[root]], set()
        for _ in range(42):
            stream = c4.mix_keys(stream)
            draws.add(int(stream[0]))
        assert not draws & {int(key) for key in model.key[children]}
        assert len({int(key) for key in model.key[children]}) == 7


def test_keyed_playouts_play_uniformly_random_games():
    """From the opening, keyed playouts value the position as plain random play does (the
    first player wins about 55% of random games): 20,000 of each, within 4 standard errors."""
    from gamepit.games import connect_four as c4

    count = 20_000
    block = ConnectFourArrayModel.encode([connect_four()])
    keyed = c4.array_playouts(np.repeat(block["mine"], count), np.repeat(block["theirs"], count),
                              np.repeat(block["heights"], count, 0),
                              np.repeat(block["moves"], count),
                              np.arange(count, dtype=np.uint64))
    draws = random.Random(3)
    plain = np.array([connect_four().random_playout(draws) for _ in range(count)])
    error = np.sqrt(keyed.var() / count + plain.var() / count)
    assert abs(keyed.mean() - plain.mean()) < 4 * error


def test_compiled_and_numpy_array_models_answer_alike(monkeypatch):
    """The compiled ``recurrent`` writes the same rows and answers as the numpy one."""
    from gamepit.games import connect_four as c4

    states = random_positions(40, 3, longest=38)
    rng = np.random.default_rng(4)
    actions = np.array([rng.choice(state.legal_actions()) for state in states])
    answers = []
    for compiled in (True, False):
        if not compiled:
            monkeypatch.setattr(c4, "compiled_kernels", lambda: None)
        model = ConnectFourArrayModel(2, 0, 8)
        roots = model.initial(states, list(range(40)))
        step = model.recurrent(roots.handles, actions)
        answers.append((roots, step, model.gather(range(model.count))))
    (roots, step, rows), (roots_np, step_np, rows_np) = answers
    for mine, theirs in ((roots, roots_np), (step, step_np)):
        for field in ("handles", "values", "legal", "to_play", "rewards"):
            np.testing.assert_array_equal(getattr(mine, field), getattr(theirs, field))
    for name in ConnectFourArrayModel.columns:
        np.testing.assert_array_equal(rows[name], rows_np[name])
    assert (step.to_play == -1).any() and step.rewards.any()  # some moves end the game


@pytest.mark.parametrize("trees", [24, 1])
def test_compiled_tree_walks_grow_the_numpy_trees(monkeypatch, trees):
    """The search's whole loop compiled with the array model's step (``search_loop``), and
    selection and backup compiled around the model's own calls, grow exactly the trees the
    numpy walks grow: UCT with rollouts, PUCT with root noise, normalised values, a discount,
    for a batch and for a lone tree (whose plain-Python path is the reference then)."""
    from gamepit.search import compiled, tree

    assert compiled.kernels() is not None
    states = random_positions(trees, 5)

    def searches() -> list[np.ndarray]:
        found = []
        for rule, options in (("uct", {}), ("puct", {"dirichlet_alpha": 0.3}),
                              ("puct", {"normalize": True, "discount": 0.9})):
            search = MCTS(sims=80, rule=rule, seed=3, **options)
            results, _ = search.run(array_model_for(states, 1, 5), states, list(range(trees)))
            found += [np.array([r.visit_counts for r in results]),
                      np.array([r.value for r in results])]
        return found

    whole = searches()
    monkeypatch.setattr(tree, "search_kernel", lambda step: None)
    walks = searches()
    monkeypatch.setattr(tree, "kernels", lambda: None)
    for a, b, c in zip(whole, walks, searches(), strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)


def test_the_agent_on_arrays_plays_as_on_states_without_rollouts():
    states = random_positions(20, 6)
    answers = []
    for arrays in (True, False):
        agent = MCTSAgent(sims=50, rollouts=0, arrays=arrays)
        agent.reset(ConnectFour(), 0, 7)
        answers.append(agent.act_batch(states, list(range(20))))
    for (a, info_a), (b, info_b) in zip(*answers, strict=True):
        assert a == b
        np.testing.assert_array_equal(info_a["visit_counts"], info_b["visit_counts"])


def test_the_agent_on_arrays_plays_a_game_alike_alone_or_in_lockstep():
    """Games in lockstep (one batch a turn, subtrees kept between moves) are the games each
    plays alone on the same seed."""
    game = ConnectFour()
    seeds = [11, 12, 13, 14]
    seats = [MCTSAgent(sims=60), MCTSAgent(sims=30)]
    together = play_lockstep(game, [seats] * 4, seeds)
    for seed, result in zip(seeds, together, strict=True):
        alone = play_lockstep(game, [[MCTSAgent(sims=60), MCTSAgent(sims=30)]], [seed])[0]
        assert (alone.final_hash, alone.steps) == (result.final_hash, result.steps)
    assert len({result.final_hash for result in together}) > 1


def test_batched_encoder_gives_the_states_own_observations():
    rng = np.random.default_rng(0)
    states = []
    for _ in range(20):
        state = connect_four()
        for _ in range(int(rng.integers(0, 30))):
            if state.is_terminal():
                break
            state.apply(int(rng.choice(state.legal_actions())))
        if not state.is_terminal():  # evaluators only see positions with a player to move
            states.append(state)
    assert len(states) > 10
    expected = np.stack([s.observation(s.current_player) for s in states])
    encoded = encode(states)
    assert encoded.dtype == expected.dtype
    np.testing.assert_array_equal(encoded, expected)
    np.testing.assert_array_equal(encode([tictactoe(0, 4)]), tictactoe(0, 4).observation(0)[None])


# --------------------------------------------------------------------------- the agent


def test_choose_action_by_temperature():
    rng = np.random.default_rng(0)
    counts = np.array([0, 10, 30, 0])
    assert choose_action(counts, 0.0, rng) == 2
    picks = [choose_action(counts, 1.0, rng) for _ in range(400)]
    assert set(picks) == {1, 2}
    assert 0.65 < picks.count(2) / 400 < 0.85


def test_agent_info_and_conformance(registry):
    agent = registry.make_agent("mcts:sims=40")
    for game in (TicTacToe(), ConnectFour()):
        check_agent(agent, game, games=2)
    agent.reset(ConnectFour(), 0, 0)
    action, info = agent.act(connect_four())
    assert set(info) == {"policy", "visit_counts", "value", "top_moves"}
    counts = info["visit_counts"]
    assert counts[action] == counts.max() == counts[info["top_moves"][0]]  # ties: either
    json.dumps(to_json(info))


@pytest.mark.parametrize("arrays", [True, False], ids=["array model", "States"])
def test_agent_keeps_the_subtree_after_a_move(arrays):
    game = ConnectFour()
    agent = MCTSAgent(sims=200, arrays=arrays)
    agent.reset(game, 0, 0)
    state = game.new_state()
    action, _ = agent.act(state.clone())
    state.apply(action)
    state.apply(3)  # the opponent's reply
    tree = agent.kept._kept[agent.seed]  # what the earlier search saw below its move
    reply = int(tree.children[0, 0, 3])
    earlier = tree.edges[0, reply, VISITS].sum() if reply >= 0 else 0
    _, info = agent.act(state.clone())
    assert earlier > 0
    assert sum(info["visit_counts"]) == 200 + earlier


@pytest.mark.parametrize("asked", ["the same position", "three moves on",
                                   "a reply the search never reached", "another game"])
@pytest.mark.parametrize("arrays", [True, False], ids=["array model", "States"])
def test_a_position_not_below_the_last_move_gets_a_fresh_search(asked, arrays):
    """An agent asked about a position that is neither the one its move led to nor a reply
    below it (an undo in the browser, a move someone else chose, an unrelated position)
    searches afresh: the same answer as a new agent after the same reset, never one built on
    the tree of another position."""
    game = ConnectFour()
    agent = MCTSAgent(sims=20, arrays=arrays)
    agent.reset(game, 0, 5)
    state = connect_four(3)
    action, _ = agent.act(state.clone())
    after = play(state.clone(), [action])
    kept = agent.kept._kept[agent.seed]
    never = [a for a in after.legal_actions() if kept.children[0, 0, a] < 0]
    position = {"the same position": state,
                "three moves on": play(after.clone(), [0, 0, 1]),
                "a reply the search never reached": play(after.clone(), never[:1]),
                "another game": connect_four(6, 6, 6)}[asked]
    assert never and position.fingerprint() != after.fingerprint()
    fresh = MCTSAgent(sims=20, arrays=arrays)
    fresh.reset(game, 0, 5)
    expected_action, expected = fresh.act(position.clone())
    got_action, got = agent.act(position.clone())
    assert got_action == expected_action
    assert got["visit_counts"].tolist() == expected["visit_counts"].tolist()
    assert sum(got["visit_counts"]) == 20


def test_positions_of_one_game_asked_together_neither_take_nor_keep():
    """Without ``seeds`` every state of an ``act_batch`` counts as the agent's one game, though
    they cannot all follow from its last move: none continues a kept tree (the answers would
    depend on the order of the states) and none is kept."""
    game = ConnectFour()
    agent = MCTSAgent(sims=20)
    agent.reset(game, 0, 5)
    state = connect_four(3)
    action, _ = agent.act(state.clone())
    states = [play(state.clone(), [action]), connect_four(2, 2)]
    fresh = MCTSAgent(sims=20)
    fresh.reset(game, 0, 5)
    expected = [info["visit_counts"].tolist() for _, info in fresh.act_batch(states)]
    assert [info["visit_counts"].tolist() for _, info in agent.act_batch(states)] == expected
    assert agent.kept.nodes() == 0


def test_an_agent_never_reset_keeps_a_bounded_number_of_games():
    """An agent that is never reset again (an actor-mimic expert labelling episode after
    episode, where the student's move may end one) keeps the trees of at most ``limit``
    games, dropping the longest unused first; the games it still plays keep theirs."""
    agent = MCTSAgent(sims=20)
    agent.reset(ConnectFour(), 0, 0)
    agent.kept = KeptTrees(limit=3)
    for game in range(6):  # six episodes, each left after one move
        agent.act_batch([connect_four(game % 7)], seeds=[game])
    assert sorted(agent.kept._kept) == [3, 4, 5]
    state = connect_four(5)
    action, _ = agent.act_batch([state.clone()], seeds=[5])[0]
    _, info = agent.act_batch([play(state, [action])], seeds=[5])[0]
    assert sum(info["visit_counts"]) > 20


def test_a_subtree_is_a_faithful_copy_of_the_nodes_below():
    """``Tree.subtree`` (what a game keeps) has every node below the chosen one, each once,
    with its statistics, its children and its State, whatever it is renumbered to."""
    mcts = MCTS(sims=150, rule="uct", seed=0)
    model = SimulatorModel(RolloutEvaluator(1, 0), 7)
    _, tree = mcts.run(model, [connect_four(), connect_four(3, 3)])
    node = int(tree.children[1, 0, int(np.argmax(tree.edges[1, 0, VISITS]))])
    copy = tree.subtree(1, node)
    seen = []

    def same(old: int, new: int) -> None:
        seen.append(new)
        assert np.array_equal(tree.edges[1, old], copy.edges[0, new])
        assert np.array_equal(tree.info[1, old], copy.info[0, new])
        assert tree.handle(1, old) is copy.handle(0, new)
        for action in range(7):
            below = int(tree.children[1, old, action])
            assert (below < 0) == (copy.children[0, new, action] < 0)
            if below >= 0:
                same(below, int(copy.children[0, new, action]))

    same(node, 0)
    assert sorted(seen) == list(range(int(copy.size[0]))) and len(seen) > 20


def test_kept_trees_hold_only_each_games_own_subtree():
    """What a game keeps lingers until the agent's next reset (a finished game's too), so it
    must be that game's subtree alone, not the whole batch of trees its last search was in:
    at most one node per visit below the chosen move, plus that node."""
    agent = MCTSAgent(sims=40)
    agent.reset(ConnectFour(), 0, 0)
    states = [connect_four(), connect_four(3, 3), connect_four(0, 1, 2, 3)]
    answers = agent.act_batch([state.clone() for state in states], seeds=[1, 2, 3])
    assert 0 < agent.kept.nodes() <= sum(1 + info["visit_counts"][action]
                                         for action, info in answers)


@pytest.mark.parametrize("reuse", [True, False])
def test_matches_keep_each_games_subtree_and_batches_play_as_games_alone(reuse, tmp_path):
    """Lockstep play asks a batched agent through act_batch, even for one game, so subtree
    reuse must live there (it once lived in act alone and never ran in a match); and three
    games searched side by side by one agent play as each game does alone."""
    registry = get_manager().registry
    game = registry.make_game("connect_four")
    spec = f"mcts:sims=40,reuse={str(reuse).lower()}"
    shared = registry.make_agent(spec)
    seatings = [[shared, registry.make_agent("random")] for _ in range(3)]
    play_lockstep(game, seatings, [0, 1, 2],
                  settings=MatchSettings(replay_dir=str(tmp_path / "together")))
    for seed in range(3):
        play_match(game, [registry.make_agent(spec), registry.make_agent("random")], seed,
                   settings=MatchSettings(replay_dir=str(tmp_path / "alone")))

    def games(folder: str) -> dict[int, list]:
        replays = [read_replay(path) for path in (tmp_path / folder).glob("*.jsonl")]
        return {replay.header["seed"]: [(step["action"], sum(step["info"].get(
            "visit_counts", [0]))) for step in replay.steps] for replay in replays}

    together, alone = games("together"), games("alone")
    assert together == alone
    searched = [[visits for _, visits in moves[0::2]] for moves in together.values()]
    assert all(moves[0] == 40 for moves in searched)  # the first move starts from nothing
    later = [visits for moves in searched for visits in moves[1:]]
    assert (max(later) > 40) if reuse else (set(later) == {40})


@pytest.mark.parametrize("reuse", [True, False])
def test_alphazero_agent_keeps_its_subtree_unless_told_not_to(registry, reuse):
    """The alphazero agent shares the mcts agent's act_by_search: reuse is on by default and
    ``reuse=false`` parses and turns it off."""
    spec = "alphazero:checkpoint=builtin:connect_four,sims=16" + ("" if reuse else ",reuse=false")
    agent = registry.make_agent(spec)
    game = registry.make_game("connect_four")
    agent.reset(game, 0, 0)
    state = game.new_state(0)
    action, _ = agent.act(state.clone())
    assert agent.reuse is reuse and (agent.kept.nodes() > 0) is reuse
    kept = agent.kept._kept.get(agent.seed)
    state.apply(action)
    state.apply(int(np.argmax(kept.edges[0, 0, VISITS])) if reuse else 3)
    _, info = agent.act(state.clone())
    assert bool(sum(info["visit_counts"]) > 16) is reuse


def test_agent_batches_many_games(registry):
    agent = registry.make_agent("mcts:sims=30,rollouts=0,dirichlet_alpha=0.3")
    agent.reset(ConnectFour(), 0, 1)
    results = agent.act_batch([connect_four(), connect_four(3, 3, 2), connect_four(0)])
    assert len(results) == 3
    assert all(sum(info["visit_counts"]) == 30 for _, info in results)


def test_mcts_beats_random_at_tictactoe():
    game: Game = TicTacToe()
    from gamepit.agents.basic import RandomAgent

    series = play_series(game, [MCTSAgent(sims=200), RandomAgent()], games=6, seed=0)
    assert series.losses == 0 and series.wins >= 4


# --------------------------------------------------------------------------- plugins


def test_plugins_are_registered(registry):
    assert {"mcts", "uct"} <= set(registry.names("search"))
    assert "mcts" in registry.names("agent")
    search = registry.build("search", "uct:sims=50")
    assert search.config.rule == "uct" and search.config.c == 2.0
    result = search.search([tictactoe(0, 3, 1, 4)], RolloutEvaluator(1, 0))[0]
    assert best_move(result) == 2
    assert registry.build("search", "mcts:sims=10,rule=uct").config.rule == "uct"


@pytest.mark.parametrize("spec,message", [
    ("mcts:sims=0", "sims"),
    ("mcts:rule=minimax", "rule"),
    ("mcts:sims=lots", "sims"),
    ("mcts:rollouts=-1", "rollouts"),
    ("mcts:leaves=0", "leaves"),
])
def test_bad_agent_options_are_one_line_errors(registry, spec, message):
    with pytest.raises(SpecError, match=message):
        registry.make_agent(spec)


def test_bad_option_on_the_command_line(cli):
    result = cli("match", "tictactoe", "mcts:sims=0", "random", "--no-replays")
    assert result.returncode == 2
    assert "gamepit: error:" in result.stderr and "Traceback" not in result.stderr


def test_match_from_the_command_line(cli, tmp_path):
    result = cli("match", "tictactoe", "mcts:sims=100", "random", "-n", "2",
                 "--replays", str(tmp_path))
    assert result.returncode == 0, result.stderr
    replay = next(tmp_path.rglob("*.jsonl")).read_text()
    assert "visit_counts" in replay


def test_plugin_module_does_not_import_torch():
    code = "import sys, gamepit.search.mcts; print('torch' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert output.stdout.strip() == "False", output.stderr


# --------------------------------------------------------------------------- torch


@pytest.fixture
def one_torch_thread():
    """Two busy cores make torch's thread pool crawl; one thread is 20x faster here."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


def test_network_evaluator_and_policy_value_net(one_torch_thread):
    torch = one_torch_thread
    from gamepit.nets import PolicyValueNet
    from gamepit.search.network import NetworkEvaluator

    torch.manual_seed(0)
    game = ConnectFour()
    net = PolicyValueNet(*game.observation_shape, game.num_actions, filters=8, blocks=1)
    logits, values = net(torch.zeros(5, *game.observation_shape))
    assert logits.shape == (5, 7) and values.shape == (5,)
    evaluator = NetworkEvaluator(net)
    priors, values = evaluator.evaluate([connect_four(), connect_four(3)])
    assert priors.shape == (2, 7) and np.allclose(priors.sum(1), 1)
    assert np.all(np.abs(values) < 1)
    states: Sequence = [connect_four(3, 0, 3, 0, 3, 1), connect_four(3, 0, 3, 0, 3)]
    results = MCTS(sims=200, leaves=4, seed=0).search(states, evaluator)
    assert [best_move(r) for r in results] == [3, 3]
    assert evaluator.positions > 0 and evaluator.network_seconds > 0


def test_the_evaluator_answers_positions_seen_before_from_memory(one_torch_thread, monkeypatch):
    """A position asked twice, in one call or in two, gets the network's answer without a
    second pass; the answers are the network's; a full cache starts again."""
    torch = one_torch_thread
    from gamepit.nets import PolicyValueNet
    from gamepit.search import network as network_module

    torch.manual_seed(0)
    game = ConnectFour()
    net = PolicyValueNet(*game.observation_shape, game.num_actions, filters=8, blocks=1)
    states = [connect_four(), connect_four(3), connect_four(3, 3), connect_four(3)]
    plain = network_module.NetworkEvaluator(net, cache=False)
    kept = network_module.NetworkEvaluator(net)
    want = plain.evaluate(states)
    got = kept.evaluate(states)
    assert kept.positions == 3 and kept.lookups == 4 and plain.positions == 4
    for ours, theirs in zip(got, want, strict=True):
        assert np.allclose(ours, theirs, atol=1e-6)
    again = kept.evaluate([connect_four(3, 3), connect_four(4)])
    assert kept.positions == 4 and kept.lookups == 6
    assert np.array_equal(again[0][0], got[0][2]) and again[1][0] == got[1][2]
    assert np.allclose(again[0][1], plain.evaluate([connect_four(4)])[0][0], atol=1e-6)
    row = game.observation_shape[0] * 42 * 4 + game.num_actions * 8 + 160
    monkeypatch.setattr(network_module, "CACHE_BYTES", 5 * row)
    kept.evaluate([connect_four(5), connect_four(6)])  # 5 + 2 > 5 kept: it starts again
    assert len(kept.cache) == 2 and kept.positions == 6
