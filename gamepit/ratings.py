"""Ratings from game results: a Bradley-Terry fit on the Elo scale, the SPRT that stops a match
early, mean scores for single-player games, and the leaderboard as a table, CSV and JSON.

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

Intervals. 95% intervals come from the observed Fisher information (the Hessian of the
log-likelihood at the fit, with the prior included) and are relative to the anchor agent, whose
rating is fixed and whose interval is therefore zero. Since a draw is scored like half a win
and half a loss, the per-game variance is overstated when there are many draws, so the intervals
err on the wide side.

This module is part of the kernel: numpy only, no torch.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from gamepit.errors import GamepitError

ELO_PER_NATURAL = 400.0 / math.log(10.0)  # one unit of natural-log strength, in Elo points
Z95 = 1.959963984540054


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


def expected_score(elo_difference: float) -> float:
    """The logistic Elo curve: expected score of a player rated ``elo_difference`` higher."""
    return 1.0 / (1.0 + 10.0 ** (-elo_difference / 400.0))


def fit_ratings(agents: Sequence[str], games: Iterable[tuple[str, str, float]],
                anchor: str | None = None, anchor_elo: float = 0.0,
                prior_draws: float = 1.0) -> list[Standing]:
    """Fit Elo ratings to ``games``, each ``(agent_a, agent_b, score of agent_a)``.

    ``anchor`` (default: the first agent) is fixed at ``anchor_elo``. Returns the leaderboard,
    best first. Raises GamepitError when some agent never met the anchor's group, since then no
    result ties its rating to the others.
    """
    agents = list(agents)
    if not agents:
        raise GamepitError("ratings: no agents")
    anchor = agents[0] if anchor is None else anchor
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
    _check_connected(agents, played, index[anchor])
    met = played > 0
    weights = played + prior_draws * met
    scored = points + 0.5 * prior_draws * met
    strength, covariance = _newton(weights, scored, index[anchor])
    standings = []
    for i, agent in enumerate(agents):
        elo = anchor_elo + strength[i] * ELO_PER_NATURAL
        half = Z95 * math.sqrt(max(covariance[i, i], 0.0)) * ELO_PER_NATURAL
        games_played = int(tally[i].sum())
        score = (tally[i, 0] + 0.5 * tally[i, 1]) / games_played if games_played else 0.0
        standings.append(Standing(0, agent, elo, half, half, games_played, score,
                                  int(tally[i, 0]), int(tally[i, 1]), int(tally[i, 2])))
    standings.sort(key=lambda s: (-s.elo, s.agent))
    for rank, standing in enumerate(standings, 1):
        standing.rank = rank
    return standings


def _check_connected(agents: Sequence[str], played: np.ndarray, anchor: int) -> None:
    reached, frontier = {anchor}, [anchor]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(played[i]):
            if int(j) not in reached:
                reached.add(int(j))
                frontier.append(int(j))
    apart = [agents[i] for i in range(len(agents)) if i not in reached]
    if apart:
        raise GamepitError(f"ratings: no games connect {', '.join(apart)} to the anchor "
                           f"{agents[anchor]!r}; play them against the others first")


def _log_likelihood(strength: np.ndarray, scored: np.ndarray) -> float:
    difference = strength[:, None] - strength[None, :]
    # log of the logistic curve, written to stay finite for large differences
    return float(np.sum(scored * -np.logaddexp(0.0, -difference)))


def _newton(weights: np.ndarray, scored: np.ndarray, anchor: int,
            tolerance: float = 1e-10, max_iterations: int = 100
            ) -> tuple[np.ndarray, np.ndarray]:
    """Maximise the Bradley-Terry log-likelihood over natural-log strengths with the anchor
    fixed at 0. Returns the strengths and their covariance (inverse observed information)."""
    n = len(weights)
    free = np.array([i for i in range(n) if i != anchor], dtype=int)
    strength = np.zeros(n)
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


# --------------------------------------------------------------------------- SPRT


def parse_sprt_bounds(text: str) -> tuple[float, float]:
    """Parse ``ELO0,ELO1`` as given to ``--sprt``; a one-line error for anything else."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        elo0, elo1 = float(parts[0]), float(parts[1])
    except ValueError:
        raise GamepitError(f"--sprt expects ELO0,ELO1 (e.g. 0,10), got {text!r}") from None
    if not elo0 < elo1:
        raise GamepitError(f"--sprt: ELO0 must be below ELO1, got {text!r}")
    return elo0, elo1


class Sprt:
    """Sequential probability ratio test of H0: elo = elo0 against H1: elo = elo1, for the
    first agent of a match, in the logistic Elo model, as fishtest and cutechess run it.

    The log-likelihood ratio is the generalised SPRT approximation on trinomial results
    (win/draw/loss, not game pairs):
    ``LLR = N (s1 - s0) (2 s - s0 - s1) / (2 var)``, where ``s`` is the mean score, ``var``
    the per-game variance of the score, and ``s0``, ``s1`` the expected scores at elo0 and
    elo1. The test stops with H1 when LLR reaches ``log((1 - beta) / alpha)``, with H0 when it
    falls to ``log(beta / (1 - alpha))``.

    Prior: each result class starts with a third of a virtual game (one game in all), so the
    variance is never zero and a single early win cannot decide the test on a degenerate
    variance; an agent that wins every game still passes after about fifteen games with the
    default bounds. (fishtest regularises empty classes with 0.001 of a game and needs no more
    because it tests only after batches of games.) The prior's weight vanishes as games add up.
    """

    PRIOR_GAMES = 1.0

    def __init__(self, elo0: float, elo1: float, alpha: float = 0.05, beta: float = 0.05) -> None:
        if not elo0 < elo1:
            raise GamepitError("sprt: elo0 must be below elo1")
        if not (0 < alpha < 1 and 0 < beta < 1):
            raise GamepitError("sprt: alpha and beta must be between 0 and 1")
        self.elo0, self.elo1, self.alpha, self.beta = elo0, elo1, alpha, beta
        self.lower = math.log(beta / (1 - alpha))
        self.upper = math.log((1 - beta) / alpha)
        self.wins = self.draws = self.losses = 0
        self.decision: str | None = None

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    def llr(self) -> float:
        """The log-likelihood ratio of H1 against H0 for the results so far."""
        if self.games == 0:
            return 0.0
        counts = np.array([self.wins, self.draws, self.losses]) + self.PRIOR_GAMES / 3
        total = counts.sum()
        shares = counts / total
        values = np.array([1.0, 0.5, 0.0])
        score = float(shares @ values)
        variance = float(shares @ (values - score) ** 2)
        s0, s1 = expected_score(self.elo0), expected_score(self.elo1)
        return total * (s1 - s0) * (2 * score - s0 - s1) / (2 * variance)

    def update(self, outcome: float) -> str | None:
        """Add one game's score for the tested agent (1, 0.5 or 0); returns "H1" (it is at
        least elo1 stronger), "H0" (at most elo0), or None to keep playing. Once decided, the
        decision stays."""
        if outcome == 1.0:
            self.wins += 1
        elif outcome == 0.5:
            self.draws += 1
        elif outcome == 0.0:
            self.losses += 1
        else:
            raise GamepitError(f"sprt: outcome must be 1, 0.5 or 0, not {outcome!r}")
        if self.decision is None:
            llr = self.llr()
            if llr >= self.upper:
                self.decision = "H1"
            elif llr <= self.lower:
                self.decision = "H0"
        return self.decision

    def summary(self) -> str:
        verdict = {"H1": f"H1 accepted (elo >= {self.elo1:g})",
                   "H0": f"H0 accepted (elo <= {self.elo0:g})",
                   None: "no decision yet"}[self.decision]
        return (f"SPRT elo0={self.elo0:g} elo1={self.elo1:g} alpha={self.alpha:g} "
                f"beta={self.beta:g}: LLR {self.llr():.2f} in [{self.lower:.2f}, "
                f"{self.upper:.2f}] after {self.games} games "
                f"(+{self.wins} ={self.draws} -{self.losses}): {verdict}")


# --------------------------------------------------------------------------- single player

# Random and human reference scores for Atari, keyed by ALE game name, as tabulated in the
# appendices of the Nature DQN paper (Mnih et al. 2015) and Agent57 (Badia et al. 2020).
ATARI_REFERENCES: dict[str, tuple[float, float]] = {  # name: (random, human)
    "alien": (227.8, 7127.7),
    "amidar": (5.8, 1719.5),
    "assault": (222.4, 742.0),
    "asterix": (210.0, 8503.3),
    "asteroids": (719.1, 47388.7),
    "atlantis": (12850.0, 29028.1),
    "bank_heist": (14.2, 753.1),
    "battle_zone": (2360.0, 37187.5),
    "beam_rider": (363.9, 16926.5),
    "bowling": (23.1, 160.7),
    "boxing": (0.1, 12.1),
    "breakout": (1.7, 30.5),
    "centipede": (2090.9, 12017.0),
    "chopper_command": (811.0, 7387.8),
    "crazy_climber": (10780.5, 35829.4),
    "demon_attack": (152.1, 1971.0),
    "enduro": (0.0, 860.5),
    "fishing_derby": (-91.7, -38.7),
    "freeway": (0.0, 29.6),
    "frostbite": (65.2, 4334.7),
    "gopher": (257.6, 2412.5),
    "hero": (1027.0, 30826.4),
    "ice_hockey": (-11.2, 0.9),
    "kangaroo": (52.0, 3035.0),
    "montezuma_revenge": (0.0, 4753.3),
    "ms_pacman": (307.3, 6951.6),
    "pong": (-20.7, 14.6),
    "private_eye": (24.9, 69571.3),
    "qbert": (163.9, 13455.0),
    "riverraid": (1338.5, 17118.0),
    "road_runner": (11.5, 7845.0),
    "seaquest": (68.4, 42054.7),
    "space_invaders": (148.0, 1668.7),
    "tennis": (-23.8, -8.3),
    "venture": (0.0, 1187.5),
    "zaxxon": (32.5, 9173.3),
}


@dataclass
class ScoreLine:
    """One agent's line of a single-player leaderboard."""

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


# --------------------------------------------------------------------------- output


def format_leaderboard(rows: Sequence[Standing] | Sequence[ScoreLine]) -> str:
    """The leaderboard as a plain-text table for the terminal."""
    if rows and isinstance(rows[0], ScoreLine):
        width = max([5] + [len(row.agent) for row in rows])
        lines = [f"{'rank':>4}  {'agent':<{width}}  {'episodes':>8}  {'mean':>10}  "
                 f"{'95% interval':>23}  {'human-norm':>10}"]
        for row in rows:
            normalised = "" if row.normalised is None else f"{row.normalised:.1f}%"
            lines.append(f"{row.rank:>4}  {row.agent:<{width}}  {row.episodes:>8}  "
                         f"{row.mean:>10.2f}  {row.low:>10.2f} .. {row.high:>10.2f}  "
                         f"{normalised:>10}")
        return "\n".join(lines)
    width = max([5] + [len(row.agent) for row in rows])
    lines = [f"{'rank':>4}  {'agent':<{width}}  {'elo':>7}  {'-/+ 95%':>9}  {'games':>6}  "
             f"{'score':>6}  {'W':>5}  {'D':>5}  {'L':>5}"]
    for row in rows:
        interval = f"{row.minus:.0f}/{row.plus:.0f}"
        lines.append(f"{row.rank:>4}  {row.agent:<{width}}  {row.elo:>7.1f}  {interval:>9}  "
                     f"{row.games:>6}  {row.score:>6.3f}  {row.wins:>5}  {row.draws:>5}  "
                     f"{row.losses:>5}")
    return "\n".join(lines)


def write_csv(rows: Sequence[Standing] | Sequence[ScoreLine], path: str) -> None:
    """The leaderboard as CSV, one agent a row, columns named as the dataclass fields."""
    records = [asdict(row) for row in rows]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if not records:
            return
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
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
