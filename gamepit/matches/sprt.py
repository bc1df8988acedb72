"""The sequential probability ratio test behind ``gamepit match --sprt``: the engine's series
stops when ``Sprt.update`` decides."""

from __future__ import annotations

import math

import numpy as np

from gamepit.errors import GamepitError


def expected_score(elo_difference: float) -> float:
    """The logistic Elo curve: expected score of a player rated ``elo_difference`` higher."""
    return 1.0 / (1.0 + 10.0 ** (-elo_difference / 400.0))


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
