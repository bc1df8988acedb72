"""Atari training throughput: gamepit's vector face against its peers, side by side.

Three ways to step ``--num-envs`` Atari games with the same options (the ``atari`` game's
defaults: frame skip 4 with max-pooling, 84x84 grayscale, 4-frame stack, up to 30 no-ops,
sticky actions 0.25, fire reset, episodic life, reward clipping) and random actions:

- gamepit: ``registry.make_game("atari:GAME").vector_env(N, seed)``;
- raw: ale-py's ``AtariVectorEnv`` built by hand with identical arguments (goal: gamepit at
  least 0.95 of it);
- Gymnasium: ``gymnasium.vector.AsyncVectorEnv`` over ``gym_env()`` (ale-py's ``AtariEnv``
  with ``AtariPreprocessing``, ``FrameStackObservation`` and CleanRL's wrappers), one process
  per environment (goal: gamepit at least 2x).

The contenders take turns for ``--rounds`` rounds, each env built fresh and closed after its
turn, and each keeps its best round, so a busy machine hurts all alike. Rates are given per
wall-clock second and per CPU second (this process's threads plus the Async workers): on a
machine shared with other work the second is the steadier. A last row, for planners, times
the simulator State (one game, ``apply`` and a ``clone`` every step).
Run: ``python benchmarks/atari_throughput.py [--num-envs 8] [--steps 300] [--rounds 3]``;
``--threads 1,2,8`` adds gamepit rows with that many ale-py threads (its default, 0, lets
ale-py choose), to see what the thread count does on a loaded machine.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gamepit.plugins.manager import PluginManager


@dataclass
class Rate:
    """Environment steps per wall-clock second, and per CPU second spent on them."""

    wall: float = 0.0
    cpu: float = 0.0

    def best(self, other: Rate) -> Rate:
        return Rate(max(self.wall, other.wall), max(self.cpu, other.cpu))


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(env: Any) -> float:
    """CPU time of this process (every thread: ale-py's workers too) plus that of the env's
    worker processes (AsyncVectorEnv), read from /proc."""
    total = time.process_time()
    for process in getattr(env, "processes", []):
        with open(f"/proc/{process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime
    return total


def time_vector(make: Callable[[], Any], actions: np.ndarray, seed: int) -> Rate:
    """Steps per second of a freshly built vector env over ``actions`` [steps, num_envs]
    after a reset and a short warm-up; the env is closed after, so no idle worker threads or
    processes of one contender share the CPU with the next."""
    env = make()
    try:
        env.reset(seed=seed)
        for row in actions[:20]:  # warm up: threads started, first episodes begun
            env.step(row)
        started, cpu_started = time.perf_counter(), cpu_seconds(env)
        for row in actions:
            env.step(row)
        wall, cpu = time.perf_counter() - started, cpu_seconds(env) - cpu_started
        return Rate(actions.size / wall, actions.size / max(cpu, 1e-9))
    finally:
        env.close()


def best_of(rounds: int, contenders: dict[str, Callable[[], Rate]]) -> dict[str, Rate]:
    """Run the contenders in turn for ``rounds`` rounds, rotating who goes first; keep each
    one's best round, so a burst of load from elsewhere hurts no one contender alone."""
    best = {name: Rate() for name in contenders}
    names = list(contenders)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = best[name].best(contenders[name]())
    return best


def time_simulator(game: Any, steps: int, seed: int) -> Rate:
    rng = np.random.default_rng(seed)
    state = game.new_state(seed)
    started, cpu_started = time.perf_counter(), time.process_time()
    for action in rng.integers(game.num_actions, size=steps):
        if state.is_terminal():
            state = game.new_state(seed)
        state.clone()
        state.apply(int(action))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Rate(steps / wall, steps / max(cpu, 1e-9))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="pong", help="ROM name (default pong)")
    parser.add_argument("--num-envs", type=int, default=8, help="environments (default 8)")
    parser.add_argument("--steps", type=int, default=300,
                        help="vector steps timed per contender and round (default 300)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; each contender keeps its best (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", default="",
                        help="also gamepit with these ale-py num_threads, e.g. 1,2,8 (its "
                        "default, 0, lets ale-py choose)")
    args = parser.parse_args(argv)

    from ale_py.vector_env import AtariVectorEnv
    from gymnasium.vector import AsyncVectorEnv

    from gamepit.games.atari_gym import make_gym_env, vector_arguments

    registry = PluginManager(autoload=False).registry
    game = registry.make_game(f"atari:{args.game}")
    options = game.face_options()
    n = args.num_envs
    actions = np.random.default_rng(args.seed).integers(
        game.num_actions, size=(args.steps, n)).astype(np.int64)

    raw_arguments = vector_arguments(**{k: v for k, v in options.items() if k != "game"})
    factory = functools.partial(make_gym_env, **options)
    threads = [int(k) for k in args.threads.split(",") if k]
    extra = {f"gamepit, num_threads={k}": functools.partial(
        time_vector, lambda k=k: game.vector_env(n, seed=args.seed, num_threads=k), actions,
        args.seed) for k in threads}
    rates = best_of(args.rounds, {
        **extra,
        "gamepit": lambda: time_vector(lambda: game.vector_env(n, seed=args.seed), actions,
                                       args.seed),
        "raw": lambda: time_vector(lambda: AtariVectorEnv(game.rom, n, **raw_arguments),
                                   actions, args.seed),
        "gymnasium": lambda: time_vector(lambda: AsyncVectorEnv([factory] * n), actions,
                                         args.seed),
    })
    rates["simulator"] = time_simulator(game, max(args.steps, 500), args.seed)

    print(f"Atari throughput: {game.rom}, {n} envs, random actions, options "
          + ",".join(f"{k}={v}" for k, v in options.items() if k != "game"))
    print(f"machine: {os.cpu_count()} CPU cores, shared with other work (load average "
          f"{os.getloadavg()[0]:.1f}); a step is {game.frame_skip} emulator frames; each "
          f"contender's best of {args.rounds} rounds of {args.steps} vector steps")
    print()
    header = (f"{'contender':<46} {'steps/s':>8} {'vs raw':>7} {'vs async':>8}"
              f" {'steps/CPU-s':>12} {'vs raw':>7} {'vs async':>8}")
    print(header)
    print("-" * len(header))
    labels = {
        "gamepit": "gamepit vector_env (ale-py AtariVectorEnv)",
        "raw": "raw ale-py AtariVectorEnv, identical options",
        "gymnasium": "gymnasium AsyncVectorEnv + standard wrappers",
        "simulator": "gamepit simulator State, 1 game, clone+apply",
        **{name: name for name in extra},
    }
    raw, gym = rates["raw"], rates["gymnasium"]
    for name, label in labels.items():
        rate = rates[name]
        print(f"{label:<46} {rate.wall:>8.0f} {rate.wall / raw.wall:>7.2f} "
              f"{rate.wall / gym.wall:>8.2f} {rate.cpu:>12.0f} {rate.cpu / raw.cpu:>7.2f} "
              f"{rate.cpu / gym.cpu:>8.2f}")
    ours = rates["gamepit"]
    print()
    print(f"gamepit / raw AtariVectorEnv:       wall {ours.wall / raw.wall:.3f}, "
          f"CPU {ours.cpu / raw.cpu:.3f}  (goal >= 0.95)")
    print(f"gamepit / Gymnasium AsyncVectorEnv: wall {ours.wall / gym.wall:.2f}, "
          f"CPU {ours.cpu / gym.cpu:.2f}   (goal >= 2)")


if __name__ == "__main__":
    main()
