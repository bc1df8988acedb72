"""The AlphaZero plugin: registers the ``alphazero`` learner and the ``alphazero`` agent that
plays from its checkpoints. Targets are "module:attribute" strings, so torch is imported only
when one of them is built, never when plugins are listed.
"""

from __future__ import annotations

from gamepit.plugins import hookimpl
from gamepit.protocols import Option, agent, learner


@hookimpl
def gamepit_add_learners() -> list:
    return [learner("alphazero", "gamepit.agents.alphazero:AlphaZeroLearner",
                    "AlphaZero: self-play with batched PUCT search and a residual policy/value "
                    "network, optional AlphaGo Zero gating (two-player board games).")]


@hookimpl
def gamepit_add_agents() -> list:
    return [agent("alphazero", "gamepit.agents.alphazero:make_agent",
                  "PUCT search guided by a trained AlphaZero network "
                  "(alphazero:checkpoint=RUN/best.pt or checkpoint=builtin:connect_four).", (
                      Option("checkpoint", str, None,
                             "checkpoint file, or builtin:NAME for one shipped with gamepit"),
                      Option("sims", int, 100, "search simulations per move"),
                      Option("c_puct", float, 1.25, "PUCT exploration constant"),
                      Option("temperature", float, 0.0,
                             "0: most visited move; else sample visits^(1/T)"),
                      Option("leaves", int, 1, "leaves per tree per network call (virtual loss)"),
                      Option("device", str, "cpu", "cpu, cuda or auto"),
                      Option("threads", int, 1,
                             "torch CPU threads for the process (0: torch's default)"),
                  ))]
