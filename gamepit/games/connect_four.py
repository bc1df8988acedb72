"""Connect four on the standard 7 columns by 6 rows, with bitboards for fast playouts.

Actions are columns 0..6. Each column takes 7 bits of a Python int (6 cells and a sentinel),
so a win test is four shifts and ands.
"""

from __future__ import annotations

import numpy as np

from gamepit.games.symmetry import board_symmetries
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game
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
    __slots__ = ("bits", "heights", "player", "winner", "moves")

    def __init__(self) -> None:
        self.bits = [0, 0]
        self.heights = [col * 7 for col in range(WIDTH)]
        self.player = 0
        self.winner = -1
        self.moves = 0

    @property
    def current_player(self) -> int:
        return -1 if self.winner >= 0 or self.moves == ALL_CELLS else self.player

    def legal_mask(self) -> np.ndarray:
        if self.is_terminal():
            return np.zeros(WIDTH, dtype=bool)
        return np.array([h < t for h, t in zip(self.heights, COLUMN_TOP)], dtype=bool)

    def legal_actions(self) -> list[int]:
        if self.is_terminal():
            return []
        return [c for c in range(WIDTH) if self.heights[c] < COLUMN_TOP[c]]

    def apply(self, action: int) -> None:
        if (self.is_terminal() or not 0 <= action < WIDTH
                or self.heights[action] >= COLUMN_TOP[action]):
            raise ValueError(f"illegal connect four action {action}")
        player = self.player
        self.bits[player] |= 1 << self.heights[action]
        self.heights[action] += 1
        self.moves += 1
        if has_four(self.bits[player]):
            self.winner = player
        self.player = 1 - player

    def clone(self) -> ConnectFourState:
        other = ConnectFourState.__new__(ConnectFourState)
        other.bits = self.bits[:]
        other.heights = self.heights[:]
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


class ConnectFour(Game):
    name = "connect_four"
    num_players = 2
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


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry("connect_four", ConnectFour,
                       "Connect four, 7x6 (native bitboard simulator).")]
