"""Tournaments: schedules, the ledger, resuming after a kill, worker processes, lockstep batched
inference, single-player games, the command line and its YAML files, and SPRT matches."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gamepit.arena import ScoreLine
from gamepit.errors import GamepitError
from gamepit.plugins.manager import PluginManager
from gamepit.replay import read_replay, verify
from gamepit.tournament.config import TournamentConfig, load_config
from gamepit.tournament.ledger import Ledger, pairing_key
from gamepit.tournament.ratings import Standing
from gamepit.tournament.run import run_tournament
from gamepit.tournament.schedule import pairings, plan_tasks, slots_of
from gamepit.viewer import charts
from tests.conftest import kill_when, ledger_games

ROOT = Path(__file__).resolve().parents[1]


# A plugin file for these tests: a tiny single-player game and two small, real agents. It is a
# file (not an object registered in-process) so that worker processes can load it too.
PLUGIN_SOURCE = '''
"""Test plugin: the 'coins' puzzle, a batched one-ply greedy agent, and a slow agent."""
import time

import numpy as np

from gamepit.plugins import hookimpl
from gamepit.protocols import Agent, BaseState, Game, Option, agent, game


class CoinsState(BaseState):
    """Each turn pick one of three coins; coin a on turn t is worth (7 seed + 3 t + a) mod 5."""

    def __init__(self, seed, turns):
        self.seed, self.turns, self.turn, self.score = seed, turns, 0, 0.0

    @property
    def current_player(self):
        return -1 if self.turn >= self.turns else 0

    def legal_mask(self):
        return np.full(3, self.turn < self.turns)

    def apply(self, action):
        if self.turn >= self.turns or action not in (0, 1, 2):
            raise ValueError(f"illegal coin {action}")
        self.score += float((7 * self.seed + 3 * self.turn + action) % 5)
        self.turn += 1

    def clone(self):
        other = CoinsState(self.seed, self.turns)
        other.turn, other.score = self.turn, self.score
        return other

    def is_terminal(self):
        return self.turn >= self.turns

    def returns(self):
        return [self.score]

    def observation(self, player):
        return np.array([self.seed, self.turn, self.score], dtype=np.float32)

    def render(self):
        return f"turn {self.turn}/{self.turns}, score {self.score:g}"


class Coins(Game):
    name = "coins"
    num_players = 1
    num_actions = 3
    observation_shape = (3,)
    observation_dtype = np.float32

    def __init__(self, turns=6):
        self.turns = turns

    def new_state(self, seed=None):
        return CoinsState(int(seed or 0), self.turns)


class BatchedGreedyAgent(Agent):
    """One-ply greedy: the move whose resulting returns are best for the mover (an immediate
    win, or the biggest coin), ties broken at random. Acts in batches and says how big each
    batch was in its info dict, so tests can see lockstep play."""

    batched = True

    def act(self, state):
        return self.act_batch([state])[0]

    def act_batch(self, states):
        moves = []
        for state in states:
            me = state.current_player
            scored = []
            for action in state.legal_actions():
                child = state.clone()
                child.apply(action)
                scored.append((child.returns()[me], action))
            best = max(value for value, _ in scored)
            choices = [action for value, action in scored if value == best]
            moves.append((int(choices[self.rng.integers(len(choices))]), {"batch": len(states)}))
        return moves


class SlowAgent(Agent):
    """Thinks for a fixed time, then plays a random legal move."""

    def __init__(self, seconds=0.2):
        self.seconds = seconds

    def act(self, state):
        time.sleep(self.seconds)
        legal = state.legal_actions()
        return int(legal[self.rng.integers(len(legal))])


class CrashingAgent(Agent):
    """Brings its whole process down on its first move, as a crashing native library would."""

    def act(self, state):
        import os

        os._exit(3)


@hookimpl
def gamepit_add_games():
    return [game("coins", Coins, "Pick the best of three coins each turn (test puzzle).",
                 [Option("turns", int, 6, "turns per episode")])]


@hookimpl
def gamepit_add_agents():
    return [agent("batched_greedy", BatchedGreedyAgent, "One-ply greedy, batched (test)."),
            agent("slow", SlowAgent, "Sleeps, then plays at random (test).",
                  [Option("seconds", float, 0.2, "thinking time")]),
            agent("crashing", CrashingAgent, "Kills its process (test).")]
'''


@pytest.fixture
def plugin_file(tmp_path: Path) -> str:
    path = tmp_path / "tournament_test_plugin.py"
    path.write_text(PLUGIN_SOURCE, encoding="utf-8")
    return str(path)


@pytest.fixture
def plugged(plugin_file: str) -> PluginManager:
    manager = PluginManager([plugin_file], autoload=False)
    assert not manager.errors, manager.errors
    return manager


def _config(tmp_path: Path, **settings) -> TournamentConfig:
    settings.setdefault("ledger", str(tmp_path / "ledger.sqlite"))
    return TournamentConfig(**settings)


def _rows(path: Path, tournament: str) -> list[tuple]:
    with sqlite3.connect(str(path)) as connection:
        return connection.execute(
            "SELECT pairing, game_index, agents, seed, returns FROM results WHERE tournament = ? "
            "ORDER BY pairing, game_index", (tournament,)).fetchall()


# --------------------------------------------------------------------------- schedule


def test_round_robin_and_gauntlet_pairings():
    agents = ["a", "b", "c", "d"]
    assert pairings(agents, "round_robin", None, 2) == [
        ["a", "b"], ["a", "c"], ["a", "d"], ["b", "c"], ["b", "d"], ["c", "d"]]
    assert pairings(agents, "gauntlet", "c", 2) == [["a", "c"], ["b", "c"], ["c", "d"]]
    assert pairings(["d", "c", "b", "a"], "round_robin", None, 2) == [
        ["c", "d"], ["b", "d"], ["a", "d"], ["b", "c"], ["a", "c"], ["a", "b"]]
    assert pairings(agents, "round_robin", None, 1) == [["a"], ["b"], ["c"], ["d"]]


def test_seats_alternate_and_both_seatings_share_a_seed():
    slots = slots_of(["a", "b"], 5, seed=10)
    assert [slot.seated for slot in slots] == [["a", "b"], ["b", "a"]] * 2 + [["a", "b"]]
    assert [slot.seed for slot in slots] == [10, 10, 11, 11, 12]
    assert [slot.seed for slot in slots_of(["a"], 3, seed=4)] == [4, 5, 6]


def test_plan_skips_done_slots_and_interleaves_pairings():
    all_pairings = [["a", "b"], ["a", "c"]]
    done = {(pairing_key(["a", "b"]), 0)}
    tasks = plan_tasks(all_pairings, 2, 0, done, lambda spec: False, 8)
    order = [(task.slots[0].pairing, task.slots[0].game_index) for task in tasks]
    assert order == [(["a", "b"], 1), (["a", "c"], 0), (["a", "c"], 1)]
    batched = plan_tasks(all_pairings, 5, 0, set(), lambda spec: spec == "c", 2)
    assert [len(task.slots) for task in batched if task.lockstep] == [2, 2, 1]
    assert sum(not task.lockstep for task in batched) == 5
    assert not any(task.lockstep for task in plan_tasks(all_pairings, 5, 0, set(),
                                                        lambda spec: True, 0))
    split = plan_tasks([["a", "c"]], 10, 0, set(), lambda spec: spec == "c", 32, workers=3)
    assert [len(task.slots) for task in split] == [4, 4, 2]  # every worker gets a group


# --------------------------------------------------------------------------- tournaments


def test_round_robin_rates_a_perfect_player_first_and_fills_the_ledger(tmp_path, manager):
    ledger = tmp_path / "ledger.sqlite"
    config = _config(tmp_path, game="tictactoe", games_per_pair=6,
                     agents=["random", "alphabeta:depth=1", "alphabeta:depth=9"],
                     anchor="random", anchor_elo=1000)
    outcome = run_tournament(config, manager)
    assert outcome.played_now == 18 and outcome.already == 0
    board = outcome.leaderboard
    assert all(isinstance(row, Standing) for row in board)
    assert board[0].agent == "alphabeta:depth=9" and board[0].losses == 0
    assert next(row for row in board if row.agent == "random").elo == pytest.approx(1000)
    assert sum(row.games for row in board) == 2 * 18
    rows = _rows(ledger, "tictactoe")
    assert len(rows) == 18
    for pairing, index, agents, _, _ in rows:
        pairing, agents = json.loads(pairing), json.loads(agents)
        assert agents == (pairing if index % 2 == 0 else pairing[::-1])


def test_rerun_resumes_and_only_plays_what_is_missing(tmp_path, manager):
    config = _config(tmp_path, game="tictactoe", agents=["random", "alphabeta:depth=2"],
                     games_per_pair=3)
    assert run_tournament(config, manager).played_now == 3
    again = run_tournament(config, manager)
    assert (again.played_now, again.already) == (0, 3)
    config.games_per_pair = 5
    more = run_tournament(config, manager)
    assert (more.played_now, more.already) == (2, 3)
    assert sum(row.games for row in more.leaderboard) == 2 * 5
    config.agents.append("alphabeta:depth=9")  # a new agent: only its pairings are played
    wider = run_tournament(config, manager)
    assert (wider.played_now, wider.already) == (10, 5)
    config.agents.reverse()  # the same agents listed the other way round: nothing to play
    assert run_tournament(config, manager).played_now == 0
    config.format, config.gauntlet_agent = "gauntlet", "random"  # a gauntlet inside it
    assert run_tournament(config, manager).already == 10
    rows = _rows(tmp_path / "ledger.sqlite", "tictactoe")
    assert len(rows) == len({(row[0], row[1]) for row in rows}) == 15


def test_a_tournament_name_keeps_its_game_and_seed(tmp_path, manager):
    config = _config(tmp_path, game="tictactoe", agents=["random", "alphabeta:depth=1"],
                     games_per_pair=1, name="cup")
    run_tournament(config, manager)
    with pytest.raises(GamepitError, match="was played on tictactoe"):
        run_tournament(_config(tmp_path, game="connect_four", name="cup",
                               agents=["random", "alphabeta:depth=1"]), manager)
    with pytest.raises(GamepitError, match="seed"):
        run_tournament(_config(tmp_path, game="tictactoe", name="cup", seed=5,
                               agents=["random", "alphabeta:depth=1"]), manager)


def test_gauntlet_plays_only_the_challengers_pairings(tmp_path, manager):
    config = _config(tmp_path, game="tictactoe", format="gauntlet",
                     gauntlet_agent="alphabeta:depth=9", games_per_pair=2,
                     agents=["random", "alphabeta:depth=1", "alphabeta:depth=9"])
    outcome = run_tournament(config, manager)
    assert outcome.played_now == 4
    games = {row.agent: row.games for row in outcome.leaderboard}
    assert games == {"alphabeta:depth=9": 4, "random": 2, "alphabeta:depth=1": 2}


def test_worker_processes_play_the_same_games_as_one_process(tmp_path, plugged, plugin_file):
    agents = ["random", "alphabeta:depth=2", "batched_greedy"]
    here = _config(tmp_path, game="connect_four", agents=agents, games_per_pair=6, name="here",
                   batch_size=2, plugins=[plugin_file])
    there = _config(tmp_path, game="connect_four", agents=agents, games_per_pair=6,
                    name="there", workers=2, batch_size=2, plugins=[plugin_file])
    assert run_tournament(here, plugged).played_now == 18
    assert run_tournament(there, plugged).played_now == 18
    ledger = tmp_path / "ledger.sqlite"
    # Same slots, same seeds, same agents: the games are the same wherever they are played.
    assert _rows(ledger, "here") == _rows(ledger, "there")


def test_batched_agents_play_in_lockstep_with_replays(tmp_path, plugged, plugin_file):
    replays = tmp_path / "replays"
    config = _config(tmp_path, game="connect_four", agents=["batched_greedy", "random"],
                     games_per_pair=6, batch_size=4, replays=str(replays), workers=0,
                     plugins=[plugin_file])
    outcome = run_tournament(config, plugged)
    assert outcome.played_now == 6 and not outcome.forfeits
    files = sorted(replays.glob("*.jsonl"))
    assert len(files) == 6
    batches = []
    for file in files:
        assert verify(file, plugged.registry).startswith("ok:")
        replay = read_replay(file)
        seat = replay.header["agents"].index("batched_greedy")
        batches += [step["info"]["batch"] for step in replay.steps if step["player"] == seat]
    # Two lockstep groups (4 + 2 games), each with two seatings of the batched agent: its
    # early moves come two at a time.
    assert max(batches) == 2 and min(batches) >= 1
    assert batches.count(2) >= 8
    # The one-ply greedy agent takes every immediate win, so it beats random nearly always.
    greedy = next(row for row in outcome.leaderboard if row.agent == "batched_greedy")
    assert greedy.score > 0.5


def test_move_time_forfeits_are_recorded(tmp_path, plugged, plugin_file):
    config = _config(tmp_path, game="tictactoe", agents=["random", "slow:seconds=3.5"],
                     games_per_pair=2, move_time=1.0, plugins=[plugin_file])
    outcome = run_tournament(config, plugged)
    assert len(outcome.forfeits) == 2
    assert all("slow:seconds=3.5 forfeited" in line and "move time" in line
               for line in outcome.forfeits)
    slow = next(row for row in outcome.leaderboard if row.agent == "slow:seconds=3.5")
    assert slow.losses == 2


def test_single_player_agents_meet_the_same_seeds(tmp_path, plugged, plugin_file):
    config = _config(tmp_path, game="coins:turns=5", agents=["random", "batched_greedy"],
                     games_per_pair=8, seed=3, plugins=[plugin_file])
    outcome = run_tournament(config, plugged)
    assert outcome.played_now == 16
    board = outcome.leaderboard
    assert all(isinstance(row, ScoreLine) for row in board)
    assert [row.agent for row in board] == ["batched_greedy", "random"]
    greedy = board[0]
    assert greedy.episodes == 8 and greedy.low <= greedy.mean <= greedy.high
    assert greedy.normalised is None  # no human reference for a test puzzle
    # The greedy agent's score is the best possible, seed by seed.
    game = plugged.registry.make_game("coins:turns=5")
    best = [sum(max((7 * seed + 3 * t + a) % 5 for a in range(3)) for t in range(5))
            for seed in range(3, 11)]
    assert greedy.mean == pytest.approx(sum(best) / 8)
    rows = _rows(tmp_path / "ledger.sqlite", game.spec)
    seeds = {}
    for pairing, _, _, seed, _ in rows:
        seeds.setdefault(pairing, []).append(seed)
    assert list(seeds.values()) == [list(range(3, 11))] * 2


def test_max_steps_cuts_episodes_short(tmp_path, plugged, plugin_file):
    config = _config(tmp_path, game="coins:turns=50", agents=["random"], games_per_pair=2,
                     max_steps=4, plugins=[plugin_file])
    run_tournament(config, plugged)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        assert [record.steps for record in ledger.results("coins:turns=50")] == [4, 4]


def test_atari_single_player_tournament_reports_human_normalised_score(tmp_path, manager):
    if "atari" not in manager.registry.names("game"):
        pytest.fail("the atari game plugin is not registered")
    config = _config(tmp_path, game="atari:game=pong", agents=["random"], games_per_pair=2,
                     max_steps=30)
    outcome = run_tournament(config, manager)
    row = outcome.leaderboard[0]
    assert row.episodes == 2
    assert row.normalised == pytest.approx(100 * (row.mean + 20.7) / (14.6 + 20.7))


def test_bad_settings_are_one_line_errors(tmp_path, manager):
    with pytest.raises(GamepitError, match="unknown agent 'nobody'"):
        run_tournament(_config(tmp_path, game="tictactoe", agents=["random", "nobody"]), manager)
    with pytest.raises(GamepitError, match="listed twice"):
        run_tournament(_config(tmp_path, game="tictactoe", agents=["random", "random"]), manager)
    with pytest.raises(GamepitError, match="anchor"):
        run_tournament(_config(tmp_path, game="tictactoe", agents=["random", "alphabeta"],
                               anchor="alphabeta:depth=3"), manager)
    with pytest.raises(GamepitError, match="at least two agents"):
        run_tournament(_config(tmp_path, game="tictactoe", agents=["random"]), manager)


# --------------------------------------------------------------------------- YAML


def test_yaml_config_loads_and_rejects_mistakes(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: cup\ngame: tictactoe\nagents: [random, alphabeta]\n"
                    "format: gauntlet\ngames_per_pair: 4\nmove_time: 1\n")
    assert load_config(good) == {"name": "cup", "game": "tictactoe",
                                 "agents": ["random", "alphabeta"], "format": "gauntlet",
                                 "games_per_pair": 4, "move_time": 1}
    cases = {
        "gamez: tictactoe\n": "unknown key",
        "game: [tictactoe\n": "bad YAML",
        "- a\n- b\n": "mapping",
        "games_per_pair: many\n": "games_per_pair must be int",
        "agents: random\n": "agents must be list",
        "agents: [1, 2]\n": "list of strings",
    }
    for text, message in cases.items():
        path = tmp_path / "bad.yaml"
        path.write_text(text)
        with pytest.raises(GamepitError, match=message):
            load_config(path)
    with pytest.raises(GamepitError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_example_config_is_valid():
    settings = load_config(ROOT / "configs" / "tournament_example.yaml")
    TournamentConfig(**settings).check()


# --------------------------------------------------------------------------- command line


def test_cli_tournament_with_yaml_flags_override_and_outputs(tmp_path, cli):
    config = tmp_path / "cup.yaml"
    config.write_text("name: cup\ngame: tictactoe\nagents: [random, 'alphabeta:depth=9']\n"
                      "games_per_pair: 2\nanchor: random=1500\n")
    done = cli("tournament", "--config", str(config), "--games", "4", "--csv", "board.csv",
               "--json", "board.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "4 games played now" in done.stdout
    assert "alphabeta:depth=9" in done.stdout.splitlines()[2]  # rank 1
    document = json.loads((tmp_path / "board.json").read_text())
    assert document["tournament"] == "cup" and document["anchors"] == {"random": 1500}
    assert {row["agent"] for row in document["leaderboard"]} == {"random", "alphabeta:depth=9"}
    assert next(row for row in document["leaderboard"]
                if row["agent"] == "random")["elo"] == pytest.approx(1500)
    lines = (tmp_path / "board.csv").read_text().splitlines()
    assert lines[0].startswith("rank,agent,elo,minus,plus,games,score")
    assert len(lines) == 3
    assert (tmp_path / "gamepit_ledger.sqlite").exists()
    again = cli("tournament", "--config", str(config), "--games", "4", cwd=tmp_path)
    assert "0 games played now, 4 already" in again.stdout
    listed = cli("tournament", "--list", cwd=tmp_path)
    assert listed.returncode == 0 and "'cup'" in listed.stdout and "4 games" in listed.stdout


@pytest.mark.parametrize("arguments, message", [
    (["tictactoe", "random", "nobody"], "unknown agent 'nobody'"),
    (["tictactoe", "random", "alphabeta", "--games", "0"], "--games/-n: 0 must be at least 1"),
    (["--config", "missing.yaml"], "no such config file"),
    ([], "no game given"),
    (["nogame", "random", "alphabeta"], "unknown game 'nogame'"),
])
def test_cli_mistakes_are_one_line(tmp_path, cli, arguments, message):
    done = cli("tournament", *arguments, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_crashed_worker_costs_the_game_in_flight_and_the_tournament_completes(tmp_path, cli,
                                                                              plugin_file):
    done = cli("--plugins", plugin_file, "tournament", "tictactoe", "random", "alphabeta:depth=1",
               "crashing", "--games", "2", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with sqlite3.connect(str(tmp_path / "gamepit_ledger.sqlite")) as connection:
        rows = connection.execute("SELECT agents, forfeit_seat, forfeit_reason FROM results"
                                  ).fetchall()
    assert len(rows) == 6
    crashed = [(json.loads(agents), seat, reason) for agents, seat, reason in rows
               if "crashing" in agents]
    assert len(crashed) == 4
    for agents, seat, reason in crashed:
        assert agents[seat] == "crashing" and reason == "crashed (exit code 3)"


def _processes_with(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() not in (entry / "environ").read_bytes():
                continue
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("workers", [0, 2])
def test_killed_tournament_loses_only_games_in_flight(tmp_path, workers):
    """Kill the command mid-run, run it again: every game is in the ledger exactly once, and
    no worker process outlives the killed tournament."""
    arguments = [sys.executable, "-m", "gamepit", "tournament", "connect_four", "random",
                 "alphabeta:depth=1", "alphabeta:depth=2", "--games", "30", "--name", "long",
                 "--workers", str(workers)]
    marker = f"GAMEPIT_TEST_RUN={tmp_path.name}-{workers}"
    env = {**os.environ, "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1",
           marker.split("=")[0]: marker.split("=")[1]}
    ledger = tmp_path / "gamepit_ledger.sqlite"
    process = subprocess.Popen(arguments, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    kill_when(process, lambda: ledger_games(ledger) >= 5, "5 games")
    deadline = time.time() + 20
    while _processes_with(marker) and time.time() < deadline:
        time.sleep(0.2)
    assert not _processes_with(marker), "worker processes outlived the killed tournament"
    with sqlite3.connect(str(ledger)) as connection:
        after_kill = connection.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert 5 <= after_kill < 90
    done = subprocess.run(arguments, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{90 - after_kill} games played now, {after_kill} already" in done.stdout
    rows = _rows(ledger, "long")
    assert len(rows) == 90
    assert len({(pairing, index) for pairing, index, *_ in rows}) == 90


# --------------------------------------------------------------------------- a locked ledger


def test_a_locked_ledger_is_one_true_line_and_the_tournament_resumes(tmp_path, manager,
                                                                      monkeypatch):
    import sqlite3

    from gamepit.tournament import ledger as ledger_module
    from gamepit.tournament.ledger import Ledger

    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT", 0.3)
    path = tmp_path / "ledger.sqlite"
    config = _config(tmp_path, game="tictactoe", games_per_pair=2, agents=["random", "alphabeta"],
                     ledger=str(path))
    run_tournament(config, manager)  # the file exists, 2 games in it
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process's long transaction
    try:
        with pytest.raises(GamepitError, match="locked by another process for over 0.3 s"):
            run_tournament(_config(tmp_path, game="tictactoe", games_per_pair=4,
                                   agents=["random", "alphabeta"], ledger=str(path)), manager)
        with pytest.raises(GamepitError, match="locked by another process"):
            Ledger(path)  # locked at the start too: not "not a usable SQLite file"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with Ledger(path) as book:  # unlocked, writes go through again
        assert book.count("tictactoe") == 2
    outcome = run_tournament(_config(tmp_path, game="tictactoe", games_per_pair=4,
                                     agents=["random", "alphabeta"], ledger=str(path)), manager)
    assert outcome.played_now == 2 and outcome.already == 2


def test_a_ledger_locked_in_the_middle_keeps_what_was_committed(tmp_path, monkeypatch):
    import sqlite3

    from gamepit.tournament import ledger as ledger_module
    from gamepit.tournament.ledger import GameRecord, Ledger

    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT", 0.3)
    path = tmp_path / "ledger.sqlite"
    book = Ledger(path)
    book.open_tournament("t", "tictactoe", 0, {})
    record = GameRecord(["random", "alphabeta"], 0, ["random", "alphabeta"], 0, [1.0, -1.0], 5,
                        0.1, None, "", None)
    assert book.record("t", "tictactoe", record)
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GamepitError, match="locked by another process"):
            book.record("t", "tictactoe", GameRecord(["random", "alphabeta"], 1,
                                                      ["alphabeta", "random"], 0, [1.0, -1.0],
                                                      5, 0.1, None, "", None))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert book.count("t") == 1
    book.close()


def test_outputs_are_regular_files_never_devices_or_links(tmp_path, cli):
    import stat

    target = tmp_path / "elsewhere.sqlite"
    target.write_bytes(b"")
    link = tmp_path / "link.sqlite"
    link.symlink_to(target)
    for flags, message in (
            (["--csv", "/dev/full"], "csv /dev/full is a device or other special file"),
            (["--json", "/dev/null"], "json /dev/null is a device or other special file"),
            (["--ledger", str(link)], "is a symbolic link; give the file itself"),
            (["--csv", str(tmp_path)], "is a folder")):
        done = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "--games", "2",
                   *flags, cwd=tmp_path)
        assert done.returncode == 2, (flags, done.stdout)
        assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # still the device
    assert not list(tmp_path.glob("elsewhere.sqlite-*"))  # no journal beside the link's target


@pytest.mark.parametrize("column, value", [
    ("pairing", "not json"), ("returns", '["a", "b"]'), ("returns", "[1.0]"),
    ("agents", '["random", "nobody"]'), ("pairing", "[" * 5000 + "]" * 5000),
    ("forfeit_seat", 9), ("steps", "'many'"), ("returns", "[NaN, 1]"),
])
def test_a_damaged_ledger_row_is_one_line_naming_it(tmp_path, cli, column, value):
    done = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "--games", "2",
               "--ledger", "l.sqlite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(str(tmp_path / "l.sqlite")) as connection:
        connection.execute(f"UPDATE results SET {column} = ? WHERE id = 1", (value,))
    again = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "--games", "2",
                "--ledger", "l.sqlite", cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr, again.stderr[-800:]
    line = again.stderr.strip()
    assert "row 1 of tournament 'tictactoe' is damaged" in line and "\n" not in line, line


@pytest.mark.parametrize("script, message", [
    ("CREATE TABLE tournaments (x INTEGER)", "its table tournaments lacks"),
    ("CREATE TABLE results (id INTEGER PRIMARY KEY, tournament TEXT)", "its table results lacks"),
    ("CREATE TABLE notes (x); CREATE TRIGGER t AFTER INSERT ON notes BEGIN DELETE FROM notes; "
     "END;", "it has triggers, t"),
])
def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path, cli, script,
                                                                 message):
    path = tmp_path / "theirs.sqlite"
    with sqlite3.connect(str(path)) as connection:
        connection.executescript(script)
    before = path.read_bytes()
    done = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "--games", "2",
               "--ledger", str(path), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-600:]
    assert f"not a gamepit ledger ({message}" in done.stderr
    assert path.read_bytes() == before


def test_a_read_only_ledger_is_listed_and_left_as_it_was(tmp_path, cli):
    """A ledger on read-only media: SQLite cannot make its WAL files beside it. Without write
    permission (or, as root, whom permissions do not stop, with the WAL's file names taken by
    folders), listing reads it as it is and writes nothing."""
    folder = tmp_path / "shelf"
    folder.mkdir()
    made = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "--games", "2",
               "--ledger", str(folder / "l.sqlite"), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    for name in ("l.sqlite-wal", "l.sqlite-shm"):
        (folder / name).unlink(missing_ok=True)
        if os.geteuid() == 0:
            (folder / name).mkdir()
    before = (folder / "l.sqlite").read_bytes()
    (folder / "l.sqlite").chmod(0o444)
    folder.chmod(0o555)
    try:
        listed = cli("tournament", "--list", "--ledger", str(folder / "l.sqlite"), cwd=tmp_path)
        page = charts.list_tournaments(folder / "l.sqlite")
    finally:
        folder.chmod(0o755)
    assert listed.returncode == 0, listed.stderr
    assert "tictactoe" in listed.stdout and "2 games" in listed.stdout
    assert page == [{"name": "tictactoe", "game": "tictactoe", "games": 2}]
    assert (folder / "l.sqlite").read_bytes() == before


def test_a_tournament_records_replays_unless_told_not_to(cli, tmp_path):
    done = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "-n", "2",
               "--ledger", "l.sqlite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 2
    more = cli("tournament", "tictactoe", "random", "alphabeta:depth=1", "-n", "4",
               "--ledger", "l.sqlite", "--no-replays", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 2
    config = tmp_path / "none.yaml"
    config.write_text("game: tictactoe\nagents: [random, alphabeta]\ngames_per_pair: 6\n"
                      "ledger: l.sqlite\nreplays: null\n")
    quiet = cli("tournament", "--config", str(config), cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 2  # replays: null: none


def test_ctrl_c_in_a_tournament_says_how_to_go_on(tmp_path):
    ledger = tmp_path / "l.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "gamepit", "tournament", "connect_four", "random",
         "mcts:sims=200", "-n", "400", "--ledger", str(ledger), "--no-replays"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not ledger_games(ledger):
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "run the same command again to continue" in err and "Traceback" not in err

