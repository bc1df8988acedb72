"""A planner with the true model: the ``planner`` agent, for one-player games whose State clones
(Atari, MinAtar, Gymnasium games that clone).

Two algorithms, chosen with ``algo=``:

- ``uct`` (default): UCT over clones of the state (Kocsis and Szepesvari 2006; Guo et al.
  2014 used it on the Atari emulator as the expert a network distils). Each simulation walks
  the batched array tree of ``gamepit.search.tree`` with UCB1, steps a clone along the path,
  and values the leaf by one random rollout of at most ``depth`` moves. Every edge is backed up
  as g = r + discount * g' with the rewards met on the way (the change in ``returns()[0]``),
  and the tree's MinMax normalisation scales values to [0, 1] for UCB1, so rewards of any size
  work (MuZero's trick). Two-player zero-sum games work too (values in player 0's terms, no
  normalisation), though the planner is meant for one player.
- ``iw``: IW(1), breadth-first search that prunes states making no new atom true
  (``gamepit.search.iw``): RAM bytes on Atari, set cells of the observation on MinAtar.

Chance and sticky actions (``chance=``). Atari's State carries its own sticky-action random
stream (MinAtar's may too), so a clone replays exactly the draws the real game will meet: a
planner on plain clones knows the future of the environment's dice, an oracle no real player
has, and one that sticky actions (Machado et al. 2018) were introduced to take away. So the
default is ``chance=sample``, open-loop planning: the tree is over action sequences, each
simulation replays its path from a fresh clone of the root whose random stream is redrawn
through the optional State method ``reseed(seed)``, and an edge's value is the mean over the
outcomes sampled. Where a State has no ``reseed`` its clone is replayed as it is (exact for
deterministic games). ``chance=known`` plans on plain clones, closed-loop (each node keeps its
State, one step per simulation instead of a replay of the path), and keeps the subtree of the
position reached between moves: exact for deterministic games and the faster choice there;
on Atari and MinAtar it is the oracle above, useful as an upper bound. IW(1) searches one
sampled future under ``chance=sample`` (the root reseeded once) and the true one under
``known``.

Budgets: ``sims`` simulations per move for UCT, ``nodes`` generated states (simulator steps)
for IW; ``seconds`` > 0 also stops the search when the time is up (then moves depend on the
machine's speed, so ``act_batch`` equals ``act`` only with ``seconds=0``). Randomness
(rollouts, redrawn sticky actions, ties, IW's action order) comes from a stream keyed by the
game's seed and the position (``position_key``), so ``act_batch`` gives what ``act`` gives
after the same reset.

Move info, recorded in replays and drawn by the viewer: ``value`` (UCT: mean discounted return
of the chosen move; IW: the best discounted return found), ``visit_counts`` and ``policy``
(UCT: visits per move; IW: states generated under each move), ``q`` (UCT) or ``returns`` (IW:
best return under each move, None where nothing was generated), and the budget used: ``sims``
or ``expanded``/``generated``/``pruned``, and ``seconds``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import ActResult, Agent, Game, HasReseed, Option, State
from gamepit.protocols import agent as agent_entry
from gamepit.search.iw import choose, iw1
from gamepit.search.mcts import position_key
from gamepit.search.playouts import discounted_rollout
from gamepit.search.tree import (
    EXPANDED,
    REWARD,
    VALUE,
    VISITS,
    Expansion,
    KeptTrees,
    SearchConfig,
    Tree,
)

ALGOS = ("uct", "iw")
CHANCES = ("sample", "known")
FIRST_CAPACITY = 256  # nodes per tree to start with; the tree grows when a search needs more


class PlannerAgent(Agent):
    """Plans each move on clones of the game: UCT with discounted rewards and random rollouts,
    or IW(1). See the module docstring for sticky actions, budgets and move info."""

    batched = True

    def __init__(self, algo: str = "uct", sims: int = 100, nodes: int = 1000,
                 seconds: float = 0.0, depth: int = 20, discount: float = 0.99,
                 c: float = 1.4, chance: str = "sample", reuse: bool = True) -> None:
        if algo not in ALGOS:
            raise ValueError(f"algo must be one of {', '.join(ALGOS)}")
        if chance not in CHANCES:
            raise ValueError(f"chance must be one of {', '.join(CHANCES)}")
        if sims < 1 or nodes < 1 or depth < 0:
            raise ValueError("sims and nodes must be at least 1, depth at least 0")
        if not 0 <= discount <= 1 or not 0 <= seconds < np.inf or not 0 <= c < np.inf:
            raise ValueError("discount must be in [0, 1], seconds and c finite and >= 0")
        self.algo, self.sims, self.nodes, self.seconds = algo, sims, nodes, seconds
        self.depth, self.discount, self.c, self.chance = depth, discount, c, chance
        self.reuse = reuse and chance == "known"
        self.seed = 0
        self.kept = KeptTrees()

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        if game.num_players > 2:
            raise ValueError(f"planner plays one-player games (and two-player zero-sum ones); "
                             f"{game.name} has {game.num_players} players")
        self.seed = int(seed) if seed is not None else int(self.rng.integers(2**63))
        self.kept.clear()

    def act(self, state: State) -> ActResult:
        return self.act_batch([state])[0]

    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        """Plan every state at once: UCT runs one tree per state through the batched tree,
        each from the subtree its game reached (with ``reuse``); IW searches them in turn.
        ``seeds[i]``, if given, is the seed the game of ``states[i]`` reset this agent with:
        each state's move depends on it, the state and that game's earlier plans alone, so
        this equals ``act`` on each state after the same reset and moves (with seconds=0)."""
        games = [self.seed if seeds is None else int(seeds[i]) for i in range(len(states))]
        keys = [position_key(game, state) for game, state in zip(games, states, strict=True)]
        if self.algo == "iw":
            return [self._width(state, key) for state, key in zip(states, keys, strict=True)]
        kept = self.kept.take_all(games, states) if self.reuse else None
        answers, tree = self._uct(states, keys, kept)
        if self.reuse:
            self.kept.keep_all(games, tree, [action for action, _ in answers])
        return list(answers)

    # ------------------------------------------------------------------ IW(1)

    def _width(self, state: State, key: int) -> ActResult:
        if state.is_terminal():
            raise ValueError("cannot plan from a finished game")
        rng = np.random.default_rng([key, 3])
        root = state.clone()
        if self.chance == "sample" and isinstance(root, HasReseed):
            root.reseed(int(rng.integers(2**63)))
        found = iw1(root, len(state.legal_mask()), self.nodes, self.discount, rng,
                    self.seconds)
        action = choose(found, rng)
        total = max(int(found.generated.sum()), 1)
        return action, {
            "value": round(float(found.best[action]), 4),
            "visit_counts": found.generated.copy(),
            "policy": np.round(found.generated / total, 4),
            "returns": [round(float(b), 4) if np.isfinite(b) else None for b in found.best],
            "expanded": found.expanded, "generated": int(found.generated.sum()),
            "pruned": found.pruned, "seconds": round(found.seconds, 4)}

    # ------------------------------------------------------------------ UCT

    def _uct(self, states: Sequence[State], keys: Sequence[int],
             kept: Sequence[Tree | None] | None) -> tuple[list[tuple[int, dict[str, Any]]], Tree]:
        started = time.perf_counter()
        deadline = started + self.seconds if self.seconds > 0 else None
        for state in states:
            if state.is_terminal():
                raise ValueError("cannot plan from a finished game")
        batch = len(states)
        single = len(states[0].returns()) == 1
        config = SearchConfig(rule="uct", c=self.c, discount=self.discount, normalize=single)
        known = self.chance == "known"
        tree = Tree.batch_of(
            list(kept) if kept is not None else [None] * batch, min(self.sims, FIRST_CAPACITY),
            lambda fresh: _expansion([states[i].clone() for i in fresh], np.zeros(len(fresh)),
                                     known))
        streams = [random.Random(key) for key in keys]
        done = 0
        while done < self.sims and (deadline is None or time.perf_counter() < deadline):
            if int(tree.size.max()) >= tree.capacity:
                tree.enlarge(min(2 * tree.capacity, tree.capacity + self.sims - done + 1))
            nodes, actions, depths, leaves = tree.select(config, None)
            for index in range(batch):
                depth = int(depths[index])
                path = nodes[index, :depth].tolist(), actions[index, :depth].tolist()
                if known:
                    rewards, value = self._closed_loop(tree, index, *path, int(leaves[index]),
                                                       streams[index])
                else:
                    rewards, value = self._open_loop(tree, index, states[index], *path,
                                                     int(leaves[index]), streams[index])
                self._backup(tree, index, path[0], path[1], rewards, value, single)
            done += 1
        return self._describe(tree, done, time.perf_counter() - started, keys), tree

    def _closed_loop(self, tree: Tree, index: int, nodes: list[int], actions: list[int],
                     leaf: int, rng: random.Random) -> tuple[list[float], float]:
        """Step the stored State of the leaf's parent once (the leaf is new, or terminal);
        rewards along the path are the ones stored in the tree."""
        if not tree.info[index, leaf, EXPANDED]:
            parent = tree.handle(index, nodes[-1])
            state = parent.clone()
            state.apply(actions[-1])
            reward = state.returns()[0] - parent.returns()[0]
            tree.write(np.array([index]), np.array([leaf]),
                       _expansion([state], np.array([reward]), True))
        state = tree.handle(index, leaf)
        below = nodes[1:] + [leaf]
        rewards = tree.info[index, below, REWARD].tolist()
        value = 0.0 if state.is_terminal() else discounted_rollout(state, self.depth,
                                                                   self.discount, rng)
        return rewards, value

    def _open_loop(self, tree: Tree, index: int, root: State, nodes: list[int],
                   actions: list[int], leaf: int, rng: random.Random
                   ) -> tuple[list[float], float]:
        """Replay the path from a clone of the root with a fresh draw of its chance; the walk
        stops early where this draw ends the game or makes the next move illegal."""
        state = root.clone()
        if isinstance(state, HasReseed):
            state.reseed(rng.getrandbits(63))
        rewards = []
        for action in actions:
            if state.is_terminal() or not state.legal_mask()[action]:
                break
            before = state.returns()[0]
            state.apply(action)
            rewards.append(state.returns()[0] - before)
        if len(rewards) == len(actions) and not tree.info[index, leaf, EXPANDED]:
            tree.write(np.array([index]), np.array([leaf]),
                       _expansion([state], np.zeros(1), False))
        value = 0.0 if state.is_terminal() else discounted_rollout(state, self.depth,
                                                                   self.discount, rng)
        return rewards, value

    def _backup(self, tree: Tree, index: int, nodes: list[int], actions: list[int],
                rewards: list[float], value: float, track_bounds: bool) -> None:
        """g = r + discount * g' up the edges walked (player 0's terms), one tree at a time."""
        edges, total = tree.edges[index], value
        for step in range(len(rewards) - 1, -1, -1):
            total = rewards[step] + self.discount * total
            edges[nodes[step], VISITS, actions[step]] += 1
            edges[nodes[step], VALUE, actions[step]] += total
            if track_bounds:
                tree.low[index] = min(tree.low[index], total)
                tree.high[index] = max(tree.high[index], total)

    def _describe(self, tree: Tree, sims: int, seconds: float, keys: Sequence[int]
                  ) -> list[tuple[int, dict[str, Any]]]:
        visits, q = tree.root_visits(), tree.root_q()
        answers = []
        for index, key in enumerate(keys):
            counts = visits[index].astype(np.int64)
            legal = tree.edges[index, 0, 2] >= 0
            tied = np.flatnonzero(legal & (counts == counts[legal].max()))
            tied = tied[q[index, tied] >= q[index, tied].max() - 1e-12]
            action = int(tied[np.random.default_rng([key, 1]).integers(tied.size)])
            order = np.argsort(-counts, kind="stable")[:3]
            answers.append((action, {
                "value": round(float(q[index, action]), 4), "visit_counts": counts,
                "policy": np.round(counts / max(counts.sum(), 1), 4),
                "q": np.round(np.where(counts > 0, q[index], 0.0), 4),
                "top_moves": [int(a) for a in order if counts[a] > 0],
                "sims": sims, "seconds": round(seconds, 4)}))
        return answers


def _expansion(states: list[State], rewards: np.ndarray, keep: bool) -> Expansion:
    """Uniform priors, no model value (the planner backs up rollouts itself), the legal moves
    and player to move of each state; ``keep`` stores the States as the nodes' handles."""
    legal = np.array([state.legal_mask() for state in states], dtype=bool)
    return Expansion(list(states) if keep else [None] * len(states),
                     np.ones(legal.shape), np.zeros(len(states)), legal,
                     np.array([state.current_player for state in states]), rewards)


# --------------------------------------------------------------------------- registration


@hookimpl
def gamepit_add_agents() -> list:
    return [agent_entry("planner", PlannerAgent,
                        "Plans on clones of one-player games (Atari, MinAtar): UCT with "
                        "discounted rewards and rollouts, or IW(1).", (
                            Option("algo", str, "uct", "uct, or iw (IW(1), novelty pruning)",
                                   ALGOS),
                            Option("sims", int, 100, "uct: simulations per move", low=1,
                                   high=10**7),
                            Option("nodes", int, 1000, "iw: states generated per move", low=1,
                                   high=10**8),
                            Option("seconds", float, 0.0, "also stop after this many seconds "
                                   "per move (0: no time limit)", low=0, high=86400),
                            Option("depth", int, 20, "uct: moves per random rollout", low=0,
                                   high=10**5),
                            Option("discount", float, 0.99, "discount per move", low=0,
                                   high=1),
                            Option("c", float, 1.4, "uct: exploration constant (values are "
                                   "scaled to [0, 1])", low=0, high=1e6),
                            Option("chance", str, "sample", "sample: redraw the game's chance "
                                   "(sticky actions) in every simulation; known: plan on the "
                                   "clone's own future draws", CHANCES),
                            Option("reuse", bool, True, "chance=known: keep the subtree "
                                   "between moves"),
                        ))]
