"""Wall seconds, CPU seconds and the machine's load, for the side-by-side tables: a ratio per
wall second says what a user waits; a ratio per CPU second says what the work costs, and holds
when other jobs share the machine (a busy core slows the wall clock of both sides unevenly)."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Spent:
    wall: float = 0.0
    cpu: float = 0.0  # this process's threads, and children that ended meanwhile


def _cpu() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@contextmanager
def clocked() -> Iterator[Spent]:
    """``with clocked() as spent: ...``; afterwards ``spent.wall`` and ``spent.cpu``."""
    spent = Spent()
    wall, cpu = time.perf_counter(), _cpu()
    try:
        yield spent
    finally:
        spent.wall = time.perf_counter() - wall
        spent.cpu = _cpu() - cpu


def load() -> str:
    """The 1-minute load average and the number of cores, for a table's header."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


@dataclass
class Rate:
    """A count per wall second and per CPU second."""

    wall: float
    cpu: float

    @classmethod
    def of(cls, count: float, spent: Spent) -> Rate:
        return cls(count / max(spent.wall, 1e-9), count / max(spent.cpu, 1e-9))

    def ratios(self, peer: Rate) -> str:
        """This rate against ``peer``'s, per wall second and per CPU second: "1.23x 1.40x"."""
        return f"{self.wall / peer.wall:.2f}x {self.cpu / peer.cpu:.2f}x"
