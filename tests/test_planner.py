"""The true-model planner: UCT over clones with discounted rewards, IW(1), batches, options."""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.authoring.checks import check_agent
from gamepit.errors import SpecError
from gamepit.protocols import BaseState, Game, to_json
from gamepit.search.planner import PlannerAgent
from gamepit.search.playouts import discounted_rollout

# --------------------------------------------------------------------------- toy games


class CorridorState(BaseState):
    """A walker on cells 0..length-1: 0 left, 1 stay, 2 right. Reaching the last cell pays 1
    and ends the game; so does running out of time (paying nothing). The observation shows
    the cell only, so IW(1)'s atoms are the cells."""

    def __init__(self, game: Corridor, cell: int) -> None:
        self.game, self.cell, self.time, self.score = game, cell, 0, 0.0

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else 0

    def is_terminal(self) -> bool:
        return self.cell == self.game.length - 1 or self.time >= self.game.limit

    def legal_mask(self) -> np.ndarray:
        return np.full(3, not self.is_terminal())

    def apply(self, action: int) -> None:
        self.cell = min(max(self.cell + action - 1, 0), self.game.length - 1)
        self.time += 1
        self.game.steps += 1
        if self.cell == self.game.length - 1:
            self.score += 1.0

    def clone(self) -> CorridorState:
        other = CorridorState(self.game, self.cell)
        other.time, other.score = self.time, self.score
        return other

    def returns(self) -> list[float]:
        return [self.score]

    def observation(self, player: int) -> np.ndarray:
        seen = np.zeros(self.game.length, dtype=np.int8)
        seen[self.cell] = 1
        return seen

    def render(self) -> str:
        return f"cell {self.cell} time {self.time}"

    def fingerprint(self) -> bytes:
        return f"{self.cell}|{self.time}|{self.score}".encode()


class Corridor(Game):
    name = "corridor"
    num_players = 1
    num_actions = 3

    def __init__(self, length: int = 6, start: int = 0, limit: int = 30) -> None:
        self.length, self.start, self.limit = length, start, limit
        self.observation_shape = (length,)
        self.steps = 0  # simulator steps taken by all states, to count a search's work

    def new_state(self, seed: int | None = None) -> CorridorState:
        return CorridorState(self, self.start)


class DelayState(BaseState):
    """Action 0 pays ``near`` at once and ends; action 1 pays ``far`` after ``wait`` more
    moves (any action) and ends. Which is better depends on the discount alone."""

    def __init__(self, game: Delay) -> None:
        self.game, self.branch, self.time, self.score = game, -1, 0, 0.0

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else 0

    def is_terminal(self) -> bool:
        return self.branch == 0 or (self.branch == 1 and self.time > self.game.wait)

    def legal_mask(self) -> np.ndarray:
        return np.full(2, not self.is_terminal())

    def apply(self, action: int) -> None:
        if self.branch < 0:
            self.branch = action
            self.score += self.game.near if action == 0 else 0.0
        self.time += 1
        if self.branch == 1 and self.time > self.game.wait:
            self.score += self.game.far

    def clone(self) -> DelayState:
        other = DelayState(self.game)
        other.branch, other.time, other.score = self.branch, self.time, self.score
        return other

    def returns(self) -> list[float]:
        return [self.score]

    def observation(self, player: int) -> np.ndarray:
        return np.array([self.branch, self.time], dtype=np.int8)

    def render(self) -> str:
        return f"branch {self.branch} time {self.time}"


class Delay(Game):
    name = "delay"
    num_players = 1
    num_actions = 2
    observation_shape = (2,)

    def __init__(self, near: float = 1.0, far: float = 1.2, wait: int = 3) -> None:
        self.near, self.far, self.wait = near, far, wait

    def new_state(self, seed: int | None = None) -> DelayState:
        return DelayState(self)


def first_move(agent: PlannerAgent, game: Game, seed: int = 0) -> tuple[int, dict]:
    agent.reset(game, 0, seed)
    action, info = agent.act(game.new_state(seed))
    return action, info


# --------------------------------------------------------------------------- rollouts


def test_discounted_rollout_sums_rewards_with_the_discount():
    game = Delay(near=1.0, far=2.0, wait=3)
    state = game.new_state()
    state.apply(1)  # the far branch: 2.0 comes three moves later, whatever is played
    assert discounted_rollout(state, 10, 0.5, random.Random(0)) == pytest.approx(2.0 * 0.5**2)
    assert discounted_rollout(state, 2, 0.5, random.Random(0)) == 0.0  # cut before it pays
    assert discounted_rollout(state, 0, 0.5, random.Random(0)) == 0.0


# --------------------------------------------------------------------------- UCT


@pytest.mark.parametrize("chance", ["known", "sample"])
def test_uct_finds_the_rewarding_action_at_a_small_budget(chance):
    action, info = first_move(PlannerAgent(sims=40, depth=10, chance=chance),
                              Corridor(length=4, start=1))
    assert action == 2
    assert info["value"] > 0.5
    assert sum(info["visit_counts"]) == 40 and info["sims"] == 40


@pytest.mark.parametrize("algo", ["uct", "iw"])
def test_discounting_prefers_the_earlier_reward(algo):
    game = Delay(near=1.0, far=1.2, wait=3)  # 1.2 * 0.9**3 = 0.87 < 1 < 1.2
    assert first_move(PlannerAgent(algo=algo, sims=60, nodes=60, discount=0.9), game)[0] == 0
    assert first_move(PlannerAgent(algo=algo, sims=60, nodes=60, discount=1.0), game)[0] == 1


def test_known_chance_keeps_the_subtree_between_moves():
    game = Corridor(length=8, start=0)
    agent = PlannerAgent(sims=50, depth=5, chance="known")
    agent.reset(game, 0, 3)
    state = game.new_state()
    action, _ = agent.act(state.clone())
    state.apply(action)
    _, info = agent.act(state.clone())
    assert sum(info["visit_counts"]) > 50  # the earlier search's visits below that move


def test_act_batch_keeps_each_games_subtree_as_act_does():
    """Matches reach a batched agent through act_batch: with chance=known each game's next
    plan starts from its own kept subtree there too, the same as that game alone."""
    game, seeds = Corridor(length=9, start=0), [5, 6, 7]

    def two_moves(agent: PlannerAgent, starts: list[int], seeds: list[int]) -> list[list]:
        states = []
        for cell in starts:
            states.append(game.new_state())
            states[-1].cell = cell
        first = agent.act_batch([state.clone() for state in states], seeds=seeds)
        for state, (action, _) in zip(states, first, strict=True):
            state.apply(action)
        second = agent.act_batch([state.clone() for state in states], seeds=seeds)
        return [[(a, int(sum(i["visit_counts"]))) for a, i in pair]
                for pair in zip(first, second, strict=True)]

    batched = PlannerAgent(sims=30, depth=4, chance="known")
    batched.reset(game, 0, 0)
    together = two_moves(batched, [0, 2, 4], seeds)
    alone = []
    for cell, seed in zip([0, 2, 4], seeds, strict=True):
        agent = PlannerAgent(sims=30, depth=4, chance="known")
        agent.reset(game, 0, seed)
        alone += two_moves(agent, [cell], [seed])
    assert together == alone
    assert all(first[1] == 30 and second[1] > 30 for first, second in together)


def test_seconds_budget_stops_the_search():
    agent = PlannerAgent(sims=10**6, seconds=0.05, depth=5)
    _, info = first_move(agent, Corridor(length=30, start=0, limit=10**6))
    assert 0 < info["sims"] < 10**6 and info["seconds"] < 2.0


# --------------------------------------------------------------------------- IW(1)


def test_iw_prunes_states_without_a_new_atom_and_finds_the_goal():
    game = Corridor(length=6, start=2)
    action, info = first_move(PlannerAgent(algo="iw", nodes=1000), game)
    # Cells 0..4 are each new once and expanded (3 children each); the goal cell 5 ends the
    # game; every "stay" and every step back to a seen cell makes nothing new and is pruned.
    assert action == 2
    assert info["expanded"] == 5 and info["generated"] == 15
    assert info["pruned"] == 15 - 5  # 15 children: 4 new cells, the goal, 10 pruned
    assert info["value"] == pytest.approx(0.99**2)  # the goal three moves right, discounted
    assert info["returns"][2] == pytest.approx(0.99**2)
    assert info["visit_counts"][1] == 1  # "stay" was generated once and pruned


def test_iw_stops_at_its_node_budget():
    game = Corridor(length=50, start=0)
    _, info = first_move(PlannerAgent(algo="iw", nodes=7), game)
    assert info["generated"] == 7
    assert game.steps == 7


# --------------------------------------------------------------------------- batches


@pytest.mark.parametrize("spec", [{"algo": "uct", "chance": "known"},
                                  {"algo": "uct", "chance": "sample"},
                                  {"algo": "iw"}])
def test_act_batch_equals_act_after_the_same_reset(spec):
    game = Corridor(length=9, start=0)
    agent = PlannerAgent(sims=30, nodes=20, depth=4, **spec)
    states, seeds = [], [5, 6, 7, 8]
    for start in (0, 3, 5, 7):
        state = game.new_state()
        state.cell = start
        states.append(state)
    alone = []
    for state, seed in zip(states, seeds, strict=True):
        agent.reset(game, 0, seed)
        alone.append(agent.act(state.clone()))
    agent.reset(game, 0, 0)
    batched = agent.act_batch([s.clone() for s in states], seeds=seeds)
    assert [a for a, _ in batched] == [a for a, _ in alone]
    assert [i["visit_counts"].tolist() for _, i in batched] == [
        i["visit_counts"].tolist() for _, i in alone]


@pytest.mark.parametrize("game_spec, spec", [
    ("corridor", "planner:sims=20,depth=4,chance=known"),
    ("corridor", "mcts:sims=20,rollouts=1"),
    ("minatar:breakout", "planner:sims=6,depth=3,chance=known"),
])
def test_one_player_games_play_the_same_alone_and_side_by_side(registry, manager, game_spec,
                                                               spec):
    """One-player games through lockstep play: each game keeps its own subtree (the node its
    move led to), so games searched side by side play as each does alone."""
    if game_spec == "corridor":
        game: Game = Corridor(length=7, start=0, limit=12)
    elif "minatar" in registry.names("game"):
        game = registry.make_game(game_spec)
    else:
        pytest.skip("the MinAtar plugin is not in this tree")
    seeds = [3, 4, 5]

    def play(groups: list[list[int]]) -> list[tuple]:
        out = []
        for group in groups:
            shared = registry.make_agent(spec)
            results = play_lockstep(game, [[shared] for _ in group], group,
                                    settings=MatchSettings(manager=manager, max_steps=10))
            out += [(seed, r.returns, r.steps, r.final_hash)
                    for seed, r in zip(group, results, strict=True)]
        return sorted(out)

    assert play([seeds]) == play([[seed] for seed in seeds])
    agent = registry.make_agent(re.sub(r"sims=\d+", "sims=30", spec))
    agent.reset(game, 0, 3)
    state = game.new_state(3)
    state.apply(agent.act(state.clone())[0])
    assert sum(agent.act(state.clone())[1]["visit_counts"]) > 30  # the move's subtree, reused


@pytest.mark.parametrize("spec", ["planner:sims=20,chance=known", "mcts:sims=20,rollouts=0"])
def test_a_move_that_ends_the_game_keeps_nothing(registry, spec):
    """A one-player game mostly ends on the agent's own move; nothing is kept for it then, so
    an agent that is never reset again (an expert labelling episode after episode) does not
    gather the trees of finished episodes."""
    game = Corridor(length=3, start=1)
    agent = registry.make_agent(spec)
    agent.reset(game, 0, 1)
    action, _ = agent.act(game.new_state())
    assert action == 2 and agent.kept.nodes() == 0
    longer = Corridor(length=6, start=0)
    agent.act(longer.new_state())
    assert agent.kept.nodes() > 0


@pytest.mark.parametrize("spec", ["planner:sims=12,depth=4", "planner:algo=iw,nodes=30"])
def test_planner_conforms_on_one_and_two_player_games(registry, spec):
    agent = registry.make_agent(spec)
    check_agent(agent, Corridor(length=5), games=2, max_steps=6)
    check_agent(agent, registry.make_game("tictactoe"), games=1)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("spec,message", [
    ("planner:sims=0", "sims"),
    ("planner:nodes=0", "nodes"),
    ("planner:discount=1.5", "discount"),
    ("planner:seconds=-1", "seconds"),
    ("planner:depth=-2", "depth"),
    ("planner:algo=astar", "algo"),
    ("planner:chance=maybe", "chance"),
])
def test_bad_options_are_one_line_errors(registry, spec, message):
    with pytest.raises(SpecError, match=message) as caught:
        registry.make_agent(spec)
    assert "\n" not in str(caught.value)


def test_bad_option_on_the_command_line(cli):
    result = cli("match", "tictactoe", "planner:discount=2", "random", "--no-replays")
    assert result.returncode == 2
    assert "discount" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- Atari


@pytest.mark.parametrize("spec", ["planner:sims=4,depth=3",
                                  "planner:sims=4,depth=3,chance=known",
                                  "planner:algo=iw,nodes=12"])
def test_one_planning_move_at_pong(registry, spec):
    game = registry.make_game("atari:pong")
    agent = registry.make_agent(spec)
    agent.reset(game, 0, 1)
    state = game.new_state(1)
    before = state.fingerprint()
    action, info = agent.act(state)
    assert 0 <= action < game.num_actions
    assert state.fingerprint() == before  # the search planned on clones
    assert {"value", "visit_counts", "policy", "seconds"} <= set(info)
    json.dumps(to_json(info))


def test_resampled_sticky_draws_change_the_future_but_not_the_present(registry):
    game = registry.make_game("atari:breakout,sticky=0.5")
    state = game.new_state(4)
    other = state.clone()
    other.reseed(123)
    assert other.fingerprint() != state.fingerprint()
    assert other.ram == state.ram and np.array_equal(other.observation(0),
                                                     state.observation(0))
    futures = set()
    for seed in range(6):
        sample = state.clone()
        sample.reseed(seed)
        for action in (2, 3, 2, 3, 2, 3, 2, 3):
            sample.apply(action)
        futures.add(sample.ram)
    assert len(futures) > 1  # the sticky draws now differ between samples


def test_an_enlarged_tree_keeps_its_nodes_and_handles():
    from gamepit.search.tree import Tree

    tree = Tree(2, 3, 4)
    tree.edges[1, 2, 0, 3] = 7.0
    tree.children[1, 0, 2] = 2
    tree.handles[1 * 3 + 2] = "kept"
    tree.enlarge(10)
    assert tree.capacity == 10 and tree.edges.shape == (2, 10, 3, 4)
    assert tree.edges[1, 2, 0, 3] == 7.0 and tree.children[1, 0, 2] == 2
    assert tree.handle(1, 2) == "kept" and tree.handle(1, 9) is None
    assert (tree.children[:, 3:] == -1).all()


class CoinState(BaseState):
    """One move: 0 bets on the coin the state's own stream will toss (pays 1 on heads), 1 takes
    a sure 0.6. The stream lives in the state, as Atari's sticky draws do, and ``reseed``
    redraws it."""

    def __init__(self, stream: int) -> None:
        self.stream, self.score, self.done = stream, 0.0, False

    @property
    def current_player(self) -> int:
        return -1 if self.done else 0

    def is_terminal(self) -> bool:
        return self.done

    def legal_mask(self) -> np.ndarray:
        return np.full(2, not self.done)

    def apply(self, action: int) -> None:
        heads = random.Random(self.stream).random() < 0.5
        self.score += (1.0 if heads else 0.0) if action == 0 else 0.6
        self.done = True

    def clone(self) -> CoinState:
        other = CoinState(self.stream)
        other.score, other.done = self.score, self.done
        return other

    def reseed(self, seed: int) -> None:
        self.stream = seed

    def returns(self) -> list[float]:
        return [self.score]

    def observation(self, player: int) -> np.ndarray:
        return np.array([self.done], dtype=np.int8)

    def render(self) -> str:
        return "coin"

    def fingerprint(self) -> bytes:
        return f"{self.stream}|{self.done}".encode()


class Coin(Game):
    name = "coin"
    num_players = 1
    num_actions = 2
    observation_shape = (1,)

    def new_state(self, seed: int | None = None) -> CoinState:
        return CoinState(seed or 0)


@pytest.mark.parametrize("algo", ["uct", "iw"])
def test_sampled_chance_does_not_peek_at_the_real_draws(algo):
    game = Coin()
    heads = next(s for s in range(100) if random.Random(s).random() < 0.5)
    # Knowing this state's coin is heads, betting pays 1 for sure; not knowing, a bet is worth
    # 0.5 on average against a sure 0.6. IW searches one redrawn future, so it is only told
    # apart from "known" on the futures it draws: count those instead of asserting a move.
    assert first_move(PlannerAgent(algo=algo, sims=40, chance="known"), game, heads)[0] == 0
    if algo == "uct":
        assert first_move(PlannerAgent(sims=200, chance="sample"), game, heads)[0] == 1
    else:
        moves = {first_move(PlannerAgent(algo="iw", chance="sample"), game, s)[0]
                 for s in range(40) if random.Random(s).random() < 0.5}
        assert moves == {0, 1}  # its own redrawn coin, not the state's, decides


@pytest.mark.parametrize("spec", ["planner:sims=8,depth=5", "planner:algo=iw,nodes=40"])
def test_one_planning_move_at_minatar(registry, spec):
    if "minatar" not in registry.names("game"):
        pytest.skip("the MinAtar plugin is not in this tree")
    game = registry.make_game("minatar:breakout")
    agent = registry.make_agent(spec)
    agent.reset(game, 0, 2)
    action, info = agent.act(game.new_state(2))
    assert 0 <= action < game.num_actions and sum(info["visit_counts"]) > 0
    json.dumps(to_json(info))
