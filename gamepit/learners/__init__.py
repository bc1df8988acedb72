"""Learners: one folder per algorithm. Each folder's ``__init__`` registers the learner and the
agent that plays its checkpoints, with "module:attribute" targets, so listing plugins never
imports torch; its ``learner`` module reads top to bottom like a CleanRL script, on the shared
``toolkit`` of functions (run folder, seeding, atomic save and resume, evaluation, loading a
checkpoint as an agent that fits the game)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gamepit.plugins.markers import hookimpl
from gamepit.protocols import Option, PluginEntry, agent, learner

CHECKPOINT_OPTIONS = (
    Option("checkpoint", str, None, "checkpoint file written by gamepit train"),
    Option("device", str, "cpu", "cpu, cuda or auto"),
)


def learner_entries(name: str, learner_description: str, agent_description: str,
                    agent_options: Sequence[Option] = CHECKPOINT_OPTIONS
                    ) -> tuple[PluginEntry, PluginEntry]:
    """The learner entry ``NAME`` (``gamepit.learners.NAME.learner:Learner``) and the agent
    entry ``NAME`` that plays its checkpoints (``...learner:make_agent``)."""
    module = f"gamepit.learners.{name}.learner"
    return (learner(name, f"{module}:Learner", learner_description),
            agent(name, f"{module}:make_agent", agent_description, agent_options))


def registration(learners: Sequence[PluginEntry], agents: Sequence[PluginEntry]
                 ) -> tuple[Callable[[], list], Callable[[], list]]:
    """The two hook implementations a learner folder's ``__init__`` binds to the names
    ``gamepit_add_learners`` and ``gamepit_add_agents`` (pluggy finds them by those names)."""

    @hookimpl
    def add_learners() -> list:
        return list(learners)

    @hookimpl
    def add_agents() -> list:
        return list(agents)

    return add_learners, add_agents
