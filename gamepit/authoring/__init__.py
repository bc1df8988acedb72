"""The authoring plugin: what someone writing a plugin uses.

- ``checks``: ``check_game`` and ``check_agent``, the protocol checkers (also for tests);
- ``scaffold`` and ``command``: ``gamepit new game|agent|learner NAME`` writes a working
  single-file plugin (or, with ``--package``, a package with the ``gamepit`` entry point) from
  the templates in ``templates/``; ``gamepit check game|agent SPEC`` runs the checkers.

A plugin on the kernel's ``gamepit_add_commands`` hook like any other; nothing in the kernel
imports it.
"""

from __future__ import annotations

import argparse

from gamepit.plugins.manager import PluginManager
from gamepit.plugins.markers import hookimpl


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction, manager: PluginManager) -> None:
    from gamepit.authoring.command import add_check_command, add_new_command

    add_new_command(subparsers)
    add_check_command(subparsers)
