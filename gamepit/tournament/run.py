"""Running a tournament: play what the ledger lacks, then rate everything the ledger holds."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from gamepit.arena import ScoreLine, SeriesResult, score_table
from gamepit.arena.match import MatchSettings
from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager, get_manager
from gamepit.specs import granted_engines
from gamepit.tournament.config import TournamentConfig
from gamepit.tournament.ledger import GameRecord, Ledger, pairing_key
from gamepit.tournament.ratings import Standing, rate_games
from gamepit.tournament.schedule import pairings, plan_tasks
from gamepit.tournament.workers import PlaySettings, build_agent, run_tasks, set_start_time


@dataclass
class TournamentOutcome:
    """What a tournament run did and where it stands."""

    name: str
    game: str
    anchors: dict[str, float]
    played_now: int
    already: int
    leaderboard: list[Standing] | list[ScoreLine]
    forfeits: list[str]
    gauntlet: list[SeriesResult] = field(default_factory=list)  # the challenger's pairings


def run_tournament(config: TournamentConfig, manager: PluginManager | None = None,
                   on_record: Callable[[GameRecord], None] | None = None,
                   on_plan: Callable[[int, int], None] | None = None) -> TournamentOutcome:
    """Play what the ledger lacks of a tournament, then rate everything the ledger holds.
    ``on_plan(games in the schedule, games already in the ledger)`` hears the plan before the
    first game; ``on_record`` hears each game as it ends."""
    manager = manager or get_manager(config.plugins)
    config.check()
    game = manager.registry.make_game(config.game)
    game_spec = game.spec or game.name
    agents = [manager.registry.canonical("agent", spec) for spec in config.agents]
    if len(set(agents)) != len(agents):
        raise GamepitError("tournament: two agent specs name the same agent")
    anchors = resolve_anchors(config.anchor, config.anchor_elo, agents,
                              lambda spec: manager.registry.canonical("agent", spec))
    challenger = (manager.registry.canonical("agent", config.gauntlet_agent)
                  if config.gauntlet_agent else agents[0])
    if challenger not in agents:
        raise GamepitError(f"tournament: the gauntlet agent {challenger!r} is not one of the "
                           "agents")
    if game.num_players > 2:
        raise GamepitError(f"tournament: {game_spec} has {game.num_players} players; "
                           "tournaments take one- and two-player games")
    if game.num_players == 2 and len(agents) < 2:
        raise GamepitError("tournament: a two-player game needs at least two agents")
    batched = {}
    set_start_time(config.start_time)
    for spec in agents:  # built once here too: a bad spec fails before any game starts
        agent = build_agent(manager, spec, game)
        batched[spec] = bool(getattr(agent, "batched", False))
        agent.close()
    name = config.name or game_spec
    all_pairings = pairings(agents, config.format, challenger, game.num_players)
    settings = PlaySettings(game_spec, MatchSettings(replay_dir=config.replays,
                                                     move_time=config.move_time,
                                                     max_steps=config.max_steps),
                            config.isolate, list(config.plugins), granted_engines(),
                            config.start_time)
    with Ledger(config.ledger) as ledger:
        ledger.open_tournament(name, game_spec, config.seed, _settings_record(config))
        ledger.set_anchors(name, anchors)  # the viewer rates the ledger on the same scale
        done = ledger.done(name)
        wanted = {(pairing_key(p), i) for p in all_pairings
                  for i in range(config.games_per_pair)}
        already = len(wanted & done)
        if on_plan is not None:
            on_plan(len(wanted), already)
        tasks = plan_tasks(all_pairings, config.games_per_pair, config.seed, done,
                           batched.__getitem__, 0 if config.isolate else config.batch_size,
                           config.workers)
        played = 0

        def record(result: GameRecord) -> None:
            nonlocal played
            if ledger.record(name, game_spec, result):
                played += 1
            if on_record:
                on_record(result)

        run_tasks(tasks, settings, config.workers, manager, config.plugins, record,
                  config.executor, config.ray_address)
        recorded = ledger.results(name)  # every game under this name: the table rates them all
        results = [r for r in recorded if (pairing_key(r.pairing), r.game_index) in wanted]
    forfeits = [f"{r.agents[r.forfeit_seat]} forfeited game {r.game_index} of "
                f"{' vs '.join(r.pairing)}: {r.forfeit_reason}"
                for r in results if r.forfeit_seat is not None]
    if game.num_players == 1:
        scores: dict[str, list[float]] = {agent: [] for agent in agents}
        for r in recorded:
            scores.setdefault(r.agents[0], []).append(r.returns[0])
        board: list[Standing] | list[ScoreLine] = score_table(scores, game.reference_scores)
    else:
        board = rate_games(agents, [(r.pairing[0], r.pairing[1], r.score_of(r.pairing[0]))
                                    for r in recorded], anchors)
    gauntlet = []
    if config.format == "gauntlet" and game.num_players == 2:
        for opponent in (agent for agent in agents if agent != challenger):
            series = SeriesResult((challenger, opponent))
            for r in recorded:
                if set(r.pairing) == {challenger, opponent}:
                    points = r.score_of(challenger)
                    series.wins += points == 1.0
                    series.draws += points == 0.5
                    series.losses += points == 0.0
            gauntlet.append(series)
    return TournamentOutcome(name, game_spec, anchors, played, already, board, forfeits,
                             gauntlet)


def resolve_anchors(items: list[str] | str | None, default_elo: float, agents: list[str],
                    canonical: Callable[[str], str]) -> dict[str, float]:
    """``SPEC=ELO`` items (or ``SPEC``, at ``default_elo``) as {canonical spec: Elo}. A spec
    holds '=' itself (``mcts:sims=400``), so an item that names an agent whole is a spec;
    otherwise the text after its last '=' is the rating."""
    anchors: dict[str, float] = {}
    for item in [items] if isinstance(items, str) else list(items or []):
        spec, elo = item, default_elo
        try:
            whole = canonical(item)
        except GamepitError:
            whole = ""
        if whole not in agents and "=" in item:
            head, _, tail = item.rpartition("=")
            try:
                spec, elo = head, float(tail)
            except ValueError:
                spec = item
            if not math.isfinite(elo) or abs(elo) > 10**5:
                raise GamepitError(f"tournament: anchor {item!r}: the rating must be a "
                                   "finite number within 100000")
        try:
            spec = canonical(spec.strip())
        except GamepitError:
            pass
        if spec not in agents:
            raise GamepitError(f"tournament: the anchor {spec!r} is not one of the agents "
                               "(give --anchor SPEC=ELO with SPEC as in the line-up)")
        anchors[spec] = elo
    return anchors


def _settings_record(config: TournamentConfig) -> dict[str, Any]:
    return {key: value for key, value in asdict(config).items() if key not in ("csv", "json")}
