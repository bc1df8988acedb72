"""The command line: every user mistake is one line on stderr, exit code 2, no traceback."""

import argparse

import pytest

from gamepit.cli import build_parser
from gamepit.plugins.manager import PluginManager


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every command and subcommand of a parser, as (path, parser)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,), sub
                yield from _commands(sub, path + (name,))


PARSER = build_parser(PluginManager(autoload=False))
COMMANDS = sorted(_commands(PARSER))


@pytest.mark.parametrize("args, message", [
    (["match", "chess960", "random", "random"], "unknown game 'chess960'; available:"),
    (["match", "tictactoe", "randon", "random"], "unknown agent 'randon'; available:"),
    (["match", "tictactoe", "alphabeta:deep=3", "random"], "valid options: depth"),
    (["match", "tictactoe", "alphabeta:depth=three", "random"], "expects int"),
    (["match", "tictactoe", "alphabeta:depth=0", "random"], "depth must be at least 1"),
    (["match", "tictactoe", "random", "random", "-n", "0"], "-n must be at least 1"),
    (["match", "tictactoe", "random", "random", "-n", "x"], "invalid int value"),
    (["match", "tictactoe", "random", "random", "--move-time", "-1"], "must be positive"),
    (["match", "tictactoe", "random"], "required"),
    (["replay", "show", "no/such/file.jsonl"], "no such replay file"),
    (["replay", "list", "no/such/folder"], "no such folder"),
    (["nonsense"], "invalid choice"),
    # folders that cannot be written are refused before any game is played
    (["match", "tictactoe", "random", "random", "--replays", "/proc/gamepit"], "replay folder"),
    (["tournament", "tictactoe", "random", "alphabeta", "--csv", "/proc/gamepit/board.csv"],
     "csv folder"),
    (["train", "dqn", "--game", "gym:CartPole-v1", "--run", "/proc/gamepit"], "run folder"),
])
def test_user_mistakes_are_one_line(cli, tmp_path, args, message):
    run = cli(*args, cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("gamepit: error: ") and run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr


def test_the_help_walk_finds_every_command():
    top = {path[0] for path, _ in COMMANDS}
    assert {"plugins", "match", "play", "replay", "demo", "tournament", "train", "view",
            "gtp"} <= top
    assert {("replay", action) for action in ("list", "show", "verify", "export")} <= {
        path for path, _ in COMMANDS}


@pytest.mark.parametrize("path, parser", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_examples(path, parser):
    """Top-level commands end their help with examples; a subcommand (replay list...) has a
    usage line and the examples of its command."""
    text = parser.format_help()
    assert text.startswith("usage: gamepit " + " ".join(path))
    if len(path) == 1:
        assert "examples:\n  gamepit " + path[0] in text, text


def test_help_runs_as_a_user_runs_it(cli):
    run = cli("tournament", "--help")
    assert run.returncode == 0 and "examples:" in run.stdout


def test_match_prints_summary_and_writes_replays(cli, tmp_path):
    run = cli("match", "tictactoe", "alphabeta:depth=9", "random", "-n", "4", "--seed", "3",
              "--replays", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "tictactoe: alphabeta:depth=9 vs random: 4 games" in run.stdout
    assert "-0," in run.stdout  # never loses
    assert len(list(tmp_path.glob("*.jsonl"))) == 4


def test_demo_runs_a_round_robin(cli, tmp_path):
    run = cli("demo", "--games", "2", "--replays", str(tmp_path / "r"), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "round robin on connect_four" in run.stdout
    assert "random" in run.stdout and "alphabeta:depth=4" in run.stdout
    assert "replays written to" in run.stdout
    assert list((tmp_path / "r").glob("*.jsonl"))


def test_demo_reads_its_line_up_from_yaml(cli, tmp_path):
    (tmp_path / "lineup.yaml").write_text("game: tictactoe\nagents: [random, alphabeta:depth=9]\n"
                                          "games_per_pair: 2\n")
    run = cli("demo", "--config", "lineup.yaml", "--replays", "r", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "round robin on tictactoe: random, alphabeta:depth=9; 2 games" in run.stdout
    assert len(list((tmp_path / "r").glob("*.jsonl"))) == 2


def test_match_with_sprt_stops_early(cli):
    run = cli("match", "connect_four", "alphabeta", "random", "--sprt", "0,100", "--no-replays")
    assert run.returncode == 0, run.stderr
    assert "H1 accepted" in run.stdout
    games = int(run.stdout.split(" games,")[0].rsplit(" ", 1)[1])
    assert games < 50
    bad = cli("match", "connect_four", "random", "random", "--sprt", "ten")
    assert bad.returncode == 2 and "--sprt expects ELO0,ELO1" in bad.stderr


def test_single_player_match_compares_scores_on_the_same_seeds(cli):
    run = cli("match", "openspiel:cliff_walking", "random", "random", "-n", "3", "--no-replays")
    assert run.returncode == 0, run.stderr
    assert "3 episodes each on seeds 0..2" in run.stdout
    assert "random (A)" in run.stdout and "random (B)" in run.stdout
    assert "same seeds:" in run.stdout
