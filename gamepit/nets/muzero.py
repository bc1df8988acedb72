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
values over an unroll.

Two kinds of network. The flat one: dynamics and prediction are small multilayer perceptrons
with layer norm on a hidden vector; the representation is one too (on the flattened
observation), or, for observations of planes [C, H, W] (connect four's board, MinAtar's 10x10
grids), a small residual convolutional torso whose output is flattened into the hidden vector.
It is cheap (the dynamics runs on every simulation and every unrolled training step) but a
vector of 64 numbers has to learn to hold the whole board. The spatial one, as in the paper's
board-game network: the hidden state keeps the board's planes ([channels, H, W], flattened only
to be stored), the dynamics is a residual convolutional network on the hidden planes and the
action drawn as planes (``action_planes``), and prediction is AlphaZero's policy and value heads.
Representation and prediction together are then the AlphaZero network of the same size; a
simulation runs the dynamics' convolutions and the heads (AlphaZero runs its whole tower), and
training unrolls the dynamics K times for every sampled position.

With ``consistency`` the network also has EfficientZero's (Ye et al. 2021) self-supervised
heads, SimSiam style (Chen and He 2021): a projection of a hidden state and a predictor on top
of it, trained so that the hidden state the dynamics reach after k actions predicts the
projection of the representation of the observation actually seen k moves later.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from gamepit.nets.residual import ResidualBlock

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


class ConvRepresentation(nn.Module):
    """Planes [C, H, W] -> a ``hidden`` vector: a 3x3 convolution to ``channels``, ``blocks``
    residual blocks, a 1x1 convolution down to ``reduced`` planes, flattened and a linear layer
    (the flat hidden state the MLP dynamics and prediction run on). With ``hidden`` 0 the
    hidden state is the tower's planes themselves, flattened ([channels * H * W])."""

    def __init__(self, shape: tuple[int, int, int], hidden: int, channels: int = 32,
                 blocks: int = 2, reduced: int = 8) -> None:
        super().__init__()
        planes, height, width = shape
        self.shape = (planes, height, width)
        self.stem = nn.Sequential(nn.Conv2d(planes, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(blocks)])
        self.spatial = hidden == 0
        if not self.spatial:
            self.reduce = nn.Sequential(nn.Conv2d(channels, reduced, 1, bias=False),
                                        nn.BatchNorm2d(reduced), nn.ReLU())
            self.out = nn.Linear(reduced * height * width, hidden)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(observations.float().reshape(-1, *self.shape)))
        return x.flatten(1) if self.spatial else self.out(self.reduce(x).flatten(1))


def action_planes(num_actions: int, height: int, width: int) -> torch.Tensor:
    """[num_actions, P, H, W]: each action drawn as planes for a convolutional dynamics. One
    action a column (connect four): a plane with its column set. One a cell (Go's moves, with
    a pass as the one action more): a plane with its cell set, and a plane of ones for the
    pass. Otherwise (MinAtar's moves) one constant plane per action, as the paper's Atari
    network broadcast its action."""
    if num_actions == width:
        planes = torch.zeros(num_actions, 1, height, width)
        for action in range(num_actions):
            planes[action, 0, :, action] = 1
    elif num_actions in (height * width, height * width + 1):
        planes = torch.zeros(num_actions, 1 + (num_actions > height * width), height, width)
        for action in range(height * width):
            planes[action, 0, action // width, action % width] = 1
        if num_actions > height * width:
            planes[height * width, 1] = 1
    else:
        planes = torch.eye(num_actions)[:, :, None, None].expand(-1, -1, height, width)
    return planes.contiguous()


def plane_norm(kind: str) -> Callable[[int], nn.Module]:
    """Normalisation of a convolution's planes: ``batch`` (batch norm, as in AlphaZero) or
    ``layer`` (each sample over all its planes, ``GroupNorm(1, C)``: the same in training and
    in search, whatever the batch holds)."""
    if kind == "batch":
        return nn.BatchNorm2d
    if kind == "layer":
        return lambda channels: nn.GroupNorm(1, channels)
    raise ValueError(f"norm must be batch or layer, not {kind!r}")


class ConvDynamics(nn.Module):
    """(hidden planes [N, C*H*W] flat, actions [N]) -> next hidden planes (flat, not yet
    scaled) and reward logits: a 3x3 convolution of the hidden planes and the action's planes
    back to C planes, ``blocks`` residual blocks; the reward from a 1x1 convolution to one
    plane and two linear layers. ``norm``: batch norm, or another from ``plane_norm``."""

    def __init__(self, shape: tuple[int, int, int], num_actions: int, blocks: int,
                 bins: int, width: int, norm: Callable[[int], nn.Module] = nn.BatchNorm2d
                 ) -> None:
        super().__init__()
        channels, height, width_ = shape
        self.shape = shape
        self.register_buffer("planes", action_planes(num_actions, height, width_),
                             persistent=False)
        drawn = self.planes.shape[1]
        self.stem = nn.Sequential(nn.Conv2d(channels + drawn, channels, 3, padding=1,
                                            bias=False),
                                  norm(channels), nn.ReLU())
        self.blocks = nn.Sequential(*[ResidualBlock(channels, norm) for _ in range(blocks)])
        self.reward = nn.Sequential(nn.Conv2d(channels, 1, 1, bias=False), norm(1),
                                    nn.ReLU(), nn.Flatten(), nn.Linear(height * width_, width),
                                    nn.ReLU(), nn.Linear(width, bins))

    def forward(self, hidden: torch.Tensor, actions: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([hidden.reshape(-1, *self.shape), self.planes[actions.long()]], dim=1)
        y = self.blocks(self.stem(x))
        return y.flatten(1), self.reward(y)


class ConvPrediction(nn.Module):
    """Hidden planes (flat) -> policy and value logits: AlphaZero's heads, 1x1 convolutions to
    two planes (policy) and one (value) with batch norm (or ``norm``), then linear layers."""

    def __init__(self, shape: tuple[int, int, int], num_actions: int, bins: int,
                 width: int, norm: Callable[[int], nn.Module] = nn.BatchNorm2d) -> None:
        super().__init__()
        channels, height, width_ = shape
        self.shape = shape
        cells = height * width_
        self.policy = nn.Sequential(nn.Conv2d(channels, 2, 1, bias=False), norm(2),
                                    nn.ReLU(), nn.Flatten(), nn.Linear(2 * cells, num_actions))
        self.value = nn.Sequential(nn.Conv2d(channels, 1, 1, bias=False), norm(1),
                                   nn.ReLU(), nn.Flatten(), nn.Linear(cells, width), nn.ReLU(),
                                   nn.Linear(width, bins))

    def forward(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = hidden.reshape(-1, *self.shape)
        return self.policy(x), self.value(x)


class MuZeroNet(nn.Module):
    """Representation, dynamics and prediction for observations of ``observation_size``
    numbers and ``num_actions`` discrete actions. With ``channels`` > 0 and a 3-D
    ``observation_shape`` the representation is convolutional (``ConvRepresentation``),
    otherwise an MLP on the flattened observation; ``spatial`` (convolutional only) keeps the
    hidden state as ``channels`` planes of the board, with ``ConvDynamics`` (of
    ``dynamics_blocks`` residual blocks) and ``ConvPrediction`` (``hidden`` is then unused),
    both normalised by ``dynamics_norm`` (``plane_norm``).
    ``transformed``: values and rewards are categorical over h(x), else over x itself."""

    def __init__(self, observation_size: int, num_actions: int, hidden: int = 64,
                 width: int = 128, layers: int = 2, support: int = 10,
                 observation_shape: tuple[int, ...] | None = None, channels: int = 0,
                 blocks: int = 2, transformed: bool = True, consistency: bool = False,
                 spatial: bool = False, dynamics_blocks: int = 1,
                 dynamics_norm: str = "batch") -> None:
        super().__init__()
        self.num_actions, self.support = num_actions, support
        self.transformed = transformed
        bins = 2 * support + 1
        self.representation: nn.Module
        if channels > 0:
            if observation_shape is None or len(observation_shape) != 3:
                raise ValueError(f"a convolutional representation needs [C, H, W] "
                                 f"observations, not {observation_shape}")
            planes, height, width_ = (int(x) for x in observation_shape)
            if spatial:
                hidden = channels * height * width_
            self.representation = ConvRepresentation((planes, height, width_),
                                                     0 if spatial else hidden, channels, blocks)
        elif spatial:
            raise ValueError("a spatial hidden state needs a convolutional representation")
        else:
            self.representation = mlp(observation_size, width, hidden, layers)
        self.hidden = hidden
        self.convolutional = channels > 0
        self.spatial = spatial
        self.dynamics_net: nn.Module
        self.prediction_net: nn.Module
        if spatial:
            board = (channels, height, width_)
            norm = plane_norm(dynamics_norm)
            self.dynamics_net = ConvDynamics(board, num_actions, dynamics_blocks, bins, width,
                                             norm)
            self.prediction_net = ConvPrediction(board, num_actions, bins, width, norm)
            heads = (self.dynamics_net.reward[-1], self.prediction_net.value[-1],
                     self.prediction_net.policy[-1])
        else:
            self.dynamics_trunk = mlp(hidden + num_actions, width, width, layers - 1)
            self.next_hidden = nn.Linear(width, hidden)
            self.reward = nn.Sequential(nn.ReLU(), nn.Linear(width, bins))
            self.prediction = mlp(hidden, width, width, layers - 1)
            self.policy = nn.Sequential(nn.ReLU(), nn.Linear(width, num_actions))
            self.value = nn.Sequential(nn.ReLU(), nn.Linear(width, bins))
            heads = (self.reward[-1], self.value[-1], self.policy[-1])
        if consistency:  # EfficientZero's projection and predictor (SimSiam)
            self.projection = nn.Sequential(
                nn.Linear(hidden, width), nn.LayerNorm(width), nn.ReLU(),
                nn.Linear(width, width), nn.LayerNorm(width))
            self.predictor = nn.Sequential(nn.Linear(width, width // 2),
                                           nn.LayerNorm(width // 2), nn.ReLU(),
                                           nn.Linear(width // 2, width))
        self.consistent = consistency
        for head in heads:
            nn.init.zeros_(head.weight)  # start from uniform priors, value and reward 0
            nn.init.zeros_(head.bias)

    def represent(self, observations: torch.Tensor) -> torch.Tensor:
        if self.convolutional:
            return minmax_scale(self.representation(observations))
        return minmax_scale(self.representation(observations.flatten(1).float()))

    def dynamics(self, hidden: torch.Tensor, actions: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Next hidden state and reward logits of taking ``actions`` [B] (ints)."""
        if self.spatial:
            following, reward_logits = self.dynamics_net(hidden, actions)
            return minmax_scale(following), reward_logits
        one_hot = torch.nn.functional.one_hot(actions.long(), self.num_actions).float()
        trunk = self.dynamics_trunk(torch.cat([hidden, one_hot], dim=1))
        return minmax_scale(self.next_hidden(torch.relu(trunk))), self.reward(trunk)

    def predict(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy logits and value logits of hidden states."""
        if self.spatial:
            return self.prediction_net(hidden)
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
