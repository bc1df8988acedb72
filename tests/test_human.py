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
    assert "you play X (seat 0)" in played.stderr and "you play O (seat 1)" in played.stderr
    assert "X to move" in played.stderr and "O to move" in played.stderr
    assert "final position:\nX X X\nO O .\n. . ." in played.stderr
    assert "X wins" in played.stderr
    assert "returns by seat: [1.0, -1.0]" in played.stdout


def test_resigning_is_recorded_as_resigned(tmp_path):
    played = run_cli("play", "go:size=5", "random", "human", "--replays", str(tmp_path),
                     input="resign\n")
    assert played.returncode == 0 and "Traceback" not in played.stderr, played.stderr
    assert "you play white (seat 1)" in played.stderr
    assert "seat 1 (human) forfeited: resigned" in played.stdout
    assert "RuntimeError" not in played.stdout + played.stderr
    assert "final position:" in played.stderr and "black wins (white resigned)" in played.stderr
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
    assert "you play player 1 (seat 0)" in played.stderr, played.stderr
    assert "forfeited: resigned" in played.stdout
