"""Ratings: the Bradley-Terry fit against known answers, its intervals, anchors and edge cases;
the SPRT against hand computations and simulated matches; single-player scores; outputs."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from gamepit.arena import score_table
from gamepit.arena.series import SeriesResult, human_normalised, wilson_interval
from gamepit.errors import GamepitError
from gamepit.games.atari import ATARI_REFERENCES
from gamepit.matches.sprt import Sprt, expected_score, parse_sprt_bounds
from gamepit.tournament.ratings import (
    ELO_PER_NATURAL,
    fit_ratings,
    format_leaderboard,
    rate_games,
    write_csv,
    write_json,
)


def _simulate(true_elo: dict[str, float], games_per_pair: int, draw_share: float,
              seed: int = 0) -> list[tuple[str, str, float]]:
    """Games whose expected score follows the Elo curve exactly, with some draws."""
    rng = np.random.default_rng(seed)
    names = list(true_elo)
    games = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            p = expected_score(true_elo[a] - true_elo[b])
            draws = min(draw_share, 2 * min(p, 1 - p))  # keeps win and loss shares >= 0
            for u in rng.random(games_per_pair):
                score = 1.0 if u < p - draws / 2 else 0.5 if u < p + draws / 2 else 0.0
                games.append((a, b, score))
    return games


def _by_agent(board):
    return {row.agent: row for row in board}


# --------------------------------------------------------------------------- Bradley-Terry


def test_known_elo_differences_are_recovered():
    true_elo = {"a": 0.0, "b": 120.0, "c": -200.0, "d": 350.0}
    board = _by_agent(fit_ratings(list(true_elo), _simulate(true_elo, 3000, 0.3), {"a": 0.0}))
    for agent, elo in true_elo.items():
        assert board[agent].elo == pytest.approx(elo, abs=25)
        # the truth lies inside the 95% interval (each check fails 5% of the time at random;
        # the seed is fixed, and the tolerance above is the firmer check)
        assert board[agent].elo - board[agent].minus - 5 <= elo <= board[agent].elo + board[
            agent].plus + 5
    assert [row.agent for row in fit_ratings(list(true_elo), _simulate(true_elo, 3000, 0.3))
            ] == ["d", "b", "a", "c"]


def test_two_agents_match_the_closed_form():
    # With one virtual draw, the fit is the Elo of the score share (W + D/2 + 1/2) / (N + 1).
    games = [("x", "y", 1.0)] * 30 + [("x", "y", 0.5)] * 10 + [("x", "y", 0.0)] * 20
    board = _by_agent(fit_ratings(["x", "y"], games, {"x": 0.0}))
    share = (30 + 5 + 0.5) / 61
    assert board["y"].elo == pytest.approx(-400 * math.log10(share / (1 - share)), abs=1e-6)
    # Interval from the Fisher information: one over sqrt(N p (1 - p)) in natural units.
    half = 1.96 / math.sqrt(61 * share * (1 - share)) * ELO_PER_NATURAL
    assert board["y"].minus == pytest.approx(half, rel=1e-3)
    assert (board["x"].wins, board["x"].draws, board["x"].losses) == (30, 10, 20)
    assert board["x"].score == pytest.approx(35 / 60)
    assert board["x"].games == board["y"].games == 60


def test_symmetric_results_give_equal_ratings():
    games = []
    for a, b in (("a", "b"), ("a", "c"), ("b", "c")):
        games += [(a, b, 1.0)] * 7 + [(a, b, 0.0)] * 7 + [(a, b, 0.5)] * 4
    board = fit_ratings(["a", "b", "c"], games)
    assert [row.elo for row in board] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    assert [row.score for row in board] == [0.5, 0.5, 0.5]


def test_anchor_moves_the_scale_but_not_the_differences():
    true_elo = {"a": 0.0, "b": 100.0, "c": 300.0}
    games = _simulate(true_elo, 400, 0.2, seed=3)
    plain = _by_agent(fit_ratings(list(true_elo), games, {"a": 0.0}))
    anchored = _by_agent(fit_ratings(list(true_elo), games, {"b": 1500.0}))
    assert anchored["b"].elo == pytest.approx(1500)
    assert anchored["b"].minus == anchored["b"].plus == 0.0
    for agent in true_elo:
        assert anchored[agent].elo - anchored["b"].elo == pytest.approx(
            plain[agent].elo - plain["b"].elo, abs=1e-6)
    with pytest.raises(GamepitError, match="anchor 'z'"):
        fit_ratings(list(true_elo), games, {"z": 0.0})


def test_without_anchors_the_mean_is_zero_whatever_the_order():
    true_elo = {"a": 0.0, "b": 100.0, "c": 300.0}
    games = _simulate(true_elo, 400, 0.2, seed=3)
    boards = [_by_agent(fit_ratings(order, games)) for order in (["a", "b", "c"],
                                                                 ["c", "a", "b"])]
    for board in boards:
        assert sum(row.elo for row in board.values()) == pytest.approx(0.0, abs=1e-6)
        assert all(row.minus > 0 for row in board.values())  # relative to the mean
    for agent in true_elo:
        assert boards[0][agent].elo == pytest.approx(boards[1][agent].elo, abs=1e-6)
    anchored = _by_agent(fit_ratings(list(true_elo), games, {"a": 0.0}))
    for agent in true_elo:  # the same differences as with an anchor
        assert boards[0][agent].elo - boards[0]["a"].elo == pytest.approx(
            anchored[agent].elo, abs=1e-6)


def test_several_anchors_are_held_and_the_others_fit_between_them():
    true_elo = {"a": 0.0, "b": 200.0, "c": 400.0}
    games = _simulate(true_elo, 600, 0.2, seed=5)
    board = _by_agent(fit_ratings(list(true_elo), games, {"a": 1000.0, "c": 1400.0}))
    assert board["a"].elo == 1000.0 and board["c"].elo == 1400.0
    assert board["a"].minus == board["c"].plus == 0.0
    assert 1100 < board["b"].elo < 1300 and board["b"].minus > 0
    # pinned wrongly far apart, the middle agent sits between them all the same
    wide = _by_agent(fit_ratings(list(true_elo), games, {"a": 0.0, "c": 2000.0}))
    assert 0 < wide["b"].elo < 2000


def test_an_agent_that_won_everything_gets_a_finite_rating():
    games = [("strong", "weak", 1.0)] * 50 + [("strong", "mid", 1.0)] * 50
    games += [("mid", "weak", 1.0)] * 25 + [("mid", "weak", 0.0)] * 25
    board = _by_agent(fit_ratings(["weak", "mid", "strong"], games))
    assert all(math.isfinite(row.elo) and math.isfinite(row.plus) for row in board.values())
    assert board["strong"].elo > board["mid"].elo + 400
    assert board["strong"].score == 1.0


def test_more_games_narrow_the_interval():
    true_elo = {"a": 0.0, "b": 50.0}
    few = _by_agent(fit_ratings(["a", "b"], _simulate(true_elo, 100, 0.3, seed=1)))
    many = _by_agent(fit_ratings(["a", "b"], _simulate(true_elo, 1600, 0.3, seed=1)))
    assert many["b"].plus == pytest.approx(few["b"].plus / 4, rel=0.15)


def test_unconnected_agents_and_bad_results_are_errors():
    with pytest.raises(GamepitError, match="no games connect c"):
        fit_ratings(["a", "b", "c"], [("a", "b", 1.0)])
    with pytest.raises(GamepitError, match="unknown agent 'q'"):
        fit_ratings(["a", "b"], [("a", "q", 1.0)])
    with pytest.raises(GamepitError, match="score must be 0, 0.5 or 1"):
        fit_ratings(["a", "b"], [("a", "b", 0.7)])


# --------------------------------------------------------------------------- SPRT


def test_sprt_bounds_and_llr_by_hand():
    sprt = Sprt(0, 10)
    assert sprt.lower == pytest.approx(math.log(0.05 / 0.95))
    assert sprt.upper == pytest.approx(math.log(0.95 / 0.05))
    for outcome in [1.0] * 60 + [0.5] * 30 + [0.0] * 40:
        sprt.update(outcome)
    counts = np.array([60, 30, 40]) + 1 / 3
    n = counts.sum()
    score = (counts[0] + 0.5 * counts[1]) / n
    variance = (counts[0] * (1 - score) ** 2 + counts[1] * (0.5 - score) ** 2
                + counts[2] * score ** 2) / n
    s0, s1 = 0.5, 1 / (1 + 10 ** (-10 / 400))
    assert sprt.llr() == pytest.approx(n * (s1 - s0) * (2 * score - s0 - s1) / (2 * variance))
    assert (sprt.wins, sprt.draws, sprt.losses, sprt.games) == (60, 30, 40, 130)


def _run_sprt(elo: float, elo0: float, elo1: float, rng: np.random.Generator,
              draw_share: float = 0.3, limit: int = 100_000) -> tuple[str | None, int]:
    sprt = Sprt(elo0, elo1)
    p = expected_score(elo)
    while sprt.decision is None and sprt.games < limit:
        u = rng.random()
        sprt.update(1.0 if u < p - draw_share / 2 else 0.5 if u < p + draw_share / 2 else 0.0)
    return sprt.decision, sprt.games


def test_sprt_decides_the_right_way_on_simulated_matches():
    rng = np.random.default_rng(7)
    strong = [_run_sprt(60.0, 0, 30, rng) for _ in range(30)]
    weak = [_run_sprt(-30.0, 0, 30, rng) for _ in range(30)]
    assert [decision for decision, _ in strong].count("H1") >= 29
    assert [decision for decision, _ in weak].count("H0") >= 29
    # At the hypotheses themselves the error rates are near alpha = beta = 0.05.
    at_elo0 = [_run_sprt(0.0, 0, 30, rng)[0] for _ in range(60)]
    at_elo1 = [_run_sprt(30.0, 0, 30, rng)[0] for _ in range(60)]
    assert at_elo0.count("H1") <= 8 and at_elo1.count("H0") <= 8


def test_sprt_needs_more_than_a_lucky_start():
    sprt = Sprt(0, 10)
    assert sprt.update(1.0) is None  # one win proves little
    for _ in range(30):
        if sprt.update(1.0):
            break
    assert sprt.decision == "H1" and 5 < sprt.games < 30
    assert sprt.update(0.0) == "H1"  # a decision, once made, stands
    assert "H1 accepted" in sprt.summary()


def test_sprt_input_errors():
    assert parse_sprt_bounds("0,10") == (0.0, 10.0)
    assert parse_sprt_bounds("-5,5.5") == (-5.0, 5.5)
    for text in ("10", "a,b", "10,0", "1,2,3"):
        with pytest.raises(GamepitError, match="--sprt"):
            parse_sprt_bounds(text)
    with pytest.raises(GamepitError):
        Sprt(0, 10).update(2.0)
    with pytest.raises(GamepitError):
        Sprt(0, 10, alpha=1.5)


# --------------------------------------------------------------------------- single player


def test_human_normalised_scores_use_the_references():
    pong = ATARI_REFERENCES["pong"]
    assert human_normalised(-20.7, pong) == pytest.approx(0.0)
    assert human_normalised(14.6, pong) == pytest.approx(100.0)
    assert human_normalised(5.0, None) is None


def test_score_table_means_intervals_and_order():
    lines = score_table({"steady": [10.0, 10.0, 10.0], "noisy": [0.0, 30.0, 12.0, 18.0],
                         "once": [4.0]}, ATARI_REFERENCES["breakout"])
    assert [line.agent for line in lines] == ["noisy", "steady", "once"]
    noisy, steady, once = lines
    values = np.array([0.0, 30.0, 12.0, 18.0])
    half = 1.96 * values.std(ddof=1) / 2
    assert noisy.mean == 15.0 and noisy.low == pytest.approx(15 - half, rel=1e-3)
    assert steady.low == steady.high == 10.0
    assert once.low == once.high == 4.0 and once.episodes == 1
    assert noisy.normalised == pytest.approx(100 * (15 - 1.7) / (30.5 - 1.7))


# --------------------------------------------------------------------------- outputs


def test_leaderboard_table_csv_and_json(tmp_path):
    board = fit_ratings(["a", "b"], [("a", "b", 1.0)] * 3 + [("a", "b", 0.0)])
    text = format_leaderboard(board)
    header, first, second = text.splitlines()
    assert header.split()[:3] == ["rank", "agent", "elo"]
    assert first.split()[:2] == ["1", "a"] and second.split()[:2] == ["2", "b"]
    write_csv(board, str(tmp_path / "board.csv"))
    with open(tmp_path / "board.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["agent"] for row in rows] == ["a", "b"]
    assert float(rows[1]["elo"]) == pytest.approx(board[1].elo)
    write_json(board, str(tmp_path / "board.json"), {"game": "tictactoe"})
    document = json.loads((tmp_path / "board.json").read_text())
    assert document["game"] == "tictactoe"
    assert document["leaderboard"][0]["wins"] == 3
    scores = score_table({"solo": []})
    write_json(scores, str(tmp_path / "empty.json"))  # NaN becomes null, still valid JSON
    assert json.loads((tmp_path / "empty.json").read_text())["leaderboard"][0]["mean"] is None
    assert "episodes" in format_leaderboard(score_table({"solo": [1.0, 2.0]}))


# --------------------------------------------------------------------------- score intervals


def test_wilson_interval_known_values():
    # Wilson score interval at 95%, checked against published tables (e.g. 10 of 10: 0.7225).
    assert wilson_interval(1.0, 10) == pytest.approx((0.72247, 1.0), abs=1e-5)
    assert wilson_interval(0.5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson_interval(0.0, 10) == pytest.approx((0.0, 0.27753), abs=1e-5)
    assert wilson_interval(0.7, 100) == pytest.approx((0.60415, 0.78106), abs=1e-5)
    assert wilson_interval(0.5, 0) == (0.0, 1.0)


def test_one_sided_series_keep_a_real_interval():
    # 10-0 used to print "1.000 (95% 1.000..1.000)": no more certainty than ten games give.
    won = SeriesResult(("a", "b"), wins=10)
    mean, low, high = won.score()
    assert mean == 1.0 and low < 0.75 and high == 1.0
    assert "(95% 0.722..1.000)" in won.summary()
    lost = SeriesResult(("a", "b"), losses=10)
    assert lost.score()[1] == 0.0 and lost.score()[2] > 0.25
    drawn = SeriesResult(("a", "b"), draws=10)  # draws count as half a point
    assert drawn.score() == pytest.approx((0.5, 0.23659, 0.76341), abs=1e-5)


# --------------------------------------------------------------------------- the whole ledger


def test_ratings_count_every_game_recorded_under_the_tournament_name(tmp_path, manager):
    from gamepit.tournament.config import TournamentConfig
    from gamepit.tournament.run import run_tournament

    ledger = str(tmp_path / "ledger.sqlite")
    first = TournamentConfig(game="tictactoe", name="league", ledger=ledger, games_per_pair=4,
                             agents=["random", "alphabeta:depth=1", "alphabeta:depth=2"])
    assert run_tournament(first, manager).played_now == 12
    # A gauntlet under the same name: one new agent against two of the old ones.
    second = TournamentConfig(game="tictactoe", name="league", ledger=ledger, games_per_pair=2,
                              format="gauntlet", gauntlet_agent="alphabeta:depth=9",
                              agents=["random", "alphabeta:depth=1", "alphabeta:depth=9"])
    outcome = run_tournament(second, manager)
    assert outcome.played_now == 4
    board = _by_agent(outcome.leaderboard)
    assert set(board) == {"random", "alphabeta:depth=1", "alphabeta:depth=2",
                          "alphabeta:depth=9"}
    assert sum(row.games for row in board.values()) == 2 * (12 + 4)
    assert board["random"].games == 8 + 2 and board["alphabeta:depth=2"].games == 8
    assert board["alphabeta:depth=9"].games == 4
    assert sum(row.elo for row in board.values()) == pytest.approx(0.0, abs=1e-6)
    # Another tournament name in the same file is not mixed in.
    third = TournamentConfig(game="tictactoe", name="other", ledger=ledger, games_per_pair=2,
                             agents=["random", "alphabeta:depth=9"])
    assert sum(row.games for row in run_tournament(third, manager).leaderboard) == 4


def test_agents_with_no_games_linking_them_to_the_anchor_are_listed_unrated(tmp_path, manager):
    from gamepit.tournament.config import TournamentConfig
    from gamepit.tournament.run import run_tournament

    ledger = str(tmp_path / "ledger.sqlite")
    run_tournament(TournamentConfig(game="tictactoe", name="t", ledger=ledger, games_per_pair=2,
                                    agents=["random", "alphabeta:depth=1"]), manager)
    outcome = run_tournament(TournamentConfig(
        game="tictactoe", name="t", ledger=ledger, games_per_pair=2,
        agents=["alphabeta:depth=2", "alphabeta:depth=3"]), manager)
    board = _by_agent(outcome.leaderboard)
    assert len(board) == 4
    for name in ("random", "alphabeta:depth=1"):
        assert math.isnan(board[name].elo) and board[name].games == 2 and board[name].rank == 0
    assert board["alphabeta:depth=2"].elo == pytest.approx(-board["alphabeta:depth=3"].elo)
    assert "unrated" in format_leaderboard(outcome.leaderboard)


def test_rate_games_takes_agents_from_the_games():
    games = [("a", "b", 1.0), ("b", "c", 0.5), ("d", "e", 0.0)]
    board = _by_agent(rate_games(["b"], games))
    assert board["a"].elo + board["b"].elo + board["c"].elo == pytest.approx(0.0, abs=1e-6)
    assert math.isnan(board["d"].elo) and board["e"].wins == 1


def test_the_cli_its_json_and_the_viewer_show_the_same_numbers(tmp_path, cli):
    """One ledger, one scale: the printed table, --json and the viewer's tournament page; with
    no anchor (mean 0) and with two anchors, which the ledger keeps for the viewer."""
    from gamepit.viewer.charts import standings

    agents = ["random", "alphabeta:depth=1", "alphabeta:depth=3"]
    for anchors in ([], ["random=100", "alphabeta:depth=3=900"]):
        flags = [flag for anchor in anchors for flag in ("--anchor", anchor)]
        done = cli("tournament", "tictactoe", *agents, "--games", "4", "--ledger", "l.sqlite",
                   "--json", "board.json", *flags, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        document = json.loads((tmp_path / "board.json").read_text())
        printed = {line.split()[1]: float(line.split()[2])
                   for line in done.stdout.splitlines()[2:5]}
        page = standings(tmp_path / "l.sqlite", "tictactoe")
        assert page["scale"] == document["scale"] and document["scale"] in done.stdout
        for row in document["leaderboard"]:
            shown = next(r for r in page["table"] if r["agent"] == row["agent"])
            assert shown["elo"] == pytest.approx(row["elo"], abs=1e-9)
            assert shown["minus"] == pytest.approx(row["minus"], abs=1e-9)
            assert printed[row["agent"]] == pytest.approx(row["elo"], abs=0.05)
        if anchors:
            assert printed["random"] == 100.0 and printed["alphabeta:depth=3"] == 900.0
        else:
            assert sum(printed.values()) == pytest.approx(0.0, abs=0.2)
