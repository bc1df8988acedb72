"""Actor-mimic: registers the ``actor_mimic`` learner (one student distilled from per-game
experts) and the ``actor_mimic`` agent that plays any of the student's games (the algorithm:
``learner``; the shipped student: ``checkpoints/``)."""

from gamepit.learners import learner_entries, registration
from gamepit.protocols import Option

LEARNER, AGENT = learner_entries(
    "actor_mimic", "Actor-mimic (Parisotto et al. 2016): one network with a shared trunk and a "
    "head per game, distilled from a DQN, PPO or search expert per game; its trunk starts dqn "
    "or ppo on a new game (--set init=CHECKPOINT).",
    "An actor_mimic student, greedy with the head of the game it plays "
    "(actor_mimic:checkpoint=RUN/checkpoint.pt or checkpoint=builtin:minatar).", (
        Option("checkpoint", str, None,
               "checkpoint file, or builtin:NAME for one shipped with gamepit"),
        Option("game", str, "", "which of the student's games to play as (default: the game "
               "being played, by its spec)"),
        Option("device", str, "cpu", "cpu, cuda or auto"),
    ))

gamepit_add_learners, gamepit_add_agents = registration([LEARNER], [AGENT])
