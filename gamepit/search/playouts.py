"""Random playouts to the end of the game, the value estimate of UCT with rollouts.

Any State can be played out through its protocol (``legal_actions``/``apply``), which costs a
method call or three per move. A state type whose playouts dominate search time may offer
faster ones as optional methods (``protocols.HasRandomPlayout`` and ``HasBatchPlayouts``): one
that plays a single game on plain Python values, and one that plays a whole batch at once in
numpy arrays, used when the search hands over many leaves in one call. Both play uniformly
random legal moves, so they estimate the same thing as the generic playout.

This module names no game: it asks a state's type which fast playouts it offers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from gamepit.protocols import HasBatchPlayouts, HasRandomPlayout, State, offers

BATCH_KERNEL_FROM = 24  # below this many leaves, numpy's per-call cost outweighs its speed


def playout_state(state: State, rng: random.Random) -> float:
    """Play a copy of ``state`` out at random through the State protocol; what the player to
    move at the start gains from here to the end (returns are cumulative, so subtract what
    is already earned; a finished game has nothing left to gain)."""
    if state.is_terminal():
        return 0.0
    player = state.current_player
    earned = state.returns()[player]
    state = state.clone()
    while not state.is_terminal():
        legal = state.legal_actions()
        state.apply(legal[int(rng.random() * len(legal))])
    return float(state.returns()[player] - earned)


def playout_values(states: Sequence[State], rng: random.Random,
                   np_rng: np.random.Generator) -> np.ndarray:
    """One random playout from each state: its value for the player to move there. States
    of one type use the fast playouts that type offers; a mixed batch goes one by one."""
    kind = type(states[0]) if states else object
    single, batch = offers(kind, HasRandomPlayout), offers(kind, HasBatchPlayouts)
    if (single or batch) and all(type(state) is kind for state in states):
        if batch and len(states) >= BATCH_KERNEL_FROM:
            return kind.batch_random_playouts(states, np_rng)  # type: ignore[attr-defined]
        if single:
            return np.array([state.random_playout(rng) for state in states])  # type: ignore[attr-defined]
    return np.array([playout_state(state, rng) for state in states])


def discounted_rollout(state: State, depth: int, discount: float, rng: random.Random) -> float:
    """Play a copy of ``state`` at random for at most ``depth`` moves; the discounted sum of
    the rewards player 0 earns on the way, sum_t discount**t * r_(t+1) (0 if already over).
    The value estimate of a planner on games with rewards along the way (Atari, MinAtar),
    where a playout to the end would be thousands of moves."""
    if depth <= 0 or state.is_terminal():
        return 0.0
    state = state.clone()
    total, scale = 0.0, 1.0
    earned = state.returns()[0]
    for _ in range(depth):
        legal = state.legal_actions()
        state.apply(legal[int(rng.random() * len(legal))])
        now = state.returns()[0]
        total += scale * (now - earned)
        earned, scale = now, scale * discount
        if state.is_terminal():
            break
    return float(total)
