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
