"""The worker-process backend: each worker is a fresh interpreter (forkserver, or spawn where
there is none) that builds its object from the pool's arguments and then runs the calls it is
sent, sending each item over its pipe the moment it is emitted. A worker that dies (a segfault,
``os._exit``, a kill) is seen through its process sentinel: its call ends with a ``died`` event
that says how ("killed by SIGSEGV"). Workers end when the parent does (``watch_parent``)."""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from multiprocessing.connection import wait
from typing import Any

from gamepit.backends.isolate import how_it_ended, mp_context, watch_parent
from gamepit.backends.pool import (
    Event,
    EventHandler,
    Pool,
    Shared,
    SharedStub,
    close_target,
    run_call,
)
from gamepit.errors import GamepitError


class _ParentGone(BaseException):
    """The driver's end of the pipe is gone (the driver was killed): the worker just ends.
    A BaseException, so that no agent's ``except Exception`` swallows it."""


def _worker_main(conn: Any, factory: type, init: tuple, parent: int) -> None:
    try:  # a process group of its own, so what its agents start ends with it
        os.setsid()
    except OSError:
        pass
    watch_parent(parent)

    def send(message: tuple) -> None:
        try:
            conn.send(message)
        except OSError:
            raise _ParentGone from None

    try:
        target = factory(*init)
    except Exception as error:  # noqa: BLE001 - shown by the parent as one line
        try:
            send(("error", str(error)))
        except _ParentGone:
            pass
        return
    held: dict[int, Any] = {}  # the latest shared version, by version

    def resolve(value: Any) -> Any:
        if isinstance(value, Shared):
            held.clear()
            held[value.version] = value.value
            return value.value
        if isinstance(value, SharedStub):
            return held[value.version]
        return value

    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            method, args = message
            try:
                run_call(target, method, [resolve(arg) for arg in args],
                         lambda item: send(("item", item)))
            except GamepitError as error:  # some subclasses do not survive pickling; the text
                send(("error", str(error)))  # does
                break
            send(("done",))
    except _ParentGone:
        pass
    close_target(target)


class _Process:
    def __init__(self, factory: type, init: tuple) -> None:
        context = mp_context()
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, name="gamepit worker",
                                       args=(child, factory, init, os.getpid()))
        self.process.start()
        child.close()
        self.version: int | None = None  # the shared version this worker holds

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        try:  # and every process an agent started in it
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.conn.close()


class ProcessPool(Pool):
    backend = "processes"

    def __init__(self, size: int, factory: type, init: Sequence[Any]) -> None:
        super().__init__(size)
        self.factory, self.init = factory, tuple(init)
        self.workers = [_Process(factory, self.init) for _ in range(size)]
        self.versions = 0
        self.broken: set[int] = set()  # workers whose pipe broke when a call was sent

    def share(self, value: Any) -> Shared:
        self.versions += 1
        return Shared(self.versions, value)

    def _start(self, worker: int, method: str, args: tuple, stream: bool) -> None:
        process = self.workers[worker]
        sent = []
        for arg in args:
            if isinstance(arg, Shared) and arg.version == process.version:
                sent.append(SharedStub(arg.version))
            else:
                sent.append(arg)
                if isinstance(arg, Shared):
                    process.version = arg.version
        try:
            process.conn.send((method, tuple(sent)))
        except OSError:
            self.broken.add(worker)

    def wait(self, on_event: EventHandler, timeout: float | None = None) -> None:
        busy = sorted(self.running)
        if not busy:
            return
        if not self.broken:
            wait([self.workers[w].conn for w in busy] +
                 [self.workers[w].process.sentinel for w in busy], timeout)
        for worker in busy:
            self._listen(worker, on_event)

    def _listen(self, worker: int, on_event: EventHandler) -> None:
        process = self.workers[worker]
        try:
            while worker not in self.broken and process.conn.poll():
                message = process.conn.recv()
                if message[0] == "item":
                    on_event(Event(worker, "item", message[1]))
                elif message[0] == "done":
                    self._finish(worker)
                    on_event(Event(worker, "done"))
                    return
                else:
                    self._finish(worker)
                    on_event(Event(worker, "error", message[1]))
                    return
        except (EOFError, OSError):
            pass
        if worker in self.broken or not process.process.is_alive():
            process.process.join(5)
            self.broken.discard(worker)
            self._finish(worker)
            on_event(Event(worker, "died", how_it_ended(process.process.exitcode)))

    def replace(self, worker: int) -> None:
        self.workers[worker].stop()
        self.workers[worker] = _Process(self.factory, self.init)
        self.running.discard(worker)

    def close(self) -> None:
        for process in self.workers:
            process.stop()
        self.workers = []
