"""Matches and forfeits: an agent that raises, runs out of time, or plays an illegal move
loses that game with the reason recorded, and the series goes on."""

import time

import pytest

from gamepit.agents.basic import RandomAgent
from gamepit.arena import MatchSettings, SeriesResult, play_match, play_series
from gamepit.matches.sprt import Sprt
from gamepit.protocols import Agent


class Crasher(Agent):
    def act(self, state):
        raise RuntimeError("segfault in my head")


class Cheater(Agent):
    def act(self, state):
        occupied = [a for a in range(9) if not state.legal_mask()[a]]
        return occupied[0] if occupied else 42


class Sleeper(Agent):
    def act(self, state):
        time.sleep(3.0)
        return state.legal_actions()[0]


class BadReset(Agent):
    def reset(self, game, player, seed=None):
        raise ValueError("cannot load weights")


@pytest.mark.parametrize("agent, reason", [
    (Crasher(), "act raised RuntimeError: segfault in my head"),
    (Cheater(), "illegal action"),
    (Sleeper(), "exceeded the move time of 1s"),
    (BadReset(), "reset raised ValueError: cannot load weights"),
])
def test_faulty_agent_forfeits(registry, agent, reason, manager):
    game = registry.make_game("tictactoe")
    result = play_match(game, [agent, RandomAgent()], seed=0,
                        settings=MatchSettings(move_time=1.0, manager=manager))
    assert result.forfeit_seat == 0
    assert reason in result.forfeit_reason
    assert result.returns == [-1.0, 1.0]
    result = play_match(game, [RandomAgent(), agent], seed=0,
                        settings=MatchSettings(move_time=1.0, manager=manager))
    assert result.forfeit_seat == 1 and result.returns == [1.0, -1.0]


def test_series_goes_on_after_forfeits_and_alternates_seats(registry, manager):
    game = registry.make_game("tictactoe")
    series = play_series(game, [Crasher(), RandomAgent()], games=4, seed=0,
                         agent_specs=["crasher", "random"], settings=MatchSettings(manager=manager))
    assert series.games == 4 and series.losses == 4
    assert len(series.forfeits) == 4 and all("crasher forfeited" in f for f in series.forfeits)


def test_seats_alternate(registry, manager):
    seats = []

    class Recorder(RandomAgent):
        def reset(self, game, player, seed=None):
            super().reset(game, player, seed)
            seats.append(player)

    game = registry.make_game("tictactoe")
    play_series(game, [Recorder(), RandomAgent()], games=4, seed=0,
                settings=MatchSettings(manager=manager))
    assert seats == [0, 1, 0, 1]


def test_agents_get_a_copy_of_the_state(registry, manager):
    class Vandal(RandomAgent):
        def act(self, state):
            action = super().act(state)
            for move in state.legal_actions():
                state.apply(move)  # scribbles over its view; the real game must not change
                break
            return action

    game = registry.make_game("connect_four")
    result = play_match(game, [Vandal(), RandomAgent()], seed=2,
                        settings=MatchSettings(manager=manager))
    assert result.forfeit_seat is None


def test_score_and_interval():
    series = SeriesResult(("a", "b"), wins=6, draws=2, losses=2)
    mean, low, high = series.score()
    assert mean == pytest.approx(0.7)
    assert 0.35 < low < 0.7 < high < 1.0  # Wilson: 0.397..0.892
    assert "+6 =2 -2" in series.summary()


def test_cli_match_reports_forfeits_and_keeps_going(cli, tmp_path):
    plugin = tmp_path / "crashy.py"
    plugin.write_text(
        "from gamepit.plugins import hookimpl\n"
        "from gamepit.protocols import Agent, agent\n"
        "class Crashy(Agent):\n"
        "    def act(self, state):\n"
        "        raise MemoryError('out of memory')\n"
        "@hookimpl\n"
        "def gamepit_add_agents():\n"
        "    return [agent('crashy', Crashy, 'Always crashes.')]\n")
    run = cli("--plugins", str(plugin), "match", "connect_four", "crashy", "random", "-n", "3",
              "--replays", str(tmp_path / "replays"))
    assert run.returncode == 0, run.stderr
    assert "3 games, +0 =0 -3" in run.stdout
    assert run.stdout.count("forfeit: game") == 3 and "MemoryError" in run.stdout
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 3


# --------------------------------------------------------------------------- SPRT series
# The engine's early stop of a series, driven by the SPRT as `gamepit match --sprt` drives it.


def test_sprt_match_stops_early_for_a_clearly_stronger_agent(manager):
    registry = manager.registry
    game = registry.make_game("tictactoe")
    agents = [registry.make_agent("alphabeta:depth=9"), registry.make_agent("random")]
    sprt = Sprt(0, 50)
    series = play_series(game, agents, 200, 0, ["alphabeta:depth=9", "random"], stop=sprt.update,
                         settings=MatchSettings(manager=manager))
    assert sprt.decision == "H1"
    assert series.games == sprt.games < 200
    assert series.losses == 0


def test_sprt_match_accepts_h0_for_the_weaker_agent(manager):
    registry = manager.registry
    game = registry.make_game("tictactoe")
    agents = [registry.make_agent("random"), registry.make_agent("alphabeta:depth=9")]
    sprt = Sprt(-10, 10)
    series = play_series(game, agents, 200, 0, ["random", "alphabeta:depth=9"], stop=sprt.update,
                         settings=MatchSettings(manager=manager))
    assert sprt.decision == "H0" and series.games < 200 and series.wins == 0


def test_sprt_match_plays_to_the_limit_without_a_decision(manager):
    registry = manager.registry
    game = registry.make_game("tictactoe")
    agents = [registry.make_agent("random"), registry.make_agent("random")]
    sprt = Sprt(0, 1)  # a tiny difference to tell apart: three games cannot decide
    series = play_series(game, agents, 3, 0, ["random", "random"], stop=sprt.update,
                         settings=MatchSettings(manager=manager))
    assert series.games == 3 and sprt.decision is None


def test_match_settings_are_one_frozen_keyword_only_value(registry, tmp_path):
    """Issue 26: the engine's settings travel whole, and the replay's path comes back in the
    result (not through the match's extra dict)."""
    import dataclasses

    with pytest.raises(TypeError):
        MatchSettings(str(tmp_path))  # keyword-only
    settings = MatchSettings(replay_dir=str(tmp_path), max_steps=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_steps = 4  # type: ignore[misc]
    game = registry.make_game("connect_four")
    result = play_match(game, [RandomAgent(), RandomAgent()], 0, None, settings)
    assert result.steps == 3 and result.replay_path and result.replay_error == ""
    assert result.replay_path.startswith(str(tmp_path))
