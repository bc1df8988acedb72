"""IW(1), the width-based planner of Lipovetzky, Ramirez and Geffner (2015, "Classical
Planning with Simulators: Results on the Atari Video Games").

Breadth-first search over clones of a State that keeps a state only if it makes some atom
true for the first time in this search (novelty 1) and prunes every other. Atoms are, in
order of preference:

- what an optional ``State.novelty_atoms()`` method returns (hashable values), if the state
  type offers one;
- (byte index, byte value) over the bytes of a ``ram`` attribute, if the state has one: the
  128 bytes of the Atari 2600's RAM, as in the paper (128 x 256 atoms);
- (cell index, value) over the cells of ``observation()`` that are not zero: for MinAtar's
  10x10xC boolean grid, the set (channel, y, x) cells. Integer values are taken modulo 256.

A reward found at depth d counts ``discount ** (d - 1)``, so nearer rewards win. The root
action chosen leads to the best discounted return found; ties go to the action under which
the search reached deepest (the longest path found that did not end the game: a proxy for
staying alive when no reward is in sight), then to a random draw from the caller's stream.

This module names no game and imports numpy only.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np

from gamepit.protocols import HasNoveltyAtoms, State


def atoms(state: State) -> list[Hashable]:
    """The atoms true in ``state`` (see the module docstring for where they come from)."""
    if isinstance(state, HasNoveltyAtoms):
        return list(state.novelty_atoms())
    ram = getattr(state, "ram", None)
    if isinstance(ram, (bytes, bytearray)) and ram:
        values = np.frombuffer(ram, dtype=np.uint8).astype(np.int64)
        return (np.arange(values.size, dtype=np.int64) * 256 + values).tolist()
    seen = np.asarray(state.observation(max(state.current_player, 0))).ravel()
    cells = np.flatnonzero(seen)
    if seen.dtype.kind in "biu":
        return (cells * 256 + (seen[cells].astype(np.int64) & 255)).tolist()
    return list(zip(cells.tolist(), seen[cells].tolist(), strict=True))


@dataclass
class WidthResult:
    """What one IW(1) search found, per root action and in all."""

    best: np.ndarray  # [A] best discounted return found under each root action (-inf: none)
    deepest: np.ndarray  # [A] deepest node generated under each root action (0: none)
    generated: np.ndarray  # [A] states generated under each root action
    expanded: int
    pruned: int
    seconds: float


def iw1(root: State, num_actions: int, nodes: int, discount: float,
        rng: np.random.Generator, seconds: float = 0.0) -> WidthResult:
    """Breadth-first search from ``root`` with novelty-1 pruning, until ``nodes`` states have
    been generated (one simulator step each), ``seconds`` have passed (if > 0), or no novel
    state is left to expand. Rewards are counted for the player to move at the root; the
    order in which a node's actions are tried is shuffled by ``rng``."""
    started = time.perf_counter()
    deadline = started + seconds if seconds > 0 else None
    player = root.current_player
    best = np.full(num_actions, -np.inf)
    deepest = np.zeros(num_actions, dtype=np.int64)
    generated = np.zeros(num_actions, dtype=np.int64)
    seen: set[Hashable] = set(atoms(root))
    queue: deque[tuple[State, int, int, float]] = deque([(root, -1, 0, 0.0)])
    expanded = pruned = total = 0
    while queue and total < nodes:
        state, first, depth, earned = queue.popleft()
        expanded += 1
        base = state.returns()[player]
        legal = np.flatnonzero(state.legal_mask())
        for action in rng.permutation(legal).tolist():
            if total >= nodes or (deadline is not None and time.perf_counter() > deadline):
                queue.clear()
                break
            child = state.clone()
            child.apply(action)
            total += 1
            branch = action if first < 0 else first
            gain = earned + discount ** depth * (child.returns()[player] - base)
            generated[branch] += 1
            best[branch] = max(best[branch], gain)
            deepest[branch] = max(deepest[branch], depth + 1)
            if child.is_terminal():
                continue
            new = [atom for atom in atoms(child) if atom not in seen]
            if new:
                seen.update(new)
                queue.append((child, branch, depth + 1, gain))
            else:
                pruned += 1
    return WidthResult(best, deepest, generated, expanded, pruned,
                       time.perf_counter() - started)


def choose(result: WidthResult, rng: np.random.Generator, tolerance: float = 1e-9) -> int:
    """The action to the best discounted return; ties to the deepest search, then at random."""
    tried = np.flatnonzero(result.generated > 0)
    top = result.best[tried].max()
    tied = tried[result.best[tried] >= top - tolerance]
    tied = tied[result.deepest[tied] == result.deepest[tied].max()]
    return int(tied[rng.integers(tied.size)])
