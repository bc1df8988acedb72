"""The training plugin: the ``train`` command for any registered learner (``command``, with
``settings`` merging a learner's defaults, a YAML file and ``--set`` overrides), and three
observers on the training hooks, each a plugin of its own: ``metrics_file`` (RUN/metrics.jsonl),
``tensorboard`` and ``progress``. Imports no torch; learners live in ``gamepit.learners``.
"""

from __future__ import annotations

import argparse

from gamepit.plugins.markers import hookimpl


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.training.command import add_command

    add_command(subparsers)
