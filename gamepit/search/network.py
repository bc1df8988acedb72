"""A torch policy/value network as an Evaluator: one forward pass for the whole batch of
leaves, on any device. Imports torch, so only load it when a network is used."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from gamepit.nets.inference import fast_copy
from gamepit.protocols import State
from gamepit.search.encoders import encode

CACHE_BYTES = 64 * 2**20  # the positions (observations and answers) an evaluator keeps, at most


class NetworkEvaluator:
    """Priors from the softmax of the policy logits, values from the value head, both for the
    player to move (observations are made from that player's point of view).

    ``network_seconds`` adds up the time spent moving observations to the device, running
    the network and bringing the answers back, so benchmarks can tell network time from the
    search's own overhead.

    On the CPU the evaluator runs a fast copy of the network made at its first call
    (``gamepit.nets.inference``, ``fast=True``: folded, then run by ONNX Runtime): weights
    changed in place afterwards are not seen, so make a new evaluator for new weights.

    It also keeps its answers (``cache=True``): a position whose observation it has valued
    before, in this call or an earlier one, is answered from memory, not by the network. Games
    played side by side share their openings and a tree meets the same position by other move
    orders (38% of a connect four self-play round's positions, 48% with Gumbel). Up to
    ``CACHE_BYTES`` of positions and answers are kept, then it starts again. ``positions``
    counts what the network valued, ``lookups`` every position asked. So on any device an
    evaluator stands for the weights it first answered with: make a new one for new weights
    (self-play makes one a round).
    """

    def __init__(self, net: torch.nn.Module, device: str | torch.device = "cpu",
                 fast: bool = True, cache: bool = True) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.fast = fast and self.device.type == "cpu"
        self.runner: Any = None  # the network, or its fast copy (gamepit.nets.inference)
        self.network_seconds = 0.0
        self.positions = 0
        self.lookups = 0
        self.cache: dict[bytes, tuple[np.ndarray, float]] | None = {} if cache else None

    def evaluate(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        return self.evaluate_observations(encode(states))

    def evaluate_observations(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``evaluate`` of positions given as their observations for the player to move
        [K, *observation_shape] (what an array model makes from its rows)."""
        self.lookups += len(observations)
        if self.cache is None or not len(observations):
            return self._run(observations)
        rows = np.ascontiguousarray(observations, dtype=np.float32)
        keys = [row.tobytes() for row in rows]
        answers: dict[bytes, tuple[np.ndarray, float] | None] = {}
        first: list[int] = []  # the first row of each position the cache does not hold
        for index, key in enumerate(keys):
            if key not in answers:
                answers[key] = self.cache.get(key)
                if answers[key] is None:
                    first.append(index)
        if first:
            priors, values = self._run(rows[first])
            entry = len(keys[0]) + priors[0].nbytes + 160  # key, answer, dict and tuple
            if (len(self.cache) + len(first)) * entry > CACHE_BYTES:
                self.cache.clear()
            for index, prior, value in zip(first, priors, values.tolist(), strict=True):
                answers[keys[index]] = self.cache[keys[index]] = (prior, value)
        known = [answers[key] for key in keys]
        return (np.stack([answer[0] for answer in known]),  # type: ignore[index]
                np.array([answer[1] for answer in known]))  # type: ignore[index]

    def _run(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The network's answers for every row."""
        started = time.perf_counter()
        with torch.inference_mode():
            batch = torch.as_tensor(observations, dtype=torch.float32).to(self.device)
            if self.runner is None:
                self.runner = fast_copy(self.net, batch[:1]) if self.fast else self.net
            logits, values = self.runner(batch)
            priors = torch.softmax(logits.float(), -1).cpu().numpy()
            values = values.float().cpu().numpy()
        self.network_seconds += time.perf_counter() - started
        self.positions += len(observations)
        return priors.astype(np.float64), values.astype(np.float64)
