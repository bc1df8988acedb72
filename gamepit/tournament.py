"""Tournaments: round robin and gauntlet, resumable through the SQLite ledger, in parallel
worker processes, with batched inference for agents that act in batches; and matches that stop
early on an SPRT. Registers the ``gamepit tournament`` command.

How a tournament is laid out. Each pairing plays ``games_per_pair`` games. Game ``i`` seats
the pairing's first agent in seat 0 when ``i`` is even and in seat 1 when odd, and uses seed
``seed + i // 2``, so both seatings of a seed are played (as cutechess repeats an opening with
colours reversed). On a single-player game every agent plays the same episodes: game ``i`` on
seed ``seed + i``. A game is a slot (pairing, game index); its result goes into the ledger as it
finishes, and a re-run plays only the slots the ledger lacks.

Where games run. With ``workers=0`` in this process; otherwise in that many worker processes
(forkserver, or spawn where there is no forkserver), each building its own plugin manager from
the same ``--plugins`` paths and its own games and agents from spec strings. When an agent of a
pairing sets ``batched = True``, up to ``batch_size`` games of that pairing run in lockstep in
one process, and at each step that agent's moves in all of them come from one ``act_batch``
call (one forward pass for a neural agent).

This module is part of the kernel: it must import without torch.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from gamepit.arena import LiveMatch, MatchResult, act_alone, act_together, play_match
from gamepit.errors import GamepitError, writable_folder
from gamepit.ledger import DEFAULT_LEDGER, GameRecord, Ledger, pairing_key
from gamepit.plugins import hookimpl
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.protocols import Agent, Game
from gamepit.ratings import (
    ATARI_REFERENCES,
    ScoreLine,
    Standing,
    fit_ratings,
    format_leaderboard,
    score_table,
    write_csv,
    write_json,
)
from gamepit.specs import format_spec

FORMATS = ("round_robin", "gauntlet")


# --------------------------------------------------------------------------- configuration


@dataclass
class TournamentConfig:
    """A tournament, as given on the command line or in a YAML file (same names)."""

    game: str = ""
    """Game spec string, e.g. ``connect_four`` or ``atari:game=pong,max_frames=20000``."""
    agents: list[str] = field(default_factory=list)
    """Agent spec strings; each must be different."""
    name: str | None = None
    """Name in the ledger; re-running the same name resumes it. Default: the game spec."""
    format: str = "round_robin"
    """``round_robin`` (every pair) or ``gauntlet`` (the gauntlet agent against each other)."""
    gauntlet_agent: str | None = None
    """The challenger of a gauntlet (default: the first agent)."""
    games_per_pair: int = 2
    """Games per pairing, seats alternating; episodes per agent on a single-player game."""
    seed: int = 0
    """Base seed; fixed for a tournament's life (a re-run with another seed is refused)."""
    workers: int = 0
    """Worker processes; 0 plays in this process."""
    move_time: float | None = None
    """Seconds an agent may think on one move before it forfeits the game."""
    max_steps: int | None = None
    """Stop a game after this many actions (on top of the game's own episode cap)."""
    batch_size: int = 32
    """Games run in lockstep for a pairing with a batched agent; 0 plays them one by one."""
    replays: str | None = None
    """Folder to record replays in (default: none, a tournament can be thousands of games)."""
    ledger: str = DEFAULT_LEDGER
    """SQLite results ledger file."""
    anchor: str | None = None
    """Agent whose rating is fixed at ``anchor_elo`` (default: the first agent)."""
    anchor_elo: float = 0.0
    """Rating of the anchor agent."""
    csv: str | None = None
    """Write the leaderboard as CSV to this file."""
    json: str | None = None
    """Write the leaderboard as JSON to this file."""
    plugins: list[str] = field(default_factory=list)
    """Extra plugin files or folders, loaded by every worker process too."""

    def check(self) -> None:
        """One-line errors for settings that cannot work, before any game is played."""
        if not self.game:
            raise GamepitError("tournament: no game given (a GAME argument or 'game:' in YAML)")
        if not self.agents:
            raise GamepitError("tournament: no agents given")
        if len(set(self.agents)) != len(self.agents):
            raise GamepitError("tournament: an agent is listed twice")
        if self.format not in FORMATS:
            raise GamepitError(f"tournament: format must be one of {', '.join(FORMATS)}, "
                               f"not {self.format!r}")
        if self.games_per_pair < 1:
            raise GamepitError("tournament: games_per_pair must be at least 1")
        if self.batch_size < 0:
            raise GamepitError("tournament: batch_size must be 0 (no lockstep) or more")
        if self.workers < 0:
            raise GamepitError("tournament: workers must be 0 or more")
        if self.move_time is not None and self.move_time <= 0:
            raise GamepitError("tournament: move_time must be positive")
        if self.max_steps is not None and self.max_steps < 1:
            raise GamepitError("tournament: max_steps must be at least 1")
        # Folders are proven writable now, not after the last game has been played.
        if self.replays:
            writable_folder(self.replays, "tournament: replay folder")
        for what, file in (("ledger", self.ledger), ("csv", self.csv), ("json", self.json)):
            if file:
                writable_folder(Path(file).resolve().parent, f"tournament: {what} folder")


_TYPES: dict[str, tuple[type, ...]] = {
    "game": (str,), "agents": (list,), "name": (str,), "format": (str,),
    "gauntlet_agent": (str,), "games_per_pair": (int,), "seed": (int,), "workers": (int,),
    "move_time": (int, float), "max_steps": (int,), "batch_size": (int,), "replays": (str,),
    "ledger": (str,), "anchor": (str,), "anchor_elo": (int, float), "csv": (str,),
    "json": (str,), "plugins": (list,),
}


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML tournament file into a dict of checked settings (keys as TournamentConfig)."""
    from gamepit.config import load_yaml

    document = load_yaml(path)
    unknown = sorted(str(key) for key in document if key not in _TYPES)
    if unknown:
        raise GamepitError(f"{path}: unknown key(s) {', '.join(unknown)}; valid keys: "
                           f"{', '.join(_TYPES)}")
    for key, value in document.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, _TYPES[key]):
            kind = " or ".join(t.__name__ for t in _TYPES[key])
            raise GamepitError(f"{path}: {key} must be {kind}, not {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise GamepitError(f"{path}: {key} must be a list of strings (spec strings)")
    return {key: value for key, value in document.items() if value is not None}


# --------------------------------------------------------------------------- the schedule


@dataclass
class Slot:
    """One game of a tournament: which pairing, which game of it, who sits where, which seed."""

    pairing: list[str]
    game_index: int
    seated: list[str]  # agent specs by seat
    seed: int


@dataclass
class Task:
    """Games handed to one process: one game, or a lockstep group of one pairing."""

    slots: list[Slot]
    lockstep: bool = False


@dataclass
class PlaySettings:
    """What every process needs to play a task the same way."""

    game: str
    replays: str | None
    move_time: float | None
    max_steps: int | None


def pairings(agents: Sequence[str], form: str, gauntlet_agent: str | None,
             num_players: int) -> list[list[str]]:
    """The pairings of a tournament, in play order. The two specs of a pairing are in sorted
    order, so a pairing (and its games in the ledger) is the same however the agents are
    listed, and a gauntlet reuses the games of a round robin under the same name."""
    if num_players == 1:
        return [[agent] for agent in agents]
    if form == "gauntlet":
        challenger = gauntlet_agent or agents[0]
        return [sorted([challenger, other]) for other in agents if other != challenger]
    return [sorted([agents[i], agents[j]])
            for i in range(len(agents)) for j in range(i + 1, len(agents))]


def slots_of(pairing: list[str], games: int, seed: int) -> list[Slot]:
    """Every game of a pairing: seats alternate, and both seatings share a seed."""
    if len(pairing) == 1:
        return [Slot(pairing, i, list(pairing), seed + i) for i in range(games)]
    return [Slot(pairing, i, list(pairing) if i % 2 == 0 else pairing[::-1], seed + i // 2)
            for i in range(games)]


def plan_tasks(all_pairings: list[list[str]], games: int, seed: int, done: set[tuple[str, int]],
               batched: Callable[[str], bool], batch_size: int, workers: int = 0) -> list[Task]:
    """The games still to play, as tasks, interleaved across pairings so that a tournament cut
    short has played every pairing about equally. A pairing's lockstep groups are cut small
    enough that every worker process gets one."""
    per_pairing: list[list[Task]] = []
    for pairing in all_pairings:
        key = pairing_key(pairing)
        todo = [slot for slot in slots_of(pairing, games, seed)
                if (key, slot.game_index) not in done]
        if batch_size > 0 and any(batched(agent) for agent in pairing):
            size = max(1, min(batch_size, -(-len(todo) // max(workers, 1))))
            tasks = [Task(todo[i:i + size], lockstep=True) for i in range(0, len(todo), size)]
        else:
            tasks = [Task([slot]) for slot in todo]
        per_pairing.append(tasks)
    order = []
    for round_index in range(max((len(tasks) for tasks in per_pairing), default=0)):
        order += [tasks[round_index] for tasks in per_pairing if round_index < len(tasks)]
    return order


# --------------------------------------------------------------------------- playing


class _Table:
    """A process's games and agents, built once from spec strings and reused across games."""

    def __init__(self, manager: PluginManager, settings: PlaySettings) -> None:
        self.manager = manager
        self.settings = settings
        self.game: Game = manager.registry.make_game(settings.game)
        self.agents: dict[tuple[str, int], Agent] = {}

    def agent(self, spec: str, seat: int) -> Agent:
        if (spec, seat) not in self.agents:
            self.agents[(spec, seat)] = self.manager.registry.make_agent(spec)
        return self.agents[(spec, seat)]

    def close(self) -> None:
        for agent in self.agents.values():
            agent.close()

    def play(self, task: Task, on_record: Callable[[GameRecord], None]) -> None:
        if task.lockstep:
            play_lockstep(self, task.slots, on_record)
            return
        settings = self.settings
        for slot in task.slots:
            seated = [self.agent(spec, seat) for seat, spec in enumerate(slot.seated)]
            started = time.perf_counter()
            result = play_match(self.game, seated, slot.seed, slot.seated, settings.replays,
                                settings.move_time, self.manager, settings.max_steps)
            on_record(_game_record(slot, result, time.perf_counter() - started))


def _game_record(slot: Slot, result: MatchResult, seconds: float) -> GameRecord:
    return GameRecord(slot.pairing, slot.game_index, slot.seated, slot.seed, result.returns,
                      result.steps, round(seconds, 6), result.forfeit_seat,
                      result.forfeit_reason, result.replay_path)


def play_lockstep(table: _Table, slots: Sequence[Slot],
                  on_record: Callable[[GameRecord], None]) -> None:
    """Play the games of one pairing side by side. At every step, each batched agent (one
    instance per seat, reset once for the group) gets all its positions in one ``act_batch``
    call, whose time limit is ``move_time``; other agents get a fresh instance per game, reset
    with the game's seed as ``play_match`` would, and act one position at a time."""
    settings = table.settings
    started = time.perf_counter()
    live = [LiveMatch(table.game, slot.seed, slot.seated, settings.replays, settings.move_time,
                      table.manager, settings.max_steps) for slot in slots]
    seat_agents: list[list[Agent]] = []
    for slot in slots:
        agents = []
        for seat, spec in enumerate(slot.seated):
            shared = table.agent(spec, seat)
            agents.append(shared if shared.batched else table.manager.registry.make_agent(spec))
        seat_agents.append(agents)
    for index, match in enumerate(live):
        for seat, agent in enumerate(seat_agents[index]):
            first_for_shared = all(seat_agents[j][seat] is not agent for j in range(index))
            if agent.batched and not first_for_shared:
                continue
            match.reset(seat, agent)
            if agent.batched and match.forfeit_seat == seat:  # its whole group forfeits
                for j in range(index + 1, len(live)):
                    if seat_agents[j][seat] is agent:
                        live[j].forfeit(seat, match.forfeit_reason)
    finished = [False] * len(live)
    while True:
        for index, match in enumerate(live):
            if not finished[index] and match.over:
                finished[index] = True
                on_record(_game_record(slots[index], match.finish(),
                                       time.perf_counter() - started))
        waiting: dict[int, list[int]] = {}  # id of the agent to move -> games
        for index, match in enumerate(live):
            if not finished[index]:
                agent = seat_agents[index][match.state.current_player]
                waiting.setdefault(id(agent), []).append(index)
        if not waiting:
            break
        for indexes in waiting.values():
            seat = live[indexes[0]].state.current_player
            agent = seat_agents[indexes[0]][seat]
            if agent.batched:
                act_together(agent, [live[i] for i in indexes], seat)
            else:
                act_alone(agent, live[indexes[0]], seat)
    for agents in seat_agents:
        for agent in agents:
            if not agent.batched:
                agent.close()


# --------------------------------------------------------------------------- worker processes

_WORKER: dict[str, Any] = {}


def _worker_start(plugin_paths: list[str], settings: PlaySettings, parent: int) -> None:
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    manager = get_manager(plugin_paths, refresh=True)
    _WORKER["table"] = _Table(manager, settings)


def _watch_parent(parent: int) -> None:
    """Leave when the tournament process dies. A killed parent never tells its pool, and the
    workers would otherwise wait for work forever (they hold their queue's pipe open)."""
    while _alive(parent):
        time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed parent not yet reaped is a zombie: as good as dead
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def _worker_play(task: Task) -> list[GameRecord]:
    records: list[GameRecord] = []
    try:
        _WORKER["table"].play(task, records.append)
    except GamepitError as error:  # some subclasses do not survive pickling; the text does
        raise GamepitError(str(error)) from None
    return records


def _mp_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def run_tasks(tasks: list[Task], settings: PlaySettings, workers: int, manager: PluginManager,
              plugin_paths: Sequence[str], on_record: Callable[[GameRecord], None]) -> None:
    """Play every task, here (``workers=0``) or in worker processes, calling ``on_record`` in
    this process for each finished game as soon as it is known."""
    if workers == 0:
        table = _Table(manager, settings)
        try:
            for task in tasks:
                table.play(task, on_record)
        finally:
            table.close()
        return
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                                   initializer=_worker_start,
                                   initargs=(list(plugin_paths), settings, os.getpid()))
    pending: set[Future] = set()
    queue = list(reversed(tasks))
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # a few queued, so no worker idles
                pending.add(executor.submit(_worker_play, queue.pop()))
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    records = future.result()
                except BrokenProcessPool:
                    raise GamepitError("a worker process died (killed, or a game or agent "
                                       "crashed it); finished games are in the ledger: run "
                                       "the same command again to continue") from None
                for record in records:
                    on_record(record)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- tournaments


@dataclass
class TournamentOutcome:
    """What a tournament run did and where it stands."""

    name: str
    game: str
    anchor: str
    played_now: int
    already: int
    leaderboard: list[Standing] | list[ScoreLine]
    forfeits: list[str]


def canonical_spec(manager: PluginManager, kind: str, spec: str) -> str:
    """The spec string as the registry writes it, so equal agents compare equal."""
    entry, options = manager.registry.parse(kind, spec)
    return format_spec(entry.name, options)


def run_tournament(config: TournamentConfig, manager: PluginManager | None = None,
                   on_record: Callable[[GameRecord], None] | None = None) -> TournamentOutcome:
    """Play what the ledger lacks of a tournament, then rate everything the ledger holds."""
    manager = manager or get_manager(config.plugins)
    config.check()
    game = manager.registry.make_game(config.game)
    game_spec = game.spec or game.name
    agents = [canonical_spec(manager, "agent", spec) for spec in config.agents]
    if len(set(agents)) != len(agents):
        raise GamepitError("tournament: two agent specs name the same agent")
    anchor = canonical_spec(manager, "agent", config.anchor) if config.anchor else agents[0]
    challenger = (canonical_spec(manager, "agent", config.gauntlet_agent)
                  if config.gauntlet_agent else agents[0])
    for role, spec in (("anchor", anchor), ("gauntlet agent", challenger)):
        if spec not in agents:
            raise GamepitError(f"tournament: the {role} {spec!r} is not one of the agents")
    if game.num_players > 2:
        raise GamepitError(f"tournament: {game_spec} has {game.num_players} players; "
                           "tournaments take one- and two-player games")
    if game.num_players == 2 and len(agents) < 2:
        raise GamepitError("tournament: a two-player game needs at least two agents")
    batched = {}
    for spec in agents:  # built once here too: a bad spec fails before any game starts
        agent = manager.registry.make_agent(spec)
        batched[spec] = bool(getattr(agent, "batched", False))
        agent.close()
    name = config.name or game_spec
    all_pairings = pairings(agents, config.format, challenger, game.num_players)
    settings = PlaySettings(game_spec, config.replays, config.move_time, config.max_steps)
    with Ledger(config.ledger) as ledger:
        ledger.open_tournament(name, game_spec, config.seed, _settings_record(config))
        done = ledger.done(name)
        wanted = {(pairing_key(p), i) for p in all_pairings
                  for i in range(config.games_per_pair)}
        already = len(wanted & done)
        tasks = plan_tasks(all_pairings, config.games_per_pair, config.seed, done,
                           batched.__getitem__, config.batch_size, config.workers)
        played = 0

        def record(result: GameRecord) -> None:
            nonlocal played
            if ledger.record(name, game_spec, result):
                played += 1
            if on_record:
                on_record(result)

        run_tasks(tasks, settings, config.workers, manager, config.plugins, record)
        results = [r for r in ledger.results(name)
                   if (pairing_key(r.pairing), r.game_index) in wanted]
    forfeits = [f"{r.agents[r.forfeit_seat]} forfeited game {r.game_index} of "
                f"{' vs '.join(r.pairing)}: {r.forfeit_reason}"
                for r in results if r.forfeit_seat is not None]
    if game.num_players == 1:
        scores: dict[str, list[float]] = {agent: [] for agent in agents}
        for r in results:
            scores[r.agents[0]].append(r.returns[0])
        board: list[Standing] | list[ScoreLine] = score_table(scores, atari_reference(manager,
                                                                                      game_spec))
    else:
        board = fit_ratings(agents, [(r.pairing[0], r.pairing[1], r.score_of(r.pairing[0]))
                                     for r in results], anchor, config.anchor_elo)
    return TournamentOutcome(name, game_spec, anchor, played, already, board, forfeits)


def _settings_record(config: TournamentConfig) -> dict[str, Any]:
    return {key: value for key, value in asdict(config).items() if key not in ("csv", "json")}


def atari_reference(manager: PluginManager, game_spec: str) -> tuple[float, float] | None:
    """(random, human) reference scores when the game spec names a known Atari game through
    its ``game`` option (``atari:game=pong``), else None."""
    try:
        _, options = manager.registry.parse("game", game_spec)
    except GamepitError:
        return None
    name = options.get("game")
    if not isinstance(name, str):
        return None
    return ATARI_REFERENCES.get(name.lower().replace("-", "_"))


# --------------------------------------------------------------------------- command line


def _add_tournament_command(subparsers: argparse._SubParsersAction) -> None:
    from gamepit.cli import _add

    p = _add(subparsers, "tournament",
             "Round robin or gauntlet with ratings; resumable from the SQLite ledger.",
             "gamepit tournament connect_four random alphabeta:depth=1 alphabeta:depth=3 "
             "--games 20\n"
             "gamepit tournament connect_four random alphabeta mcts --format gauntlet "
             "--gauntlet-agent mcts --workers 2\n"
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
    p.add_argument("--games", "-n", dest="games_per_pair", type=int,
                   help="games per pairing, seats alternating (default 2)")
    p.add_argument("--seed", type=int, help="base seed (default 0)")
    p.add_argument("--workers", "-w", type=int,
                   help="worker processes; 0 plays in this process (default 0)")
    p.add_argument("--batch-size", type=int,
                   help="games played in lockstep for batched agents (default 32; 0: none)")
    p.add_argument("--move-time", type=float, metavar="SECONDS",
                   help="forfeit an agent that thinks longer than this on a move")
    p.add_argument("--max-steps", type=int, help="cut each game off after this many actions")
    p.add_argument("--ledger", metavar="PATH", help=f"SQLite ledger (default {DEFAULT_LEDGER})")
    p.add_argument("--replays", metavar="DIR", help="record replays in this folder (default off)")
    p.add_argument("--anchor", metavar="SPEC", help="agent fixed at --anchor-elo (default first)")
    p.add_argument("--anchor-elo", type=float, help="the anchor's rating (default 0)")
    p.add_argument("--list", action="store_true",
                   help="list the tournaments in the ledger and how many games each holds")
    p.add_argument("--csv", metavar="FILE", help="also write the leaderboard as CSV")
    p.add_argument("--json", metavar="FILE", help="also write the leaderboard as JSON")
    p.set_defaults(func=cmd_tournament)


def config_from_args(args: argparse.Namespace) -> TournamentConfig:
    """YAML settings (if ``--config``), overridden by every flag given on the command line."""
    settings = load_config(args.config) if args.config else {}
    if args.game is not None:
        settings["game"] = args.game
    if args.agents:
        settings["agents"] = list(args.agents)
    names = {f.name for f in fields(TournamentConfig)} - {"game", "agents", "plugins"}
    for name in names:
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    settings["plugins"] = list(settings.get("plugins", [])) + list(args.plugins or [])
    return TournamentConfig(**settings)


def cmd_tournament(args: argparse.Namespace, manager: PluginManager) -> int:
    from gamepit.cli import _Progress

    if args.list:
        return _list_tournaments(args.ledger or DEFAULT_LEDGER)
    config = config_from_args(args)
    if config.plugins != list(args.plugins or []):
        manager = get_manager(config.plugins, refresh=True)  # the YAML named more plugins
    config.check()
    total = _games_in(config)
    with _Progress(total, "games") as progress:
        outcome = run_tournament(config, manager, on_record=lambda record: progress.advance())
    form = "single-player" if outcome.leaderboard and isinstance(outcome.leaderboard[0],
                                                                 ScoreLine) else config.format
    print(f"tournament {outcome.name!r} on {outcome.game} ({form}): {outcome.played_now} games "
          f"played now, {outcome.already} already in {config.ledger}")
    print(format_leaderboard(outcome.leaderboard))
    if any(getattr(row, "normalised", None) is not None for row in outcome.leaderboard):
        print("human-normalised: 100 (score - random) / (human - random) with the published "
              "Atari references, which were measured on full episodes (up to 108,000 frames); "
              "shorter episode caps understate it")
    if isinstance(outcome.leaderboard[0], Standing):
        print(f"Elo from a Bradley-Terry fit (draws as half wins), anchored at {outcome.anchor} = "
              f"{config.anchor_elo:g}; 95% intervals relative to the anchor")
    for line in outcome.forfeits[:10]:
        print(f"  forfeit: {line}")
    if len(outcome.forfeits) > 10:
        print(f"  ... and {len(outcome.forfeits) - 10} more forfeits")
    extra: dict[str, Any] = {"tournament": outcome.name, "game": outcome.game, "format": form,
                             "games_per_pair": config.games_per_pair}
    if form == "single-player":
        extra["model"] = "mean episode score, 95% normal interval; human-normalised in percent"
    else:
        extra.update(anchor=outcome.anchor, anchor_elo=config.anchor_elo,
                     model="bradley-terry maximum likelihood, draws as half wins, one virtual "
                           "draw per pairing; 95% intervals from the observed information")
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
    with Ledger(path) as ledger:
        rows = ledger.tournaments()
    if not rows:
        print(f"no tournaments in {path}")
    for name, game, games in rows:
        print(f"{name!r:<32} {game:<28} {games:>7} games")
    return 0


def _games_in(config: TournamentConfig) -> int:
    """Games in the whole tournament, for the progress bar (a re-run finishes it early)."""
    n = len(config.agents)
    pairs = n * (n - 1) // 2 if config.format == "round_robin" else n - 1
    return max(pairs, 1) * config.games_per_pair


@hookimpl
def gamepit_add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_tournament_command(subparsers)


__all__ = [
    "PlaySettings", "Slot", "Task", "TournamentConfig", "TournamentOutcome", "load_config",
    "pairings", "plan_tasks", "play_lockstep", "run_tasks",
    "run_tournament", "slots_of",
]
