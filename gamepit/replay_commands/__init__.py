"""The replay commands plugin: ``gamepit replay list | show | verify | export`` over the
replays that matches record.

- ``command``: the four actions and their parsers.

A plugin on the kernel's ``gamepit_add_commands`` hook like any other. What it reads with, the
replay format, its reader and ``verify``, stays in the kernel's ``gamepit.replay``, which the
engine, the viewer and the tests share. (Named ``replay_commands``, not ``replays``: that would
be one letter from the kernel's ``replay`` and the name of the default replay folder.)
"""

from __future__ import annotations

import argparse

from gamepit.plugins.manager import PluginManager
from gamepit.plugins.markers import hookimpl


@hookimpl(tryfirst=True)
def gamepit_add_commands(subparsers: argparse._SubParsersAction, manager: PluginManager) -> None:
    from gamepit.replay_commands.command import add_replay_command

    add_replay_command(subparsers, manager)
