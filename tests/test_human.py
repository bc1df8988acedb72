"""A person at the terminal, through the real ``gamepit play`` with its input piped: the seat in
the game's words, the final board, and a resignation or the end of input recorded as such."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def replay_end(tmp_path: Path) -> dict:
    (path,) = tmp_path.glob("*.jsonl")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return records[-1]


def test_whole_game_names_the_seats_and_shows_the_final_board(tmp_path):
    # both seats human: X takes the top row while O plays the middle row
    played = run_cli("play", "tictactoe", "human", "human", "--replays", str(tmp_path),
                     input="0\n3\n1\n4\n2\n")
    assert played.returncode == 0, played.stderr
    out = played.stdout  # the board, the prompts and the result, in the order they happen
    assert "you play X, moving first" in out and "you play O, moving second" in out
    assert out.index("X to move") < out.index("O to move") < out.index("final position:")
    assert "final position:\nX X X\nO O .\n. . ." in out
    assert out.index("X wins") < out.index("returns by seat: [1.0, -1.0]")
    assert played.stderr == ""


def test_resigning_is_recorded_as_resigned(tmp_path):
    played = run_cli("play", "go:size=5", "random", "human", "--replays", str(tmp_path),
                     input="resign\n")
    assert played.returncode == 0 and "Traceback" not in played.stderr, played.stderr
    assert "you play white, moving second" in played.stdout
    assert "seat 1 (human) forfeited: resigned" in played.stdout
    assert "RuntimeError" not in played.stdout + played.stderr
    assert "final position:" in played.stdout and "black wins (white resigned)" in played.stdout
    assert "resigned" in json.dumps(replay_end(tmp_path))


def test_end_of_input_is_recorded_as_input_ended(tmp_path):
    played = run_cli("play", "connect_four", "human", "random", "--replays", str(tmp_path),
                     input="3\n")
    assert played.returncode == 0 and "Traceback" not in played.stderr, played.stderr
    assert "seat 0 (human) forfeited: input ended" in played.stdout
    assert "EOFError" not in played.stdout + played.stderr
    assert "input ended" in json.dumps(replay_end(tmp_path))


def test_games_without_names_say_player_numbers(tmp_path):
    played = run_cli("play", "pettingzoo:classic.connect_four_v3", "human", "random",
                     "--no-replays", input="resign\n")
    assert "you play player 1, moving first" in played.stdout, played.stdout
    assert "forfeited: resigned" in played.stdout


def test_a_one_player_game_names_no_seat(tmp_path):
    played = run_cli("play", "minatar:breakout", "human", "--no-replays", input="resign\n")
    assert "you play minatar_breakout\n" in played.stdout and "seat" not in played.stdout.split(
        "final position")[0], played.stdout
    assert "your move; legal:" in played.stdout
