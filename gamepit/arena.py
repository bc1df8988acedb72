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


class MoveTimeout(Exception):
    """An agent thought past its move time."""


def call_with_time_limit(function: Callable[[], Any], seconds: float | None) -> Any:
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
        raise MoveTimeout(f"exceeded the move time of {seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class LiveMatch:
    """One game in progress: its state, its forfeit if any, and what observers are told.

    ``play_match`` drives one of these; the tournament drives many side by side so that a
    batched agent answers all of them in one call. Observers hear the same events either way.
    """

    def __init__(self, game: Game, seed: int, agent_specs: Sequence[str],
                 replay_dir: str | None = None, move_time: float | None = None,
                 manager: PluginManager | None = None, max_steps: int | None = None) -> None:
        self.game, self.manager = game, manager or get_manager()
        self.max_steps, self.move_time = max_steps, move_time
        self.match = MatchInfo(uuid.uuid4().hex[:12], game, game.spec or game.name,
                               list(agent_specs), seed, replay_dir, move_time=move_time)
        self.manager.notify("gamepit_match_start", match=self.match)
        self.state = game.new_state(seed)
        self.steps = 0
        self.forfeit_seat: int | None = None
        self.forfeit_reason = ""

    @property
    def over(self) -> bool:
        return (self.forfeit_seat is not None or self.state.is_terminal()
                or (self.max_steps is not None and self.steps >= self.max_steps))

    def reset(self, seat: int, agent: Agent) -> None:
        """Seat an agent; one that fails to reset forfeits."""
        try:
            agent.reset(self.game, seat, self.match.seed * 1000 + seat)
        except Exception as error:
            self.forfeit(seat, f"reset raised {type(error).__name__}: {error}")

    def forfeit(self, seat: int, reason: str) -> None:
        if self.forfeit_seat is None:
            self.forfeit_seat, self.forfeit_reason = seat, reason

    def play(self, seat: int, action: int, info: dict[str, Any], seconds: float) -> None:
        """Apply an agent's action, or forfeit it if illegal or late."""
        if self.move_time is not None and seconds > self.move_time:
            self.forfeit(seat, f"exceeded the move time of {self.move_time:g}s")
            return
        if not (0 <= action < self.game.num_actions) or not self.state.legal_mask()[action]:
            self.forfeit(seat, f"illegal action {action}")
            return
        before = self.state.returns()
        self.state.apply(action)
        after = self.state.returns()
        self.steps += 1
        step = StepRecord(self.steps - 1, seat, action, [a - b for a, b in zip(after, before)],
                          plain(info), round(seconds, 6))
        if self.steps % self.match.hash_every == 0:
            step.hash = state_hash(self.state)
        self.manager.notify("gamepit_match_step", match=self.match, step=step)

    def finish(self) -> MatchResult:
        players = self.game.num_players
        returns = [float(r) for r in self.state.returns()]
        if self.forfeit_seat is not None and players > 1:
            returns = [-1.0 if seat == self.forfeit_seat else 1.0 for seat in range(players)]
        result = MatchResult(returns, self.steps, self.forfeit_seat, self.forfeit_reason,
                             state_hash(self.state))
        self.manager.notify("gamepit_match_end", match=self.match, result=result)
        result.replay_path = self.match.extra.get("replay_path")
        return result


def act_alone(agent: Agent, match: LiveMatch, seat: int) -> None:
    """Ask one agent for one move in one game (a clone of the state: it may change it)."""
    view = match.state.clone()
    started = time.perf_counter()
    try:
        action, info = split_act_result(
            call_with_time_limit(lambda: agent.act(view), match.move_time))
    except MoveTimeout as error:
        match.forfeit(seat, str(error))
        return
    except Exception as error:
        match.forfeit(seat, f"act raised {type(error).__name__}: {error}")
        return
    match.play(seat, action, info, time.perf_counter() - started)


def act_together(agent: Agent, matches: Sequence[LiveMatch], seat: int) -> None:
    """Ask a batched agent for its moves in many games with one ``act_batch`` call; the move
    time bounds the whole call."""
    views = [match.state.clone() for match in matches]
    move_time = matches[0].move_time
    started = time.perf_counter()
    try:
        results = call_with_time_limit(lambda: agent.act_batch(views), move_time)
        if len(results) != len(views):
            raise ValueError(f"act_batch returned {len(results)} actions for {len(views)} "
                             "states")
        moves = [split_act_result(result) for result in results]
    except MoveTimeout as error:
        for match in matches:
            match.forfeit(seat, str(error))
        return
    except Exception as error:
        for match in matches:
            match.forfeit(seat, f"act_batch raised {type(error).__name__}: {error}")
        return
    seconds = time.perf_counter() - started
    if move_time is not None and seconds > move_time:
        for match in matches:
            match.forfeit(seat, f"exceeded the move time of {move_time:g}s")
        return
    for match, (action, info) in zip(matches, moves):
        match.play(seat, action, info, seconds / len(matches))


def play_match(game: Game, agents: Sequence[Agent], seed: int = 0,
               agent_specs: Sequence[str] | None = None, replay_dir: str | None = None,
               move_time: float | None = None, manager: PluginManager | None = None,
               max_steps: int | None = None) -> MatchResult:
    """Play one game; ``agents[i]`` sits in seat ``i``. Never raises for an agent's fault."""
    specs = list(agent_specs or [getattr(a, "spec", type(a).__name__) for a in agents])
    match = LiveMatch(game, seed, specs, replay_dir, move_time, manager, max_steps)
    for seat, agent in enumerate(agents):
        match.reset(seat, agent)
    while not match.over:
        seat = match.state.current_player
        act_alone(agents[seat], match, seat)
    return match.finish()


def plain(value: Any) -> Any:
    """Agent info made JSON-friendly (numpy arrays and scalars become lists and numbers)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
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
