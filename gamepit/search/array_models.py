"""Models whose positions live in numpy arrays instead of State objects, for batched search
at rates where creating a Python State per node is the bottleneck.

``ConnectFourArrayModel`` is connect four behind the tree's ``Model`` seam: a handle is a row
number into bitboard arrays, ``recurrent`` plays one move in every row at once, and leaves are
valued by random playouts run on the same arrays. It plays exactly the rules of
``gamepit.games.connect_four`` (the tests step both side by side).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamepit.games.connect_four import ALL_CELLS, WIDTH, ConnectFourState
from gamepit.search.playouts import (
    _BIT,
    _COLUMN_TOPS,
    connect_four_array_playouts,
    connect_four_has_four,
)
from gamepit.search.tree import Expansion


class ConnectFourArrayModel:
    """Connect four positions as rows of arrays, valued by ``rollouts`` random playouts."""

    num_actions = WIDTH

    def __init__(self, rollouts: int = 1, seed: int | None = None, capacity: int = 4096
                 ) -> None:
        if rollouts < 1:
            raise ValueError("rollouts must be at least 1")
        self.rollouts = rollouts
        self.rng = np.random.default_rng(seed)
        self.count = 0
        self.mine = np.zeros(capacity, dtype=np.uint64)  # bits of the player to move
        self.theirs = np.zeros(capacity, dtype=np.uint64)
        self.heights = np.zeros((capacity, WIDTH), dtype=np.int64)  # next free bit per column
        self.moves = np.zeros(capacity, dtype=np.int64)
        self.player = np.zeros(capacity, dtype=np.int64)  # who is to move (0 or 1)
        self.over = np.zeros(capacity, dtype=bool)

    def initial(self, roots: Sequence[ConnectFourState]) -> Expansion:
        rows = self._allocate(len(roots))
        self.mine[rows] = [root.bits[root.player] for root in roots]
        self.theirs[rows] = [root.bits[1 - root.player] for root in roots]
        self.heights[rows] = [root.heights for root in roots]
        self.moves[rows] = [root.moves for root in roots]
        self.player[rows] = [root.player for root in roots]
        self.over[rows] = [root.is_terminal() for root in roots]
        return self._describe(rows, np.zeros(len(roots)))

    def recurrent(self, handles: Sequence[int], actions: np.ndarray) -> Expansion:
        parents = np.asarray(handles, dtype=np.int64)
        cells = self.heights[parents, actions]
        if (cells >= _COLUMN_TOPS[actions]).any() or self.over[parents].any():
            raise ValueError("illegal connect four action in the search")
        rows = self._allocate(len(parents))
        moved = self.mine[parents] | _BIT[cells]
        won = connect_four_has_four(moved)
        self.mine[rows], self.theirs[rows] = self.theirs[parents], moved
        self.heights[rows] = self.heights[parents]
        self.heights[rows, actions] = cells + 1
        self.moves[rows] = self.moves[parents] + 1
        mover = self.player[parents]
        self.player[rows] = 1 - mover
        self.over[rows] = won | (self.moves[rows] == ALL_CELLS)
        rewards = np.where(won, np.where(mover == 0, 1.0, -1.0), 0.0)  # player 0's terms
        return self._describe(rows, rewards)

    def _describe(self, rows: np.ndarray, rewards: np.ndarray) -> Expansion:
        over = self.over[rows]
        legal = (self.heights[rows] < _COLUMN_TOPS) & ~over[:, None]
        values = np.zeros(len(rows))
        live = rows[~over]
        if live.size:
            total = np.zeros(live.size)
            for _ in range(self.rollouts):
                total += connect_four_array_playouts(self.mine[live], self.theirs[live],
                                                     self.heights[live], self.moves[live],
                                                     self.rng)
            values[~over] = total / self.rollouts
        to_play = np.where(over, -1, self.player[rows])
        return Expansion(rows.tolist(), np.ones((len(rows), 1)), values, legal, to_play,
                         rewards)

    def _allocate(self, count: int) -> np.ndarray:
        needed = self.count + count
        if needed > len(self.mine):
            size = max(needed, 2 * len(self.mine))
            for name in ("mine", "theirs", "heights", "moves", "player", "over"):
                old = getattr(self, name)
                grown = np.zeros((size, *old.shape[1:]), dtype=old.dtype)
                grown[:len(old)] = old
                setattr(self, name, grown)
        rows = np.arange(self.count, needed)
        self.count = needed
        return rows
