"""Which games a tournament plays, in what order, and who sits where.

Each pairing plays ``games_per_pair`` games. Game ``i`` seats the pairing's first agent in seat 0
when ``i`` is even and in seat 1 when odd, and uses seed ``seed + i // 2``, so both seatings of a
seed are played (as cutechess repeats an opening with colours reversed). On a one-player game
every agent plays the same episodes: game ``i`` on seed ``seed + i``, the seeds of
``gamepit.arena.compare_on_seeds``. A game is a slot (pairing, game index); a re-run plays only
the slots the ledger lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gamepit.tournament.ledger import pairing_key


@dataclass
class Slot:
    """One game of a tournament: which pairing, which game of it, who sits where, which seed."""

    pairing: list[str]
    game_index: int
    seated: list[str]  # agent specs by seat
    seed: int


@dataclass
class Task:
    """Games handed to one process: one game, or a lockstep group of one pairing."""

    slots: list[Slot]
    lockstep: bool = False


def pairings(agents: Sequence[str], form: str, gauntlet_agent: str | None,
             num_players: int) -> list[list[str]]:
    """The pairings of a tournament, in play order. The two specs of a pairing are in sorted
    order, so a pairing (and its games in the ledger) is the same however the agents are
    listed, and a gauntlet reuses the games of a round robin under the same name."""
    if num_players == 1:
        return [[agent] for agent in agents]
    if form == "gauntlet":
        challenger = gauntlet_agent or agents[0]
        return [sorted([challenger, other]) for other in agents if other != challenger]
    return [sorted([agents[i], agents[j]])
            for i in range(len(agents)) for j in range(i + 1, len(agents))]


def slots_of(pairing: list[str], games: int, seed: int) -> list[Slot]:
    """Every game of a pairing: seats alternate, and both seatings share a seed."""
    if len(pairing) == 1:
        return [Slot(pairing, i, list(pairing), seed + i) for i in range(games)]
    return [Slot(pairing, i, list(pairing) if i % 2 == 0 else pairing[::-1], seed + i // 2)
            for i in range(games)]


def plan_tasks(all_pairings: list[list[str]], games: int, seed: int, done: set[tuple[str, int]],
               batched: Callable[[str], bool], batch_size: int, workers: int = 0) -> list[Task]:
    """The games still to play, as tasks, interleaved across pairings so that a tournament cut
    short has played every pairing about equally. A pairing's lockstep groups are cut small
    enough that every worker process gets one."""
    per_pairing: list[list[Task]] = []
    for pairing in all_pairings:
        key = pairing_key(pairing)
        todo = [slot for slot in slots_of(pairing, games, seed)
                if (key, slot.game_index) not in done]
        if batch_size > 0 and any(batched(agent) for agent in pairing):
            size = max(1, min(batch_size, -(-len(todo) // max(workers, 1))))
            tasks = [Task(todo[i:i + size], lockstep=True) for i in range(0, len(todo), size)]
        else:
            tasks = [Task([slot]) for slot in todo]
        per_pairing.append(tasks)
    order = []
    for round_index in range(max((len(tasks) for tasks in per_pairing), default=0)):
        order += [tasks[round_index] for tasks in per_pairing if round_index < len(tasks)]
    return order


