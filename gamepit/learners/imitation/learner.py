"""Behaviour cloning and DAgger: a plain policy network (no search) learns to play like an
expert, which can be any agent in the registry (alpha-beta, MCTS, AlphaZero, a DQN checkpoint)
or the moves recorded in a folder of replays. Reads top to bottom: arguments, the on-disk
dataset, labels (from replays, from an expert), the student network and its loss, the rounds,
the agent.

The dataset is one ``.npz`` shard per round in ``RUN/dataset``: observations, legal masks,
target policies (a one-hot of the move for a hard label, the expert's policy or visit counts for
a soft one), the moves and per-row weights. Shards are written atomically and never changed, so
a run killed at any point (SIGKILL included) resumes from the shards that exist: their number is
the number of rounds done; a round whose shard exists but whose training was cut short is
trained again from the aggregate.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gamepit.arena import MatchSettings, play_lockstep
from gamepit.arena.match import takes_seeds
from gamepit.backends import Pool, backend_problem, map_calls
from gamepit.backends.pool import split
from gamepit.errors import GamepitError
from gamepit.files import atomic_write
from gamepit.learners import toolkit
from gamepit.nets.atari import BoardTorso, make_torso
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import ActResult, Agent, Game, Resign, State, split_act_result
from gamepit.replay.format import ReplayError, read_replay, simulate
from gamepit.training.settings import (
    SEED_MAX,
    THREADS_MAX,
    ConfigError,
    setting,
)

ALGORITHMS = ("bc", "dagger")
SCHEDULES = ("linear", "exponential", "fixed")
SHARD_FIELDS = ("observations", "masks", "targets", "actions", "weights")
STUDENT = "student.pt"  # the network and what the agent needs, no optimizer: small enough to ship
BUILTIN_DIR = Path(__file__).resolve().parent / "checkpoints"


@dataclass
class ImitationArgs:
    game: str = setting("", spec="game", required=True)
    """game spec to learn (one or two players): --game, or game: in the config"""
    expert: str = setting("", spec="agent")
    """agent spec of the expert that plays (bc) or labels (dagger), e.g. alphabeta:depth=9"""
    replays: str = ""
    """bc only: a folder of replays to learn from instead of an expert's live games"""
    learn_from: str = ""
    """with replays: learn the moves of seats whose agent spec contains this text ('' all)"""
    opponent: str = setting("", spec="agent")
    """two-player games: the agent across the board ('' the expert itself)"""
    rounds: int = setting(5, low=1, high=100_000)
    """rounds; each adds one shard to the dataset (an expert's games, or bc's next slice of
    the replays) and retrains the student on all shards"""
    episodes: int = setting(20, low=1, high=1_000_000)
    """games played each round (side by side; the expert labels them in batches)"""
    opening_moves: int = setting(2, low=0, high=1000)
    """random legal moves at the start of each game, so deterministic players meet in
    different positions (not labelled)"""
    labels_per_round: int = setting(0, low=0)
    """stop a round's games once this many states are labelled (0: play them out), so two
    runs compare at equal numbers of expert labels"""
    max_steps: int = setting(1000, low=1)
    """moves after which a game is cut (one-player games without an end of their own)"""
    soft_labels: bool = True
    """learn the expert's policy or visit counts where its info has them (else its move)"""
    beta_schedule: str = "linear"
    """dagger: chance the expert's move is played, by round: linear (1 down to 0 over
    beta_rounds), exponential (beta_decay ** round), fixed (beta)"""
    beta: float = setting(0.5, low=0, high=1)
    """the fixed schedule's beta"""
    beta_decay: float = setting(0.5, low=0, high=1)
    """the exponential schedule's factor per round"""
    beta_rounds: int = setting(0, low=0, high=100_000)
    """rounds over which the linear schedule falls to 0 (0: all the rounds)"""
    epochs: int = setting(4, low=1, high=100_000)
    """passes over the aggregate dataset after each round"""
    batch_size: int = setting(256, low=1, high=1_000_000)
    """rows per gradient step"""
    learning_rate: float = setting(1e-3, above=0)
    """Adam step size"""
    entropy_coef: float = setting(0.0, low=0)
    """entropy bonus of the student's policy"""
    hidden: int = setting(128, low=1, high=65_536)
    """units per hidden layer of the MLP torso (vector observations)"""
    board_channels: int = setting(64, low=1, high=4096)
    """channels of the board torso's 3x3 convolutions (board planes such as connect four's)"""
    board_features: int = setting(256, low=1, high=65_536)
    """units of the board torso's last layer"""
    seed: int = setting(1, low=0, high=SEED_MAX)
    """seed of the games, the student and its training"""
    device: str = "auto"
    """auto, cpu or cuda"""
    threads: int = setting(1, low=1, high=THREADS_MAX)
    """torch CPU threads"""
    backend: str = "inprocess"
    """where the expert's games are played and labelled: inprocess, processes or ray; this
    process keeps the dataset and trains, workers get each student as one CPU numpy snapshot"""
    workers: int = setting(0, low=0, high=1024)
    """labelling workers, each playing an equal share of a round's episodes with experts of
    its own (0: one, in this process); the same seed and workers give the same labels on
    every backend"""
    ray_address: str = ""
    """with backend ray: the cluster (auto, or HOST:PORT of its head); '' starts a local one"""
    run_dir: str = ""
    """folder of the dataset, checkpoints, metrics and replays (default runs/ALGO_GAME_TIME)"""
    resume: bool = True
    """continue from RUN/checkpoint.pt and RUN/dataset when they exist"""
    eval_episodes: int = setting(10, low=0, high=100_000)
    """evaluation games at the end, recorded as replays (0: none)"""
    eval_opponent: str = setting("random", spec="agent")
    """two-player games: the evaluation opponent"""

    def validate(self) -> None:
        if backend_problem(self.backend, self.ray_address):
            raise ValueError(backend_problem(self.backend, self.ray_address))
        if self.beta_schedule not in SCHEDULES:
            raise ValueError(f"beta_schedule: expected one of {', '.join(SCHEDULES)}")


def check_sources(algorithm: str, args: ImitationArgs) -> None:
    """bc learns from an expert or from replays, dagger from an expert: one line otherwise."""
    if algorithm == "bc" and bool(args.expert) == bool(args.replays):
        raise ConfigError("bc learns from an expert or from replays: set exactly one of "
                          "expert and replays")
    if algorithm == "dagger" and not args.expert:
        raise ConfigError("expert: dagger needs an expert agent spec to label states")
    if algorithm == "dagger" and args.replays:
        raise ConfigError("replays: dagger asks a live expert; learn replays with bc")


def beta_for(round_index: int, args: ImitationArgs) -> float:
    """The chance that the expert's move is played in round ``round_index`` (0-based)."""
    if args.beta_schedule == "fixed":
        return float(args.beta)
    if args.beta_schedule == "exponential":
        return float(args.beta_decay ** round_index)
    span = args.beta_rounds or args.rounds
    return float(max(0.0, 1.0 - round_index / span))


# --------------------------------------------------------------------------- the dataset


class Dataset:
    """Shards ``shard_00000.npz``, ``shard_00001.npz``... in a folder, append-only."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("shard_[0-9][0-9][0-9][0-9][0-9].npz"))

    def __len__(self) -> int:
        return len(self.shards())

    def append(self, rows: dict[str, np.ndarray]) -> Path:
        """Write the next shard atomically (a temporary file renamed into place)."""
        missing = [name for name in SHARD_FIELDS if name not in rows]
        if missing:
            raise ValueError(f"a shard needs {', '.join(missing)}")
        path = self.folder / f"shard_{len(self):05d}.npz"
        with atomic_write(path) as partial, partial.open("wb") as handle:
            np.savez(handle, **{name: rows[name] for name in SHARD_FIELDS})
        return path

    def load(self) -> dict[str, np.ndarray]:
        """All shards concatenated; a damaged shard is one line naming it."""
        parts: list[dict[str, np.ndarray]] = []
        for path in self.shards():
            try:
                toolkit.plain_archive(path)
                with np.load(path, allow_pickle=False) as data:
                    part = {name: data[name] for name in SHARD_FIELDS}
                toolkit.same_lengths(part, SHARD_FIELDS)
                first = next((done for done in parts if len(done["actions"])), None)
                if first is not None and len(part["actions"]) and any(
                        part[name].shape[1:] != first[name].shape[1:] for name in SHARD_FIELDS):
                    raise ValueError("its rows have other shapes than the first shard's")
                parts.append(part)
            except Exception as error:  # noqa: BLE001 - any damage is one line
                raise GamepitError(f"dataset shard {path} is damaged "
                                   f"({toolkit.one_line(error)}); delete it to redo its round"
                                   ) from None
        parts = [part for part in parts if len(part["actions"])]
        if not parts:
            return {}
        return {name: np.concatenate([part[name] for part in parts]) for name in SHARD_FIELDS}


class Rows:
    """Labelled rows as they are gathered: observation, legal mask, target policy, move."""

    def __init__(self, num_actions: int) -> None:
        self.num_actions = num_actions
        self.observations: list[np.ndarray] = []
        self.masks: list[np.ndarray] = []
        self.targets: list[np.ndarray] = []
        self.actions: list[int] = []

    def add(self, observation: Any, mask: Any, action: int, info: dict[str, Any] | None,
            soft: bool) -> None:
        mask = np.asarray(mask, dtype=bool)
        self.observations.append(np.asarray(observation))
        self.masks.append(mask)
        self.targets.append(label(action, info if soft else None, mask, self.num_actions))
        self.actions.append(int(action))

    def __len__(self) -> int:
        return len(self.actions)

    def arrays(self, observation_shape: Sequence[int], dtype: Any) -> dict[str, np.ndarray]:
        count = len(self.actions)
        shape = (count, *observation_shape)
        return {
            "observations": (np.stack(self.observations) if count
                             else np.zeros(shape, dtype=dtype)),
            "masks": (np.stack(self.masks) if count
                      else np.zeros((0, self.num_actions), dtype=bool)),
            "targets": (np.stack(self.targets).astype(np.float32) if count
                        else np.zeros((0, self.num_actions), dtype=np.float32)),
            "actions": np.asarray(self.actions, dtype=np.int64),
            "weights": np.ones(count, dtype=np.float32),
        }


def label(action: int, info: dict[str, Any] | None, mask: np.ndarray, num_actions: int
          ) -> np.ndarray:
    """The target policy of one labelled state: the expert's ``policy`` (or its
    ``visit_counts``, normalised) over the legal actions when its info has one that fits, a
    one-hot of its move otherwise."""
    for key in ("policy", "visit_counts"):
        values = (info or {}).get(key)
        if values is None:
            continue
        try:
            target = np.asarray(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            continue
        if target.shape != (num_actions,) or not np.all(np.isfinite(target)):
            continue
        target = np.where(mask, np.maximum(target, 0.0), 0.0)
        if target.sum() > 0:
            return (target / target.sum()).astype(np.float32)
    target = np.zeros(num_actions, dtype=np.float32)
    target[action] = 1.0
    return target


# --------------------------------------------------------------------------- labels from replays


def replay_files(folder: str | Path) -> list[Path]:
    path = Path(folder)
    if not path.is_dir():
        raise GamepitError(f"replays: {folder} is not a folder")
    files = sorted(p for p in path.rglob("*") if p.is_file()
                   and (p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz")))
    if not files:
        raise GamepitError(f"replays: no replay files (*.jsonl) in {folder}")
    return files


def rows_from_replays(files: Sequence[Path], game: Game, registry: Any, learn_from: str,
                      soft: bool) -> tuple[Rows, int]:
    """Re-simulate replays of ``game`` and label each move of the seats to learn from (those
    whose agent spec contains ``learn_from``). Returns the rows and the number of files
    skipped (damaged, or of another game)."""
    rows, skipped = Rows(game.num_actions), 0
    wanted = game.spec or game.name
    for path in files:
        try:
            replay = read_replay(path)
        except ReplayError:
            skipped += 1
            continue
        if replay.header["game"] != wanted and replay.header["game_name"] != game.name:
            skipped += 1
            continue
        seats = {seat for seat, spec in enumerate(replay.header["agents"])
                 if learn_from in spec}
        gathered = Rows(game.num_actions)

        def before(state: State, step: dict[str, Any], seats: set[int] = seats,
                   gathered: Rows = gathered) -> None:
            info = step.get("info") or {}
            if step["player"] in seats and not info.get("opening"):
                gathered.add(state.observation(step["player"]), state.legal_mask(),
                             step["action"], info, soft)

        try:
            simulate(replay, registry, before=before, game=game)
        except ReplayError:
            skipped += 1
            continue
        for name in ("observations", "masks", "targets", "actions"):
            getattr(rows, name).extend(getattr(gathered, name))
    return rows, skipped


# --------------------------------------------------------------------------- labels from an expert


def batch_act(agent: Agent, states: Sequence[State], seeds: Sequence[int]
              ) -> list[tuple[int, dict[str, Any]] | None]:
    """One ``act_batch`` call for a batched agent (with each game's seed where it takes them),
    one ``act`` per state otherwise; on clones, so the agent may change them. ``None`` where
    the agent resigned (a human who typed ``resign`` or closed the input): that game ends."""
    views = [state.clone() for state in states]
    if agent.batched:
        try:
            results = (agent.act_batch(views, seeds=list(seeds)) if takes_seeds(agent)
                       else agent.act_batch(views))
        except Resign:
            return [None] * len(views)
        return [split_act_result(result) for result in results]
    answers: list[tuple[int, dict[str, Any]] | None] = []
    for view in views:
        try:
            answers.append(split_act_result(agent.act(view)))
        except Resign:
            answers.append(None)
    return answers


@dataclass
class Gathered:
    rows: Rows
    expert_queries: int
    expert_seconds: float
    student_moves: int
    games: int
    returns: list[float]  # the student's seat's returns
    faults: list[str] = field(default_factory=list)  # games lost to a failing seat, and why


class Mixture(Agent):
    """The student's seat in a labelling game (DAgger's mixture, Ross et al. 2011): every state
    it is asked about is labelled by the expert (all the waiting states of a lockstep step in
    one batch, where the expert is batched), and the move played is the expert's with
    probability ``beta``, else the student's. The rows go to ``rows``; after ``label_cap``
    labels it plays on as before but labels nothing more. The engine drives it like any seat, so an
    expert that raises or runs out of input costs that game (a forfeit, recorded and skipped),
    not the run."""

    def __init__(self, expert: Agent, student: Agent | None, beta: float,
                 rng: np.random.Generator, rows: Rows, soft: bool, label_cap: int = 0) -> None:
        self.expert, self.student, self.beta, self.rng = expert, student, beta, rng
        self.rows, self.soft, self.label_cap = rows, soft, label_cap
        self.batched = bool(expert.batched)  # per state otherwise, so a resignation ends one
        self.queries, self.seconds, self.student_moves = 0, 0.0, 0

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        super().reset(game, player, seed)
        self.seed = int(seed or 0)
        for agent in {id(a): a for a in (self.expert, self.student) if a is not None}.values():
            agent.reset(game, player, seed)

    def act(self, state: State) -> ActResult:
        return self.act_batch([state], seeds=[self.seed])[0]

    def act_batch(self, states: Sequence[State], seeds: Sequence[int] | None = None
                  ) -> list[ActResult]:
        seeds = list(seeds) if seeds is not None else [0] * len(states)
        started = time.perf_counter()
        labels = batch_act(self.expert, states, seeds)
        self.seconds += time.perf_counter() - started
        self.queries += len(states)
        if any(answer is None for answer in labels):  # the expert resigned (a person)
            raise Resign("resigned")
        use_expert = self.rng.random(len(states)) < self.beta
        moves = [answer[0] for answer in labels]  # type: ignore[index]
        asked = [i for i in range(len(states)) if not use_expert[i]]
        if self.student is not None and asked:
            answers = batch_act(self.student, [states[i] for i in asked],
                                [seeds[i] for i in asked])
            for i, answer in zip(asked, answers, strict=True):
                if answer is not None:
                    moves[i] = answer[0]
                    self.student_moves += 1
        for state, (action, info) in zip(states, labels, strict=True):  # type: ignore[misc]
            if not self.label_cap or len(self.rows) < self.label_cap:
                player = state.current_player
                self.rows.add(state.observation(player), state.legal_mask(), action, info,
                              self.soft)
        return [int(move) for move in moves]


def gather(game: Game, experts: Sequence[Agent], opponents: Sequence[Agent],
           student: Agent | None, beta: float, episodes: int, seed: int,
           rng: np.random.Generator, opening_moves: int, max_steps: int, soft: bool,
           label_cap: int = 0, manager: PluginManager | None = None) -> Gathered:
    """Play ``episodes`` games on the engine (``play_lockstep``), side by side. In game ``i``
    the student's seat is ``i % players`` and holds a ``Mixture`` of the seat's expert and the
    student; the other seats play ``opponents``. A seat that raises, resigns or runs out of
    input forfeits that game, which is counted in ``faults`` and ends there; the labels it
    gave before stay. With ``label_cap``, labelling stops once that many states are labelled
    (the games play on, unlabelled)."""
    players = game.num_players
    rows = Rows(game.num_actions)
    mixtures = [Mixture(experts[seat], student, beta, rng, rows, soft, label_cap)
                for seat in range(players)]
    seats = [i % players for i in range(episodes)]
    seatings = [[mixtures[s] if s == seats[i] else opponents[s] for s in range(players)]
                for i in range(episodes)]
    names = [["dagger" if s == seats[i] else getattr(opponents[s], "spec", "") or "opponent"
              for s in range(players)] for i in range(episodes)]
    settings = MatchSettings(max_steps=max_steps + opening_moves, opening_moves=opening_moves,
                             manager=manager)
    results = play_lockstep(game, seatings, [seed + i for i in range(episodes)], names,
                            settings)
    faults = [f"game {seed + i}: {names[i][r.forfeit_seat]} {r.forfeit_reason}"
              for i, r in enumerate(results)
              if r.forfeit_seat is not None and r.forfeit_reason != "resigned"]
    return Gathered(rows, sum(m.queries for m in mixtures), sum(m.seconds for m in mixtures),
                    sum(m.student_moves for m in mixtures), episodes,
                    [float(r.returns[seats[i]]) for i, r in enumerate(results)], faults)


class LabelWorker:
    """A labelling worker of the executor seam (``gamepit.backends``): the game, the experts
    and opponents (one per seat, from their spec strings) and a copy of the student network,
    built where it runs; ``gather`` plays its share of a round's episodes."""

    def __init__(self, manager: PluginManager | None, args: ImitationArgs,
                 meta: dict[str, Any], device: str = "cpu") -> None:
        self.args, self.game = args, toolkit.worker_game(args, manager)
        self.manager = manager or get_manager()
        registry = self.manager.registry
        args = self.args
        self.experts = [registry.make_agent(args.expert, self.game)
                        for _ in range(self.game.num_players)]
        self.opponents = [registry.make_agent(args.opponent, self.game) if args.opponent
                          else expert for expert in self.experts]
        self.shape = tuple(int(x) for x in self.game.observation_shape)
        self.dtype = np.asarray(self.game.new_state(args.seed).observation(0)).dtype
        self.network = toolkit.WorkerNetwork(build_network(meta), device)
        self.student = toolkit.NetworkAgent(self.network.network, logits_only,
                                            toolkit.TrainedOn("student", meta["game"], self.shape,
                                                              self.game.num_actions), device)

    def gather(self, emit: Any, weights: dict[str, np.ndarray] | None, version: int,
               beta: float, episodes: int, seed: int, rng_seed: int, label_cap: int
               ) -> tuple[dict[str, np.ndarray], Gathered]:
        """Episodes ``seed``.. of a round, labelled; the student plays (with chance 1 - beta)
        when ``weights`` are given. Returns the rows as arrays and the round's counts."""
        student = None
        if weights is not None:
            self.network.at(weights, version)
            student = self.student
        args = self.args
        gathered = gather(self.game, self.experts, self.opponents, student, beta, episodes,
                          seed, np.random.default_rng(rng_seed), args.opening_moves,
                          args.max_steps, args.soft_labels, label_cap, self.manager)
        rows, gathered.rows = gathered.rows.arrays(self.shape, self.dtype), Rows(0)
        return rows, gathered

    def close(self) -> None:
        for agent in {id(a): a for a in self.experts + self.opponents}.values():
            agent.close()


def gather_round(pool: Pool, network: StudentNet | None, version: int, beta: float,
                 seed: int, args: ImitationArgs, players: int, rng: np.random.Generator
                 ) -> tuple[dict[str, np.ndarray], Gathered]:
    """A round's episodes dealt out to the labelling workers in shares (whole turns of seats),
    the student published once when it plays, the rows back in worker order and cut at
    ``labels_per_round``."""
    weights = None if network is None else pool.share(toolkit.numpy_weights(network))
    shares = split(args.episodes, max(args.workers, 1), players)
    starts = np.cumsum([0, *shares[:-1]]).tolist()
    cap = args.labels_per_round
    rng_seeds = rng.integers(2**63, size=len(shares)).tolist()
    replies = map_calls(pool, [("gather", (weights, version, beta, episodes, seed + start,
                                           rng_seed, -(-cap * episodes // args.episodes)))
                               for episodes, start, rng_seed
                               in zip(shares, starts, rng_seeds, strict=True)])
    rows = {key: np.concatenate([reply[0][key] for reply in replies])[:cap or None]
            for key in SHARD_FIELDS}
    parts = [reply[1] for reply in replies]
    return rows, Gathered(Rows(0), sum(p.expert_queries for p in parts),
                          sum(p.expert_seconds for p in parts),
                          sum(p.student_moves for p in parts), sum(p.games for p in parts),
                          [value for p in parts for value in p.returns],
                          [fault for p in parts for fault in p.faults])


# --------------------------------------------------------------------------- the student


class StudentNet(nn.Module):
    """A torso picked by observation shape (``nets.atari.make_torso``: the Nature CNN for
    frames, MinAtar's CNN for 10x10 planes, the board torso for other planes, an MLP for
    vectors) and a linear policy head."""

    def __init__(self, observation_shape: tuple[int, ...], num_actions: int,
                 hidden: int = 128, board_channels: int = 64, board_features: int = 256
                 ) -> None:
        super().__init__()
        self.torso = make_torso(observation_shape, hidden, nn.ReLU)
        if isinstance(self.torso, BoardTorso):  # its size is a setting: a student is small
            self.torso = BoardTorso(*observation_shape, channels=board_channels,
                                    features=board_features)
        self.policy = nn.Linear(self.torso.features, num_actions)

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return self.policy(self.torso(observation))


def build_network(meta: dict[str, Any]) -> StudentNet:
    args = meta["args"]
    return StudentNet(tuple(int(x) for x in meta["observation_shape"]),
                      int(meta["num_actions"]), int(args["hidden"]),
                      int(args.get("board_channels", 64)), int(args.get("board_features", 256)))


def logits_only(logits: torch.Tensor) -> tuple[torch.Tensor, None]:
    return logits, None


def imitation_loss(logits: torch.Tensor, masks: torch.Tensor, targets: torch.Tensor,
                   weights: torch.Tensor, entropy_coef: float
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """Cross-entropy against the target policies over legal actions (a hard label's one-hot
    makes it the usual cross-entropy, a soft target's makes it the KL divergence plus the
    target's entropy, a constant), minus the entropy bonus. Metrics: the loss, the KL, the
    student's entropy and how often its best move is the target's."""
    logits = logits.masked_fill(~masks, -1e9)
    log_probs = F.log_softmax(logits, dim=1)
    cross = -(targets * log_probs).sum(dim=1)
    probs = log_probs.exp()
    entropy = -(probs * log_probs.masked_fill(~masks, 0.0)).sum(dim=1)
    target_entropy = -(targets * torch.log(targets.clamp_min(1e-12))).sum(dim=1)
    total = weights.sum().clamp_min(1e-8)
    loss = ((cross - entropy_coef * entropy) * weights).sum() / total
    with torch.no_grad():
        metrics = {"losses/loss": float(loss),
                   "losses/kl": float(((cross - target_entropy) * weights).sum() / total),
                   "losses/entropy": float((entropy * weights).sum() / total),
                   "losses/accuracy": float((logits.argmax(1) == targets.argmax(1)).float()
                                            .mean())}
    return loss, metrics


def fit(network: StudentNet, optimizer: torch.optim.Optimizer, data: dict[str, np.ndarray],
        args: ImitationArgs, rng: np.random.Generator, device: torch.device
        ) -> dict[str, float]:
    """``args.epochs`` passes over the dataset in shuffled batches; mean metrics."""
    count = len(data["actions"])
    tensors = {name: torch.as_tensor(data[name], device=device) for name in SHARD_FIELDS}
    collected: dict[str, list[float]] = {}
    network.train()
    for _ in range(args.epochs):
        order = torch.as_tensor(rng.permutation(count), device=device)
        for start in range(0, count, args.batch_size):
            index = order[start:start + args.batch_size]
            loss, metrics = imitation_loss(network(tensors["observations"][index]),
                                           tensors["masks"][index], tensors["targets"][index],
                                           tensors["weights"][index], args.entropy_coef)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in metrics.items():
                collected.setdefault(key, []).append(value)
    network.eval()
    return {key: float(np.mean(values)) for key, values in collected.items()}


# --------------------------------------------------------------------------- the rounds


def train(algorithm: str, args: ImitationArgs, manager: PluginManager | None = None) -> str:
    """Run the rounds; returns the spec of the student that plays the final checkpoint."""
    run = toolkit.start_run(algorithm, args, manager, total_steps=args.rounds)
    game, device, rng, registry = run.game, run.device, run.rng, run.manager.registry
    if not game.capabilities.state:
        raise GamepitError(f"{game.spec or game.name}: imitation needs a simulator state")
    if game.num_players > 2:
        raise GamepitError(f"{game.spec or game.name} has {game.num_players} players; "
                           "imitation plays one- and two-player games")
    observation_shape = tuple(int(x) for x in game.observation_shape)
    probe = np.asarray(game.new_state(args.seed).observation(0))
    meta = toolkit.run_meta(run, args, observation_shape, game.num_actions)
    network = build_network(meta).to(device)
    optimizer = toolkit.adam(network.parameters(), args.learning_rate)
    trained_rounds = toolkit.resume(run, {"network": network, "optimizer": optimizer})
    dataset = Dataset(run.folder / "dataset")
    if not args.resume and len(dataset):
        raise GamepitError(f"{dataset.folder} already holds {len(dataset)} shards and resume "
                           "is off; use another --run folder")
    totals = {"expert_queries": 0.0, "expert_seconds": 0.0}
    if run.resumed is not None:
        for key in totals:
            totals[key] = float(run.resumed.get(f"total_{key}", 0.0))
    files = replay_files(args.replays) if args.replays else []
    pool = (toolkit.open_workers(args, LabelWorker, (run.manager, args, meta, str(device)),
                                 (None, args, meta, "cpu")) if args.expert else None)
    if len(dataset) > trained_rounds:
        print(f"{dataset.folder}: {len(dataset)} shards, the student trained on "
              f"{trained_rounds}; retraining on all of them", flush=True)

    def save(rounds_done: int) -> None:
        toolkit.save(run, rounds_done, {**meta, "network": network, "optimizer": optimizer,
                                        **{f"total_{k}": v for k, v in totals.items()}})

    try:
        while True:
            done = len(dataset)
            if trained_rounds < done:
                train_round(network, optimizer, dataset, args, rng, device, run, done, totals)
                trained_rounds = done
                save(done)
            if done >= args.rounds:
                break
            started = time.perf_counter()
            metrics: dict[str, float] = {"train/round": float(done)}
            if files:
                share = files[done * len(files) // args.rounds:
                              (done + 1) * len(files) // args.rounds]
                replayed, skipped = rows_from_replays(share, game, registry, args.learn_from,
                                                      args.soft_labels)
                rows = replayed.arrays(observation_shape, probe.dtype)
                metrics["data/replays_skipped"] = float(skipped)
            else:
                assert pool is not None
                beta = 1.0 if algorithm == "bc" else beta_for(done, args)
                rows, gathered = gather_round(pool, None if beta >= 1 else network, done, beta,
                                              args.seed + done * args.episodes, args,
                                              game.num_players, rng)
                totals["expert_queries"] += gathered.expert_queries
                totals["expert_seconds"] += gathered.expert_seconds
                metrics.update({
                    "dagger/beta": beta, "dagger/expert_queries": totals["expert_queries"],
                    "dagger/expert_seconds": totals["expert_seconds"],
                    "dagger/round_expert_queries": float(gathered.expert_queries),
                    "dagger/student_moves": float(gathered.student_moves),
                    "dagger/lost_games": float(len(gathered.faults)),
                    "episode/return": float(np.mean(gathered.returns))})
                for fault in gathered.faults[:3]:  # a failing expert costs its game, said
                    print(f"  lost: {fault}", flush=True)
            dataset.append(rows)
            metrics["data/round_rows"] = float(len(rows["actions"]))
            metrics["data/round_seconds"] = time.perf_counter() - started
            run.reporter.metrics(done + 1, metrics)
            print(f"round {done + 1}/{args.rounds}: {len(rows['actions'])} labelled states "
                  f"({metrics['data/round_seconds']:.1f} s)", flush=True)
    finally:
        if pool is not None:
            pool.close()
    toolkit.save_checkpoint(run.folder / STUDENT, {
        **meta, "step": args.rounds, "network": toolkit.cpu_weights(network)})
    spec = f"student:checkpoint={run.checkpoint}"
    if args.eval_episodes:
        evaluation = make_agent(str(run.checkpoint), str(device))
        toolkit.evaluate(run, evaluation, spec, args.eval_episodes, args.rounds,
                         args.eval_opponent, args.max_steps)
    return spec


def train_round(network: StudentNet, optimizer: torch.optim.Optimizer, dataset: Dataset,
                args: ImitationArgs, rng: np.random.Generator, device: torch.device,
                run: toolkit.Run, rounds_done: int, totals: dict[str, float]) -> None:
    data = dataset.load()
    if not data:
        print("the dataset is empty so far; nothing to train on", flush=True)
        return
    started = time.perf_counter()
    metrics = fit(network, optimizer, data, args, rng, device)
    metrics.update({"data/size": float(len(data["actions"])),
                    "data/shards": float(len(dataset)),
                    "train/fit_seconds": time.perf_counter() - started})
    run.reporter.metrics(rounds_done, metrics)
    print(f"trained on {len(data['actions'])} states: loss {metrics['losses/loss']:.3f}, "
          f"accuracy {metrics['losses/accuracy']:.2f}", flush=True)


# --------------------------------------------------------------------------- playing


def make_agent(checkpoint: str = "", device: str = "cpu") -> toolkit.NetworkAgent:
    """``student:checkpoint=PATH|builtin:NAME``: a bc or dagger student (its run's
    ``checkpoint.pt`` or the smaller ``student.pt``), greedy over legal actions."""
    if not str(checkpoint):
        raise GamepitError(f"name a checkpoint: student:checkpoint=RUN/{toolkit.CHECKPOINT}")
    checkpoint = str(toolkit.resolve_checkpoint(str(checkpoint), "student", BUILTIN_DIR))
    meta = toolkit.load_checkpoint(checkpoint)
    if meta.get("algorithm") not in ALGORITHMS:
        raise GamepitError(f"{checkpoint} is a {meta.get('algorithm')!r} checkpoint, not a bc "
                           "or dagger student")
    with toolkit.checkpoint_contents(checkpoint):
        network = build_network(meta)
        toolkit.load_state(network, meta["network"], f"checkpoint {checkpoint}: network")
        trained_on = toolkit.TrainedOn.from_meta(f"student checkpoint {checkpoint}", meta)
    target = toolkit.select_device(device)
    return toolkit.NetworkAgent(network.to(target).eval(), logits_only, trained_on, target)


class ImitationLearner:
    """The ``bc`` and ``dagger`` learner entries: the train command merges their ``Args``
    (defaults, the YAML file, ``--set``) and calls ``train`` with them; each trains the
    algorithm it was made for."""

    Args = ImitationArgs

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm

    def train(self, args: ImitationArgs) -> str:
        check_sources(self.algorithm, args)
        return train(self.algorithm, args)


def BCLearner() -> ImitationLearner:  # noqa: N802 - the entry's name, as the other learners'
    return ImitationLearner("bc")


def DAggerLearner() -> ImitationLearner:  # noqa: N802
    return ImitationLearner("dagger")
