"""Tic-tac-toe: a native simulator, its PettingZoo face, and the 8 board symmetries
(``gamepit.games.symmetry``).

Actions are cells 0..8, row by row. Player 0 plays X and moves first.
"""

from __future__ import annotations

import numpy as np

from gamepit.games.symmetry import board_symmetries
from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Capabilities, Game
from gamepit.protocols import game as game_entry

LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))
_LINES_THROUGH = tuple(tuple(line for line in LINES if cell in line) for cell in range(9))


class TicTacToeState(BaseState):
    """Board of 9 cells holding -1 (empty), 0 or 1 (the player who took it)."""

    __slots__ = ("board", "open", "player", "winner", "moves")

    def __init__(self) -> None:
        self.board = [-1] * 9
        self.open = list(range(9))  # the empty cells, in order, kept as moves fill them
        self.player = 0
        self.winner = -1
        self.moves = 0

    @classmethod
    def from_board(cls, board: list[int] | tuple[int, ...], player: int) -> TicTacToeState:
        """The position with these 9 cells (-1 empty, else the player who took it) and
        ``player`` to move; a completed line makes its owner the winner."""
        state = cls()
        state.board, state.player = list(board), player
        state.open = [cell for cell, mark in enumerate(board) if mark < 0]
        state.moves = 9 - len(state.open)
        state.winner = next((board[a] for a, b, c in LINES
                             if board[a] >= 0 and board[a] == board[b] == board[c]), -1)
        return state

    @property
    def current_player(self) -> int:
        return -1 if self.winner >= 0 or self.moves == 9 else self.player

    def legal_mask(self) -> np.ndarray:
        if self.winner >= 0 or self.moves == 9:
            return np.zeros(9, dtype=bool)
        return np.array(self.board, dtype=np.int8) == -1

    def legal_actions(self) -> list[int]:
        if self.winner >= 0 or self.moves == 9:
            return []
        return self.open[:]

    def apply(self, action: int) -> None:
        board = self.board
        if self.winner >= 0 or self.moves == 9 or not 0 <= action < 9 or board[action] != -1:
            raise ValueError(f"illegal tic-tac-toe action {action}")
        player = self.player
        board[action] = player
        self.open.remove(action)
        self.moves = moves = self.moves + 1
        if moves >= 5:  # the first player's third mark is the earliest line
            for a, b, c in _LINES_THROUGH[action]:
                if board[a] == board[b] == board[c]:
                    self.winner = player
                    break
        self.player = 1 - player

    def clone(self) -> TicTacToeState:
        other = TicTacToeState.__new__(TicTacToeState)
        other.board = self.board[:]
        other.open = self.open[:]
        other.player = self.player
        other.winner = self.winner
        other.moves = self.moves
        return other

    def is_terminal(self) -> bool:
        return self.winner >= 0 or self.moves == 9

    def returns(self) -> list[float]:
        if self.winner < 0:
            return [0.0, 0.0]
        return [1.0, -1.0] if self.winner == 0 else [-1.0, 1.0]

    def observation(self, player: int) -> np.ndarray:
        """Planes (2, 3, 3): the player's marks, then the opponent's."""
        board = np.array(self.board, dtype=np.int8).reshape(3, 3)
        return np.stack([board == player, board == 1 - player]).astype(np.int8)

    def render(self) -> str:
        marks = {-1: ".", 0: "X", 1: "O"}
        rows = [" ".join(marks[c] for c in self.board[r * 3:r * 3 + 3]) for r in range(3)]
        return "\n".join(rows)

    def fingerprint(self) -> bytes:
        return bytes(c + 1 for c in self.board) + bytes([self.player])

    def board_view(self) -> dict:
        marks = {-1: "", 0: "X", 1: "O"}
        return {"style": "grid", "rows": 3, "cols": 3, "cells": [marks[c] for c in self.board]}


class TicTacToe(Game):
    name = "tictactoe"
    num_players = 2
    player_names = ("X", "O")
    num_actions = 9
    observation_shape = (2, 3, 3)
    capabilities = Capabilities(symmetries=True)

    def new_state(self, seed: int | None = None) -> TicTacToeState:
        return TicTacToeState()

    def action_to_string(self, action: int) -> str:
        return f"{'abc'[action % 3]}{3 - action // 3}"

    def string_to_action(self, text: str) -> int:
        text = text.strip().lower()
        if text.isdigit() and 0 <= int(text) < 9:
            return int(text)
        if len(text) == 2 and text[0] in "abc" and text[1] in "123":
            return (3 - int(text[1])) * 3 + "abc".index(text[0])
        raise ValueError("expected a cell 0..8 (row by row) or a square like b2")

    def symmetries(self, observation: np.ndarray, policy: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        return board_symmetries(observation, policy.reshape(3, 3), square=True)


@hookimpl
def gamepit_add_games() -> list:
    return [game_entry("tictactoe", TicTacToe, "Tic-tac-toe on 3x3 (native simulator).")]
