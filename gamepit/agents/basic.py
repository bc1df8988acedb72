"""Non-neural agents: ``random`` and ``alphabeta`` (depth-limited minimax with alpha-beta)."""

from __future__ import annotations

import math
from typing import Any

from gamepit.plugins import hookimpl
from gamepit.protocols import ActResult, Agent, Game, HasHeuristic, Option, State, offers
from gamepit.protocols import agent as agent_entry


class RandomAgent(Agent):
    """Plays a uniformly random legal action."""

    def act(self, state: State) -> ActResult:
        legal = state.legal_actions()
        return int(legal[self.rng.integers(len(legal))])


class AlphaBetaAgent(Agent):
    """Minimax with alpha-beta pruning to a fixed depth, for two-player zero-sum games.

    Values are kept from the searching player's point of view rather than negated at every
    ply, so games where a player may move twice in a row (passes) are searched correctly.
    Wins found sooner (and losses later) score higher, so it never dawdles. Ties between
    equally good moves are broken at random (seeded).

    The horizon. A position where the player to move has a winning move is a win, whatever a
    static score says; so at the horizon the search first looks one move further for an
    immediate win of the player to move (a one-ply quiescence check), and only in a quiet
    position uses the state's ``heuristic_value(player)`` if the game provides one, else 0.
    Without the check a heuristic that counts a playable three as one asset among others
    hides threats just past the horizon, and at connect four depth 4 and 6 played no better
    than depth 2 (benchmarks/alphabeta_depth.py has the table).
    """

    MAX_DEPTH = 32

    def __init__(self, depth: int = 4) -> None:
        if not 1 <= depth <= self.MAX_DEPTH:
            raise ValueError(f"depth must be 1..{self.MAX_DEPTH}")
        self.depth = depth
        self.nodes = 0

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        if game.num_players != 2:
            raise ValueError(f"alphabeta needs a two-player game; {game.name} has "
                             f"{game.num_players}")

    def act(self, state: State) -> ActResult:
        player = state.current_player
        self.nodes = 0
        scored = []
        alpha = -math.inf
        for action in state.legal_actions():
            child = state.clone()
            child.apply(action)
            # A window just below alpha keeps equal-valued moves exact, for fair tie-breaks.
            value = self._value(child, player, self.depth - 1, alpha - 1e-9, math.inf, 1)
            scored.append((value, action))
            alpha = max(alpha, value)
        best = max(value for value, _ in scored)
        choices = [action for value, action in scored if value >= best - 1e-12]
        action = int(choices[self.rng.integers(len(choices))])
        info: dict[str, Any] = {"value": float(best), "nodes": self.nodes,
                                "top_moves": [a for _, a in sorted(scored, reverse=True)[:3]]}
        return action, info

    def _value(self, state: State, player: int, depth: int, alpha: float, beta: float,
               ply: int) -> float:
        self.nodes += 1
        if state.is_terminal():
            return state.returns()[player] * (1.0 - ply / 1000.0)
        if depth == 0:
            return self._horizon(state, player, ply)
        maximizing = state.current_player == player
        best = -math.inf if maximizing else math.inf
        for action in state.legal_actions():
            child = state.clone()
            child.apply(action)
            value = self._value(child, player, depth - 1, alpha, beta, ply + 1)
            if maximizing:
                best = max(best, value)
                alpha = max(alpha, value)
            else:
                best = min(best, value)
                beta = min(beta, value)
            if alpha >= beta:
                break
        return best

    def _horizon(self, state: State, player: int, ply: int) -> float:
        """A leaf: a win for the player to move if one of its moves wins at once, else the
        static score."""
        mover = state.current_player
        for action in state.legal_actions():
            child = state.clone()
            child.apply(action)
            if child.is_terminal():
                returns = child.returns()
                if returns[mover] > max(r for i, r in enumerate(returns) if i != mover):
                    return returns[player] * (1.0 - (ply + 1) / 1000.0)
        if offers(type(state), HasHeuristic):
            return float(state.heuristic_value(player))  # type: ignore[attr-defined]
        return 0.0


@hookimpl
def gamepit_add_agents() -> list:
    return [
        agent_entry("random", RandomAgent, "Uniformly random legal moves."),
        agent_entry("alphabeta", AlphaBetaAgent,
                    "Minimax with alpha-beta to a depth limit (depth=9 solves tic-tac-toe).",
                    [Option("depth", int, 4, "plies to search", low=1,
                            high=AlphaBetaAgent.MAX_DEPTH)]),
    ]
