"""Lockstep play, the one way games are driven: many games side by side, where at every step
each batched agent gets all its positions in one ``act_batch`` call (one forward pass for a
neural agent) and every other agent acts one position at a time. ``play_match`` is lockstep
play of a single game."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from gamepit.arena.match import PLAIN, LiveMatch, MatchSettings, act_alone, act_together
from gamepit.protocols import Agent, Game, MatchResult


def play_lockstep(game: Game, seatings: Sequence[Sequence[Agent]], seeds: Sequence[int],
                  specs: Sequence[Sequence[str]] | None = None,
                  settings: MatchSettings = PLAIN, *,
                  on_result: Callable[[int, MatchResult, float], None] | None = None,
                  on_turn: Callable[[int, list[tuple[int, int]]], None] | None = None
                  ) -> list[MatchResult]:
    """Play game ``i`` with ``seatings[i]`` (agents by seat) on ``seeds[i]``, as ``settings``
    say (replays, move time, cap, openings, observers); returns the results in that order, and
    calls ``on_result(i, result, seconds)`` as each game ends.
    ``on_turn(seat, [(game, steps so far), ...])`` hears which games wait on the agent in
    ``seat`` before it is reset or asked to act (a worker process reports it, so that the
    game in flight when an agent kills the process is known).

    An agent instance that sits in several games is reset once, with the seed of the first of
    them, and a failed reset forfeits all of them; such an instance must be batched (an
    unbatched agent keeps per-game state, so give each game its own). A batched agent whose
    ``act_batch`` takes ``seeds=`` gets each state's own game seed with it, so its moves need
    not depend on which games share a batch. The move time bounds each call, one
    ``act_batch`` included. Never raises for an agent's fault.
    """
    started = time.perf_counter()
    specs = specs or [[getattr(a, "spec", "") or type(a).__name__ for a in seated]
                      for seated in seatings]
    live = [LiveMatch(game, seed, seated_specs, settings)
            for seed, seated_specs in zip(seeds, specs, strict=True)]
    first_game: dict[tuple[int, int], LiveMatch] = {}
    for index, (match, seated) in enumerate(zip(live, seatings, strict=True)):
        for seat, agent in enumerate(seated):
            first = first_game.setdefault((id(agent), seat), match)
            if first is match:
                if on_turn is not None:
                    on_turn(seat, [(index, 0)])
                match.reset(seat, agent)
            elif first.forfeit_seat == seat:
                match.forfeit(seat, first.forfeit_reason)
    results: list[MatchResult | None] = [None] * len(live)
    while True:
        waiting: dict[tuple[int, int], list[int]] = {}  # (agent, seat) to move -> games
        for index, match in enumerate(live):
            if results[index] is not None:
                continue
            if match.over:
                results[index] = match.finish()
                if on_result is not None:
                    on_result(index, results[index], time.perf_counter() - started)
                continue
            seat = match.state.current_player
            waiting.setdefault((id(seatings[index][seat]), seat), []).append(index)
        if not waiting:
            return results  # type: ignore[return-value]
        for (_, seat), indexes in waiting.items():
            agent = seatings[indexes[0]][seat]
            if on_turn is not None:
                on_turn(seat, [(i, live[i].steps) for i in indexes])
            if agent.batched:
                act_together(agent, [live[i] for i in indexes], seat)
            else:
                for i in indexes:
                    act_alone(agent, live[i], seat)


def play_match(game: Game, agents: Sequence[Agent], seed: int = 0,
               agent_specs: Sequence[str] | None = None,
               settings: MatchSettings = PLAIN) -> MatchResult:
    """Play one game; ``agents[i]`` sits in seat ``i``. Never raises for an agent's fault."""
    return play_lockstep(game, [agents], [seed], [agent_specs] if agent_specs else None,
                         settings)[0]
