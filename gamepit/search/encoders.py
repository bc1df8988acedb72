"""Batched observation encoders: many states to one array, for network evaluators.

A state type may offer a batched encoder (``batch_observations``, the optional method
``protocols.HasBatchObservations``), which turns many states into one array in a few numpy
operations; any other state is encoded one at a time through ``observation(current_player)``.
This module names no game.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamepit.protocols import HasBatchObservations, State, offers


def encode(states: Sequence[State]) -> np.ndarray:
    """Observations of ``states`` for their players to move, stacked [K, *shape]."""
    kind = type(states[0])
    if offers(kind, HasBatchObservations) and all(type(state) is kind for state in states):
        return kind.batch_observations(states)  # type: ignore[attr-defined]
    return np.stack([state.observation(state.current_player) for state in states])
