"""DQN: registers the ``dqn`` learner and the ``dqn`` agent (the algorithm: ``learner``)."""

from gamepit.learners import learner_entries, registration

LEARNER, AGENT = learner_entries(
    "dqn", "DQN with Double DQN, n-step returns, prioritized replay and dueling heads "
    "(one-player games: Atari, gym:...).",
    "Greedy on a trained DQN's Q-values (dqn:checkpoint=RUN/checkpoint.pt).")

gamepit_add_learners, gamepit_add_agents = registration([LEARNER], [AGENT])
