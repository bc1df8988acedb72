"""The ``tournament`` and ``demo`` commands."""

from __future__ import annotations

import argparse
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gamepit.backends import BACKENDS, placement_note
from gamepit.cli import Progress, add_command
from gamepit.errors import GamepitError
from gamepit.files import writable_folder
from gamepit.plugins.manager import PluginManager
from gamepit.replay.format import DEFAULT_FOLDER
from gamepit.specs import number_arg, seed_arg
from gamepit.tournament.config import FORMATS, TournamentConfig, config_from_args, load_config
from gamepit.tournament.ledger import DEFAULT_LEDGER, read_only, tournaments_in
from gamepit.tournament.ratings import (
    Standing,
    format_leaderboard,
    scale_note,
    write_csv,
    write_json,
)
from gamepit.tournament.run import run_tournament

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "demo.yaml"


def add_tournament_command(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "tournament",
             "Round robin or gauntlet with ratings; resumable from the SQLite ledger.",
             "gamepit tournament connect_four random alphabeta:depth=1 alphabeta:depth=3 "
             "--games 20\n"
             "gamepit tournament connect_four random alphabeta mcts --format gauntlet "
             "--gauntlet-agent mcts --workers 2\n"
             "gamepit tournament connect_four random mcts --backend ray --workers 4 "
             "--ray-address auto\n"
             "gamepit tournament --config configs/tournament_example.yaml --json board.json\n"
             "gamepit tournament atari:game=pong,max_frames=2000 random --games 5\n"
             "gamepit tournament --list --ledger gamepit_ledger.sqlite\n"
             "re-running the same command continues where it stopped")
    p.add_argument("game", nargs="?", default=None, help="game spec (or 'game:' in --config)")
    p.add_argument("agents", nargs="*", default=None, help="agent specs")
    p.add_argument("--config", metavar="FILE.yaml",
                   help="YAML file with the settings below; flags given here override it")
    p.add_argument("--name", help="tournament name in the ledger (default: the game spec)")
    p.add_argument("--format", choices=FORMATS, help="round_robin (default) or gauntlet")
    p.add_argument("--gauntlet-agent", "--challenger", dest="gauntlet_agent", metavar="SPEC",
                   help="the agent that meets every other in a gauntlet (default: the first)")
    p.add_argument("--games", "-n", dest="games_per_pair", type=number_arg(int, 1, 10**7),
                   help="games per pairing, seats alternating (default 2)")
    p.add_argument("--seed", type=seed_arg, help="base seed (default 0)")
    p.add_argument("--workers", "-w", type=number_arg(int, 0, 1024),
                   help="workers (processes, or Ray actors with --backend ray); 0 plays in "
                        "this process (default 0)")
    p.add_argument("--backend", choices=BACKENDS,
                   help="where games run (default: processes with --workers, else inprocess)")
    p.add_argument("--ray-address", metavar="ADDRESS",
                   help="with --backend ray: the cluster (auto, or HOST:PORT of its head); "
                        "default: a local Ray started for the run")
    p.add_argument("--batch-size", type=number_arg(int, 0, 10**5),
                   help="games played in lockstep for batched agents (default 32; 0: none)")
    p.add_argument("--move-time", type=_seconds, metavar="SECONDS",
                   help="forfeit an agent that thinks longer than this on a move")
    p.add_argument("--start-time", type=_seconds, metavar="SECONDS",
                   help="forfeit an agent that takes longer than this to be built or reset for "
                        "a game (default 60, or GAMEPIT_START_TIME)")
    p.add_argument("--isolate", action="store_true", default=None,
                   help="run each agent in a process of its own: a crash or a hang costs it "
                        "one game (the process is killed and replaced); games one at a time")
    p.add_argument("--max-steps", type=number_arg(int, 1, 10**9),
                   help="cut each game off after this many actions")
    p.add_argument("--ledger", metavar="PATH", help=f"SQLite ledger (default {DEFAULT_LEDGER})")
    p.add_argument("--replays", metavar="DIR",
                   help=f"record replays in this folder (default {DEFAULT_FOLDER}/)")
    p.add_argument("--no-replays", action="store_true",
                   help="do not record replays (replays: null in a YAML config)")
    p.add_argument("--anchor", metavar="SPEC=ELO", action="append",
                   help="pin an agent to a rating, e.g. --anchor 'gtp:gnugo --mode gtp --level "
                        "1=1000' (repeatable; SPEC alone: at --anchor-elo); with no anchor the "
                        "mean rating is 0")
    p.add_argument("--anchor-elo", type=number_arg(float, -10**5, 10**5),
                   help="the rating of an --anchor given without =ELO (default 0)")
    p.add_argument("--list", action="store_true",
                   help="list the tournaments in the ledger and how many games each holds")
    p.add_argument("--csv", metavar="FILE", help="also write the leaderboard as CSV")
    p.add_argument("--json", metavar="FILE", help="also write the leaderboard as JSON")
    p.set_defaults(func=cmd_tournament)


def _seconds(text: str) -> float:
    """A move time: a positive, finite number of seconds."""
    value = number_arg(float, None, 10**6)(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def cmd_tournament(args: argparse.Namespace, manager: PluginManager) -> int:
    if args.list:
        return _list_tournaments(args.ledger or DEFAULT_LEDGER)
    config = config_from_args(args)
    config.check()
    if config.backend is not None and placement_note(config.backend, config.workers):
        print(placement_note(config.backend, config.workers))
    try:
        with Progress(0, "games") as progress:
            outcome = run_tournament(config, manager, on_plan=progress.start,
                                     on_record=lambda record: progress.advance())
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"the games finished so far are in {config.ledger}: run the "
                               "same command again to continue") from None
    form = ("single-player" if not isinstance(outcome.leaderboard[0], Standing)
            else config.format)
    print(f"tournament {outcome.name!r} on {outcome.game} ({form}): {outcome.played_now} games "
          f"played now, {outcome.already} already in {config.ledger}")
    print(format_leaderboard(outcome.leaderboard))
    if any(getattr(row, "normalised", None) is not None for row in outcome.leaderboard):
        print("human-normalised: 100 (score - random) / (human - random) with the published "
              "Atari references, which were measured on full episodes (up to 108,000 frames); "
              "shorter episode caps understate it")
    if isinstance(outcome.leaderboard[0], Standing):
        print(scale_note(outcome.anchors))
    if outcome.gauntlet:
        challenger = outcome.gauntlet[0].agent_specs[0]
        width = max(len(series.agent_specs[1]) for series in outcome.gauntlet)
        print(f"gauntlet: {challenger} against each (its score, 95% interval)")
        for series in outcome.gauntlet:
            mean, low, high = series.score()
            print(f"  vs {series.agent_specs[1]:<{width}}  +{series.wins} ={series.draws} "
                  f"-{series.losses}  {mean:.3f} ({low:.3f}..{high:.3f})")
    for line in outcome.forfeits[:10]:
        print(f"  forfeit: {line}")
    if len(outcome.forfeits) > 10:
        print(f"  ... and {len(outcome.forfeits) - 10} more forfeits")
    extra: dict[str, Any] = {"tournament": outcome.name, "game": outcome.game, "format": form,
                             "games_per_pair": config.games_per_pair}
    if form == "single-player":
        extra["model"] = "mean episode score, 95% normal interval; human-normalised in percent"
    else:
        extra.update(anchors=outcome.anchors, scale=scale_note(outcome.anchors),
                     model="bradley-terry maximum likelihood, draws as half wins, one virtual "
                           "draw per pairing; 95% intervals from the observed information")
    if outcome.gauntlet:
        extra["gauntlet"] = [{"challenger": s.agent_specs[0], "opponent": s.agent_specs[1],
                              "wins": s.wins, "draws": s.draws, "losses": s.losses,
                              "score": s.score()[0], "low": s.score()[1], "high": s.score()[2]}
                             for s in outcome.gauntlet]
    extra["forfeits"] = outcome.forfeits
    if config.csv:
        write_csv(outcome.leaderboard, config.csv)
        print(f"wrote {config.csv}")
    if config.json:
        write_json(outcome.leaderboard, config.json, extra)
        print(f"wrote {config.json}")
    return 0


def _list_tournaments(path: str) -> int:
    if not Path(path).exists():
        raise GamepitError(f"no ledger at {path} (give --ledger PATH)")
    connection = read_only(Path(path))  # listing writes nothing: read-only ledgers list too
    try:
        rows = tournaments_in(connection)
    except sqlite3.Error as error:
        raise GamepitError(f"ledger {path}: not a gamepit ledger ({error})") from None
    finally:
        connection.close()
    if not rows:
        print(f"no tournaments in {path}")
    for name, game, games in rows:
        print(f"{name!r:<32} {game:<28} {games:>7} games")
    return 0


def add_demo_command(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "demo",
                    "A short round robin with replays: the line-up of configs/demo.yaml.",
                    "gamepit demo\ngamepit demo --games 4\ngamepit demo --config my_lineup.yaml")
    p.add_argument("--config", default=str(DEMO_CONFIG), metavar="FILE.yaml",
                   help="the line-up (default: configs/demo.yaml of this checkout)")
    p.add_argument("--games", "-n", type=number_arg(int, 1, 10**7), default=None,
                   help="games per pairing (default: the line-up's, 4)")
    p.add_argument("--replays", default="replays", help="replay folder (default replays/)")
    p.add_argument("--seed", type=seed_arg, default=0)
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace, manager: PluginManager) -> int:
    """A round robin of the line-up's agents that this installation can build."""
    settings = load_config(args.config)
    game = manager.registry.make_game(settings.get("game", ""))
    specs = []
    for spec in settings.get("agents", []):
        try:
            manager.registry.make_agent(spec, game).close()
        except GamepitError as error:
            print(f"demo: leaving out {spec}: {error}")
            continue
        specs.append(spec)
    writable_folder(args.replays, "replay folder")
    ledger = str(Path(args.replays) / "demo_ledger.sqlite")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    settings.update(agents=specs, name=f"demo {stamp}", seed=args.seed, replays=args.replays,
                    ledger=ledger)
    if args.games is not None:
        settings["games_per_pair"] = args.games
    config = TournamentConfig(**settings)
    print(f"round robin on {config.game}: {', '.join(specs)}; {config.games_per_pair} games per "
          "pairing")
    with Progress(0, "games") as progress:
        outcome = run_tournament(config, manager, on_record=lambda record: progress.advance(),
                                 on_plan=progress.start)
    print(format_leaderboard(outcome.leaderboard))
    print(f"{scale_note(outcome.anchors)}; results in {ledger}")
    print(f"\nreplays written to {args.replays}/ (try: gamepit replay list {args.replays}, "
          f"or gamepit view {args.replays})")
    return 0
