"""AlphaZero (Silver et al. 2017/2018): self-play with batched PUCT search guided by a residual
policy/value network, a replay buffer of (observation, search policy, outcome), training, and
optional AlphaGo Zero gating. Reads top to bottom like a CleanRL script: arguments, network,
self-play, replay buffer, training, the agent and gating, the loop, checkpoints.

``search: gumbel`` makes it Gumbel AlphaZero (Danihelka et al. 2022): Gumbel-top-k and
sequential halving at the root, the improved policy as the policy target, the survivor played.
``fast_sims`` turns on KataGo's playout cap randomisation (Wu 2019): most moves get a cheap
search and only the fully searched positions are trained on; ``value_mix`` mixes the search's
root value into the value target.

Self-play runs many games at once through one ``search`` call per move, so every model call
carries the new leaves of all games and the network sees them in one forward pass. With gating
on, self-play uses the best network so far and a candidate replaces it only when it scores at
least ``gate_threshold`` against it (AlphaGo Zero) in games the engine plays side by side;
with gating off, self-play always uses the latest network (AlphaZero).

The run folder holds ``checkpoint.pt`` (everything needed to resume: both networks, optimizer,
counters, random states), ``replay_buffer.npz`` (the buffer, so a resumed run does not start from
an empty one) and ``best.pt`` (only what the agent needs). All are written atomically and loaded
without unpickling code.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.backends import Pool, map_calls
from gamepit.backends.pool import split
from gamepit.errors import GamepitError
from gamepit.files import atomic_write
from gamepit.learners import toolkit
from gamepit.nets.residual import PolicyValueNet
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import ActResult, Agent, Game, State
from gamepit.search.evaluators import SimulatorModel
from gamepit.search.gumbel import make_search
from gamepit.search.mcts import MCTS, act_by_search, pick
from gamepit.search.network import NetworkEvaluator
from gamepit.search.tree import KeptTrees
from gamepit.training.settings import SEED_MAX, as_plain_dict, setting

ALGORITHM = "alphazero"
BEST = "best.pt"
BUILTIN_DIR = Path(__file__).resolve().parent / "checkpoints"


@dataclass
class AlphaZeroArgs(toolkit.SelfPlayArgs):
    game: str = setting("", spec="game", required=True)
    """game spec to train on (two-player board games with observation planes [C, H, W]):
    --game, or game: in the config"""
    seed: int = setting(1, low=0, high=SEED_MAX)
    """seed of self-play, root noise, the network and sampling"""
    iterations: int = setting(100, low=1)
    """rounds of self-play, training and gating to run (a resumed run counts from where it was)"""
    selfplay_games: int = setting(64, low=1, high=100_000)
    """self-play games played at once each iteration; their leaves share one forward pass"""
    sims: int = setting(50, low=1, high=1_000_000)
    """search simulations per self-play move"""
    search: str = "puct"
    """puct (AlphaZero: Dirichlet root noise, visit-count targets) or gumbel (Gumbel-top-k and
    sequential halving at the root, the improved policy as target: learns with few sims)"""
    considered: int = setting(16, low=1, high=100_000)
    """gumbel: actions drawn at the root by Gumbel-top-k"""
    gumbel_scale: float = setting(1.0, low=0)
    """gumbel: scale of the root's Gumbel noise in self-play"""
    fast_sims: int = setting(0, low=0, high=1_000_000)
    """playout cap randomisation (KataGo): simulations of the fast searches, without root
    noise, that play the moves not given a full search; their positions are not trained on
    (0: every move gets a full search)"""
    full_search_fraction: float = setting(0.25, low=0, high=1)
    """with fast_sims: the share of moves given a full search of sims simulations"""
    value_mix: float = setting(0.0, low=0, high=1)
    """value target (1 - value_mix) * outcome + value_mix * the search's root value"""
    c_puct: float = setting(1.25, above=0)
    """PUCT exploration constant"""
    dirichlet_alpha: float = setting(0.3, above=0)
    """Dirichlet noise concentration at self-play roots (about 10 / typical legal moves)"""
    dirichlet_epsilon: float = setting(0.25, low=0, high=1)
    """share of root noise in the priors during self-play"""
    temperature_moves: int = setting(8, low=0)
    """self-play moves sampled in proportion to visit counts; the most visited move afterwards"""
    max_moves: int = setting(0, low=0)
    """self-play moves after which a game is stopped and scored as a draw (0: play to the end)"""
    buffer_size: int = setting(50_000, low=1, high=100_000_000)
    """training positions the replay buffer holds (symmetric copies count separately)"""
    augment: bool = True
    """add the game's board symmetries of every position to the buffer"""
    train_steps: int = setting(50, low=0)
    """gradient steps after each round of self-play"""
    min_buffer: int = setting(256, low=0)
    """positions the buffer needs before training starts"""
    batch_size: int = setting(128, low=1, high=1_000_000)
    """positions per gradient step"""
    learning_rate: float = setting(2e-3, above=0)
    """Adam step size"""
    weight_decay: float = setting(1e-4, low=0)
    """L2 penalty on the weights (AdamW)"""
    value_weight: float = setting(1.0, low=0)
    """weight of the value loss against the policy loss"""
    filters: int = setting(32, low=1, high=4096)
    """convolution filters of the residual tower"""
    blocks: int = setting(2, low=0, high=1000)
    """residual blocks of the tower"""
    value_hidden: int = setting(64, low=1, high=65_536)
    """hidden units of the value head"""
    init: str = ""
    """start a new run's network from a trained one of the same shape (RUN/best.pt or
    builtin:NAME), e.g. to go on training a shipped network with another search; a resumed
    run ignores it"""
    gating: bool = False
    """keep a best network that self-play uses; a candidate must beat it to replace it"""
    gate_every: int = setting(5, low=1)
    """iterations between gating matches"""
    gate_games: int = setting(20, low=0, high=100_000)
    """games of each gating match, seats alternating"""
    gate_sims: int = setting(25, low=1, high=1_000_000)
    """search simulations per move in gating matches"""
    gate_threshold: float = setting(0.55, low=0, high=1)
    """score (win 1, draw 1/2) a candidate needs against the best network to replace it"""
    gate_random_moves: int = setting(2, low=0)
    """opening moves of each gating game played uniformly at random before the networks take
    over, so deterministic searches meet in different games (each opening from both seats)"""
    amp: bool = True
    """bfloat16 autocast for search and training when the device is CUDA"""
    checkpoint_every: int = setting(1, low=1)
    """iterations between checkpoints"""

    def validate(self) -> None:
        super().validate()
        if self.gating and self.gate_games < 2:
            raise ValueError("gate_games must be at least 2 (one game from each seat)")


# --------------------------------------------------------------------------- network


def network_shape(game: Game, args: AlphaZeroArgs) -> dict[str, int]:
    """The network's shape as plain numbers, stored in checkpoints so an agent can rebuild it."""
    shape = tuple(game.observation_shape)
    if len(shape) != 3:
        raise GamepitError(f"alphazero needs observation planes [channels, height, width]; "
                           f"{game.spec or game.name} observes {shape}")
    if game.num_players != 2:
        raise GamepitError(f"alphazero trains on two-player games; {game.spec or game.name} "
                           f"has {game.num_players} player(s)")
    if not game.capabilities.state:
        raise GamepitError(f"{game.spec or game.name} offers no simulator state to search")
    channels, height, width = (int(x) for x in shape)
    return {"channels": channels, "height": height, "width": width,
            "num_actions": int(game.num_actions), "filters": args.filters,
            "blocks": args.blocks, "value_hidden": args.value_hidden}


def build_network(shape: dict[str, Any]) -> PolicyValueNet:
    return PolicyValueNet(int(shape["channels"]), int(shape["height"]), int(shape["width"]),
                          int(shape["num_actions"]), filters=int(shape["filters"]),
                          blocks=int(shape["blocks"]), value_hidden=int(shape["value_hidden"]))


def start_from(network: torch.nn.Module, checkpoint: str, shape: dict[str, int]) -> None:
    """Load the network of an alphazero checkpoint (``init``); another shape is one line."""
    trained, data = load_agent_network(checkpoint)
    theirs = {key: int(value) for key, value in data["shape"].items()}
    if theirs != shape:
        raise GamepitError(f"init: {checkpoint} has network {theirs}, this run asks for "
                           f"{shape}; set filters, blocks and value_hidden to match it")
    network.load_state_dict(trained.state_dict())


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    """bfloat16 mixed precision on CUDA (no loss scaling needed); a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- self-play


@dataclass
class SelfPlayBatch:
    """Positions from finished self-play games: the observation for the player to move, the
    search's policy (visit distribution, or Gumbel's improved policy), and the game's outcome
    for that player; ``moves`` counts every move played, trained on or not."""

    observations: np.ndarray
    policies: np.ndarray
    outcomes: np.ndarray
    games: int
    moves: int
    first_player_score: float


def self_play(game: Game, evaluator: Any, searches: tuple[MCTS, MCTS | None], games: int,
              args: AlphaZeroArgs, rng: np.random.Generator) -> SelfPlayBatch:
    """Play ``games`` games at once, one batched search per move over all unfinished games.

    ``searches`` is the full search and, with playout cap randomisation, the fast one: each
    move gets a full search with chance ``full_search_fraction`` (else a fast one), and only
    fully searched positions become training data (KataGo). Gumbel plays its survivor, whose
    noise explores; PUCT samples visits for the first ``temperature_moves`` moves."""
    full, fast = searches
    states = [game.new_state(int(rng.integers(2**31))) for _ in range(games)]
    history: list[list[tuple[np.ndarray, np.ndarray, int, float]]] = [[] for _ in range(games)]
    finals: list[list[float]] = [[0.0, 0.0] for _ in range(games)]
    active = list(range(games))
    move = played = 0
    while active:
        played += len(active)
        seeds = rng.integers(2**31, size=len(active)).tolist()
        thorough = (rng.random(len(active)) < args.full_search_fraction if fast is not None
                    else np.ones(len(active), dtype=bool))
        results: list[Any] = [None] * len(active)
        for search, chosen in ((full, thorough), (fast, ~thorough)):
            rows = np.flatnonzero(chosen).tolist()
            if rows:
                found = search.search([states[active[r]] for r in rows], evaluator,  # type: ignore[union-attr]
                                      [seeds[r] for r in rows])
                for row, result in zip(rows, found, strict=True):
                    results[row] = result
        temperature = 1.0 if move < args.temperature_moves and args.search == "puct" else 0.0
        still = []
        for index, result, recorded in zip(active, results, thorough.tolist(), strict=True):
            state = states[index]
            player = state.current_player
            if recorded:
                history[index].append((np.asarray(state.observation(player)),
                                       result.policy.astype(np.float32), player, result.value))
            state.apply(pick(result, temperature, rng))
            if state.is_terminal():
                finals[index] = list(state.returns())
            elif args.max_moves and move + 1 >= args.max_moves:
                finals[index] = [0.0, 0.0]  # stopped: scored as a draw
            else:
                still.append(index)
        active = still
        move += 1
    observations, policies, outcomes = [], [], []
    for index in range(games):
        for observation, policy, player, value in history[index]:
            observations.append(observation)
            policies.append(policy)
            outcome = float(np.sign(finals[index][player]))
            outcomes.append((1 - args.value_mix) * outcome + args.value_mix * value)
    first = np.mean([(1.0 + np.sign(f[0])) / 2 for f in finals])
    shape = (0, *game.observation_shape)
    return SelfPlayBatch(np.stack(observations) if observations else np.zeros(shape),
                         np.stack(policies) if policies else np.zeros((0, game.num_actions)),
                         np.asarray(outcomes, dtype=np.float32), games, played, float(first))


def searches_of(args: AlphaZeroArgs) -> tuple[MCTS, MCTS | None]:
    """Self-play's full search and, with ``fast_sims``, its fast search (no root noise)."""
    full = make_search(args.search, args.sims, args.c_puct, args.dirichlet_alpha,
                       args.dirichlet_epsilon, args.considered, args.gumbel_scale)
    fast = (make_search(args.search, args.fast_sims, args.c_puct, 0.0, 0.0, args.considered,
                        0.0) if args.fast_sims else None)
    return full, fast


def merge_batches(batches: Sequence[SelfPlayBatch]) -> SelfPlayBatch:
    """The workers' batches of one round as one, in worker order."""
    games = sum(batch.games for batch in batches)
    return SelfPlayBatch(np.concatenate([batch.observations for batch in batches]),
                         np.concatenate([batch.policies for batch in batches]),
                         np.concatenate([batch.outcomes for batch in batches]), games,
                         sum(batch.moves for batch in batches),
                         sum(batch.first_player_score * batch.games for batch in batches) / games)


class SelfPlayWorker:
    """A self-play worker of the executor seam (``gamepit.backends``): the game, the search and
    a copy of the network, built where it runs from plain settings; ``play`` loads a published
    weights version when it is new and plays its share of a round's games."""

    def __init__(self, manager: PluginManager | None, args: AlphaZeroArgs,
                 shape: dict[str, Any], device: str = "cpu") -> None:
        self.args, self.game = args, toolkit.worker_game(args, manager)
        self.network = toolkit.WorkerNetwork(build_network(shape), device)
        self.searches = searches_of(self.args)

    def play(self, emit: Any, weights: dict[str, np.ndarray], version: int, games: int,
             seed: int) -> SelfPlayBatch:
        network, device = self.network.at(weights, version), self.network.device
        with autocast(device, self.args.amp):
            return self_play(self.game, NetworkEvaluator(network, device), self.searches, games,
                             self.args, np.random.default_rng(seed))


def self_play_round(pool: Pool, network: torch.nn.Module, version: int, args: AlphaZeroArgs,
                    rng: np.random.Generator) -> SelfPlayBatch:
    """A round of self-play over the workers: the network published once (version
    ``version``), ``selfplay_games`` dealt out in equal shares, each share on a seed drawn
    here, the batches back in worker order (so the backend never changes the games)."""
    weights = pool.share(toolkit.numpy_weights(network))
    shares = split(args.selfplay_games, max(args.workers, 1))
    seeds = rng.integers(2**31, size=len(shares)).tolist()
    return merge_batches(map_calls(pool, [("play", (weights, version, games, seed))
                                          for games, seed in zip(shares, seeds, strict=True)]))


# --------------------------------------------------------------------------- replay buffer


class ReplayBuffer:
    """A ring of training positions. Symmetric copies are added at insertion, so sampling is
    one vectorised gather."""

    def __init__(self, capacity: int, observation_shape: Sequence[int], num_actions: int,
                 observation_dtype: Any) -> None:
        self.capacity = capacity
        self.observations = np.zeros((capacity, *observation_shape), dtype=observation_dtype)
        self.policies = np.zeros((capacity, num_actions), dtype=np.float32)
        self.outcomes = np.zeros(capacity, dtype=np.float32)
        self.size = 0
        self.cursor = 0

    def __len__(self) -> int:
        return self.size

    def add(self, observations: np.ndarray, policies: np.ndarray, outcomes: np.ndarray) -> None:
        count = len(observations)
        if count > self.capacity:  # keep the newest
            observations, policies, outcomes = (observations[-self.capacity:],
                                                policies[-self.capacity:],
                                                outcomes[-self.capacity:])
            count = self.capacity
        slots = (self.cursor + np.arange(count)) % self.capacity
        self.observations[slots] = observations
        self.policies[slots] = policies
        self.outcomes[slots] = outcomes
        self.cursor = int((self.cursor + count) % self.capacity)
        self.size = min(self.capacity, self.size + count)

    def sample(self, batch_size: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        picks = rng.integers(self.size, size=batch_size)
        return self.observations[picks], self.policies[picks], self.outcomes[picks]

    def save(self, path: Path) -> None:
        """Atomically, as plain arrays (``np.load`` with ``allow_pickle=False`` reads it)."""
        with atomic_write(path) as partial, partial.open("wb") as handle:
            np.savez(handle, observations=self.observations[:self.size],
                     policies=self.policies[:self.size], outcomes=self.outcomes[:self.size],
                     cursor=np.int64(self.cursor))

    def load(self, path: Path) -> None:
        """A damaged or foreign file is one line (zip CRCs catch flipped bits)."""
        try:
            toolkit.plain_archive(path)
            with np.load(path, allow_pickle=False) as data:
                count = min(toolkit.same_lengths(data, ["observations", "policies", "outcomes"]),
                            self.capacity)
                self.observations[:count] = data["observations"][:count]
                self.policies[:count] = data["policies"][:count]
                self.outcomes[:count] = data["outcomes"][:count]
                cursor = int(data["cursor"])
        except Exception as error:
            raise GamepitError(f"replay buffer {path} is damaged or does not fit this run "
                               f"({type(error).__name__}: {toolkit.one_line(error)}); delete "
                               "it to resume with an empty buffer") from None
        self.size = count
        self.cursor = cursor % self.capacity if count == self.capacity else count


def augment(game: Game, batch: SelfPlayBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every position with each of the game's symmetries (identity included)."""
    observations, policies, outcomes = [], [], []
    for observation, policy, outcome in zip(batch.observations, batch.policies,
                                            batch.outcomes, strict=True):
        for sym_observation, sym_policy in game.symmetries(observation, policy):
            observations.append(sym_observation)
            policies.append(np.asarray(sym_policy, dtype=np.float32).reshape(-1))
            outcomes.append(outcome)
    return np.stack(observations), np.stack(policies), np.asarray(outcomes, dtype=np.float32)


# --------------------------------------------------------------------------- training


def train_step(network: torch.nn.Module, optimizer: torch.optim.Optimizer,
               batch: tuple[np.ndarray, np.ndarray, np.ndarray], device: torch.device,
               args: AlphaZeroArgs) -> tuple[float, float]:
    """One gradient step on cross-entropy to the search policy plus squared error to the
    outcome; returns (policy loss, value loss)."""
    observations, policies, outcomes = (torch.as_tensor(x, device=device) for x in batch)
    with autocast(device, args.amp):
        logits, values = network(observations.float())
    log_priors = torch.log_softmax(logits.float(), dim=1)
    policy_loss = -(policies * log_priors).sum(dim=1).mean()
    value_loss = F.mse_loss(values.float(), outcomes)
    optimizer.zero_grad(set_to_none=True)
    (policy_loss + args.value_weight * value_loss).backward()
    optimizer.step()
    return float(policy_loss.detach()), float(value_loss.detach())


# --------------------------------------------------------------------------- agent, gating


class AlphaZeroAgent(Agent):
    """Plays by PUCT or Gumbel search guided by a policy/value network. Batched:
    ``act_batch`` searches all the given positions in one search, so their leaves share
    forward passes; with ``reuse`` each game's search continues the subtree its last one
    reached. Gumbel plays without root noise unless ``gumbel_scale`` says otherwise."""

    batched = True
    think_time: float | None = None  # seconds for the next move, set by a clock (gamepit gtp)

    def __init__(self, network: torch.nn.Module, trained_on: toolkit.TrainedOn, sims: int = 100,
                 c_puct: float = 1.25, temperature: float = 0.0, leaves: int = 1,
                 device: torch.device | str = "cpu", amp: bool = True,
                 reuse: bool = True, search: str = "puct", considered: int = 16,
                 gumbel_scale: float = 0.0) -> None:
        self.trained_on = trained_on
        self.device = torch.device(device)
        self.evaluator = NetworkEvaluator(network, self.device)
        self.mcts = make_search(search, sims, c_puct, considered=considered,
                                gumbel_scale=gumbel_scale, leaves=leaves)
        self.temperature = temperature
        self.amp = amp
        self.reuse = reuse
        self.kept = KeptTrees()
        self.rng = np.random.default_rng()

    def check_fit(self, game: Game) -> None:
        self.trained_on.check_fit(game)

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        self.check_fit(game)
        super().reset(game, player, seed)
        self.seed = int(seed) if seed is not None else int(self.rng.integers(2**63))
        self.model = SimulatorModel(self.evaluator, game.num_actions)
        self.kept.clear()

    def act(self, state: State) -> ActResult:
        return self.act_batch([state])[0]

    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        """As ``mcts``'s: the same search, choice and per-game streams, on the network."""
        games = [self.seed if seeds is None else int(seeds[i]) for i in range(len(states))]
        with autocast(self.device, self.amp):
            return act_by_search(self.mcts, self.model, states, games,
                                 self.kept if self.reuse else None, self.temperature,
                                 think_time=self.think_time)


def trained_on(label: str, game: str, shape: dict[str, Any]) -> toolkit.TrainedOn:
    """What a network of this shape fits: games with its planes and number of actions."""
    return toolkit.TrainedOn(label, game, shape_of(shape), int(shape["num_actions"]))


def shape_of(shape: dict[str, Any]) -> tuple[int, int, int]:
    return int(shape["channels"]), int(shape["height"]), int(shape["width"])


def gate(game: Game, candidate: Agent, best: Agent, games: int, seed: int, opening_moves: int,
         manager: PluginManager) -> float:
    """Score of ``candidate`` against ``best`` (win 1, draw 1/2) over ``games`` games that the
    engine plays side by side, each agent searching all its positions at once. Game ``i`` is
    on seed ``seed + i // 2`` with the candidate in seat ``i % 2``, so each seed is played from
    both seats; its first ``opening_moves`` moves are uniformly random."""
    seatings = [[candidate, best] if i % 2 == 0 else [best, candidate] for i in range(games)]
    names = [["candidate", "best"] if i % 2 == 0 else ["best", "candidate"]
             for i in range(games)]
    results = play_lockstep(game, seatings, [seed + i // 2 for i in range(games)], names,
                            MatchSettings(manager=manager, opening_moves=opening_moves))
    return float(np.mean([result.outcome(i % 2) for i, result in enumerate(results)]))


# --------------------------------------------------------------------------- the loop


def train(args: AlphaZeroArgs, manager: PluginManager | None = None) -> str:
    """Train; returns the spec of an agent that plays from the best network."""
    run = toolkit.start_run(ALGORITHM, args, manager)
    game, device, rng = run.game, run.device, run.rng
    shape = network_shape(game, args)
    if args.eval_games:  # an opponent that cannot play fails now, not after training
        run.manager.registry.make_agent(args.eval_opponent, game).close()
    meta = {"algorithm": ALGORITHM, "game": game.spec or args.game, "shape": shape,
            "args": as_plain_dict(args)}

    network = build_network(shape).to(device)
    best_network = copy.deepcopy(network)
    optimizer = torch.optim.AdamW(network.parameters(), lr=args.learning_rate,
                                  weight_decay=args.weight_decay)
    buffer = ReplayBuffer(args.buffer_size, shape_of(shape), shape["num_actions"],
                          game.observation_dtype)
    positions, counters = toolkit.resume_search_run(
        run, shape, {"network": network, "best_network": best_network, "optimizer": optimizer},
        buffer, {"iteration": 0, "best_generation": 0, "train_seconds": 0.0})
    iteration, best_generation = int(counters["iteration"]), int(counters["best_generation"])
    if args.init and run.resumed is None:
        start_from(network, args.init, shape)
        best_network.load_state_dict(network.state_dict())
    pool = toolkit.open_workers(args, SelfPlayWorker, (run.manager, args, shape, str(device)),
                                (None, args, shape, "cpu"))
    fits = trained_on(f"alphazero run {run.folder}", meta["game"], shape)
    clock = time.perf_counter() - counters["train_seconds"]

    def agent_for(net: torch.nn.Module, sims: int, search: str = args.search
                  ) -> AlphaZeroAgent:
        return AlphaZeroAgent(net, fits, sims, args.c_puct, device=device, amp=args.amp,
                              search=search, considered=args.considered)

    def save() -> None:
        seconds = time.perf_counter() - clock
        if args.save_buffer:  # first: a resumed run's buffer never lags its checkpoint
            buffer.save(run.folder / toolkit.BUFFER)
        toolkit.save_agent_network(run.folder / BEST, meta, "best_network", best_network,
                                   iteration=iteration, step=positions, train_seconds=seconds)
        toolkit.save(run, positions, {
            **meta, "iteration": iteration, "best_generation": best_generation,
            "train_seconds": seconds, "network": network, "best_network": best_network,
            "optimizer": optimizer})

    def evaluate() -> None:
        spec = (f"alphazero:checkpoint={run.folder / BEST},sims={args.eval_sims},"
                f"search={args.evaluation_search}")
        metrics = toolkit.evaluate(run, agent_for(best_network, args.eval_sims,
                                                  args.evaluation_search),
                                   spec, args.eval_games, positions, args.eval_opponent)
        toolkit.keep_top(run, args, metrics, lambda path, facts: (
            toolkit.save_agent_network(path, meta, "best_network", best_network,
                                       iteration=iteration, step=positions,
                                       train_seconds=time.perf_counter() - clock, **facts)))

    try:
        while iteration < args.iterations:
            playing = best_network if args.gating else network
            began = time.perf_counter()
            batch = self_play_round(pool, playing, iteration, args, rng)
            selfplay_seconds = time.perf_counter() - began
            positions += batch.moves
            if len(batch.outcomes):
                buffer.add(*(augment(game, batch) if args.augment
                             and game.capabilities.symmetries
                             else (batch.observations, batch.policies, batch.outcomes)))

            losses = []
            if len(buffer) >= args.min_buffer:
                network.train()
                losses = [train_step(network, optimizer, buffer.sample(args.batch_size, rng),
                                     device, args) for _ in range(args.train_steps)]
                network.eval()
            if not args.gating:
                best_network.load_state_dict(network.state_dict())
            iteration += 1
            metrics = {"selfplay/positions_per_second":
                       batch.moves / max(selfplay_seconds, 1e-9),
                       "selfplay/game_length": batch.moves / batch.games,
                       "selfplay/first_player_score": batch.first_player_score,
                       "buffer/size": float(len(buffer)), "progress/iteration": float(iteration),
                       "progress/total_iterations": float(args.iterations)}
            if losses:
                metrics["losses/policy"] = float(np.mean([p for p, _ in losses]))
                metrics["losses/value"] = float(np.mean([v for _, v in losses]))
            if args.gating and losses and iteration % args.gate_every == 0:
                score = gate(game, agent_for(network, args.gate_sims),
                             agent_for(best_network, args.gate_sims), args.gate_games,
                             int(rng.integers(2**31)), args.gate_random_moves, run.manager)
                accepted = score >= args.gate_threshold
                if accepted:
                    best_network.load_state_dict(network.state_dict())
                    best_generation += 1
                metrics.update({"gate/score": score, "gate/accepted": float(accepted),
                                "gate/best_generation": float(best_generation)})
            toolkit.after_iteration(run, args, iteration, positions, metrics, save, evaluate)
    finally:
        pool.close()
    toolkit.after_iterations(args, iteration, run.folder / BEST, save, evaluate)
    return f"alphazero:checkpoint={run.folder / BEST}"


# --------------------------------------------------------------------------- checkpoints


def load_agent_network(checkpoint: str, device: torch.device | str = "cpu"
                       ) -> tuple[PolicyValueNet, dict[str, Any]]:
    """The best network of a run's checkpoint or of an agent checkpoint (``builtin:NAME``: one
    shipped with gamepit), and its metadata."""
    network, data = toolkit.load_agent_network(ALGORITHM, checkpoint, BUILTIN_DIR,
                                               "best_network",
                                               lambda data: build_network(data["shape"]),
                                               device)
    return network, data  # type: ignore[return-value]


def make_agent(checkpoint: str = "", sims: int = 100, c_puct: float = 1.25,
               temperature: float = 0.0, leaves: int = 1, device: str = "cpu",
               threads: int = 1, reuse: bool = True, search: str = "puct",
               considered: int = 16, gumbel_scale: float = 0.0) -> AlphaZeroAgent:
    """``alphazero:checkpoint=PATH|builtin:NAME,sims=N``: search guided by a trained network,
    PUCT or Gumbel (``search``) whichever search trained it.

    ``threads`` sets torch's CPU threads for the process (extra threads spin-wait each other
    on a busy machine: 25x slower on 2 shared cores)."""
    if sims < 1:
        raise GamepitError("alphazero: sims must be at least 1")
    network, data, target = toolkit.agent_network(ALGORITHM, checkpoint, "builtin:connect_four",
                                                  threads, device, load_agent_network)
    fits = trained_on(f"alphazero checkpoint {checkpoint}", str(data.get("game", "")),
                      data["shape"])
    return AlphaZeroAgent(network, fits, sims, c_puct, temperature, leaves, target,
                          reuse=reuse, search=search, considered=considered,
                          gumbel_scale=gumbel_scale)


class Learner:
    """The ``alphazero`` learner entry: the train command merges its ``Args`` (defaults, the
    YAML file, ``--set``) and calls ``train`` with them."""

    Args = AlphaZeroArgs
    train = staticmethod(train)
