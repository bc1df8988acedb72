"""The Ray backend: each worker is a Ray actor (one CPU) that builds its object from the pool's
arguments on whatever node Ray places it, and runs one call at a time. A call's items come
back in one reply when it ends; with ``stream=True`` item by item (a Ray streaming generator),
which costs a message each. Shared values are one ``ray.put`` a version, handed to calls as
top-level arguments, so Ray resolves them on the worker's node from its object store.

The driver connects to the cluster at ``ray_address`` (``auto`` for the one this machine
belongs to) or, with none, starts a local one for the run and stops it at the end; a driver
that is already connected (``ray.init`` in a test) is used as it is. A dead actor (its process
killed, its node gone) ends its call with a ``died`` event; ``replace`` starts another, which
Ray places on a live node. Ray is imported only here, when this backend is chosen.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from gamepit.backends.pool import Event, EventHandler, Pool, close_target, run_call
from gamepit.errors import GamepitError

MISSING = ("the ray backend needs Ray, which is not installed here: pip install 'gamepit[ray]' "
           "(or choose --backend processes)")
_END = object()


def import_ray() -> Any:
    """The ``ray`` module, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise GamepitError(MISSING) from None
    return ray


def check_reachable(address: str | None) -> None:
    """One line, at once, for a HOST:PORT (or a Ray Client's ray://HOST:PORT) where nothing
    listens (Ray itself retries for half a minute or more before it gives up)."""
    plain = (address or "").removeprefix("ray://")
    host, colon, port = plain.rpartition(":")
    if not colon or not port.isdigit() or "://" in plain:
        return
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as error:
        raise GamepitError(f"ray: nothing answers at {address} ({error.strerror or error}); "
                           "start the cluster's head there with ray start --head") from None


class RayWorker:
    """The actor: builds the worker object, runs calls on it. Errors come back as items."""

    def __init__(self, factory: type, init: tuple) -> None:
        self.error = ""
        try:
            self.target = factory(*init)
        except Exception as error:  # noqa: BLE001 - shown by the driver as one line
            self.error = str(error) or type(error).__name__

    def where(self) -> tuple[str, int]:
        import ray

        return ray.get_runtime_context().get_node_id(), os.getpid()

    def call(self, method: str, *args: Any) -> list[tuple[str, Any]]:
        if self.error:
            return [("error", self.error)]
        items: list[tuple[str, Any]] = []
        try:
            run_call(self.target, method, args, lambda item: items.append(("item", item)))
        except GamepitError as error:
            items.append(("error", str(error)))
        return items

    def stream(self, method: str, *args: Any) -> Iterator[tuple[str, Any]]:
        """The call on a thread, each emitted item yielded as it comes (a generator cannot be
        handed to code that calls ``emit``)."""
        if self.error:
            yield ("error", self.error)
            return
        items: queue.Queue = queue.Queue()

        def work() -> None:
            try:
                run_call(self.target, method, args, lambda item: items.put(("item", item)))
            except GamepitError as error:
                items.put(("error", str(error)))
            except BaseException as error:  # noqa: BLE001 - a bug: said, not swallowed
                items.put(("error", f"{type(error).__name__}: {error}"))
            finally:
                items.put(_END)

        threading.Thread(target=work, daemon=True).start()
        while (item := items.get()) is not _END:
            yield item

    def close(self) -> None:
        if not self.error:
            close_target(self.target)


class RayPool(Pool):
    backend = "ray"

    def __init__(self, size: int, factory: type, init: Sequence[Any],
                 address: str | None = None) -> None:
        ray = self.ray = import_ray()
        self.started_ray = False
        if not ray.is_initialized():
            check_reachable(address)
            try:
                ray.init(address=address or None, include_dashboard=False,
                         logging_level="WARNING")
            except (ConnectionError, ValueError, RuntimeError) as error:
                raise GamepitError(f"ray: cannot connect to the cluster at "
                                   f"{address or 'a new local one'} ({error})") from None
            self.started_ray = True
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if size > max(cpus, 1):
            print(f"ray: {size} workers asked for, the cluster has {cpus} CPUs; using "
                  f"{max(cpus, 1)}", flush=True)
            size = max(cpus, 1)
        super().__init__(size)
        errors = ray.exceptions
        self.lost = (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError,
                     errors.ObjectLostError)  # what a dead worker or node looks like
        self.actor_class = ray.remote(num_cpus=1, max_restarts=0)(RayWorker)
        self.factory, self.init = factory, tuple(init)
        self.actors = [self._actor() for _ in range(size)]
        self.places: list[Any] = [actor.where.remote() for actor in self.actors]
        self.nodes: dict[int, str] = {}
        self.flight: dict[int, tuple[bool, Any]] = {}  # worker -> (streamed, ref or generator)

    def _actor(self) -> Any:
        return self.actor_class.remote(self.factory, self.init)

    def share(self, value: Any) -> Any:
        return self.ray.put(value)

    def _start(self, worker: int, method: str, args: tuple, stream: bool) -> None:
        actor = self.actors[worker]
        if stream:
            self.flight[worker] = (True, actor.stream.options(num_returns="streaming").remote(
                method, *args))
        else:
            self.flight[worker] = (False, actor.call.remote(method, *args))

    def wait(self, on_event: EventHandler, timeout: float | None = None) -> None:
        if not self.flight:
            return
        handles = {id(handle): worker for worker, (_, handle) in self.flight.items()}
        ready, _ = self.ray.wait([handle for _, handle in self.flight.values()],
                                 num_returns=1, timeout=timeout, fetch_local=False)
        for handle in ready:
            worker = handles[id(handle)]
            if self.flight[worker][0]:
                self._drain(worker, handle, on_event)
            else:
                self._reply(worker, handle, on_event)

    def _reply(self, worker: int, ref: Any, on_event: EventHandler) -> None:
        try:
            items = self.ray.get(ref)
        except self.lost as error:
            self._died(worker, error, on_event)
            return
        except self.ray.exceptions.RayTaskError as error:
            items = [("error", f"ray worker: {str(error).splitlines()[-1]}")]
        self._end(worker)
        for kind, value in items:
            on_event(Event(worker, kind, value))
            if kind == "error":
                return
        on_event(Event(worker, "done"))

    def _drain(self, worker: int, generator: Any, on_event: EventHandler) -> None:
        """Every item of a streamed call that has arrived."""
        while True:
            try:
                item = self.ray.get(next(generator))
            except StopIteration:
                self._end(worker)
                on_event(Event(worker, "done"))
                return
            except self.lost as error:
                self._died(worker, error, on_event)
                return
            on_event(Event(worker, item[0], item[1]))
            if item[0] == "error":
                self._end(worker)
                return
            ready, _ = self.ray.wait([generator], timeout=0, fetch_local=False)
            if not ready:
                return

    def _end(self, worker: int) -> None:
        self.flight.pop(worker, None)
        self._finish(worker)

    def _died(self, worker: int, error: BaseException, on_event: EventHandler) -> None:
        self._end(worker)
        text = str(error)
        how = ("its Ray node died" if "node" in text.lower() and "died" in text.lower()
               and "worker process has died" not in text else "its Ray worker died")
        on_event(Event(worker, "died", how))

    def node(self, worker: int) -> str:
        if worker not in self.nodes:
            try:
                self.nodes[worker] = str(self.ray.get(self.places[worker], timeout=30)[0])
            except Exception:  # noqa: BLE001 - a dead actor has no place any more
                return ""
        return self.nodes[worker]

    def pid(self, worker: int) -> int:
        """The process of a worker (tests kill it)."""
        return int(self.ray.get(self.places[worker], timeout=60)[1])

    def replace(self, worker: int) -> None:
        self.ray.kill(self.actors[worker], no_restart=True)
        # A replacement asks for no CPU of its own: where a whole node died, the CPUs left are
        # held by the surviving workers, and an actor waiting for one would never start (the
        # run hung). It shares a CPU with them instead.
        self.actors[worker] = self.actor_class.options(num_cpus=0).remote(self.factory,
                                                                           self.init)
        self.places[worker] = self.actors[worker].where.remote()
        self.nodes.pop(worker, None)
        self._end(worker)

    def close(self) -> None:
        for actor in self.actors:
            try:
                self.ray.get(actor.close.remote(), timeout=10)
            except Exception:  # noqa: BLE001 - a dead or stuck actor is killed all the same
                pass
            self.ray.kill(actor, no_restart=True)
        self.actors = []
        if self.started_ray:
            self.ray.shutdown()
