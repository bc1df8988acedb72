"""Agents that fail in every way a process can: each costs the agent the game, with the reason
recorded, and never the run. Real processes, real signals, a real SQLite ledger; the faulty
agents come from a plugin file loaded with --plugins (benchmarks/fault_agents.py)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_lockstep, play_match
from gamepit.errors import GamepitError, SpecError
from gamepit.protocols import Agent
from gamepit.tournament.config import load_config
from tests.conftest import kill_when, ledger_games

ROOT = Path(__file__).resolve().parents[1]
FAULTS = str(ROOT / "benchmarks" / "fault_agents.py")


def ledger_rows(path: Path) -> list[tuple]:
    """Every game of a ledger, in a fixed order: pairing, index, seats, seed, returns, steps,
    forfeit seat and reason."""
    with sqlite3.connect(str(path)) as connection:
        return sorted(connection.execute(
            "SELECT pairing, game_index, agents, seed, returns, steps, forfeit_seat, "
            "forfeit_reason FROM results").fetchall())


# --------------------------------------------------------------------------- in-process faults


class Exits(Agent):
    def __init__(self, where: str) -> None:
        self.where = where

    def reset(self, game, player, seed=None):
        super().reset(game, player, seed)
        if self.where == "reset":
            sys.exit(0)

    def act(self, state):
        if self.where == "act":
            sys.exit(3)
        return int(state.legal_actions()[0])


class BatchExits(Exits):
    batched = True

    def act_batch(self, states):
        raise SystemExit("bye")


class Returns(Agent):
    def __init__(self, value) -> None:
        self.value = value

    def act(self, state):
        return self.value


class Interrupts(Agent):
    def act(self, state):
        raise KeyboardInterrupt


class Plays(Agent):
    def act(self, state):
        return int(state.legal_actions()[0])


@pytest.mark.parametrize("agent, reason", [
    (Exits("reset"), "reset raised SystemExit: 0"),
    (Exits("act"), "act raised SystemExit: 3"),
    (BatchExits("none"), "act_batch raised SystemExit: bye"),
])
def test_sys_exit_in_an_agent_is_a_forfeit(registry, manager, agent, reason):
    game = registry.make_game("tictactoe")
    result = play_match(game, [agent, Plays()], 0, settings=MatchSettings(manager=manager))
    assert result.forfeit_seat == 0 and result.forfeit_reason == reason


def test_ctrl_c_still_stops_the_run(registry, manager):
    with pytest.raises(KeyboardInterrupt):
        play_match(registry.make_game("tictactoe"), [Interrupts(), Plays()], 0,
                   settings=MatchSettings(manager=manager))


@pytest.mark.parametrize("value", ["3", 3.7, True, b"3", np.float64(3.0), None, [3], (3, 4, 5)])
def test_an_act_result_that_is_not_an_integer_is_an_illegal_action(registry, manager, value):
    result = play_match(registry.make_game("tictactoe"), [Returns(value), Plays()], 0,
                        settings=MatchSettings(manager=manager))
    assert result.forfeit_seat == 0 and result.steps == 0
    assert result.forfeit_reason.startswith("illegal action")


@pytest.mark.parametrize("value", [np.int64(4), np.int8(4), 4, (np.int32(4), {"why": "x"})])
def test_numpy_integers_are_actions(registry, manager, value):
    result = play_match(registry.make_game("tictactoe"), [Returns(value), Plays()], 0,
                        settings=MatchSettings(manager=manager, max_steps=1))
    assert result.forfeit_seat is None and result.steps == 1


def test_act_batch_results_are_checked_like_act(registry, manager):
    class Floats(Agent):
        batched = True

        def act_batch(self, states):
            return [1.0 for _ in states]

    game = registry.make_game("tictactoe")
    agent = Floats()
    results = play_lockstep(game, [[agent, Plays()], [agent, Plays()]], [0, 1],
                            settings=MatchSettings(manager=manager))
    assert all(r.forfeit_reason.startswith("illegal action 1.0") for r in results)


# --------------------------------------------------------------------------- processes


def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "gamepit", "--plugins", FAULTS, *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def reasons(rows: list[tuple]) -> dict[str, int]:
    found: dict[str, int] = {}
    for row in rows:
        found[row[7]] = found.get(row[7], 0) + 1
    return found


@pytest.mark.parametrize("extra", [["--workers", "2"], ["--isolate"]])
def test_crashing_agents_cost_one_game_each_and_the_tournament_completes(tmp_path, extra):
    """A segfault (SIGSEGV) and os._exit in an agent, with worker processes or with each agent
    in its own process: every game is recorded; the crash is a forfeit of the crashing seat."""
    done = run("tournament", "connect_four", "random", "crasher:at=1", "quitter:at=2",
               "--games", "4", "--ledger", "l.sqlite", *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = ledger_rows(tmp_path / "l.sqlite")
    assert len(rows) == 12
    for _, _, agents, _, _, _, seat, reason in rows:
        if reason:
            faulty = json.loads(agents)[seat]
            expected = {"crasher:at=1": "crashed (killed by SIGSEGV)",
                        "quitter:at=2": "crashed (exit code 7)"}[faulty]
            assert reason == expected
    assert reasons(rows).get("crashed (killed by SIGSEGV)", 0) >= 4
    assert reasons(rows).get("crashed (exit code 7)", 0) >= 2


def test_a_dead_worker_replays_the_rest_of_its_lockstep_group_the_same(tmp_path):
    """A batched pairing in lockstep groups of 4, where one agent crashes on some games: the
    other games of a dead worker's group are replayed and come out as in a run without
    crashes (checked against the same games played in one process)."""
    common = ["connect_four", "mcts:sims=8", "crasher:p=0.4,at=1", "--games", "8",
              "--batch-size", "4"]
    assert run("tournament", *common, "--isolate", "--ledger", "a.sqlite",
               cwd=tmp_path).returncode == 0
    done = run("tournament", *common, "--workers", "2", "--ledger", "b.sqlite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    isolated, workers = ledger_rows(tmp_path / "a.sqlite"), ledger_rows(tmp_path / "b.sqlite")
    assert 0 < reasons(workers).get("crashed (killed by SIGSEGV)", 0) < 8
    assert [row[:3] + row[4:] for row in workers] == [row[:3] + row[4:] for row in isolated]


def test_isolate_kills_a_hung_agent_and_match_goes_on(tmp_path):
    started = time.perf_counter()
    done = run("match", "connect_four", "hanger:at=1", "random", "-n", "3", "--isolate",
               "--move-time", "0.3", "--no-replays", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("exceeded the move time of 0.3s (its process was killed)") == 3
    assert "thread" not in done.stderr
    assert time.perf_counter() - started < 60


def test_isolated_match_and_play_survive_a_segfault(tmp_path):
    done = run("match", "connect_four", "random", "crasher", "-n", "2", "--isolate",
               "--no-replays", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("crashed (killed by SIGSEGV)") == 2
    done = run("play", "connect_four", "crasher", "random", "--isolate", "--no-replays",
               cwd=tmp_path)
    assert done.returncode == 0 and "crashed (killed by SIGSEGV)" in done.stdout


def test_in_process_hangs_warn_once_and_point_to_isolate(tmp_path):
    done = run("tournament", "connect_four", "random", "hanger", "--games", "3",
               "--move-time", "0.1", "--ledger", "l.sqlite", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning") == 1 and "--isolate" in done.stderr
    assert reasons(ledger_rows(tmp_path / "l.sqlite")) == {
        "exceeded the move time of 0.1s": 3}


def test_workers_retire_after_a_hang(tmp_path):
    """With workers no warning: a worker whose agent hung is replaced after its task."""
    done = run("tournament", "connect_four", "random", "hanger", "alphabeta:depth=1",
               "--games", "4", "--move-time", "0.1", "--workers", "2", "--ledger", "l.sqlite",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    rows = ledger_rows(tmp_path / "l.sqlite")
    assert len(rows) == 12 and reasons(rows)["exceeded the move time of 0.1s"] == 8


# --------------------------------------------------------------------------- bad numbers


@pytest.mark.parametrize("command", [
    ["match", "tictactoe", "random", "random"],
    ["play", "tictactoe", "random", "random"],
    ["tournament", "tictactoe", "random", "alphabeta"],
])
@pytest.mark.parametrize("flag", [
    ["--seed", "-1"], ["--seed", "99999999999999999999"], ["--move-time", "nan"],
    ["--move-time", "inf"], ["--move-time", "0"], ["--move-time", "-1"],
])
def test_bad_numbers_on_the_command_line_are_one_line(tmp_path, command, flag):
    done = run(*command, *flag, "--ledger" if command[0] == "tournament" else "--no-replays",
               *(["l.sqlite"] if command[0] == "tournament" else []), cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and flag[0] in done.stderr
    assert not (tmp_path / "l.sqlite").exists()


@pytest.mark.parametrize("text, message", [
    ("seed: -1", "seed: -1 must be at least 0"),
    ("move_time: .nan", "move_time: nan must be a finite number"),
    ("games_per_pair: 99999999999999999999", "games_per_pair"),
    ("plugins: [/nonexistent.py]", "pass each plugin on the command line with --plugins"),
    ("isolate: 1", "isolate must be bool"),
])
def test_bad_yaml_settings_are_one_line(tmp_path, text, message):
    path = tmp_path / "t.yaml"
    path.write_text(f"game: tictactoe\nagents: [random, alphabeta]\n{text}\n")
    with pytest.raises(GamepitError, match=message.replace(".", r"\.").replace("[", r"\[")):
        load_config(path)
    done = run("tournament", "--config", str(path), cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("output", [["--csv", "."], ["--json", "."], ["--csv", "/proc/x.csv"]])
def test_unwritable_outputs_fail_before_any_game(tmp_path, output):
    done = run("tournament", "tictactoe", "random", "alphabeta", "--ledger", "l.sqlite",
               *output, cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "l.sqlite").exists()


@pytest.mark.parametrize("spec", ["mcts:temperature=inf", "mcts:c_puct=nan",
                                  "mcts:dirichlet_alpha=nan", "mcts:sims=0",
                                  "mcts:dirichlet_epsilon=2", "mcts:temperature=-1"])
def test_mcts_options_out_of_range_are_refused(registry, spec):
    with pytest.raises(SpecError):
        registry.make_agent(spec)


# --------------------------------------------------------------------------- exact resume


@pytest.mark.parametrize("spec,alone_spec", [
    ("mcts:sims=40,temperature=1", "mcts:sims=40,temperature=1,reuse=false"),
    ("alphazero:checkpoint=builtin:connect_four,sims=16,temperature=1",) * 2,
])
def test_batched_search_act_batch_equals_act_on_each_state(registry, spec, alone_spec):
    game = registry.make_game("connect_four")
    rng = np.random.default_rng(3)
    state, states = game.new_state(0), []
    for _ in range(8):
        states.append(state.clone())
        state.apply(int(rng.choice(state.legal_actions())))
    batched = registry.make_agent(spec)
    batched.reset(game, 0, 11)
    together = [action for action, _ in batched.act_batch([s.clone() for s in states])]
    alone = []
    for position in states:
        agent = registry.make_agent(alone_spec)
        agent.reset(game, 0, 11)
        alone.append(agent.act(position.clone())[0])
    assert together == alone
    with_seeds = batched.act_batch([s.clone() for s in states], seeds=[11] * len(states))
    assert [action for action, _ in with_seeds] == together


def test_lockstep_grouping_does_not_change_a_game(registry, manager):
    game = registry.make_game("connect_four")

    def play(groups: list[list[int]]) -> list[tuple]:
        out = []
        for seeds in groups:
            shared = registry.make_agent("mcts:sims=20")
            seatings = [[shared, registry.make_agent("random")] for _ in seeds]
            results = play_lockstep(game, seatings, seeds, settings=MatchSettings(manager=manager))
            for seed, result in zip(seeds, results, strict=True):
                out.append((seed, result.returns, result.steps))
        return sorted(out)

    assert play([list(range(8))]) == play([[5, 1], [0, 7, 2], [3, 4, 6]]) == play(
        [[i] for i in range(8)])


class GivesUp(Agent):
    """Plays its first legal move, and raises on its third move in games of odd seed: a
    forfeit in the middle of a batch, while the other games go on."""

    def reset(self, game, player, seed=None):
        super().reset(game, player, seed)
        self.moves, self.gives_up = 0, (seed // 1000) % 2 == 1

    def act(self, state):
        self.moves += 1
        if self.gives_up and self.moves == 3:
            raise RuntimeError("gave up")
        return int(state.legal_actions()[0])


@pytest.mark.parametrize("spec", ["mcts:sims=12",
                                  "mcts:sims=12,temperature=1,dirichlet_alpha=0.5,leaves=3",
                                  "mcts:sims=12,rule=puct,rollouts=0,temperature=0.5"])
def test_kept_subtrees_play_each_game_as_alone_in_any_grouping(registry, manager, spec):
    """Subtree reuse keeps one tree per game (by its agent seed), so a game plays the same
    alone or beside others, whatever the grouping: one agent in both seats of some games and in
    either seat of others, games that end early (a forfeit mid-batch) or late, random openings,
    sampled moves, root noise and virtual loss."""
    game = registry.make_game("connect_four")

    def seating(seed: int, shared: Agent) -> list[Agent]:
        kind = seed % 3
        return ([shared, shared] if kind == 0 else [shared, GivesUp()] if kind == 1
                else [registry.make_agent("random"), shared])

    def play(groups: list[list[int]]) -> list[tuple]:
        out = []
        for seeds in groups:
            shared = registry.make_agent(spec)
            results = play_lockstep(game, [seating(seed, shared) for seed in seeds], seeds,
                                    settings=MatchSettings(manager=manager, opening_moves=2))
            out += [(seed, r.returns, r.steps, r.forfeit_seat, r.final_hash)
                    for seed, r in zip(seeds, results, strict=True)]
        return sorted(out)

    together = play([list(range(9))])
    assert any(row[3] is not None for row in together)  # some games ended by a forfeit
    assert all(row[3] is None or (row[3], row[0] % 3) == (1, 1) for row in together)  # GivesUp's
    assert together == play([[4, 0, 8], [7, 2], [1, 3, 5, 6]]) == play([[i] for i in range(9)])


def _kill_midway(arguments: list[str], cwd: Path, ledger: Path, at_least: int) -> None:
    env = {**os.environ, "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    process = subprocess.Popen([sys.executable, "-m", "gamepit", *arguments], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kill_when(process, lambda: ledger_games(ledger) >= at_least, f"{at_least} games")


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_killed_and_resumed_batched_tournament_equals_an_uninterrupted_one(tmp_path, workers):
    arguments = ["tournament", "connect_four", "random", "mcts:sims=16", "mcts:sims=32",
                 "--games", "16", "--batch-size", "6", "--workers", workers]
    whole = run(*arguments, "--ledger", "whole.sqlite", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    ledger = tmp_path / "killed.sqlite"
    _kill_midway([*arguments, "--ledger", str(ledger)], tmp_path, ledger, 10)
    _kill_midway([*arguments, "--ledger", str(ledger)], tmp_path, ledger, 25)
    resumed = run(*arguments, "--ledger", str(ledger), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "already in" in resumed.stdout
    killed_rows = ledger_rows(ledger)
    assert len(killed_rows) == 48
    assert killed_rows == ledger_rows(tmp_path / "whole.sqlite")


# --------------------------------------------------------------------------- forged answers


@pytest.mark.parametrize("kind", ["int", "iter", "str"])
@pytest.mark.parametrize("extra", [[], ["--isolate"]])
def test_an_answer_that_raises_when_read_is_a_forfeit(tmp_path, kind, extra):
    done = run("match", "tictactoe", f"forger:kind={kind}", "random", "-n", "2", "--no-replays",
               *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "+0 =0 -2" in done.stdout, done.stdout
    assert ("unreadable answer" in done.stdout or "cannot be read" in done.stdout
            or "cannot be sent" in done.stdout), done.stdout


def test_forged_answers_in_a_tournament_and_a_batch(registry, manager):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import fault_agents
    finally:
        sys.path.pop(0)

    class BatchForger(Agent):
        batched = True

        def act_batch(self, states):
            return fault_agents.BadTuple((1, 2))  # a list-like whose iteration raises

    game = registry.make_game("tictactoe")
    results = play_lockstep(game, [[BatchForger(), Plays()], [BatchForger(), Plays()]], [0, 1],
                            settings=MatchSettings(manager=manager))
    assert all("act_batch returned" in r.forfeit_reason for r in results)
    for kind in ("int", "iter", "str"):
        result = play_match(game, [fault_agents.Forger(kind=kind), Plays()], 0,
                            settings=MatchSettings(manager=manager))
        assert result.forfeit_seat == 0
        assert "unreadable answer (RuntimeError)" in result.forfeit_reason


@pytest.mark.parametrize("command", [
    ["match", "tictactoe", "SPAWNER", "random", "-n", "2", "--no-replays", "--isolate"],
    ["tournament", "tictactoe", "SPAWNER", "random", "-n", "2", "--no-replays", "--workers",
     "2", "--ledger", "s.sqlite"],
])
def test_an_isolated_agents_children_end_with_it(tmp_path, command):
    code = (os.getpid() + len(command)) % 100000
    marker = f"gamepit-spawned-{code}"
    done = run(*[f"spawner:code={code}" if part == "SPAWNER" else part for part in command],
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(marker):
        time.sleep(0.2)
    assert not _running(marker), "a child of the isolated agent outlived the match"


def _running(marker: str) -> bool:
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                if (entry / "stat").read_text().rpartition(")")[2].split()[0] != "Z":
                    return True
        except OSError:
            continue
    return False


# --------------------------------------------------------------------------- a game's start


@pytest.mark.parametrize("command", [
    ["match", "tictactoe", "stuck", "random", "-n", "2", "--no-replays"],  # the variable
    ["match", "tictactoe", "stuck", "random", "-n", "2", "--no-replays", "--isolate",
     "--start-time", "2"],
    ["tournament", "tictactoe", "stuck", "random", "--games", "2", "--ledger", "s.sqlite",
     "--workers", "1", "--start-time", "2"],
])
def test_an_agent_that_hangs_in_reset_forfeits_after_the_start_time(tmp_path, command,
                                                                      monkeypatch):
    if "--start-time" not in command:
        monkeypatch.setenv("GAMEPIT_START_TIME", "2")
    done = run(*command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("did not reset within 2s") == 2, done.stdout


@pytest.mark.parametrize("command", [
    ["match", "tictactoe", "slowstart", "random", "-n", "2", "--no-replays", "--isolate"],
    ["tournament", "tictactoe", "random", "slowstart", "--games", "2", "--ledger", "s.sqlite"],
])
def test_an_agent_that_hangs_while_built_is_one_line(tmp_path, command):
    done = run(*command, "--start-time", "2", cwd=tmp_path)
    assert done.returncode == 2 and "did not start within 2s" in done.stderr, done.stderr
    assert "--start-time" in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("extra", [[], ["--workers", "1"]])
def test_an_agent_that_changes_its_game_cannot_make_its_opponent_forfeit(tmp_path, extra):
    done = run("tournament", "connect_four", "meddler", "mcts:sims=8", "random", "--games", "4",
               "--ledger", "meddle.sqlite", *extra, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = ledger_rows(tmp_path / "meddle.sqlite")
    assert len(rows) == 12
    assert reasons(rows) == {"": 12}, reasons(rows)


# --------------------------------------------------------------------------- full disks


def _file_limit(size: int) -> Callable[[], None]:
    """preexec_fn: no file may grow past ``size`` bytes, as on a full disk (writes fail)."""
    def limit() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


@pytest.mark.parametrize("learner, size, settings, what", [
    ("dqn", 20000, ["--game", "gym:CartPole-v1", "--set", "total_steps=1200", "--set",
                    "learning_starts=500", "--set", "checkpoint_every=1000"], "checkpoint.pt"),
    ("alphazero", 3000, ["--game", "tictactoe", "--set", "iterations=2", "--set",
                         "selfplay_games=4", "--set", "sims=4", "--set", "eval_games=0", "--set",
                         "min_buffer=8"], "replay_buffer.npz"),
    ("muzero", 30000, ["--game", "tictactoe", "--set", "iterations=2", "--set",
                       "selfplay_games=4", "--set", "sims=4", "--set", "eval_games=0"], ".pt"),
    ("dagger", 3000, ["--game", "tictactoe", "--set", "expert=alphabeta:depth=2", "--set",
                      "episodes=8", "--set", "rounds=2", "--set", "epochs=2", "--set",
                      "eval_episodes=0"], "run/"),  # the first of its shard or checkpoint
])
def test_training_on_a_full_disk_is_one_line_and_leaves_nothing_half_written(
        tmp_path, learner, size, settings, what):
    env = {**os.environ, "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-m", "gamepit", "train", learner, "--run", "run",
                           "--device", "cpu", *settings], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=300, preexec_fn=_file_limit(size))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("gamepit: error")]
    assert len(errors) == 1 and what in errors[0] and "could not be written" in errors[0]
    assert not [p for p in (tmp_path / "run").rglob("*") if ".partial" in p.name]
    for path in (tmp_path / "run").rglob("*.npz"):  # what is there is whole
        with np.load(path) as data:
            assert data.files


def test_a_metrics_file_takes_whole_lines_or_none(tmp_path):
    code = ("from gamepit.training.metrics_file import append_metrics\n"
            "for step in range(50): append_metrics('run', step, {f'm{i}': i for i in range(9)})")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, text=True,
                          capture_output=True, timeout=60, preexec_fn=_file_limit(2000))
    assert done.returncode == 0, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "metrics from step" in done.stderr
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert 5 <= len(lines) < 50 and all(json.loads(line) for line in lines)


def test_outputs_on_a_full_disk_are_refused_before_any_game(tmp_path):
    env = {**os.environ, "GAMEPIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-m", "gamepit", "tournament", "connect_four",
                           "random", "mcts:sims=2", "--games", "2", "--csv", "out.csv"],
                          cwd=tmp_path, env=env, text=True, capture_output=True, timeout=120,
                          preexec_fn=_file_limit(500))
    assert done.returncode == 2 and "File too large" in done.stderr, done.stderr
    assert len(done.stderr.splitlines()) == 1 and not list(tmp_path.iterdir())
