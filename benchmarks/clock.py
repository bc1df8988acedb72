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


_TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu() -> float:
    """CPU seconds of this process and every process below it, alive or ended (each live
    process's own time and its reaped children's, from /proc): worker processes, and Ray's
    raylet and workers, which a local ``ray.init`` starts below this process."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(value) for value in fields[11:15]) / _TICKS
    below, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in below:
                below.add(pid)
                frontier.append(pid)
    return sum(times.get(pid, 0.0) for pid in below)


@contextmanager
def clocked(descendants: bool = False) -> Iterator[Spent]:
    """``with clocked() as spent: ...``; afterwards ``spent.wall`` and ``spent.cpu``: this
    process's CPU and its ended children's, or with ``descendants`` every process below it
    (``tree_cpu``)."""
    spent = Spent()
    measure = tree_cpu if descendants else _cpu
    wall, cpu = time.perf_counter(), measure()
    try:
        yield spent
    finally:
        spent.wall = time.perf_counter() - wall
        spent.cpu = measure() - cpu


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
