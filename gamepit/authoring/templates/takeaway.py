"""takeaway: a gamepit game plugin in one file (what `gamepit new game takeaway` writes).

To make it your game, change the rules in TakeawayState (legal_mask, apply, returns,
observation, render) and the numbers on TakeawayGame (num_actions, observation_shape,
observation_bounds, the options); keep the method names. Then:

    gamepit --plugins takeaway.py check game takeaway     # what is missing or wrong, if anything
    gamepit --plugins takeaway.py match takeaway random alphabeta -n 10
    gamepit --plugins takeaway.py play takeaway human alphabeta

The rules as written: a pile of stones; the players take 1, 2 or 3 in turn; whoever takes the
last stone wins.
"""

from __future__ import annotations

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import BaseState, Game, Option, game


class TakeawayState(BaseState):
    """One position: what matches, search and replays drive. BaseState gives legal_actions()
    and fingerprint() (the replays' position hash) from the methods below."""

    def __init__(self, stones: int) -> None:
        self.stones, self.player, self.winner = stones, 0, -1

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else self.player  # -1 once the game is over

    def legal_mask(self) -> np.ndarray:
        """One bool per action (action a takes a + 1 stones); none once the game is over."""
        return np.array([take <= self.stones for take in (1, 2, 3)])

    def apply(self, action: int) -> None:
        self.stones -= action + 1
        if self.stones == 0:
            self.winner = self.player
        self.player = 1 - self.player

    def clone(self) -> TakeawayState:
        copy = TakeawayState(self.stones)
        copy.player, copy.winner = self.player, self.winner
        return copy

    def is_terminal(self) -> bool:
        return self.stones == 0

    def returns(self) -> list[float]:
        """Per player, so far: +1 for a win, -1 for a loss, 0 until the end."""
        if self.winner < 0:
            return [0.0, 0.0]
        return [1.0 if player == self.winner else -1.0 for player in (0, 1)]

    def observation(self, player: int) -> np.ndarray:
        """What a network sees from ``player``'s seat: the pile, and whether it is to move."""
        return np.array([self.stones, player == self.player], dtype=np.int8)

    def render(self) -> str:
        return f"{self.stones} stones; player {self.player} to take"


class TakeawayGame(Game):
    name = "takeaway"
    num_players = 2
    num_actions = 3  # take 1, 2 or 3 stones
    observation_shape = (2,)
    observation_bounds = (0, 100)  # every observation value lies in this range
    player_names = ("first", "second")

    def __init__(self, stones: int = 21) -> None:  # options arrive as keyword arguments
        self.stones = stones

    def new_state(self, seed: int | None = None) -> TakeawayState:
        return TakeawayState(self.stones)

    def action_to_string(self, action: int) -> str:
        return str(action + 1)  # how moves are named in replays and to a person playing

    def string_to_action(self, text: str) -> int:
        if text.strip() not in ("1", "2", "3"):
            raise ValueError("take 1, 2 or 3 stones")
        return int(text) - 1


@hookimpl
def gamepit_add_games():
    return [game("takeaway", TakeawayGame, "Take 1, 2 or 3 stones in turn; the last stone wins.",
                 [Option("stones", int, 21, "stones in the pile", low=1, high=100)])]
