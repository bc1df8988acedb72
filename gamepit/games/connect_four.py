"""Connect four on the standard 7 columns by 6 rows, with bitboards for fast playouts.

Actions are columns 0..6. Each column takes 7 bits of a Python int (6 cells and a sentinel),
so a win test is four shifts and ands.

Search spends most of its time here, so the state offers the search's optional fast paths
(documented where the search looks them up): a random playout on plain ints
(``gamepit.search.playouts``), many playouts and many observations at once in numpy arrays
(``playouts``, ``gamepit.search.encoders``), and ``ConnectFourArrayModel``, these same rules
on rows of arrays behind the search tree's ``Model`` seam (``gamepit.search.array_models``).
Each must agree with the plain rules; the search tests check them side by side.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from gamepit.games.symmetry import board_symmetries
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Expansion, Game
from gamepit.protocols import game as game_entry

WIDTH, HEIGHT = 7, 6
COLUMN_TOP = [col * 7 + HEIGHT for col in range(WIDTH)]  # first bit above each column
ALL_CELLS = 42


def has_four(bits: int) -> bool:
    for shift in (1, 7, 6, 8):  # vertical, horizontal, the two diagonals
        pairs = bits & (bits >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


def _windows() -> list[int]:
    windows = []
    for col in range(WIDTH):
        for row in range(HEIGHT):
            for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                cells = [(col + dc * k, row + dr * k) for k in range(4)]
                if all(0 <= c < WIDTH and 0 <= r < HEIGHT for c, r in cells):
                    windows.append(sum(1 << (c * 7 + r) for c, r in cells))
    return windows


WINDOWS = _windows()  # the 69 lines of four cells
_WINDOW_SCORE = (0, 1, 4, 16, 0)


class ConnectFourState(BaseState):
    __slots__ = ("bits", "heights", "open", "player", "winner", "moves")

    def __init__(self) -> None:
        self.bits = [0, 0]
        self.heights = [col * 7 for col in range(WIDTH)]
        self.open = list(range(WIDTH))  # the columns with room, kept as moves fill them
        self.player = 0
        self.winner = -1
        self.moves = 0

    @property
    def current_player(self) -> int:
        return -1 if self.winner >= 0 or self.moves == ALL_CELLS else self.player

    def legal_mask(self) -> np.ndarray:
        mask = np.zeros(WIDTH, dtype=bool)
        if self.winner < 0 and self.moves < ALL_CELLS:
            mask[self.open] = True
        return mask

    def legal_actions(self) -> list[int]:
        if self.winner >= 0 or self.moves == ALL_CELLS:
            return []
        return self.open[:]

    def apply(self, action: int) -> None:
        heights = self.heights
        if (self.winner >= 0 or self.moves == ALL_CELLS or not 0 <= action < WIDTH
                or heights[action] >= COLUMN_TOP[action]):
            raise ValueError(f"illegal connect four action {action}")
        player = self.player
        bits = self.bits[player] | 1 << heights[action]
        self.bits[player] = bits
        heights[action] += 1
        if heights[action] == COLUMN_TOP[action]:
            self.open.remove(action)
        self.moves += 1
        # has_four unrolled (this runs once a move of every playout through the protocol)
        if (((pairs := bits & (bits >> 1)) & (pairs >> 2))
                or ((pairs := bits & (bits >> 7)) & (pairs >> 14))
                or ((pairs := bits & (bits >> 6)) & (pairs >> 12))
                or ((pairs := bits & (bits >> 8)) & (pairs >> 16))):
            self.winner = player
        self.player = 1 - player

    def clone(self) -> ConnectFourState:
        other = ConnectFourState.__new__(ConnectFourState)
        other.bits = self.bits[:]
        other.heights = self.heights[:]
        other.open = self.open[:]
        other.player = self.player
        other.winner = self.winner
        other.moves = self.moves
        return other

    def is_terminal(self) -> bool:
        return self.winner >= 0 or self.moves == ALL_CELLS

    def returns(self) -> list[float]:
        if self.winner < 0:
            return [0.0, 0.0]
        return [1.0, -1.0] if self.winner == 0 else [-1.0, 1.0]

    def heuristic_value(self, player: int) -> float:
        """Open lines of four, weighted by how full they are, in (-0.5, 0.5) for ``player``;
        used by depth-limited search at its horizon."""
        mine, theirs = self.bits[player], self.bits[1 - player]
        score = 0
        for window in WINDOWS:
            a, b = window & mine, window & theirs
            if not b:
                score += _WINDOW_SCORE[a.bit_count()]
            elif not a:
                score -= _WINDOW_SCORE[b.bit_count()]
        return float(np.tanh(score / 40.0)) * 0.5

    def board(self) -> np.ndarray:
        """(6, 7) array, row 0 at the top: -1 empty, else the player."""
        grid = np.full((HEIGHT, WIDTH), -1, dtype=np.int8)
        for player in (0, 1):
            bits = self.bits[player]
            for col in range(WIDTH):
                for row in range(HEIGHT):
                    if bits >> (col * 7 + row) & 1:
                        grid[HEIGHT - 1 - row, col] = player
        return grid

    def observation(self, player: int) -> np.ndarray:
        """Planes (2, 6, 7), row 0 at the top: the player's discs, then the opponent's."""
        grid = self.board()
        return np.stack([grid == player, grid == 1 - player]).astype(np.int8)

    def render(self) -> str:
        marks = {-1: ".", 0: "X", 1: "O"}
        rows = [" ".join(marks[int(c)] for c in row) for row in self.board()]
        return "\n".join(rows + [" ".join(str(c) for c in range(WIDTH))])

    def board_view(self) -> dict:
        marks = {-1: "", 0: "X", 1: "O"}
        return {"style": "discs", "rows": HEIGHT, "cols": WIDTH,
                "cells": [marks[int(c)] for c in self.board().reshape(-1)]}

    def fingerprint(self) -> bytes:
        return b"%d|%d|%d" % (self.bits[0], self.bits[1], self.player)

    # ------------------------------------------------------------------ fast paths for search

    def random_playout(self, rng: random.Random) -> float:
        """One uniformly random playout on plain ints: what the player to move gains from
        here to the end (+1, 0, -1; 0 if the game is already over)."""
        if self.is_terminal():  # nothing left to gain; returns are 0 until the end here
            return 0.0
        mine, theirs = self.bits[self.player], self.bits[1 - self.player]
        heights = self.heights[:]
        columns = [col for col in range(WIDTH) if heights[col] < COLUMN_TOP[col]]
        draw = rng.random
        value = 1.0  # the mover's result if this move wins, seen by the player at the start
        while True:
            col = columns[int(draw() * len(columns))]
            height = heights[col]
            mine |= 1 << height
            heights[col] = height + 1
            if height + 1 == COLUMN_TOP[col]:
                columns.remove(col)
            # has_four unrolled: this loop is the whole cost of a rollout
            pairs = mine & (mine >> 1)
            if pairs & (pairs >> 2):
                return value
            pairs = mine & (mine >> 7)
            if pairs & (pairs >> 14):
                return value
            pairs = mine & (mine >> 6)
            if pairs & (pairs >> 12):
                return value
            pairs = mine & (mine >> 8)
            if pairs & (pairs >> 16):
                return value
            if not columns:
                return 0.0
            mine, theirs, value = theirs, mine, -value

    @staticmethod
    def batch_random_playouts(states: Sequence[ConnectFourState], rng: np.random.Generator
                              ) -> np.ndarray:
        """``random_playout`` of many states at once, on arrays (``array_playouts``)."""
        values = np.zeros(len(states))  # finished games have nothing left to gain
        rows = [index for index, state in enumerate(states) if not state.is_terminal()]
        picked = [states[i] for i in rows]
        values[rows] = array_playouts(
            np.array([s.bits[s.player] for s in picked], dtype=np.uint64),
            np.array([s.bits[1 - s.player] for s in picked], dtype=np.uint64),
            np.array([s.heights for s in picked], dtype=np.int64).reshape(-1, WIDTH),
            np.array([s.moves for s in picked], dtype=np.int64),
            rng.integers(0, 2**64, len(picked), dtype=np.uint64))
        return values

    @staticmethod
    def batch_observations(states: Sequence[ConnectFourState]) -> np.ndarray:
        """``observation(current_player)`` of many states, stacked [K, 2, 6, 7] int8."""
        bits = np.array([(s.bits[s.player], s.bits[1 - s.player]) for s in states],
                        dtype=np.uint64)  # [K, 2]: the player to move, then the opponent
        return ((bits[:, :, None, None] >> _CELL_BITS) & np.uint64(1)).astype(np.int8)

    @staticmethod
    def array_model(rollouts: int = 1, seed: int | None = None, capacity: int = 4096
                    ) -> ConnectFourArrayModel:
        """These rules on rows of arrays, for searching many trees at once."""
        return ConnectFourArrayModel(rollouts, seed, capacity)


class ConnectFour(Game):
    name = "connect_four"
    num_players = 2
    player_names = ("X", "O")
    num_actions = WIDTH
    observation_shape = (2, HEIGHT, WIDTH)
    capabilities = Capabilities(symmetries=True)

    def new_state(self, seed: int | None = None) -> ConnectFourState:
        return ConnectFourState()

    def string_to_action(self, text: str) -> int:
        text = text.strip()
        if text.isdigit() and 0 <= int(text) < WIDTH:
            return int(text)
        raise ValueError(f"expected a column 0..{WIDTH - 1}")

    def symmetries(self, observation: np.ndarray, policy: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        return board_symmetries(observation, policy.reshape(1, WIDTH), square=False)


# --------------------------------------------------------------------------- the rules on arrays
# Many positions as rows of numpy arrays, for search at rates where a Python State per position
# is the bottleneck: the bitboard of the player to move and of the other [K] uint64, the next
# free bit of each column [K, 7] and the move count [K].
#
# Random playouts here draw from counter-based streams: each row carries a 64-bit key, and
# every move of its playout takes the next SplitMix64 output of that key. A row's playout so
# depends on its key alone, never on the other rows played beside it, which lets a search
# value a tree's leaves the same whether the tree is searched alone or in any batch.

assert HEIGHT == 6  # the shifts below assume 7 bits per column of 6 cells
_COLUMN_TOPS = np.array(COLUMN_TOP, dtype=np.int64)
_BIT = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
_SHIFTS = np.array([1, 7, 6, 8], dtype=np.uint64)
_DOUBLE_SHIFTS = _SHIFTS * np.uint64(2)
# Bit number of each cell of the observation planes (rows, columns), row 0 at the top.
_CELL_BITS = np.array([[col * 7 + (HEIGHT - 1 - row) for col in range(WIDTH)]
                       for row in range(HEIGHT)], dtype=np.uint64)
# SplitMix64 (Steele, Lea and Flood 2014): the increment and the two multipliers.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_U30, _U27, _U31, _U32 = (np.uint64(n) for n in (30, 27, 31, 32))
# A child's key is its parent's advanced by (move + 1) of this odd step, then mixed: a step
# other than the streams' own increment, so that no child's key is an output of its parent's
# playout stream (with a step equal to it, move 0's child would replay that stream one draw
# later, and the two playouts would be nearly the same game).
_CHILD = np.uint64(0xD1B54A32D192ED03)


def mix_keys(keys: np.ndarray) -> np.ndarray:
    """The next SplitMix64 output of each key (uint64, [K] or one; the key advanced by the
    increment, then mixed): a stream's step, and a good hash of a key. The compiled loops
    call it on single keys."""
    z = keys + _GOLDEN
    z = (z ^ (z >> _U30)) * _MIX1
    z = (z ^ (z >> _U27)) * _MIX2
    return z ^ (z >> _U31)


def array_has_four(bits: np.ndarray) -> np.ndarray:
    """Which of many bitboards [K] hold four in a row."""
    pairs = bits[:, None] & (bits[:, None] >> _SHIFTS)
    return (pairs & (pairs >> _DOUBLE_SHIFTS)).any(1)


def array_playouts(mine: np.ndarray, theirs: np.ndarray, heights: np.ndarray,
                   moves: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Uniformly random playouts of unfinished positions held as arrays (the layout above),
    row ``i`` drawing its moves from the stream of ``keys[i]``. Returns each mover's result
    (+1, 0, -1). Compiled with numba where it is installed (``playouts_loop``), else played
    in numpy (``playouts_in_numpy``): the two give the same values."""
    kernels = compiled_kernels()
    if kernels is None:
        return playouts_in_numpy(mine, theirs, heights, moves, keys)
    values = np.zeros(len(mine))
    kernels[0](np.ascontiguousarray(mine, dtype=np.uint64),
               np.ascontiguousarray(theirs, dtype=np.uint64),
               np.ascontiguousarray(heights, dtype=np.int64),
               np.ascontiguousarray(moves, dtype=np.int64),
               np.ascontiguousarray(keys, dtype=np.uint64), _COLUMN_TOPS, values)
    return values


def playouts_in_numpy(mine: np.ndarray, theirs: np.ndarray, heights: np.ndarray,
                      moves: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``array_playouts`` as array operations: all playouts advance in lockstep, so whose
    turn it is, relative to each game's start, is one number per step; finished games drop
    out of the arrays. A move takes the ``(key >> 32) * open // 2**32``-th open column."""
    values = np.zeros(len(mine))
    live = np.arange(len(mine))
    heights, moves, keys = heights.copy(), moves.copy(), keys.copy()
    value = 1.0
    rows = np.arange(live.size)
    while live.size:
        keys = mix_keys(keys)
        open_ = heights < _COLUMN_TOPS
        picks = (((keys >> _U32) * open_.sum(1).astype(np.uint64)) >> _U32).astype(np.int64)
        cells = rows, (open_.cumsum(1) > picks[:, None]).argmax(1)
        height = heights[cells]
        heights[cells] = height + 1
        mine = mine | _BIT[height]
        won = array_has_four(mine)
        moves += 1
        over = won | (moves == ALL_CELLS)
        if over.any():
            values[live[won]] = value
            keep = ~over
            live, mine, theirs = live[keep], mine[keep], theirs[keep]
            heights, moves, keys = heights[keep], moves[keep], keys[keep]
            rows = rows[:live.size]
        mine, theirs, value = theirs, mine, -value
    return values


def playout_row(movers: np.uint64, waiting: np.uint64, height: np.ndarray, count: int,
                key: np.uint64, tops: np.ndarray) -> float:
    """One row's playout (``height``: a copy of its column heights, changed here): the mover's
    result. Plain Python that numba compiles (see ``compiled_kernels``)."""
    one, u2, u6, u7, u8 = np.uint64(1), np.uint64(2), np.uint64(6), np.uint64(7), np.uint64(8)
    u12, u14, u16 = np.uint64(12), np.uint64(14), np.uint64(16)
    u32 = np.uint64(32)
    value = 1.0
    while True:
        key = mix_keys(key)
        open_ = 0
        for col in range(7):
            if height[col] < tops[col]:
                open_ += 1
        pick = ((key >> u32) * np.uint64(open_)) >> u32
        col = 0
        for col in range(7):
            if height[col] < tops[col]:
                if pick == 0:
                    break
                pick -= one
        movers = movers | (one << np.uint64(height[col]))
        height[col] += 1
        count += 1
        pairs = movers & (movers >> one)
        won = pairs & (pairs >> u2)
        pairs = movers & (movers >> u7)
        won |= pairs & (pairs >> u14)
        pairs = movers & (movers >> u6)
        won |= pairs & (pairs >> u12)
        pairs = movers & (movers >> u8)
        won |= pairs & (pairs >> u16)
        if won:
            return value
        if count == 42:
            return 0.0
        movers, waiting, value = waiting, movers, -value


def playouts_loop(mine: np.ndarray, theirs: np.ndarray, heights: np.ndarray,
                  moves: np.ndarray, keys: np.ndarray, tops: np.ndarray, values: np.ndarray
                  ) -> None:
    """``array_playouts`` one row at a time, into ``values``: the code numba compiles (run
    as it is, it is the slow reference the tests hold the other two to)."""
    for row in range(mine.shape[0]):
        values[row] = playout_row(mine[row], theirs[row], heights[row].copy(), moves[row],
                                  keys[row], tops)


def step_row(arrays: tuple, parent: int, action: int, row: int, rollouts: int,
             legal: np.ndarray) -> tuple[bool, float, int, float]:
    """Play ``action`` from row ``parent`` into row ``row`` of ``arrays`` (the model's
    columns, then the column tops: ``ConnectFourArrayModel.compiled_step``), write its legal
    moves into ``legal``; returns (whether the move was legal, the value of the mean of
    ``rollouts`` playouts, the player to move or -1, the reward in player 0's terms). Plain
    Python that numba compiles, for ``recurrent_loop`` and for the search's own loop."""
    mine, theirs, heights, moves, player, over, key, tops = arrays
    cell = heights[parent, action]
    if cell >= tops[action] or over[parent]:
        return False, 0.0, -1, 0.0
    moved = mine[parent] | (np.uint64(1) << np.uint64(cell))
    won = False
    for shift in (1, 7, 6, 8):
        pairs = moved & (moved >> np.uint64(shift))
        if pairs & (pairs >> np.uint64(2 * shift)):
            won = True
    mine[row], theirs[row] = theirs[parent], moved
    heights[row, :] = heights[parent, :]
    heights[row, action] = cell + 1
    moves[row] = moves[parent] + 1
    mover = player[parent]
    player[row] = 1 - mover
    over[row] = won or moves[row] == 42
    key[row] = mix_keys(key[parent] + np.uint64(action + 1) * _CHILD)
    reward = (1.0 if mover == 0 else -1.0) if won else 0.0
    for col in range(7):
        legal[col] = heights[row, col] < tops[col] and not over[row]
    if over[row]:
        return True, 0.0, -1, reward
    total = 0.0
    for rollout in range(rollouts):
        total += playout_row(mine[row], theirs[row], heights[row].copy(), moves[row],
                             key[row] + np.uint64(rollout), tops)
    return True, total / max(rollouts, 1), int(player[row]), reward


def recurrent_loop(arrays: tuple, parents: np.ndarray, actions: np.ndarray, rows: np.ndarray,
                   rollouts: int, legal: np.ndarray, values: np.ndarray, to_play: np.ndarray,
                   rewards: np.ndarray) -> bool:
    """``ConnectFourArrayModel.recurrent`` one row at a time (``step_row``), the answers into
    the outputs. False at an illegal move. Compiled like ``playouts_loop``."""
    for i in range(parents.shape[0]):
        legal_move, value, player, reward = step_row(arrays, parents[i], actions[i], rows[i],
                                                     rollouts, legal[i])
        if not legal_move:
            return False
        values[i], to_play[i], rewards[i] = value, player, reward
    return True


_KERNELS: list = []  # (playouts_loop, recurrent_loop, step_row) compiled, or None; empty until
# asked


def compiled_kernels():  # noqa: ANN201 (numba's dispatchers have no public type)
    """``playouts_loop``, ``recurrent_loop`` and ``step_row`` compiled by numba on first use
    (cached on disk: a few seconds the first time on a machine, which ``make install``
    spends), or None where numba is missing or cannot compile them."""
    if not _KERNELS:
        try:
            import numba
            from numba import types
            from numba.extending import register_jitable

            register_jitable(mix_keys)  # callable from compiled code, plain from Python
            register_jitable(playout_row)
            register_jitable(step_row)
            model = ConnectFourArrayModel(1, 0, 4)  # a probe: compile for these types
            model.append({**model.encode([ConnectFourState()]), "key": np.ones(1, np.uint64)})
            ints = types.int64
            # One explicit signature: a search passes it on as a first-class function.
            step = types.Tuple((types.boolean, types.float64, ints, types.float64))(
                numba.typeof(model.arrays()), ints, ints, ints, ints,
                types.Array(types.boolean, 1, "C"))
            kernels = (numba.njit(cache=True, nogil=True)(playouts_loop),
                       numba.njit(cache=True, nogil=True)(recurrent_loop),
                       numba.njit(step, cache=True, nogil=True)(step_row))
            model._recurrent_compiled(kernels[1], [0], np.array([3]))
            kernels[0](model.mine[:1], model.theirs[:1], model.heights[:1], model.moves[:1],
                       model.key[:1], _COLUMN_TOPS, np.zeros(1))
            kernels[2](model.arrays(), 0, 2, 2, 1, np.zeros(WIDTH, dtype=bool))
        except Exception:  # noqa: BLE001 (no numba, or one that cannot compile here)
            kernels = None
        _KERNELS.append(kernels)
    return _KERNELS[0]


class ConnectFourArrayModel:
    """Connect four behind the search tree's ``Model`` seam: a handle is a row number into
    the arrays, ``recurrent`` plays one move in every row at once, and leaves are valued by
    ``rollouts`` random playouts run on the same arrays (0: value 0, for PUCT with uniform
    priors).

    Each row carries a key for its playouts: a root's comes from ``initial`` (``keys``, one
    per tree of a batched search) or the model's generator, and a child's is its parent's
    advanced by the move and mixed (``_CHILD``). A tree's values so depend on its root's
    key and its own moves alone.
    ``columns`` names the row arrays, which ``gather`` and ``append`` copy out and in (a kept
    subtree moves its rows to the next search's model that way)."""

    num_actions = WIDTH
    columns = ("mine", "theirs", "heights", "moves", "player", "over", "key")

    def __init__(self, rollouts: int = 1, seed: int | None = None, capacity: int = 4096
                 ) -> None:
        if rollouts < 0:
            raise ValueError("rollouts must be 0 or more")
        self.rollouts = rollouts
        self.rng = np.random.default_rng(seed)
        self.count = 0
        self.mine = np.zeros(capacity, dtype=np.uint64)  # bits of the player to move
        self.theirs = np.zeros(capacity, dtype=np.uint64)
        self.heights = np.zeros((capacity, WIDTH), dtype=np.int64)  # next free bit per column
        self.moves = np.zeros(capacity, dtype=np.int64)
        self.player = np.zeros(capacity, dtype=np.int64)  # who is to move (0 or 1)
        self.over = np.zeros(capacity, dtype=bool)
        self.key = np.zeros(capacity, dtype=np.uint64)  # of the playouts from this row

    @staticmethod
    def encode(states: Sequence[ConnectFourState]) -> dict[str, np.ndarray]:
        """The row arrays of ``states`` (all columns but ``key``)."""
        return {"mine": np.array([s.bits[s.player] for s in states], dtype=np.uint64),
                "theirs": np.array([s.bits[1 - s.player] for s in states], dtype=np.uint64),
                "heights": np.array([s.heights for s in states],
                                    dtype=np.int64).reshape(-1, WIDTH),
                "moves": np.array([s.moves for s in states], dtype=np.int64),
                "player": np.array([s.player for s in states], dtype=np.int64),
                "over": np.array([s.is_terminal() for s in states], dtype=bool)}

    def initial(self, roots: Sequence[ConnectFourState], keys: Sequence[int] | None = None
                ) -> Expansion:
        """The roots' expansion; ``keys[i]`` seeds the playouts of root ``i``'s tree."""
        block = self.encode(roots)
        block["key"] = (np.array(keys, dtype=np.uint64) if keys is not None
                        else self.rng.integers(0, 2**64, len(roots), dtype=np.uint64))
        rows = self.append(block)
        return self._describe(rows, np.zeros(len(roots)))

    def recurrent(self, handles: Sequence[int], actions: np.ndarray) -> Expansion:
        kernels = compiled_kernels()
        if kernels is not None:
            return self._recurrent_compiled(kernels[1], handles, actions)
        parents = np.asarray(handles, dtype=np.int64)
        cells = self.heights[parents, actions]
        if (cells >= _COLUMN_TOPS[actions]).any() or self.over[parents].any():
            raise ValueError("illegal connect four action in the search")
        rows = self._allocate(len(parents))
        moved = self.mine[parents] | _BIT[cells]
        won = array_has_four(moved)
        self.mine[rows], self.theirs[rows] = self.theirs[parents], moved
        self.heights[rows] = self.heights[parents]
        self.heights[rows, actions] = cells + 1
        self.moves[rows] = self.moves[parents] + 1
        mover = self.player[parents]
        self.player[rows] = 1 - mover
        self.over[rows] = won | (self.moves[rows] == ALL_CELLS)
        self.key[rows] = mix_keys(self.key[parents] + (np.asarray(actions, dtype=np.uint64)
                                                      + np.uint64(1)) * _CHILD)
        rewards = np.where(won, np.where(mover == 0, 1.0, -1.0), 0.0)  # player 0's terms
        return self._describe(rows, rewards)

    def _recurrent_compiled(self, kernel: Any, handles: Sequence[int], actions: np.ndarray
                            ) -> Expansion:
        """``recurrent`` by the compiled ``recurrent_loop``: the same rows and answers."""
        count = len(handles)
        rows = self._allocate(count)
        legal = np.empty((count, WIDTH), dtype=bool)
        values, rewards = np.empty(count), np.empty(count)
        to_play = np.empty(count, dtype=np.int64)
        if not kernel(self.arrays(), np.asarray(handles, dtype=np.int64),
                      np.asarray(actions, dtype=np.int64), rows, self.rollouts, legal, values,
                      to_play, rewards):
            self.count -= count
            raise ValueError("illegal connect four action in the search")
        return Expansion(rows.tolist(), np.ones((count, 1)), values, legal, to_play, rewards)

    def arrays(self) -> tuple:
        """The row arrays in ``step_row``'s order, then the column tops (the arrays
        themselves: valid until the next growth)."""
        return (self.mine, self.theirs, self.heights, self.moves, self.player, self.over,
                self.key, _COLUMN_TOPS)

    def compiled_step(self, rows: int) -> tuple[tuple, Any, int, int] | None:
        """For a search's compiled loop (``gamepit.search.compiled``): room made for ``rows``
        more rows, then (the arrays, ``step_row`` compiled, the rollouts, the next free row),
        or None where numba is missing. The loop takes rows from the next free one on and
        hands back how far it went (``used``)."""
        kernels = compiled_kernels()
        if kernels is None:
            return None
        self._allocate(rows)  # grow once now, so the arrays stay the same during the loop
        self.count -= rows
        return self.arrays(), kernels[2], self.rollouts, self.count

    def used(self, next_row: int) -> None:
        """The rows a compiled loop took, up to ``next_row``."""
        self.count = next_row

    def observations(self, rows: Sequence[int]) -> np.ndarray:
        """``observation(current_player)`` of the given rows, [K, 2, 6, 7] int8 (as
        ``ConnectFourState.batch_observations``): for a network valuing the rows."""
        index = np.asarray(rows, dtype=np.int64)
        bits = np.stack([self.mine[index], self.theirs[index]], 1)  # the mover's, the other's
        return ((bits[:, :, None, None] >> _CELL_BITS) & np.uint64(1)).astype(np.int8)

    def gather(self, rows: Sequence[int]) -> dict[str, np.ndarray]:
        """Copies of the given rows, column by column."""
        index = np.asarray(rows, dtype=np.int64)
        return {name: getattr(self, name)[index] for name in self.columns}

    def append(self, block: dict[str, np.ndarray]) -> np.ndarray:
        """Store rows (as ``gather`` gives them) after the last; returns their numbers."""
        rows = self._allocate(len(block["mine"]))
        for name in self.columns:
            getattr(self, name)[rows] = block[name]
        return rows

    def _describe(self, rows: np.ndarray, rewards: np.ndarray) -> Expansion:
        over = self.over[rows]
        legal = (self.heights[rows] < _COLUMN_TOPS) & ~over[:, None]
        values = np.zeros(len(rows))
        live = rows[~over]
        if live.size and self.rollouts:
            total = np.zeros(live.size)
            for rollout in range(self.rollouts):
                total += array_playouts(self.mine[live], self.theirs[live], self.heights[live],
                                        self.moves[live], self.key[live] + np.uint64(rollout))
            values[~over] = total / self.rollouts
        to_play = np.where(over, -1, self.player[rows])
        return Expansion(rows.tolist(), np.ones((len(rows), 1)), values, legal, to_play,
                         rewards)

    def _allocate(self, count: int) -> np.ndarray:
        needed = self.count + count
        if needed > len(self.mine):
            size = max(needed, 2 * len(self.mine))
            for name in self.columns:
                old = getattr(self, name)
                grown = np.zeros((size, *old.shape[1:]), dtype=old.dtype)
                grown[:len(old)] = old
                setattr(self, name, grown)
        rows = np.arange(self.count, needed)
        self.count = needed
        return rows


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry("connect_four", ConnectFour,
                       "Connect four, 7x6 (native bitboard simulator).")]
