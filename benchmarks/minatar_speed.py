"""MinAtar through gamepit against the raw ``minatar.Environment``: random play, steps per
second (episodes restarted as they end, so the cost of a new episode counts), wall and CPU.

Three faces of each game: gamepit States (``new_state``/``apply``, against the raw
environment's ``act``/``reset``), the Gymnasium environment (``reset``/``step`` with its
observation, against ``act`` plus ``state()``), and the vector environment (8 games a call,
against 8 raw environments stepped in a loop with ``state()``). Sticky actions 0.1 in both, as
MinAtar's default. Rounds alternate raw and gamepit (A B A B) and the table gives the median
round; ``--seconds`` is the time of each measurement.

    python benchmarks/minatar_speed.py [--seconds 1.0] [--rounds 3] [--games breakout,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from gamepit.plugins.manager import get_manager

GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
VECTOR = 8


def timed(step: callable, seconds: float) -> tuple[float, float]:
    """Steps per wall second and per CPU second of ``step`` (which does one batch and returns
    how many steps it made), over about ``seconds``."""
    count, wall, cpu = 0, time.perf_counter(), time.process_time()
    deadline = wall + seconds
    while time.perf_counter() < deadline:
        for _ in range(64):
            count += step()
    return count / (time.perf_counter() - wall), count / max(time.process_time() - cpu, 1e-9)


def raw_play(name: str, observe: bool, envs: int) -> callable:
    import minatar

    environments = [minatar.Environment(name, sticky_action_prob=0.1) for _ in range(envs)]
    actions = np.random.default_rng(0).integers(6, size=1 << 16).tolist()
    cursor = [0]

    def step() -> int:
        for env in environments:
            cursor[0] = (cursor[0] + 1) & 0xFFFF
            _, done = env.act(actions[cursor[0]])
            if done:
                env.reset()
            if observe:
                env.state()
        return envs
    return step


def state_play(game) -> callable:
    actions = np.random.default_rng(0).integers(game.num_actions, size=1 << 16).tolist()
    holder = [game.new_state(0)]
    cursor, seeds = [0], [0]

    def step() -> int:
        cursor[0] = (cursor[0] + 1) & 0xFFFF
        state = holder[0]
        state.apply(actions[cursor[0]])
        if state.is_terminal():
            seeds[0] += 1
            holder[0] = game.new_state(seeds[0])
        return 1
    return step


def gym_play(game) -> callable:
    env = game.gym_env()
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(game.num_actions, size=1 << 16).tolist()
    cursor = [0]

    def step() -> int:
        cursor[0] = (cursor[0] + 1) & 0xFFFF
        _, _, terminated, truncated, _ = env.step(actions[cursor[0]])
        if terminated or truncated:
            env.reset()
        return 1
    return step


def vector_play(game) -> callable:
    env = game.vector_env(VECTOR, seed=0)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(game.num_actions, size=(1 << 12, VECTOR))
    cursor = [0]

    def step() -> int:
        cursor[0] = (cursor[0] + 1) & 0xFFF
        env.step(actions[cursor[0]])
        return VECTOR
    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--games", default=",".join(GAMES))
    options = parser.parse_args()
    registry = get_manager().registry
    print(f"load average {os.getloadavg()[0]:.2f}; {options.rounds} rounds of "
          f"{options.seconds:g} s each way, median round; steps per second (k)")
    print("| game | face | raw | gamepit | wall ratio | CPU-second ratio |")
    print("|---|---|---|---|---|---|")
    for name in options.games.split(","):
        game = registry.make_game(f"minatar:{name}")
        faces = (("states", state_play(game), raw_play(name, False, 1)),
                 ("gymnasium", gym_play(game), raw_play(name, True, 1)),
                 (f"vector x{VECTOR}", vector_play(game), raw_play(name, True, VECTOR)))
        for face, ours, theirs in faces:
            rows = []
            for _ in range(options.rounds):
                raw = timed(theirs, options.seconds)
                mine = timed(ours, options.seconds)
                rows.append((raw, mine))
            raw_wall = statistics.median(r[0][0] for r in rows)
            our_wall = statistics.median(r[1][0] for r in rows)
            wall = statistics.median(r[1][0] / r[0][0] for r in rows)
            cpu = statistics.median(r[1][1] / r[0][1] for r in rows)
            print(f"| {name} | {face} | {raw_wall / 1000:.0f} | {our_wall / 1000:.0f} | "
                  f"{wall:.2f}x | {cpu:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
