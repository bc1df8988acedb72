"""``human``: a person at the terminal. Input is validated; a bad move asks again."""

from __future__ import annotations

import sys

from gamepit.plugins import hookimpl
from gamepit.protocols import ActResult, Agent, State
from gamepit.protocols import agent as agent_entry


class HumanAgent(Agent):
    def act(self, state: State) -> ActResult:
        game = self.game
        legal = state.legal_actions()
        print(f"\n{state.render()}\n", file=sys.stderr)
        # Moves are named by the position where it can (chess SAN), else by the game.
        name_of = getattr(state, "action_to_string", game.action_to_string)
        names = {name_of(a): a for a in legal}
        moves = ", ".join(names)
        while True:
            print(f"player {self.player} to move; legal: {moves}", file=sys.stderr)
            line = input("your move> ")
            if line.strip().lower() in ("quit", "resign", "exit"):
                raise RuntimeError("the human resigned")
            if line.strip() in names:
                return names[line.strip()]
            try:
                action = game.string_to_action(line)
            except ValueError as error:
                print(f"not a move: {error}", file=sys.stderr)
                continue
            if action not in legal:
                print(f"illegal move {line.strip()!r}; legal: {moves}", file=sys.stderr)
                continue
            return action


@hookimpl
def gamepit_add_agents() -> list:
    return [agent_entry("human", HumanAgent,
                        "A person at the terminal (type a move; 'resign' to give up).")]
