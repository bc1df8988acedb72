"""onestep: a gamepit agent plugin in one file (what `gamepit new agent onestep` writes).

To make it your agent, change act() (and reset(), for what it keeps through a game); keep the
names. It plays any game with a simulator state. Then:

    gamepit --plugins onestep.py check agent onestep --game connect_four
    gamepit --plugins onestep.py match connect_four onestep random -n 10
    gamepit --plugins onestep.py tournament tictactoe onestep random alphabeta:depth=2

As written: it takes a move that ends the game in its favour when there is one, else a random
legal move (``avoid=true``: one that does not hand the opponent such a move).
"""

from __future__ import annotations

from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, Option, agent


class OnestepAgent(Agent):
    def __init__(self, avoid: bool = True) -> None:  # options arrive as keyword arguments
        self.avoid = avoid

    def reset(self, game, player, seed=None):
        super().reset(game, player, seed)  # sets self.game, self.player and self.rng (seeded)

    def act(self, state):
        """The action to play in ``state`` (a copy: the agent may change it), or (action, info)
        with an info dict that replays keep and the viewer shows."""
        me = state.current_player
        legal = state.legal_actions()
        safe = []
        for action in legal:
            after = state.clone()
            after.apply(action)
            if after.is_terminal() and after.returns()[me] > 0:
                return action, {"reason": "wins at once"}
            if not (self.avoid and self._loses_next(after, me)):
                safe.append(action)
        choices = safe or legal
        return int(choices[self.rng.integers(len(choices))]), {"safe": len(safe)}

    @staticmethod
    def _loses_next(state, me: int) -> bool:
        """Whether the opponent, to move in ``state``, has a move that wins at once."""
        if state.is_terminal():
            return False
        for action in state.legal_actions():
            after = state.clone()
            after.apply(action)
            if after.is_terminal() and after.returns()[me] < 0:
                return True
        return False


@hookimpl
def gamepit_add_agents():
    return [agent("onestep", OnestepAgent, "Wins at once when it can, else a random safe move.",
                  [Option("avoid", bool, True, "avoid moves that let the opponent win at once")])]
