"""The learner toolkit: what every learner shares, one copy of each: device selection, the training
environments (a game's vector face, or Gymnasium environments stepped in lock-step), episode
statistics, metrics, atomic checkpoints, evaluation episodes recorded as replays, and the agent
that plays from a checkpoint.

Checkpoints are plain ``torch.save`` dictionaries of tensors, numbers and strings, loaded with
``weights_only=True``: no code is ever unpickled. They are written to a temporary file in the
same folder and renamed, so a run killed mid-write keeps its previous checkpoint.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from gamepit.errors import GamepitError
from gamepit.faces import StateGymEnv
from gamepit.files import atomic_write
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import ActResult, Agent, Game, State

CHECKPOINT = "checkpoint.pt"


# --------------------------------------------------------------------------- device


def select_device(name: str) -> torch.device:
    """``auto`` is CUDA when there is a GPU, else the CPU; asking for a missing GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GamepitError("--device cuda: no CUDA GPU is available here (use auto or cpu)")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise GamepitError(f"--device {name}: expected auto, cpu or cuda")
    return torch.device(name)


def adam(parameters: Any, learning_rate: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over all parameters): on CPU its step is about 7x
    faster than the default per-tensor loop, which matters for the Nature CNN."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=learning_rate, eps=eps, fused=True)
    except (RuntimeError, TypeError):  # a device or dtype without the fused kernel
        return torch.optim.Adam(parameters, lr=learning_rate, eps=eps)


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- environments


def make_vector_env(game: Game, num_envs: int, seed: int) -> Any:
    """Training environments for a one-player game, auto-resetting in the same step (the
    final observation of an episode is in ``info["final_obs"]``).

    A game with a vector face (Atari's ``AtariVectorEnv``) provides its own; otherwise its
    Gymnasium environments (or its simulator state) are stepped in lock-step."""
    if game.num_players != 1:
        raise GamepitError(f"{game.spec or game.name} has {game.num_players} players; this "
                           "learner trains on one-player games (PPO has self-play for two)")
    if game.capabilities.vector:
        try:
            env = game.vector_env(num_envs, seed=seed, autoreset_mode="SameStep",
                                  reward_clipping=False)
        except TypeError:
            env = game.vector_env(num_envs, seed=seed)
        mode = str(getattr(env, "metadata", {}).get("autoreset_mode", "SameStep"))
        if "same" not in mode.lower():
            raise GamepitError(f"{game.name}: its vector face must support "
                               "autoreset_mode='SameStep' for training")
        return env
    if game.capabilities.gymnasium:
        factory: Callable[[], gym.Env] = game.gym_env
    elif game.capabilities.state:
        def factory() -> gym.Env:
            return StateGymEnv(game)
    else:
        raise GamepitError(f"{game.name} offers neither a vector, Gymnasium nor state face")
    return gym.vector.SyncVectorEnv([factory for _ in range(num_envs)],
                                    autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)


def final_observations(next_obs: np.ndarray, done: np.ndarray, info: dict) -> np.ndarray:
    """The true next observations: where an episode ended, its last observation rather than
    the first one of the next episode (which SAME_STEP autoreset returned)."""
    if not done.any():
        return next_obs
    real = next_obs.copy()
    finals = info["final_obs"]
    for index in np.flatnonzero(done):
        real[index] = np.asarray(finals[index])
    return real


class EpisodeStats:
    """Undiscounted returns and lengths of the episodes that finish in a batch of envs."""

    def __init__(self, num_envs: int) -> None:
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.finished_returns: list[float] = []
        self.finished_lengths: list[int] = []

    def update(self, rewards: np.ndarray, done: np.ndarray) -> None:
        self.returns += rewards
        self.lengths += 1
        for index in np.flatnonzero(done):
            self.finished_returns.append(float(self.returns[index]))
            self.finished_lengths.append(int(self.lengths[index]))
        self.returns[done] = 0.0
        self.lengths[done] = 0

    def drain(self) -> dict[str, float]:
        """Mean return and length of the episodes finished since the last call."""
        if not self.finished_returns:
            return {}
        metrics = {"episode/return": float(np.mean(self.finished_returns)),
                   "episode/length": float(np.mean(self.finished_lengths)),
                   "episode/count": float(len(self.finished_returns))}
        self.finished_returns.clear()
        self.finished_lengths.clear()
        return metrics


# --------------------------------------------------------------------------- metrics


class Reporter:
    """Sends metrics and checkpoint events through the hooks (TensorBoard, progress display
    and the run's ``metrics.jsonl`` are plugins on them) and times steps per second."""

    def __init__(self, run_dir: Path, manager: PluginManager | None, total_steps: int,
                 start_step: int = 0) -> None:
        self.run = str(run_dir)
        self.manager = manager or get_manager()
        self.total_steps = total_steps
        self.clock, self.clock_step = time.perf_counter(), start_step

    def metrics(self, step: int, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        if step > self.clock_step and now > self.clock:
            metrics = {**metrics, "speed/steps_per_second":
                       (step - self.clock_step) / (now - self.clock)}
            self.clock, self.clock_step = now, step
        metrics = {**metrics, "progress/total_steps": float(self.total_steps)}
        self.manager.notify("gamepit_train_metrics", run=self.run, step=step, metrics=metrics)

    def checkpoint(self, path: Path, step: int) -> None:
        self.manager.notify("gamepit_checkpoint_saved", run=self.run, path=str(path), step=step)


# --------------------------------------------------------------------------- checkpoints


def rng_states() -> dict[str, Any]:
    """Every random generator a learner draws from, as tensors and strings (weights-only safe)."""
    numpy_state = np.random.get_state()
    return {"torch": torch.get_rng_state(), "python": json.dumps(random.getstate()),
            "numpy": json.dumps([numpy_state[0], numpy_state[1].tolist(),
                                 *[int(x) if isinstance(x, (int, np.integer)) else float(x)
                                   for x in numpy_state[2:]]])}


def restore_rng_states(states: dict[str, Any]) -> None:
    torch.set_rng_state(states["torch"])
    python_state = json.loads(states["python"])
    random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
    name, keys, *rest = json.loads(states["numpy"])
    np.random.set_state((name, np.array(keys, dtype=np.uint32), *rest))


def save_checkpoint(path: Path, payload: dict[str, Any]) -> Path:
    """Write atomically (``gamepit.files.atomic_write``): a crash keeps the previous file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as partial:
        torch.save(payload, partial)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu"
                    ) -> dict[str, Any]:
    """Load a checkpoint with weights only; a missing or damaged file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise GamepitError(f"{path}: no such checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise GamepitError(f"{path}: not a readable gamepit checkpoint ({type(error).__name__}: "
                           f"{str(error).splitlines()[0][:120]})") from None


def resume_point(run_dir: Path, algorithm: str, resume: bool) -> dict[str, Any] | None:
    """The run's last checkpoint if it should be continued, else None."""
    path = run_dir / CHECKPOINT
    if not resume or not path.is_file():
        return None
    checkpoint = load_checkpoint(path)
    if checkpoint.get("algorithm") != algorithm:
        raise GamepitError(f"{path} was written by {checkpoint.get('algorithm')!r}, not "
                           f"{algorithm!r}; use another --run folder")
    return checkpoint


def default_run_dir(algorithm: str, game: Game) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in (game.spec or game.name))
    return Path("runs") / f"{algorithm}_{safe}_{stamp}"


# --------------------------------------------------------------------------- playing


class NetworkAgent(Agent):
    """Plays from a learner's network: greedily (or by sampling) over legal actions, observing
    ``state.observation(player)``. Built from a checkpoint for matches, or around a live
    network during training for evaluation. Acts in batches through one forward pass."""

    batched = True

    def __init__(self, network: torch.nn.Module, policy: Callable[[Any], tuple[Any, Any]],
                 device: torch.device | str = "cpu", sample: bool = False) -> None:
        self.network = network
        self.policy = policy  # network output -> (scores over actions, value or None)
        self.device = torch.device(device)
        self.sample = sample

    def act(self, state: State) -> ActResult:
        return self.act_batch([state])[0]

    @torch.no_grad()
    def act_batch(self, states: Sequence[State]) -> list[ActResult]:
        player = getattr(self, "player", 0)
        observations = np.stack([np.asarray(s.observation(
            s.current_player if s.current_player >= 0 else player)) for s in states])
        masks = torch.as_tensor(np.stack([s.legal_mask() for s in states]), device=self.device)
        scores, values = self.policy(self.network(torch.as_tensor(observations,
                                                                   device=self.device)))
        scores = scores.masked_fill(~masks, -1e9)
        if self.sample:
            generator = getattr(self, "rng", np.random.default_rng())
            probabilities = torch.softmax(scores, dim=1).cpu().numpy().astype(np.float64)
            actions = [int(generator.choice(len(p), p=p / p.sum())) for p in probabilities]
        else:
            actions = scores.argmax(dim=1).tolist()
        results: list[ActResult] = []
        for index, action in enumerate(actions):
            info: dict[str, Any] = {}
            if values is not None:
                info["value"] = round(float(values[index]), 4)
            results.append((int(action), info))
        return results


def play_evaluation(game: Game, agent: Agent, episodes: int, seed: int, replay_dir: str | None,
                    manager: PluginManager | None = None, opponent: str = "random"
                    ) -> dict[str, float]:
    """Evaluation episodes through the arena, recorded as replays. One-player games report the
    mean score over seeds ``seed..seed+episodes-1``; two-player games the score against
    ``opponent`` with seats alternating."""
    from gamepit.arena import play_match, play_series

    manager = manager or get_manager()
    spec = getattr(agent, "spec", "") or "learner"
    if game.num_players == 1:
        scores = [play_match(game, [agent], seed + i, [spec], replay_dir, None,
                             manager).returns[0] for i in range(episodes)]
        return {"eval/return": float(np.mean(scores)), "eval/return_std": float(np.std(scores))}
    other = manager.registry.make_agent(opponent)
    series = play_series(game, [agent, other], episodes, seed, [spec, opponent], replay_dir,
                         None, manager)
    mean, _, _ = series.score()
    return {f"eval/score_vs_{opponent}": mean, "eval/wins": float(series.wins),
            "eval/draws": float(series.draws), "eval/losses": float(series.losses)}
