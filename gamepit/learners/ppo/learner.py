"""PPO (Schulman et al. 2017) as in "The 37 implementation details of PPO": a shared actor-critic
(Nature CNN on Atari), GAE(lambda), the clipped surrogate, value clipping, an entropy bonus,
advantage normalisation, learning-rate annealing and minibatch epochs over many environments.
Reads top to bottom like a CleanRL script: arguments, environments (including self-play),
network, rollouts and the loss, the training loop, the agent.

On a two-player game PPO trains by self-play: each environment is a game State in which the
learner takes a random seat and its opponent is drawn from a pool of the learner's past selves,
so the policy keeps beating who it used to be. Illegal actions are masked out of the policy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gamepit.errors import GamepitError
from gamepit.learners import toolkit
from gamepit.nets.atari import ActorCritic
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Game
from gamepit.training.settings import SEED_MAX, THREADS_MAX, setting

BUILTIN_DIR = Path(__file__).resolve().parent / "checkpoints"  # builtin:NAME


@dataclass
class PPOArgs:
    game: str = setting("", spec="game", required=True)
    """game spec: a one-player game, or a two-player game for self-play (--game, or game: in
    the config)"""
    seed: int = setting(1, low=0, high=SEED_MAX)
    """seed of the environments, the network and the sampling"""
    total_steps: int = setting(10_000_000, low=1)
    """environment steps to train for, summed over all environments: whole rollouts of
    num_envs * num_steps, so at least one and rounded down to a multiple"""
    num_envs: int = setting(8, low=1, high=1024)
    """environments stepped together"""
    num_steps: int = setting(128, low=1, high=1_000_000)
    """steps per environment in each rollout"""
    learning_rate: float = setting(2.5e-4, above=0)
    """Adam step size at the start"""
    anneal_lr: bool = True
    """decay the learning rate linearly to zero over the run"""
    gamma: float = setting(0.99, low=0, high=1)
    """discount factor"""
    gae_lambda: float = setting(0.95, low=0, high=1)
    """lambda of generalized advantage estimation"""
    num_minibatches: int = setting(4, low=1)
    """minibatches each rollout is split into"""
    update_epochs: int = setting(4, low=1)
    """passes over each rollout"""
    norm_adv: bool = True
    """normalise advantages within each minibatch"""
    clip_coef: float = setting(0.1, above=0)
    """surrogate clipping range"""
    clip_vloss: bool = True
    """clip the value loss around the rollout's values"""
    ent_coef: float = setting(0.01, low=0)
    """entropy bonus coefficient"""
    vf_coef: float = setting(0.5, low=0)
    """value loss coefficient"""
    max_grad_norm: float = setting(0.5, above=0)
    """gradient norm clip"""
    target_kl: float = setting(0.0, low=0)
    """stop the epochs of an update early past this approximate KL (0: never)"""
    clip_rewards: bool = False
    """train on the sign of the rewards (Atari); episodic returns stay unclipped"""
    hidden: int = setting(64, low=1, high=65_536)
    """units per hidden layer of the MLP torso (vector observations)"""
    pool_size: int = setting(8, low=1, high=1000)
    """self-play: past selves kept as opponents"""
    snapshot_every: int = setting(5, low=1)
    """self-play: updates between snapshots added to the pool"""
    latest_opponent: float = setting(0.5, low=0, high=1)
    """self-play: probability of facing the newest snapshot rather than a random older one"""
    init: str = ""
    """checkpoint whose trunk starts the network (an actor_mimic student's, or a dqn or ppo
    network's torso): transfer to a new game; the heads start fresh (ignored on resume)"""
    device: str = "auto"
    """auto, cpu or cuda"""
    threads: int = setting(1, low=1, high=THREADS_MAX)
    """torch CPU threads; one avoids spin-waiting on a shared CPU"""
    run_dir: str = ""
    """folder of checkpoints, metrics and replays (default runs/ppo_GAME_TIME)"""
    resume: bool = True
    """continue from RUN/checkpoint.pt when it exists"""
    checkpoint_every: int = setting(100_000, low=1)
    """environment steps between checkpoints"""
    eval_episodes: int = setting(5, low=0, high=100_000)
    """evaluation episodes (games against random on two-player games) at the end, as replays"""
    eval_max_steps: int = setting(5_000, low=0)
    """actions after which a one-player evaluation episode is cut and said so (0: only the
    game's own limit; Atari's is 27,000 actions, which an agent that never presses FIRE plays
    out)"""

    def validate(self) -> None:
        rollout = self.num_envs * self.num_steps
        if rollout % self.num_minibatches:
            raise ValueError("num_envs * num_steps must divide into num_minibatches")
        if self.total_steps < rollout:
            raise ValueError(f"total_steps={self.total_steps} is less than one rollout "
                             f"(num_envs * num_steps = {rollout}); lower num_steps or num_envs")


# --------------------------------------------------------------------------- self-play


def masked_logits(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    return torch.where(legal, logits, torch.full_like(logits, -1e8))


def legal_policy(logits: torch.Tensor, legal: torch.Tensor) -> torch.distributions.Categorical:
    """The policy over legal actions (argument validation off: it costs on every step)."""
    return torch.distributions.Categorical(logits=masked_logits(logits, legal),
                                           validate_args=False)


class OpponentPool:
    """Snapshots of the learner's network that play the other seat in self-play, drawn with
    ``rng``."""

    def __init__(self, network: torch.nn.Module, size: int, latest: float,
                 rng: np.random.Generator) -> None:
        self.size, self.latest, self.rng = size, latest, rng
        self.snapshots: list[torch.nn.Module] = []
        self.add(network)

    def add(self, network: torch.nn.Module) -> None:
        self.snapshots.append(copy.deepcopy(network).eval())
        if len(self.snapshots) > self.size:
            self.snapshots.pop(0)

    def draw(self, count: int) -> np.ndarray:
        newest = len(self.snapshots) - 1
        older = self.rng.integers(0, len(self.snapshots), count)
        return np.where(self.rng.random(count) < self.latest, newest, older)

    def state_dicts(self) -> list[dict[str, torch.Tensor]]:
        return [snapshot.state_dict() for snapshot in self.snapshots]

    def load(self, network: torch.nn.Module, state_dicts: list[dict[str, torch.Tensor]]) -> None:
        self.snapshots = []
        for state_dict in state_dicts:
            snapshot = copy.deepcopy(network).eval()
            toolkit.load_state(snapshot, state_dict, "a self-play snapshot")
            self.snapshots.append(snapshot)


class SelfPlayEnv:
    """``num_envs`` games of a two-player game, seen from the learner's seat, with the same
    step/reset face as a Gymnasium vector env (autoreset in the same step). The legal mask of
    each observation is in ``info["legal_mask"]``; the reward is the learner's return at the
    end of a game. The learner's seat in each new game is drawn with ``rng``."""

    def __init__(self, game: Game, num_envs: int, pool: OpponentPool, device: torch.device,
                 rng: np.random.Generator) -> None:
        if game.num_players != 2 or not game.capabilities.state:
            raise GamepitError(f"{game.name}: self-play needs a two-player game with a state")
        self.game, self.num_envs, self.pool, self.device = game, num_envs, pool, device
        self.rng = rng
        self.seed = 0
        self.states: list[Any] = [None] * num_envs
        self.seats = np.zeros(num_envs, dtype=np.int64)
        self.opponents = np.zeros(num_envs, dtype=np.int64)

    def _new_game(self, index: int) -> None:
        self.states[index] = self.game.new_state(self.seed)
        self.seed += 1
        self.seats[index] = self.rng.integers(2)
        self.opponents[index] = self.pool.draw(1)[0]

    @torch.no_grad()
    def _opponents_move(self, indices: list[int]) -> None:
        """Opponents move (sampling from their policies) until it is the learner's turn."""
        while True:
            waiting = [i for i in indices if not self.states[i].is_terminal()
                       and self.states[i].current_player != self.seats[i]]
            if not waiting:
                return
            for snapshot_index in np.unique(self.opponents[waiting]):
                group = [i for i in waiting if self.opponents[i] == snapshot_index]
                states = [self.states[i] for i in group]
                observations = torch.as_tensor(np.stack(
                    [s.observation(s.current_player) for s in states]), device=self.device)
                legal = torch.as_tensor(np.stack([s.legal_mask() for s in states]),
                                        device=self.device)
                logits, _ = self.pool.snapshots[snapshot_index](observations)
                actions = legal_policy(logits, legal).sample().tolist()
                for state, action in zip(states, actions, strict=True):
                    state.apply(int(action))

    def _observe(self) -> tuple[np.ndarray, np.ndarray]:
        observations = np.stack([s.observation(int(seat))
                                 for s, seat in zip(self.states, self.seats, strict=True)])
        return observations, np.stack([s.legal_mask() for s in self.states])

    def reset(self, seed: int | None = None) -> tuple[np.ndarray, dict]:
        self.seed = seed or 0
        for index in range(self.num_envs):
            self._new_game(index)
        self._opponents_move(list(range(self.num_envs)))
        observations, legal = self._observe()
        return observations, {"legal_mask": legal}

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                 np.ndarray, dict]:
        for state, action in zip(self.states, actions, strict=True):
            state.apply(int(action))
        self._opponents_move(list(range(self.num_envs)))
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        finals = [None] * self.num_envs
        for index, state in enumerate(self.states):
            if state.is_terminal():
                rewards[index] = state.returns()[self.seats[index]]
                terminated[index] = True
                finals[index] = state.observation(int(self.seats[index]))
                self._new_game(index)
        if terminated.any():
            self._opponents_move(np.flatnonzero(terminated).tolist())
        observations, legal = self._observe()
        info = {"legal_mask": legal, "final_obs": finals}
        return observations, rewards, terminated, np.zeros(self.num_envs, dtype=bool), info

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- rollouts and loss


def legal_masks(info: dict, num_envs: int, num_actions: int) -> np.ndarray:
    """Legal masks from an env's info; every action is legal where the env gives none."""
    masks = info.get("legal_mask")
    if masks is None:
        return np.ones((num_envs, num_actions), dtype=bool)
    return np.stack([np.asarray(m, dtype=bool) for m in masks])


def compute_gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor,
                next_value: torch.Tensor, gamma: float, gae_lambda: float
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages and returns; ``dones[t]`` means the episode ended with the step at ``t``."""
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        following = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        alive = 1.0 - dones[t]
        delta = rewards[t] + gamma * following * alive - values[t]
        last = delta + gamma * gae_lambda * alive * last
        advantages[t] = last
    return advantages, advantages + values


def ppo_loss(network: torch.nn.Module, batch: dict[str, torch.Tensor], args: PPOArgs
             ) -> tuple[torch.Tensor, dict[str, float]]:
    """Clipped surrogate + (clipped) value loss - entropy bonus, on one minibatch."""
    logits, values = network(batch["observations"])
    distribution = legal_policy(logits, batch["legal"])
    log_probs = distribution.log_prob(batch["actions"])
    log_ratio = log_probs - batch["log_probs"]
    ratio = log_ratio.exp()
    advantages = batch["advantages"]
    if args.norm_adv and len(advantages) > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    policy_loss = torch.max(-advantages * ratio,
                            -advantages * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                            ).mean()
    if args.clip_vloss:
        clipped = batch["values"] + (values - batch["values"]).clamp(-args.clip_coef,
                                                                      args.clip_coef)
        value_loss = 0.5 * torch.max((values - batch["returns"]) ** 2,
                                     (clipped - batch["returns"]) ** 2).mean()
    else:
        value_loss = 0.5 * ((values - batch["returns"]) ** 2).mean()
    entropy = distribution.entropy().mean()
    loss = policy_loss - args.ent_coef * entropy + args.vf_coef * value_loss
    with torch.no_grad():
        approx_kl = ((ratio - 1) - log_ratio).mean()
        clip_fraction = ((ratio - 1.0).abs() > args.clip_coef).float().mean()
    parts = {"losses/policy": policy_loss, "losses/value": value_loss, "losses/entropy": entropy,
             "losses/approx_kl": approx_kl, "losses/clip_fraction": clip_fraction}
    return loss, {key: float(value.detach()) for key, value in parts.items()}


def build_network(meta: dict[str, Any]) -> ActorCritic:
    return ActorCritic(tuple(meta["observation_shape"]), int(meta["num_actions"]),
                       hidden=int(meta["args"]["hidden"]))


# --------------------------------------------------------------------------- training


def train(args: PPOArgs, manager: PluginManager | None = None) -> str:
    """Train; returns the spec of an agent that plays from the final checkpoint."""
    batch_size = args.num_envs * args.num_steps
    num_updates = args.total_steps // batch_size  # whole rollouts; validate() ensures one
    if num_updates * batch_size != args.total_steps:
        print(f"ppo: total_steps={args.total_steps} is not a whole number of rollouts of "
              f"{batch_size} steps; training {num_updates * batch_size}", flush=True)
    run = toolkit.start_run("ppo", args, manager, total_steps=num_updates * batch_size)
    game, device = run.game, run.device
    self_play = game.num_players == 2
    if self_play:
        observation_shape, num_actions = tuple(game.observation_shape), game.num_actions
    else:
        envs = toolkit.make_vector_env(game, args.num_envs, args.seed)
        observation_shape = tuple(envs.single_observation_space.shape)
        num_actions = int(envs.single_action_space.n)
    meta = toolkit.run_meta(run, args, observation_shape, num_actions)
    network = build_network(meta).to(device)
    if args.init and run.resumed is None:
        toolkit.load_trunk(network.torso, args.init, game)
    optimizer = toolkit.adam(network.parameters(), args.learning_rate, eps=1e-5)
    pool = (OpponentPool(network, args.pool_size, args.latest_opponent, run.rng)
            if self_play else None)
    global_step = toolkit.resume(run, {"network": network, "optimizer": optimizer})
    update = 0
    with toolkit.checkpoint_contents(run.checkpoint):
        if run.resumed is not None:
            update = int(run.resumed["update"])
        if pool is not None and run.resumed is not None:
            pool.load(network, run.resumed["pool"])
    if pool is not None:
        envs = SelfPlayEnv(game, args.num_envs, pool, device, run.rng)

    observations, info = envs.reset(seed=args.seed + global_step)
    legal = legal_masks(info, args.num_envs, num_actions)
    shape = (args.num_steps, args.num_envs)
    observations_buffer = torch.zeros(shape + observation_shape, device=device,
                                      dtype=torch.as_tensor(observations).dtype)
    legal_buffer = torch.ones(shape + (num_actions,), dtype=torch.bool, device=device)
    actions_buffer = torch.zeros(shape, dtype=torch.long, device=device)
    log_probs_buffer = torch.zeros(shape, device=device)
    rewards_buffer = torch.zeros(shape, device=device)
    dones_buffer = torch.zeros(shape, device=device)
    values_buffer = torch.zeros(shape, device=device)

    stats = toolkit.EpisodeStats(args.num_envs)
    next_checkpoint = global_step + args.checkpoint_every

    def save() -> None:
        pool_part = {"pool": pool.state_dicts()} if pool is not None else {}
        toolkit.save(run, global_step, {**meta, "update": update, "network": network,
                                        "optimizer": optimizer, **pool_part})

    while update < num_updates:
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = args.learning_rate * (1.0 - update / num_updates)
        for step in range(args.num_steps):
            observation_tensor = torch.as_tensor(observations, device=device)
            legal_tensor = torch.as_tensor(legal, device=device)
            with torch.no_grad():
                logits, values = network(observation_tensor)
                distribution = legal_policy(logits, legal_tensor)
                actions = distribution.sample()
            observations_buffer[step] = observation_tensor
            legal_buffer[step] = legal_tensor
            actions_buffer[step] = actions
            log_probs_buffer[step] = distribution.log_prob(actions)
            values_buffer[step] = values
            observations, rewards, terminated, truncated, info = envs.step(
                actions.cpu().numpy())
            done = terminated | truncated
            stats.update(rewards, done)
            legal = legal_masks(info, args.num_envs, num_actions)
            train_rewards = np.sign(rewards) if args.clip_rewards else rewards.astype(np.float32)
            if truncated.any():  # a cut episode is not a loss: bootstrap from its last state
                cut = np.flatnonzero(truncated & ~terminated)
                finals = np.stack([np.asarray(info["final_obs"][i]) for i in cut])
                with torch.no_grad():
                    _, final_values = network(torch.as_tensor(finals, device=device))
                train_rewards = train_rewards.copy()
                train_rewards[cut] += args.gamma * final_values.cpu().numpy()
            rewards_buffer[step] = torch.as_tensor(train_rewards, device=device)
            dones_buffer[step] = torch.as_tensor(done, dtype=torch.float32, device=device)
            global_step += args.num_envs

        with torch.no_grad():
            _, next_value = network(torch.as_tensor(observations, device=device))
        advantages, returns = compute_gae(rewards_buffer, values_buffer, dones_buffer,
                                          next_value, args.gamma, args.gae_lambda)
        flat = {"observations": observations_buffer.reshape((-1,) + observation_shape),
                "legal": legal_buffer.reshape(-1, num_actions),
                "actions": actions_buffer.reshape(-1), "log_probs": log_probs_buffer.reshape(-1),
                "advantages": advantages.reshape(-1), "returns": returns.reshape(-1),
                "values": values_buffer.reshape(-1)}
        minibatch = batch_size // args.num_minibatches
        losses: dict[str, list[float]] = {}
        for _ in range(args.update_epochs):
            order = torch.randperm(batch_size, device=device)
            for start in range(0, batch_size, minibatch):
                picked = order[start:start + minibatch]
                loss, parts = ppo_loss(network, {k: v[picked] for k, v in flat.items()}, args)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(network.parameters(), args.max_grad_norm)
                optimizer.step()
                for key, value in parts.items():
                    losses.setdefault(key, []).append(value)
            if args.target_kl > 0 and np.mean(losses["losses/approx_kl"]) > args.target_kl:
                break
        update += 1
        if pool is not None and update % args.snapshot_every == 0:
            pool.add(network)
        variance = float(returns.var())
        explained = np.nan if variance == 0 else 1 - float((returns - values_buffer).var()) \
            / variance
        run.reporter.metrics(global_step, {
            **stats.drain(), **{k: float(np.mean(v)) for k, v in losses.items()},
            "losses/explained_variance": explained,
            "train/learning_rate": optimizer.param_groups[0]["lr"]})
        if global_step >= next_checkpoint:
            next_checkpoint += args.checkpoint_every
            save()
    envs.close()
    save()
    spec = f"ppo:checkpoint={run.checkpoint}"
    if args.eval_episodes:
        toolkit.evaluate(run, make_agent(str(run.checkpoint), str(device)), spec,
                         args.eval_episodes, global_step,
                         max_steps=args.eval_max_steps)
    return spec


# --------------------------------------------------------------------------- playing


def policy_scores(output: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor,
                                                                      torch.Tensor]:
    """The actor-critic's logits as the action scores, its value as the value."""
    return output


def make_agent(checkpoint: str = "", device: str = "cpu", sample: bool = False
               ) -> toolkit.NetworkAgent:
    """``ppo:checkpoint=PATH|builtin:NAME``: the policy's most likely legal action, or a sample
    of it (``builtin:minatar_GAME``: the MinAtar experts shipped in ``checkpoints/``)."""
    return toolkit.checkpoint_agent("ppo", checkpoint, build_network, policy_scores, device,
                                    sample, BUILTIN_DIR)


class Learner:
    """The ``ppo`` learner entry: the train command merges its ``Args`` (defaults, the YAML
    file, ``--set``) and calls ``train`` with them."""

    Args = PPOArgs
    train = staticmethod(train)
