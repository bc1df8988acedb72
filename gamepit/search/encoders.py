"""Batched observation encoders: many states to one array in a few numpy operations, for
network evaluators. A state type without an encoder is encoded one state at a time through
``observation(current_player)``; an encoder must give exactly the same planes (tests check).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gamepit.games.connect_four import HEIGHT, WIDTH, ConnectFourState

Encoder = Callable[[Sequence[Any]], np.ndarray]
ENCODERS: dict[type, Encoder] = {}


def register_encoder(state_type: type, encoder: Encoder) -> None:
    ENCODERS[state_type] = encoder


def encode(states: Sequence[Any]) -> np.ndarray:
    """Observations of ``states`` for their players to move, stacked [K, *shape]."""
    encoder = ENCODERS.get(type(states[0]))
    if encoder and all(type(state) is type(states[0]) for state in states):
        return encoder(states)
    return np.stack([state.observation(state.current_player) for state in states])


# Bit number of each cell of connect four's (rows, columns) planes, row 0 at the top.
_CELL_BITS = np.array([[col * 7 + (HEIGHT - 1 - row) for col in range(WIDTH)]
                       for row in range(HEIGHT)], dtype=np.uint64)


def _connect_four(states: Sequence[ConnectFourState]) -> np.ndarray:
    bits = np.array([(s.bits[s.player], s.bits[1 - s.player]) for s in states],
                    dtype=np.uint64)  # [K, 2]: the player to move, then the opponent
    return ((bits[:, :, None, None] >> _CELL_BITS) & np.uint64(1)).astype(np.int8)


register_encoder(ConnectFourState, _connect_four)
