"""Imitation: registers the ``bc`` and ``dagger`` learners and the ``student`` agent that plays
their checkpoints (one agent for both: a student is the same network whichever way its labels
were gathered, so a BC and a DAgger student meet in the arena under one name)."""

from gamepit import protocols
from gamepit.learners import CHECKPOINT_OPTIONS, registration

# ``protocols.learner``, not a bare ``learner``: importing this package's submodule ``learner``
# rebinds that name here.
MODULE = "gamepit.learners.imitation.learner"

gamepit_add_learners, gamepit_add_agents = registration([
    protocols.learner("bc", f"{MODULE}:BCLearner",
                      "Behaviour cloning: a plain network trained on an expert's moves, from a "
                      "folder of replays or live games of any agent spec."),
    protocols.learner("dagger", f"{MODULE}:DAggerLearner",
                      "DAgger (Ross et al. 2011): rounds of student play labelled by any expert "
                      "agent, aggregated on disk, the student retrained on all of it."),
], [protocols.agent("student", f"{MODULE}:make_agent",
                    "A bc or dagger student: its policy network, greedy over legal actions, no "
                    "search (student:checkpoint=RUN/checkpoint.pt).", CHECKPOINT_OPTIONS)])
