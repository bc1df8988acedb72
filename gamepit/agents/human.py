"""``human``: a person at the terminal. Input is validated; a bad move asks again.

Seats are named in the game's words where the game offers them (an optional
``Game.player_names``: X and O, black and white), else "player 1", "player 2". Typing
``resign`` (or ``quit``) or closing the input gives the game up with the reason "resigned" or
"input ended". When a match with a human in it ends, the match hooks below show the final
position and the result, so the person sees the move that ended the game. Everything the
person sees, board, prompt and result, goes to standard output in the order it happens (so
``| tee`` keeps it in order); standard error is left to gamepit's own errors.
"""

from __future__ import annotations

from typing import Any

from gamepit.plugins import hookimpl
from gamepit.protocols import (
    ActResult,
    Agent,
    Game,
    HasActionNames,
    MatchInfo,
    MatchResult,
    Resign,
    State,
    StepRecord,
)
from gamepit.protocols import agent as agent_entry

ORDER = ("first", "second", "third", "later")


def say(text: str) -> None:
    """What the person reads: on standard output, with the prompt, in order."""
    print(text, flush=True)


def player_name(game: Game, seat: int) -> str:
    """The seat's name in the game's words (``player_names``), else "player N" from 1."""
    names = getattr(game, "player_names", None) or ()
    return str(names[seat]) if 0 <= seat < len(names) else f"player {seat + 1}"


class HumanAgent(Agent):
    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        self.announced = False

    def act(self, state: State) -> ActResult:
        game = self.game
        me = player_name(game, self.player)
        if not getattr(self, "announced", False):
            say(f"\nyou play {game.name}" if game.num_players == 1 else
                f"\nyou play {me}, moving {ORDER[min(self.player, 3)]}")
            self.announced = True
        legal = state.legal_actions()
        say(f"\n{state.render()}\n")
        # Moves are named by the position where it can (chess SAN), else by the game.
        name_of = (state.action_to_string if isinstance(state, HasActionNames)
                   else game.action_to_string)
        names = {name_of(a): a for a in legal}
        moves = ", ".join(names)
        while True:
            say(f"{'your move' if game.num_players == 1 else me + ' to move'}; legal: {moves}")
            try:
                line = input("your move> ")
            except EOFError:
                raise Resign("input ended") from None
            if line.strip().lower() in ("quit", "resign", "exit"):
                raise Resign("resigned")
            if line.strip() in names:
                return names[line.strip()]
            try:
                action = game.string_to_action(line)
            except ValueError as error:
                say(f"not a move: {error}")
                continue
            if action not in legal:
                say(f"illegal move {line.strip()!r}; legal: {moves}")
                continue
            return action


def result_in_words(game: Game, result: MatchResult) -> str:
    """"X wins", "black wins (white resigned)", "draw", or a one-player game's score."""
    returns = result.returns
    if len(returns) < 2:
        text = f"score {returns[0]:g}" if returns else "game over"
        return text + (f" ({result.forfeit_reason})" if result.forfeit_seat is not None else "")
    best = max(returns)
    winners = [seat for seat, value in enumerate(returns) if value == best]
    text = ("draw" if len(winners) == len(returns)
            else " and ".join(player_name(game, seat) for seat in winners)
            + (" wins" if len(winners) == 1 else " win"))
    if result.forfeit_seat is not None:
        loser, reason = player_name(game, result.forfeit_seat), result.forfeit_reason
        text += f" ({loser} resigned)" if reason == "resigned" else \
            f" ({loser} forfeited: {reason})"
    return text


# Matches with a human seated, followed through the match hooks: match id -> the position.
_WATCHED: dict[str, State] = {}


def _has_human(match: MatchInfo) -> bool:
    return any(spec.partition(":")[0].strip() == "human" for spec in match.agent_specs)


@hookimpl
def gamepit_match_start(match: MatchInfo) -> None:
    if _has_human(match):
        _WATCHED[match.match_id] = match.game.new_state(match.seed)


@hookimpl
def gamepit_match_step(match: MatchInfo, step: StepRecord) -> None:
    state = _WATCHED.get(match.match_id)
    if state is not None:
        state.apply(step.action)


@hookimpl
def gamepit_match_end(match: MatchInfo, result: MatchResult) -> None:
    state: Any = _WATCHED.pop(match.match_id, None)
    if state is not None:
        say(f"\nfinal position:\n{state.render()}\n{result_in_words(match.game, result)}")


@hookimpl
def gamepit_add_agents() -> list:
    return [agent_entry("human", HumanAgent,
                        "A person at the terminal (type a move; 'resign' to give up).")]
