"""Where a tournament's games run: in this process (``workers=0``) or in worker processes
(forkserver, or spawn where there is none), each building its own plugin manager from the same
``--plugins`` paths and its own game and agents from spec strings. Workers send each result as
its game ends; only the parent writes the ledger.

A worker that dies (a segfault, ``os._exit``) costs only the game in flight: the worker tells
the parent which games wait on which seat before every call to an agent, so the parent records
that game as a forfeit of that seat ("crashed (killed by SIGSEGV)"), replays the other unfinished
games of the task one by one (a game's randomness depends on its own seed only, so they come out
the same), and starts a new worker. A worker in which an agent timed out (its thread cannot be
killed) is replaced after its task, so hung threads do not pile up."""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from gamepit.arena import play_lockstep
from gamepit.arena.isolate import IsolatedAgent, how_it_ended, mp_context, watch_parent
from gamepit.arena.match import ABANDONED
from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import Agent, Game, MatchResult
from gamepit.tournament.ledger import GameRecord
from gamepit.tournament.schedule import Slot, Task


@dataclass
class PlaySettings:
    """What every process needs to play a task the same way."""

    game: str
    replays: str | None
    move_time: float | None
    max_steps: int | None
    isolate: bool = False
    plugins: list[str] = field(default_factory=list)


class Table:
    """A process's game and agents, built once from spec strings and reused across games."""

    def __init__(self, manager: PluginManager, settings: PlaySettings) -> None:
        self.manager = manager
        self.settings = settings
        self.game: Game = manager.registry.make_game(settings.game)
        self.agents: dict[tuple[str, int], Agent] = {}

    def agent(self, spec: str, seat: int) -> Agent:
        if (spec, seat) not in self.agents:
            self.agents[(spec, seat)] = self.make(spec)
        return self.agents[(spec, seat)]

    def make(self, spec: str) -> Agent:
        if self.settings.isolate:
            return IsolatedAgent(spec, self.settings.plugins, self.settings.move_time)
        return self.manager.registry.make_agent(spec)

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
        settings = self.settings

        def record(index: int, result: MatchResult, seconds: float) -> None:
            on_record(_game_record(slots[index], result, seconds))

        try:
            play_lockstep(self.game, seatings, [slot.seed for slot in slots],
                          [slot.seated for slot in slots], settings.replays, settings.move_time,
                          self.manager, settings.max_steps, on_result=record, on_turn=on_turn)
        finally:
            for agent in fresh:
                agent.close()


def _game_record(slot: Slot, result: MatchResult, seconds: float) -> GameRecord:
    return GameRecord(slot.pairing, slot.game_index, slot.seated, slot.seed, result.returns,
                      result.steps, round(seconds, 6), result.forfeit_seat,
                      result.forfeit_reason, result.replay_path)


# --------------------------------------------------------------------------- worker processes


def _worker_main(conn: Any, plugin_paths: list[str], settings: PlaySettings, parent: int) -> None:
    """A worker: play each task it is sent, reporting turns and results as they happen."""
    watch_parent(parent)
    ABANDONED["warn"] = False  # the parent retires this worker instead
    try:
        table = Table(get_manager(plugin_paths, refresh=True), settings)
    except Exception as error:  # noqa: BLE001 - shown by the parent as one line
        conn.send(("fatal", str(error)))
        return
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            break
        if task is None:
            break
        try:
            table.play(task, lambda record: conn.send(("record", record)),
                       lambda seat, games: conn.send(("turn", seat, games)))
        except GamepitError as error:  # some subclasses do not survive pickling; the text does
            conn.send(("fatal", str(error)))
            break
        conn.send(("done", ABANDONED["threads"] > 0))
    table.close()


class _Worker:
    """A worker process, the task it plays, and what it has said about it."""

    def __init__(self, plugin_paths: Sequence[str], settings: PlaySettings) -> None:
        context = mp_context()
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, name="gamepit worker",
                                       args=(child, list(plugin_paths), settings, os.getpid()))
        self.process.start()
        child.close()
        self.task: Task | None = None
        self.started = 0.0
        self.recorded: set[int] = set()  # game indexes in the pairing, finished
        self.turn: tuple[int, list[tuple[int, int]]] | None = None

    def give(self, task: Task) -> None:
        self.task, self.started, self.recorded, self.turn = task, time.perf_counter(), set(), None
        self.conn.send(task)

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


def crash_record(slot: Slot, seat: int, steps: int, seconds: float, how: str,
                 players: int) -> GameRecord:
    """The ledger row of a game whose process died while ``seat`` was to move."""
    returns = [-1.0 if other == seat else 1.0 for other in range(players)] if players > 1 \
        else [0.0]
    return GameRecord(slot.pairing, slot.game_index, slot.seated, slot.seed, returns, steps,
                      round(seconds, 6), seat, f"crashed ({how})", None)


def run_tasks(tasks: list[Task], settings: PlaySettings, workers: int, manager: PluginManager,
              plugin_paths: Sequence[str], on_record: Callable[[GameRecord], None]) -> None:
    """Play every task, here (``workers=0``) or in worker processes, calling ``on_record`` in
    this process for each finished game as soon as it is known."""
    if workers == 0:
        table = Table(manager, settings)
        try:
            for task in tasks:
                table.play(task, on_record)
        finally:
            table.close()
        return
    queue = deque(tasks)
    pool = [_Worker(plugin_paths, settings) for _ in range(min(workers, len(tasks)))]
    silent_deaths = 0  # workers that died before saying anything: a broken setup, not a game
    try:
        while queue or any(worker.task is not None for worker in pool):
            for worker in pool:
                if worker.task is None and queue:
                    worker.give(queue.popleft())
            busy = [worker for worker in pool if worker.task is not None]
            wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for index, worker in enumerate(pool):
                if worker.task is None:
                    continue
                alive, retire = _listen(worker, on_record)
                if alive and not retire:
                    continue
                if not alive:
                    silent_deaths = 0 if worker.turn is not None else silent_deaths + 1
                    if silent_deaths >= 3:
                        raise GamepitError(f"worker processes die before playing "
                                           f"({how_it_ended(worker.process.exitcode)})")
                    _bury(worker, queue, on_record, manager.registry.make_game(
                        settings.game).num_players)
                worker.stop()
                pool[index] = _Worker(plugin_paths, settings)
    finally:
        for worker in pool:
            worker.stop()


def _listen(worker: _Worker, on_record: Callable[[GameRecord], None]) -> tuple[bool, bool]:
    """Read what a busy worker said; returns (alive, retire it now)."""
    try:
        while worker.conn.poll():
            message = worker.conn.recv()
            if message[0] == "record":
                worker.recorded.add(message[1].game_index)
                on_record(message[1])
            elif message[0] == "turn":
                worker.turn = (message[1], message[2])
            elif message[0] == "done":
                worker.task = None
                return True, bool(message[1])
            else:
                raise GamepitError(message[1])
    except (EOFError, OSError):
        return False, False
    if worker.process.is_alive():
        return True, False
    return False, False


def _bury(worker: _Worker, queue: deque, on_record: Callable[[GameRecord], None],
          players: int) -> None:
    """A worker died in a task: record its game in flight as a crash of the seat to move, and
    queue the task's other unfinished games one by one."""
    worker.process.join(5)
    how = how_it_ended(worker.process.exitcode)
    task, worker.task = worker.task, None
    assert task is not None
    unfinished = [slot for slot in task.slots if slot.game_index not in worker.recorded]
    if len(unfinished) == 1 and worker.turn is not None:
        seat, games = worker.turn
        steps = dict(games).get(task.slots.index(unfinished[0]), 0)
        on_record(crash_record(unfinished[0], seat, steps,
                               time.perf_counter() - worker.started, how, players))
        return
    queue.extendleft(Task([slot]) for slot in reversed(unfinished))
