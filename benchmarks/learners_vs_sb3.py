"""Training throughput and early return of gamepit's PPO and DQN against Stable-Baselines3, side
by side on Atari Breakout with the same hyper-parameters and the same number of environment
steps.

    pip install stable-baselines3      # the peer, for this benchmark only
    python benchmarks/learners_vs_sb3.py                 # both algorithms, short budgets
    python benchmarks/learners_vs_sb3.py --algorithms ppo --ppo-steps 65536 --threads 2
    python benchmarks/learners_vs_sb3.py --profile ppo   # where gamepit's time goes (no SB3)

Both sides use Nature-DQN preprocessing without sticky actions or episodic life (SB3:
``BreakoutNoFrameskip-v4`` under ``AtariWrapper`` and ``VecFrameStack``; gamepit:
``atari:breakout,sticky=0,episodic_life=false`` through ale-py's ``AtariVectorEnv``), rewards
clipped to their sign for training, the Nature CNN, and the same torch thread count. "return"
is the mean unclipped score of the games finished during training (a full game of Breakout;
few finish in a short budget, so read it as a sanity check, not as learning quality). Steps
per second count environment steps over the whole ``learn``/``train`` call, setup included.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from typing import Any

import numpy as np
import torch

# This script's folder is on the path when it runs.
from clock import clocked, load  # a sibling script, not a package

from gamepit.plugins import hookimpl
from gamepit.plugins.manager import PluginManager

GAME = "breakout"


class EpisodeCollector:
    """A plugin on the metrics hook: every finished episode's return, weighted by count."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    @hookimpl
    def gamepit_train_metrics(self, run: str, step: int, metrics: dict[str, Any]) -> None:
        if "episode/return" in metrics:
            self.total += metrics["episode/return"] * metrics["episode/count"]
            self.count += int(metrics["episode/count"])

    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")


def run_gamepit(algorithm: str, steps: int, threads: int, seed: int
                ) -> tuple[float, float, float, int]:
    manager = PluginManager(autoload=False)
    collector = EpisodeCollector()
    manager.register(collector, name="benchmark-episodes")
    folder = tempfile.mkdtemp(prefix=f"bench_{algorithm}_")
    game = f"atari:{GAME},sticky=0,episodic_life=false"
    try:
        with clocked() as clock:
            if algorithm == "ppo":
                from gamepit.learners.ppo.learner import PPOArgs, train

                train(PPOArgs(game=game, total_steps=steps, num_envs=8, num_steps=128,
                              learning_rate=2.5e-4, anneal_lr=True, num_minibatches=4,
                              update_epochs=4, clip_coef=0.1, clip_vloss=True, ent_coef=0.01,
                              vf_coef=0.5, max_grad_norm=0.5, clip_rewards=True, seed=seed,
                              threads=threads, device="cpu", run_dir=folder, eval_episodes=0,
                              checkpoint_every=10**9), manager)
            else:
                from gamepit.learners.dqn.learner import DQNArgs, train

                train(DQNArgs(game=game, **dqn_settings(steps), double_dqn=False, n_step=1,
                              clip_rewards=True, seed=seed, threads=threads, device="cpu",
                              run_dir=folder, eval_episodes=0, checkpoint_every=10**9,
                              log_every=1000), manager)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return steps / clock.wall, steps / clock.cpu, collector.mean(), collector.count


def dqn_settings(steps: int) -> dict[str, Any]:
    """CleanRL/SB3 Atari DQN settings, with the buffer and warm-up scaled to a short run."""
    return dict(total_steps=steps, buffer_size=min(100_000, steps), learning_rate=1e-4,
                batch_size=32, learning_starts=steps // 2, train_frequency=4,
                gradient_steps=1, target_update_interval=1000, exploration_fraction=0.1,
                start_epsilon=1.0, end_epsilon=0.01, gamma=0.99, max_grad_norm=10.0)


def run_sb3(algorithm: str, steps: int, threads: int, seed: int
            ) -> tuple[float, float, float, int]:
    import ale_py
    import gymnasium as gym
    from stable_baselines3 import DQN, PPO
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    gym.register_envs(ale_py)
    torch.set_num_threads(threads)
    with clocked() as clock:
        envs = VecFrameStack(make_atari_env(f"{GAME.capitalize()}NoFrameskip-v4",
                                            n_envs=8 if algorithm == "ppo" else 1, seed=seed,
                                            wrapper_kwargs={"terminal_on_life_loss": False}), 4)
        if algorithm == "ppo":
            model: Any = PPO("CnnPolicy", envs, n_steps=128, batch_size=256, n_epochs=4,
                             learning_rate=lambda remaining: 2.5e-4 * remaining, gamma=0.99,
                             gae_lambda=0.95, clip_range=0.1, clip_range_vf=0.1, ent_coef=0.01,
                             vf_coef=0.5, max_grad_norm=0.5, seed=seed, device="cpu", verbose=0)
        else:
            settings = dqn_settings(steps)
            model = DQN("CnnPolicy", envs, buffer_size=settings["buffer_size"],
                        learning_rate=1e-4, batch_size=32,
                        learning_starts=settings["learning_starts"], train_freq=4,
                        gradient_steps=1, target_update_interval=1000, exploration_fraction=0.1,
                        exploration_initial_eps=1.0, exploration_final_eps=0.01, gamma=0.99,
                        max_grad_norm=10.0, seed=seed, device="cpu", verbose=0)
        model.learn(total_timesteps=steps)
    episodes = [info["r"] for info in model.ep_info_buffer]
    envs.close()
    return (steps / clock.wall, steps / clock.cpu,
            float(np.mean(episodes)) if episodes else float("nan"), len(episodes))


# What a profile's rows are, by the function's name: torch's own compute (the network's
# forward and backward and the optimizer, the same ops SB3 runs), ale-py's emulator threads, and
# everything else (Python: the learner's loop, data conversion, bookkeeping).
TORCH = ("run_backward", "conv2d", "linear", "relu", "_fused_adam", "_foreach", "addmm",
         "logsumexp", "clip_grad_norm")
EMULATOR = ("vector_env.py",)


def profile(algorithm: str, steps: int, threads: int, seed: int) -> None:
    """cProfile one gamepit run and split its time into torch compute, the emulator and the
    rest; the rest is all a faster learner loop could save (Amdahl's bound)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run_gamepit, algorithm, steps, threads, seed)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())  # own times add up to the whole
    parts = {"torch compute": 0.0, "ale-py emulator": 0.0}
    for (filename, _, name), entry in stats.items():
        if any(key in name for key in TORCH):
            parts["torch compute"] += entry[2]
        elif any(key in filename for key in EMULATOR):
            parts["ale-py emulator"] += entry[2]
    parts["everything else"] = total - sum(parts.values())
    print(f"\ngamepit {algorithm}, Breakout, {steps} steps, {threads} torch thread(s), "
          f"{load()}; cProfile's own time per function, {total:.1f} s in all")
    for name, seconds in parts.items():
        print(f"{name:<18} {seconds:>8.1f} s {seconds / total:>6.0%}")
    print(f"if everything else took no time: {total / (total - parts['everything else']):.2f}x"
          " the speed measured here")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithms", nargs="+", default=["ppo", "dqn"],
                        choices=["ppo", "dqn"])
    parser.add_argument("--ppo-steps", type=int, default=8192)
    parser.add_argument("--dqn-steps", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both sides")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=["ppo", "dqn"],
                        help="profile gamepit's run of this algorithm instead (no SB3 needed)")
    args = parser.parse_args()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # see below
    if args.profile:
        profile(args.profile, args.ppo_steps if args.profile == "ppo" else args.dqn_steps,
                args.threads, args.seed)
        return
    if importlib.util.find_spec("stable_baselines3") is None:
        sys.exit("learners_vs_sb3: the peer is Stable-Baselines3: pip install stable-baselines3")
    # Pay torch's one-time imports (Adam pulls in torch._dynamo: seconds) before either side
    # is timed, so whichever runs first is not charged for them.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    rows = []
    before = load()
    for algorithm in args.algorithms:
        steps = args.ppo_steps if algorithm == "ppo" else args.dqn_steps
        ours = run_gamepit(algorithm, steps, args.threads, args.seed)
        peer = run_sb3(algorithm, steps, args.threads, args.seed)
        rows.append((algorithm, steps, ours, peer))
    print(f"\nBreakout, {args.threads} torch thread(s), CPU; steps/s over the whole run; "
          f"{before} before, {load()} after\n")
    print(f"{'algo':<5} {'steps':>7} | {'gamepit st/s':>12} {'SB3 st/s':>9} {'ratio':>6} | "
          f"{'gamepit st/CPU-s':>16} {'SB3 st/CPU-s':>12} {'ratio':>6} | "
          f"{'gamepit return (games)':>23} {'SB3 return (games)':>19}")
    for algorithm, steps, ours, peer in rows:
        print(f"{algorithm:<5} {steps:>7} | {ours[0]:>12.1f} {peer[0]:>9.1f} "
              f"{ours[0] / peer[0]:>5.2f}x | {ours[1]:>16.1f} {peer[1]:>12.1f} "
              f"{ours[1] / peer[1]:>5.2f}x | {ours[2]:>15.2f} ({ours[3]:>4}) "
              f"{peer[2]:>11.2f} ({peer[3]:>4})")


if __name__ == "__main__":
    main()
