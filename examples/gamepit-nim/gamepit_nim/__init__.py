"""The game of Nim and a perfect Nim agent, as a gamepit plugin distributed on its own."""

from __future__ import annotations

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import ActResult, Agent, BaseState, Game, Option, State, agent, game


class NimState(BaseState):
    def __init__(self, heaps: list[int], max_heap: int) -> None:
        self.heaps = list(heaps)
        self.max_heap = max_heap
        self.player = 0
        self.last_mover = -1

    @property
    def current_player(self) -> int:
        return -1 if self.is_terminal() else self.player

    def legal_mask(self) -> np.ndarray:
        mask = np.zeros(len(self.heaps) * self.max_heap, dtype=bool)
        for heap, size in enumerate(self.heaps):
            mask[heap * self.max_heap:heap * self.max_heap + size] = True
        return mask

    def apply(self, action: int) -> None:
        heap, take = divmod(action, self.max_heap)
        if heap >= len(self.heaps) or not 0 < take + 1 <= self.heaps[heap]:
            raise ValueError(f"illegal nim action {action}")
        self.heaps[heap] -= take + 1
        self.last_mover = self.player
        self.player = 1 - self.player

    def clone(self) -> NimState:
        other = NimState(self.heaps, self.max_heap)
        other.player, other.last_mover = self.player, self.last_mover
        return other

    def is_terminal(self) -> bool:
        return not any(self.heaps)

    def returns(self) -> list[float]:
        if not self.is_terminal():
            return [0.0, 0.0]
        return [1.0, -1.0] if self.last_mover == 0 else [-1.0, 1.0]

    def observation(self, player: int) -> np.ndarray:
        planes = np.zeros((len(self.heaps), self.max_heap), dtype=np.int8)
        for heap, size in enumerate(self.heaps):
            planes[heap, :size] = 1
        return planes

    def render(self) -> str:
        return "\n".join(f"heap {i}: {'|' * size} ({size})" for i, size in enumerate(self.heaps))


class Nim(Game):
    name = "nim"
    num_players = 2

    def __init__(self, heaps: str = "3-4-5") -> None:
        try:
            self.heaps = [int(part) for part in heaps.split("-")]
        except ValueError:
            raise ValueError(f"heaps must look like 3-4-5, got {heaps!r}") from None
        if not self.heaps or min(self.heaps) < 1:
            raise ValueError("every heap needs at least one object")
        self.max_heap = max(self.heaps)
        self.num_actions = len(self.heaps) * self.max_heap
        self.observation_shape = (len(self.heaps), self.max_heap)

    def new_state(self, seed: int | None = None) -> NimState:
        return NimState(self.heaps, self.max_heap)


class PerfectNimAgent(Agent):
    """Leaves a nim-sum of zero when it can; otherwise takes one object at random."""

    def act(self, state: State) -> ActResult:
        heaps = state.heaps  # type: ignore[attr-defined]
        nim_sum = 0
        for size in heaps:
            nim_sum ^= size
        for heap, size in enumerate(heaps):
            target = size ^ nim_sum
            if nim_sum and target < size:
                return heap * state.max_heap + (size - target - 1), {"value": 1.0}  # type: ignore[attr-defined]
        legal = state.legal_actions()
        return int(legal[self.rng.integers(len(legal))]), {"value": -1.0}


@hookimpl
def gamepit_add_games() -> list:
    return [game("nim", Nim, "Nim: take from one heap; taking the last object wins.",
                 [Option("heaps", str, "3-4-5", "heap sizes joined by '-'")])]


@hookimpl
def gamepit_add_agents() -> list:
    return [agent("nim-perfect", PerfectNimAgent, "Plays Nim perfectly by the nim-sum rule.")]
