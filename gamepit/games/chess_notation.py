"""Chess notation shared by the two chess bridges (``openspiel:chess`` and
``pettingzoo:classic.chess_v6``): the replay viewer's board read from a FEN, and PGN export of
a recorded game re-simulated from its replay.

Each bridge hands over what only it knows (its FEN, its moves in UCI, which seat is White), so
this module imports neither bridge. python-chess is imported only when a PGN is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gamepit.errors import ReplayError
from gamepit.protocols import Game, State


def fen_board_view(fen: str) -> dict[str, Any]:
    """The viewer's chess board from a FEN: piece letters row-major from rank 8."""
    cells: list[str] = []
    for rank in fen.split()[0].split("/"):
        for char in rank:
            cells.extend([""] * int(char) if char.isdigit() else [char])
    return {"style": "chess", "rows": 8, "cols": 8, "cells": cells}


def replayed_state(game: Game, replay: Any) -> Any:
    """The state at the end of a replay, re-simulated from its seed and actions."""
    state: State = game.new_state(replay.header.get("seed"))
    for step in replay.steps:
        if state.is_terminal() or not state.legal_mask()[step["action"]]:
            raise ReplayError(f"{replay.path}: step {step['i']}: action {step['action']} is "
                              "illegal on re-simulation")
        state.apply(step["action"])
    return state


def chess_pgn(uci_moves: Sequence[str], replay: Any, white_seat: int) -> str:
    """A PGN of a recorded chess game, from its moves in UCI notation.

    python-chess writes the SAN and checks every move is legal; the result comes from the final
    position, or from the replay when an agent forfeited, and is ``*`` when the game was cut off
    (``max_moves``) before its rules ended it.
    """
    import chess
    import chess.pgn

    board = chess.Board()
    for uci in uci_moves:
        move = chess.Move.from_uci(uci)
        if move not in board.legal_moves:
            raise ValueError(f"chess move {uci} is illegal in {board.fen()}")
        board.push(move)
    pgn = chess.pgn.Game.from_board(board)
    header = replay.header
    agents = list(header.get("agents", ["?", "?"]))
    pgn.headers["Event"] = f"gamepit match {header.get('match_id', '')}".strip()
    pgn.headers["Site"] = "gamepit"
    pgn.headers["Date"] = str(header.get("created", "????.??.??"))[:10].replace("-", ".")
    pgn.headers["Round"] = str(header.get("seed", "-"))
    pgn.headers["White"] = agents[white_seat]
    pgn.headers["Black"] = agents[1 - white_seat]
    end = replay.end or {}
    outcome = board.outcome(claim_draw=True)
    if end.get("forfeit_seat") is not None:
        loser_is_white = end["forfeit_seat"] == white_seat
        pgn.headers["Result"] = "0-1" if loser_is_white else "1-0"
        pgn.headers["Termination"] = f"forfeit: {end.get('forfeit_reason', '')}"
    elif outcome is not None:
        pgn.headers["Result"] = outcome.result()
        pgn.headers["Termination"] = outcome.termination.name.lower()
    else:
        pgn.headers["Result"] = "*"
        pgn.headers["Termination"] = "unterminated"
    return str(pgn) + "\n"
