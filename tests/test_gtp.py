"""GTP: the engine's answers command by command, then the real ``gamepit gtp`` process playing
whole games against GnuGo through a small referee, bad input through the process, and GnuGo
reading our SGF exports.

GnuGo must be installed (Debian package ``gnugo``, which puts it in /usr/games): these tests
fail, not skip, without it, because playing a real GTP peer is the point.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gamepit.agents.basic import RandomAgent
from gamepit.arena import MatchSettings, play_match
from gamepit.games.go.gtp import COMMANDS, GtpEngine
from gamepit.protocols import Agent
from gamepit.replay import read_replay
from tests.conftest import run_cli

SCORE = re.compile(r"^(0|[BW]\+\d+(\.\d+)?)$")


# --------------------------------------------------------------------------- in process


def make_engine(registry, agent: Agent | None = None, size: int = 9) -> GtpEngine:
    def make_game(size: int, komi: float):
        return registry.make_game(f"go:size={size},komi={komi}")

    return GtpEngine(make_game, agent or RandomAgent(), size=size, komi=7.5)


def answer(engine: GtpEngine, line: str) -> str:
    response = engine.handle(line)
    assert response is not None and response.endswith("\n\n"), repr(response)
    assert "\n\n" not in response[:-2], "a blank line inside a response would end it early"
    return response[:-2]


def test_administrative_commands_and_ids(registry):
    engine = make_engine(registry)
    assert answer(engine, "protocol_version") == "= 2"
    assert answer(engine, "12 name") == "=12 gamepit"
    assert answer(engine, "version").startswith("= ")
    assert answer(engine, "known_command genmove") == "= true"
    assert answer(engine, "known_command fly") == "= false"
    listed = answer(engine, "list_commands")[2:].split("\n")
    assert listed == list(COMMANDS)
    for required in ("protocol_version", "name", "version", "known_command", "list_commands",
                     "quit", "boardsize", "clear_board", "komi", "play", "genmove", "undo",
                     "showboard", "final_score", "time_settings", "time_left"):
        assert required in listed
    assert engine.handle("   # only a comment\n") is None
    assert engine.handle("\n") is None
    assert answer(engine, "7 quit") == "=7" + " " and engine.finished


def test_play_undo_score_and_board(registry):
    engine = make_engine(registry)
    assert answer(engine, "play black D4") == "= "
    assert answer(engine, "play W e5") == "= "
    assert answer(engine, "list_stones b") == "= D4"
    assert answer(engine, "final_score") == "= W+7.5"  # both stones share the empty area
    board = answer(engine, "showboard")
    assert " 4 . . . X" in board and " 5 . . . . O" in board
    assert answer(engine, "undo") == "= "
    assert answer(engine, "list_stones white") == "= "
    assert answer(engine, "final_score") == "= B+73.5"
    assert answer(engine, "undo") == "= "
    assert answer(engine, "undo") == "? cannot undo"


def test_illegal_and_malformed_commands_get_errors(registry):
    engine = make_engine(registry)
    answer(engine, "play b D4")
    assert answer(engine, "play w D4") == "? illegal move"
    assert answer(engine, "play w T19").startswith("? illegal move")  # off a 9x9 board
    assert answer(engine, "play w I3").startswith("? syntax error")
    assert answer(engine, "play green D5").startswith("? syntax error")
    assert answer(engine, "play b").startswith("? syntax error")
    assert answer(engine, "5 genmove purple").startswith("?5 syntax error")
    assert answer(engine, "boardsize nine").startswith("? syntax error")
    assert answer(engine, "boardsize 25") == "? unacceptable size"
    assert answer(engine, "komi lots").startswith("? syntax error")
    assert answer(engine, "time_settings 10 x 1").startswith("? syntax error")
    assert answer(engine, "time_left b 10").startswith("? syntax error")
    assert answer(engine, "fly to the moon") == "? unknown command"
    assert answer(engine, "42") == "?42 missing command"
    assert answer(engine, "list_stones b") == "= D4", "errors must not change the position"


def test_ko_through_gtp(registry):
    engine = make_engine(registry)
    for index, move in enumerate("E6 F6 D5 G5 E4 F4 F5 E5".split()):
        assert answer(engine, f"play {'bw'[index % 2]} {move}") == "= "
    assert answer(engine, "play b F5") == "? illegal move"


def test_setup_commands_rebuild_the_game(registry):
    engine = make_engine(registry)
    answer(engine, "play b C3")
    assert answer(engine, "komi 0.5") == "= "
    assert answer(engine, "list_stones b") == "= C3", "komi keeps the position"
    assert answer(engine, "final_score") == "= B+80.5"
    assert answer(engine, "boardsize 13") == "= "
    assert answer(engine, "list_stones b") == "= "
    assert engine.game.size == 13 and engine.game.komi == 0.5
    assert answer(engine, "play b N13") == "= "
    assert answer(engine, "clear_board") == "= "
    assert answer(engine, "list_stones b") == "= "
    assert answer(engine, "time_settings 300 30 5") == "= "
    assert answer(engine, "time_left white 120 0") == "= "


def test_genmove_plays_for_either_colour_and_out_of_turn(registry):
    engine = make_engine(registry)
    move = answer(engine, "genmove b")[2:]
    assert re.match(r"^([A-HJ][1-9]|pass)$", move)
    move = answer(engine, "genmove b")[2:]  # Black again: White's turn is taken as a pass
    assert len(engine.moves) == 2 and engine.state.current_player == 1
    # Black passing out of turn: White's implied pass and Black's pass end the game.
    assert answer(engine, "play b pass") == "= "
    assert engine.state.is_terminal()
    assert answer(engine, "genmove w") == "= pass"
    assert answer(engine, "play w D4").startswith("? illegal move (the game is over)")
    assert answer(engine, "undo") == "= "
    assert not engine.state.is_terminal() and engine.state.current_player == 1


class _Resigner(Agent):
    def act(self, state):
        return 0, {"resign": True}


class _Cheater(Agent):
    def act(self, state):
        raise RuntimeError("no idea\nat all")


def test_resigning_and_failing_agents(registry):
    assert answer(make_engine(registry, _Resigner()), "genmove w") == "= resign"
    failing = make_engine(registry, _Cheater())
    assert answer(failing, "genmove b") == "? internal error: RuntimeError: no idea at all"
    assert answer(failing, "name") == "= gamepit"


def test_random_command_lines_never_break_the_engine(registry):
    rng = random.Random(0)
    words = list(COMMANDS) + ["b", "w", "black", "white", "pass", "resign", "D4", "e5", "J9",
                              "T19", "I1", "A0", "0", "-3", "9", "19", "7.5", "nan", "inf",
                              "\u00e9t\u00e9", "\x00", "#", "12", "", "   "]
    engine = make_engine(registry)
    for _ in range(1500):
        line = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 5)))
        response = engine.handle(line)
        if response is not None:
            assert response[0] in "=?" and response.endswith("\n\n"), (line, response)
            assert "internal error" not in response, (line, response)
    assert answer(engine, "name") == "= gamepit"


# --------------------------------------------------------------------------- real processes


def gnugo_path() -> str:
    found = shutil.which("gnugo") or ("/usr/games/gnugo" if os.path.exists("/usr/games/gnugo")
                                      else None)
    if not found:
        pytest.fail("GnuGo is not installed: apt-get install -y gnugo (the GTP tests play it)")
    return found


class GtpProcess:
    """A GTP engine in a subprocess, spoken to one command at a time."""

    def __init__(self, argv: list[str]) -> None:
        self.errors = tempfile.TemporaryFile(mode="w+")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.errors, text=True, env=env)

    def send(self, command: str) -> tuple[bool, str]:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        lines = []
        while True:
            line = self.process.stdout.readline()
            if line == "":
                self.errors.seek(0)
                raise AssertionError(f"engine exited on {command!r}: {self.errors.read()}")
            if line == "\n" and lines:
                break
            if line.strip() or lines:
                lines.append(line.rstrip("\n"))
        head = lines[0]
        assert head[:1] in "=?", f"not a GTP response to {command!r}: {lines}"
        text = "\n".join([head[1:].lstrip("0123456789").strip()] + lines[1:])
        return head[0] == "=", text

    def ok(self, command: str) -> str:
        success, text = self.send(command)
        assert success, f"{command!r} failed: {text}"
        return text

    def close(self) -> int:
        try:
            self.send("quit")
        finally:
            code = self.process.wait(timeout=10)
            self.errors.close()
        return code


def gamepit_gtp(*extra: str) -> GtpProcess:
    return GtpProcess([sys.executable, "-m", "gamepit", "gtp", *extra])


def stones(engine: GtpProcess, colour: str) -> set[str]:
    return {vertex.upper() for vertex in engine.ok(f"list_stones {colour}").split()}


def referee(black: GtpProcess, white: GtpProcess, size: int = 9, max_moves: int = 160
            ) -> list[str]:
    """Relay genmove answers between two engines until two passes, a resignation or the cap;
    the engines' boards must agree all along."""
    for engine in (black, white):
        engine.ok(f"boardsize {size}")
        engine.ok("clear_board")
        engine.ok("komi 7.5")
    moves: list[str] = []
    seats = {"black": (black, white), "white": (white, black)}
    colour = "black"
    while len(moves) < max_moves:
        mover, other = seats[colour]
        move = mover.ok(f"genmove {colour}")
        moves.append(move)
        if move.lower() == "resign":
            break
        other.ok(f"play {colour} {move}")
        if len(moves) >= 2 and moves[-1].lower() == moves[-2].lower() == "pass":
            break
        if len(moves) % 20 == 0:
            for side in ("black", "white"):
                assert stones(black, side) == stones(white, side), f"after {moves}"
        colour = "white" if colour == "black" else "black"
    for side in ("black", "white"):
        assert stones(black, side) == stones(white, side), f"boards differ after {moves}"
    return moves


@pytest.mark.parametrize("our_colour", ["black", "white"])
def test_whole_game_against_gnugo(our_colour):
    gnugo = GtpProcess([gnugo_path(), "--mode", "gtp", "--level", "1", "--seed", "1"])
    ours = gamepit_gtp("--agent", "random", "--seed", "3")
    try:
        assert ours.ok("protocol_version") == "2"
        black, white = (ours, gnugo) if our_colour == "black" else (gnugo, ours)
        moves = referee(black, white)
        assert len(moves) >= 10
        for engine in (ours, gnugo):
            assert SCORE.match(engine.ok("final_score")), moves
        gnugo_letter = "W" if our_colour == "black" else "B"
        assert gnugo.ok("final_score").startswith(gnugo_letter), "GnuGo should beat random"
        assert ours.ok("undo") == "" and stones(ours, "black") | stones(ours, "white")
    finally:
        assert ours.close() == 0
        gnugo.close()


def test_bad_input_through_the_real_process():
    ours = gamepit_gtp("--size", "9")
    try:
        assert ours.send("play b Q99") == (False, "illegal move (off the board)")
        assert ours.send("play b Q999") == (False, "syntax error (invalid vertex 'Q999')")
        assert ours.send("genmove") == (False, "syntax error (usage: genmove COLOUR)")
        assert ours.send("frobnicate 1 2") == (False, "unknown command")
        assert ours.send("na\x01me") == (True, "gamepit")  # control characters are dropped
        assert ours.send("boardsize -1") == (False, "unacceptable size")
        assert ours.ok("play b E5") == ""
        assert ours.send("play w E5") == (False, "illegal move")
        assert ours.send("undo\tnow") == (True, "")
        assert ours.send("undo") == (False, "cannot undo")
        assert ours.send("3 komi 6.5") == (True, "")
        assert "A B C D E F G H J" in ours.ok("showboard")
    finally:
        assert ours.close() == 0


def test_gtp_command_rejects_bad_options_in_one_line():
    finished = run_cli("gtp", "--agent", "no_such_agent", input="name\n")
    assert finished.returncode == 2 and finished.stdout == ""
    assert finished.stderr.strip().startswith("gamepit: error: unknown agent 'no_such_agent'")
    assert "Traceback" not in finished.stderr
    for option, value, words in [("--size", "40", "at most 19"), ("--size", "1", "at least 2"),
                                 ("--komi", "nan", "finite"), ("--komi", "1e9", "at most"),
                                 ("--seed", "-1", "at least 0"),
                                 ("--seed", "99999999999999999999", "too large")]:
        finished = run_cli("gtp", option, value, input="")
        assert finished.returncode == 2 and words in finished.stderr, (option, value)
        assert len(finished.stderr.strip().splitlines()) == 1, finished.stderr


def test_gnugo_loads_our_sgf_export(registry, manager, tmp_path):
    game = registry.make_game("go:size=9")
    result = play_match(game, [RandomAgent(), RandomAgent()], seed=11,
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    replay = read_replay(result.replay_path)
    sgf_file = Path(tmp_path) / "game.sgf"
    sgf_file.write_text(game.export(replay, "sgf"))
    state = game.new_state()
    for action in replay.actions:
        state.apply(action)
    black, white = state.board()
    expected = {colour: {game.action_to_string(int(p)) for p in plane.reshape(-1).nonzero()[0]}
                for colour, plane in (("black", black), ("white", white))}
    gnugo = GtpProcess([gnugo_path(), "--mode", "gtp"])
    try:
        gnugo.ok(f"loadsgf {sgf_file}")
        for colour in ("black", "white"):
            assert stones(gnugo, colour) == expected[colour]
    finally:
        gnugo.close()


def test_undecodable_bytes_get_an_error_response_and_the_engine_goes_on():
    """Strict UTF-8 decoding of stdin ended the engine on ``play b \\xe91`` before any answer."""
    script = (b"1 name\n2 play b \xe91\n\xff\xfe\n3 play b D4\n# a comment \xe9\n"
              b"4 list_stones b\nkomi \x807.5\n\x00\x01\x02\n5 name\r\n6 quit\n")
    done = subprocess.run([sys.executable, "-m", "gamepit", "gtp"], input=script,
                          capture_output=True, timeout=120)
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    responses = done.stdout.decode("ascii").split("\n\n")
    assert responses[-1] == ""
    assert responses[:-1] == ["=1 gamepit", "?2 invalid UTF-8 in the command",
                              "? invalid UTF-8 in the command", "=3 ", "=4 D4",
                              "? invalid UTF-8 in the command",  # control bytes: ignored
                              "=5 gamepit", "=6 "]


@pytest.mark.parametrize("line", [
    "boardsize 0", "boardsize 1000", "boardsize -1", "boardsize 99999999999999999999999999",
    "boardsize 1e3", "komi nan", "komi inf", "komi -inf", "komi 1e400", "komi 1e308",
    "komi 99999999999999999999999999", "komi 0x10", "time_settings 1 2 99999999999999999999999",
    "time_left b -5 99999999999999999999999", "play b T99999999999999999999",
    "play b A99", "play b Z1", "play b A0", "play x D4", "play b", "genmove", "genmove z",
    "known_command", "list_stones", "list_stones q", "undo 5",
    "99999999999999999999999999999 name", "-1 name", "1.5 name", "\x1b[31m name", "\x7f",
    "\u00e9t\u00e9", "name \u2028 x", "\u0085name", "name\x0bx", " " * 10000, "a" * 100000,
])
def test_nasty_lines_get_responses_not_internal_errors(registry, line):
    engine = make_engine(registry)
    response = engine.handle(line)
    if response is not None:
        assert response[0] in "=?" and response.endswith("\n\n"), (line, response)
        assert "\n\n" not in response[:-2]
        assert "internal error" not in response, (line, response)
    assert answer(engine, "name") == "= gamepit"
    assert answer(engine, "play b D4") == "= "


# --------------------------------------------------------------------------- handicap, time


def test_fixed_handicap_agrees_with_gnugo_on_every_size_and_count(registry):
    gnugo = GtpProcess([gnugo_path(), "--mode", "gtp"])
    try:
        for size in (7, 8, 9, 13, 19):
            limit = 9 if size % 2 and size >= 9 else 4
            ours = make_engine(registry, size=size)
            gnugo.ok(f"boardsize {size}")
            for count in range(2, limit + 1):
                answer(ours, "clear_board")
                gnugo.ok("clear_board")
                placed = answer(ours, f"fixed_handicap {count}")[2:].split()
                assert set(placed) == {v.upper() for v in gnugo.ok(
                    f"fixed_handicap {count}").split()}, (size, count)
                assert set(placed) == {v.upper() for v in answer(ours, "list_stones black")[
                    2:].split()}
            answer(ours, "clear_board")
            assert answer(ours, f"fixed_handicap {limit + 1}") == "? invalid number of stones"
    finally:
        gnugo.close()


def test_handicap_stones_then_white_moves_and_errors(registry):
    engine = make_engine(registry)
    assert answer(engine, "set_free_handicap C3 G7 E5") == "= "
    assert set(answer(engine, "list_stones black")[2:].split()) == {"C3", "E5", "G7"}
    move = answer(engine, "genmove white")[2:]
    assert move.upper() in set(answer(engine, "list_stones white")[2:].split()) | {"PASS"}
    assert answer(engine, "fixed_handicap 2") == "? board not empty"
    answer(engine, "clear_board")
    assert answer(engine, "set_free_handicap C3") == "? bad vertex list"
    assert answer(engine, "set_free_handicap C3 C3") == "? bad vertex list"
    assert answer(engine, "set_free_handicap C3 pass") == "? bad vertex list"
    assert answer(engine, "place_free_handicap 4") == "= C3 G7 C7 G3"
    tiny = make_engine(registry, size=5)
    assert answer(tiny, "fixed_handicap 2").startswith("? invalid number of stones")


class ClockedAgent(RandomAgent):
    """A random mover that notes the think time it was given for each move."""

    think_time = None

    def act(self, state):
        self.given = self.think_time
        return super().act(state)


def test_time_controls_become_the_agents_think_time(registry):
    agent = ClockedAgent()
    engine = make_engine(registry, agent)
    answer(engine, "genmove black")
    assert agent.given is None  # no clock: the agent's own budget
    answer(engine, "time_settings 0 5 1")  # 5 seconds a move
    answer(engine, "genmove white")
    assert agent.given == pytest.approx(4.0)
    answer(engine, "time_settings 300 10 5")
    answer(engine, "time_left black 270 0")  # main time: spread over the moves left
    answer(engine, "genmove black")
    assert agent.given == pytest.approx(270 / 26.333 + 0.8 * 10 / 5, rel=1e-3)
    answer(engine, "time_left white 20 4")  # byo-yomi: 20 seconds for 4 stones
    answer(engine, "genmove white")
    assert agent.given == pytest.approx(4.0)
    answer(engine, "kgs-time_settings none")
    answer(engine, "genmove black")
    assert agent.given is None
    answer(engine, "kgs-time_settings byoyomi 0 30 5")
    answer(engine, "genmove white")
    assert agent.given == pytest.approx(24.0)
    answer(engine, "time_settings 0 1 0")  # GTP: byo-yomi time with no stones: no limit
    answer(engine, "genmove black")
    assert agent.given is None
    assert answer(engine, "time_settings 1 2").startswith("? syntax error")
    assert answer(engine, "kgs-time_settings canadian 1 2").startswith("? syntax error")


def test_a_spent_think_time_stops_the_search_after_one_simulation(registry):
    game = registry.make_game("go:size=9")
    agent = registry.make_agent("mcts:sims=200,reuse=false", game)
    agent.reset(game, 0, 0)
    agent.think_time = 1e-9  # spent before the search starts: one simulation, then a move
    action, info = agent.act(game.new_state(0))
    assert game.new_state(0).legal_mask()[action]
    assert sum(info["visit_counts"]) == 1  # the root's visits: one simulation
    assert agent.mcts.deadline is not None
    agent.think_time = None
    _, info = agent.act(game.new_state(0))
    assert agent.mcts.deadline is None and sum(info["visit_counts"]) > 1
