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
from gamepit.search.tree import Expansion


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

    def evaluate(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        values = np.zeros(len(states))
        for _ in range(self.rollouts):
            values += playout_values(states, self.rng, self.np_rng)
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

    def initial(self, roots: Sequence[State]) -> Expansion:
        states = [root.clone() for root in roots]
        return self._describe(states, np.zeros(len(states)))

    def recurrent(self, handles: Sequence[State], actions: np.ndarray) -> Expansion:
        children, rewards = [], []
        for parent, action in zip(handles, actions.tolist(), strict=True):
            child = parent.clone()
            child.apply(action)
            children.append(child)
            rewards.append(child.returns()[0] - parent.returns()[0])
        return self._describe(children, np.array(rewards, dtype=float))

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
            open_priors, open_values = self.evaluator.evaluate(open_states)
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
        priors, values = self.evaluator.evaluate([state])
        return Expansion([state], priors, values, legal, np.array([player]), rewards)
