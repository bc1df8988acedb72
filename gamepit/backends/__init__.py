"""The executor seam: one way to run work (tournament games, self-play batches, labelling
batches) in this process, in worker processes, or on Ray, with the same code path.

A caller names a worker class and the arguments that build it; ``open_pool`` starts that many
workers on the chosen backend (each builds its own worker object from those arguments: spec
strings, settings, shapes, never live objects), and the caller hands calls to free workers and
reads back what they emit (``pool.Pool``). Zero workers means this process, whatever the
backend, as RLlib's ``num_env_runners=0``. Ray is imported only when the Ray backend is chosen;
without it installed, asking for it is one line.

- ``pool``: the interface every backend implements, the worker side of a call, shared values
  and ``map_calls`` (many calls over a pool, at most one in flight per worker);
- ``inprocess``, ``processes``, ``ray``: the three backends;
- ``isolate``: one agent in a child process of its own (``--isolate``, and inside workers).

A plugin folder like the others: it imports the kernel only and no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gamepit.backends.pool import Event, Pool, map_calls
from gamepit.errors import GamepitError

BACKENDS = ("inprocess", "processes", "ray")

__all__ = ["BACKENDS", "Event", "Pool", "backend_problem", "check_backend", "map_calls",
           "open_pool", "placement_note"]


def backend_problem(backend: str, ray_address: str | None = None) -> str:
    """What is wrong with these settings, in words ('' if nothing): a backend name that is not
    one of ours, or a Ray cluster named with another backend (the run would quietly stay on
    this machine)."""
    if backend not in BACKENDS:
        return f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}"
    if ray_address and backend != "ray":
        return f"ray_address {ray_address} needs backend ray (--backend ray), not {backend}"
    return ""


def check_backend(backend: str, what: str, ray_address: str | None = None) -> None:
    """``backend_problem`` as one line."""
    problem = backend_problem(backend, ray_address)
    if problem:
        raise GamepitError(f"{what}: {problem}")


def placement_note(backend: str, workers: int) -> str:
    """A line for settings that run nothing side by side, though they look as if they might
    ('' for the others)."""
    if backend == "inprocess" and workers > 0:
        return (f"backend inprocess: the {workers} workers take turns in this process "
                "(--backend processes or ray runs them side by side)")
    if backend != "inprocess" and workers == 0:
        return f"backend {backend} with 0 workers: everything runs in this process " \
               "(give --workers N)"
    return ""


def open_pool(backend: str, workers: int, factory: type, init: Sequence[Any] = (),
              ray_address: str | None = None) -> Pool:
    """``workers`` workers, each ``factory(*init)`` built where it runs. ``workers=0`` is one
    worker in this process on any backend; ``inprocess`` with more runs them one after another
    here (the same calls, the same results, no parallelism)."""
    check_backend(backend, "executor")
    if backend == "inprocess" or workers == 0:
        from gamepit.backends.inprocess import InProcessPool

        return InProcessPool(max(workers, 1), factory, init)
    if backend == "processes":
        from gamepit.backends.processes import ProcessPool

        return ProcessPool(workers, factory, init)
    from gamepit.backends.ray import RayPool

    return RayPool(workers, factory, init, ray_address)
