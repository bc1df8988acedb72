"""``gamepit match`` and ``gamepit play``: build a game and two agents from spec strings, have
the engine play them, print the score."""

from __future__ import annotations

import argparse
from typing import Any

from gamepit.arena.match import MatchSettings
from gamepit.cli import Progress, add_command
from gamepit.errors import GamepitError
from gamepit.files import writable_folder
from gamepit.plugins.manager import PluginManager
from gamepit.protocols import Agent, Game
from gamepit.replay.format import DEFAULT_FOLDER


def add_match_command(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "match", "Play N games between two agents, seats alternating.",
                    "gamepit match connect_four alphabeta random -n 10\n"
                    "gamepit match tictactoe alphabeta:depth=9 random -n 20 --move-time 1")
    _match_arguments(p)
    p.add_argument("-n", "--games", type=int, default=None,
                   help="number of games (default 2; with --sprt, the most to play: 1000)")
    p.add_argument("--sprt", metavar="ELO0,ELO1", default=None,
                   help="stop early once a sequential probability ratio test decides whether "
                        "AGENT_A is at most ELO0 or at least ELO1 stronger (alpha=beta=0.05)")
    p.set_defaults(func=cmd_match)


def add_play_command(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.specs import number_arg

    p = add_command(subparsers, "play",
                    "Play one game yourself: name 'human' as one of the agents.",
                    "gamepit play tictactoe human alphabeta:depth=9\n"
                    "gamepit play connect_four random human\n"
                    "gamepit play connect_four human mcts:sims=400 --browser\n"
                    "gamepit play minatar:breakout human --browser")
    _match_arguments(p, second_optional=True)
    p.add_argument("--browser", action="store_true",
                   help="play on a local web page instead of this terminal: click to move "
                        "(board games) or use the keyboard (MinAtar, Atari)")
    p.add_argument("--port", type=int, default=0,
                   help="with --browser: the page's port (default 0: any free port)")
    p.add_argument("--fps", type=number_arg(float, 1, 120), default=15.0,
                   help="with --browser: steps a second of MinAtar and Atari (default 15)")
    p.add_argument("--no-open", "--no-browser", dest="no_open", action="store_true",
                   help="with --browser: print the page's address, do not open a browser")
    p.add_argument("--reconnect-grace", type=number_arg(float, 0, 3600), default=30.0,
                   metavar="SECONDS", help="with --browser: how long the game waits for its "
                   "page after a reload or a dropped connection before it ends as your "
                   "forfeit (default 30; 0: at once)")
    p.set_defaults(func=cmd_play, games=1)


def _match_arguments(p: argparse.ArgumentParser, second_optional: bool = False) -> None:
    from gamepit.specs import number_arg, seed_arg

    def seconds(text: str) -> float:
        value = number_arg(float, None, 10**6)(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be positive")
        return value

    p.add_argument("game", help="game spec, e.g. connect_four or go:size=9")
    p.add_argument("agent_a", help="agent spec, e.g. alphabeta:depth=4")
    if second_optional:
        p.add_argument("agent_b", nargs="?", default=None,
                       help="agent spec (not needed for a one-player game)")
    else:
        p.add_argument("agent_b", help="agent spec")
    p.add_argument("--seed", type=seed_arg, default=0, help="seed of the first game (default 0)")
    p.add_argument("--move-time", type=seconds, default=None, metavar="SECONDS",
                   help="forfeit an agent that thinks longer than this on a move")
    p.add_argument("--max-steps", type=number_arg(int, 1, 10**9), default=None, metavar="N",
                   help="stop a game after this many actions (on top of the game's own cap)")
    p.add_argument("--start-time", type=seconds, default=None, metavar="SECONDS",
                   help="forfeit an agent that takes longer than this to be built or reset for "
                        "a game (default 60, or GAMEPIT_START_TIME)")
    p.add_argument("--isolate", action="store_true",
                   help="run each agent in a process of its own: a crash or a hang costs it the "
                        "game (the process is killed and replaced)")
    p.add_argument("--replays", default=DEFAULT_FOLDER, metavar="DIR",
                   help=f"where replays go (default {DEFAULT_FOLDER}/)")
    p.add_argument("--no-replays", action="store_true", help="do not record replays")


def cmd_match(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.arena import play_series
    from gamepit.matches.sprt import Sprt, parse_sprt_bounds

    sprt = Sprt(*parse_sprt_bounds(args.sprt)) if args.sprt is not None else None
    if args.games is None:
        args.games = 1000 if sprt else 2
    if args.games < 1:
        raise GamepitError("match: -n must be at least 1")
    if args.games > 10**7:
        raise GamepitError("match: -n must be at most 10000000")
    game = manager.registry.make_game(args.game)
    agents = _match_agents(args, manager, game)  # a checkpoint that does not fit: no folder
    try:
        settings = _settings(args, manager)
        if game.num_players == 1:
            return _match_one_player(args, game, agents, settings)
        if game.num_players != 2:
            raise GamepitError(f"match: {game.name} has {game.num_players} players and a "
                               "match seats two; use gamepit tournament")
        with Progress(args.games, "games") as progress:
            series = play_series(game, agents, args.games, args.seed,
                                 [args.agent_a, args.agent_b], settings,
                                 on_result=lambda index, result: progress.advance(),
                                 stop=sprt.update if sprt else None)
    finally:
        for agent in agents:
            agent.close()
    print(f"{game.spec}: {series.summary()}")
    if sprt is not None:
        print(sprt.summary())
    for line in series.forfeits:
        print(f"  forfeit: {line}")
    if series.replays:
        print(f"replays: {len(series.replays)} in {settings.replay_dir}/")
    _replays_lost(series.replay_errors, len(series.replays), settings.replay_dir)
    return 0


def _replays_lost(errors: list[str], written: int, replay_dir: str | None) -> None:
    """A replay asked for and not written is an error (after the results are printed): the
    summary above counts only the files that were written whole."""
    if errors:
        raise GamepitError(f"match: {len(errors)} of {len(errors) + written} replays could not "
                           f"be written to {replay_dir}/ ({errors[0]}); they were removed, the "
                           f"{written} written are whole")


def _settings(args: argparse.Namespace, manager: PluginManager) -> MatchSettings:
    """How the command's games are played, from its flags: built once, passed whole."""
    replay_dir = None if args.no_replays else str(writable_folder(args.replays, "replay folder"))
    return MatchSettings(replay_dir=replay_dir, move_time=args.move_time,
                         max_steps=args.max_steps, manager=manager)


def _match_one_player(args: argparse.Namespace, game: Game, agents: list[Agent],
                      settings: MatchSettings) -> int:
    """On a one-player game both agents play the same seeds; compare their scores."""
    from gamepit.arena import compare_on_seeds, format_scores, score_table

    labels = [args.agent_a, args.agent_b]
    if labels[0] == labels[1]:
        labels = [f"{labels[0]} (A)", f"{labels[1]} (B)"]
    forfeits, written, lost = [], [], []

    def heard(label: str, index: int, result: Any) -> None:
        progress.advance()
        if result.forfeit_seat is not None:
            forfeits.append(f"episode {index}: {label} forfeited ({result.forfeit_reason})")
        written.extend([result.replay_path] if result.replay_path else [])
        lost.extend([result.replay_error] if result.replay_error else [])

    with Progress(args.games * 2, "episodes") as progress:
        scores = compare_on_seeds(game, dict(zip(labels, agents, strict=True)), args.games,
                                  args.seed, settings, on_result=heard)
    a, b = (scores[label] for label in labels)
    better = sum(x > y for x, y in zip(a, b, strict=True))
    worse = sum(x < y for x, y in zip(a, b, strict=True))
    last_seed = args.seed + args.games - 1
    print(f"{game.spec}: {args.games} episodes each on seeds {args.seed}..{last_seed}")
    print(format_scores(score_table(scores, game.reference_scores)))
    print(f"same seeds: {labels[0]} scored higher on {better}, lower on {worse}, "
          f"equal on {args.games - better - worse}")
    for line in forfeits:
        print(f"  forfeit: {line}")
    if written:
        print(f"replays: {len(written)} in {settings.replay_dir}/")
    _replays_lost(lost, len(written), settings.replay_dir)
    return 0


def _match_agents(args: argparse.Namespace, manager: PluginManager, game: Game) -> list[Agent]:
    """The two agents, built here, or (``--isolate``) each in a process of its own after a
    check here that its spec builds and fits the game. Building is bounded by the start time:
    an agent that hangs while it is built is one line, not a match that never starts."""
    from gamepit.tournament.workers import build_agent, set_start_time

    set_start_time(args.start_time)
    agents = [build_agent(manager, spec, game) for spec in (args.agent_a, args.agent_b)]
    if not args.isolate:
        return agents
    from gamepit.backends.isolate import IsolatedAgent

    for agent in agents:
        agent.close()
    if any(spec.split(":")[0] == "human" for spec in (args.agent_a, args.agent_b)):
        raise GamepitError("--isolate cannot seat 'human': it reads this terminal")
    return [IsolatedAgent(spec, args.plugins or [], args.move_time)
            for spec in (args.agent_a, args.agent_b)]


def cmd_play(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.arena import play_match

    game = manager.registry.make_game(args.game)
    specs = [spec for spec in (args.agent_a, args.agent_b) if spec is not None]
    if len(specs) != min(2, game.num_players):
        raise GamepitError(f"play: {game.name} seats {game.num_players}; name "
                           f"{'one agent' if game.num_players == 1 else 'two agents'}")
    if args.browser:
        return _play_in_browser(args, manager, game, specs)
    args.agent_b = args.agent_b or args.agent_a  # (a one-player game uses the first)
    agents = _match_agents(args, manager, game)  # a checkpoint that does not fit: no folder
    try:
        result = play_match(game, agents[:len(specs)], args.seed, specs,
                            _settings(args, manager))
    finally:
        for agent in agents:
            agent.close()
    if result.forfeit_seat is not None:
        print(f"seat {result.forfeit_seat} ({specs[result.forfeit_seat]}) "
              f"forfeited: {result.forfeit_reason}")
    print(f"returns by seat: {result.returns}")
    if result.replay_path:
        print(f"replay: {result.replay_path}")
    if result.replay_error:
        raise GamepitError(f"play: the replay could not be written ({result.replay_error}); "
                           "the game above is not recorded")
    return 0



def _play_in_browser(args: argparse.Namespace, manager: PluginManager, game: Game,
                     specs: list[str]) -> int:
    """``--browser``: the viewer serves the game on a local page (``gamepit.viewer``)."""
    from gamepit.viewer.plugin import play_in_browser

    humans = [seat for seat, spec in enumerate(specs) if spec.partition(":")[0] == "human"]
    if len(humans) != 1:
        raise GamepitError("play --browser: name 'human' as exactly one of the agents")
    for option, given in (("--isolate", args.isolate), ("--move-time", args.move_time)):
        if given:
            raise GamepitError(f"play --browser: {option} is for games at the terminal")
    manager.registry.make_agent(specs[humans[0]], game).close()  # its options, as at the terminal
    if not 0 <= args.port <= 65535:
        raise GamepitError("play: --port must be between 0 and 65535")
    seat = humans[0]
    agent = specs[1 - seat] if len(specs) == 2 else "random"
    folder = writable_folder(args.replays, "replay folder")
    return play_in_browser(manager, args.game, agent, seat, args.seed,
                           None if args.no_replays else str(folder), str(folder), args.port,
                           not args.no_open, args.fps, args.reconnect_grace)
