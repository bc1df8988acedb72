"""Outside engines seated as agents: ``gtp:`` (GnuGo, Pachi, gamepit's own GTP engine) and
``uci:`` (Stockfish), played for real; their faults are forfeits with reasons, and no engine
process outlives its match, after Ctrl-C or a kill of gamepit included.

The engines come from Debian (gnugo, pachi, stockfish: ``make test`` installs them). The faults
come from tests/engines/faulty.py, an engine that misbehaves on purpose.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from gamepit.arena import MatchSettings, play_match
from gamepit.authoring.checks import check_agent
from gamepit.errors import GamepitError
from gamepit.tournament.config import TournamentConfig
from gamepit.tournament.run import run_tournament

FAULTY = Path(__file__).resolve().parent / "engines" / "faulty.py"
GNUGO = "gtp:cmd=gnugo --mode gtp --level 1 --seed 1"
STOCKFISH = "uci:cmd=stockfish,depth=1"


def faulty(protocol: str, fault: str, at: int = 1, tag: str = "") -> str:
    return (f"{protocol}:cmd={sys.executable} {FAULTY} {protocol} {fault} --at {at}"
            + (f" --tag {tag}" if tag else ""))


def play(game, agents, specs, games, seed=0, move_time=None, max_steps=None):
    """``games`` games, seats alternating: [(result, seat of agents[0])]."""
    played = []
    for i in range(games):
        order = [0, 1] if i % 2 == 0 else [1, 0]
        result = play_match(game, [agents[k] for k in order], seed + i, [specs[k] for k in order],
                            settings=MatchSettings(move_time=move_time, max_steps=max_steps))
        played.append((result, order.index(0)))
    return played


def score(played) -> float:
    """The first agent's mean score."""
    return sum(result.outcome(seat) for result, seat in played) / len(played)


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose command line holds ``marker`` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_gone(marker: str, seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_with(marker)


@pytest.fixture(autouse=True)
def granted(monkeypatch):
    """These tests build engine specs in code, as a command line would grant them."""
    monkeypatch.setenv("GAMEPIT_ALLOW_ENGINE", f"gnugo,pachi,stockfish,{Path(sys.executable).name}")


# --------------------------------------------------------------------------- real engines


def test_gnugo_beats_random_from_both_seats_on_9x9(registry):
    game = registry.make_game("go:size=9")
    gnugo = registry.make_agent(GNUGO, game)
    random_agent = registry.make_agent("random", game)
    try:
        played = play(game, [gnugo, random_agent], [GNUGO, "random"], 2)
    finally:
        gnugo.close()
    assert [r.forfeit_seat for r, _ in played] == [None, None]
    assert score(played) == 1.0  # GnuGo won as black and as white
    assert all(r.steps > 20 for r, _ in played)


def test_gnugo_plays_any_size_and_refuses_what_it_cannot(registry):
    game = registry.make_game("go:size=5")
    gnugo = registry.make_agent(GNUGO, game)
    try:
        played = play(game, [gnugo, registry.make_agent("random", game)], [GNUGO, "random"], 2,
                      seed=3)
        assert [r.forfeit_seat for r, _ in played] == [None, None]
        with pytest.raises(GamepitError, match="gtp: plays Go"):
            gnugo.check_fit(registry.make_game("connect_four"))
    finally:
        gnugo.close()


def test_pachi_plays_gnugo_over_gtp(registry):
    game = registry.make_game("go:size=9")
    pachi = "gtp:cmd=pachi -t =500 threads=1"
    agents = [registry.make_agent(spec, game) for spec in (pachi, GNUGO)]
    try:
        played = play(game, agents, [pachi, GNUGO], 2, move_time=30, max_steps=40)
    finally:
        for agent in agents:
            agent.close()
    # both played to the end, or one resigned (Pachi resigns lost games)
    assert all(r.forfeit_reason in ("", "resigned") for r, _ in played), played
    assert all(r.steps > 10 for r, _ in played)


def test_an_engine_that_aborts_forfeits_with_the_signal(registry):
    """Pachi asserts (SIGABRT) when asked for fewer than its minimum of playouts: a real
    engine crash, recorded as the engine's forfeit."""
    game = registry.make_game("go:size=9")
    pachi = "gtp:cmd=pachi -t =100 'threads=1,pass_all_alive'"
    agent = registry.make_agent(pachi, game)
    try:
        played = play(game, [agent, registry.make_agent("random", game)], [pachi, "random"], 1)
    finally:
        agent.close()
    assert played[0][0].forfeit_reason == "pachi ended (killed by SIGABRT)"


@pytest.mark.parametrize("game_spec", ["openspiel:chess", "pettingzoo:classic.chess_v6"])
def test_stockfish_beats_random_on_both_chess_bridges(registry, game_spec):
    game = registry.make_game(game_spec)
    stockfish = registry.make_agent(STOCKFISH + ",options=Threads=1", game)
    try:
        played = play(game, [stockfish, registry.make_agent("random", game)],
                      [STOCKFISH, "random"], 2)
    finally:
        stockfish.close()
    assert [r.forfeit_seat for r, _ in played] == [None, None]
    assert score(played) >= 0.75


def test_gamepit_gtp_serves_as_an_engine_for_gamepit(registry):
    game = registry.make_game("go:size=5")
    spec = f"gtp:cmd={sys.executable} -m gamepit gtp --agent random --size 5"
    ours = registry.make_agent(spec, game)
    try:
        played = play(game, [ours, registry.make_agent("random", game)], [spec, "random"], 2,
                      seed=1)
    finally:
        ours.close()
    assert [r.forfeit_seat for r, _ in played] == [None, None]


@pytest.mark.parametrize("spec, game_spec", [(GNUGO, "go:size=5"), (GNUGO, "go:size=9"),
                                             (STOCKFISH, "openspiel:chess"),
                                             (STOCKFISH, "pettingzoo:classic.chess_v6")])
def test_engine_agents_pass_check_agent(registry, spec, game_spec):
    """Legal moves from every seat, JSON info, and the same moves when asked again about the
    positions it met (the engine is brought to each position afresh)."""
    game = registry.make_game(game_spec)
    engine = registry.make_agent(spec, game)
    try:
        check_agent(engine, game, games=2, max_steps=60)
    finally:
        engine.close()


# --------------------------------------------------------------------------- one-line errors


@pytest.mark.parametrize("spec, message", [
    ("gtp:cmd=katago gtp", "katago: not found; apt-get install katago"),
    ("gtp:cmd=no-such-engine-here", "no-such-engine-here: not found"),
    ("gtp:cmd=cat", "is not a working GTP engine"),
    ("gtp", "name the engine's command"),
    ("uci:cmd=stockfish,options=Foo=1", "it has no option 'Foo'"),
    ("uci:cmd=stockfish,options=Threads", "expected Name=Value"),
    ("gtp:cmd=gnugo --mode gtp,time_settings=5", "expected three numbers"),
])
def test_bad_engine_specs_are_one_line(cli, tmp_path, spec, message):
    done = cli("match", "go:size=9" if spec.startswith("gtp") else "openspiel:chess", spec,
               "random", "-n", "1", cwd=tmp_path, timeout=120)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_a_silent_engine_is_refused_at_spec_time_and_ended(cli, tmp_path):
    tag = uuid.uuid4().hex
    started = time.monotonic()
    with pytest.raises(GamepitError, match="not a working GTP engine"):
        from gamepit.agents.gtp import GtpAgent

        GtpAgent.START_TIMEOUT, saved = 1.0, GtpAgent.START_TIMEOUT
        try:
            GtpAgent(cmd=faulty("gtp", "silent", tag=tag).partition("=")[2])
        finally:
            GtpAgent.START_TIMEOUT = saved
    assert time.monotonic() - started < 10
    assert wait_gone(tag) == []


def test_the_wrong_game_is_one_line(cli, tmp_path):
    done = cli("match", "connect_four", GNUGO, "random", "-n", "1", cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "gtp: plays Go (go:size=N), not connect_four" in done.stderr
    done = cli("match", "tictactoe", STOCKFISH, "random", "-n", "1", cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "uci: plays chess" in done.stderr


def test_engines_from_a_file_need_allow_engine(cli, tmp_path):
    config = tmp_path / "ladder.yaml"
    config.write_text(f"game: go:size=5\nagents: [random, '{GNUGO}']\ngames_per_pair: 2\n")
    env = {"GAMEPIT_ALLOW_ENGINE": ""}
    refused = cli("tournament", "--config", str(config), "--ledger", "l.sqlite", cwd=tmp_path,
                  env=env, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "needs the command-line option --allow-engine gnugo" in refused.stderr
    allowed = cli("tournament", "--config", str(config), "--ledger", "l.sqlite",
                  "--allow-engine", "gnugo", cwd=tmp_path, env=env, timeout=300)
    assert allowed.returncode == 0, allowed.stderr
    assert "2 games played now" in allowed.stdout
    # typed on the command line, the same engine needs no grant
    typed = cli("match", "go:size=5", GNUGO, "random", "-n", "1", cwd=tmp_path, env=env,
                timeout=120)
    assert typed.returncode == 0, typed.stderr


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("protocol, fault, at, reason", [
    ("gtp", "crash", 2, "ended (exit code 3)"),
    ("gtp", "hang", 1, "gave no answer in time"),
    ("gtp", "garbage", 1, "answered genmove with 'banana'"),
    ("gtp", "illegal", 2, "played the illegal move"),
    ("uci", "crash", 1, "ended (exit code 3)"),
    ("uci", "hang", 1, "gave no answer in time"),
    ("uci", "illegal", 1, "answered bestmove 'e2e5', not a legal move"),
])
def test_an_engine_fault_forfeits_the_game_and_the_next_game_starts_afresh(
        registry, protocol, fault, at, reason):
    game = registry.make_game("go:size=5" if protocol == "gtp" else "openspiel:chess")
    tag = uuid.uuid4().hex
    spec = faulty(protocol, fault, at, tag)
    engine = registry.make_agent(spec, game)
    try:
        played = play(game, [engine, registry.make_agent("random", game)], [spec, "random"], 2,
                      move_time=2.0, max_steps=40)
        for result, seat in played:
            assert result.forfeit_seat == seat, result
            assert reason in result.forfeit_reason, result.forfeit_reason
    finally:
        engine.close()
    assert wait_gone(tag) == []


def test_a_killed_engine_forfeits_and_is_replaced(registry):
    game = registry.make_game("go:size=9")
    gnugo = registry.make_agent(GNUGO, game)
    try:
        gnugo.reset(game, 0, 0)
        os.kill(gnugo.engine.process.pid, signal.SIGKILL)
        with pytest.raises(Exception, match="killed by SIGKILL"):
            gnugo.act(game.new_state(0))
        assert gnugo.engine is None  # stopped; the next game starts a fresh one
        gnugo.reset(game, 0, 1)
        action, info = gnugo.act(game.new_state(1))
        assert game.new_state(1).legal_mask()[action] and info["move"]
    finally:
        gnugo.close()


def test_the_engine_and_its_children_end_with_the_match(registry):
    tag = uuid.uuid4().hex
    game = registry.make_game("go:size=5")
    spec = faulty("gtp", "spawn", tag=tag)
    engine = registry.make_agent(spec, game)
    played = play(game, [engine, registry.make_agent("random", game)], [spec, "random"], 1)
    assert len(processes_with(tag)) == 2  # the engine and the child it started
    engine.close()
    assert wait_gone(tag) == []
    assert played[0][0].steps > 0


def hears_ctrl_c() -> None:
    """Popen's preexec_fn: a pytest started where Ctrl-C is ignored (a shell's background job)
    would pass that on to gamepit, which then could not be interrupted."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("how", ["interrupt", "kill"])
def test_no_engine_outlives_gamepit_stopped_or_killed(tmp_path, how):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) and kill -9 of gamepit."""
    tag = uuid.uuid4().hex
    command = [sys.executable, "-m", "gamepit", "match", "go:size=5",
               faulty("gtp", "hang", 3, tag), "random", "-n", "50"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=hears_ctrl_c)
    try:
        deadline = time.monotonic() + 60
        while not processes_with(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with(tag), "the engine never started"
        time.sleep(1.0)  # in the middle of a move
        if how == "interrupt":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.kill()
        process.wait(timeout=30)
        assert wait_gone(tag) == [], f"the engine outlived gamepit ({how})"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in processes_with(tag):
            os.kill(pid, signal.SIGKILL)


def test_a_tournament_records_every_engine_fault_and_leaves_no_process(tmp_path, registry):
    tag = uuid.uuid4().hex
    engines = [faulty("gtp", "crash", 2, tag), faulty("gtp", "hang", 2, tag),
               faulty("gtp", "illegal", 2, tag)]
    config = TournamentConfig(game="go:size=5", agents=["random", *engines],
                              format="gauntlet", games_per_pair=2, move_time=2.0,
                              ledger=str(tmp_path / "l.sqlite"), max_steps=60, workers=2)
    outcome = run_tournament(config)
    assert outcome.played_now == 6
    reasons = " | ".join(outcome.forfeits)
    for expected in ("ended (exit code 3)", "gave no answer in time", "played the illegal move"):
        assert reasons.count(expected) == 2, reasons
    assert wait_gone(tag) == []


# --------------------------------------------------------------------------- everywhere


@pytest.mark.parametrize("extra", [["--workers", "2"], ["--isolate"]])
def test_engines_in_a_tournament_on_worker_processes_and_isolated(cli, tmp_path, extra):
    done = cli("tournament", "go:size=5", "random", GNUGO, "--games", "2", "--ledger",
               "l.sqlite", "--anchor", "random=0", *extra, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 games played now" in done.stdout and "anchored at random = 0" in done.stdout
    assert "forfeit" not in done.stdout


def test_a_gauntlet_against_an_engine_ladder_reads_per_opponent(cli, tmp_path):
    level = "gtp:cmd=gnugo --mode gtp --level {} --capture-all-dead --chinese-rules"
    pachi = "gtp:cmd=pachi -t =200 'threads=1,pass_all_alive'"
    done = cli("tournament", "go:size=5", "random", level.format(1), level.format(5), pachi,
               "--format", "gauntlet", "--games", "2", "--ledger", "l.sqlite", "--anchor",
               f"{level.format(1)}=1000", "--json", "board.json", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    start = lines.index("gauntlet: random against each (its score, 95% interval)")
    assert [line.split()[1] for line in lines[start + 1:start + 4]] == ["gtp:cmd=gnugo"] * 2 + [
        "gtp:cmd=pachi"]
    document = json.loads((tmp_path / "board.json").read_text())
    assert len(document["gauntlet"]) == 3 and document["anchors"] == {level.format(1): 1000}
    assert sum(row["wins"] + row["draws"] + row["losses"] for row in document["gauntlet"]) == 6


def test_gnugo_as_the_expert_of_dagger(cli, tmp_path):
    done = cli("train", "dagger", "--game", "go:size=5", "--set",
               "expert=gtp:cmd=gnugo --mode gtp --level 1", "--set", "rounds=2", "--set",
               "episodes=4", "--set", "epochs=1", "--run", "run", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "round 2/2" in done.stdout and (tmp_path / "run" / "checkpoint.pt").exists()
