"""Where a tournament's games run: through the executor seam (``gamepit.backends``), in this
process (``workers=0``), in worker processes or on Ray, each worker building its own plugin
manager from the same ``--plugins`` paths and its own game and agents from spec strings.
Workers hand back each result as its game ends; only the driver writes the ledger.

A worker that dies (a segfault, ``os._exit``, a lost node) costs at most the game in flight,
recorded as a forfeit of the seat to move ("crashed (killed by SIGSEGV)"); see ``run_tasks``.
A worker in which an agent timed out (its thread cannot be killed) is replaced after its task,
so hung threads do not pile up."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gamepit.arena import play_lockstep
from gamepit.arena.match import (
    ABANDONED,
    MatchSettings,
    MoveTimeout,
    call_with_time_limit,
    start_time,
)
from gamepit.backends import Event, open_pool
from gamepit.backends.isolate import IsolatedAgent
from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import Agent, Game, MatchResult
from gamepit.specs import allow_engines
from gamepit.tournament.ledger import GameRecord
from gamepit.tournament.schedule import Slot, Task


@dataclass
class PlaySettings:
    """What every process needs to play a task the same way: the game, how its games are
    played (without a manager: each process hooks its own), and how agents are built."""

    game: str
    match: MatchSettings
    isolate: bool = False
    plugins: list[str] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)  # programs granted to engine specs
    start_time: float | None = None  # --start-time, for the workers' processes


def set_start_time(seconds: float | None) -> None:
    """``--start-time``: the start time for this process and the processes it starts."""
    if seconds is not None:
        os.environ["GAMEPIT_START_TIME"] = repr(float(seconds))


def build_agent(manager: PluginManager, spec: str, game: Game) -> Agent:
    """Build an agent for ``game``, bounded by the start time: one that hangs while it is
    built is one line (GamepitError), not a run that never starts."""
    warn = ABANDONED["warn"]
    ABANDONED["warn"] = False  # a hung build ends the command: no warning about its thread
    try:
        return call_with_time_limit(lambda: manager.registry.make_agent(spec, game),
                                    start_time())
    except MoveTimeout:
        raise GamepitError(f"{spec}: did not start within {start_time():g}s (give it longer "
                           "with --start-time SECONDS)") from None
    finally:
        ABANDONED["warn"] = warn


class Table:
    """A process's game and agents, built once from spec strings and reused across games."""

    def __init__(self, manager: PluginManager, settings: PlaySettings) -> None:
        self.manager = manager
        self.settings = settings
        self.match = replace(settings.match, manager=manager)  # heard by this process's hooks
        self.game: Game = manager.registry.make_game(settings.game)
        self.agents: dict[tuple[str, int], Agent] = {}

    def agent(self, spec: str, seat: int) -> Agent:
        if (spec, seat) not in self.agents:
            self.agents[(spec, seat)] = self.make(spec)
        return self.agents[(spec, seat)]

    def make(self, spec: str) -> Agent:
        if self.settings.isolate:
            return IsolatedAgent(spec, self.settings.plugins, self.match.move_time)
        return build_agent(self.manager, spec, self.game)

    def close(self) -> None:
        for agent in self.agents.values():
            agent.close()

    def play(self, task: Task, on_record: Callable[[GameRecord], None],
             on_turn: Callable[[int, list[tuple[int, int]]], None] | None = None) -> None:
        """Play a task's games through the engine's lockstep: a batched agent (one instance
        per seat, kept across tasks) answers all its games in one call; an unbatched agent is
        kept across the games of a one-game task and built afresh for each game of a lockstep
        group, since it keeps per-game state."""
        slots = task.slots
        seatings = []
        fresh: list[Agent] = []
        for slot in slots:
            seated = []
            for seat, spec in enumerate(slot.seated):
                agent = self.agent(spec, seat)
                if task.lockstep and not agent.batched:
                    agent = self.make(spec)
                    fresh.append(agent)
                seated.append(agent)
            seatings.append(seated)

        def record(index: int, result: MatchResult, seconds: float) -> None:
            on_record(_game_record(slots[index], result, seconds))

        try:
            play_lockstep(self.game, seatings, [slot.seed for slot in slots],
                          [slot.seated for slot in slots], self.match, on_result=record,
                          on_turn=on_turn)
        finally:
            for agent in fresh:
                agent.close()


def _game_record(slot: Slot, result: MatchResult, seconds: float) -> GameRecord:
    return GameRecord(slot.pairing, slot.game_index, slot.seated, slot.seed, result.returns,
                      result.steps, round(seconds, 6), result.forfeit_seat,
                      result.forfeit_reason, result.replay_path)


# --------------------------------------------------------------------------- workers


class TableWorker:
    """A worker of the executor seam that plays tournament tasks: a ``Table`` built where it
    runs, from the ``--plugins`` paths and the settings (in this process, the caller's
    manager). ``play`` emits ``("turn", seat, games)`` before every call to an agent when
    asked (so a death names the seat to move), ``("record", record)`` as each game ends, and
    ``("retire",)`` when an agent's hung thread is left behind in a worker."""

    def __init__(self, manager: PluginManager | None, plugin_paths: list[str],
                 settings: PlaySettings) -> None:
        self.remote = manager is None
        self.plugin_paths = plugin_paths
        if self.remote:
            ABANDONED["warn"] = False  # the driver retires this worker instead
            manager = get_manager(plugin_paths, refresh=True)
            allow_engines(settings.engines)  # what the driver's command line granted
            set_start_time(settings.start_time)
        self.table = Table(manager, settings)

    def play(self, emit: Callable[[Any], None], task: Task, report_turns: bool) -> None:
        self.table.play(task, lambda record: emit(("record", record)),
                        (lambda seat, games: emit(("turn", seat, games))) if report_turns
                        else None)
        if self.remote and ABANDONED["threads"] > 0:
            emit(("retire",))

    def play_apart(self, emit: Callable[[Any], None], task: Task) -> None:
        """Play a task in a worker process of this worker's own, with its turns reported:
        an agent that kills its process kills only that child, and its game is recorded as
        the crash of the seat to move, as the processes backend records it."""
        run_tasks([task], self.table.settings, 1, self.table.manager, self.plugin_paths,
                  lambda record: emit(("record", record)), "processes")

    def close(self) -> None:
        self.table.close()


def crash_record(slot: Slot, seat: int, steps: int, seconds: float, how: str,
                 players: int) -> GameRecord:
    """The ledger row of a game whose process died while ``seat`` was to move."""
    returns = [-1.0 if other == seat else 1.0 for other in range(players)] if players > 1 \
        else [0.0]
    return GameRecord(slot.pairing, slot.game_index, slot.seated, slot.seed, returns, steps,
                      round(seconds, 6), seat, f"crashed ({how})", None)


FAST, TURNS, APART = "fast", "turns", "apart"  # how a task is played: see run_tasks


@dataclass
class _InFlight:
    """A task on a worker and what the worker has said about it."""

    task: Task
    mode: str  # FAST, TURNS or APART
    started: float = field(default_factory=time.perf_counter)
    recorded: set[int] = field(default_factory=set)  # game indexes in the pairing, finished
    turn: tuple[int, list[tuple[int, int]]] | None = None
    retire: bool = False


def run_tasks(tasks: list[Task], settings: PlaySettings, workers: int, manager: PluginManager,
              plugin_paths: Sequence[str], on_record: Callable[[GameRecord], None],
              backend: str = "processes", ray_address: str | None = None) -> None:
    """Play every task through the executor seam, here (``workers=0``), in worker processes
    or on Ray, calling ``on_record`` in this process (the ledger's only writer) for each
    finished game as soon as it is known.

    A worker that dies costs at most the game in flight. Worker processes report the seat to
    move before every agent call, so that game is recorded at once as a crash of that seat
    and the task's other unfinished games are played again one by one (a game's randomness
    depends on its own seed only, so they come out the same). On Ray, where a message per move
    would cost more than many agents' moves, the unfinished games are played again one by one,
    each in a process of a fresh Ray worker's own (``play_apart``): a game that kills its
    process again is recorded as the crash of the seat to move; one whose worker was killed
    from outside (a node lost) is played out."""
    if not tasks:
        return
    local = backend == "inprocess" or workers == 0
    pool = open_pool(backend, 0 if local else min(workers, len(tasks)), TableWorker,
                     (manager if local else None, list(plugin_paths), settings), ray_address)
    first = {"processes": TURNS, "ray": FAST}.get(pool.backend, FAST)
    queue: deque[tuple[Task, str]] = deque((task, first) for task in tasks)
    flight: dict[int, _InFlight] = {}
    players = manager.registry.make_game(settings.game).num_players
    silent_deaths = 0  # workers that died before saying anything: a broken setup, not a game
    apart_deaths = 0  # Ray workers lost while playing a game apart: nodes keep dying

    def handle(event: Event) -> None:
        nonlocal silent_deaths, apart_deaths
        now = flight[event.worker]
        if event.kind == "item":
            if event.value[0] == "record":
                record = event.value[1]
                record.node = pool.node(event.worker)
                now.recorded.add(record.game_index)
                on_record(record)
            elif event.value[0] == "turn":
                now.turn = (event.value[1], event.value[2])
            else:
                now.retire = True
        elif event.kind == "error":
            raise GamepitError(event.value)
        elif event.kind == "done":
            del flight[event.worker]
            if now.retire:
                pool.replace(event.worker)
        else:
            del flight[event.worker]
            if now.mode == TURNS:
                said = now.turn is not None or bool(now.recorded)
                silent_deaths = 0 if said else silent_deaths + 1
                if silent_deaths >= 3:
                    raise GamepitError(f"{pool.backend} workers die before playing "
                                       f"({event.value})")
            elif now.mode == APART:
                apart_deaths += 1
                if apart_deaths >= 3:
                    raise GamepitError(f"{pool.backend} workers keep dying ({event.value})")
            _bury(now, event.value, queue, on_record, players)
            pool.replace(event.worker)

    try:
        while queue or flight:
            for worker in pool.idle():
                if not queue:
                    break
                task, mode = queue.popleft()
                flight[worker] = _InFlight(task, mode)
                if mode == APART:
                    pool.call(worker, "play_apart", task)
                else:
                    pool.call(worker, "play", task, mode == TURNS, stream=mode == TURNS)
            pool.wait(handle)
    finally:
        pool.close()


def _bury(now: _InFlight, how: str, queue: deque, on_record: Callable[[GameRecord], None],
          players: int) -> None:
    """A worker died in a task: record its game in flight as a crash of the seat to move when
    the worker said which that was, and queue the task's other unfinished games one by one,
    their turns reported (played apart, on Ray)."""
    task = now.task
    unfinished = [slot for slot in task.slots if slot.game_index not in now.recorded]
    if len(unfinished) == 1 and now.turn is not None:
        seat, games = now.turn
        steps = dict(games).get(task.slots.index(unfinished[0]), 0)
        on_record(crash_record(unfinished[0], seat, steps,
                               time.perf_counter() - now.started, how, players))
        return
    again = TURNS if now.mode == TURNS else APART
    queue.extendleft((Task([slot]), again) for slot in reversed(unfinished))
