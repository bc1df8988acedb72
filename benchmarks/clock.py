"""Wall seconds, CPU seconds and the machine's load, for the side-by-side tables: a ratio per
wall second says what a user waits; a ratio per CPU second says what the work costs, and holds
when other jobs share the machine (a busy core slows the wall clock of both sides unevenly)."""

from __future__ import annotations

import os
import resource
import threading
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


def _own_times() -> dict[int, float]:
    """Each process of this process's tree (this one and every one below it): its own CPU
    seconds (user and system; not its reaped children's, which are counted as themselves)."""
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
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICKS
    below, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in below:
                below.add(pid)
                frontier.append(pid)
    return {pid: times[pid] for pid in below if pid in times}


class _TreeSampler(threading.Thread):
    """Samples ``_own_times`` every ``interval`` seconds, keeping each process's last value:
    a process that ends inside the window still counts up to its last sample. Reaping cannot
    hide it (Ray's raylet reaps its workers without adding their time to its own), and a
    reaped child is never counted twice through its parent."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval, self.done = interval, threading.Event()
        self.start_times = _own_times()
        self.seen = dict(self.start_times)

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.seen.update(_own_times())

    def spent(self) -> float:
        self.done.set()
        self.join()
        self.seen.update(_own_times())
        return sum(time_ - self.start_times.get(pid, 0.0) for pid, time_ in self.seen.items())


@contextmanager
def clocked(descendants: bool = False) -> Iterator[Spent]:
    """``with clocked() as spent: ...``; afterwards ``spent.wall`` and ``spent.cpu``: this
    process's CPU and its ended children's, or with ``descendants`` that of every process of
    its tree, sampled every 0.1 s so that processes ending inside the window count
    (``_TreeSampler``; one ending within 0.1 s of its last sample loses that much)."""
    spent = Spent()
    sampler = _TreeSampler() if descendants else None
    if sampler is not None:
        sampler.start()
    wall, cpu = time.perf_counter(), _cpu()
    try:
        yield spent
    finally:
        spent.wall = time.perf_counter() - wall
        spent.cpu = sampler.spent() if sampler is not None else _cpu() - cpu


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
