"""MuZero: registers the ``muzero`` learner and the ``muzero`` agent that plans with its learned
model (the algorithm: ``learner``; shipped checkpoints: ``checkpoints/``)."""

from gamepit.learners import learner_entries, registration
from gamepit.protocols import Option
from gamepit.search.gumbel import AGENT_OPTIONS

LEARNER, AGENT = learner_entries(
    "muzero", "MuZero: batched PUCT search on a learned model (representation, dynamics, "
    "prediction), K-step unroll, n-step targets; board games and one-player games.",
    "PUCT or Gumbel search on a trained MuZero model "
    "(muzero:checkpoint=RUN/model.pt or checkpoint=builtin:tictactoe).", (
        Option("checkpoint", str, None,
               "checkpoint file, or builtin:NAME for one shipped with gamepit"),
        Option("sims", int, 50, "search simulations per move", low=1, high=1_000_000),
        Option("c_puct", float, 1.25, "PUCT exploration constant", low=0, high=1e6),
        Option("temperature", float, 0.0, "0: most visited move; else sample visits^(1/T)",
               low=0, high=100),
        *AGENT_OPTIONS,
        Option("device", str, "cpu", "cpu, cuda or auto"),
        Option("threads", int, 1, "torch CPU threads for the process (0: torch's default)",
               low=0, high=256),
    ))

gamepit_add_learners, gamepit_add_agents = registration([LEARNER], [AGENT])
