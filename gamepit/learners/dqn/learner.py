"""DQN (Mnih et al. 2015) with the Rainbow-era options that matter most on Atari: Double DQN,
n-step returns, prioritized replay and dueling heads. Reads top to bottom like a CleanRL
script: arguments, environments, replay buffer, network, the training loop, the agent.

The replay buffer stores every frame once (uint8 for Atari: 7 KB a frame, so a million
transitions fit in about 7 GB) and rebuilds the frame stacks when it samples. Each environment
has its own ring, so an episode's frames are contiguous; an episode starts by writing the older
frames of its first stack as padding, so a stack never reaches into the previous episode.
Observations that are not stacked frames (CartPole's vector, board planes) are one "frame" each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gamepit.learners import toolkit
from gamepit.nets.atari import NATURE_MIN_SIZE, QNetwork
from gamepit.plugins.manager import PluginManager
from gamepit.training.settings import SEED_MAX, THREADS_MAX, setting

BUILTIN_DIR = Path(__file__).resolve().parent / "checkpoints"  # builtin:NAME


@dataclass
class DQNArgs:
    game: str = setting("", spec="game", required=True)
    """game spec to train on (any one-player game): --game, or game: in the config"""
    seed: int = setting(1, low=0, high=SEED_MAX)
    """seed of the environments, the network and exploration"""
    total_steps: int = setting(500_000, low=1)
    """environment steps to train for, summed over all environments"""
    num_envs: int = setting(1, low=1, high=1024)
    """environments stepped together"""
    buffer_size: int = setting(100_000, low=1, high=100_000_000)
    """transitions the replay buffer holds"""
    learning_rate: float = setting(1e-4, above=0)
    """Adam step size"""
    gamma: float = setting(0.99, low=0, high=1)
    """discount factor"""
    target_update_interval: int = setting(1000, low=1)
    """environment steps between copies of the online network into the target network"""
    tau: float = setting(1.0, above=0, high=1)
    """fraction of the online weights blended into the target at each update (1: copy)"""
    batch_size: int = setting(32, low=1, high=1_000_000)
    """transitions per gradient step"""
    start_epsilon: float = setting(1.0, low=0, high=1)
    """exploration rate at the start"""
    end_epsilon: float = setting(0.01, low=0, high=1)
    """exploration rate after the schedule"""
    exploration_fraction: float = setting(0.1, low=0, high=1)
    """fraction of total_steps over which epsilon falls linearly"""
    learning_starts: int = setting(80_000, low=0)
    """environment steps of random play before learning starts"""
    train_frequency: int = setting(4, low=1)
    """environment steps between gradient steps"""
    gradient_steps: int = setting(1, low=1)
    """gradient steps each time the network trains"""
    double_dqn: bool = True
    """choose the next action with the online network, value it with the target (van Hasselt)"""
    n_step: int = setting(1, low=1, high=1000)
    """rewards summed before bootstrapping (n-step returns)"""
    dueling: bool = False
    """dueling value and advantage heads"""
    prioritized: bool = False
    """prioritized replay (proportional, Schaul et al. 2016)"""
    priority_alpha: float = setting(0.6, low=0)
    """how strongly priorities skew sampling (0: uniform)"""
    priority_beta: float = setting(0.4, low=0, high=1)
    """importance-sampling correction at the start, annealed to 1 at the end"""
    clip_rewards: bool = False
    """train on the sign of the rewards (Atari); episodic returns stay unclipped"""
    max_grad_norm: float = setting(10.0, low=0)
    """gradient norm clip (0: none)"""
    hidden: int = setting(120, low=1, high=65_536)
    """units per hidden layer of the MLP torso (vector observations)"""
    init: str = ""
    """checkpoint whose trunk starts the network (an actor_mimic student's, or a dqn or ppo
    network's torso): transfer to a new game; the heads start fresh (ignored on resume)"""
    device: str = "auto"
    """auto, cpu or cuda"""
    threads: int = setting(1, low=1, high=THREADS_MAX)
    """torch CPU threads; one avoids spin-waiting on a shared CPU (torch's own default, all
    cores, ran a DQN on Atari 10x slower on a shared 2-core machine)"""
    run_dir: str = ""
    """folder of checkpoints, metrics and replays (default runs/dqn_GAME_TIME)"""
    resume: bool = True
    """continue from RUN/checkpoint.pt when it exists"""
    checkpoint_every: int = setting(50_000, low=1)
    """environment steps between checkpoints"""
    log_every: int = setting(1000, low=1)
    """environment steps between metric reports"""
    eval_episodes: int = setting(5, low=0, high=100_000)
    """evaluation episodes at the end, recorded as replays (0: none)"""
    eval_max_steps: int = setting(5_000, low=0)
    """actions after which an evaluation episode is cut and said so (0: only the game's own
    limit; Atari's is 27,000 actions, which an agent that never presses FIRE plays out)"""

    def validate(self) -> None:
        if self.buffer_size < 2 * self.num_envs * (self.n_step + 8):
            raise ValueError("buffer_size is too small for num_envs and n_step")


# --------------------------------------------------------------------------- replay buffer


class SumTree:
    """Priorities in a binary tree of sums: proportional sampling in O(log n) per draw."""

    def __init__(self, size: int) -> None:
        self.leaves = 1 << max(1, int(np.ceil(np.log2(size))))
        self.tree = np.zeros(2 * self.leaves)

    @property
    def total(self) -> float:
        return float(self.tree[1])

    def set(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        positions = np.asarray(indices) + self.leaves
        self.tree[positions] = priorities
        while positions[0] > 1:  # every leaf is at the same depth, so all reach the root together
            positions = np.unique(positions // 2)
            self.tree[positions] = self.tree[2 * positions] + self.tree[2 * positions + 1]

    def get(self, indices: np.ndarray) -> np.ndarray:
        return self.tree[np.asarray(indices) + self.leaves]

    def find(self, masses: np.ndarray) -> np.ndarray:
        """The leaf under each cumulative mass."""
        nodes = np.ones(len(masses), dtype=np.int64)
        masses = masses.copy()
        while nodes[0] < self.leaves:
            left = self.tree[2 * nodes]
            right = masses > left
            masses -= left * right
            nodes = 2 * nodes + right
        return nodes - self.leaves


class FrameReplayBuffer:
    """Transitions from ``num_envs`` environments, each frame stored once.

    Slot ``i`` of an environment's ring holds the newest frame of an observation and, once the
    step from it is taken, the action, reward and end flags of that step (``valid``). The
    observation at slot ``i`` is frames ``i-stack+1 .. i``; its successor after ``k`` steps is
    the observation at slot ``i+k``. Transitions are drawn with ``rng``.
    """

    def __init__(self, capacity: int, num_envs: int, frame_shape: tuple[int, ...], stack: int,
                 dtype: Any, rng: np.random.Generator, n_step: int = 1, gamma: float = 0.99,
                 prioritized: bool = False, alpha: float = 0.6) -> None:
        self.num_envs, self.stack, self.n_step, self.gamma = num_envs, stack, n_step, gamma
        self.rng = rng
        self.ring = capacity // num_envs
        shape = (num_envs, self.ring)
        self.frames = np.empty(shape + tuple(frame_shape), dtype=dtype)
        self.actions = np.zeros(shape, dtype=np.int64)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.terminated = np.zeros(shape, dtype=bool)
        self.truncated = np.zeros(shape, dtype=bool)
        self.valid = np.zeros(shape, dtype=bool)
        self.position = np.zeros(num_envs, dtype=np.int64)  # next slot to write
        self.written = np.zeros(num_envs, dtype=np.int64)  # slots ever written
        self.alpha = alpha
        self.tree = SumTree(num_envs * self.ring) if prioritized else None
        self.max_priority = 1.0

    def __len__(self) -> int:
        return int(self.valid.sum())

    def _newest(self, observations: np.ndarray) -> np.ndarray:
        return observations[:, -1] if self.stack > 1 else observations

    def _write(self, envs: np.ndarray, frames: np.ndarray) -> None:
        slots = self.position[envs]
        self.frames[envs, slots] = frames
        self.valid[envs, slots] = False
        if self.tree is not None:
            self.tree.set(envs * self.ring + slots, np.zeros(len(envs)))
        self.position[envs] = (slots + 1) % self.ring
        self.written[envs] += 1

    def start_episodes(self, envs: np.ndarray, observations: np.ndarray) -> None:
        """Begin episodes: the first stack's older frames are written as padding."""
        envs = np.asarray(envs, dtype=np.int64)
        if self.stack > 1:
            for offset in range(self.stack - 1):
                self._write(envs, observations[:, offset])
        self._write(envs, self._newest(observations))

    def add(self, actions: np.ndarray, rewards: np.ndarray, terminated: np.ndarray,
            truncated: np.ndarray, real_next: np.ndarray, next_obs: np.ndarray) -> None:
        """Record one step of every environment. ``real_next`` holds the final observation
        where an episode ended, ``next_obs`` the first observation of the next one."""
        envs = np.arange(self.num_envs)
        slots = (self.position - 1) % self.ring
        self.actions[envs, slots] = actions
        self.rewards[envs, slots] = rewards
        self.terminated[envs, slots] = terminated
        self.truncated[envs, slots] = truncated
        self.valid[envs, slots] = True
        if self.tree is not None:
            self.tree.set(envs * self.ring + slots,
                          np.full(self.num_envs, self.max_priority ** self.alpha))
        self._write(envs, self._newest(real_next))
        done = np.flatnonzero(terminated | truncated)
        if len(done):
            self.start_episodes(done, next_obs[done])

    def _usable(self, envs: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """A transition can be sampled when its n-step successor is written and none of its
        stack has been overwritten."""
        age = (self.position[envs] - 1 - slots) % self.ring  # 0: the newest slot
        wrapped = self.written[envs] >= self.ring
        return (self.valid[envs, slots] & (age >= self.n_step)
                & (~wrapped | (age <= self.ring - self.stack)))

    def _draw(self, count: int, beta: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.tree is None:
            filled = np.minimum(self.written, self.ring)
            envs = self.rng.integers(0, self.num_envs, count)
            slots = (self.rng.random(count) * filled[envs]).astype(np.int64)
            return envs, slots, np.ones(count, dtype=np.float32)
        total = self.tree.total
        masses = (np.arange(count) + self.rng.random(count)) * (total / count)
        leaves = np.minimum(self.tree.find(np.minimum(masses, total * (1 - 1e-9))),
                            self.num_envs * self.ring - 1)
        probabilities = self.tree.get(leaves) / total
        weights = (len(self) * np.maximum(probabilities, 1e-12)) ** -beta
        return leaves // self.ring, leaves % self.ring, weights.astype(np.float32)

    def _stack(self, envs: np.ndarray, slots: np.ndarray) -> np.ndarray:
        if self.stack == 1:
            return self.frames[envs, slots]
        offsets = np.arange(-self.stack + 1, 1)
        return self.frames[envs[:, None], (slots[:, None] + offsets) % self.ring]

    def sample(self, batch_size: int, beta: float = 0.4) -> dict[str, np.ndarray]:
        """A batch of n-step transitions, stacks rebuilt; ``discounts`` is gamma^k, or 0 where
        the episode terminated within the k steps (a truncated one still bootstraps)."""
        envs, slots, weights = self._draw(batch_size, beta)
        for _ in range(1000):  # redraw the few unusable picks (too new, stack overwritten)
            bad = np.flatnonzero(~self._usable(envs, slots))
            if not len(bad):
                break
            envs[bad], slots[bad], weights[bad] = self._draw(len(bad), beta)
        else:
            raise RuntimeError("replay buffer has no usable transitions yet")
        steps = (slots[:, None] + np.arange(self.n_step)) % self.ring
        rewards = self.rewards[envs[:, None], steps]
        ended = self.terminated[envs[:, None], steps] | self.truncated[envs[:, None], steps]
        included = (np.cumsum(ended, axis=1) - ended) == 0  # steps up to the first end
        discounts = self.gamma ** np.arange(self.n_step)
        returns = (rewards * discounts * included).sum(axis=1)
        taken = included.sum(axis=1)
        terminal = (self.terminated[envs[:, None], steps] & included).any(axis=1)
        return {
            "observations": self._stack(envs, slots),
            "actions": self.actions[envs, slots],
            "returns": returns.astype(np.float32),
            "next_observations": self._stack(envs, (slots + taken) % self.ring),
            "discounts": np.where(terminal, 0.0, self.gamma ** taken).astype(np.float32),
            "weights": (weights / weights.max()).astype(np.float32),
            "indices": envs * self.ring + slots,
        }

    def update_priorities(self, indices: np.ndarray, errors: np.ndarray) -> None:
        if self.tree is None:
            return
        priorities = np.abs(errors) + 1e-6
        self.max_priority = max(self.max_priority, float(priorities.max()))
        self.tree.set(indices, priorities ** self.alpha)


def frame_layout(observation_shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """(frame shape, frames per observation): stacked image frames are split, anything else
    (vectors, board planes) is one frame."""
    if len(observation_shape) == 3 and min(observation_shape[1:]) >= NATURE_MIN_SIZE:
        return tuple(observation_shape[1:]), observation_shape[0]
    return tuple(observation_shape), 1


# --------------------------------------------------------------------------- training


def linear_schedule(start: float, end: float, duration: float, step: int) -> float:
    return end + (start - end) * max(0.0, 1.0 - step / max(duration, 1.0))


def td_loss(q_network: torch.nn.Module, target_network: torch.nn.Module,
            batch: dict[str, torch.Tensor], double_dqn: bool
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Huber loss on n-step TD errors, weighted by importance; returns (loss, td errors,
    mean Q of the actions taken)."""
    with torch.no_grad():
        next_values = target_network(batch["next_observations"])
        if double_dqn:
            choice = q_network(batch["next_observations"]).argmax(dim=1, keepdim=True)
        else:
            choice = next_values.argmax(dim=1, keepdim=True)
        target = batch["returns"] + batch["discounts"] * next_values.gather(1, choice).squeeze(1)
    taken = q_network(batch["observations"]).gather(1, batch["actions"][:, None]).squeeze(1)
    losses = F.smooth_l1_loss(taken, target, reduction="none")
    return (batch["weights"] * losses).mean(), (target - taken).detach(), taken.detach().mean()


def build_network(meta: dict[str, Any]) -> QNetwork:
    """The Q-network a checkpoint describes (shapes and options are stored in it)."""
    args = meta["args"]
    return QNetwork(tuple(meta["observation_shape"]), int(meta["num_actions"]),
                    dueling=bool(args["dueling"]), hidden=int(args["hidden"]))


def train(args: DQNArgs, manager: PluginManager | None = None) -> str:
    """Train; returns the spec of an agent that plays from the final checkpoint."""
    run = toolkit.start_run("dqn", args, manager, total_steps=args.total_steps)
    device, rng = run.device, run.rng
    envs = toolkit.make_vector_env(run.game, args.num_envs, args.seed)
    observation_shape = tuple(envs.single_observation_space.shape)
    num_actions = int(envs.single_action_space.n)
    meta = toolkit.run_meta(run, args, observation_shape, num_actions)
    q_network = build_network(meta).to(device)
    if args.init and run.resumed is None:
        toolkit.load_trunk(q_network.torso, args.init, run.game)
    target_network = build_network(meta).to(device)
    target_network.load_state_dict(q_network.state_dict())
    optimizer = toolkit.adam(q_network.parameters(), args.learning_rate)
    frame_shape, stack = frame_layout(observation_shape)
    buffer = FrameReplayBuffer(args.buffer_size, args.num_envs, frame_shape, stack,
                               envs.single_observation_space.dtype, rng, args.n_step,
                               args.gamma, args.prioritized, args.priority_alpha)
    global_step = toolkit.resume(run, {"network": q_network, "target_network": target_network,
                                       "optimizer": optimizer})
    learning_starts = args.learning_starts
    if run.resumed is not None:
        # The buffer is not checkpointed (gigabytes on Atari): refill it before learning again.
        learning_starts = global_step + min(args.learning_starts, args.buffer_size // 2)

    stats = toolkit.EpisodeStats(args.num_envs)
    observations, _ = envs.reset(seed=args.seed + global_step)
    buffer.start_episodes(np.arange(args.num_envs), observations)
    exploration_steps = args.exploration_fraction * args.total_steps
    iteration, losses, q_values = 0, [], []
    next_log = global_step + args.log_every
    next_checkpoint = global_step + args.checkpoint_every
    next_target = global_step + args.target_update_interval

    def save() -> None:
        toolkit.save(run, global_step, {**meta, "network": q_network,
                                        "target_network": target_network,
                                        "optimizer": optimizer})

    while global_step < args.total_steps:
        epsilon = linear_schedule(args.start_epsilon, args.end_epsilon, exploration_steps,
                                  global_step)
        if global_step < args.learning_starts:  # a resumed run refills epsilon-greedily
            actions = rng.integers(0, num_actions, args.num_envs)
        else:
            with torch.no_grad():
                values = q_network(torch.as_tensor(observations, device=device))
            actions = values.argmax(dim=1).cpu().numpy()
            explore = rng.random(args.num_envs) < epsilon
            actions[explore] = rng.integers(0, num_actions, int(explore.sum()))
        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        done = terminated | truncated
        stats.update(rewards, done)
        real_next = toolkit.final_observations(next_obs, done, info)
        train_rewards = np.sign(rewards) if args.clip_rewards else rewards
        buffer.add(actions, train_rewards, terminated, truncated, real_next, next_obs)
        observations = next_obs
        global_step += args.num_envs
        iteration += 1

        if global_step > learning_starts and iteration % args.train_frequency == 0:
            beta = linear_schedule(1.0, args.priority_beta, args.total_steps,
                                   args.total_steps - global_step)
            for _ in range(args.gradient_steps):
                sample = buffer.sample(args.batch_size, beta)
                indices = sample.pop("indices")
                batch = {key: torch.as_tensor(value, device=device)
                         for key, value in sample.items()}
                loss, errors, q_mean = td_loss(q_network, target_network, batch,
                                               args.double_dqn)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if args.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(q_network.parameters(), args.max_grad_norm)
                optimizer.step()
                buffer.update_priorities(indices, errors.cpu().numpy())
                losses.append(float(loss.detach()))
                q_values.append(float(q_mean))
        if global_step >= next_target:
            next_target += args.target_update_interval
            with torch.no_grad():
                for target, online in zip(target_network.parameters(), q_network.parameters(),
                                          strict=True):
                    target.mul_(1.0 - args.tau).add_(online, alpha=args.tau)
        if global_step >= next_log:
            next_log += args.log_every
            metrics = {**stats.drain(), "train/epsilon": epsilon}
            if losses:
                metrics.update({"losses/td_loss": float(np.mean(losses)),
                                "losses/q_values": float(np.mean(q_values))})
                losses.clear()
                q_values.clear()
            run.reporter.metrics(global_step, metrics)
        if global_step >= next_checkpoint:
            next_checkpoint += args.checkpoint_every
            save()
    envs.close()
    save()
    spec = f"dqn:checkpoint={run.checkpoint}"
    if args.eval_episodes:
        toolkit.evaluate(run, make_agent(str(run.checkpoint), str(device)), spec,
                         args.eval_episodes, global_step,
                         max_steps=args.eval_max_steps)
    return spec


# --------------------------------------------------------------------------- playing


def greedy_scores(q_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Q-values as the action scores, the best of them as the value."""
    return q_values, q_values.max(dim=1).values


def make_agent(checkpoint: str = "", device: str = "cpu") -> toolkit.NetworkAgent:
    """``dqn:checkpoint=PATH|builtin:NAME``: acts greedily on the Q-values among legal
    actions."""
    return toolkit.checkpoint_agent("dqn", checkpoint, build_network, greedy_scores, device,
                                    builtin_dir=BUILTIN_DIR)


class Learner:
    """The ``dqn`` learner entry: the train command merges its ``Args`` (defaults, the YAML
    file, ``--set``) and calls ``train`` with them."""

    Args = DQNArgs
    train = staticmethod(train)
