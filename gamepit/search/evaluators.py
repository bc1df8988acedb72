"""Evaluators (batch of states -> priors and values) and the simulator model that feeds them
to the tree.

The tree talks to one seam, ``gamepit.search.tree.Model``: ``initial(roots)`` and
``recurrent(handles, actions)``. ``SimulatorModel`` serves real games: its handles are States,
it steps by cloning and applying, and asks an Evaluator for priors and values, so random
rollouts, uniform priors, a heuristic and a torch network all plug in the same way. A learned
model (MuZero) implements ``Model`` directly on hidden states. No torch here: the network
evaluator lives in ``gamepit.search.network``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from gamepit.protocols import Evaluator, State
from gamepit.search.playouts import playout_values
from gamepit.search.tree import Expansion, Tree


class UniformEvaluator:
    """Equal priors and a value of 0 everywhere: search guided by terminal positions only."""

    def evaluate(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        width = len(states[0].legal_mask()) if states else 0
        return np.ones((len(states), width)), np.zeros(len(states))


class RolloutEvaluator:
    """Equal priors, and the mean result of ``rollouts`` random playouts as the value: the
    evaluator of classic UCT (OpenSpiel's ``RandomRolloutEvaluator``). Its priors are one
    column wide; they broadcast over the actions."""

    def __init__(self, rollouts: int = 1, seed: int | None = None) -> None:
        if rollouts < 1:
            raise ValueError("rollouts must be at least 1")
        self.rollouts = rollouts
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.streams: list[tuple[random.Random, np.random.Generator | None]] = []

    def seed_trees(self, seeds: Sequence[int]) -> None:
        """Give tree ``i`` of the next search its own playout stream from ``seeds[i]``, so a
        tree's values do not depend on the other trees searched with it."""
        self.streams = [(random.Random(seed), None) for seed in seeds]

    def evaluate(self, states: Sequence[State], trees: Sequence[int] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Values of ``states``; with ``trees`` (the tree of each state, after
        ``seed_trees``) each tree's playouts draw from that tree's stream alone."""
        values = np.zeros(len(states))
        if trees is None or not self.streams:
            for _ in range(self.rollouts):
                values += playout_values(states, self.rng, self.np_rng)
        else:
            groups: dict[int, list[int]] = {}
            for row, tree in enumerate(trees):
                groups.setdefault(tree, []).append(row)
            for tree, rows in groups.items():
                rng, np_rng = self.streams[tree]
                if np_rng is None:
                    np_rng = np.random.default_rng(rng.getrandbits(64))
                    self.streams[tree] = (rng, np_rng)
                group = [states[row] for row in rows]
                for _ in range(self.rollouts):
                    values[rows] += playout_values(group, rng, np_rng)
        return np.ones((len(states), 1)), values / self.rollouts


class HeuristicEvaluator:
    """Equal priors and the state's own ``heuristic_value(player)`` as the value; cheap and
    deterministic, for depth-limited search and for tests that need repeatable trees."""

    def evaluate(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        width = len(states[0].legal_mask()) if states else 0
        values = [float(state.heuristic_value(state.current_player))  # type: ignore[attr-defined]
                  for state in states]
        return np.ones((len(states), width)), np.array(values)


class SimulatorModel:
    """The tree's Model over a real simulator: handles are States, values come from an
    Evaluator, rewards from the change in ``returns()``."""

    def __init__(self, evaluator: Evaluator, num_actions: int) -> None:
        self.evaluator = evaluator
        self.num_actions = num_actions
        # After seed_trees: the tree of every state handed out, by id (the tree holds the
        # states for the whole search, so ids are not reused meanwhile).
        self.tree_of: dict[int, int] | None = None

    def seed_trees(self, seeds: Sequence[int]) -> None:
        """One random stream per root of the next search, if the evaluator draws any."""
        seed = getattr(self.evaluator, "seed_trees", None)
        self.tree_of = {} if seed is not None else None
        if seed is not None:
            seed(seeds)

    def initial(self, roots: Sequence[State], trees: Sequence[int] | None = None
                ) -> Expansion:
        """The roots' expansion; ``trees[i]`` is the tree root ``i`` starts (by default its
        place in ``roots``), whose random stream evaluates it."""
        states = [root.clone() for root in roots]
        if self.tree_of is not None:
            self.tree_of = {id(state): tree for tree, state in zip(
                range(len(states)) if trees is None else trees, states, strict=True)}
        return self._describe(states, np.zeros(len(states)))

    def place(self, tree: Tree) -> None:
        """Learn which tree of ``tree`` (a ``Tree`` that continues earlier searches, with
        ``initial(fresh roots, trees=their indexes)``) every stored State belongs to, so each
        tree's rollouts keep drawing from its own stream."""
        if self.tree_of is not None:
            self.tree_of = {id(handle): slot // tree.capacity
                            for slot, handle in enumerate(tree.handles) if handle is not None}

    def recurrent(self, handles: Sequence[State], actions: np.ndarray) -> Expansion:
        children, rewards = [], []
        tree_of = self.tree_of
        for parent, action in zip(handles, actions.tolist(), strict=True):
            child = parent.clone()
            child.apply(action)
            children.append(child)
            rewards.append(child.returns()[0] - parent.returns()[0])
            if tree_of is not None:
                tree_of[id(child)] = tree_of.get(id(parent), 0)
        return self._describe(children, np.array(rewards, dtype=float))

    def _evaluate(self, states: list[State]) -> tuple[np.ndarray, np.ndarray]:
        if self.tree_of is None:
            return self.evaluator.evaluate(states)
        trees = [self.tree_of.get(id(state), 0) for state in states]
        return self.evaluator.evaluate(states, trees)  # type: ignore[call-arg]

    def _describe(self, states: list[State], rewards: np.ndarray) -> Expansion:
        if len(states) == 1:
            return self._describe_one(states[0], rewards)
        count = len(states)
        to_play = np.array([state.current_player for state in states], dtype=np.int32)
        legal = np.zeros((count, self.num_actions), dtype=bool)
        priors = np.zeros((count, self.num_actions))
        values = np.zeros(count)
        open_rows = np.flatnonzero(to_play >= 0).tolist()
        if open_rows:
            open_states = [states[i] for i in open_rows]
            # one scatter for the whole batch: legal_actions is a cheap list in most games
            moves = [state.legal_actions() for state in open_states]
            rows = np.repeat(open_rows, [len(m) for m in moves])
            legal[rows, np.concatenate(moves).astype(np.int64)] = True
            open_priors, open_values = self._evaluate(open_states)
            priors[open_rows] = open_priors
            values[open_rows] = open_values
        return Expansion(states, priors, values, legal, to_play, rewards)

    def _describe_one(self, state: State, rewards: np.ndarray) -> Expansion:
        """``_describe`` for a lone state (a single tree's leaf), without batch bookkeeping."""
        legal = np.zeros((1, self.num_actions), dtype=bool)
        player = state.current_player
        if player < 0:
            return Expansion([state], np.zeros((1, 1)), np.zeros(1), legal,
                             np.array([player]), rewards)
        legal[0, state.legal_actions()] = True
        priors, values = self._evaluate([state])
        return Expansion([state], priors, values, legal, np.array([player]), rewards)
