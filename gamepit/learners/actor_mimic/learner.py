"""Actor-mimic (Parisotto, Ba and Salakhutdinov 2016), with the policy distillation loss of Rusu
et al. (2016): one student network, a trunk shared by all its games and a head per game, learns
to act like a separate expert on each game. Reads top to bottom like a CleanRL script:
arguments, experts (what each one's policy is), the student network, the per-game players and
their replay buffers, the loss, the training loop, the agent.

- Experts are agent specs, one per game. A ``dqn`` expert's Q-values become a policy by a
  softmax at temperature ``temperature`` (the papers' Boltzmann policy); any other network
  agent's scores (a ``ppo`` policy's logits) by a plain softmax; any other agent (a search)
  gives its ``policy`` or ``visit_counts`` from its info, or else its move as a one-hot.
- The loss is the cross-entropy from the expert's policy to the student's head for that game
  (policy regression), plus, with ``beta`` > 0, feature regression: a per-game linear map from
  the student's trunk features to the expert network's torso features, squared error.
- Each game has its own replay buffer (DQN's: frames stored once), labelled with the expert's
  policy when a state is visited; every gradient step takes the same number of states from each
  game. The student acts epsilon-greedily (0.1, as the paper's AMN) or the expert acts.
- Games may differ in their number of input planes (MinAtar's have 4 to 10): the student reads
  each game's planes padded with zero planes to the widest, so the trunk's first convolution
  has a weight per plane index (channel 0 is the player in every MinAtar game). With ``kinds``
  it reads them as shared object kinds instead: each plane adds into the plane of its kind
  (the game's ``plane_kinds``, from its ``object_kinds``: MinAtar's player, enemy, prize,
  trail...), so the first convolution's weights are per kind of object, not per index.
  ``init`` in dqn and ppo (``toolkit.load_trunk``) starts a new game's network from this trunk
  (a kinds trunk through the new game's own planes' kinds).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gamepit.errors import GamepitError
from gamepit.learners import toolkit
from gamepit.learners.dqn.learner import FrameReplayBuffer, frame_layout
from gamepit.learners.imitation.learner import batch_act, imitation_loss, label
from gamepit.nets.atari import make_torso
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import Agent, Game, State
from gamepit.training.settings import SEED_MAX, THREADS_MAX, as_plain_dict, setting

ALGORITHM = "actor_mimic"
BUILTIN_DIR = Path(__file__).resolve().parent / "checkpoints"
Q_VALUE_EXPERTS = ("dqn",)  # agents whose network scores are Q-values, softened by temperature
SEPARATOR = ";"  # between the specs of `game` and `experts` (specs themselves use , : =)


@dataclass
class ActorMimicArgs:
    game: str = setting("", required=True)
    """the student's games: game specs separated by ';', e.g. --game
    "minatar:breakout;minatar:freeway" (or game: in the config)"""
    experts: str = setting("", required=True)
    """one expert agent spec per game, separated by ';', in the order of the games (e.g.
    dqn:checkpoint=A.pt;ppo:checkpoint=B.pt;mcts:sims=100)"""
    seed: int = setting(1, low=0, high=SEED_MAX)
    """seed of the games, the student's network and its exploration"""
    total_steps: int = setting(1_000_000, low=1)
    """environment steps to train for, summed over all games and environments"""
    num_envs: int = setting(8, low=1, high=1024)
    """environments of each game stepped together"""
    buffer_size: int = setting(20_000, low=1, high=100_000_000)
    """states each game's replay buffer holds"""
    batch_size: int = setting(32, low=1, high=1_000_000)
    """states of each game in every gradient step (balanced across games)"""
    learning_rate: float = setting(2.5e-4, above=0)
    """Adam step size"""
    temperature: float = setting(0.01, above=0)
    """softmax temperature that turns a dqn expert's Q-values into its policy (Rusu et al. use
    0.01: close to the greedy action, with the ranking of the others)"""
    beta: float = setting(0.0, low=0)
    """weight of feature regression (0: policy regression only; needs network experts)"""
    epsilon: float = setting(0.1, low=0, high=1)
    """exploration of the acting network: a random legal action this often (the paper: 0.1)"""
    actor: str = "student"
    """who acts while states are gathered: student (the paper's AMN) or expert"""
    learning_starts: int = setting(5_000, low=0)
    """environment steps (all games) before the first gradient step"""
    train_frequency: int = setting(1, low=1)
    """rounds of stepping every game's environments between gradient steps"""
    planes: int = setting(0, low=0, high=4096)
    """input planes of the trunk (0: the widest of its games); a new game with at most this
    many planes can start from the trunk"""
    kinds: bool = False
    """read every game's planes as shared object kinds (one trunk plane per kind; the games
    must name theirs, as MinAtar's do) instead of padded to the widest game"""
    hidden: int = setting(128, low=1, high=65_536)
    """units per hidden layer of the MLP torso (vector observations)"""
    max_grad_norm: float = setting(10.0, low=0)
    """gradient norm clip (0: none)"""
    device: str = "auto"
    """auto, cpu or cuda"""
    threads: int = setting(1, low=1, high=THREADS_MAX)
    """torch CPU threads; one avoids spin-waiting on a shared CPU"""
    run_dir: str = ""
    """folder of checkpoints, metrics and replays (default runs/actor_mimic_TIME)"""
    resume: bool = True
    """continue from RUN/checkpoint.pt when it exists"""
    checkpoint_every: int = setting(100_000, low=1)
    """environment steps between checkpoints"""
    log_every: int = setting(10_000, low=1)
    """environment steps between metric reports"""
    eval_episodes: int = setting(10, low=0, high=100_000)
    """evaluation episodes on each game at the end, recorded as replays (0: none)"""
    eval_max_steps: int = setting(5_000, low=0)
    """actions after which an evaluation episode is cut and said so (0: the game's own limit)"""

    def validate(self) -> None:
        if self.actor not in ("student", "expert"):
            raise ValueError(f"actor={self.actor!r}: expected student or expert")
        if self.buffer_size < 2 * self.num_envs * 9:
            raise ValueError("buffer_size is too small for num_envs")
        if self.kinds and self.planes:
            raise ValueError("kinds=true gives the trunk one plane per object kind; set planes=0")


def split_pairs(args: ActorMimicArgs) -> tuple[list[str], list[str]]:
    """The (game, expert) pairs from the two ';'-separated lists, or one line saying what is
    wrong with them."""
    games = [part.strip() for part in args.game.split(SEPARATOR)]
    experts = [part.strip() for part in args.experts.split(SEPARATOR)]
    if "" in games or "" in experts:
        raise GamepitError(f"actor_mimic: an empty spec in game={args.game!r} or experts="
                           f"{args.experts!r} (separate specs with '{SEPARATOR}')")
    if len(games) != len(experts):
        raise GamepitError(f"actor_mimic: {len(games)} games but {len(experts)} experts; name "
                           f"one expert per game, in the same order, separated by "
                           f"'{SEPARATOR}'")
    return games, experts


# --------------------------------------------------------------------------- experts


class Expert:
    """One game's expert and how its policy is read (see the module docstring)."""

    def __init__(self, agent: Agent, spec: str, q_values: bool, temperature: float) -> None:
        self.agent, self.spec = agent, spec
        self.q_values, self.temperature = q_values, temperature
        self.network = agent.network if isinstance(agent, toolkit.NetworkAgent) else None

    def feature_size(self) -> int:
        """The width of the expert network's torso features (0: none to regress, a search)."""
        torso = getattr(self.network, "torso", None)
        return int(getattr(torso, "features", 0)) if torso is not None else 0

    @torch.no_grad()
    def label(self, states: list[State], observations: np.ndarray, masks: np.ndarray,
              seeds: list[int], features: bool) -> tuple[np.ndarray, np.ndarray | None,
                                                          np.ndarray]:
        """(the expert's policy over actions, its torso features or None, its moves)."""
        if self.network is None:
            answers = batch_act(self.agent, states, seeds)
            if any(answer is None for answer in answers):
                raise GamepitError(f"expert {self.spec} resigned; an expert must move")
            actions = np.array([answer[0] for answer in answers], dtype=np.int64)
            targets = np.stack([label(int(action), info, mask, masks.shape[1]) for
                                (action, info), mask in zip(answers, masks, strict=True)])
            return targets, None, actions
        device = self.agent.device
        inputs = torch.as_tensor(observations, device=device)
        scores, _ = self.agent.policy(self.network(inputs))
        scores = scores.float().masked_fill(~torch.as_tensor(masks, device=device), -1e9)
        policy = torch.softmax(scores / self.temperature if self.q_values else scores, dim=1)
        hidden = self.network.torso(inputs).cpu().numpy() if features else None
        return policy.cpu().numpy(), hidden, scores.argmax(dim=1).cpu().numpy()


# --------------------------------------------------------------------------- the student


def student_shape(shapes: list[tuple[int, ...]], planes: int, games: list[str]
                  ) -> tuple[int, ...]:
    """The trunk's input: image planes padded to the widest game (or ``planes``); other
    observations must all have one shape."""
    if all(len(shape) == 3 for shape in shapes) and len({s[1:] for s in shapes}) == 1:
        widest = max(shape[0] for shape in shapes)
        if planes and planes < widest:
            raise GamepitError(f"actor_mimic: planes={planes} is fewer than the {widest} "
                               "planes of the widest game")
        return (planes or widest,) + tuple(shapes[0][1:])
    if len(set(shapes)) != 1:
        seen = ", ".join(f"{game} {shape}" for game, shape in zip(games, shapes, strict=True))
        raise GamepitError(f"actor_mimic: the games' observations differ beyond their number "
                           f"of planes ({seen}); one trunk needs one input shape")
    return shapes[0]


def pad_planes(observations: torch.Tensor, planes: int) -> torch.Tensor:
    """Zero planes after a game's own, up to the trunk's ``planes``."""
    if observations.dim() != 4 or observations.shape[1] == planes:
        return observations
    return F.pad(observations, (0, 0, 0, 0, 0, planes - observations.shape[1]))


def game_kinds(games: list[Game], names: list[str]) -> tuple[list[str], list[list[str]]]:
    """The object kinds the games share and each game's planes' kinds, or one line saying
    which game names none or names another set of kinds."""
    vocabulary: list[str] | None = None
    planes = []
    for game, name in zip(games, names, strict=True):
        kinds, theirs = getattr(game, "object_kinds", None), getattr(game, "plane_kinds", None)
        if not kinds or not theirs:
            raise GamepitError(f"actor_mimic: kinds=true, but {name} names no object kind for "
                               "its planes (MinAtar's games do); set kinds=false")
        if vocabulary is not None and list(kinds) != vocabulary:
            raise GamepitError(f"actor_mimic: {name} names other object kinds than "
                               f"{names[0]}; one trunk needs one set of kinds")
        vocabulary = list(kinds)
        planes.append([str(kind) for kind in theirs])
    return vocabulary or [], planes


class StudentNetwork(nn.Module):
    """A trunk (``make_torso``: MinAtar's small CNN, the Nature CNN...) shared by all games, a
    policy head per game, and per-game linear maps from the trunk's features to each expert
    network's (feature regression, keyed by the game's index; none for a game whose size is 0,
    none at all when ``beta`` is 0)."""

    def __init__(self, observation_shape: tuple[int, ...], num_actions: list[int],
                 feature_sizes: list[int], hidden: int = 128,
                 plane_kinds: list[list[int]] | None = None) -> None:
        super().__init__()
        self.observation_shape = observation_shape
        self.kinds = plane_kinds is not None  # each game's plane -> the index of its kind
        for game, kinds in enumerate(plane_kinds or []):
            self.register_buffer(f"kinds{game}", torch.tensor(kinds, dtype=torch.long),
                                 persistent=False)
        self.torso = make_torso(observation_shape, hidden, nn.ReLU)
        features = self.torso.features
        self.heads = nn.ModuleList(nn.Linear(features, count) for count in num_actions)
        self.feature_maps = nn.ModuleDict({str(game): nn.Linear(features, size)
                                           for game, size in enumerate(feature_sizes) if size})

    def inputs(self, observations: torch.Tensor, game: int) -> torch.Tensor:
        """A game's observations as the trunk reads them: each plane added into its kind's
        plane, or padded with zero planes."""
        if not self.kinds:
            return pad_planes(observations, self.observation_shape[0])
        shape = (len(observations), self.observation_shape[0], *observations.shape[2:])
        return observations.new_zeros(shape).index_add_(1, getattr(self, f"kinds{game}"),
                                                         observations)

    def forward(self, observations: torch.Tensor, game: int) -> torch.Tensor:
        return self.heads[game](self.torso(self.inputs(observations, game)))


def build_network(meta: dict[str, Any]) -> StudentNetwork:
    """The student a checkpoint describes (its shapes and settings are stored in it)."""
    vocabulary = [str(kind) for kind in meta.get("object_kinds") or []]
    kinds = ([[vocabulary.index(str(kind)) for kind in planes] for planes in meta["plane_kinds"]]
             if vocabulary else None)
    return StudentNetwork(tuple(int(x) for x in meta["observation_shape"]),
                          [int(n) for n in meta["num_actions"]],
                          [int(n) for n in meta["feature_sizes"]], int(meta["args"]["hidden"]),
                          kinds)


# --------------------------------------------------------------------------- gathering states


class GamePlayer:
    """``num_envs`` games of one kind stepped side by side, with their replay buffer of states
    and, for each state, the expert's policy (and features) and the legal mask."""

    def __init__(self, index: int, game: Game, expert: Expert, args: ActorMimicArgs,
                 rng: np.random.Generator, feature_size: int, first_seed: int) -> None:
        self.index, self.game, self.expert, self.rng = index, game, expert, rng
        self.num_envs, self.num_actions = args.num_envs, int(game.num_actions)
        self.next_seed = first_seed
        self.seeds = [0] * self.num_envs
        self.states = [self._new_state(env) for env in range(self.num_envs)]
        observations = self.observations()
        frame_shape, stack = frame_layout(tuple(observations.shape[1:]))
        self.buffer = FrameReplayBuffer(args.buffer_size, self.num_envs, frame_shape, stack,
                                        observations.dtype, rng)
        shape = (self.num_envs, self.buffer.ring)
        self.targets = np.zeros(shape + (self.num_actions,), dtype=np.float32)
        self.masks = np.ones(shape + (self.num_actions,), dtype=bool)
        self.features = np.zeros(shape + (feature_size,), dtype=np.float32) \
            if feature_size else None
        self.buffer.start_episodes(np.arange(self.num_envs), observations)
        self.stats = toolkit.EpisodeStats(self.num_envs)

    def _new_state(self, env: int) -> State:
        self.seeds[env] = self.next_seed
        self.next_seed += 1
        return self.game.new_state(self.seeds[env])

    def observations(self) -> np.ndarray:
        return np.stack([np.asarray(state.observation(0)) for state in self.states])

    def step(self, student: StudentNetwork, device: torch.device, epsilon: float,
             expert_acts: bool) -> None:
        """Label the current states with the expert, record them, act and step every env."""
        observations = self.observations()
        masks = np.stack([state.legal_mask() for state in self.states]).astype(bool)
        targets, features, expert_actions = self.expert.label(
            self.states, observations, masks, self.seeds, self.features is not None)
        envs = np.arange(self.num_envs)
        slots = (self.buffer.position - 1) % self.buffer.ring  # each env's current state
        self.targets[envs, slots], self.masks[envs, slots] = targets, masks
        if self.features is not None:
            self.features[envs, slots] = features
        if expert_acts:
            actions = expert_actions.copy()
        else:
            with torch.no_grad():
                logits = student(torch.as_tensor(observations, device=device), self.index)
            logits = logits.masked_fill(~torch.as_tensor(masks, device=device), -1e9)
            actions = logits.argmax(dim=1).cpu().numpy()
        for env in np.flatnonzero(self.rng.random(self.num_envs) < epsilon):
            actions[env] = self.rng.choice(np.flatnonzero(masks[env]))
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        finals = observations.copy()
        for env, state in enumerate(self.states):
            before = state.returns()[0]
            state.apply(int(actions[env]))
            rewards[env] = state.returns()[0] - before
            finals[env] = np.asarray(state.observation(0))
            if state.is_terminal():
                terminated[env] = True
                self.states[env] = self._new_state(env)
        self.stats.update(rewards, terminated)
        self.buffer.add(actions, rewards, terminated, np.zeros_like(terminated), finals,
                        self.observations())

    def sample(self, batch_size: int) -> dict[str, np.ndarray]:
        drawn = self.buffer.sample(batch_size)
        flat = drawn["indices"]
        batch = {"observations": drawn["observations"],
                 "targets": self.targets.reshape(-1, self.num_actions)[flat],
                 "masks": self.masks.reshape(-1, self.num_actions)[flat]}
        if self.features is not None:
            batch["features"] = self.features.reshape(-1, self.features.shape[-1])[flat]
        return batch


# --------------------------------------------------------------------------- the loss


def mimic_loss(student: StudentNetwork, batches: list[dict[str, torch.Tensor]], beta: float,
               names: list[str]) -> tuple[torch.Tensor, dict[str, float]]:
    """Policy regression (cross-entropy to each expert's policy, imitation's loss) summed over
    the games, plus ``beta`` times feature regression; one trunk pass for all the games.
    Metrics per game (KL, how often the student's best move is the expert's) carry its name."""
    observations = torch.cat([student.inputs(batch["observations"], game)
                              for game, batch in enumerate(batches)])
    hidden = student.torso(observations).split([len(b["observations"]) for b in batches])
    total = torch.zeros((), device=observations.device)
    metrics: dict[str, float] = {}
    for game, (batch, features) in enumerate(zip(batches, hidden, strict=True)):
        logits = student.heads[game](features)
        weights = torch.ones(len(logits), device=logits.device)
        loss, parts = imitation_loss(logits, batch["masks"], batch["targets"], weights, 0.0)
        total = total + loss
        for key in ("losses/kl", "losses/accuracy"):
            metrics[f"{key}/{names[game]}"] = parts[key]
        if beta > 0 and str(game) in student.feature_maps:
            regression = F.mse_loss(student.feature_maps[str(game)](features), batch["features"])
            total = total + beta * regression
            metrics[f"losses/features/{names[game]}"] = float(regression.detach())
    metrics["losses/loss"] = float(total.detach())
    return total, metrics


# --------------------------------------------------------------------------- training


def train(args: ActorMimicArgs, manager: PluginManager | None = None) -> str:
    """Distil; returns the spec of an agent that plays the final checkpoint's games."""
    manager = manager or get_manager()
    specs, expert_specs = split_pairs(args)
    games = [manager.registry.make_game(spec) for spec in specs]
    for game in games:
        if game.num_players != 1 or not game.capabilities.state:
            raise GamepitError(f"actor_mimic: {game.spec or game.name} is not a one-player "
                               "game with a simulator state")
    canonical = [game.spec or game.name for game in games]
    if len(set(canonical)) != len(canonical):
        raise GamepitError(f"actor_mimic: a game is named twice in {args.game!r}")
    run_dir = args.run_dir or str(Path("runs") / f"actor_mimic_{time.strftime('%Y%m%d-%H%M%S')}")
    run = toolkit.start_run(ALGORITHM, dataclasses.replace(args, game=specs[0],
                                                           run_dir=run_dir),
                            manager, total_steps=args.total_steps)
    device, rng = run.device, run.rng
    experts = []
    for game, spec in zip(games, expert_specs, strict=True):
        entry, _ = manager.registry.parse("agent", spec)
        agent = manager.registry.make_agent(spec, game)
        agent.reset(game, 0, args.seed)
        experts.append(Expert(agent, spec, entry.name in Q_VALUE_EXPERTS, args.temperature))
    feature_sizes = [expert.feature_size() for expert in experts] if args.beta > 0 else []
    if args.beta > 0 and not any(feature_sizes):
        raise GamepitError("beta > 0: no expert is a network with torso features to regress; "
                           "set beta=0")
    shapes = [tuple(int(x) for x in game.observation_shape) for game in games]
    trunk_shape = student_shape(shapes, args.planes, canonical)
    vocabulary, plane_kinds = game_kinds(games, canonical) if args.kinds else ([], [])
    if vocabulary:
        trunk_shape = (len(vocabulary), *trunk_shape[1:])
    meta = {"algorithm": ALGORITHM, "args": as_plain_dict(args), "game": SEPARATOR.join(canonical),
            "games": canonical, "game_names": [game.name for game in games],
            "experts": expert_specs, "observation_shapes": [list(s) for s in shapes],
            "observation_shape": list(trunk_shape), "object_kinds": vocabulary,
            "plane_kinds": plane_kinds,
            "num_actions": [int(game.num_actions) for game in games],
            "feature_sizes": feature_sizes}
    if run.resumed is not None:
        with toolkit.checkpoint_contents(run.checkpoint):
            if list(run.resumed["games"]) != canonical:
                raise GamepitError(f"{run.checkpoint} distils {run.resumed['games']}, not "
                                   f"{canonical}; use another --run folder")
    student = build_network(meta).to(device)
    optimizer = toolkit.adam(student.parameters(), args.learning_rate)
    global_step = toolkit.resume(run, {"network": student, "optimizer": optimizer})

    # Game seeds continue where a resumed run left off; the buffers are refilled (not saved).
    players = [GamePlayer(index, game, expert, args, rng,
                          feature_sizes[index] if feature_sizes else 0,
                          args.seed * 1_000_003 + index * 100_003 + global_step)
               for index, (game, expert) in enumerate(zip(games, experts, strict=True))]
    learning_starts = global_step + args.learning_starts
    names = [game.name if [g.name for g in games].count(game.name) == 1 else f"game{i}"
             for i, game in enumerate(games)]
    next_log = global_step + args.log_every
    next_checkpoint = global_step + args.checkpoint_every
    iteration, logged = 0, []

    def save() -> None:
        toolkit.save(run, global_step, {**meta, "network": student, "optimizer": optimizer})

    while global_step < args.total_steps:
        student.eval()
        for player in players:
            player.step(student, device, args.epsilon, args.actor == "expert")
        global_step += args.num_envs * len(players)
        iteration += 1
        if global_step > learning_starts and iteration % args.train_frequency == 0:
            student.train()
            batches = [{key: torch.as_tensor(value, device=device) for key, value in
                        player.sample(args.batch_size).items()} for player in players]
            loss, parts = mimic_loss(student, batches, args.beta, names)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if args.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(student.parameters(), args.max_grad_norm)
            optimizer.step()
            logged.append(parts)
        if global_step >= next_log:
            next_log += args.log_every
            metrics: dict[str, float] = {}
            for name, player in zip(names, players, strict=True):
                metrics.update({f"{key}/{name}": value
                                for key, value in player.stats.drain().items()})
            if logged:
                metrics.update({key: float(np.mean([part[key] for part in logged]))
                                for key in logged[0]})
                logged.clear()
            returns = [value for key, value in metrics.items()
                       if key.startswith("episode/return/")]
            if returns:  # the progress display shows one return: the mean over the games
                metrics["episode/return"] = float(np.mean(returns))
            run.reporter.metrics(global_step, metrics)
        if global_step >= next_checkpoint:
            next_checkpoint += args.checkpoint_every
            save()
    save()
    for expert in experts:
        expert.agent.close()
    spec = f"{ALGORITHM}:checkpoint={run.checkpoint}"
    if args.eval_episodes:
        for name, game in zip(names, games, strict=True):
            agent = make_agent(str(run.checkpoint), str(device))
            toolkit.evaluate(dataclasses.replace(run, game=game), agent, spec,
                             args.eval_episodes, global_step, max_steps=args.eval_max_steps,
                             prefix=f"eval/{name}")
    return spec


# --------------------------------------------------------------------------- playing


class HeadView(nn.Module):
    """The student seen through one game's head: observations in, that head's logits out."""

    def __init__(self, student: StudentNetwork) -> None:
        super().__init__()
        self.student = student
        self.head = 0

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.student(observations, self.head)


def logits_only(logits: torch.Tensor) -> tuple[torch.Tensor, None]:
    return logits, None


class StudentAgent(toolkit.NetworkAgent):
    """Plays any of the student's games, greedily, with the head of the game it is reset for
    (found by the game's spec, else by its name, or named with ``game=``)."""

    def __init__(self, student: StudentNetwork, meta: dict[str, Any], label: str,
                 device: torch.device, play_as: str = "") -> None:
        self.games = [str(game) for game in meta["games"]]
        self.names = [str(name) for name in meta["game_names"]]
        self.shapes = [tuple(int(x) for x in shape) for shape in meta["observation_shapes"]]
        self.counts = [int(n) for n in meta["num_actions"]]
        self.label, self.play_as = label, play_as
        super().__init__(HeadView(student), logits_only, None, device)  # type: ignore[arg-type]
        if play_as:
            self.head_for(None)

    def head_for(self, game: Game | None) -> int:
        """The index of the head that plays ``game`` (or the game named by ``game=``)."""
        wanted = [self.play_as] if self.play_as else [game.spec, game.name] if game else []
        for key in wanted:
            for known in (self.games, self.names):
                if key and known.count(key) == 1:
                    return known.index(key)
        if self.play_as:
            try:
                canonical = get_manager().registry.canonical("game", self.play_as)
            except GamepitError:
                canonical = ""
            if canonical in self.games:
                return self.games.index(canonical)
        named = self.play_as or (game.spec or game.name if game else "")
        raise GamepitError(f"{self.label} does not play {named}; its games: "
                           f"{', '.join(self.games)}")

    def check_fit(self, game: Game) -> None:
        head = self.head_for(game)
        toolkit.TrainedOn(self.label, self.games[head], self.shapes[head],
                          self.counts[head]).check_fit(game)

    def reset(self, game: Game, player: int, seed: int | None = None) -> None:
        self.network.head = self.head_for(game)
        super().reset(game, player, seed)


def resolve_checkpoint(checkpoint: str) -> Path:
    """``builtin:minatar`` is the student shipped in ``checkpoints/``; else a path."""
    return toolkit.resolve_checkpoint(checkpoint, ALGORITHM, BUILTIN_DIR)


def make_agent(checkpoint: str = "", device: str = "cpu", game: str = "") -> StudentAgent:
    """``actor_mimic:checkpoint=PATH``: the student, greedy over legal actions, with the head of
    the game it plays."""
    path = resolve_checkpoint(checkpoint) if checkpoint else ""
    meta = toolkit.load_trained(ALGORITHM, path)
    with toolkit.checkpoint_contents(path):
        student = build_network(meta)
        toolkit.load_state(student, meta["network"], f"checkpoint {path}: network")
        target = toolkit.select_device(device)
        return StudentAgent(student.to(target).eval(), meta,
                            f"{ALGORITHM} checkpoint {checkpoint}", target, game)


class Learner:
    """The ``actor_mimic`` learner entry: the train command merges its ``Args`` (defaults, the YAML
    file, ``--set``) and calls ``train`` with them."""

    Args = ActorMimicArgs
    train = staticmethod(train)
