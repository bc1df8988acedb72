"""MuZero's three networks (Schrittwieser et al. 2020) and its value transform.

- representation ``h``: observation -> hidden state,
- dynamics ``g``: (hidden state, action) -> next hidden state and the reward of the action,
- prediction ``f``: hidden state -> policy logits and value.

Values and rewards are categorical over integer bins ``-support..support`` of the transformed
scalar ``h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps x`` (Pohlen et al. 2018), as in the MuZero
pseudocode for Atari: a scalar becomes a two-hot vector over the two bins around ``h(x)``, and
the expected bin of a predicted distribution goes back through ``h^-1``. Without the transform
(``transformed=False``, for board games) the bins are the scalars themselves: with support 1 a
loss, a draw and a win are the bins -1, 0 and 1, a certain outcome is a one-hot target, and the
expected bin is the expected outcome. (Through h an outcome of 1 is the two-hot 0.585 on bin 0
and 0.415 on bin 1, whose entropy, 0.68 nats, no prediction can go below.) Hidden states are scaled
to [0, 1] per sample (min-max), as in the paper, so the dynamics cannot drift them to huge
values over an unroll. The dynamics and prediction networks are small multilayer perceptrons
with layer norm. The representation is either one too (on the flattened observation), or, for
observations of planes [C, H, W] (connect four's board, MinAtar's 10x10 grids), a small
residual convolutional torso whose output is flattened into the hidden vector. The convolutions
run once per observed position; the dynamics, which runs on every simulation of every search
and every unrolled training step, stays a cheap MLP on the flat hidden state (a convolutional
dynamics as in the paper would cost some 30-100x more per step on this CPU).

With ``consistency`` the network also has EfficientZero's (Ye et al. 2021) self-supervised
heads, SimSiam style (Chen and He 2021): a projection of a hidden state and a predictor on top
of it, trained so that the hidden state the dynamics reach after k actions predicts the
projection of the representation of the observation actually seen k moves later.
"""

from __future__ import annotations

import math

import torch
from torch import nn

EPSILON = 1e-3  # the transform's linear term, as in the MuZero pseudocode


def transform(x: torch.Tensor, eps: float = EPSILON) -> torch.Tensor:
    """h(x) = sign(x)(sqrt(|x| + 1) - 1) + eps x: squashes large returns, invertible."""
    return torch.sign(x) * (torch.sqrt(x.abs() + 1) - 1) + eps * x


def inverse_transform(y: torch.Tensor, eps: float = EPSILON) -> torch.Tensor:
    """h^-1(y), the closed form of Pohlen et al. (2018), Proposition A.2."""
    root = (torch.sqrt(1 + 4 * eps * (y.abs() + 1 + eps)) - 1) / (2 * eps)
    return torch.sign(y) * (root * root - 1)


def scalar_to_support(x: torch.Tensor, support: int, transformed: bool = True) -> torch.Tensor:
    """Scalars [...] -> two-hot distributions [..., 2 support + 1] of h(x) (of x itself when
    not ``transformed``) over the integer bins -support..support (values beyond the ends are
    clipped to them)."""
    y = (transform(x.float()) if transformed else x.float()).clamp(-support, support)
    low = y.floor()
    upper_share = y - low
    bins = 2 * support + 1
    out = torch.zeros(*x.shape, bins, dtype=torch.float32, device=x.device)
    low_index = (low + support).long()
    out.scatter_(-1, low_index.unsqueeze(-1), (1 - upper_share).unsqueeze(-1))
    high_index = (low_index + 1).clamp(max=bins - 1)
    out.scatter_add_(-1, high_index.unsqueeze(-1),
                     torch.where(low_index + 1 < bins, upper_share, 0.0).unsqueeze(-1))
    return out


def support_to_scalar(logits: torch.Tensor, support: int, transformed: bool = True
                      ) -> torch.Tensor:
    """Logits [..., 2 support + 1] -> scalars [...]: h^-1 of the expected bin (the expected
    bin itself when not ``transformed``)."""
    bins = torch.arange(-support, support + 1, dtype=torch.float32, device=logits.device)
    expected = (torch.softmax(logits.float(), dim=-1) * bins).sum(-1)
    return inverse_transform(expected) if transformed else expected


def scale_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    """The same values; gradients flowing back through are multiplied by ``scale``."""
    return x * scale + x.detach() * (1 - scale)


def minmax_scale(hidden: torch.Tensor) -> torch.Tensor:
    """Each row scaled to [0, 1] (the paper's hidden-state normalisation)."""
    low = hidden.min(dim=-1, keepdim=True).values
    high = hidden.max(dim=-1, keepdim=True).values
    return (hidden - low) / (high - low).clamp(min=1e-5)


def mlp(inputs: int, width: int, outputs: int, layers: int = 2) -> nn.Sequential:
    """``layers`` hidden layers of ``width`` (linear, layer norm, ReLU), then a linear output."""
    parts: list[nn.Module] = []
    size = inputs
    for _ in range(layers):
        parts += [nn.Linear(size, width), nn.LayerNorm(width), nn.ReLU()]
        size = width
    parts.append(nn.Linear(size, outputs))
    return nn.Sequential(*parts)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a skip connection (AlphaZero's block)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(x + self.norm2(self.conv2(y)))


class ConvRepresentation(nn.Module):
    """Planes [C, H, W] -> a ``hidden`` vector: a 3x3 convolution to ``channels``, ``blocks``
    residual blocks, a 1x1 convolution down to ``reduced`` planes, flattened and a linear layer
    (the flat hidden state the MLP dynamics and prediction run on)."""

    def __init__(self, shape: tuple[int, int, int], hidden: int, channels: int = 32,
                 blocks: int = 2, reduced: int = 8) -> None:
        super().__init__()
        planes, height, width = shape
        self.shape = (planes, height, width)
        self.stem = nn.Sequential(nn.Conv2d(planes, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)])
        self.reduce = nn.Sequential(nn.Conv2d(channels, reduced, 1, bias=False),
                                    nn.BatchNorm2d(reduced), nn.ReLU())
        self.out = nn.Linear(reduced * height * width, hidden)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        x = observations.float().reshape(-1, *self.shape)
        return self.out(self.reduce(self.blocks(self.stem(x))).flatten(1))


class MuZeroNet(nn.Module):
    """Representation, dynamics and prediction for observations of ``observation_size``
    numbers and ``num_actions`` discrete actions. With ``channels`` > 0 and a 3-D
    ``observation_shape`` the representation is convolutional (``ConvRepresentation``),
    otherwise an MLP on the flattened observation. ``transformed``: values and rewards are
    categorical over h(x), else over x itself."""

    def __init__(self, observation_size: int, num_actions: int, hidden: int = 64,
                 width: int = 128, layers: int = 2, support: int = 10,
                 observation_shape: tuple[int, ...] | None = None, channels: int = 0,
                 blocks: int = 2, transformed: bool = True, consistency: bool = False
                 ) -> None:
        super().__init__()
        self.num_actions, self.support, self.hidden = num_actions, support, hidden
        self.transformed = transformed
        bins = 2 * support + 1
        self.representation: nn.Module
        if channels > 0:
            if observation_shape is None or len(observation_shape) != 3:
                raise ValueError(f"a convolutional representation needs [C, H, W] "
                                 f"observations, not {observation_shape}")
            planes, height, width_ = (int(x) for x in observation_shape)
            self.representation = ConvRepresentation((planes, height, width_), hidden,
                                                     channels, blocks)
        else:
            self.representation = mlp(observation_size, width, hidden, layers)
        self.convolutional = channels > 0
        self.dynamics_trunk = mlp(hidden + num_actions, width, width, layers - 1)
        self.next_hidden = nn.Linear(width, hidden)
        self.reward = nn.Sequential(nn.ReLU(), nn.Linear(width, bins))
        self.prediction = mlp(hidden, width, width, layers - 1)
        self.policy = nn.Sequential(nn.ReLU(), nn.Linear(width, num_actions))
        self.value = nn.Sequential(nn.ReLU(), nn.Linear(width, bins))
        if consistency:  # EfficientZero's projection and predictor (SimSiam)
            self.projection = nn.Sequential(
                nn.Linear(hidden, width), nn.LayerNorm(width), nn.ReLU(),
                nn.Linear(width, width), nn.LayerNorm(width))
            self.predictor = nn.Sequential(nn.Linear(width, width // 2),
                                           nn.LayerNorm(width // 2), nn.ReLU(),
                                           nn.Linear(width // 2, width))
        self.consistent = consistency
        for head in (self.reward[-1], self.value[-1], self.policy[-1]):
            nn.init.zeros_(head.weight)  # start from uniform priors, value and reward 0
            nn.init.zeros_(head.bias)

    def represent(self, observations: torch.Tensor) -> torch.Tensor:
        if self.convolutional:
            return minmax_scale(self.representation(observations))
        return minmax_scale(self.representation(observations.flatten(1).float()))

    def dynamics(self, hidden: torch.Tensor, actions: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next hidden state and reward logits of taking ``actions`` [B] (ints)."""
        one_hot = torch.nn.functional.one_hot(actions.long(), self.num_actions).float()
        trunk = self.dynamics_trunk(torch.cat([hidden, one_hot], dim=1))
        return minmax_scale(self.next_hidden(torch.relu(trunk))), self.reward(trunk)

    def predict(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy logits and value logits of hidden states."""
        trunk = self.prediction(hidden)
        return self.policy(trunk), self.value(trunk)

    def consistency(self, reached: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
        """Per row, the negative cosine similarity between the prediction from hidden states
        the dynamics ``reached`` and the projection of the hidden states of the observations
        seen there (``observed``, already ``represent``ed), which gets no gradient."""
        target = self.projection(observed).detach()
        guess = self.predictor(self.projection(reached))
        return -torch.nn.functional.cosine_similarity(guess, target, dim=1)

    def scalar(self, logits: torch.Tensor) -> torch.Tensor:
        """The value or reward that logits over this network's support stand for."""
        return support_to_scalar(logits, self.support, self.transformed)

    def target(self, scalars: torch.Tensor) -> torch.Tensor:
        """Scalar values or rewards as the distributions over the support to train towards."""
        return scalar_to_support(scalars, self.support, self.transformed)


def value_bins(maximum: float) -> int:
    """The support that holds returns up to ``maximum`` in size after the transform."""
    return max(1, math.ceil(float(transform(torch.tensor(float(maximum))))))
