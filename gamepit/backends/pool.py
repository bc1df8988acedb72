"""What every backend offers: a pool of workers, each an object built where it runs from the
arguments the caller gave (spec strings, settings, shapes), that runs one call at a time and
emits what it produces; and the worker side of a call.

A call names a method of the worker object. The method takes ``emit`` first: each ``emit(x)``
is an item the caller hears as an ``Event`` (at once in this process and over a pipe; on Ray
when the call ends, or item by item when the call is made with ``stream=True``); a value the
method returns is emitted last. Then comes a ``done`` event, or ``died`` when the worker's
process (or its node) went away during the call, or ``error`` for a ``GamepitError`` raised in
the worker (its text: some subclasses do not survive pickling).

Values that many calls share (a version of a network's weights) are published once with
``share``: on Ray one ``ray.put`` a version, in worker processes sent to each worker once a
version, in this process the value itself. A pool holds at most one call in flight per worker,
so nothing piles up behind a slow worker (muzero-general #157).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gamepit.errors import GamepitError

EventHandler = Callable[["Event"], None]


@dataclass
class Event:
    """What a worker said: ``item`` (with the value it emitted), ``done``, ``died`` (with how
    it ended, in words) or ``error`` (with the message)."""

    worker: int
    kind: str
    value: Any = None


@dataclass
class Shared:
    """A value published for many calls, with its version (processes send it once each)."""

    version: int
    value: Any


@dataclass
class SharedStub:
    """Stands for a ``Shared`` version that a worker process already holds."""

    version: int


class Pool:
    """Workers on one backend. ``call`` starts a call on an idle worker; ``wait`` blocks until
    some worker says something and hands each event to ``on_event``."""

    backend = ""

    def __init__(self, size: int) -> None:
        self.size = size
        self.running: set[int] = set()
        self.peak_in_flight = 0  # the most calls ever in flight at once (tests read it)

    def idle(self) -> list[int]:
        return [worker for worker in range(self.size) if worker not in self.running]

    def busy(self) -> set[int]:
        return set(self.running)

    def call(self, worker: int, method: str, *args: Any, stream: bool = False) -> None:
        if worker in self.running:
            raise RuntimeError(f"worker {worker} already has a call in flight")
        self.running.add(worker)
        self.peak_in_flight = max(self.peak_in_flight, len(self.running))
        self._start(worker, method, args, stream)

    def _start(self, worker: int, method: str, args: tuple, stream: bool) -> None:
        raise NotImplementedError

    def wait(self, on_event: EventHandler, timeout: float | None = None) -> None:
        raise NotImplementedError

    def _finish(self, worker: int) -> None:
        self.running.discard(worker)

    def replace(self, worker: int) -> None:
        """Stop a worker (a dead one, or one to retire) and start a fresh one in its place."""
        raise NotImplementedError

    def share(self, value: Any) -> Any:
        return value

    def node(self, worker: int) -> str:
        """Where a worker runs: the Ray node id; '' off Ray."""
        return ""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- the worker side


def run_call(target: Any, method: str, args: Sequence[Any], emit: Callable[[Any], None]
             ) -> None:
    """Run ``target.method(emit, *args)``; a returned value is emitted last."""
    result = getattr(target, method)(emit, *args)
    if result is not None:
        emit(result)


def close_target(target: Any) -> None:
    close = getattr(target, "close", None)
    if close is not None:
        close()


# --------------------------------------------------------------------------- many calls


def map_calls(pool: Pool, calls: Sequence[tuple[str, tuple]], pinned: bool = False,
              retries: int = 2) -> list[Any]:
    """Run ``(method, args)`` calls over the pool, at most one in flight per worker, and return
    the last item each call emitted, in call order. With ``pinned``, call ``i`` runs on worker
    ``i % pool.size`` (a worker that keeps state between calls, such as games in progress). A
    worker that dies is replaced and its call run again on the new one, up to ``retries``
    times; then the run stops with one line."""
    results: list[Any] = [None] * len(calls)
    pending: deque[int] = deque(range(len(calls)))
    running: dict[int, int] = {}
    deaths = [0] * len(calls)

    def handle(event: Event) -> None:
        index = running[event.worker]
        if event.kind == "item":
            results[index] = event.value
        elif event.kind == "done":
            del running[event.worker]
        elif event.kind == "error":
            raise GamepitError(event.value)
        elif event.kind == "died":
            del running[event.worker]
            deaths[index] += 1
            if deaths[index] > retries:
                raise GamepitError(f"{pool.backend} worker died {deaths[index]} times running "
                                   f"the same call ({event.value})")
            print(f"{pool.backend}: a worker died ({event.value}); starting another and "
                  "running its call again", flush=True)
            pool.replace(event.worker)
            pending.appendleft(index)

    while pending or running:
        for worker in pool.idle():
            choice = next((i for i in pending if not pinned or i % pool.size == worker), None)
            if choice is None:
                continue
            pending.remove(choice)
            method, args = calls[choice]
            running[worker] = choice
            pool.call(worker, method, *args)
        pool.wait(handle)
    return results


def split(total: int, parts: int, multiple: int = 1) -> list[int]:
    """``total`` as ``parts`` near-equal shares (each a multiple of ``multiple`` but the last),
    leaving out empty ones: how a round's games are dealt to workers."""
    share = -(-total // max(parts, 1))
    share = -(-share // multiple) * multiple
    sizes = []
    while total > 0:
        sizes.append(min(share, total))
        total -= sizes[-1]
    return sizes
