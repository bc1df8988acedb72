"""The in-process backend: the workers are objects in this process and a call runs when the
caller waits, its items handed over the moment they are emitted (a tournament commits each game
as it ends). A ``GamepitError`` propagates as it is; several workers run one after another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gamepit.backends.pool import Event, EventHandler, Pool, close_target, run_call


class InProcessPool(Pool):
    backend = "inprocess"

    def __init__(self, size: int, factory: type, init: Sequence[Any]) -> None:
        super().__init__(size)
        self.factory, self.init = factory, tuple(init)
        self.targets = [factory(*self.init) for _ in range(size)]
        self.pending: dict[int, tuple[str, tuple]] = {}

    def _start(self, worker: int, method: str, args: tuple, stream: bool) -> None:
        self.pending[worker] = (method, args)

    def wait(self, on_event: EventHandler, timeout: float | None = None) -> None:
        if not self.pending:
            return
        worker = next(iter(self.pending))
        method, args = self.pending.pop(worker)
        try:
            run_call(self.targets[worker], method, args,
                     lambda item: on_event(Event(worker, "item", item)))
        finally:
            self._finish(worker)
        on_event(Event(worker, "done"))

    def replace(self, worker: int) -> None:
        close_target(self.targets[worker])
        self.targets[worker] = self.factory(*self.init)

    def close(self) -> None:
        for target in self.targets:
            close_target(target)
        self.targets = []
