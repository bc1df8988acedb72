"""The tournament plugin: round robin and gauntlet with Bradley-Terry ratings, resumable from
an SQLite ledger, in this process or in worker processes, with batched agents playing their
games in lockstep; and the ``demo`` command, a tournament of the configs/demo.yaml line-up.

- ``config``: the settings, from flags and YAML; ``schedule``: pairings, seats and seeds;
- ``workers``: where games run; ``ledger``: one committed row a game; ``ratings``: the fit;
- ``run``: a tournament from plan to leaderboard; ``command``: the two commands.

A plugin on the kernel's ``gamepit_add_commands`` hook like any other; it imports no torch.
"""

from __future__ import annotations

import argparse

from gamepit.plugins.markers import hookimpl


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.tournament.command import add_demo_command, add_tournament_command

    add_tournament_command(subparsers)
    add_demo_command(subparsers)
