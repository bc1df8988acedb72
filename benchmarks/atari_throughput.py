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
turn, and each keeps its best round, so a busy machine hurts all alike. A last row, for
planners, times the simulator State (one game, ``apply`` and a ``clone`` every step).
Run: ``python benchmarks/atari_throughput.py [--num-envs 8] [--steps 300] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gamepit.plugins.manager import PluginManager


def time_vector(make: Callable[[], Any], actions: np.ndarray, seed: int) -> float:
    """Steps per second of a freshly built vector env over ``actions`` [steps, num_envs]
    after a reset and a short warm-up; the env is closed after, so no idle worker threads or
    processes of one contender share the CPU with the next."""
    env = make()
    try:
        env.reset(seed=seed)
        for row in actions[:20]:  # warm up: threads started, first episodes begun
            env.step(row)
        started = time.perf_counter()
        for row in actions:
            env.step(row)
        return actions.size / (time.perf_counter() - started)
    finally:
        env.close()


def best_of(rounds: int, contenders: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Run the contenders in turn for ``rounds`` rounds, rotating who goes first; keep each
    one's best round, so a burst of load from elsewhere hurts no one contender alone."""
    best = {name: 0.0 for name in contenders}
    names = list(contenders)
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = max(best[name], contenders[name]())
    return best


def time_simulator(game: Any, steps: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    state = game.new_state(seed)
    started = time.perf_counter()
    for action in rng.integers(game.num_actions, size=steps):
        if state.is_terminal():
            state = game.new_state(seed)
        state.clone()
        state.apply(int(action))
    return steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--game", default="pong", help="ROM name (default pong)")
    parser.add_argument("--num-envs", type=int, default=8, help="environments (default 8)")
    parser.add_argument("--steps", type=int, default=300,
                        help="vector steps timed per contender and round (default 300)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; each contender keeps its best (default 3)")
    parser.add_argument("--seed", type=int, default=0)
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
    rates = best_of(args.rounds, {
        "gamepit": lambda: time_vector(lambda: game.vector_env(n, seed=args.seed), actions,
                                       args.seed),
        "raw": lambda: time_vector(lambda: AtariVectorEnv(game.rom, n, **raw_arguments),
                                   actions, args.seed),
        "gymnasium": lambda: time_vector(lambda: AsyncVectorEnv([factory] * n), actions,
                                         args.seed),
    })
    gym_rate = rates["gymnasium"]

    simulator_rate = time_simulator(game, max(args.steps, 500), args.seed)

    frames = game.frame_skip
    print(f"Atari throughput: {game.rom}, {n} envs, random actions, options "
          + ",".join(f"{k}={v}" for k, v in options.items() if k != "game"))
    print(f"machine: {os.cpu_count()} CPU cores, shared with other work; steps/s are "
          "environment steps (each = {frames} emulator frames)".replace("{frames}", str(frames)))
    print()
    header = f"{'contender':<52} {'steps/s':>10} {'frames/s':>10} {'vs raw':>8} {'vs async':>9}"
    print(header)
    print("-" * len(header))
    rows = [
        ("gamepit vector_env (ale-py AtariVectorEnv)", rates["gamepit"]),
        ("raw ale-py AtariVectorEnv, identical options", rates["raw"]),
        ("gymnasium AsyncVectorEnv + standard wrappers", gym_rate),
        ("gamepit simulator State, 1 game, clone+apply", simulator_rate),
    ]
    for label, rate in rows:
        print(f"{label:<52} {rate:>10.0f} {rate * frames:>10.0f} {rate / rates['raw']:>8.2f} "
              f"{rate / gym_rate:>9.2f}")
    print()
    print(f"gamepit / raw AtariVectorEnv:      {rates['gamepit'] / rates['raw']:.3f}"
          "  (goal >= 0.95)")
    print(f"gamepit / Gymnasium AsyncVectorEnv: {rates['gamepit'] / gym_rate:.2f}"
          "   (goal >= 2)")


if __name__ == "__main__":
    main()
