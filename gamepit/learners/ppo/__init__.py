"""PPO: registers the ``ppo`` learner and the ``ppo`` agent (the algorithm: ``learner``)."""

from gamepit.learners import CHECKPOINT_OPTIONS, learner_entries, registration
from gamepit.protocols import Option

LEARNER, AGENT = learner_entries(
    "ppo", "PPO with GAE and clipping on one-player games; self-play against a pool of past "
    "selves on two-player board games.",
    "A trained PPO policy (ppo:checkpoint=RUN/checkpoint.pt[,sample=true]).",
    CHECKPOINT_OPTIONS + (Option("sample", bool, False,
                                 "sample from the policy instead of its best move"),))

gamepit_add_learners, gamepit_add_agents = registration([LEARNER], [AGENT])
