"""Series of games, the results people read: two agents with seats alternating (stopped early
when the caller's test decides), and agents on the same seeds of a one-player game with their
mean scores compared. The match command, the learners' evaluation and the tournament's
one-player table all come through here."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gamepit.arena.lockstep import play_match
from gamepit.arena.match import PLAIN, MatchSettings
from gamepit.errors import GamepitError
from gamepit.protocols import Agent, Game, MatchResult

Z95 = 1.959963984540054


def wilson_interval(score: float, games: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a mean score (draws counted as half a win) over ``games``
    games: unlike mean +- z standard errors it never collapses to a point, so 10 wins out of
    10 give 0.72..1 rather than 1..1. No games: 0..1."""
    if games <= 0:
        return 0.0, 1.0
    spread = z * z / games
    centre = (score + spread / 2) / (1 + spread)
    half = z * math.sqrt(score * (1 - score) / games + spread / (4 * games)) / (1 + spread)
    low = 0.0 if score <= 0 else max(0.0, centre - half)
    return low, 1.0 if score >= 1 else min(1.0, centre + half)


# --------------------------------------------------------------------------- two agents


@dataclass
class SeriesResult:
    """Results of a series between two agents, from the first agent's point of view."""

    agent_specs: tuple[str, str]
    wins: int = 0
    draws: int = 0
    losses: int = 0
    forfeits: list[str] = field(default_factory=list)
    replays: list[str] = field(default_factory=list)
    replay_errors: list[str] = field(default_factory=list)  # replays asked for, not written

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    def score(self) -> tuple[float, float, float]:
        """Mean score (win 1, draw 0.5) with its 95% Wilson score interval."""
        n = self.games
        mean = (self.wins + 0.5 * self.draws) / n if n else 0.0
        return (mean, *wilson_interval(mean, n))

    def summary(self) -> str:
        mean, low, high = self.score()
        a, b = self.agent_specs
        return (f"{a} vs {b}: {self.games} games, +{self.wins} ={self.draws} -{self.losses}, "
                f"score {mean:.3f} (95% {low:.3f}..{high:.3f})")


def play_series(game: Game, agents: Sequence[Agent], games: int, seed: int = 0,
                agent_specs: Sequence[str] | None = None,
                settings: MatchSettings = PLAIN, *,
                on_result: Callable[[int, MatchResult], None] | None = None,
                stop: Callable[[float], object] | None = None) -> SeriesResult:
    """``games`` games between two agents with seats alternating; game ``i`` uses seed
    ``seed + i``. ``on_result(i, result)`` hears each game; ``stop(score)`` hears the first
    agent's score of each game (1, 0.5 or 0) and ends the series when it answers true (an
    SPRT's update, which answers once the test decides)."""
    specs = list(agent_specs or [getattr(a, "spec", type(a).__name__) for a in agents])
    series = SeriesResult((specs[0], specs[1]))
    for i in range(games):
        swap = i % 2 == 1
        seated = [agents[1], agents[0]] if swap else [agents[0], agents[1]]
        seated_specs = [specs[1], specs[0]] if swap else [specs[0], specs[1]]
        result = play_match(game, seated, seed + i, seated_specs, settings)
        outcome = result.outcome(1 if swap else 0)
        if outcome == 1.0:
            series.wins += 1
        elif outcome == 0.0:
            series.losses += 1
        else:
            series.draws += 1
        if result.forfeit_seat is not None:
            who = seated_specs[result.forfeit_seat]
            series.forfeits.append(f"game {i}: {who} forfeited ({result.forfeit_reason})")
        if result.replay_path:
            series.replays.append(result.replay_path)
        if result.replay_error:
            series.replay_errors.append(result.replay_error)
        if on_result is not None:
            on_result(i, result)
        if stop is not None and stop(outcome):
            break
    return series


# --------------------------------------------------------------------------- same seeds


@dataclass
class ScoreLine:
    """One agent's line of a one-player leaderboard."""

    rank: int
    agent: str
    episodes: int
    mean: float
    low: float  # 95% interval of the mean score
    high: float
    normalised: float | None  # human-normalised mean score in percent, where references exist


def human_normalised(score: float, reference: tuple[float, float] | None) -> float | None:
    """``100 * (score - random) / (human - random)``: 0 plays like random, 100 like a human."""
    if reference is None:
        return None
    random_score, human_score = reference
    return 100.0 * (score - random_score) / (human_score - random_score)


def score_table(scores: dict[str, Sequence[float]],
                reference: tuple[float, float] | None = None) -> list[ScoreLine]:
    """Mean episode score per agent with a 95% interval (normal approximation from the sample
    spread; zero width with one episode), best first."""
    lines = []
    for agent, values in scores.items():
        values = np.asarray(values, dtype=float)
        if len(values) == 0:
            lines.append(ScoreLine(0, agent, 0, math.nan, math.nan, math.nan, None))
            continue
        mean = float(values.mean())
        half = (Z95 * float(values.std(ddof=1)) / math.sqrt(len(values))
                if len(values) > 1 else 0.0)
        lines.append(ScoreLine(0, agent, len(values), mean, mean - half, mean + half,
                               human_normalised(mean, reference)))
    lines.sort(key=lambda line: (-(line.mean if line.episodes else -math.inf), line.agent))
    for rank, line in enumerate(lines, 1):
        line.rank = rank
    return lines


def format_scores(rows: Sequence[ScoreLine]) -> str:
    """A one-player leaderboard as a plain-text table."""
    width = max([5] + [len(row.agent) for row in rows])
    lines = [f"{'rank':>4}  {'agent':<{width}}  {'episodes':>8}  {'mean':>10}  "
             f"{'95% interval':>23}  {'human-norm':>10}"]
    for row in rows:
        normalised = "" if row.normalised is None else f"{row.normalised:.1f}%"
        lines.append(f"{row.rank:>4}  {row.agent:<{width}}  {row.episodes:>8}  "
                     f"{row.mean:>10.2f}  {row.low:>10.2f} .. {row.high:>10.2f}  "
                     f"{normalised:>10}")
    return "\n".join(lines)


def compare_on_seeds(game: Game, agents: dict[str, Agent], episodes: int, seed: int = 0,
                     settings: MatchSettings = PLAIN, *,
                     on_result: Callable[[str, int, MatchResult], None] | None = None
                     ) -> dict[str, list[float]]:
    """Every agent (by label) plays episodes ``seed .. seed + episodes - 1`` of a one-player
    game; the same seeds, so differences come from the agents. Returns the scores by label,
    in seed order (``score_table`` turns them into a leaderboard)."""
    if game.num_players != 1:
        raise GamepitError(f"{game.spec or game.name} has {game.num_players} players; "
                           "same-seed comparison is for one-player games")
    scores: dict[str, list[float]] = {label: [] for label in agents}
    for i in range(episodes):
        for label, agent in agents.items():
            result = play_match(game, [agent], seed + i, [label], settings)
            scores[label].append(result.returns[0])
            if on_result is not None:
                on_result(label, i, result)
    return scores
