"""Go: conformance, the rules (captures, ko, suicide, passes, area scoring, the move cap),
observation planes with history, the 8 symmetries, and SGF export read back by sgfmill."""

from __future__ import annotations

import numpy as np
import pytest

from gamepit.agents.basic import RandomAgent
from gamepit.arena import MatchSettings, play_match
from gamepit.authoring.checks import check_game
from gamepit.errors import SpecError
from gamepit.games.go.rules import area_score, format_score
from gamepit.replay import Replay, read_replay
from tests.conftest import run_cli


def play(game, state, moves: str):
    """Apply space-separated GTP vertices (or 'pass') in turn."""
    for vertex in moves.split():
        state.apply(game.string_to_action(vertex))
    return state


def random_moves(game, count: int, seed: int, allow_pass: bool = False) -> list[int]:
    rng = np.random.default_rng(seed)
    state = game.new_state()
    moves = []
    while len(moves) < count and not state.is_terminal():
        legal = [a for a in state.legal_actions() if allow_pass or a != game.pass_action]
        action = int(rng.choice(legal))
        state.apply(action)
        moves.append(action)
    return moves


@pytest.mark.parametrize("spec", ["go", "go:size=13,komi=6.5", "go:19,history=4"])
def test_go_passes_check_game_and_pettingzoo_api_test(registry, spec):
    check_game(registry.make_game(spec))


def test_spec_options_and_bad_sizes(registry):
    game = registry.make_game("go:size=13,komi=6.5,history=2")
    assert (game.size, game.komi, game.num_actions) == (13, 6.5, 170)
    assert game.observation_shape == (5, 13, 13)
    assert game.max_moves == 2 * 13 * 13
    with pytest.raises(SpecError, match="size=21 must be at most 19"):
        registry.make_game("go:size=21")
    with pytest.raises(SpecError, match="history"):
        registry.make_game("go:history=0")


def test_points_are_numbered_from_the_top_left_in_gtp_notation(registry):
    game = registry.make_game("go:size=19")
    assert game.string_to_action("A19") == 0
    assert game.string_to_action("t1") == 360
    assert game.string_to_action("J19") == 8  # no I column
    assert game.string_to_action("pass") == game.pass_action == 361
    for action in range(game.num_actions):
        assert game.string_to_action(game.action_to_string(action)) == action
    for bad in ("I5", "A20", "A0", "Z1", "", "D"):
        with pytest.raises(ValueError, match="expected a point"):
            game.string_to_action(bad)
    nine = registry.make_game("go")
    state = play(nine, nine.new_state(), "D4")
    black, white = state.board()
    assert black[9 - 4, 3] == 1 and black.sum() == 1 and white.sum() == 0
    assert state.board_view()["cells"][nine.string_to_action("D4")] == "B"


def test_capture_removes_stones_and_frees_the_point(registry):
    game = registry.make_game("go")
    # White's E5 is surrounded by black on all four sides.
    state = play(game, game.new_state(), "D5 E5 F5 A1 E6 A2")
    assert state.board()[1].sum() == 3
    play(game, state, "E4")
    black, white = state.board()
    assert white[9 - 5, 4] == 0 and white.sum() == 2
    assert black.sum() == 4
    e5 = game.string_to_action("E5")
    assert not state.legal_mask()[e5]  # for White, E5 is now a black eye: suicide
    play(game, state, "A3")
    assert state.legal_mask()[e5]  # Black may fill it


def test_simple_ko_recapture_is_illegal_until_a_move_elsewhere(registry):
    game = registry.make_game("go")
    state = play(game, game.new_state(), "E6 F6 D5 G5 E4 F4 F5 E5")  # White E5 takes F5
    assert state.board()[0][9 - 5, 5] == 0, "F5 should have been captured"
    f5 = game.string_to_action("F5")
    assert not state.legal_mask()[f5]
    with pytest.raises(ValueError, match="illegal go action"):
        state.clone().apply(f5)
    play(game, state, "A1 A9")  # a threat and an answer elsewhere lift the ko
    assert state.legal_mask()[f5]
    play(game, state, "F5")
    assert state.board()[1][9 - 5, 4] == 0, "F5 should retake the ko stone on E5"


def test_suicide_is_illegal(registry):
    game = registry.make_game("go")
    state = play(game, game.new_state(), "A2 J9 B1")
    assert state.current_player == 1
    assert not state.legal_mask()[game.string_to_action("A1")]
    assert game.string_to_action("A1") not in state.legal_actions()


def test_two_passes_end_the_game_with_area_scoring_and_komi(registry):
    game = registry.make_game("go")
    state = play(game, game.new_state(), "D4 pass")
    assert not state.is_terminal()
    play(game, state, "pass")
    assert state.is_terminal() and state.current_player == -1
    assert state.area_score() == 81 - 7.5
    assert state.returns() == [1.0, -1.0]
    empty = play(game, game.new_state(), "pass pass")
    assert empty.area_score() == -7.5 and empty.returns() == [-1.0, 1.0]
    assert format_score(empty.area_score()) == "W+7.5"
    assert format_score(0.0) == "0" and format_score(3.0) == "B+3"
    assert "game over: W+7.5" in empty.render()


def test_area_score_counts_stones_and_surrounded_points_only():
    board = np.zeros((2, 5, 5), dtype=np.int8)
    board[0, :, 1] = 1  # a black wall on column B: column A is black's
    board[1, :, 3] = 1  # a white wall on column D: column E is white's
    # Column C touches both walls: neutral. Black 5 + 5, white 5 + 5.
    assert area_score(board, 0.5) == -0.5
    board[0, 2, 2] = 1
    assert area_score(board, 0.0) == 1.0


def test_area_score_agrees_with_openspiels_winner(registry):
    game = registry.make_game("go")
    agent = RandomAgent()
    agent.reset(game, 0, 7)
    for _ in range(20):
        state = game.new_state()
        while not state.is_terminal():
            state.apply(agent.act(state))
        returns = state.returns()
        if returns == [0.0, 0.0]:
            continue  # a superko repetition: a draw by OpenSpiel's rule, not by the score
        assert np.sign(state.area_score()) == returns[0], state.render()


def test_move_cap_ends_random_games(registry):
    game = registry.make_game("go:size=5,max_moves=10")
    state = game.new_state()
    agent = RandomAgent()
    agent.reset(game, 0, 1)
    steps = 0
    while not state.is_terminal():
        state.apply(agent.act(state))
        steps += 1
    assert steps <= 10
    assert state.returns() in ([1.0, -1.0], [-1.0, 1.0], [0.0, 0.0])


def test_observation_planes_hold_recent_boards_per_player(registry):
    game = registry.make_game("go:history=3")
    state = game.new_state()
    start = state.observation(0)
    assert start.shape == (7, 9, 9) and start.dtype == np.int8
    assert start[:6].sum() == 0 and start[6].all()
    assert not state.observation(1)[6].any()
    play(game, state, "D4 E5")
    mine = state.observation(0)  # Black's view, Black to move
    d4, e5 = (9 - 4, 3), (9 - 5, 4)
    assert mine[0][d4] == 1 and mine[3][e5] == 1  # now: own D4, opponent E5
    assert mine[1][d4] == 1 and mine[4].sum() == 0  # one move ago: D4 only, no white
    assert mine[2].sum() == 0 and mine[5].sum() == 0  # two moves ago: the empty board
    theirs = state.observation(1)
    assert theirs[0][e5] == 1 and theirs[3][d4] == 1 and not theirs[6].any()


def test_observations_are_the_same_however_the_history_was_kept(registry):
    game = registry.make_game("go:history=4")
    moves = random_moves(game, 40, seed=3, allow_pass=True)
    watched, unwatched = game.new_state(), game.new_state()
    branch = None
    for i, action in enumerate(moves):
        watched.observation(0)  # fills the board cache step by step
        watched.apply(action)
        unwatched.apply(action)
        if i == 20:
            branch = watched.clone()
    for player in (0, 1):
        assert np.array_equal(watched.observation(player), unwatched.observation(player))
    replayed = game.new_state()
    for action in moves[:21]:
        replayed.apply(action)
    assert np.array_equal(branch.observation(1), replayed.observation(1))
    assert watched.fingerprint() == unwatched.fingerprint()


def test_eight_symmetries_match_the_transformed_game(registry):
    game = registry.make_game("go:history=2")
    moves = random_moves(game, 12, seed=5)
    state = game.new_state()
    for action in moves:
        state.apply(action)
    player = state.current_player
    policy = np.arange(game.num_actions, dtype=np.float64)
    pairs = game.symmetries(state.observation(player), policy)
    assert len(pairs) == 8
    assert len({obs.tobytes() for obs, _ in pairs}) == 8
    blank = np.zeros(game.observation_shape, dtype=np.int8)
    for index, (observation, transformed) in enumerate(pairs):
        assert transformed[-1] == policy[-1]  # pass is not a point: it never moves
        assert sorted(transformed) == sorted(policy)
        # Where each point goes under this symmetry, read off a one-hot policy.
        where = [int(np.argmax(game.symmetries(blank, np.eye(game.num_actions)[point])[index][1]))
                 for point in range(game.pass_action)]
        mirrored = game.new_state()
        for action in moves:
            mirrored.apply(where[action])
        assert np.array_equal(mirrored.observation(player), observation)
        assert all(transformed[where[p]] == policy[p] for p in range(game.pass_action))


def test_render_fingerprint_and_clone_independence(registry):
    game = registry.make_game("go")
    state = play(game, game.new_state(), "C3 G7")
    text = state.render()
    assert "A B C D E F G H J" in text and "Black (X) to play, move 3" in text
    assert " 3 . . X" in text
    copy = state.clone()
    play(game, copy, "E5")
    assert state.fingerprint() != copy.fingerprint()
    assert state.fingerprint() == play(game, game.new_state(), "C3 G7").fingerprint()
    assert len(state.moves) == 2 and len(copy.moves) == 3


def _sgf_board(sgf_text: str):
    try:
        from sgfmill import sgf, sgf_moves
    except ImportError:
        pytest.fail("the SGF test reads exports with sgfmill: pip install sgfmill")
    parsed = sgf.Sgf_game.from_bytes(sgf_text.encode())
    board, plays = sgf_moves.get_setup_and_moves(parsed)
    for colour, move in plays:
        if move is not None:
            board.play(move[0], move[1], colour)
    return parsed, board, plays


def test_sgf_export_reads_back_in_sgfmill(registry, manager, tmp_path):
    game = registry.make_game("go:size=9,komi=6.5")
    agents = [RandomAgent(), RandomAgent()]
    result = play_match(game, agents, seed=4, agent_specs=["random", "alphabeta:depth=1"],
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager))
    replay = read_replay(result.replay_path)
    text = game.export(replay, "sgf")
    parsed, board, plays = _sgf_board(text)
    assert parsed.get_size() == 9 and parsed.get_komi() == 6.5
    root = parsed.get_root()
    assert parsed.get_player_name("b") == "random"
    assert parsed.get_player_name("w") == "alphabeta:depth=1"
    assert len(plays) == len(replay.steps)
    assert [colour for colour, _ in plays[:4]] == ["b", "w", "b", "w"]
    state = game.new_state()
    for action in replay.actions:
        state.apply(action)
    ours = state.board()
    for row in range(9):
        for col in range(9):
            expected = "b" if ours[0, 8 - row, col] else "w" if ours[1, 8 - row, col] else None
            assert board.get(row, col) == expected, (row, col)
    assert root.get("RE") == format_score(state.area_score())
    assert parsed.get_winner() == ("b" if result.returns[0] > 0 else "w")

    forfeited = Replay(replay.path, replay.header, replay.steps[:3],
                       {**replay.end, "forfeit_seat": 0})
    assert "RE[W+F]" in game.export(forfeited, "sgf")
    with pytest.raises(NotImplementedError):
        game.export(replay, "pgn")


def test_replay_export_command_writes_sgf(manager, tmp_path):
    finished = run_cli("match", "go:size=5", "random", "random", "-n", "1",
                       "--replays", str(tmp_path), timeout=120)
    assert finished.returncode == 0, finished.stderr
    replay_file = next(tmp_path.glob("*.jsonl"))
    out = tmp_path / "game.sgf"
    exported = run_cli("replay", "export", str(replay_file), "--format", "sgf", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    parsed, _, plays = _sgf_board(out.read_text())
    assert parsed.get_size() == 5 and len(plays) == len(read_replay(replay_file).steps)
