"""An agent in a process of its own (``--isolate``), for agents that may segfault, call
``os._exit`` or hang: ``IsolatedAgent`` builds the agent from its spec in a child process and
drives it over a pipe (reset, act, act_batch, close; states and results are pickled across).
A child that dies costs the agent the game ("crashed (...)"); one that thinks past the move
time is killed, not abandoned; either way the next game starts a fresh child."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gamepit.arena.match import AgentCrashed, MoveTimeout, start_time, takes_seeds
from gamepit.errors import GamepitError
from gamepit.protocols import ActResult, Agent, Game, State
from gamepit.specs import allow_engines, granted_engines


def mp_context() -> Any:
    """Fresh interpreters for child processes: forkserver, or spawn where there is none
    (never a plain fork of a process that may run threads)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def watch_parent(parent: int) -> None:
    """Start a thread that ends this process when ``parent`` dies: a killed parent never tells
    its children, which would otherwise wait for work forever. Ctrl-C is left to the parent,
    which stops its children itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while alive(parent):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie counts as dead)."""
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


def how_it_ended(exitcode: int | None) -> str:
    """A dead process's exit status in words: 'killed by SIGSEGV', 'exit code 3'."""
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


class IsolatedAgent(Agent):
    """The agent named by ``spec``, running in a child process. The engine leaves the move
    time to it (``kills_on_timeout``): past ``move_time`` it kills the child and raises
    ``MoveTimeout``; a child that dies raises ``AgentCrashed``. The next call starts a new
    child."""

    kills_on_timeout = True

    def __init__(self, spec: str, plugin_paths: Sequence[str] = (),
                 move_time: float | None = None) -> None:
        self.spec = spec
        self.plugin_paths = list(plugin_paths)
        self.move_time = move_time
        self.process: Any = None
        self.conn: Any = None
        try:  # the child builds the agent before it answers: bounded like a game's start
            self.batched = bool(self._call("hello", None, start_time(), "start"))
        except (MoveTimeout, AgentCrashed) as error:
            raise GamepitError(f"{spec}: {error}") from None

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        self.game, self.player = game, player
        self._call("reset", (game.spec or game.name, player, seed), start_time(), "reset")

    def act(self, state: State) -> ActResult:
        return self._call("act", state, self.move_time)

    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        return self._call("act_batch", (list(states), seeds), self.move_time)

    def close(self) -> None:
        if self.process is not None:
            try:
                self.conn.send(("close", None))
                self.process.join(5)
            except OSError:
                pass
            self._stop()

    def _start(self) -> None:
        context = mp_context()
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, name=f"gamepit agent {self.spec}",
                                       args=(child, self.spec, self.plugin_paths, os.getpid(),
                                             granted_engines()))
        self.process.start()
        child.close()

    def _stop(self) -> None:
        """End the child and every process it started (its own process group)."""
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.conn.close()
        self.process = self.conn = None

    def _call(self, op: str, payload: Any, limit: float | None, what: str = "") -> Any:
        if self.process is None:
            self._start()
        try:
            self.conn.send((op, payload))
            answered = self.conn.poll(limit)
        except OSError:
            answered = True  # a broken pipe: the child is gone, recv says so
        if not answered:
            self._stop()
            if what:
                raise MoveTimeout(f"did not {what} within {limit:g}s (its process was killed)")
            raise MoveTimeout(f"exceeded the move time of {limit:g}s (its process was killed)")
        try:
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(5)
            how = how_it_ended(self.process.exitcode)
            self._stop()
            raise AgentCrashed(f"crashed ({how})") from None
        except Exception as error:  # noqa: BLE001 - an answer that cannot be unpickled here
            self._stop()
            raise AgentCrashed(f"sent an answer that cannot be read ({type(error).__name__})"
                               ) from None
        if kind == "error":
            raise value
        return value


def _serve(conn: Any, spec: str, plugin_paths: list[str], parent: int,
           engines: list[str]) -> None:
    """The child: build the agent, then answer calls until told to close."""
    from gamepit.plugins.manager import get_manager

    try:  # a process group of its own, so the agent's children end with it
        os.setsid()
    except OSError:
        pass
    watch_parent(parent)
    allow_engines(engines)  # a forkserver's child does not see this process's environment
    try:
        registry = get_manager(plugin_paths, refresh=True).registry
        agent = registry.make_agent(spec)
    except Exception as error:  # noqa: BLE001 - a bad spec: one line in the parent
        conn.send(("error", error))
        return
    games: dict[str, Game] = {}
    while True:
        try:
            op, payload = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if op == "close":
                agent.close()
                return
            if op == "hello":
                value: Any = bool(agent.batched)
            elif op == "reset":
                game_spec, player, seed = payload
                if game_spec not in games:
                    games[game_spec] = registry.make_game(game_spec)
                value = agent.reset(games[game_spec], player, seed)
            elif op == "act":
                value = agent.act(payload)
            else:
                states, seeds = payload
                value = (agent.act_batch(states, seeds=seeds) if seeds is not None
                         and takes_seeds(agent) else agent.act_batch(states))
            message: tuple[str, Any] = ("ok", value)
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - the parent turns it into a forfeit
            message = ("error", error)
        try:
            conn.send(message)
        except Exception as error:  # noqa: BLE001 - an answer or an error that cannot pickle
            conn.send(("error", TypeError(f"{op} returned something that cannot be sent "
                                          f"between processes: {error}")))
