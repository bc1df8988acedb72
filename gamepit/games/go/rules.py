"""The rules of Go on 9x9, 13x13 or 19x19 (any size 2..19 works): OpenSpiel's C++ engine
behind a gamepit state, AlphaGo Zero style observation planes, the 8 board symmetries, and SGF
export. The GTP engine (``gtp``) builds on this module; this module must not import it.

Why OpenSpiel's engine and not our own: it plays about 200,000 random moves a second and clones
in a few microseconds on one core, far beyond what Python can do (``benchmarks/go_speed.py``
prints the figures). This module adds what it lacks: board history for the network planes,
a point numbering from the top left like every other board game here, and the area score as a
number (OpenSpiel only says who won).

Rules, as OpenSpiel plays them: Tromp-Taylor area scoring with komi; suicide is illegal; a
simple ko recapture is illegal; the game ends after two passes in a row, or at ``max_moves``
(2 x size x size by default, so random playouts end) where the board is scored as it stands; a
move that repeats an earlier whole-board position (superko) ends the game as a draw.

Actions: points 0 .. size*size-1 row by row from the top left (A19 .. T1 on 19x19, top row
first), then pass = size*size. Player 0 is Black and moves first. Resigning is not an action:
GTP's ``genmove`` answers ``resign`` when the agent's info dict says ``"resign": True``.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from gamepit.games.symmetry import board_symmetries
from gamepit.protocols import BaseState, Capabilities, Game

COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP and board-diagram letters: no I
MAX_SIZE = 19
MAX_KOMI = 1000.0  # |komi| above this is refused, by the spec parser and by GTP's komi
MAX_HISTORY = 64  # boards per player in the observation
MAX_MOVES = 1_000_000  # the highest move cap a spec may set
_OBSERVERS = threading.local()  # OpenSpiel observation buffers by board size (layout per size)


class GoState(BaseState):
    """A position: the OpenSpiel state plus the recent boards for the observation planes.

    Boards are fetched from OpenSpiel only when an observation asks for them, and a child
    keeps its parent's boards, so playouts never pay for history and a net that observes
    every position along a game pays one board fetch per move.
    """

    __slots__ = ("game", "spiel", "_boards", "_parent_boards", "_legal")

    def __init__(self, game: Go, spiel: Any) -> None:
        self.game = game
        self.spiel = spiel
        self._boards: tuple[np.ndarray, ...] | None = None  # newest first, (2, N, N) each
        self._parent_boards: tuple[np.ndarray, ...] | None = None
        # OpenSpiel's legal moves here, kept from legal_actions (a set) or legal_mask (its mask
        # list) so that apply's legality check does not ask OpenSpiel a second time.
        self._legal: set[int] | list[int] | None = None

    @property
    def current_player(self) -> int:
        player = self.spiel.current_player()
        return player if player >= 0 else -1

    def legal_mask(self) -> np.ndarray:
        spiel_mask = self._legal = self.spiel.legal_actions_mask()
        return np.array(spiel_mask, dtype=bool)[self.game.spiel_order]

    def legal_actions(self) -> list[int]:
        action_of_spiel = self.game.action_of_spiel
        spiel_legal = self.spiel.legal_actions()
        self._legal = set(spiel_legal)
        return sorted([action_of_spiel[a] for a in spiel_legal])

    def apply(self, action: int) -> None:
        game = self.game
        if not 0 <= action < game.num_actions:
            raise ValueError(f"illegal go action {action}: out of range")
        spiel_action = game.spiel_of_action[action]
        # OpenSpiel's apply_action accepts a ko recapture without complaint, so legality is
        # checked here (its mask is terminal-aware and cheaper than its own checked apply).
        legal = self._legal
        if legal is None:
            legal = self.spiel.legal_actions_mask()
        if not (spiel_action in legal if type(legal) is set else legal[spiel_action]):
            raise ValueError(f"illegal go action {action} ({game.action_to_string(action)}): "
                             "occupied, suicide, ko, or the game is over")
        self.spiel.apply_action(spiel_action)
        self._parent_boards = self._boards
        self._boards = None
        self._legal = None

    def clone(self) -> GoState:
        other = GoState.__new__(GoState)
        other.game = self.game
        other.spiel = self.spiel.clone()
        other._boards = self._boards  # tuples of arrays never changed in place: share them
        other._parent_boards = self._parent_boards
        other._legal = self._legal  # replaced, never changed in place
        return other

    def is_terminal(self) -> bool:
        return self.spiel.is_terminal()

    def returns(self) -> list[float]:
        return self.spiel.returns()

    @property
    def moves(self) -> list[int]:
        """The actions played so far, in gamepit numbering."""
        action_of_spiel = self.game.action_of_spiel
        return [action_of_spiel[a] for a in self.spiel.history()]

    def board(self) -> np.ndarray:
        """(2, N, N) int8 planes, row 0 at the top: Black's stones, then White's."""
        return self.recent_boards()[0]

    def recent_boards(self) -> tuple[np.ndarray, ...]:
        """Up to ``game.history`` boards, newest first (fewer early in the game)."""
        if self._boards is None:
            if self._parent_boards is not None:
                self._boards = ((self.game.board_of(self.spiel),)
                                + self._parent_boards[:self.game.history - 1])
            else:
                self._boards = self._rebuild_boards()
        return self._boards

    def _rebuild_boards(self) -> tuple[np.ndarray, ...]:
        """Replay the game from the start to recover boards no state has kept."""
        game = self.game
        history = self.spiel.history()
        replay = game.spiel_game.new_initial_state()
        keep_from = len(history) - game.history + 1  # boards before this move are too old
        boards = [game.board_of(replay)] if keep_from <= 0 else []
        for index, action in enumerate(history):
            replay.apply_action(action)
            if index + 1 >= keep_from:
                boards.append(game.board_of(replay))
        return tuple(reversed(boards))

    def observation(self, player: int) -> np.ndarray:
        """AlphaGo Zero planes (2H+1, N, N) int8 for H = ``game.history``: the player's stones
        now and at the H-1 positions before (all zeros before the game began), then the
        opponent's the same way, then a plane of ones when ``player`` is Black (for the player
        to move: AlphaGo Zero's colour-to-play feature, which tells a net who has komi)."""
        history = self.game.history
        size = self.game.size
        planes = np.zeros((2 * history + 1, size, size), dtype=np.int8)
        for age, board in enumerate(self.recent_boards()):
            planes[age] = board[player]
            planes[history + age] = board[1 - player]
        if player == 0:
            planes[-1] = 1
        return planes

    def area_score(self) -> float:
        """Black's Tromp-Taylor area score minus White's, komi included."""
        return area_score(self.board(), self.game.komi)

    def render(self) -> str:
        size = self.game.size
        black, white = self.board()
        lines = ["   " + " ".join(COLUMNS[:size])]
        for row in range(size):
            marks = ["X" if black[row, col] else "O" if white[row, col] else "."
                     for col in range(size)]
            lines.append(f"{size - row:>2} " + " ".join(marks) + f" {size - row}")
        lines.append(lines[0])
        if self.is_terminal():
            score = self.area_score()
            if score != 0 and self.returns() == [0.0, 0.0]:
                lines.append("game over: a draw by repeating an earlier position (superko)")
            else:
                lines.append(f"game over: {format_score(score)} (X Black, O White)")
        else:
            to_move = "Black (X)" if self.current_player == 0 else "White (O)"
            lines.append(f"{to_move} to play, move {len(self.spiel.history()) + 1}, "
                         f"komi {self.game.komi:g}")
        return "\n".join(lines)

    def board_view(self) -> dict:
        black, white = self.board()
        cells = np.where(black.reshape(-1) == 1, "B", np.where(white.reshape(-1) == 1, "W", ""))
        return {"style": "go", "rows": self.game.size, "cols": self.game.size,
                "cells": cells.tolist()}

    def fingerprint(self) -> bytes:
        # OpenSpiel's text holds komi, the side to move, the move count and the whole board.
        return str(self.spiel).encode()


def area_score(board: np.ndarray, komi: float) -> float:
    """Tromp-Taylor: each side counts its stones plus the empty points that reach only its
    stones; returns Black's count minus White's minus komi. ``board`` is (2, N, N)."""
    black = board[0].astype(bool)
    white = board[1].astype(bool)
    empty = ~(black | white)
    reach_black = _flood(black, empty)
    reach_white = _flood(white, empty)
    black_area = black.sum() + (reach_black & ~reach_white).sum()
    white_area = white.sum() + (reach_white & ~reach_black).sum()
    return float(black_area) - float(white_area) - komi


def _flood(stones: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Empty points connected through empty points to any of ``stones``."""
    reached = np.zeros_like(empty)
    frontier = stones
    while True:
        grown = np.zeros_like(empty)
        grown[1:] |= frontier[:-1]
        grown[:-1] |= frontier[1:]
        grown[:, 1:] |= frontier[:, :-1]
        grown[:, :-1] |= frontier[:, 1:]
        grown &= empty & ~reached
        if not grown.any():
            return reached
        reached |= grown
        frontier = grown


def format_score(score: float) -> str:
    """GTP and SGF style: ``B+3.5``, ``W+0.5``, ``0`` for a draw."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


class Go(Game):
    """Go with Tromp-Taylor rules on OpenSpiel's engine; see the module docstring."""

    name = "go"
    num_players = 2
    player_names = ("black", "white")
    capabilities = Capabilities(symmetries=True)

    def __init__(self, size: int = 9, komi: float = 7.5, history: int = 8,
                 max_moves: int = 0) -> None:
        import pyspiel  # here, not at the top: listing plugins must not load OpenSpiel

        if not 2 <= size <= MAX_SIZE:
            raise ValueError(f"size must be between 2 and {MAX_SIZE}, got {size}")
        if history < 1:
            raise ValueError("history must be at least 1")
        if max_moves < 0:
            raise ValueError("max_moves must be 0 (the default, 2 x size x size) or more")
        self.size = size
        self.komi = float(komi)
        self.history = history
        self.max_moves = max_moves or 2 * size * size
        self.pass_action = size * size
        self.num_actions = size * size + 1
        self.observation_shape = (2 * history + 1, size, size)
        self.spiel_game = pyspiel.load_game("go", {
            "board_size": size, "komi": self.komi, "max_game_length": self.max_moves})
        # OpenSpiel numbers points from the bottom left (a1 = 0); we number from the top left
        # so actions line up with the observation planes.
        points = np.arange(size * size).reshape(size, size)
        self.spiel_of_action = np.append(points[::-1].reshape(-1), size * size).tolist()
        self.spiel_order = np.array(self.spiel_of_action)  # for fancy indexing of masks
        self.action_of_spiel = np.argsort(self.spiel_order).tolist()

    def new_state(self, seed: int | None = None) -> GoState:
        return GoState(self, self.spiel_game.new_initial_state())

    def board_of(self, spiel_state: Any) -> np.ndarray:
        """(2, N, N) int8 Black and White planes of an OpenSpiel state, row 0 at the top."""
        observers = _OBSERVERS.__dict__  # per thread: an abandoned slow move may still run
        observer = observers.get(self.size)
        if observer is None:
            from open_spiel.python.observation import make_observation

            observer = observers[self.size] = make_observation(self.spiel_game)
        observer.set_from(spiel_state, 0)  # fills a numpy buffer in place: no Python list
        size = self.size
        board = observer.tensor[:2 * size * size].reshape(2, size, size)[:, ::-1].astype(np.int8)
        board.flags.writeable = False  # states share boards with their clones and children
        return board

    # ------------------------------------------------------------------ moves as text

    def point(self, action: int) -> tuple[int, int]:
        """(row from the top, column) of a point action."""
        return divmod(action, self.size)

    def action_to_string(self, action: int) -> str:
        """GTP vertex: ``D4``, ``pass``."""
        if action == self.pass_action:
            return "pass"
        row, col = self.point(action)
        return f"{COLUMNS[col]}{self.size - row}"

    def string_to_action(self, text: str) -> int:
        """A GTP vertex (``D4``, ``pass``, any case) or an action number."""
        text = text.strip()
        if text.isdigit() and int(text) < self.num_actions:
            return int(text)
        if text.lower() == "pass":
            return self.pass_action
        letter, number = text[:1].upper(), text[1:]
        hint = f"expected a point A1..{COLUMNS[self.size - 1]}{self.size} (no I) or pass"
        if not letter or letter not in COLUMNS[:self.size] or not number.isdigit():
            raise ValueError(hint)
        rank = int(number)
        if not 1 <= rank <= self.size:
            raise ValueError(hint)
        return (self.size - rank) * self.size + COLUMNS.index(letter)

    # ------------------------------------------------------------------ learning, export

    def symmetries(self, observation: np.ndarray, policy: np.ndarray
                   ) -> list[tuple[np.ndarray, np.ndarray]]:
        """The 8 rotations and reflections; the pass entry of each policy stays last."""
        policy = np.asarray(policy)
        board_policy = policy[:-1].reshape(self.size, self.size)
        return [(obs, np.append(pol, policy[-1]))
                for obs, pol in board_symmetries(observation, board_policy, square=True)]

    def export(self, replay: Any, fmt: str) -> str:
        if fmt != "sgf":
            return super().export(replay, fmt)
        return replay_to_sgf(self, replay)


def _sgf_text(value: Any) -> str:
    """An SGF SimpleText value: backslash and ']' escaped, on one line."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("]", "\\]")


def replay_to_sgf(game: Go, replay: Any) -> str:
    """SGF FF[4] of a recorded game: players by seat (Black is seat 0), komi, result, moves."""
    header = replay.header
    state = game.new_state(header.get("seed"))
    nodes = []
    for step in replay.steps:
        action = step["action"]
        colour = "B" if state.current_player == 0 else "W"
        state.apply(action)
        if action == game.pass_action:
            nodes.append(f";{colour}[]")
        else:
            row, col = game.point(action)
            nodes.append(f";{colour}[{chr(97 + col)}{chr(97 + row)}]")
    end = replay.end
    if end is None:
        result = "?"
    elif end.get("forfeit_seat") is not None:
        result = ("W" if end["forfeit_seat"] == 0 else "B") + "+F"
    elif state.is_terminal() and state.returns() == [0.0, 0.0]:
        result = "0"  # a superko repetition or an exact tie
    else:
        result = format_score(state.area_score())
    agents = list(header.get("agents", ["?", "?"])) + ["?", "?"]
    root = [
        "FF[4]", "GM[1]", "CA[UTF-8]", "AP[gamepit]", f"SZ[{game.size}]", f"KM[{game.komi:g}]",
        "RU[Tromp-Taylor]", f"PB[{_sgf_text(agents[0])}]", f"PW[{_sgf_text(agents[1])}]",
        f"RE[{result}]",
    ]
    created = str(header.get("created", ""))[:10]
    if created:
        root.append(f"DT[{_sgf_text(created)}]")
    root.append(f"GC[gamepit replay {_sgf_text(header.get('match_id', ''))}]")
    lines = ["(;" + "".join(root)]
    for start in range(0, len(nodes), 10):
        lines.append("".join(nodes[start:start + 10]))
    return "\n".join(lines) + ")\n"
