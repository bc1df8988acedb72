"""Every gamepit hook, documented. This module is the plugin API's reference.

A plugin is any module or object with functions named like these, marked with
``gamepit.plugins.hookimpl``. Implementations take keyword arguments and may declare only the
ones they use. Calls keep pluggy's meaning: the most recently registered plugin runs first,
``tryfirst``/``trylast`` move an implementation to the front or back, and ``wrapper=True``
implementations wrap the others. No hook here stops at the first result (none is
``firstresult``). One addition: an implementation that raises is reported in one line and the
others still run, so one failing plugin never takes the others down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gamepit.plugins.markers import hookspec

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from gamepit.plugins.manager import PluginManager
    from gamepit.protocols import MatchInfo, MatchResult, PluginEntry, StepRecord


# --------------------------------------------------------------------------- registration
# Called once when the registry is first built. Each returns a list of PluginEntry
# (see gamepit.protocols.game/agent/search/learner); targets are imported lazily.


@hookspec
def gamepit_add_games() -> list[PluginEntry]:
    """Contribute games (environments).

    :return: a list of ``PluginEntry`` of kind ``"game"``; each target builds a
        ``gamepit.protocols.Game`` from the options given in the spec string.
    """


@hookspec
def gamepit_add_agents() -> list[PluginEntry]:
    """Contribute agents (things that act).

    :return: a list of ``PluginEntry`` of kind ``"agent"``; each target builds a
        ``gamepit.protocols.Agent`` from the spec's options.
    """


@hookspec
def gamepit_add_searches() -> list[PluginEntry]:
    """Contribute search algorithms (planners over simulator states with an Evaluator).

    :return: a list of ``PluginEntry`` of kind ``"search"``.
    """


@hookspec
def gamepit_add_learners() -> list[PluginEntry]:
    """Contribute learners (training algorithms that produce an agent spec).

    :return: a list of ``PluginEntry`` of kind ``"learner"``.
    """


@hookspec
def gamepit_add_commands(subparsers: argparse._SubParsersAction, manager: PluginManager
                         ) -> None:
    """Add subcommands to the ``gamepit`` command line.

    :param subparsers: the argparse sub-parser action; call ``subparsers.add_parser(...)`` and
        set ``func=callable(args, manager) -> int`` as the parser default.
    :param manager: the PluginManager the command line built (the one ``func`` gets), for a
        command whose options depend on what other plugins contribute.
    """


@hookspec
def gamepit_add_exporters() -> dict[str, Callable[..., None]]:
    """Contribute replay export formats, beyond the ones a game writes itself
    (``Game.export``: SGF for Go, PGN for chess).

    :return: format name -> ``export(replay, registry, output)``, which writes the
        ``gamepit.replay.Replay`` to the ``pathlib.Path`` ``output`` (atomically) and raises
        ``GamepitError`` for a replay it cannot draw. ``gamepit replay export --format NAME``
        offers every name.
    """


# --------------------------------------------------------------------------- matches
# Observers: return values are ignored. Replay recording is a plugin on these hooks.


@hookspec
def gamepit_match_start(match: MatchInfo) -> None:
    """A match is about to start.

    :param match: game spec, agent specs by seat, seed, match id, and the replay folder
        (``None`` when recording is off).
    """


@hookspec
def gamepit_match_step(match: MatchInfo, step: StepRecord) -> None:
    """A player acted.

    :param match: as in ``gamepit_match_start``.
    :param step: the player, the action, the rewards that action earned, the agent's info dict,
        and (every ``match.hash_every`` steps) the hash of the state after the action.
    """


@hookspec
def gamepit_match_end(match: MatchInfo, result: MatchResult) -> None:
    """A match ended, normally or by forfeit.

    :param match: as in ``gamepit_match_start``.
    :param result: returns per seat, steps played, the forfeiting seat and reason if any, and
        the hash of the final state.
    """


# --------------------------------------------------------------------------- training


@hookspec
def gamepit_train_metrics(run: str, step: int, metrics: dict[str, Any]) -> None:
    """A learner reports scalar metrics (losses, episodic return, steps per second...).

    :param run: the run's folder.
    :param step: the global step the metrics belong to.
    :param metrics: name -> number.
    """


@hookspec
def gamepit_checkpoint_saved(run: str, path: str, step: int) -> None:
    """A learner wrote a checkpoint (atomically: the file is complete when this is called).

    :param run: the run's folder.
    :param path: the checkpoint file.
    :param step: the global step it was taken at.
    """
