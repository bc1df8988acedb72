"""The OpenSpiel and PettingZoo bridges, on the real engines: conformance (``check_game`` with
PettingZoo's ``api_test``), matches and replays through the command line, chess PGN export read
back by python-chess, the refusals, and agreement with our native tic-tac-toe."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import chess
import chess.pgn
import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_match
from gamepit.authoring.checks import check_game
from gamepit.errors import SpecError
from gamepit.replay import read_replay, verify

BRIDGED = [
    # (spec, playout steps): short caps keep chess fast; small games play to the end.
    ("openspiel:othello", 200),
    ("openspiel:hex(board_size=5)", 200),
    ("openspiel:breakthrough", 80),
    ("openspiel:chess", 40),
    ("pettingzoo:classic.tictactoe_v3", 200),
    ("pettingzoo:classic.connect_four_v3", 200),
    ("pettingzoo:classic.chess_v6", 40),
    ("pettingzoo:classic.go_v5(board_size=5)", 200),
]


@pytest.mark.parametrize(("spec", "max_steps"), BRIDGED, ids=[spec for spec, _ in BRIDGED])
def test_bridged_games_pass_check_game_and_api_test(registry, spec, max_steps):
    game = registry.make_game(spec)
    check_game(game, episodes=2, max_steps=max_steps, aec_cycles=60)


def _bridgeable_openspiel_games() -> list[str]:
    import pyspiel

    kinds = pyspiel.GameType
    return sorted(
        game_type.short_name for game_type in pyspiel.registered_games()
        if game_type.dynamics == kinds.Dynamics.SEQUENTIAL
        and game_type.chance_mode == kinds.ChanceMode.DETERMINISTIC
        and game_type.information == kinds.Information.PERFECT_INFORMATION
        and game_type.provides_observation_tensor and game_type.default_loadable)


def test_every_bridgeable_openspiel_game_conforms(registry):
    # "Any perfect-information OpenSpiel game": every one this OpenSpiel build registers, with
    # its default parameters, short playouts and a short api_test.
    names = _bridgeable_openspiel_games()
    assert {"chess", "othello", "hex", "go", "breakthrough"} <= set(names)
    for name in names:
        check_game(registry.make_game(f"openspiel:{name}"), episodes=1, max_steps=30,
                   aec_cycles=15)


def test_spec_forms_and_attributes(registry):
    hex_game = registry.make_game("openspiel:hex(board_size=5)")
    assert hex_game.num_actions == 25 and hex_game.observation_shape == (9, 5, 5)
    assert registry.make_game("openspiel:game=hex(board_size=5)").spec == hex_game.spec
    chess_game = registry.make_game("openspiel:chess,max_moves=10")
    assert chess_game.num_actions == 4674 and chess_game.max_moves == 10
    go = registry.make_game("pettingzoo:classic.go_v5(board_size=5, komi=0.5)")
    assert go.num_actions == 26 and go.observation_shape == (17, 5, 5)  # channels first
    native_layout = registry.make_game("pettingzoo:classic.connect_four_v3,channels_first=false")
    assert native_layout.observation_shape == (6, 7, 2)
    assert native_layout.new_state(0).observation(0).shape == (6, 7, 2)


def test_match_and_replay_verify_through_the_cli(cli, tmp_path):
    done = cli("match", "openspiel:othello", "random", "random", "-n", "2", "--replays",
               str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "2 games" in done.stdout
    replays = sorted(tmp_path.glob("*.jsonl"))
    assert len(replays) == 2
    checked = cli("replay", "verify", *map(str, replays))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count("ok: ") == 2


@pytest.mark.parametrize("spec", ["openspiel:othello", "pettingzoo:classic.connect_four_v3"])
def test_recorded_matches_verify(registry, manager, tmp_path, spec):
    game = registry.make_game(spec)
    agents = [registry.make_agent("random"), registry.make_agent("random")]
    result = play_match(game, agents, seed=3,
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    assert verify(result.replay_path, registry).startswith("ok: ")
    assert sum(result.returns) == 0 and max(result.returns) in (0.0, 1.0)


def _white_fen(state) -> str:
    board = getattr(state, "native", None)
    return str(board) if board is not None else state.env.unwrapped.board.fen()


@pytest.mark.parametrize(("spec", "white_seat"), [
    ("openspiel:chess", 1),  # a whole random game: OpenSpiel seats White at 1
    ("pettingzoo:classic.chess_v6,max_moves=60", 0),  # cut off: the result is "*"
])
def test_chess_replays_export_to_pgn_that_replays_to_the_same_position(
        registry, manager, tmp_path, spec, white_seat):
    game = registry.make_game(spec)
    agents = [registry.make_agent("random"), registry.make_agent("random")]
    result = play_match(game, agents, seed=1, agent_specs=["random:a", "random:b"],
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    replay = read_replay(result.replay_path)
    state = game.new_state(replay.header["seed"])
    for action in replay.actions:
        state.apply(action)
    text = game.export(replay, "pgn")
    parsed = chess.pgn.read_game(io.StringIO(text))
    assert parsed is not None and not parsed.errors
    board = parsed.board()
    moves = list(parsed.mainline_moves())
    assert len(moves) == result.steps
    for move in moves:
        board.push(move)
    assert board.fen() == _white_fen(state)
    assert parsed.headers["White"] == ["random:a", "random:b"][white_seat]
    if state.truncated:
        assert parsed.headers["Result"] == "*"
    else:
        white, black = result.returns[white_seat], result.returns[1 - white_seat]
        expected = "1-0" if white > black else "0-1" if black > white else "1/2-1/2"
        assert parsed.headers["Result"] == expected
    assert state.board_view()["cells"] == _cells_from_fen(board.fen())


def _cells_from_fen(fen: str) -> list[str]:
    board = chess.Board(fen)
    return [(piece.symbol() if (piece := board.piece_at(chess.square(file, rank))) else "")
            for rank in range(7, -1, -1) for file in range(8)]


def test_pgn_export_through_the_cli(cli, tmp_path):
    done = cli("match", "openspiel:chess,max_moves=30", "random", "random", "-n", "1",
               "--replays", str(tmp_path))
    assert done.returncode == 0, done.stderr
    (replay,) = tmp_path.glob("*.jsonl")
    exported = cli("replay", "export", str(replay), "--format", "pgn")
    assert exported.returncode == 0, exported.stderr
    parsed = chess.pgn.read_game(io.StringIO(replay.with_suffix(".pgn").read_text()))
    assert len(list(parsed.mainline_moves())) == 30 and parsed.headers["Result"] == "*"
    refused = cli("replay", "export", str(replay), "--format", "sgf")
    assert refused.returncode == 2 and "no sgf export" in refused.stderr


@pytest.mark.parametrize(("spec", "reason"), [
    ("openspiel:kuhn_poker", "chance nodes"),
    ("openspiel:phantom_ttt", "imperfect information"),
    ("openspiel:matrix_rps", "not a sequential game"),
    ("openspiel:no_such_game", "unknown game"),
    ("openspiel:hex(no_such_option=1)", "Unknown parameter"),
    ("pettingzoo:classic.no_such_env_v1", "no environment module"),
    ("pettingzoo:classic.go_v5(no_such_option=1)", "refused the arguments"),
])
def test_refusals_are_one_line_with_exit_code_2(cli, spec, reason):
    done = cli("match", spec, "random", "random", "-n", "1", "--no-replays")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if not line.startswith("gamepit: warning")]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("gamepit: error: ") and reason in lines[0]
    assert "Traceback" not in done.stderr


def test_refusals_in_process(registry):
    with pytest.raises(SpecError, match="imperfect information"):
        registry.make_game("openspiel:dark_hex")
    with pytest.raises(SpecError, match="module name"):
        registry.make_game("pettingzoo:../etc")


def test_pettingzoo_tictactoe_agrees_with_native_tictactoe(registry):
    # PettingZoo numbers the cells column by column and we number them row by row; the two
    # boards are mirror images along the diagonal, which maps lines onto lines, so the same
    # action sequence must end the same way with the same returns.
    bridged_game = registry.make_game("pettingzoo:classic.tictactoe_v3")
    native_game = registry.make_game("tictactoe")
    outcomes = set()
    for seed in range(30):
        rng = np.random.default_rng(seed)
        bridged, native = bridged_game.new_state(seed), native_game.new_state(seed)
        while not native.is_terminal():
            assert not bridged.is_terminal()
            assert bridged.current_player == native.current_player
            assert bridged.legal_actions() == native.legal_actions()
            action = int(rng.choice(native.legal_actions()))
            bridged.apply(action)
            native.apply(action)
        assert bridged.is_terminal() and bridged.current_player == -1
        assert bridged.returns() == native.returns()
        outcomes.add(tuple(native.returns()))
    assert len(outcomes) == 3  # wins for each side and draws were all compared


@pytest.mark.parametrize("spec", ["openspiel:breakthrough,max_moves=7",
                                  "pettingzoo:classic.chess_v6,max_moves=7"])
def test_max_moves_ends_the_game_as_it_stands(registry, spec):
    game = registry.make_game(spec)
    state = game.new_state(0)
    for _ in range(7):
        assert not state.is_terminal()
        state.apply(state.legal_actions()[0])
    assert state.is_terminal() and state.truncated
    assert state.current_player == -1 and not state.legal_mask().any()
    assert state.returns() == [0.0, 0.0]
    assert "max_moves=7" in state.render()
    with pytest.raises(ValueError):
        state.apply(0)


def test_othello_board_view_and_move_names(registry):
    game = registry.make_game("openspiel:othello")
    state = game.new_state()
    cells = state.board_view()["cells"]
    assert len(cells) == 64 and cells.count("") == 60
    assert (cells[27], cells[28], cells[35], cells[36]) == ("W", "B", "B", "W")
    assert game.string_to_action("d3") == 19 and game.action_to_string(19) == "d3"
    assert state.action_to_string(19) == "d3"
    state.apply(19)  # black takes d4's white disc
    assert state.board_view()["cells"][19] == "B" and state.board_view()["cells"][27] == "B"
    with pytest.raises(ValueError, match="move name"):
        game.string_to_action("z9")


def test_chess_move_names_agree_between_the_bridges(registry):
    openspiel = registry.make_game("openspiel:chess").new_state()
    pettingzoo = registry.make_game("pettingzoo:classic.chess_v6").new_state(0)
    rng = np.random.default_rng(0)
    for _ in range(12):  # both sides, so PettingZoo's mirrored actions for Black are named too
        by_name = {openspiel.action_to_string(a): a for a in openspiel.legal_actions()}
        names = sorted(pettingzoo.action_to_string(a) for a in pettingzoo.legal_actions())
        assert names == sorted(by_name)
        name = names[rng.integers(len(names))]
        openspiel.apply(by_name[name])
        pettingzoo.apply(next(a for a in pettingzoo.legal_actions()
                              if pettingzoo.action_to_string(a) == name))
    assert str(openspiel.native) == pettingzoo.env.unwrapped.board.fen()


def test_pettingzoo_board_views(registry):
    # PettingZoo's tic-tac-toe squares run down the columns: 1 is middle-left, 3 top-centre.
    tictactoe = registry.make_game("pettingzoo:classic.tictactoe_v3").new_state(0)
    for action in (1, 3, 4):
        tictactoe.apply(action)
    assert tictactoe.board_view() == {"style": "grid", "rows": 3, "cols": 3,
                                      "cells": ["", "O", "", "X", "X", "", "", "", ""]}
    assert tictactoe.render().startswith(". O .\nX X .\n. . .")
    connect_four = registry.make_game("pettingzoo:classic.connect_four_v3").new_state(0)
    for action in (1, 3, 3):
        connect_four.apply(action)
    view = connect_four.board_view()
    assert (view["style"], view["rows"], view["cols"]) == ("discs", 6, 7)
    assert view["cells"][31] == "X" and view["cells"][36] == "X" and view["cells"][38] == "O"
    assert view["cells"].count("") == 39


def test_clones_are_independent_simulators(registry):
    game = registry.make_game("pettingzoo:classic.chess_v6")
    state = game.new_state(0)
    state.apply(state.legal_actions()[0])
    clone = state.clone()
    fen = state.env.unwrapped.board.fen()
    while not clone.is_terminal() and clone.moves < 30:
        clone.apply(clone.legal_actions()[-1])
    assert state.env.unwrapped.board.fen() == fen and state.moves == 1
    assert clone.env.unwrapped.board.fen() != fen


@pytest.mark.parametrize("module", ["classic.texas_holdem_v4", "classic.hanabi_v5"])
def test_clones_carry_the_whole_game_even_with_chance_inside(registry, module):
    # Here the environment holds its cards and its random generator (Hanabi inside a nested
    # Shimmy environment): a clone taken mid-game must go on exactly as the original does.
    game = registry.make_game(f"pettingzoo:{module}")
    assert not game.capabilities.deterministic
    longest = 0
    for seed in range(12):
        state = game.new_state(seed)
        rng = np.random.default_rng(seed)
        state.apply(int(rng.choice(state.legal_actions())))
        clone = state.clone()
        assert clone.fingerprint() == state.fingerprint()
        steps = 0
        while not state.is_terminal():
            assert clone.legal_actions() == state.legal_actions()
            action = int(rng.choice(state.legal_actions()))
            state.apply(action)
            clone.apply(action)
            assert clone.fingerprint() == state.fingerprint()
            steps += 1
        assert clone.is_terminal() and clone.returns() == state.returns()
        longest = max(longest, steps)
    assert longest >= 3


# ------------------------------------------------------------------- gym: names are not code


def one_error_line(done) -> str:
    lines = [line for line in done.stderr.splitlines() if not line.startswith("gamepit: warning")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith("gamepit: error: "), done.stderr
    return lines[0]


def test_gym_spec_naming_a_module_is_refused_without_a_grant(cli):
    done = cli("match", "gym:this:CartPole-v1", "random", "random", "-n", "1", "--no-replays",
               env={"GAMEPIT_ALLOW_IMPORT": ""})
    assert "--allow-import this" in one_error_line(done)
    assert "Zen of Python" not in done.stdout + done.stderr


def test_a_refused_module_is_not_imported():
    """The check comes before any import: ``this`` never reaches sys.modules."""
    code = ("import sys\nfrom gamepit.errors import SpecError\n"
            "from gamepit.plugins.manager import PluginManager\n"
            "registry = PluginManager(autoload=False).registry\n"
            "try:\n    registry.make_game('gym:this:CartPole-v1')\nexcept SpecError as e:\n"
            "    print('refused', e)\nprint('imported' if 'this' in sys.modules else 'clean')\n")
    env = {**os.environ, "GAMEPIT_ALLOW_IMPORT": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.stdout.splitlines()[-1] == "clean", done.stdout + done.stderr
    assert "refused" in done.stdout and "Zen" not in done.stdout


def test_granted_modules_are_imported_and_gymnasium_ids_need_no_grant(cli):
    granted = {"GAMEPIT_ALLOW_IMPORT": "json,nonexistent_module_xyz"}
    # json registers no environment: the error is then that the id is not registered
    done = cli("match", "gym:json:NoSuchEnv-v0", "random", "random", "-n", "1",
               "--no-replays", env=granted)
    assert "NoSuchEnv" in one_error_line(done)
    done = cli("match", "gym:nonexistent_module_xyz:Foo-v0", "random", "random", "-n", "1",
               "--no-replays", env=granted)
    assert "nonexistent_module_xyz" in one_error_line(done)
    done = cli("match", "gym:json:CartPole-v1", "random", "random", "-n", "1",
               "--no-replays", env=granted)
    assert done.returncode == 0, done.stderr
    done = cli("match", "gym:CartPole-v1", "random", "random", "-n", "1", "--no-replays",
               env={"GAMEPIT_ALLOW_IMPORT": ""})
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("spec", ["gym:..:x-v0", "gym:.json:x-v0", "gym:a:b:c-v0",
                                  "gym:nonexistent_module:Foo-v0", "gym:Foo-v0",
                                  "gym:os:x-v0"])
def test_bad_gym_ids_are_one_line(cli, spec):
    one_error_line(cli("match", spec, "random", "random", "-n", "1", "--no-replays",
                       env={"GAMEPIT_ALLOW_IMPORT": ""}))


def test_gym_clones_of_ale_environments_keep_the_episode(registry):
    """ALE's environments are EzPickle: deepcopy gives a fresh environment at the start, so a
    clone must be re-simulated from the seed, and stepping it must match the original."""
    game = registry.make_game("gym:ALE/Pong-v5,max_episode_steps=400")
    state = game.new_state(seed=3)
    for step in range(60):
        state.apply(step % game.num_actions)
    copy = state.clone()
    for step in range(30):
        state.apply((step * 5) % game.num_actions)
        copy.apply((step * 5) % game.num_actions)
    assert state.fingerprint() == copy.fingerprint()
    assert not (state.observation(0) == game.new_state(seed=3).observation(0)).all()


@pytest.mark.parametrize(("spec", "words"), [
    ("openspiel:hex(board_size=0)", "cannot play"),
    ("openspiel:hex(board_size=-1)", "no legal move"),
    ("openspiel:hex(board_size=1000)", "distinct actions"),
    ("openspiel:connect_four(rows=0)", "crashed"),  # a segmentation fault inside OpenSpiel
    ("openspiel:breakthrough(rows=0)", "rows"),
    ("openspiel:clobber(rows=1,columns=1)", "no legal move"),
    ("openspiel:go(board_size=100)", "19"),
])
def test_bad_openspiel_parameters_are_one_line_when_the_spec_is_built(registry, spec, words):
    """Refused while the game is built (before any game is played), not at the end of a
    match (hex(board_size=0)) or by a crash of the whole process (connect_four(rows=0))."""
    with pytest.raises(SpecError, match=words):
        registry.make_game(spec)


def test_good_openspiel_parameters_still_play(registry):
    game = registry.make_game("openspiel:hex(board_size=5)")
    assert game.num_actions == 25
    check_game(game, episodes=1, max_steps=100)


@pytest.mark.parametrize(("spec", "words"), [
    ("pettingzoo:classic.tictactoe_v3(render_mode='human')", "render_mode"),
    ("pettingzoo:mpe.simple_v3", "cannot import"),
    ("pettingzoo:classic.go_v5(board_size=-1)", "cannot build"),
    ("pettingzoo:classic..go_v5", "module name"),
    ("pettingzoo:.classic.go_v5", "module name"),
    ("pettingzoo:classic.go_v5(board_size=" + "(" * 500 + "1" + ")" * 500 + ")", ""),
])
def test_bad_pettingzoo_specs_are_one_line(cli, spec, words):
    line = one_error_line(cli("match", spec, "random", "random", "-n", "1", "--no-replays"))
    assert words in line


def test_pettingzoo_module_names_stay_under_pettingzoo(registry):
    """A module spec is imported as pettingzoo.<family>.<name>: no dots at either end, no
    '..', no path; ``os`` is looked for as pettingzoo.os, which does not exist."""
    for bad in ("..", "../etc", "classic/../../os", "os.path..x", "", " "):
        with pytest.raises(SpecError):
            registry.make_game(f"pettingzoo:module={bad}")
    with pytest.raises(SpecError, match="pettingzoo.os"):
        registry.make_game("pettingzoo:os")
