"""One match in progress: its state, its forfeit if any, the time limit on a move, and what
the match hooks tell observers. An agent that raises, runs past its move time, or returns an
illegal action forfeits that game with the reason recorded; it never raises to the caller."""

from __future__ import annotations

import copy
import inspect
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import (
    STATE_MEMBERS,
    Agent,
    Game,
    MatchInfo,
    MatchResult,
    Resign,
    StepRecord,
    split_act_result,
    state_hash,
    to_json,
)
from gamepit.replay.recorder import Recorder


class MoveTimeout(Exception):
    """An agent thought past its move time."""


class AgentCrashed(Exception):
    """The process an agent ran in died (a segfault, ``os._exit``); the text says how."""


# Threads of timed-out agents, abandoned (Python cannot kill a thread). Worker processes read
# it to retire themselves after a task; a lone process warns once.
ABANDONED = {"threads": 0, "warn": True}


def call_with_time_limit(function: Callable[[], Any], seconds: float | None) -> Any:
    """Run ``function``; past ``seconds`` give up on it (the thread is abandoned, not killed,
    and the first abandoned thread of a process prints one warning)."""
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
        ABANDONED["threads"] += 1
        if ABANDONED["warn"] and ABANDONED["threads"] == 1:
            print("gamepit: warning: an agent ran past its move time; its thread cannot be "
                  "killed and keeps running in this process (run agents with --isolate, or a "
                  "tournament with --workers, to have hung agents killed)", file=sys.stderr)
        raise MoveTimeout(f"exceeded the move time of {seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


START_TIME = 60.0  # seconds an agent may take to start a game (GAMEPIT_START_TIME)


def start_time() -> float:
    """Seconds an agent may take to start (build, reset) before it forfeits: the
    ``GAMEPIT_START_TIME`` environment variable, else ``START_TIME``."""
    try:
        value = float(os.environ.get("GAMEPIT_START_TIME", START_TIME))
    except ValueError:
        return START_TIME
    return value if 0 < value < 10**6 else START_TIME


def fault_reason(call: str, error: BaseException) -> str:
    """The forfeit reason for what an agent's call raised. Anything but Ctrl-C is the
    agent's fault, ``SystemExit`` included: ``sys.exit`` in an agent costs it the game."""
    if isinstance(error, KeyboardInterrupt):
        raise error
    if isinstance(error, (MoveTimeout, AgentCrashed, Resign)):
        return error_text(error)
    return f"{call} raised {type(error).__name__}: {error_text(error)}"


def error_text(error: BaseException, limit: int = 300) -> str:
    """An agent's exception as text for a forfeit reason: cut to ``limit`` characters, and
    never raising, even when the exception's own ``str()`` does."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - the agent's exception, whatever it does
        return "(an exception that cannot be printed)"
    if not isinstance(text, str):  # a str subclass whose methods misbehave
        return "(an exception that cannot be printed)"
    return text if len(text) <= limit else text[:limit] + "..."


def takes_seeds(agent: Agent) -> bool:
    """Whether the agent's ``act_batch`` takes ``seeds=`` (one per state: the seed its game
    reset the agent with), so that a batched agent shared by many games can draw each game's
    randomness from that game's seed however the games are grouped."""
    try:
        return "seeds" in inspect.signature(agent.act_batch).parameters
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True, kw_only=True)
class MatchSettings:
    """How games are played, built once by whoever starts them and passed whole to the engine:
    where replays go (None: none are recorded), the move time, a cap on actions, random opening
    moves, and the plugin manager whose hooks hear the games (None: the process's own)."""

    replay_dir: str | None = None
    move_time: float | None = None
    max_steps: int | None = None
    opening_moves: int = 0
    manager: PluginManager | None = None


PLAIN = MatchSettings()  # no replays, no move time, no cap, no openings, this process's hooks


class LiveMatch:
    """One game in progress. The lockstep driver advances many of these side by side, so that
    a batched agent answers all of them in one call; observers hear the same events either way.

    ``opening_moves`` plays that many uniformly random legal actions (drawn from the match's
    seed) before the agents take over, so that deterministic agents meet in different games;
    the replay marks them ``{"opening": true}``.
    """

    def __init__(self, game: Game, seed: int, agent_specs: Sequence[str],
                 settings: MatchSettings = PLAIN) -> None:
        self.game, self.manager = game, settings.manager or get_manager()
        # the referee's own numbers, and each seat its own game object: a seat that changes
        # its game (``self.game.num_actions = 1``) cannot make another seat's moves illegal
        self.num_actions, self.num_players = int(game.num_actions), int(game.num_players)
        self.max_steps, self.move_time = settings.max_steps, settings.move_time
        self.match = MatchInfo(uuid.uuid4().hex[:12], game, game.spec or game.name,
                               list(agent_specs), seed, settings.replay_dir,
                               move_time=settings.move_time)
        self.state = game.new_state(seed)
        missing = [name for name in STATE_MEMBERS if not hasattr(self.state, name)]
        if missing:  # the game's fault, not a seat's: one line before any move
            raise GamepitError(f"game {game.name}: its states lack {', '.join(missing)} (run "
                               f"gamepit check game {game.name} for how to add them)")
        self.recorder = Recorder(self.match, settings.replay_dir) if settings.replay_dir \
            else None
        self.manager.notify("gamepit_match_start", match=self.match)
        self.steps = 0
        self.forfeit_seat: int | None = None
        self.forfeit_reason = ""
        opening = np.random.default_rng([seed, 7])
        while self.steps < settings.opening_moves and not self.over:
            legal = self.state.legal_actions()
            action = int(legal[opening.integers(len(legal))])
            self.play(self.state.current_player, action, {"opening": True}, 0.0)

    @property
    def over(self) -> bool:
        return (self.forfeit_seat is not None or self.state.is_terminal()
                or (self.max_steps is not None and self.steps >= self.max_steps))

    def reset(self, seat: int, agent: Agent) -> None:
        """Seat an agent; one that fails to reset, or takes longer than ``start_time()``,
        forfeits."""
        # Not timed: an agent that bounds itself, and the base reset, which only sets three
        # attributes (a watcher thread costs about 300 us, most of a fast game)
        plain = type(agent).reset is Agent.reset or getattr(agent, "kills_on_timeout", False)
        limit = None if plain else start_time()
        own = copy.copy(self.game)
        try:
            call_with_time_limit(lambda: agent.reset(own, seat, self.agent_seed(seat)), limit)
        except MoveTimeout as error:
            self.forfeit(seat, error_text(error) if limit is None
                         else f"did not reset within {limit:g}s")
        except BaseException as error:  # noqa: BLE001 - Ctrl-C re-raised by fault_reason
            self.forfeit(seat, fault_reason("reset", error))

    def agent_seed(self, seat: int) -> int:
        """The seed the agent in ``seat`` is reset with in this game."""
        return self.match.seed * 1000 + seat

    def forfeit(self, seat: int, reason: str) -> None:
        if self.forfeit_seat is None:
            self.forfeit_seat, self.forfeit_reason = seat, reason

    def play(self, seat: int, action: int, info: dict[str, Any], seconds: float) -> None:
        """Apply an agent's action, or forfeit it if illegal or late."""
        if self.move_time is not None and seconds > self.move_time:
            self.forfeit(seat, f"exceeded the move time of {self.move_time:g}s")
            return
        if not (0 <= action < self.num_actions) or not self.state.legal_mask()[action]:
            self.forfeit(seat, f"illegal action {action}")
            return
        before = self.state.returns()
        self.state.apply(action)
        after = self.state.returns()
        self.steps += 1
        step = StepRecord(self.steps - 1, seat, action,
                          [a - b for a, b in zip(after, before, strict=True)], to_json(info),
                          round(seconds, 6))
        if self.steps % self.match.hash_every == 0:
            step.hash = state_hash(self.state)
        if self.recorder is not None:
            self.recorder.step(step)
        self.manager.notify("gamepit_match_step", match=self.match, step=step)

    def finish(self) -> MatchResult:
        players = self.num_players
        returns = [float(r) for r in self.state.returns()]
        if self.forfeit_seat is not None and players > 1:
            returns = [-1.0 if seat == self.forfeit_seat else 1.0 for seat in range(players)]
        result = MatchResult(returns, self.steps, self.forfeit_seat, self.forfeit_reason,
                             state_hash(self.state))
        if self.recorder is not None:
            result.replay_path, result.replay_error = self.recorder.end(result)
        self.manager.notify("gamepit_match_end", match=self.match, result=result)
        return result


def act_alone(agent: Agent, match: LiveMatch, seat: int) -> None:
    """Ask one agent for one move in one game (a clone of the state: it may change it)."""
    view = match.state.clone()
    started = time.perf_counter()
    try:
        result = call_with_time_limit(lambda: agent.act(view), _limit(agent, match.move_time))
    except BaseException as error:  # noqa: BLE001 - Ctrl-C re-raised by fault_reason
        match.forfeit(seat, fault_reason("act", error))
        return
    try:
        action, info = read_answer(result)
    except ValueError as error:
        match.forfeit(seat, str(error))
        return
    match.play(seat, action, info, time.perf_counter() - started)


def read_answer(result: Any) -> tuple[int, dict[str, Any]]:
    """An agent's answer as (action, JSON info). Anything that goes wrong while reading it (a
    tuple whose iteration raises, an action whose ``int()`` raises, info whose ``str()``
    raises) is the agent's fault: ValueError with the forfeit's reason, never its exception."""
    try:
        action, info = split_act_result(result)
        return action, to_json(info)
    except Exception as error:  # noqa: BLE001 - whatever the agent's objects raise
        ours = isinstance(error, TypeError) and str(error).startswith("illegal action")
        reason = (str(error) if ours  # our own words: the answer's shape
                  else f"act returned an unreadable answer ({type(error).__name__})")
    raise ValueError(reason)


def _length(results: Any) -> str:
    return f"of {len(results)}" if hasattr(results, "__len__") else ""


def _limit(agent: Agent, move_time: float | None) -> float | None:
    """No watcher thread for an agent that enforces the move time itself (an isolated agent
    kills its process instead, an engine agent its engine): it is handed the move time."""
    if getattr(agent, "kills_on_timeout", False):
        agent.move_time = move_time  # type: ignore[attr-defined]
        return None
    return move_time


def act_together(agent: Agent, matches: Sequence[LiveMatch], seat: int) -> None:
    """Ask a batched agent for its moves in many games with one ``act_batch`` call; the move
    time bounds the whole call."""
    views = [match.state.clone() for match in matches]
    move_time = matches[0].move_time
    seeds = [match.agent_seed(seat) for match in matches]
    started = time.perf_counter()
    try:
        results = call_with_time_limit(
            (lambda: agent.act_batch(views, seeds=seeds)) if takes_seeds(agent)
            else (lambda: agent.act_batch(views)), _limit(agent, move_time))
        reason = ""
    except BaseException as error:  # noqa: BLE001 - Ctrl-C re-raised by fault_reason
        reason = fault_reason("act_batch", error)
    if not reason:
        try:
            if not isinstance(results, (list, tuple)) or len(results) != len(views):
                raise ValueError(f"act_batch returned {type(results).__name__} "
                                 f"{_length(results)} for {len(views)} states")
            moves = [read_answer(result) for result in results]
        except ValueError as error:
            reason = str(error).replace("act returned", "act_batch returned")
        except Exception as error:  # noqa: BLE001 - a list whose len() or iteration raises
            reason = f"act_batch returned an unreadable answer ({type(error).__name__})"
    if reason:
        for match in matches:
            match.forfeit(seat, reason)
        return
    seconds = time.perf_counter() - started
    if move_time is not None and seconds > move_time:
        for match in matches:
            match.forfeit(seat, f"exceeded the move time of {move_time:g}s")
        return
    for match, (action, info) in zip(matches, moves, strict=True):
        match.play(seat, action, info, seconds / len(matches))
