"""Ratings from game results: a Bradley-Terry fit on the Elo scale, and the leaderboard as a
table, CSV and JSON (one-player games are ranked by mean score: ``gamepit.arena.score_table``).

Model. Each game between agents i and j gives i a score of 1 (win), 1/2 (draw) or 0 (loss).
Bradley-Terry with draws counted as half a win for each side (not Davidson's draw model):
the expected score of i against j is ``1 / (1 + 10 ** ((R_j - R_i) / 400))``, the logistic Elo
curve, and the ratings R are the maximum-likelihood fit over every result at once (so the order
in which games were played does not matter, unlike incremental Elo updates). The fit is a
Newton iteration on the concave log-likelihood, in numpy only.

Prior. An agent that won (or lost) every game has no finite maximum-likelihood rating. Every
pair of agents that met gets ``prior_draws`` virtual drawn games (default 1), as BayesElo does,
which pulls ratings towards each other a little and keeps every fit finite; with hundreds of
real games the pull is negligible.

Which games. A tournament's table is rated over every game recorded under its name in the
ledger (``rate_games``), not only the pairings of the command that printed it: a gauntlet run
later under the same name adds to the league. An agent with no chain of games to the anchor
cannot be put on the anchor's scale; it is listed after the rated agents, unrated (elo NaN,
rank 0), with its results.

Intervals. 95% intervals come from the observed Fisher information (the Hessian of the
log-likelihood at the fit, with the prior included) and are relative to the anchor agent, whose
rating is fixed and whose interval is therefore zero. Since a draw is scored like half a win
and half a loss, the per-game variance is overstated when there are many draws, so the intervals
err on the wide side.

numpy only, no torch.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from gamepit.arena.series import Z95, ScoreLine, format_scores
from gamepit.errors import GamepitError
from gamepit.files import atomic_write

ELO_PER_NATURAL = 400.0 / math.log(10.0)  # one unit of natural-log strength, in Elo points


# --------------------------------------------------------------------------- Bradley-Terry


@dataclass
class Standing:
    """One agent's line of the leaderboard."""

    rank: int
    agent: str
    elo: float
    minus: float  # the 95% interval is elo - minus .. elo + plus
    plus: float
    games: int
    score: float  # share of points: (wins + draws / 2) / games
    wins: int
    draws: int
    losses: int


def fit_ratings(agents: Sequence[str], games: Iterable[tuple[str, str, float]],
                anchors: Mapping[str, float] | None = None,
                prior_draws: float = 1.0) -> list[Standing]:
    """Fit Elo ratings to ``games``, each ``(agent_a, agent_b, score of agent_a)``.

    ``anchors`` fixes those agents at the given ratings (several may be fixed, as Ordo and
    BayesElo allow) and the intervals are relative to them. Without anchors the scale's zero is
    the mean rating of the agents, and the intervals are relative to that mean. Returns the
    leaderboard, best first. Raises GamepitError when some agent has no chain of games to the
    anchors (to the others, without anchors), since then no result ties its rating to theirs.
    """
    agents = list(agents)
    if not agents:
        raise GamepitError("ratings: no agents")
    anchors = dict(anchors or {})
    for anchor in anchors:
        if anchor not in agents:
            raise GamepitError(f"ratings: anchor {anchor!r} is not one of the agents: "
                               f"{', '.join(agents)}")
    index = {agent: i for i, agent in enumerate(agents)}
    n = len(agents)
    played = np.zeros((n, n))  # games between i and j (symmetric)
    points = np.zeros((n, n))  # points i scored against j
    tally = np.zeros((n, 3), dtype=int)  # wins, draws, losses
    for a, b, score in games:
        if a not in index or b not in index:
            unknown = a if a not in index else b
            raise GamepitError(f"ratings: result for unknown agent {unknown!r}")
        if score not in (0.0, 0.5, 1.0):
            raise GamepitError(f"ratings: a game's score must be 0, 0.5 or 1, not {score!r}")
        i, j = index[a], index[b]
        if i == j:
            continue
        played[i, j] += 1
        played[j, i] += 1
        points[i, j] += score
        points[j, i] += 1.0 - score
        column = 0 if score == 1.0 else 1 if score == 0.5 else 2
        tally[i, column] += 1
        tally[j, 2 - column] += 1
    _check_connected(agents, played, [index[a] for a in anchors] or [0])
    met = played > 0
    weights = played + prior_draws * met
    scored = points + 0.5 * prior_draws * met
    fixed = ({index[a]: elo / ELO_PER_NATURAL for a, elo in anchors.items()} if anchors
             else {0: 0.0})
    strength, covariance = _newton(weights, scored, fixed)
    if not anchors:  # the mean is the zero: shift, and make the covariance relative to it
        centre = np.eye(n) - np.full((n, n), 1.0 / n)
        strength = centre @ strength
        covariance = centre @ covariance @ centre.T
    standings = []
    for i, agent in enumerate(agents):
        elo = strength[i] * ELO_PER_NATURAL
        half = Z95 * math.sqrt(max(covariance[i, i], 0.0)) * ELO_PER_NATURAL
        games_played = int(tally[i].sum())
        score = (tally[i, 0] + 0.5 * tally[i, 1]) / games_played if games_played else 0.0
        standings.append(Standing(0, agent, elo, half, half, games_played, score,
                                  int(tally[i, 0]), int(tally[i, 1]), int(tally[i, 2])))
    standings.sort(key=lambda s: (-s.elo, s.agent))
    for rank, standing in enumerate(standings, 1):
        standing.rank = rank
    return standings


def rate_games(agents: Sequence[str], games: Iterable[tuple[str, str, float]],
               anchors: Mapping[str, float] | None = None,
               prior_draws: float = 1.0) -> list[Standing]:
    """Ratings over every game in ``games`` (each ``(agent_a, agent_b, score of agent_a)``),
    for ``agents`` and every other agent the games name: the one function behind the CLI, its
    CSV and JSON, and the viewer. ``anchors`` fixes agents at given ratings; without them the
    mean rating is 0. Agents that no games connect to an anchor (without anchors: to the first
    of ``agents``) are appended unrated: elo, minus and plus NaN, rank 0."""
    games = list(games)
    names = list(dict.fromkeys([*agents, *(name for a, b, _ in games for name in (a, b))]))
    if not names:
        raise GamepitError("ratings: no agents")
    anchors = dict(anchors or {})
    for anchor in anchors:
        if anchor not in names:
            raise GamepitError(f"ratings: anchor {anchor!r} is not one of the agents")
    linked, frontier = set(anchors or names[:1]), list(anchors or names[:1])
    while frontier:
        name = frontier.pop()
        for a, b, _ in games:
            if name in (a, b) and a != b:
                other = b if name == a else a
                if other not in linked:
                    linked.add(other)
                    frontier.append(other)
    rated = [name for name in names if name in linked]
    standings = fit_ratings(rated, [g for g in games if g[0] in linked], anchors, prior_draws)
    for name in names:
        if name in linked:
            continue
        wins = draws = losses = 0
        for a, b, score in games:
            if name in (a, b) and a != b:
                mine = score if name == a else 1.0 - score
                wins += mine == 1.0
                draws += mine == 0.5
                losses += mine == 0.0
        played = wins + draws + losses
        standings.append(Standing(0, name, math.nan, math.nan, math.nan, played,
                                  (wins + 0.5 * draws) / played if played else 0.0,
                                  wins, draws, losses))
    return standings


def scale_note(anchors: Mapping[str, float]) -> str:
    """One line that says where the scale's zero is, printed under every leaderboard."""
    if not anchors:
        return ("Elo from a Bradley-Terry fit (draws as half wins); no anchor: the mean rating "
                "is 0; 95% intervals relative to that mean")
    pinned = ", ".join(f"{agent} = {elo:g}" for agent, elo in anchors.items())
    return (f"Elo from a Bradley-Terry fit (draws as half wins), anchored at {pinned}; 95% "
            "intervals relative to the anchors")


def _check_connected(agents: Sequence[str], played: np.ndarray, anchors: list[int]) -> None:
    reached, frontier = set(anchors), list(anchors)
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(played[i]):
            if int(j) not in reached:
                reached.add(int(j))
                frontier.append(int(j))
    apart = [agents[i] for i in range(len(agents)) if i not in reached]
    if apart:
        names = ", ".join(repr(agents[i]) for i in anchors)
        raise GamepitError(f"ratings: no games connect {', '.join(apart)} to {names}; play "
                           "them against the others first")


def _log_likelihood(strength: np.ndarray, scored: np.ndarray) -> float:
    difference = strength[:, None] - strength[None, :]
    # log of the logistic curve, written to stay finite for large differences
    return float(np.sum(scored * -np.logaddexp(0.0, -difference)))


def _newton(weights: np.ndarray, scored: np.ndarray, fixed: Mapping[int, float],
            tolerance: float = 1e-10, max_iterations: int = 100
            ) -> tuple[np.ndarray, np.ndarray]:
    """Maximise the Bradley-Terry log-likelihood over natural-log strengths with the ``fixed``
    agents held at their strengths. Returns the strengths and their covariance (inverse
    observed information; zero for the fixed agents)."""
    n = len(weights)
    free = np.array([i for i in range(n) if i not in fixed], dtype=int)
    strength = np.zeros(n)
    for i, value in fixed.items():
        strength[i] = value
    likelihood = _log_likelihood(strength, scored)
    information = np.zeros((n, n))
    for _ in range(max_iterations):
        expected = 1.0 / (1.0 + np.exp(-(strength[:, None] - strength[None, :])))
        gradient = (scored - weights * expected).sum(axis=1)
        curvature = weights * expected * (1.0 - expected)
        information = np.diag(curvature.sum(axis=1)) - curvature
        if len(free) == 0:
            break
        step = np.zeros(n)
        step[free] = np.linalg.solve(information[np.ix_(free, free)], gradient[free])
        # The log-likelihood is concave, so a Newton step only needs shortening when it
        # overshoots; halve it until the likelihood does not drop.
        scale = 1.0
        while scale > 1e-6:
            trial = strength + scale * step
            trial_likelihood = _log_likelihood(trial, scored)
            if trial_likelihood >= likelihood - 1e-12:
                break
            scale /= 2
        strength, likelihood = trial, trial_likelihood
        if np.max(np.abs(scale * step)) < tolerance:
            break
    covariance = np.zeros((n, n))
    if len(free):
        covariance[np.ix_(free, free)] = np.linalg.inv(information[np.ix_(free, free)])
    return strength, covariance


# --------------------------------------------------------------------------- output


def format_leaderboard(rows: Sequence[Standing] | Sequence[ScoreLine]) -> str:
    """The leaderboard as a plain-text table for the terminal."""
    if rows and isinstance(rows[0], ScoreLine):
        return format_scores(rows)  # type: ignore[arg-type]
    width = max([5] + [len(row.agent) for row in rows])
    lines = [f"{'rank':>4}  {'agent':<{width}}  {'elo':>7}  {'-/+ 95%':>9}  {'games':>6}  "
             f"{'score':>6}  {'W':>5}  {'D':>5}  {'L':>5}"]
    for row in rows:
        if math.isnan(row.elo):  # no games link it to the anchor
            lines.append(f"{'-':>4}  {row.agent:<{width}}  {'unrated':>7}  {'':>9}  "
                         f"{row.games:>6}  {row.score:>6.3f}  {row.wins:>5}  {row.draws:>5}  "
                         f"{row.losses:>5}")
            continue
        interval = f"{row.minus:.0f}/{row.plus:.0f}"
        lines.append(f"{row.rank:>4}  {row.agent:<{width}}  {row.elo:>7.1f}  {interval:>9}  "
                     f"{row.games:>6}  {row.score:>6.3f}  {row.wins:>5}  {row.draws:>5}  "
                     f"{row.losses:>5}")
    return "\n".join(lines)


def write_csv(rows: Sequence[Standing] | Sequence[ScoreLine], path: str) -> None:
    """The leaderboard as CSV, one agent a row, columns named as the dataclass fields."""
    records = [asdict(row) for row in rows]
    with atomic_write(path) as partial, partial.open("w", newline="", encoding="utf-8") as handle:
        if records:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)


def write_json(rows: Sequence[Standing] | Sequence[ScoreLine], path: str,
               extra: dict | None = None) -> None:
    """The leaderboard as JSON: ``{..extra, "leaderboard": [row, ...]}``."""
    document = dict(extra or {})
    document["leaderboard"] = [{key: None if isinstance(value, float) and math.isnan(value)
                                else value for key, value in asdict(row).items()}
                               for row in rows]
    with atomic_write(path) as partial:
        partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
