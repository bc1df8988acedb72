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


class NetworkEvaluator:
    """Priors from the softmax of the policy logits, values from the value head, both for the
    player to move (observations are made from that player's point of view).

    ``network_seconds`` adds up the time spent moving observations to the device, running
    the network and bringing the answers back, so benchmarks can tell network time from the
    search's own overhead.

    On the CPU the evaluator runs a fast copy of the network made at its first call
    (``gamepit.nets.inference``, ``fast=True``: folded, then run by ONNX Runtime): weights
    changed in place afterwards are not seen, so make a new evaluator for new weights.
    """

    def __init__(self, net: torch.nn.Module, device: str | torch.device = "cpu",
                 fast: bool = True) -> None:
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.fast = fast and self.device.type == "cpu"
        self.runner: Any = None  # the network, or its fast copy (gamepit.nets.inference)
        self.network_seconds = 0.0
        self.positions = 0

    def evaluate(self, states: Sequence[State]) -> tuple[np.ndarray, np.ndarray]:
        return self.evaluate_observations(encode(states))

    def evaluate_observations(self, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``evaluate`` of positions given as their observations for the player to move
        [K, *observation_shape] (what an array model makes from its rows)."""
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
