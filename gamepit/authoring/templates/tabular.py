"""tabular: a gamepit learner plugin in one file (what `gamepit new learner tabular` writes).

To make it your learner, change train() (how it plays and learns) and the agent that plays
from what it saved; keep the names and the checkpoint's plain format (JSON here: a checkpoint
is data, never code). For small games with a simulator state. Then:

    gamepit --plugins tabular.py train tabular --game tictactoe --run runs/tab --set episodes=3000
    gamepit --plugins tabular.py match tictactoe tabular:checkpoint=runs/tab/table.json random

As written: Monte Carlo control over a table of positions. It plays against itself, choosing
epsilon-greedily by the table's action values, and moves each value it met toward the game's
result for the player who chose it. Metrics go through the training hooks (the run's
metrics.jsonl, TensorBoard, the viewer's charts).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.plugins.manager import get_manager
from gamepit.protocols import Agent, Option, agent, learner


class TabularLearner:
    def train(self, config: dict) -> str:
        """Train from the command line's settings (``--set key=value``, ``--config``, ``--game``,
        ``--run``); return the spec of an agent that plays what was learned."""
        manager = get_manager()
        game = manager.registry.make_game(config["game"])
        episodes = int(config.get("episodes", 2000))
        epsilon, rate = float(config.get("epsilon", 0.2)), float(config.get("rate", 0.1))
        folder = Path(config.get("run_dir") or "runs/tabular")
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(int(config.get("seed", 0)))
        table: dict[str, list[float]] = {}
        for episode in range(1, episodes + 1):
            state, met = game.new_state(episode), []
            while not state.is_terminal():
                key, legal = state.fingerprint().hex(), state.legal_actions()
                values = table.setdefault(key, [0.0] * game.num_actions)
                if rng.random() < epsilon:
                    action = int(legal[rng.integers(len(legal))])
                else:
                    action = int(max(legal, key=lambda a: values[a]))
                met.append((key, action, state.current_player))
                state.apply(action)
            result = state.returns()
            for key, action, player in met:
                table[key][action] += rate * (result[player] - table[key][action])
            if episode % 500 == 0 or episode == episodes:
                manager.notify("gamepit_train_metrics", run=str(folder), step=episode,
                               metrics={"table/positions": float(len(table)),
                                        "charts/first_player_return": float(result[0])})
        path = folder / "table.json"
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps({"game": game.spec or game.name, "table": table}))
        os.replace(partial, path)  # written whole, or not at all
        return f"tabular:checkpoint={path}"


class TabularAgent(Agent):
    """Plays the table's best action where it has seen the position, else a random one."""

    def __init__(self, checkpoint: str = "") -> None:
        try:
            self.table = json.loads(Path(checkpoint).read_text())["table"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"tabular: cannot read checkpoint {checkpoint!r}: {error}") from None

    def act(self, state):
        legal = state.legal_actions()
        values = self.table.get(state.fingerprint().hex())
        if values is None:
            return int(legal[self.rng.integers(len(legal))]), {"seen": False}
        return int(max(legal, key=lambda a: values[a])), {"seen": True}


@hookimpl
def gamepit_add_learners():
    return [learner("tabular", TabularLearner, "Monte Carlo control over a table of positions.")]


@hookimpl
def gamepit_add_agents():
    return [agent("tabular", TabularAgent, "Plays from a tabular checkpoint.",
                  [Option("checkpoint", str, "", "the table.json a tabular run wrote")])]
