"""Batched observation encoders: many states to one array, for network evaluators.

A state type may offer a batched encoder as an optional method (below), which turns many
states into one array in a few numpy operations; any other state is encoded one at a time
through ``observation(current_player)``. This module names no game: it finds the encoder with
getattr on the state's type.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamepit.protocols import State

# Optional State method, looked up with getattr on the state's type by ``encode``:
#   batch_observations(states) -> np.ndarray   (staticmethod)
#       the observations of many states of this type for their players to move, stacked
#       [K, *observation_shape]: exactly ``state.observation(state.current_player)`` of each,
#       same values and dtype (tests check), only faster.


def encode(states: Sequence[State]) -> np.ndarray:
    """Observations of ``states`` for their players to move, stacked [K, *shape]."""
    kind = type(states[0])
    batch = getattr(kind, "batch_observations", None)
    if batch is not None and all(type(state) is kind for state in states):
        return batch(states)
    return np.stack([state.observation(state.current_player) for state in states])
