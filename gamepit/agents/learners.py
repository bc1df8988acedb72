"""The learner plugin: registers the ``dqn`` and ``ppo`` learners, the agents that play from
their checkpoints, the ``gamepit train`` command and the training observers (metrics.jsonl,
TensorBoard, progress). Targets are "module:attribute" strings, so torch is imported only
when a learner or agent is built, never when plugins are listed.
"""

from __future__ import annotations

import argparse
from typing import Any

from gamepit.plugins import hookimpl
from gamepit.protocols import Option, agent, learner


@hookimpl
def gamepit_add_learners() -> list:
    return [
        learner("dqn", "gamepit.agents.dqn:DQNLearner",
                "DQN with Double DQN, n-step returns, prioritized replay and dueling heads "
                "(one-player games: Atari, gym:...)."),
        learner("ppo", "gamepit.agents.ppo:PPOLearner",
                "PPO with GAE and clipping on one-player games; self-play against a pool of "
                "past selves on two-player board games."),
    ]


_CHECKPOINT_OPTIONS = (
    Option("checkpoint", str, None, "checkpoint file written by gamepit train"),
    Option("device", str, "cpu", "cpu, cuda or auto"),
)


@hookimpl
def gamepit_add_agents() -> list:
    return [
        agent("dqn", "gamepit.agents.dqn:make_agent",
              "Greedy on a trained DQN's Q-values (dqn:checkpoint=RUN/checkpoint.pt).",
              _CHECKPOINT_OPTIONS),
        agent("ppo", "gamepit.agents.ppo:make_agent",
              "A trained PPO policy (ppo:checkpoint=RUN/checkpoint.pt[,sample=true]).",
              _CHECKPOINT_OPTIONS + (Option("sample", bool, False,
                                            "sample from the policy instead of its best move"),)),
    ]


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.train import add_command

    add_command(subparsers)


@hookimpl
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    from gamepit.train import on_metrics

    on_metrics(run, step, metrics)


@hookimpl
def gamepit_checkpoint_saved(run: str, path: str, step: int) -> None:
    from gamepit.train import on_checkpoint

    on_checkpoint(run, path, step)
