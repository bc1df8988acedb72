"""Residual towers with policy and value heads, as in AlphaGo Zero, sized by the game's
observation (channels, height, width) and action count.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm (or the ``norm`` given) and a skip connection."""

    def __init__(self, filters: int,
                 norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(filters, filters, 3, padding=1, bias=False)
        self.norm1 = norm(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1, bias=False)
        self.norm2 = norm(filters)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(x + self.norm2(self.conv2(y)))


class ResidualTower(nn.Module):
    """A 3x3 stem from ``channels`` to ``filters`` planes, then ``blocks`` residual blocks;
    keeps the board's height and width."""

    def __init__(self, channels: int, filters: int = 32, blocks: int = 2) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, filters, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(filters), nn.ReLU())
        self.blocks = nn.Sequential(*(ResidualBlock(filters) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x))


class PolicyValueNet(nn.Module):
    """Observation planes [N, C, H, W] -> (policy logits [N, num_actions], value [N] in
    (-1, 1) for the player the observation was made for)."""

    def __init__(self, channels: int, height: int, width: int, num_actions: int,
                 filters: int = 32, blocks: int = 2, value_hidden: int = 64) -> None:
        super().__init__()
        self.shape = (channels, height, width)
        self.num_actions = num_actions
        self.tower = ResidualTower(channels, filters, blocks)
        cells = height * width
        self.policy_head = nn.Sequential(
            nn.Conv2d(filters, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * cells, num_actions))
        self.value_head = nn.Sequential(
            nn.Conv2d(filters, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
            nn.Linear(cells, value_hidden), nn.ReLU(), nn.Linear(value_hidden, 1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.tower(x)
        return self.policy_head(features), self.value_head(features).squeeze(-1)
