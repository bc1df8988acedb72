"""The match plugin: the ``match`` command (a series between two agents, seats alternating,
stopped early by an SPRT when asked; on a one-player game, both agents on the same seeds) and
the ``play`` command (one game, often with ``human`` in a seat).

- ``command``: the two commands; ``sprt``: the sequential probability ratio test.

A plugin on the kernel's ``gamepit_add_commands`` hook like any other; the games themselves are
played by the engine (``gamepit.arena``). ``tryfirst`` keeps these commands at the head of
``gamepit --help``, where they were when the command line held them.
"""

from __future__ import annotations

import argparse

from gamepit.plugins.markers import hookimpl


@hookimpl(tryfirst=True)
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.matches.command import add_match_command, add_play_command

    add_match_command(subparsers)
    add_play_command(subparsers)
