"""The dihedral symmetries of a board, shared by the board games that offer ``symmetries``
for learning (tic-tac-toe, connect four, go). Numpy only: it must not import a game.
"""

from __future__ import annotations

import numpy as np


def board_symmetries(observation: np.ndarray, policy_board: np.ndarray, square: bool
                     ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The dihedral transforms (8 on a square board, 2 mirror images otherwise) of planes
    shaped (C, H, W) and a policy shaped (H, W); policies come back flattened."""
    pairs = []
    for flip in (False, True):
        obs, pol = (observation[..., ::-1], policy_board[..., ::-1]) if flip else (
            observation, policy_board)
        for turns in range(4 if square else 1):
            pairs.append((np.ascontiguousarray(np.rot90(obs, turns, axes=(-2, -1))),
                          np.ascontiguousarray(np.rot90(pol, turns)).reshape(-1)))
    return pairs
