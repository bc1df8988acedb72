"""Gumbel search (Danihelka, Guez, Schrittwieser and Silver, "Policy improvement by planning
with Gumbel", ICLR 2022) on the batched trees of ``gamepit.search.tree``, as the ``gumbel``
search plugin and the ``search: gumbel`` of the alphazero and muzero learners and agents.

At the root, k actions are drawn without replacement by Gumbel-top-k (the k largest
g(a) + logits(a), g Gumbel noise), and sequential halving spends the simulations on them:
each round visits every surviving action equally, then keeps the better half by
g + logits + sigma(completed Q). The action played is the last survivor. The policy target is
the improved policy softmax(logits + sigma(completed Q)), which improves on the prior even with
2 simulations, where visit counts say little. Inside the tree selection is deterministic:
argmax pi'(a) - N(a) / (1 + sum N), which makes the visits follow pi'.

Where the paper and DeepMind's mctx leave a choice open here, we pick:
- Sequential halving counts only this search's visits, so a search that continues a kept
  subtree (reuse) runs the same schedule on top of what the subtree already knew.
- The mixed value of an unvisited action and the min-max scaling of completed Q are per node,
  as mctx's defaults (value_scale 0.1, maxvisit_init 50), so no tree-wide normalisation.
- Leaves are gathered one per tree per model call: many trees share each call, as in ``mcts``.

Imports numpy only, never torch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import Option, SearchResult
from gamepit.protocols import search as search_entry
from gamepit.search.mcts import MCTS
from gamepit.search.tree import (
    NODE_VALUE,
    PRIOR,
    SIGN,
    VALUE,
    VISITS,
    Model,
    SearchConfig,
    Tree,
    expand,
    improved_logits,
    improved_policy,
)

KINDS = ("puct", "gumbel")


@lru_cache(maxsize=256)
def halving_visits(considered: int, simulations: int) -> tuple[int, ...]:
    """Sequential halving's schedule: for simulation ``i`` of a search over ``considered``
    actions, the visit count (this search's) an action must have to be the one visited.

    Rounds go on until the budget is spent: each surviving action gets
    max(1, simulations // (ceil(log2 considered) * survivors)) visits a round, then the
    survivors halve (never below two; one action takes every simulation)."""
    if considered <= 1:
        return tuple(range(simulations))
    rounds = math.ceil(math.log2(considered))
    schedule: list[int] = []
    level, alive = 0, considered
    while len(schedule) < simulations:
        for _ in range(max(1, simulations // (rounds * alive))):
            schedule.extend([level] * alive)
            level += 1
        alive = max(2, alive // 2)
    return tuple(schedule[:simulations])


class Gumbel(MCTS):
    """Gumbel-top-k and sequential halving at the root, deterministic selection toward the
    improved policy below it. Same interface as ``MCTS``: ``search(states, evaluator)`` on
    simulators, ``run(model, roots, ...)`` on any ``Model``; each ``SearchResult`` carries the
    improved policy as ``policy`` and the chosen action as ``extra["action"]``."""

    def __init__(self, sims: int = 16, considered: int = 16, gumbel_scale: float = 1.0,
                 value_scale: float = 0.1, maxvisit_init: float = 50.0, discount: float = 1.0,
                 seed: int | None = None) -> None:
        if considered < 1:
            raise ValueError("considered must be at least 1")
        if not 0 <= gumbel_scale < np.inf or not 0 < value_scale < np.inf \
                or not 0 <= maxvisit_init < np.inf:
            raise ValueError("gumbel_scale and maxvisit_init must be finite and >= 0, "
                             "value_scale finite and > 0")
        super().__init__(sims, discount=discount, seed=seed)
        self.considered = considered
        self.gumbel_scale = gumbel_scale
        self.config = SearchConfig(rule="gumbel", discount=discount, value_scale=value_scale,
                                   maxvisit_init=maxvisit_init)

    def run(self, model: Model, roots: Sequence[Any], seeds: Sequence[int] | None = None,
            kept: Sequence[Tree | None] | None = None, single_player: bool = False
            ) -> tuple[list[SearchResult], Tree]:
        """Search ``roots`` through ``model`` (``kept``: as ``MCTS.run``); the Gumbel noise
        of root ``i`` comes from ``seeds[i]`` alone."""
        tree = self.start(model, roots, kept)
        seeds = list(seeds) if seeds is not None else self.rng.integers(
            2**31, size=tree.batch).tolist()
        legal = tree.edges[:, 0, PRIOR] >= 0
        noise = np.stack([np.random.default_rng(seed).gumbel(size=tree.num_actions)
                          for seed in seeds]) * self.gumbel_scale
        noise = np.where(legal, noise, -np.inf)
        start = tree.edges[:, 0, VISITS].copy()  # a kept subtree's visits are not this search's
        considered = np.minimum(self.considered, legal.sum(1))
        schedule = np.array([halving_visits(int(m), self.sims) for m in considered])
        config = self.config
        for simulation in range(self.sims):
            if self.deadline is not None and simulation and time.monotonic() >= self.deadline:
                break  # a clock ran out (gamepit gtp): the most visited survivor so far
            actions = self._root_choice(tree, noise, tree.edges[:, 0, VISITS] - start,
                                        schedule[:, simulation])
            nodes, path, depth, leaves = tree.select(config, None, actions)
            expand(tree, model, [(nodes, path, depth, leaves)])
            tree.backup(nodes, path, depth, leaves, config.discount, distinct=True)
        fresh = tree.edges[:, 0, VISITS] - start
        chosen = self._root_choice(tree, noise, fresh, fresh.max(1))
        policy = self._improved(tree)
        visits, values, q = tree.root_visits(), tree.root_values(), tree.root_q()
        return [SearchResult(policy[i], visits[i].astype(np.int64), float(values[i]),
                             {"q": q[i], "action": int(chosen[i])})
                for i in range(tree.batch)], tree

    def _root_parts(self, tree: Tree) -> tuple[np.ndarray, ...]:
        edges, info = tree.edges[:, 0], tree.info[:, 0]
        return (edges[:, VISITS], edges[:, VALUE], edges[:, PRIOR], info[:, SIGN][:, None],
                info[:, NODE_VALUE] * info[:, SIGN])

    def _root_choice(self, tree: Tree, noise: np.ndarray, fresh: np.ndarray,
                     level: np.ndarray) -> np.ndarray:
        """Per tree, the action among those with ``level`` visits of this search that
        maximises g + logits + sigma(completed Q) (any legal one if none has that many)."""
        prior = tree.edges[:, 0, PRIOR]
        score = noise + improved_logits(self.config, *self._root_parts(tree))
        due = (fresh == level[:, None]) & (prior >= 0)
        due |= ~due.any(1, keepdims=True) & (prior >= 0)
        return np.where(due, score, -np.inf).argmax(1)

    def _improved(self, tree: Tree) -> np.ndarray:
        policy = improved_policy(self.config, *self._root_parts(tree))
        return np.where(tree.edges[:, 0, PRIOR] >= 0, policy, 0.0)


def make_search(kind: str, sims: int, c_puct: float = 1.25, dirichlet_alpha: float = 0.0,
                dirichlet_epsilon: float = 0.25, considered: int = 16,
                gumbel_scale: float = 1.0, discount: float = 1.0, leaves: int = 1) -> MCTS:
    """The search a learner or agent names with ``search``: ``puct`` (AlphaGo Zero's, with
    Dirichlet root noise) or ``gumbel`` (Gumbel noise instead; ``c_puct`` and the Dirichlet
    settings unused)."""
    if kind == "gumbel":
        return Gumbel(sims, considered, gumbel_scale, discount=discount)
    if kind != "puct":
        raise ValueError(f"search must be one of {', '.join(KINDS)}, not {kind!r}")
    return MCTS(sims, c_puct, "puct", dirichlet_alpha, dirichlet_epsilon, leaves,
                discount=discount)


# --------------------------------------------------------------------------- registration

# The options of a network agent that searches with either kind (alphazero, muzero). PUCT is
# the default also for networks trained with Gumbel: with 100 simulations a move it played the
# Gumbel-trained connect four network better (docs/learners.md).
AGENT_OPTIONS = (
    Option("search", str, "puct", "puct or gumbel (whatever the network was trained with)",
           KINDS),
    Option("considered", int, 16, "gumbel: actions drawn at the root", low=1, high=100_000),
    Option("gumbel_scale", float, 0.0, "gumbel: root noise (0: none, the k likeliest "
           "actions)", low=0, high=1e6),
)


@hookimpl
def gamepit_add_searches() -> list:
    return [search_entry(
        "gumbel", Gumbel, "Batched Gumbel search (Gumbel-top-k, sequential halving, improved "
        "policy): policy improvement with few simulations.", (
            Option("sims", int, 16, "simulations per root", low=1, high=10**7),
            Option("considered", int, 16, "actions drawn at the root by Gumbel-top-k", low=1,
                   high=10**5),
            Option("gumbel_scale", float, 1.0, "scale of the root's Gumbel noise (0: the k "
                   "likeliest actions, no noise)", low=0, high=1e6),
            Option("value_scale", float, 0.1, "c_scale of sigma(q)", low=1e-6, high=1e6),
            Option("maxvisit_init", float, 50.0, "c_visit of sigma(q)", low=0, high=1e9),
        ))]
