"""Where a tournament's games run: in this process (``workers=0``) or in worker processes
(forkserver, or spawn where there is none), each building its own plugin manager from the same
``--plugins`` paths and its own game and agents from spec strings. Workers return results; only
the parent writes the ledger."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gamepit.arena import play_lockstep
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


class Table:
    """A process's game and agents, built once from spec strings and reused across games."""

    def __init__(self, manager: PluginManager, settings: PlaySettings) -> None:
        self.manager = manager
        self.settings = settings
        self.game: Game = manager.registry.make_game(settings.game)
        self.agents: dict[tuple[str, int], Agent] = {}

    def agent(self, spec: str, seat: int) -> Agent:
        if (spec, seat) not in self.agents:
            self.agents[(spec, seat)] = self.manager.registry.make_agent(spec)
        return self.agents[(spec, seat)]

    def close(self) -> None:
        for agent in self.agents.values():
            agent.close()

    def play(self, task: Task, on_record: Callable[[GameRecord], None]) -> None:
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
                    agent = self.manager.registry.make_agent(spec)
                    fresh.append(agent)
                seated.append(agent)
            seatings.append(seated)
        settings = self.settings

        def record(index: int, result: MatchResult, seconds: float) -> None:
            on_record(_game_record(slots[index], result, seconds))

        try:
            play_lockstep(self.game, seatings, [slot.seed for slot in slots],
                          [slot.seated for slot in slots], settings.replays, settings.move_time,
                          self.manager, settings.max_steps, on_result=record)
        finally:
            for agent in fresh:
                agent.close()


def _game_record(slot: Slot, result: MatchResult, seconds: float) -> GameRecord:
    return GameRecord(slot.pairing, slot.game_index, slot.seated, slot.seed, result.returns,
                      result.steps, round(seconds, 6), result.forfeit_seat,
                      result.forfeit_reason, result.replay_path)


# --------------------------------------------------------------------------- worker processes

_WORKER: dict[str, Any] = {}


def _worker_start(plugin_paths: list[str], settings: PlaySettings, parent: int) -> None:
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    manager = get_manager(plugin_paths, refresh=True)
    _WORKER["table"] = Table(manager, settings)


def _watch_parent(parent: int) -> None:
    """Leave when the tournament process dies. A killed parent never tells its pool, and the
    workers would otherwise wait for work forever (they hold their queue's pipe open)."""
    while _alive(parent):
        time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed parent not yet reaped is a zombie: as good as dead
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _worker_play(task: Task) -> list[GameRecord]:
    records: list[GameRecord] = []
    try:
        _WORKER["table"].play(task, records.append)
    except GamepitError as error:  # some subclasses do not survive pickling; the text does
        raise GamepitError(str(error)) from None
    return records


def _mp_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


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
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                                   initializer=_worker_start,
                                   initargs=(list(plugin_paths), settings, os.getpid()))
    pending: set[Future] = set()
    queue = list(reversed(tasks))
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # a few queued, so no worker idles
                pending.add(executor.submit(_worker_play, queue.pop()))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    records = future.result()
                except BrokenProcessPool:
                    raise GamepitError("a worker process died (killed, or a game or agent "
                                       "crashed it); finished games are in the ledger: run "
                                       "the same command again to continue") from None
                for record in records:
                    on_record(record)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)

