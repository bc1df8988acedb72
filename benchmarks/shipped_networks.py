"""What each network shipped with gamepit is and what its training recorded: a table.

    python benchmarks/shipped_networks.py

A row per checkpoint under ``gamepit/learners/*/checkpoints/`` (what ``builtin:NAME`` loads):
the agent spec that plays it, its game(s), the parameters of the network that plays (alphazero
ships its best one), its file size, the training steps it records (self-play positions for
alphazero and muzero, environment steps for ppo and actor_mimic, rounds for dagger) and the
training time it records (wall minutes of one training process with one torch thread: at most
that many CPU minutes of self-play and learning; where a checkpoint was trained on from an
earlier one, only its own part is recorded, and the docs give the rest). "-" where a
checkpoint records nothing. Reads files only; trains nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from gamepit.errors import GamepitError
from gamepit.learners import toolkit

ROOT = Path(__file__).resolve().parents[1]
AGENTS = {"dagger": "student"}  # the agent that plays a learner's checkpoint, where not its name


def parameters(network: object) -> int:
    if not isinstance(network, Mapping):
        return 0
    return sum(int(value.numel()) for value in network.values() if hasattr(value, "numel"))


def minutes(data: Mapping) -> str:
    if "train_seconds" in data:
        return f"{float(data['train_seconds']) / 60:.1f}"
    if "train_minutes" in data:
        return f"{float(data['train_minutes']):.1f}"
    return "-"


def main() -> None:
    print("| agent | game | parameters | file | steps | trained (wall minutes) |")
    print("|---|---|---:|---:|---:|---:|")
    for path in sorted(ROOT.glob("gamepit/learners/*/checkpoints/*.pt")):
        data = toolkit.load_checkpoint(path)
        algorithm = str(data.get("algorithm", path.parent.parent.name))
        agent = AGENTS.get(algorithm, algorithm)
        games = data.get("games") or [data.get("game", "?")]
        game = ", ".join(str(name).replace("minatar:game=", "minatar:") for name in games)
        playing = data.get("network", data.get("best_network"))
        print(f"| `{agent}:checkpoint=builtin:{path.stem}` | {game} | "
              f"{parameters(playing):,} | {path.stat().st_size / 1024:.0f} KB | "
              f"{int(data.get('step', 0)):,} | {minutes(data)} |")


if __name__ == "__main__":
    try:
        main()
    except GamepitError as error:  # a damaged checkpoint: one line
        sys.exit(f"shipped_networks: {error}")
