"""MuZero (Schrittwieser et al. 2020): planning with a learned model. Reads top to bottom like a
CleanRL script: arguments, network, the learned model the search runs on, batched self-play,
n-step targets, the replay buffer (optional priorities, optional reanalyse), the K-step unroll,
the agent, the loop, checkpoints.

``search: gumbel`` makes it Gumbel MuZero (Danihelka et al. 2022). Reanalyse (Schrittwieser et
al. 2021): ``reanalyse`` bootstraps value targets from the target network, and
``reanalyse_fraction`` of each batch's games get policy targets from a fresh search of their
stored positions with the current network; ``replay_ratio`` sets gradient steps per move.

The search is gamepit's batched PUCT tree (``gamepit.search.tree``) through its model seam:
``LearnedModel.initial`` runs the representation and prediction networks on the roots,
``recurrent`` the dynamics and prediction networks on the leaves of every tree at once. So
self-play searches ``selfplay_games`` games per forward pass. Rewards sit on edges, the tree
discounts them, and on one-player games it normalises Q by the min and max values seen
(MinMax). Values are from the view of the player to move, as in the pseudocode for board
games; the tree keeps them in player 0's terms and flips them where the player changes.

Guards against what users of other implementations hit (see docs/learners.md): the buffer is
capped in positions and stores each observation once; the dynamics' gradient is halved and each
unrolled step's loss scaled by 1/K; hidden states are min-max scaled; gradients are clipped;
a loss that is not finite stops the run with one line. ``dynamics: conv`` gives board games
the paper's network: a hidden state of board planes and a convolutional dynamics.

The run folder holds ``checkpoint.pt`` (networks, optimizer, counters, random states),
``replay_buffer.npz`` and ``model.pt`` (what the agent needs), all written atomically.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gamepit.backends import map_calls
from gamepit.backends.pool import split
from gamepit.errors import GamepitError
from gamepit.files import atomic_write
from gamepit.learners import toolkit
from gamepit.nets.muzero import MuZeroNet, scale_gradient
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import ActResult, Agent, Game, SearchResult, State
from gamepit.search.gumbel import make_search
from gamepit.search.mcts import MCTS, describe, pick, position_key
from gamepit.search.tree import REWARD, SIGN, Expansion, Tree
from gamepit.training.settings import SEED_MAX, as_plain_dict, setting

ALGORITHM = "muzero"
MODEL = "model.pt"
BUILTIN_DIR = Path(__file__).resolve().parent / "checkpoints"


@dataclass
class MuZeroArgs(toolkit.SelfPlayArgs):
    game: str = setting("", spec="game", required=True)
    """game spec to train on: a two-player board game or a one-player game with rewards"""
    seed: int = setting(1, low=0, high=SEED_MAX)
    """seed of self-play, root noise, the networks and sampling"""
    iterations: int = setting(100, low=1)
    """rounds of self-play then training (a resumed run counts from where it was)"""
    selfplay_games: int = setting(64, low=1, high=100_000)
    """games played at once; their leaves share one forward pass per simulation"""
    moves_per_iteration: int = setting(9, low=1)
    """moves each of the games plays per iteration (a finished game is replaced by a new one)"""
    sims: int = setting(25, low=1, high=1_000_000)
    """search simulations per self-play move"""
    search: str = "puct"
    """puct (MuZero: Dirichlet root noise, visit-count targets) or gumbel (Gumbel MuZero:
    Gumbel-top-k and sequential halving at the root, the improved policy as target)"""
    considered: int = setting(16, low=1, high=100_000)
    """gumbel: actions drawn at the root by Gumbel-top-k"""
    gumbel_scale: float = setting(1.0, low=0)
    """gumbel: scale of the root's Gumbel noise in self-play"""
    c_puct: float = setting(1.25, above=0)
    """PUCT exploration constant"""
    dirichlet_alpha: float = setting(0.3, above=0)
    """Dirichlet noise concentration at self-play roots"""
    dirichlet_epsilon: float = setting(0.25, low=0, high=1)
    """share of root noise in the priors during self-play"""
    temperature: float = setting(1.0, low=0, high=100)
    """self-play samples moves from visits^(1/temperature) for the first temperature_moves"""
    temperature_moves: int = setting(4, low=0)
    """self-play moves sampled by visit counts; the most visited move afterwards"""
    max_moves: int = setting(0, low=0)
    """moves after which a self-play game is cut (0: play to the end); a cut one-player game
    bootstraps from its last search value, a cut two-player game counts as a draw"""
    discount: float = setting(1.0, low=0, high=1)
    """reward discount (1 for board games; 0.997 in the paper's Atari runs)"""
    td_steps: int = setting(10, low=1, high=100_000)
    """n of the n-step value targets (at least the game's length: Monte Carlo outcomes)"""
    unroll_steps: int = setting(5, low=1, high=100)
    """K: steps the dynamics network is unrolled in training"""
    support: int = setting(10, low=1, high=1000)
    """values and rewards are categorical over bins -support..support of h(x)"""
    transform: bool = True
    """values and rewards through h(x) = sign(x)(sqrt(|x| + 1) - 1) + 0.001 x before the
    support, as in the paper's Atari runs; false on board games, where -1, 0 and 1 are the
    bins themselves (a loss, a draw, a win: one-hot targets, without the 0.68-nat floor that a
    two-hot target of h(1) puts under the value loss)"""
    hidden: int = setting(64, low=2, high=65_536)
    """size of the hidden state"""
    width: int = setting(128, low=1, high=65_536)
    """units of the networks' hidden layers"""
    layers: int = setting(2, low=1, high=100)
    """hidden layers of the representation network (the others have one fewer)"""
    representation: str = "auto"
    """auto: a residual convolutional torso for observations of planes [C, H, W], an MLP on
    the flattened observation otherwise; conv or mlp to choose"""
    channels: int = setting(32, low=1, high=1024)
    """channels of the convolutional representation"""
    blocks: int = setting(2, low=0, high=40)
    """residual blocks of the convolutional representation"""
    dynamics: str = "mlp"
    """mlp: the hidden state is a vector (``hidden``) and the dynamics and prediction are
    small MLPs, cheap per simulation; conv (with the convolutional representation): the hidden
    state keeps the board's planes, the dynamics is a residual convolutional network on them
    and the action's planes, and prediction is AlphaZero's heads, as in the paper's board-game
    network (training unrolls these convolutions K times per sampled position)"""
    dynamics_blocks: int = setting(1, low=0, high=40)
    """residual blocks of the convolutional dynamics"""
    dynamics_norm: str = "layer"
    """normalisation in the convolutional dynamics and prediction: layer (each hidden state over
    all its planes) or batch (batch norm, whose one set of running statistics serves every
    unrolled step, so the search answers differently than training did)"""
    augment: bool = False
    """add each self-play game under every board symmetry of the game (the same symmetry for
    all its positions, its actions mapped with it): 8 games for one on a square board"""
    buffer_size: int = setting(100_000, low=1, high=100_000_000)
    """positions the replay buffer holds (each observation stored once)"""
    min_buffer: int = setting(256, low=0)
    """positions the buffer needs before training starts"""
    batch_size: int = setting(128, low=1, high=1_000_000)
    """positions per gradient step, each unrolled unroll_steps steps"""
    train_steps: int = setting(20, low=0)
    """gradient steps after each iteration of self-play"""
    learning_rate: float = setting(3e-3, above=0)
    """Adam step size"""
    weight_decay: float = setting(1e-4, low=0)
    """L2 penalty on the weights (AdamW)"""
    value_weight: float = setting(0.25, low=0)
    """weight of the value loss (0.25 as in MuZero Reanalyse)"""
    grad_clip: float = setting(5.0, above=0)
    """clip the gradients' global norm to this"""
    consistency_weight: float = setting(0.0, low=0)
    """EfficientZero's self-supervised consistency loss: its weight (paper: 2; 0: off, no
    projection heads in the network). The hidden state the dynamics reach after k actions is
    trained to predict the representation of the observation seen k moves later"""
    dynamics_gradient_scale: float = setting(0.5, low=0, high=1)
    """gradient scale at the dynamics network's input on each unrolled step (paper: 0.5)"""
    priority: bool = False
    """prioritised replay: sample positions by |value - target|^priority_alpha"""
    priority_alpha: float = setting(1.0, low=0, high=10)
    """exponent of the priorities"""
    priority_beta: float = setting(1.0, low=0, high=1)
    """importance-sampling correction of prioritised sampling (1: full)"""
    reanalyse: bool = False
    """recompute the bootstrap values of the n-step targets with the target network, instead of
    the search values stored at self-play time"""
    reanalyse_fraction: float = setting(0.0, low=0, high=1)
    """MuZero Reanalyse: the share of each batch's games whose policy targets (every unrolled
    step) come from a fresh search of the stored positions with the current network"""
    reanalyse_sims: int = setting(0, low=0, high=1_000_000)
    """simulations of the reanalyse searches (0: sims)"""
    replay_ratio: float = setting(0.0, low=0, high=1000)
    """gradient steps per environment step (self-play move); 0: train_steps per iteration"""
    target_update: int = setting(100, low=1)
    """gradient steps between copies of the network into the target network (reanalyse)"""
    eval_max_steps: int = setting(0, low=0)
    """cap on evaluation episode length on one-player games (0: none)"""

    def validate(self) -> None:
        super().validate()
        if self.representation not in ("auto", "conv", "mlp"):
            raise ValueError(f"representation must be auto, conv or mlp, "
                             f"not {self.representation!r}")
        if self.dynamics not in ("conv", "mlp"):
            raise ValueError(f"dynamics must be conv or mlp, not {self.dynamics!r}")
        if self.dynamics_norm not in ("batch", "layer"):
            raise ValueError(f"dynamics_norm must be batch or layer, not {self.dynamics_norm!r}")


# --------------------------------------------------------------------------- network


def network_shape(game: Game, args: MuZeroArgs) -> dict[str, Any]:
    """The network's shape as plain values, stored in checkpoints so an agent can rebuild it."""
    if game.num_players not in (1, 2):
        raise GamepitError(f"muzero trains on one- and two-player games; "
                           f"{game.spec or game.name} has {game.num_players}")
    if not game.capabilities.state:
        raise GamepitError(f"{game.spec or game.name} offers no simulator state to play on")
    shape = [int(x) for x in getattr(game, "observation_shape", None) or ()]
    if not shape:
        raise GamepitError(f"{game.spec or game.name} declares no observation shape")
    kind = args.representation
    if kind == "auto":
        kind = "conv" if len(shape) == 3 else "mlp"
    if kind == "conv" and len(shape) != 3:
        raise GamepitError(f"representation=conv needs observations of planes [C, H, W]; "
                           f"{game.spec or game.name} has shape {shape}")
    out = {"observation_shape": shape, "num_actions": int(game.num_actions),
           "players": int(game.num_players), "hidden": args.hidden, "width": args.width,
           "layers": args.layers, "support": args.support, "representation": kind,
           "transform": bool(args.transform), "consistency": args.consistency_weight > 0,
           "dynamics": args.dynamics}
    if args.dynamics == "conv" and kind != "conv":
        raise GamepitError(f"dynamics=conv needs the convolutional representation; "
                           f"{game.spec or game.name} gets representation={kind}")
    if kind == "conv":
        out.update(channels=args.channels, blocks=args.blocks)
    if args.dynamics == "conv":
        out.update(dynamics_blocks=args.dynamics_blocks, dynamics_norm=args.dynamics_norm)
    return out


def stored_shape(shape: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's shape with the defaults of older checkpoints filled in (those written
    before the convolutional representation, like builtin:tictactoe, are MLPs; those written
    before the ``transform`` setting put values through h; none before ``consistency_weight``
    had its heads, none before ``dynamics`` a convolutional one, and the first convolutional
    ones, before ``dynamics_norm``, had batch norm)."""
    return {"representation": "mlp", "transform": True, "consistency": False,
            "dynamics": "mlp", "dynamics_blocks": 1, "dynamics_norm": "batch", **shape}


def build_network(shape: dict[str, Any]) -> MuZeroNet:
    shape = stored_shape(shape)
    conv = shape["representation"] == "conv"
    return MuZeroNet(int(np.prod(shape["observation_shape"])), int(shape["num_actions"]),
                     int(shape["hidden"]), int(shape["width"]), int(shape["layers"]),
                     int(shape["support"]), tuple(int(x) for x in shape["observation_shape"]),
                     int(shape["channels"]) if conv else 0,
                     int(shape["blocks"]) if conv else 0, bool(shape["transform"]),
                     bool(shape["consistency"]), spatial=shape["dynamics"] == "conv",
                     dynamics_blocks=int(shape["dynamics_blocks"]),
                     dynamics_norm=str(shape["dynamics_norm"]))


# --------------------------------------------------------------------------- the learned model


@dataclass
class Stored:
    """A position from the replay buffer as a root of the learned model (reanalyse): what
    ``LearnedModel.initial`` reads of a State."""

    seen: np.ndarray  # the observation for the player to move
    current_player: int
    legal: np.ndarray

    def observation(self, player: int) -> np.ndarray:
        return self.seen

    def legal_mask(self) -> np.ndarray:
        return self.legal


class LearnedModel:
    """The search tree's ``Model`` over MuZero's networks. A handle is a row of a tensor of
    hidden states kept here, so one call gathers the leaves of all trees and steps them in one
    forward pass. Past the root every action is allowed and nothing is terminal (MuZero's
    model runs on past the end of a game, into absorbing states); in a two-player game the
    player to move alternates."""

    def __init__(self, network: MuZeroNet, device: torch.device, players: int) -> None:
        self.network, self.device, self.players = network, device, players
        self.store = torch.empty(0)
        self.to_play = np.zeros(0, dtype=np.int64)
        self.used = 0

    def _put(self, hidden: torch.Tensor, to_play: np.ndarray) -> list[int]:
        count = len(hidden)
        if self.used + count > len(self.store):
            size = max(2 * len(self.store), self.used + count, 64)
            store = torch.empty(size, hidden.shape[1], device=hidden.device)
            if self.used:
                store[:self.used] = self.store[:self.used]
            self.store = store
            self.to_play = np.resize(self.to_play, size)
        rows = np.arange(self.used, self.used + count)
        self.store[self.used:self.used + count] = hidden
        self.to_play[rows] = to_play
        self.used += count
        return rows.tolist()

    def _describe(self, hidden: torch.Tensor, to_play: np.ndarray, legal: np.ndarray,
                  rewards: np.ndarray) -> Expansion:
        logits, value_logits = self.network.predict(hidden)
        priors = torch.softmax(logits.float(), dim=1).cpu().numpy()
        values = self.network.scalar(value_logits).cpu().numpy()
        return Expansion(self._put(hidden, to_play), priors, values.astype(float), legal,
                         to_play, rewards)

    @torch.no_grad()
    def initial(self, roots: Sequence[State | Stored]) -> Expansion:
        observations = np.stack([np.asarray(root.observation(root.current_player))
                                 for root in roots])
        hidden = self.network.represent(torch.as_tensor(observations, device=self.device))
        to_play = np.array([root.current_player for root in roots], dtype=np.int64)
        legal = np.stack([np.asarray(root.legal_mask(), dtype=bool) for root in roots])
        return self._describe(hidden, to_play, legal, np.zeros(len(roots)))

    @torch.no_grad()
    def recurrent(self, handles: Sequence[int], actions: np.ndarray) -> Expansion:
        rows = np.asarray(handles, dtype=np.int64)
        parents = self.to_play[rows]
        hidden, reward_logits = self.network.dynamics(
            self.store[torch.as_tensor(rows, device=self.device)],
            torch.as_tensor(np.asarray(actions), device=self.device))
        mover_reward = self.network.scalar(reward_logits).cpu().numpy()
        rewards = mover_reward * np.where(parents == 1, -1.0, 1.0)  # in player 0's terms
        to_play = 1 - parents if self.players == 2 else parents
        legal = np.ones((len(rows), self.network.num_actions), dtype=bool)
        return self._describe(hidden, to_play, legal, rewards.astype(float))


def search(network: MuZeroNet, device: torch.device, mcts: MCTS, states: Sequence[State],
           keys: Sequence[int]) -> tuple[list[SearchResult], Tree]:
    players = len(states[0].returns())
    model = LearnedModel(network, device, players)
    return mcts.run(model, list(states), list(keys), single_player=players == 1)


def predicted_reward(tree: Tree, index: int, action: int) -> float:
    """The model's reward for ``action`` at root ``index``, for the player who takes it."""
    child = int(tree.children[index, 0, action])
    if child < 0:
        return 0.0
    return float(tree.info[index, child, REWARD] * tree.info[index, 0, SIGN])


# --------------------------------------------------------------------------- self-play


@dataclass
class Trajectory:
    """One self-play game. Rewards (of the action at each position) and search values are in
    player 0's terms; ``to_play`` turns them into the mover's."""

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    values: np.ndarray
    policies: np.ndarray
    to_play: np.ndarray
    terminal: bool  # False when cut at max_moves
    legal: np.ndarray | None = None  # [T, A] bool: the legal actions at each position

    def __len__(self) -> int:
        return len(self.actions)


def key_of(seed: int, move: int, salt: int = 0) -> int:
    """A 63-bit seed for one move of one game: a game plays the same whatever shares its
    batch."""
    return int(np.random.SeedSequence([seed, move, salt]).generate_state(2, np.uint64)[0] >> 1)


def new_record() -> dict[str, list[Any]]:
    """The lists a game in progress is recorded in, one entry a move."""
    return {key: [] for key in ("observations", "actions", "rewards", "values", "policies",
                                "to_play", "legal")}


def record_move(record: dict[str, list[Any]], state: State, action: int, policy: np.ndarray,
                value: float) -> None:
    """Record the position before ``action`` and play it on ``state``. ``value`` is the
    search's, from the view of the player to move; it is stored, like the action's reward
    (the change in player 0's return), in player 0's terms."""
    player = state.current_player
    before = state.returns()[0]
    record["observations"].append(np.asarray(state.observation(player)))
    record["legal"].append(np.asarray(state.legal_mask(), dtype=bool))
    record["policies"].append(np.asarray(policy, dtype=np.float32))
    record["values"].append(value * (-1.0 if player == 1 else 1.0))
    record["to_play"].append(player)
    record["actions"].append(action)
    state.apply(action)
    record["rewards"].append(state.returns()[0] - before)


def trajectory_of(record: dict[str, list[Any]], terminal: bool) -> Trajectory:
    return Trajectory(np.stack(record["observations"]),
                      np.asarray(record["actions"], dtype=np.int64),
                      np.asarray(record["rewards"], dtype=np.float32),
                      np.asarray(record["values"], dtype=np.float32),
                      np.stack(record["policies"]),
                      np.asarray(record["to_play"], dtype=np.int64), terminal,
                      np.stack(record["legal"]))


class SelfPlay:
    """``games`` games played side by side; each searched move of all of them is one batched
    search. A finished game is handed out and replaced by one with the next seed."""

    def __init__(self, game: Game, args: MuZeroArgs, games: int,
                 seeds: Callable[[], int | None]) -> None:
        self.game, self.args, self.seeds = game, args, seeds
        self.mcts = make_search(args.search, args.sims, args.c_puct, args.dirichlet_alpha,
                                args.dirichlet_epsilon, args.considered, args.gumbel_scale,
                                args.discount)
        self.slots: list[dict[str, Any]] = []
        for _ in range(games):
            slot = self._new_game()
            if slot is not None:
                self.slots.append(slot)
        self.returns: list[float] = []
        self.first_player_scores: list[float] = []

    def _new_game(self) -> dict[str, Any] | None:
        seed = self.seeds()
        if seed is None:
            return None
        return {"seed": seed, "state": self.game.new_state(seed), "moves": 0,
                "record": new_record()}

    def play(self, network: MuZeroNet, device: torch.device, moves: int
             ) -> tuple[list[Trajectory], int]:
        """Advance every game by ``moves`` moves; returns the games that ended, and the count
        of moves played."""
        finished: list[Trajectory] = []
        played = 0
        args = self.args
        for _ in range(moves):
            if not self.slots:
                break
            states = [slot["state"] for slot in self.slots]
            keys = [key_of(slot["seed"], slot["moves"]) for slot in self.slots]
            results, _ = search(network, device, self.mcts, states, keys)
            still = []
            for slot, result in zip(self.slots, results, strict=True):
                state, record = slot["state"], slot["record"]
                temperature = (args.temperature if slot["moves"] < args.temperature_moves
                               and args.search == "puct" else 0)  # gumbel: its survivor
                action = pick(result, temperature,
                              np.random.default_rng(key_of(slot["seed"], slot["moves"], 1)))
                record_move(record, state, action, result.policy, result.value)
                slot["moves"] += 1
                played += 1
                terminal = state.is_terminal()
                if terminal or (args.max_moves and slot["moves"] >= args.max_moves):
                    finished.append(self._finish(slot, terminal))
                    slot = self._new_game()
                    if slot is None:
                        continue
                still.append(slot)
            self.slots = still
        return finished, played

    def _finish(self, slot: dict[str, Any], terminal: bool) -> Trajectory:
        record = slot["record"]
        returns = slot["state"].returns()
        self.returns.append(float(returns[0]))
        if len(returns) == 2:
            self.first_player_scores.append((1.0 + float(np.sign(returns[0]))) / 2)
        return trajectory_of(record, terminal)


@dataclass
class Played:
    """What a self-play worker's call brings back: the games that ended, the moves played, and
    the returns (player 0's) and first-player scores of the games that ended."""

    finished: list[Trajectory]
    moves: int
    returns: list[float]
    first_player_scores: list[float]


class SelfPlayWorker:
    """A self-play worker of the executor seam (``gamepit.backends``): the game and a copy of
    the network, built where it runs from plain settings, and its share of the games in
    progress, which it keeps between calls (so a call always goes to the same worker)."""

    def __init__(self, manager: PluginManager | None, args: MuZeroArgs,
                 shape: dict[str, Any], device: str = "cpu") -> None:
        self.args, self.game = args, toolkit.worker_game(args, manager)
        self.network = toolkit.WorkerNetwork(build_network(shape), device)
        self.selfplay: SelfPlay | None = None

    def play(self, emit: Any, weights: dict[str, np.ndarray], version: int, games: int,
             seed: int, moves: int) -> Played:
        """Advance this worker's games by ``moves`` moves (its games start on seeds drawn from
        ``seed`` at the first call)."""
        network = self.network.at(weights, version)
        if self.selfplay is None:
            source = np.random.default_rng(seed)
            self.selfplay = SelfPlay(self.game, self.args, games,
                                     lambda: int(source.integers(2**31)))
        finished, played = self.selfplay.play(network, self.network.device, moves)
        returns, firsts = list(self.selfplay.returns), list(self.selfplay.first_player_scores)
        self.selfplay.returns.clear()
        self.selfplay.first_player_scores.clear()
        return Played(finished, played, returns, firsts)


def symmetric_games(game: Game, trajectory: Trajectory) -> list[Trajectory]:
    """The game under each of ``game.symmetries`` (identity first), one symmetry for all of its
    positions; an action's image is where the symmetry sends a one-hot policy on it."""
    count, actions = len(trajectory), game.num_actions
    per_position = [game.symmetries(observation, policy) for observation, policy
                    in zip(trajectory.observations, trajectory.policies, strict=True)]
    moved = [game.symmetries(observation, np.eye(actions, dtype=np.float32)[action])
             for observation, action in zip(trajectory.observations, trajectory.actions,
                                            strict=True)]
    legal = trajectory.legal if trajectory.legal is not None else np.ones((count, actions), bool)
    allowed = [game.symmetries(observation, mask.astype(np.float32)) for observation, mask
               in zip(trajectory.observations, legal, strict=True)]
    games = []
    for index in range(len(per_position[0])):
        games.append(Trajectory(
            np.stack([per_position[t][index][0] for t in range(count)]),
            np.array([int(np.argmax(np.asarray(moved[t][index][1]).reshape(-1)))
                      for t in range(count)], dtype=np.int64),
            trajectory.rewards, trajectory.values,
            np.stack([np.asarray(per_position[t][index][1], dtype=np.float32).reshape(-1)
                      for t in range(count)]),
            trajectory.to_play, trajectory.terminal,
            np.stack([np.asarray(allowed[t][index][1]).reshape(-1) > 0.5
                      for t in range(count)])))
    return games


# --------------------------------------------------------------------------- targets


def nstep_values(rewards: np.ndarray, values: np.ndarray, index: np.ndarray, end: np.ndarray,
                 terminal: np.ndarray, td_steps: int, discount: float,
                 value_at: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """n-step value targets in player 0's terms at global positions ``index`` (any shape).

    ``rewards[p]`` is the reward of the action at position ``p``, ``values[p]`` the search's
    value there (both at ``p % len(rewards)``, a ring); ``end`` is one past the last position
    of each index's game, ``terminal`` whether that game ended (else it was cut).
    z_t = sum_{i<n} d^i r_(t+i) + d^n v_(t+n): past the end of an ended game rewards and values
    are 0 (absorbing states); a cut game bootstraps from its last value instead. ``value_at``,
    if given, replaces the stored values of bootstrap positions (reanalyse)."""
    index = np.asarray(index, dtype=np.int64)
    end = np.broadcast_to(np.asarray(end, dtype=np.int64), index.shape)
    terminal = np.broadcast_to(np.asarray(terminal, dtype=bool), index.shape)
    size = len(rewards)
    steps = np.where(index + td_steps < end, td_steps,
                     np.where(terminal, end - index, end - 1 - index))
    steps = np.clip(steps, 0, td_steps)
    offsets = np.arange(td_steps)
    positions = index[..., None] + offsets
    summed = np.where(offsets < steps[..., None], rewards[positions % size], 0.0)
    total = (summed * discount ** offsets).sum(-1)
    bootstrap = (index + td_steps < end) | (~terminal & (index < end))
    at = index + steps
    if bootstrap.any():
        chosen = at[bootstrap]
        boot = value_at(chosen) if value_at is not None else values[chosen % size]
        total[bootstrap] += discount ** steps[bootstrap] * boot
    return total


# --------------------------------------------------------------------------- replay buffer


class ReplayBuffer:
    """A ring of positions (capped in positions, each observation stored once), indexed by a
    global position counter: a position's game continues at the following global positions,
    which are newer and so still held."""

    FIELDS = ("observations", "actions", "rewards", "values", "policies", "signs", "end",
              "terminal", "position", "priorities", "legal")

    def __init__(self, capacity: int, observation_shape: Sequence[int], num_actions: int,
                 observation_dtype: Any) -> None:
        self.capacity, self.num_actions = capacity, num_actions
        self.observations = np.zeros((capacity, *observation_shape), dtype=observation_dtype)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.values = np.zeros(capacity, dtype=np.float32)
        self.policies = np.zeros((capacity, num_actions), dtype=np.float32)
        self.legal = np.ones((capacity, num_actions), dtype=bool)
        self.signs = np.ones(capacity, dtype=np.float32)  # -1 where player 1 is to move
        self.end = np.zeros(capacity, dtype=np.int64)
        self.terminal = np.zeros(capacity, dtype=bool)
        self.position = np.zeros(capacity, dtype=np.int64)
        self.priorities = np.zeros(capacity, dtype=np.float64)
        self.total = 0  # positions ever added
        self.size = 0
        self.max_priority = 1.0

    def __len__(self) -> int:
        return self.size

    def add(self, trajectory: Trajectory) -> None:
        count = len(trajectory)
        start = self.total
        keep = slice(max(0, count - self.capacity), count)  # a game longer than the buffer
        positions = np.arange(start, start + count)[keep]
        slots = positions % self.capacity
        self.observations[slots] = trajectory.observations[keep]
        self.actions[slots] = trajectory.actions[keep]
        self.rewards[slots] = trajectory.rewards[keep]
        self.values[slots] = trajectory.values[keep]
        self.policies[slots] = trajectory.policies[keep]
        self.legal[slots] = (trajectory.legal[keep] if trajectory.legal is not None else True)
        self.signs[slots] = np.where(trajectory.to_play[keep] == 1, -1.0, 1.0)
        self.end[slots] = start + count
        self.terminal[slots] = trajectory.terminal
        self.position[slots] = positions
        self.priorities[slots] = self.max_priority  # new positions are sampled soon
        self.total += count
        self.size = min(self.capacity, self.size + len(positions))

    def sample(self, batch_size: int, args: MuZeroArgs, rng: np.random.Generator,
               value_at: Callable[[np.ndarray], np.ndarray] | None = None,
               policy_at: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
        """A batch of unroll targets: the start observations, K actions (random past the end
        of a game), value targets [B, K+1] and policy targets [B, K+1, A] for the mover at
        each step, reward targets [B, K] for the mover of each action, a mask of the steps
        inside the game, importance weights, and the slots (to update priorities).
        ``policy_at`` (reanalyse), if given, gives new policy targets for the buffer slots it
        is handed: those of a share ``reanalyse_fraction`` of the rows, every step inside.
        With ``consistency_weight`` the batch also holds the observations seen after each of
        the K actions (``later_observations`` [B, K, ...], meaningless where masked)."""
        size, steps = self.size, args.unroll_steps
        consistency = args.consistency_weight > 0
        if args.priority:
            weights = self.priorities[:size] ** args.priority_alpha
            chances = weights / weights.sum()
            slots = rng.choice(size, batch_size, p=chances)
            importance = (size * chances[slots]) ** -args.priority_beta
            importance = importance / importance.max()
        else:
            slots = rng.integers(size, size=batch_size)
            importance = np.ones(batch_size)
        start, end, terminal = self.position[slots], self.end[slots], self.terminal[slots]
        index = start[:, None] + np.arange(steps + 1)
        inside = index < end[:, None]
        ring = index % self.capacity
        values = nstep_values(self.rewards, self.values, index, end[:, None],
                              terminal[:, None], args.td_steps, args.discount, value_at)
        values = np.where(inside, values * self.signs[ring], 0.0)
        acting = inside[:, :steps]
        rewards = np.where(acting, self.rewards[ring[:, :steps]] * self.signs[ring[:, :steps]],
                           0.0)
        actions = np.where(acting, self.actions[ring[:, :steps]],
                           rng.integers(self.num_actions, size=(batch_size, steps)))
        policies = np.where(inside[..., None], self.policies[ring], 0.0)
        if policy_at is not None and args.reanalyse_fraction > 0:
            again = (rng.random(batch_size) < args.reanalyse_fraction)[:, None] & inside
            if again.any():
                policies[again] = policy_at(ring[again])
        later = {"later_observations": self.observations[ring[:, 1:]]} if consistency else {}
        return {**later, "observations": self.observations[slots], "actions": actions,
                "values": values.astype(np.float32), "rewards": rewards.astype(np.float32),
                "policies": policies.astype(np.float32), "mask": inside.astype(np.float32),
                "weights": importance.astype(np.float32), "slots": slots}

    def update_priorities(self, slots: np.ndarray, errors: np.ndarray) -> None:
        self.priorities[slots] = np.abs(errors) + 1e-6
        self.max_priority = max(self.max_priority, float(self.priorities[slots].max()))

    def save(self, path: Path) -> None:
        """Atomically, as plain arrays (``np.load`` with ``allow_pickle=False`` reads it)."""
        with atomic_write(path) as partial, partial.open("wb") as handle:
            np.savez(handle, **{name: getattr(self, name)[:self.size] for name in self.FIELDS},
                     total=np.int64(self.total))

    def load(self, path: Path) -> None:
        """A damaged or foreign file is one line."""
        try:
            toolkit.plain_archive(path)
            with np.load(path, allow_pickle=False) as data:
                count = toolkit.same_lengths(data, [name for name in self.FIELDS
                                                    if name in data])
                if count > self.capacity:
                    raise ValueError(f"{count} positions, the buffer holds {self.capacity}")
                for name in self.FIELDS:
                    if name == "legal" and name not in data:  # written before reanalyse
                        self.legal[:count] = True
                        continue
                    getattr(self, name)[:count] = data[name]
                total = int(data["total"])
        except Exception as error:
            raise GamepitError(f"replay buffer {path} is damaged or does not fit this run "
                               f"({type(error).__name__}: {toolkit.one_line(error)}); delete "
                               "it to resume with an empty buffer") from None
        self.size, self.total = count, total
        self.max_priority = float(self.priorities[:count].max()) if count else 1.0


# --------------------------------------------------------------------------- training


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy of logits [B, N] against distributions [B, N]."""
    return -(target * torch.log_softmax(logits.float(), dim=1)).sum(1)


def unroll_loss(network: MuZeroNet, batch: dict[str, Any], args: MuZeroArgs,
                device: torch.device) -> tuple[torch.Tensor, dict[str, float], np.ndarray]:
    """The K-step unroll's loss (mean over the batch, importance-weighted), its parts, and the
    first step's value errors (new priorities)."""
    tensor = {key: torch.as_tensor(value, device=device) for key, value in batch.items()
              if key != "slots"}
    hidden = network.represent(tensor["observations"])
    policy_logits, value_logits = network.predict(hidden)
    mask = tensor["mask"]
    value_part = cross_entropy(value_logits, network.target(tensor["values"][:, 0]))
    policy_part = cross_entropy(policy_logits, tensor["policies"][:, 0]) * mask[:, 0]
    reward_part = torch.zeros_like(value_part)
    consistency_part = torch.zeros_like(value_part)
    if args.consistency_weight > 0:
        later = tensor["later_observations"]
        with torch.no_grad():  # targets: the representation of what was seen k moves later
            observed = network.represent(later.flatten(0, 1)).unflatten(0, later.shape[:2])
    errors = (network.scalar(value_logits.detach())
              - tensor["values"][:, 0]).abs().cpu().numpy()
    steps = args.unroll_steps
    for k in range(1, steps + 1):
        hidden = scale_gradient(hidden, args.dynamics_gradient_scale)
        hidden, reward_logits = network.dynamics(hidden, tensor["actions"][:, k - 1])
        policy_logits, value_logits = network.predict(hidden)
        value_k = cross_entropy(value_logits, network.target(tensor["values"][:, k]))
        reward_k = cross_entropy(reward_logits, network.target(tensor["rewards"][:, k - 1]))
        policy_k = cross_entropy(policy_logits, tensor["policies"][:, k]) * mask[:, k]
        if args.consistency_weight > 0:
            consistency_k = network.consistency(hidden, observed[:, k - 1]) * mask[:, k]
            consistency_part = consistency_part + scale_gradient(consistency_k, 1 / steps)
        value_part = value_part + scale_gradient(value_k, 1 / steps)
        reward_part = reward_part + scale_gradient(reward_k, 1 / steps)
        policy_part = policy_part + scale_gradient(policy_k, 1 / steps)
    weights = tensor["weights"]
    loss = ((args.value_weight * value_part + reward_part + policy_part
             + args.consistency_weight * consistency_part) * weights).mean()
    parts = {"losses/value": float(value_part.mean().detach()),
             # the scalar error at the first step: comparable whatever the value's support
             "losses/value_error": float(errors.mean()),
             "losses/reward": float(reward_part.mean().detach()),
             "losses/policy": float(policy_part.mean().detach())}
    if args.consistency_weight > 0:
        parts["losses/consistency"] = float(consistency_part.mean().detach())
    return loss, parts, errors


def train_step(network: MuZeroNet, optimizer: torch.optim.Optimizer, batch: dict[str, Any],
               args: MuZeroArgs, device: torch.device, step: int) -> tuple[dict[str, float],
                                                                          np.ndarray]:
    """One gradient step with clipped gradients; a loss that is not finite stops the run."""
    loss, parts, errors = unroll_loss(network, batch, args, device)
    if not torch.isfinite(loss):
        raise GamepitError(f"muzero: the loss is {float(loss.detach())} at gradient step {step} "
                           f"(value {parts['losses/value']:.3g}, reward "
                           f"{parts['losses/reward']:.3g}, policy {parts['losses/policy']:.3g});"
                           " lower learning_rate or grad_clip and resume from the checkpoint")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(network.parameters(), args.grad_clip)
    optimizer.step()
    return {**parts, "losses/total": float(loss.detach()),
            "losses/grad_norm": float(norm)}, errors


def target_values(network: MuZeroNet, buffer: ReplayBuffer, device: torch.device
                  ) -> Callable[[np.ndarray], np.ndarray]:
    """Reanalyse: the value of stored positions by ``network`` now, in player 0's terms."""
    @torch.no_grad()
    def value_at(positions: np.ndarray) -> np.ndarray:
        slots = positions % buffer.capacity
        hidden = network.represent(torch.as_tensor(buffer.observations[slots], device=device))
        values = network.scalar(network.predict(hidden)[1]).cpu().numpy()
        return values * buffer.signs[slots]
    return value_at


def fresh_policies(network: MuZeroNet, buffer: ReplayBuffer, device: torch.device,
                   search: MCTS, players: int, rng: np.random.Generator
                   ) -> Callable[[np.ndarray], np.ndarray]:
    """Reanalyse (Schrittwieser et al. 2021): the policies a search with ``network`` now
    finds at stored buffer slots, from their observations and legal actions, all in one
    batched search."""
    @torch.no_grad()
    def policy_at(slots: np.ndarray) -> np.ndarray:
        roots = [Stored(buffer.observations[slot], int(buffer.signs[slot] < 0),
                        buffer.legal[slot]) for slot in slots.tolist()]
        results, _ = search.run(LearnedModel(network, device, players), roots,
                                rng.integers(2**31, size=len(slots)).tolist(),
                                single_player=players == 1)
        return np.stack([result.policy for result in results])
    return policy_at


# --------------------------------------------------------------------------- the agent


class MuZeroAgent(Agent):
    """Plays by PUCT or Gumbel search on MuZero's learned model. Batched: ``act_batch``
    searches all the given positions at once, one forward pass per simulation for all."""

    batched = True

    def __init__(self, network: MuZeroNet, trained_on: toolkit.TrainedOn, sims: int = 50,
                 c_puct: float = 1.25, temperature: float = 0.0, discount: float = 1.0,
                 device: torch.device | str = "cpu", search: str = "puct",
                 considered: int = 16, gumbel_scale: float = 0.0) -> None:
        self.network, self.trained_on = network, trained_on
        self.device = torch.device(device)
        self.mcts = make_search(search, sims, c_puct, considered=considered,
                                gumbel_scale=gumbel_scale, discount=discount)
        self.temperature = temperature
        self.rng = np.random.default_rng()

    def check_fit(self, game: Game) -> None:
        self.trained_on.check_fit(game)

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        self.check_fit(game)
        super().reset(game, player, seed)
        self.seed = int(seed) if seed is not None else int(self.rng.integers(2**63))

    def act(self, state: State) -> ActResult:
        return self.act_batch([state])[0]

    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        keys = [position_key(getattr(self, "seed", 0) if seeds is None else int(seeds[i]), state)
                for i, state in enumerate(states)]
        results, tree = search(self.network, self.device, self.mcts, states, keys)
        answers: list[ActResult] = []
        for index, (key, result) in enumerate(zip(keys, results, strict=True)):
            action = pick(result, self.temperature, np.random.default_rng([key, 1]))
            info = describe(result)
            info["reward"] = round(predicted_reward(tree, index, action), 4)
            answers.append((action, info))
        return answers


def trained_on(label: str, game: str, shape: dict[str, Any]) -> toolkit.TrainedOn:
    return toolkit.TrainedOn(label, game, tuple(int(x) for x in shape["observation_shape"]),
                             int(shape["num_actions"]))


# --------------------------------------------------------------------------- the loop


def train(args: MuZeroArgs, manager: PluginManager | None = None) -> str:
    """Train; returns the spec of an agent that plays the trained model."""
    run = toolkit.start_run(ALGORITHM, args, manager)
    game, device, rng = run.game, run.device, run.rng
    shape = network_shape(game, args)
    if args.eval_games and game.num_players == 2:  # an opponent that cannot play fails now
        run.manager.registry.make_agent(args.eval_opponent, game).close()
    meta = {"algorithm": ALGORITHM, "game": game.spec or args.game, "shape": shape,
            "discount": args.discount, "args": as_plain_dict(args)}

    network = build_network(shape).to(device)
    target = copy.deepcopy(network).eval()
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.learning_rate,
                                  weight_decay=args.weight_decay)
    buffer = ReplayBuffer(args.buffer_size, shape["observation_shape"], shape["num_actions"],
                          getattr(game, "observation_dtype", np.float32))
    positions, counters = toolkit.resume_search_run(
        run, shape, {"network": network, "target_network": target, "optimizer": optimizer},
        buffer, {"iteration": 0, "updates": 0, "train_seconds": 0.0, "train_credit": 0.0},
        stored_shape)
    iteration, updates, credit = (int(counters["iteration"]), int(counters["updates"]),
                                  counters["train_credit"])
    pool = toolkit.open_workers(args, SelfPlayWorker, (run.manager, args, shape, str(device)),
                                (None, args, shape, "cpu"))
    shares = split(args.selfplay_games, max(args.workers, 1))
    seeds = rng.integers(2**63, size=len(shares)).tolist()  # each worker's games: resumed, anew
    fits = trained_on(f"muzero run {run.folder}", meta["game"], shape)
    reanalysis = make_search(args.search, args.reanalyse_sims or args.sims, args.c_puct,
                             considered=args.considered, gumbel_scale=0.0,
                             discount=args.discount)  # no root noise: targets, not exploration
    clock = time.perf_counter() - counters["train_seconds"]

    def save() -> None:
        seconds = time.perf_counter() - clock
        if args.save_buffer:  # first: a resumed run's buffer never lags its checkpoint
            buffer.save(run.folder / toolkit.BUFFER)
        toolkit.save_agent_network(run.folder / MODEL, meta, "network", network, step=positions,
                                   train_seconds=seconds)
        toolkit.save(run, positions, {
            **meta, "iteration": iteration, "updates": updates, "train_seconds": seconds,
            "train_credit": credit,
            "network": network, "target_network": target, "optimizer": optimizer})

    def evaluate() -> None:
        network.eval()
        spec = (f"muzero:checkpoint={run.folder / MODEL},sims={args.eval_sims},"
                f"search={args.evaluation_search}")
        agent = MuZeroAgent(network, fits, args.eval_sims, args.c_puct,
                            discount=args.discount, device=device,
                            search=args.evaluation_search,
                            considered=args.considered)
        metrics = toolkit.evaluate(run, agent, spec, args.eval_games, positions,
                                   args.eval_opponent, args.eval_max_steps)
        toolkit.keep_top(run, args, metrics, lambda path, facts: (
            toolkit.save_agent_network(path, meta, "network", network, step=positions,
                                       train_seconds=time.perf_counter() - clock, **facts)))

    try:
        while iteration < args.iterations:
            began = time.perf_counter()
            network.eval()
            weights = pool.share(toolkit.numpy_weights(network))
            replies = map_calls(pool, [("play", (weights, iteration, games, seed,
                                                 args.moves_per_iteration))
                                       for games, seed in zip(shares, seeds, strict=True)],
                                pinned=True)
            finished = [trajectory for reply in replies for trajectory in reply.finished]
            moves = sum(reply.moves for reply in replies)
            returns = [value for reply in replies for value in reply.returns]
            firsts = [value for reply in replies for value in reply.first_player_scores]
            selfplay_seconds = time.perf_counter() - began
            positions += moves
            symmetric = args.augment and game.capabilities.symmetries
            for trajectory in finished:
                for copy_ in symmetric_games(game, trajectory) if symmetric else [trajectory]:
                    buffer.add(copy_)
            losses: list[dict[str, float]] = []
            steps = args.train_steps
            if args.replay_ratio:  # steps owed by this iteration's moves; fractions carry over
                credit += args.replay_ratio * moves
                steps, credit = int(credit), credit - int(credit)
            if len(buffer) >= max(1, args.min_buffer) and steps:
                value_at = target_values(target, buffer, device) if args.reanalyse else None
                policy_at = (fresh_policies(network, buffer, device, reanalysis, game.num_players,
                                            rng) if args.reanalyse_fraction else None)
                for _ in range(steps):
                    network.eval()  # reanalyse searches with the network as it plays
                    batch = buffer.sample(args.batch_size, args, rng, value_at, policy_at)
                    network.train()
                    parts, errors = train_step(network, optimizer, batch, args, device, updates)
                    if args.priority:
                        buffer.update_priorities(batch["slots"], errors)
                    losses.append(parts)
                    updates += 1
                    if updates % args.target_update == 0:
                        target.load_state_dict(network.state_dict())
                network.eval()
            iteration += 1
            metrics = {"selfplay/positions_per_second": moves / max(selfplay_seconds, 1e-9),
                       "buffer/size": float(len(buffer)), "progress/iteration": float(iteration),
                       "progress/total_iterations": float(args.iterations),
                       "progress/updates": float(updates)}
            if returns:
                metrics["selfplay/return"] = float(np.mean(returns))
                metrics["selfplay/games"] = float(len(returns))
            if firsts:
                metrics["selfplay/first_player_score"] = float(np.mean(firsts))
            if losses:
                metrics.update({key: float(np.mean([part[key] for part in losses]))
                                for key in losses[0]})
            toolkit.after_iteration(run, args, iteration, positions, metrics, save, evaluate)
    finally:
        pool.close()
    toolkit.after_iterations(args, iteration, run.folder / MODEL, save, evaluate)
    return f"muzero:checkpoint={run.folder / MODEL}"


# --------------------------------------------------------------------------- checkpoints


def load_agent_network(checkpoint: str, device: torch.device | str = "cpu"
                       ) -> tuple[MuZeroNet, dict[str, Any]]:
    """The network of a run's ``model.pt`` or ``checkpoint.pt`` (``builtin:NAME``: one shipped
    with gamepit), and its metadata, whose discount the agent's search uses."""
    def build(data: dict[str, Any]) -> MuZeroNet:
        float(data["discount"])
        return build_network(data["shape"])

    network, data = toolkit.load_agent_network(ALGORITHM, checkpoint, BUILTIN_DIR, "network",
                                               build, device)
    return network, data  # type: ignore[return-value]


def make_agent(checkpoint: str = "", sims: int = 50, c_puct: float = 1.25,
               temperature: float = 0.0, device: str = "cpu", threads: int = 1,
               search: str = "puct", considered: int = 16, gumbel_scale: float = 0.0
               ) -> MuZeroAgent:
    """``muzero:checkpoint=PATH|builtin:NAME,sims=N``: search on a trained learned model,
    PUCT or Gumbel (``search``) whichever search trained it."""
    network, data, target = toolkit.agent_network(ALGORITHM, checkpoint, "builtin:tictactoe",
                                                  threads, device, load_agent_network)
    fits = trained_on(f"muzero checkpoint {checkpoint}", str(data.get("game", "")),
                      data["shape"])
    return MuZeroAgent(network, fits, sims, c_puct, temperature, float(data["discount"]),
                       target, search, considered, gumbel_scale)


class Learner:
    """The ``muzero`` learner entry: the train command merges its ``Args`` (defaults, the YAML
    file, ``--set``) and calls ``train`` with them."""

    Args = MuZeroArgs
    train = staticmethod(train)


def seeds_from(values: Sequence[int]) -> Callable[[], int | None]:
    """A seed source that hands out ``values`` in turn, then None (no more games)."""
    iterator: Iterator[int] = iter(values)
    return lambda: next(iterator, None)
