"""The command line: every user mistake is one line on stderr, exit code 2, no traceback."""

import argparse
import os
import subprocess
import sys

import pytest

from gamepit.cli import build_parser
from gamepit.plugins.manager import PluginManager
from tests.conftest import ROOT, run_cli


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
    (["match", "tictactoe", "alphabeta:depth=0", "random"], "option depth=0 must be at least 1"),
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
            "gtp", "bench"} <= top
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


# --------------------------------------------------------------------------- issue 11


def test_replay_without_an_action_is_one_line(cli):
    run = cli("replay")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr == ("gamepit: error: replay: name an action: list, show, verify, export "
                          "(see gamepit replay --help)\n")


def test_version():
    from gamepit import __version__

    run = run_cli("--version")
    assert run.returncode == 0 and run.stdout == f"gamepit {__version__}\n"


@pytest.mark.parametrize("args, message", [
    (["--nonsense"], "gamepit: error: unrecognized arguments: --nonsense (see gamepit --help)"),
    (["match", "tictactoe"], "gamepit: error: match: the following arguments are required"),
    (["replay", "show"], "gamepit: error: replay show: the following arguments are required"),
    (["replay", "frobnicate"], "gamepit: error: replay: argument ACTION: invalid choice"),
    (["replay", "export", "x.jsonl", "--format", "doc"], "argument --format: invalid choice"),
    (["replay", "show", "x.jsonl", "--step", "many"], "argument --step: invalid int value"),
    (["bench", "no_such_benchmark"], "bench: no benchmark 'no_such_benchmark'"),
])
def test_argument_errors_have_one_prefix(cli, tmp_path, args, message):
    run = cli(*args, cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert message in run.stderr and "gamepit: error: gamepit" not in run.stderr


@pytest.mark.parametrize("path, parser", [(p, q) for p, q in COMMANDS if p[0] == "replay"],
                         ids=lambda value: " ".join(value) if isinstance(value, tuple) else "")
def test_replay_actions_have_descriptions_and_examples(path, parser):
    text = parser.format_help()
    assert parser.description and "examples:\n  gamepit " + " ".join(path) in text, text


def test_every_help_and_some_wrong_invocations_run_without_a_traceback(cli, tmp_path):
    for path, _ in [((), None), *COMMANDS]:
        run = cli(*path, "--help", cwd=tmp_path)
        assert run.returncode == 0 and run.stdout.startswith("usage: gamepit"), (path, run.stderr)
    for args in (["replay", "list", str(tmp_path)], ["replay", "verify"],
                 ["replay", "show", str(tmp_path)], ["replay", "export", str(tmp_path),
                                                      "--format", "sgf"],
                 ["--allow-import"], ["bench", ""]):
        run = cli(*args, cwd=tmp_path)
        assert "Traceback" not in run.stderr, (args, run.stderr)
        assert run.returncode in (0, 2) and run.stderr.count("\n") <= 1, (args, run.stderr)


IMPORTING_GAME = '''
import importlib
from gamepit.plugins import hookimpl
from gamepit.protocols import Option, game
from gamepit.specs import check_import_allowed

def make(module=""):
    check_import_allowed(module, "needs")
    importlib.import_module(module)
    from gamepit.games.tictactoe import TicTacToe
    return TicTacToe()

@hookimpl
def gamepit_add_games():
    return [game("needs", make, "tic-tac-toe, once a module is imported",
                 [Option("module", str, "", "module to import")])]
'''


def test_importing_a_module_named_in_a_spec_needs_allow_import(cli, tmp_path):
    plugin = tmp_path / "needs.py"
    plugin.write_text(IMPORTING_GAME)
    common = ["--plugins", str(plugin)]
    match = ["match", "needs:module=this", "random", "random", "-n", "1",
             "--replays", str(tmp_path / "r")]
    refused = cli(*common, *match, cwd=tmp_path)
    assert refused.returncode == 2 and "--allow-import this" in refused.stderr
    assert "Zen of Python" not in refused.stdout
    before = cli(*common, "--allow-import", "this", *match, cwd=tmp_path)
    assert before.returncode == 0 and "Zen of Python" in before.stdout, before.stderr
    after = cli(*common, *match, "--allow-import", "this", cwd=tmp_path)
    assert after.returncode == 0, after.stderr
    env = cli(*common, *match, cwd=tmp_path, env={"GAMEPIT_ALLOW_IMPORT": "json,this"})
    assert env.returncode == 0, env.stderr
    # A replay naming the spec grants nothing: listing never builds the game, showing or
    # verifying it needs the same explicit grant on the command line.
    replay = str(next((tmp_path / "r").glob("*.jsonl")))
    listed = cli(*common, "replay", "list", str(tmp_path / "r"), cwd=tmp_path)
    assert listed.returncode == 0 and "Zen of Python" not in listed.stdout
    for action in ("show", "verify"):
        run = cli(*common, "replay", action, replay, cwd=tmp_path)
        assert run.returncode == 2 and "--allow-import this" in run.stderr
        assert "Zen of Python" not in run.stdout and run.stderr.count("\n") == 1
    allowed = cli(*common, "replay", "verify", replay, "--allow-import", "this", cwd=tmp_path)
    assert allowed.returncode == 0 and "ok:" in allowed.stdout, allowed.stderr


def test_bench_lists_and_runs_the_benchmark_scripts(cli, tmp_path):
    listed = cli("bench", cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert "board_games" in listed.stdout and "Random-playout moves per second" in listed.stdout
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "echo_args.py").write_text('"""Prints its arguments. More text."""\n'
                                         "import sys\nprint('args:', sys.argv[1:])\n"
                                         "sys.exit(3)\n")
    mine = cli("bench", cwd=tmp_path)
    assert "echo_args" in mine.stdout and "Prints its arguments." in mine.stdout
    assert "More text" not in mine.stdout and "board_games" not in mine.stdout
    run = cli("bench", "echo_args", "--seconds", "1", "x", cwd=tmp_path)
    assert run.returncode == 3 and "args: ['--seconds', '1', 'x']" in run.stdout


def test_bench_says_plainly_when_there_are_no_benchmarks(tmp_path):
    from gamepit.bench import find_benchmarks

    assert find_benchmarks(tmp_path, tmp_path / "site-packages" / "gamepit") is None
    assert find_benchmarks(ROOT / "docs", ROOT / "gamepit") == ROOT / "benchmarks"
    assert find_benchmarks(ROOT, tmp_path / "gamepit") == ROOT / "benchmarks"


def test_an_error_quoting_a_huge_input_is_cut_to_one_short_line(cli):
    done = cli("match", "tictactoe", "x" * 100_000, "random")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "\n" not in line and len(line) < 700 and "characters, cut)" in line, line[:300]


def test_default_run_folders_are_unique_and_stale_partials_removed(tmp_path, monkeypatch,
                                                                    registry):
    from gamepit.learners.toolkit import default_run_dir, remove_stale_partials

    monkeypatch.chdir(tmp_path)
    game = registry.make_game("tictactoe")
    first, second = default_run_dir("dqn", game), default_run_dir("dqn", game)
    assert first != second and first.is_dir() and second.is_dir()
    dead = first / ".checkpoint.999999999.partial.pt"  # a writer that is gone
    mine = first / f".metrics.{os.getpid()}.partial"  # a writer still running
    for path in (dead, mine):
        path.write_bytes(b"half")
    remove_stale_partials(first)
    assert not dead.exists() and mine.exists()


@pytest.mark.parametrize("name", ["metrics.jsonl", "replays", "dataset"])
def test_a_link_inside_a_run_folder_is_refused(cli, tmp_path, name):
    run = tmp_path / "run"
    run.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (run / name).symlink_to(outside / name)
    done = cli("train", "dqn", "--game", "minatar:breakout", "--set", "total_steps=10",
               "--run", str(run), cwd=tmp_path)
    assert done.returncode == 2 and "holds a symbolic link" in done.stderr, done.stderr
    assert list(outside.iterdir()) == []  # nothing was written through it


@pytest.mark.parametrize("arguments", [
    ["match", "tictactoe", "alphazero:checkpoint=" + "a" * 5000, "random"],
    ["--plugins", "a" * 5000, "plugins"],
    ["train", "alphazero", "--game", "tictactoe", "--init", "a" * 5000, "--run", "r"],
])
def test_a_path_longer_than_the_file_system_allows_is_one_line(cli, tmp_path, arguments):
    done = cli(*arguments, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-500:]
    line = done.stderr.strip()
    assert "longer than the file system allows" in line and len(line) < 700


@pytest.mark.parametrize("command, text", [
    ("tournament", 'game: tictactoe\nagents: [random, alphabeta]\nledger: "a\\0b"\n'),
    ("tournament", 'game: tictactoe\nagents: [random, alphabeta]\nreplays: "a\\0b"\n'),
    ("train", 'game: tictactoe\nrun_dir: "a\\0b"\n'),
])
def test_a_nul_byte_in_a_yaml_path_is_one_line(cli, tmp_path, command, text):
    (tmp_path / "bad.yaml").write_text(text)
    extra = ["dqn"] if command == "train" else []
    done = cli(command, *extra, "--config", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-500:]
    assert "NUL byte" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_an_option_has_one_spelling_on_every_command():
    """Issue 25: the same option is spelled the same on every command that takes it (old
    spellings stay as aliases): each flag stands for the same set of spellings everywhere."""
    import argparse

    from gamepit.cli import build_parser
    from gamepit.plugins.manager import get_manager

    parser = build_parser(get_manager(refresh=True))
    spellings: dict[str, dict[frozenset, list[str]]] = {}

    def walk(name: str, command: argparse.ArgumentParser) -> None:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child, sub in action.choices.items():
                    walk(f"{name} {child}".strip(), sub)
            for flag in action.option_strings:
                spellings.setdefault(flag, {}).setdefault(
                    frozenset(action.option_strings), []).append(name)

    walk("", parser)
    mixed = {flag: forms for flag, forms in spellings.items() if len(forms) > 1}
    assert not mixed, mixed
    for flag, command in (("--no-open", "view"), ("--no-browser", "play"),
                          ("--max-steps", "match"), ("-n", "demo"), ("-w", "train"),
                          ("--seed", "train"), ("--no-replays", "tournament")):
        assert any(command in names for names in spellings[flag].values()), (flag, command)


def test_match_and_play_take_max_steps(cli, tmp_path):
    done = cli("match", "connect_four", "random", "random", "-n", "2", "--max-steps", "3",
               "--replays", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    from gamepit.replay import read_replay

    for path in (tmp_path / "r").glob("*.jsonl"):
        assert len(read_replay(path).steps) == 3


def test_bench_lists_benchmarks_only_in_whole_sentences(cli):
    listed = cli("bench", cwd=ROOT)
    assert listed.returncode == 0, listed.stderr
    assert "fault_agents" not in listed.stdout and "fault_tournament" in listed.stdout
    assert "..." not in listed.stdout.split("\n", 1)[1]  # (the heading says ARGS...)
    assert "fifth game." in listed.stdout  # actor_mimic's sentence, wrapped but whole


def test_a_reader_that_goes_away_is_no_traceback():
    done = subprocess.run(f"{sys.executable} -m gamepit plugins | head -1", shell=True,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("games") and done.stderr == "", done.stderr
