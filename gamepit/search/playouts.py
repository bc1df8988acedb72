"""Random playouts to the end of the game, the value estimate of UCT with rollouts.

Any State can be played out through its protocol (``legal_actions``/``apply``), which costs a
method call or three per move. Games whose playouts dominate search time register faster
kernels here: one that plays a single game on plain Python values, and one that plays a whole
batch at once in numpy arrays, used when the search hands over many leaves in one call. Both
play uniformly random legal moves, so they estimate the same thing as the generic playout.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gamepit.games.connect_four import ALL_CELLS, COLUMN_TOP, HEIGHT, WIDTH, ConnectFourState
from gamepit.protocols import State

# state type -> (one game: (state, random.Random) -> value for the player to move,
#                many games: (states, np.random.Generator) -> values for the players to move);
# a value is what that player gains from the state to the end of the game.
SingleKernel = Callable[[Any, random.Random], float]
BatchKernel = Callable[[Sequence[Any], np.random.Generator], np.ndarray]
KERNELS: dict[type, tuple[SingleKernel, BatchKernel | None]] = {}
BATCH_KERNEL_FROM = 24  # below this many leaves, numpy's per-call cost outweighs its speed


def register_kernel(state_type: type, single: SingleKernel,
                    batch: BatchKernel | None = None) -> None:
    """Give a state type faster playouts; both kernels must play uniformly random moves."""
    KERNELS[state_type] = (single, batch)


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
    """One random playout from each state: its value for the player to move there."""
    kernels = KERNELS.get(type(states[0])) if states else None
    if kernels and all(type(state) is type(states[0]) for state in states):
        single, batch = kernels
        if batch is not None and len(states) >= BATCH_KERNEL_FROM:
            return batch(states, np_rng)
        return np.array([single(state, rng) for state in states])
    return np.array([playout_state(state, rng) for state in states])


# --------------------------------------------------------------------------- connect four


def _connect_four_single(state: ConnectFourState, rng: random.Random) -> float:
    if state.is_terminal():  # nothing left to gain; returns are 0 until the end here
        return 0.0
    mine, theirs = state.bits[state.player], state.bits[1 - state.player]
    heights = state.heights[:]
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


_COLUMN_TOPS = np.array(COLUMN_TOP, dtype=np.int64)
_BIT = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
_SHIFTS = np.array([1, 7, 6, 8], dtype=np.uint64)
_DOUBLE_SHIFTS = _SHIFTS * np.uint64(2)


def _connect_four_batch(states: Sequence[ConnectFourState], rng: np.random.Generator
                        ) -> np.ndarray:
    values = np.zeros(len(states))  # finished games have nothing left to gain
    rows = [index for index, state in enumerate(states) if not state.is_terminal()]
    picked = [states[i] for i in rows]
    values[rows] = connect_four_array_playouts(
        np.array([s.bits[s.player] for s in picked], dtype=np.uint64),
        np.array([s.bits[1 - s.player] for s in picked], dtype=np.uint64),
        np.array([s.heights for s in picked], dtype=np.int64).reshape(-1, WIDTH),
        np.array([s.moves for s in picked], dtype=np.int64), rng)
    return values


def connect_four_has_four(bits: np.ndarray) -> np.ndarray:
    """Which of many bitboards [K] hold four in a row."""
    pairs = bits[:, None] & (bits[:, None] >> _SHIFTS)
    return (pairs & (pairs >> _DOUBLE_SHIFTS)).any(1)


def connect_four_array_playouts(mine: np.ndarray, theirs: np.ndarray, heights: np.ndarray,
                                moves: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random playouts of unfinished connect four positions held as arrays: the bitboards of
    the player to move and of the other [K] uint64, the next free bit of each column [K, 7]
    and the move count [K]. Returns each mover's result (+1, 0, -1).

    All playouts advance in lockstep, so whose turn it is, relative to each game's start,
    is one number per step; finished games drop out of the arrays.
    """
    values = np.zeros(len(mine))
    live = np.arange(len(mine))
    heights, moves = heights.copy(), moves.copy()
    value = 1.0
    rows = np.arange(live.size)
    while live.size:
        keys = np.where(heights < _COLUMN_TOPS, rng.random(heights.shape), -1.0)
        cells = rows, keys.argmax(1)
        height = heights[cells]
        heights[cells] = height + 1
        mine = mine | _BIT[height]
        won = connect_four_has_four(mine)
        moves += 1
        over = won | (moves == ALL_CELLS)
        if over.any():
            values[live[won]] = value
            keep = ~over
            live, mine, theirs = live[keep], mine[keep], theirs[keep]
            heights, moves = heights[keep], moves[keep]
            rows = rows[:live.size]
        mine, theirs, value = theirs, mine, -value
    return values

assert HEIGHT == 6  # the shifts above assume 7 bits per column of 6 cells
register_kernel(ConnectFourState, _connect_four_single, _connect_four_batch)
