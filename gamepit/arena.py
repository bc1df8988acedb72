"""Matches between agents: one game (``play_match``), a series with seats alternating
(``play_series``), and a short round robin. Observers (replay recording, progress) hear about
every match through the lifecycle hooks.

An agent that raises, runs past its move time, or returns an illegal action forfeits that game
with the reason recorded; the series goes on.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import Agent, Game, split_act_result, state_hash

HASH_EVERY = 10


@dataclass
class MatchInfo:
    """What observers know about a match when it starts."""

    match_id: str
    game: Game
    game_spec: str
    agent_specs: list[str]  # by seat
    seed: int
    replay_dir: str | None = None
    hash_every: int = HASH_EVERY
    move_time: float | None = None
    started: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class StepRecord:
    index: int
    player: int
    action: int
    rewards: list[float]
    info: dict[str, Any]
    seconds: float
    hash: str | None = None  # hash of the state after the action, every hash_every steps


@dataclass
class MatchResult:
    returns: list[float]  # by seat
    steps: int
    forfeit_seat: int | None = None
    forfeit_reason: str = ""
    final_hash: str = ""
    replay_path: str | None = None

    def outcome(self, seat: int) -> float:
        """1 win, 0.5 draw, 0 loss for ``seat`` in a two-player game."""
        if len(self.returns) < 2:
            raise ValueError("outcome compares seats; a one-player game has a score")
        mine = self.returns[seat]
        others = max(r for i, r in enumerate(self.returns) if i != seat)
        return 1.0 if mine > others else 0.0 if mine < others else 0.5


class _MoveTimeout(Exception):
    pass


def _call_with_time_limit(function: Callable[[], Any], seconds: float | None) -> Any:
    """Run ``function``; past ``seconds`` give up on it (the thread is abandoned, not killed)."""
    if seconds is None:
        return function()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = function()
        except BaseException as error:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _MoveTimeout(f"exceeded the move time of {seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def play_match(game: Game, agents: Sequence[Agent], seed: int = 0,
               agent_specs: Sequence[str] | None = None, replay_dir: str | None = None,
               move_time: float | None = None, manager: PluginManager | None = None,
               max_steps: int | None = None) -> MatchResult:
    """Play one game; ``agents[i]`` sits in seat ``i``. Never raises for an agent's fault."""
    manager = manager or get_manager()
    specs = list(agent_specs or [getattr(a, "spec", type(a).__name__) for a in agents])
    match = MatchInfo(uuid.uuid4().hex[:12], game, game.spec or game.name, specs, seed,
                      replay_dir, move_time=move_time)
    manager.notify("gamepit_match_start", match=match)
    state = game.new_state(seed)
    forfeit_seat, reason = None, ""
    for seat, agent in enumerate(agents):
        try:
            agent.reset(game, seat, seed * 1000 + seat)
        except Exception as error:
            forfeit_seat, reason = seat, f"reset raised {type(error).__name__}: {error}"
            break
    steps = 0
    while forfeit_seat is None and not state.is_terminal():
        if max_steps is not None and steps >= max_steps:
            break
        seat = state.current_player
        view = state.clone()
        started = time.perf_counter()
        try:
            action, info = split_act_result(
                _call_with_time_limit(lambda a=agents[seat], v=view: a.act(v), move_time))
        except _MoveTimeout as error:
            forfeit_seat, reason = seat, str(error)
            break
        except Exception as error:
            forfeit_seat, reason = seat, f"act raised {type(error).__name__}: {error}"
            break
        seconds = time.perf_counter() - started
        if move_time is not None and seconds > move_time:
            forfeit_seat, reason = seat, f"exceeded the move time of {move_time:g}s"
            break
        if not (0 <= action < game.num_actions) or not state.legal_mask()[action]:
            forfeit_seat, reason = seat, f"illegal action {action}"
            break
        before = state.returns()
        state.apply(action)
        after = state.returns()
        steps += 1
        step = StepRecord(steps - 1, seat, action, [a - b for a, b in zip(after, before)],
                          _plain(info), round(seconds, 6))
        if steps % match.hash_every == 0:
            step.hash = state_hash(state)
        manager.notify("gamepit_match_step", match=match, step=step)
    returns = [float(r) for r in state.returns()]
    if forfeit_seat is not None:
        returns = [-1.0 if seat == forfeit_seat else 1.0 for seat in range(game.num_players)]
        if game.num_players == 1:
            returns = [float(r) for r in state.returns()]
    result = MatchResult(returns, steps, forfeit_seat, reason, state_hash(state))
    manager.notify("gamepit_match_end", match=match, result=result)
    result.replay_path = match.extra.get("replay_path")
    return result


def _plain(value: Any) -> Any:
    """Agent info made JSON-friendly (numpy arrays and scalars become lists and numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


# --------------------------------------------------------------------------- series


@dataclass
class SeriesResult:
    """Results of a series between two agents, from the first agent's point of view."""

    agent_specs: tuple[str, str]
    wins: int = 0
    draws: int = 0
    losses: int = 0
    forfeits: list[str] = field(default_factory=list)
    replays: list[str] = field(default_factory=list)

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    def score(self) -> tuple[float, float, float]:
        """Mean score (win 1, draw 0.5) with a 95% interval from the per-game spread."""
        n = self.games
        if n == 0:
            return 0.0, 0.0, 1.0
        mean = (self.wins + 0.5 * self.draws) / n
        variance = (self.wins * (1 - mean) ** 2 + self.draws * (0.5 - mean) ** 2
                    + self.losses * mean ** 2) / max(n - 1, 1)
        half = 1.96 * math.sqrt(variance / n)
        return mean, max(0.0, mean - half), min(1.0, mean + half)

    def summary(self) -> str:
        mean, low, high = self.score()
        a, b = self.agent_specs
        return (f"{a} vs {b}: {self.games} games, +{self.wins} ={self.draws} -{self.losses}, "
                f"score {mean:.3f} (95% {low:.3f}..{high:.3f})")


def play_series(game: Game, agents: Sequence[Agent], games: int, seed: int = 0,
                agent_specs: Sequence[str] | None = None, replay_dir: str | None = None,
                move_time: float | None = None, manager: PluginManager | None = None,
                on_result: Callable[[int, MatchResult], bool | None] | None = None
                ) -> SeriesResult:
    """``games`` games between two agents with seats alternating; game ``i`` uses seed
    ``seed + i``. ``on_result(i, result)`` hears each game; returning True stops the series
    early (SPRT)."""
    specs = list(agent_specs or [getattr(a, "spec", type(a).__name__) for a in agents])
    series = SeriesResult((specs[0], specs[1]))
    for i in range(games):
        swap = i % 2 == 1
        seated = [agents[1], agents[0]] if swap else [agents[0], agents[1]]
        seated_specs = [specs[1], specs[0]] if swap else [specs[0], specs[1]]
        result = play_match(game, seated, seed + i, seated_specs, replay_dir, move_time, manager)
        outcome = result.outcome(1 if swap else 0)
        if outcome == 1.0:
            series.wins += 1
        elif outcome == 0.0:
            series.losses += 1
        else:
            series.draws += 1
        if result.forfeit_seat is not None:
            who = seated_specs[result.forfeit_seat]
            series.forfeits.append(f"game {i}: {who} forfeited ({result.forfeit_reason})")
        if result.replay_path:
            series.replays.append(result.replay_path)
        if on_result and on_result(i, result):
            break
    return series


def round_robin(game: Game, agent_specs: Sequence[str], build_agent: Callable[[str], Agent],
                games_per_pair: int, seed: int = 0, replay_dir: str | None = None,
                move_time: float | None = None, manager: PluginManager | None = None,
                on_series: Callable[[SeriesResult], None] | None = None) -> list[SeriesResult]:
    """Every pair of agents plays a series; returns the series in play order."""
    results = []
    for i in range(len(agent_specs)):
        for j in range(i + 1, len(agent_specs)):
            pair = [build_agent(agent_specs[i]), build_agent(agent_specs[j])]
            series = play_series(game, pair, games_per_pair, seed, [agent_specs[i],
                                 agent_specs[j]], replay_dir, move_time, manager)
            results.append(series)
            if on_series:
                on_series(series)
            seed += games_per_pair
    return results


def standings(agent_specs: Sequence[str], results: Sequence[SeriesResult]
              ) -> list[tuple[str, int, float, int, int, int]]:
    """Per agent: (spec, games, score share, wins, draws, losses), best first."""
    table = {spec: [0, 0, 0] for spec in agent_specs}
    for series in results:
        a, b = series.agent_specs
        table[a][0] += series.wins
        table[a][1] += series.draws
        table[a][2] += series.losses
        table[b][0] += series.losses
        table[b][1] += series.draws
        table[b][2] += series.wins
    rows = []
    for spec, (w, d, loss) in table.items():
        n = w + d + loss
        rows.append((spec, n, (w + 0.5 * d) / n if n else 0.0, w, d, loss))
    return sorted(rows, key=lambda row: -row[2])
