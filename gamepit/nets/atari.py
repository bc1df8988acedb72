"""Torsos and heads for the model-free learners (DQN, PPO): the Nature CNN for Atari frames, the
MinAtar paper's small CNN for 10x10 planes, an MLP for vector observations, and a small
convolutional torso for board planes.

``make_torso`` picks by observation shape, so a learner works on any game without naming it.
Image inputs arrive as uint8 (or int8 planes) and are scaled inside the network, so replay
buffers and rollouts keep the compact dtype.
"""

from __future__ import annotations

import math

import torch
from torch import nn

NATURE_MIN_SIZE = 36  # the Nature CNN's strides need frames at least this large
MINATAR_GRID = (10, 10)  # MinAtar's planes: the small CNN of its paper, not the board torso


def layer_init(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights and constant bias, the initialisation PPO implementations rely on."""
    nn.init.orthogonal_(layer.weight, gain)  # type: ignore[arg-type]
    nn.init.constant_(layer.bias, bias)  # type: ignore[arg-type]
    return layer


class NatureCNN(nn.Module):
    """Mnih et al. (2015): three convolutions and a 512-unit layer over stacked 84x84 frames."""

    def __init__(self, in_channels: int, height: int = 84, width: int = 84,
                 features: int = 512) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            layer_init(nn.Conv2d(in_channels, 32, 8, stride=4)), nn.ReLU(),
            layer_init(nn.Conv2d(32, 64, 4, stride=2)), nn.ReLU(),
            layer_init(nn.Conv2d(64, 64, 3, stride=1)), nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, in_channels, height, width)).shape[1]
        self.fc = nn.Sequential(layer_init(nn.Linear(flat, features)), nn.ReLU())
        self.features = features
        # Channels-last convolutions train about 1.3x faster on CPU (oneDNN) and no slower on
        # GPU; the input is converted to match in forward.
        self.convs.to(memory_format=torch.channels_last)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # Reorder the bytes before widening them: a quarter of the memory traffic.
        scaled = frames.contiguous(memory_format=torch.channels_last).float() / 255.0
        return self.fc(self.convs(scaled))


class BoardTorso(nn.Module):
    """Same-padding 3x3 convolutions over board planes (tic-tac-toe, connect four...)."""

    def __init__(self, in_channels: int, height: int, width: int, channels: int = 64,
                 layers: int = 3, features: int = 256) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for index in range(layers):
            blocks += [layer_init(nn.Conv2d(in_channels if index == 0 else channels, channels,
                                            3, padding=1)), nn.ReLU()]
        self.convs = nn.Sequential(*blocks, nn.Flatten())
        self.fc = nn.Sequential(layer_init(nn.Linear(channels * height * width, features)),
                                nn.ReLU())
        self.features = features

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(planes.float()))


class MinAtarTorso(nn.Module):
    """Young & Tian (2019), MinAtar's DQN: one 3x3 convolution with 16 channels (no padding)
    and a 128-unit layer over the 10x10 planes; about 50 times fewer multiplications than the
    board torso, which is what lets a CPU train it."""

    def __init__(self, in_channels: int, height: int = 10, width: int = 10,
                 features: int = 128) -> None:
        super().__init__()
        self.convs = nn.Sequential(layer_init(nn.Conv2d(in_channels, 16, 3)), nn.ReLU(),
                                   nn.Flatten())
        flat = 16 * (height - 2) * (width - 2)
        self.fc = nn.Sequential(layer_init(nn.Linear(flat, features)), nn.ReLU())
        self.features = features

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(planes.float()))


class MLPTorso(nn.Module):
    """Two tanh layers over a flat observation vector (classic control)."""

    def __init__(self, size: int, hidden: int = 64, activation: type[nn.Module] = nn.Tanh
                 ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), layer_init(nn.Linear(size, hidden)), activation(),
            layer_init(nn.Linear(hidden, hidden)), activation())
        self.features = hidden

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return self.body(observation.float())


def make_torso(observation_shape: tuple[int, ...], hidden: int = 64,
               activation: type[nn.Module] = nn.Tanh) -> nn.Module:
    """The one place a torso is chosen, by observation shape: the Nature CNN for frames, the
    MinAtar CNN for 10x10 planes, a board torso for other small planes, an MLP for the rest."""
    if len(observation_shape) == 3:
        channels, height, width = observation_shape
        if min(height, width) >= NATURE_MIN_SIZE:
            return NatureCNN(channels, height, width)
        if (height, width) == MINATAR_GRID:
            return MinAtarTorso(channels, height, width)
        return BoardTorso(channels, height, width)
    size = int(math.prod(observation_shape))
    return MLPTorso(size, hidden, activation)


class QNetwork(nn.Module):
    """Action values over a torso; with ``dueling`` a value stream plus mean-centred
    advantages (Wang et al. 2016)."""

    def __init__(self, observation_shape: tuple[int, ...], num_actions: int,
                 dueling: bool = False, hidden: int = 120) -> None:
        super().__init__()
        self.torso = make_torso(observation_shape, hidden, nn.ReLU)
        features = self.torso.features
        self.dueling = dueling
        self.advantage = nn.Linear(features, num_actions)
        self.value = nn.Linear(features, 1) if dueling else None

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        hidden = self.torso(observation)
        advantage = self.advantage(hidden)
        if self.value is None:
            return advantage
        return self.value(hidden) + advantage - advantage.mean(dim=1, keepdim=True)


class ActorCritic(nn.Module):
    """A shared torso with a policy head (logits) and a value head, as in PPO on Atari."""

    def __init__(self, observation_shape: tuple[int, ...], num_actions: int,
                 hidden: int = 64) -> None:
        super().__init__()
        self.torso = make_torso(observation_shape, hidden, nn.Tanh)
        # Small MLPs learn faster with a critic of their own (as CleanRL's classic-control PPO);
        # convolutional torsos are shared, which is what makes PPO on pixels affordable.
        self.critic_torso = (make_torso(observation_shape, hidden, nn.Tanh)
                             if isinstance(self.torso, MLPTorso) else None)
        features = self.torso.features
        self.policy = layer_init(nn.Linear(features, num_actions), gain=0.01)
        self.value = layer_init(nn.Linear(features, 1), gain=1.0)

    def forward(self, observation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.torso(observation)
        critic = hidden if self.critic_torso is None else self.critic_torso(observation)
        return self.policy(hidden), self.value(critic).squeeze(-1)
