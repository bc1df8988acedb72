"""Monte Carlo tree search as gamepit plugins: the ``mcts`` and ``uct`` searches and the ``mcts``
agent.

``MCTS`` runs batched PUCT (AlphaGo Zero) or UCT over the array trees of
``gamepit.search.tree``: one call searches many roots, and every model call carries the new
leaves of all of them. Importing this module must stay cheap: numpy only, never torch.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import (
    ActResult,
    Agent,
    Evaluator,
    Game,
    HasArrayModel,
    Option,
    SearchResult,
    State,
    offers,
)
from gamepit.protocols import agent as agent_entry
from gamepit.protocols import search as search_entry
from gamepit.search.array_models import KeptRows, RowsModel, network_rows_for
from gamepit.search.compiled import kernels
from gamepit.search.evaluators import RolloutEvaluator, SimulatorModel, UniformEvaluator
from gamepit.search.tree import (
    PRIOR,
    TERMINAL,
    KeptTrees,
    Model,
    SearchConfig,
    Tree,
    run_simulations,
)

RULES = ("puct", "uct")
DEFAULT_C = {"puct": 1.25, "uct": 2.0}  # AlphaGo Zero's scale; OpenSpiel's UCT default


class MCTS:
    """PUCT or UCT search from many roots at once.

    ``search(states, evaluator)`` plans on real simulators; ``run(model, roots)`` plans on any
    ``Model`` (a learned one for MuZero) and also returns the tree, so a caller can keep the
    subtree after a move.
    """

    def __init__(self, sims: int = 200, c_puct: float | None = None, rule: str = "puct",
                 dirichlet_alpha: float = 0.0, dirichlet_epsilon: float = 0.25,
                 leaves: int = 1, virtual_loss: float = 1.0, discount: float = 1.0,
                 normalize: bool | None = None, seed: int | None = None) -> None:
        if sims < 1:
            raise ValueError("sims must be at least 1")
        if rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}")
        if leaves < 1:
            raise ValueError("leaves must be at least 1")
        if not 0.0 <= dirichlet_epsilon <= 1.0 or not 0 <= dirichlet_alpha < np.inf:
            raise ValueError("dirichlet_alpha must be finite and >= 0, dirichlet_epsilon in "
                             "[0, 1]")
        if c_puct is not None and not 0 <= c_puct < np.inf:
            raise ValueError("c_puct must be finite and >= 0")
        self.sims = sims
        self.deadline: float | None = None  # a time.monotonic() value that ends a search early
        self.normalize = normalize
        self.config = SearchConfig(
            rule=rule, c=DEFAULT_C[rule] if c_puct is None else c_puct,
            dirichlet_alpha=dirichlet_alpha, dirichlet_epsilon=dirichlet_epsilon,
            discount=discount, leaves_per_tree=leaves, virtual_loss=virtual_loss)
        self.rng = np.random.default_rng(seed)
        kernels()  # load the compiled tree walks now, not inside the first (timed) move

    def search(self, states: Sequence[State], evaluator: Evaluator,
               seeds: Sequence[int] | None = None) -> list[SearchResult]:
        """Search from each state; ``seeds`` (one per state) make root noise repeatable, so a
        batch gives the same trees as searching each state alone with the same seed."""
        for state in states:
            if state.is_terminal():
                raise ValueError("cannot search from a finished game")
        num_actions = len(states[0].legal_mask())
        players = len(states[0].returns())
        if players > 2:
            raise ValueError(f"MCTS searches one- and two-player zero-sum games, not "
                             f"{players}-player ones")
        model = network_rows_for(states, evaluator, len(states) * (self.sims + 1))
        results, _ = self.run(model or SimulatorModel(evaluator, num_actions), states, seeds,
                              single_player=players == 1)
        return results

    def run(self, model: Model, roots: Sequence[Any], seeds: Sequence[int] | None = None,
            kept: Sequence[Tree | None] | None = None, single_player: bool = False
            ) -> tuple[list[SearchResult], Tree]:
        """Search ``roots`` through ``model``. ``kept[i]``, where given (from
        ``KeptTrees.take``), continues an earlier search of root ``i`` instead of starting
        afresh; the tree comes back so the caller can keep what is below its move."""
        config = self.config
        config.normalize = single_player if self.normalize is None else self.normalize
        tree = self.start(model, roots, kept)
        seeds = list(seeds) if seeds is not None else self.rng.integers(
            2**31, size=tree.batch).tolist()
        run_simulations(tree, model, config, self.sims, self._root_prior(tree, seeds),
                        self.deadline)
        visits = tree.root_visits()
        values = tree.root_values()
        q = tree.root_q()
        results = []
        for index in range(tree.batch):
            counts = visits[index]
            policy = counts / counts.sum()
            results.append(SearchResult(policy, counts.astype(np.int64), float(values[index]),
                                        {"q": q[index]}))
        return results, tree

    def start(self, model: Model, roots: Sequence[Any], kept: Sequence[Tree | None] | None
              ) -> Tree:
        """The batch of trees a search grows: tree ``i`` continues ``kept[i]`` where given,
        else starts at ``roots[i]`` as the model describes it."""
        parts = list(kept) if kept is not None else [None] * len(roots)
        if any(part is not None for part in parts):  # a simulator model: see SimulatorModel
            tree = Tree.batch_of(parts, self.sims, lambda fresh: model.initial(  # type: ignore[call-arg]
                [roots[i] for i in fresh], trees=fresh))
            model.place(tree)  # type: ignore[attr-defined]
        else:
            tree = Tree.batch_of(parts, self.sims, lambda fresh: model.initial(roots))
        if tree.info[:, 0, TERMINAL].any():
            raise ValueError("cannot search from a finished game")
        return tree

    def _root_prior(self, tree: Tree, seeds: Sequence[int]) -> np.ndarray | None:
        """Root priors mixed with Dirichlet noise (AlphaGo Zero's exploration at the root);
        kept apart from the stored priors so a reused root gets fresh noise each move."""
        alpha, epsilon = self.config.dirichlet_alpha, self.config.dirichlet_epsilon
        if alpha <= 0 or epsilon <= 0:
            return None
        prior = tree.edges[:, 0, PRIOR].copy()
        for index, seed in enumerate(seeds):
            legal = np.flatnonzero(prior[index] >= 0)
            noise = np.random.default_rng(seed).dirichlet([alpha] * legal.size)
            prior[index, legal] = (1 - epsilon) * prior[index, legal] + epsilon * noise
        return prior


def choose_action(visit_counts: np.ndarray, temperature: float,
                  rng: np.random.Generator) -> int:
    """Most visited action (ties at random) at temperature 0, else sample visits^(1/T)."""
    counts = np.asarray(visit_counts, dtype=float)
    if temperature <= 0:
        best = np.flatnonzero(counts == counts.max())
        return int(best[rng.integers(best.size)])
    weights = np.power(counts / counts.max(), 1.0 / temperature)
    return int(rng.choice(counts.size, p=weights / weights.sum()))


def pick(result: SearchResult, temperature: float, rng: np.random.Generator) -> int:
    """The move a search result plays. Gumbel's (``extra["action"]``): the survivor of
    sequential halving at temperature 0, else a sample of its improved policy^(1/T); PUCT's
    and UCT's: ``choose_action`` on the visit counts."""
    if "action" in result.extra:
        if temperature <= 0:
            return int(result.extra["action"])
        return choose_action(result.policy, temperature, rng)
    return choose_action(result.visit_counts, temperature, rng)


class MCTSAgent(Agent):
    """Plays by MCTS with random rollouts (UCT by default) or uniform priors, keeping the
    subtree of the position each game reaches between moves. With ``arrays`` (the default),
    a game whose states offer an array model (``State.array_model``: connect four) is searched
    on it instead of on States: the same rules, rollouts from per-tree streams of their own,
    several times the simulations per second in a batch."""

    batched = True
    think_time: float | None = None  # seconds for the next move, set by a clock (gamepit gtp)

    def __init__(self, sims: int = 200, c_puct: float | None = None, rollouts: int = 1,
                 rule: str = "auto", dirichlet_alpha: float = 0.0,
                 dirichlet_epsilon: float = 0.25, temperature: float = 0.0, leaves: int = 1,
                 reuse: bool = True, arrays: bool = True, evaluator: Evaluator | None = None
                 ) -> None:
        if rollouts < 0:
            raise ValueError("rollouts must be 0 (no rollouts) or more")
        if not 0 <= temperature < np.inf:
            raise ValueError("temperature must be finite and >= 0")
        if rule == "auto":
            rule = "uct" if rollouts > 0 and evaluator is None else "puct"
        self.mcts = MCTS(sims, c_puct, rule, dirichlet_alpha, dirichlet_epsilon, leaves)
        self.rollouts = rollouts
        self.temperature = temperature
        self.reuse = reuse
        self.given_evaluator = evaluator
        self.kept = KeptTrees()
        self.arrays = arrays and evaluator is None
        self.rows: RowsModel | None = None  # once a game's states offer an array model
        self.seed = 0

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        if game.num_players > 2:
            raise ValueError(f"mcts plays one- and two-player zero-sum games; {game.name} "
                             f"has {game.num_players} players")
        self.mcts.rng = np.random.default_rng(self.rng.integers(2**63))
        self.seed = int(seed) if seed is not None else int(self.rng.integers(2**63))
        if self.given_evaluator is not None:
            evaluator = self.given_evaluator
        elif self.rollouts > 0:
            evaluator = RolloutEvaluator(self.rollouts, int(self.rng.integers(2**63)))
        else:
            evaluator = UniformEvaluator()
        self.model = SimulatorModel(evaluator, game.num_actions)
        self.single_player = game.num_players == 1
        self.kept.clear()
        self.rows = None

    def act(self, state: State) -> ActResult:
        return self.act_batch([state])[0]

    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        """Search all states in one batched search, each from the subtree its game reached
        (with ``reuse``). ``seeds[i]``, if given, is the seed the game of ``states[i]`` reset
        this agent with; each state's search and choice depend on it, the state and that
        game's earlier searches alone, so ``act_batch(states)`` equals ``act`` on each state
        after the same reset and the same moves."""
        games = [self.seed if seeds is None else int(seeds[i]) for i in range(len(states))]
        model: SimulatorModel | RowsModel = self.model
        kind = type(states[0])
        if self.arrays and offers(kind, HasArrayModel):
            if self.rows is None:  # the first search since the reset: keep rows from now on
                rollouts = self.rollouts
                self.rows = RowsModel(lambda capacity: kind.array_model(  # type: ignore[attr-defined]
                    rollouts, None, capacity), min(self.mcts.sims + 1, 1024))
                self.kept = KeptRows(self.rows, self.kept.limit)
            model = self.rows
        return act_by_search(self.mcts, model, states, games,
                             self.kept if self.reuse else None, self.temperature,
                             self.single_player, self.think_time)


def act_by_search(mcts: MCTS, model: SimulatorModel | RowsModel, states: Sequence[State],
                  games: Sequence[int], kept: KeptTrees | None, temperature: float,
                  single_player: bool = False, think_time: float | None = None
                  ) -> list[ActResult]:
    """What a search agent answers ``act_batch`` with: one batched search over ``states``
    (``games[i]``: the seed the game of ``states[i]`` reset the agent with), each continuing
    its game's kept subtree where ``kept`` is given, then a move chosen per state from its own
    stream, and the search's info. Root noise, rollouts, ties and sampling all come from a
    stream keyed by the game's seed and the position, never from one shared across games: so a
    game plays the same whether searched alone or in a batch with any other games, in any
    order, resumed or in another process. ``think_time`` (seconds; a GTP controller's clock)
    ends the search early when it is spent, and then the moves depend on the machine's speed."""
    mcts.deadline = time.monotonic() + think_time if think_time else None
    keys = [position_key(game, state) for game, state in zip(games, states, strict=True)]
    model.seed_trees(keys)  # each tree's rollouts from its own stream
    parts = kept.take_all(games, states) if kept is not None else None
    results, tree = mcts.run(model, states, keys, parts, single_player)
    actions = [pick(result, temperature, np.random.default_rng([key, 1]))
               for key, result in zip(keys, results, strict=True)]
    if kept is not None:
        kept.keep_all(games, tree, actions)
    return [(action, describe(result)) for action, result in zip(actions, results, strict=True)]


def position_key(seed: int, state: State) -> int:
    """A 63-bit seed for one position of one game: the game's seed mixed with the position."""
    digest = hashlib.sha256(str(seed).encode() + b"|" + state.fingerprint()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def describe(result: SearchResult, top: int = 3) -> dict[str, Any]:
    """The info an agent hands to replays and the viewer for one search."""
    counts = result.visit_counts
    order = np.argsort(-counts, kind="stable")[:top]
    return {"policy": np.round(result.policy, 4), "visit_counts": counts,
            "value": round(float(result.value), 4),
            "top_moves": [int(a) for a in order if counts[a] > 0]}


# --------------------------------------------------------------------------- registration

_SEARCH_OPTIONS = (
    Option("sims", int, 200, "simulations per root", low=1, high=10**7),
    Option("c_puct", float, None, "exploration constant (default 1.25 puct, 2.0 uct)",
           low=0, high=1e6),
    Option("dirichlet_alpha", float, 0.0, "root noise concentration (0: no noise)", low=0,
           high=1e6),
    Option("dirichlet_epsilon", float, 0.25, "share of root noise in the priors", low=0,
           high=1),
    Option("leaves", int, 1, "leaves per tree per evaluator call, with virtual loss", low=1,
           high=10**4),
)


def _uct_search(**options: Any) -> MCTS:
    return MCTS(rule="uct", **options)


@hookimpl
def gamepit_add_searches() -> list:
    return [
        search_entry("mcts", MCTS, "Batched PUCT search (AlphaGo Zero) over an Evaluator.",
                     (*_SEARCH_OPTIONS, Option("rule", str, "puct", "child selection rule",
                                               RULES))),
        search_entry("uct", _uct_search, "Batched UCT search (UCB1), for random rollouts.",
                     _SEARCH_OPTIONS),
    ]


@hookimpl
def gamepit_add_agents() -> list:
    return [agent_entry("mcts", MCTSAgent,
                        "Monte Carlo tree search: UCT with random rollouts, or PUCT.", (
                            Option("sims", int, 200, "simulations per move", low=1,
                                   high=10**7),
                            Option("c_puct", float, None,
                                   "exploration constant (default 1.25 puct, 2.0 uct)",
                                   low=0, high=1e6),
                            Option("rollouts", int, 1,
                                   "random playouts per leaf (0: uniform priors, value 0)",
                                   low=0, high=10**4),
                            Option("rule", str, "auto", "puct, uct, or auto (uct with "
                                   "rollouts)", ("auto", *RULES)),
                            Option("dirichlet_alpha", float, 0.0,
                                   "root noise concentration (0: no noise)", low=0, high=1e6),
                            Option("dirichlet_epsilon", float, 0.25, "share of root noise",
                                   low=0, high=1),
                            Option("temperature", float, 0.0,
                                   "0: most visited move; else sample visits^(1/T)", low=0,
                                   high=100),
                            Option("leaves", int, 1, "leaves per evaluator call (virtual "
                                   "loss)", low=1, high=10**4),
                            Option("reuse", bool, True, "keep the subtree between moves"),
                            Option("arrays", bool, True, "search the game's array model "
                                   "where its states offer one (connect four)"),
                        ))]

