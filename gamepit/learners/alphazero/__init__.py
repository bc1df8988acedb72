"""AlphaZero: registers the ``alphazero`` learner and the ``alphazero`` agent that searches with
its networks (the algorithm: ``learner``; shipped checkpoints: ``checkpoints/``)."""

from gamepit.learners import learner_entries, registration
from gamepit.protocols import Option
from gamepit.search.gumbel import AGENT_OPTIONS

LEARNER, AGENT = learner_entries(
    "alphazero", "AlphaZero: self-play with batched PUCT search and a residual policy/value "
    "network, optional AlphaGo Zero gating (two-player board games).",
    "PUCT or Gumbel search guided by a trained AlphaZero network "
    "(alphazero:checkpoint=RUN/best.pt or checkpoint=builtin:connect_four).", (
        Option("checkpoint", str, None,
               "checkpoint file, or builtin:NAME for one shipped with gamepit"),
        Option("sims", int, 100, "search simulations per move", low=1, high=1_000_000),
        Option("c_puct", float, 1.25, "PUCT exploration constant", low=0),
        Option("temperature", float, 0.0, "0: most visited move; else sample visits^(1/T)",
               low=0, high=100),
        Option("leaves", int, 1, "leaves per tree per network call (virtual loss)", low=1,
               high=1024),
        Option("device", str, "cpu", "cpu, cuda or auto"),
        Option("threads", int, 1, "torch CPU threads for the process (0: torch's default)",
               low=0, high=256),
        Option("reuse", bool, True, "keep each game's subtree between moves"),
        *AGENT_OPTIONS,
    ))

gamepit_add_learners, gamepit_add_agents = registration([LEARNER], [AGENT])
