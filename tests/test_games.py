"""Rules of the native games, and conformance of every registered game."""

import numpy as np
import pytest

from gamepit.authoring.checks import check_game
from gamepit.errors import SpecError
from gamepit.games.connect_four import ConnectFourState
from gamepit.games.tictactoe import TicTacToeState
from gamepit.plugins.manager import PluginManager
from gamepit.specs import bind_options, split_spec

# Games whose entry needs an argument, and a small instance of each for the conformance run.
SPECS = {"openspiel": "openspiel:tic_tac_toe", "pettingzoo": "pettingzoo:classic.tictactoe_v3",
         "atari": "atari:pong", "atari_mp": "atari_mp:pong", "gym": "gym:CartPole-v1",
         "go": "go:size=9"}
REGISTRY = PluginManager(autoload=False).registry


def play(state, actions):
    for action in actions:
        state.apply(action)
    return state


@pytest.mark.parametrize("name", REGISTRY.names("game"))
def test_every_registered_game_conforms(name):
    game = REGISTRY.make_game(SPECS.get(name, name))
    check_game(game, episodes=2, max_steps=300)


@pytest.mark.parametrize("moves, winner", [
    ([0, 3, 1, 4, 2], 0),  # top row
    ([0, 1, 3, 2, 6], 0),  # left column
    ([1, 0, 2, 4, 3, 8], 1),  # diagonal for O
    ([0, 1, 4, 2, 8], 0),  # main diagonal
    ([2, 0, 4, 1, 6], 0),  # anti-diagonal
])
def test_tictactoe_wins(moves, winner):
    state = play(TicTacToeState(), moves)
    assert state.is_terminal() and state.current_player == -1
    assert state.returns() == ([1.0, -1.0] if winner == 0 else [-1.0, 1.0])


def test_tictactoe_draw_and_illegal_moves():
    state = play(TicTacToeState(), [0, 1, 2, 4, 3, 5, 7, 6, 8])
    assert state.is_terminal() and state.returns() == [0.0, 0.0]
    fresh = play(TicTacToeState(), [4])
    with pytest.raises(ValueError):
        fresh.apply(4)  # taken
    with pytest.raises(ValueError):
        fresh.apply(9)  # off the board
    with pytest.raises(ValueError):
        play(TicTacToeState(), [0, 3, 1, 4, 2]).apply(5)  # game over


def test_tictactoe_observation_is_from_the_viewer():
    state = play(TicTacToeState(), [0, 4])
    mine, theirs = state.observation(0)
    assert mine[0, 0] == 1 and theirs[1, 1] == 1
    assert (state.observation(1)[0] == theirs).all()


@pytest.mark.parametrize("moves, winner", [
    ([0, 1, 0, 1, 0, 1, 0], 0),  # vertical
    ([0, 0, 1, 1, 2, 2, 3], 0),  # horizontal
    ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 0),  # rising diagonal
    ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], 0),  # falling diagonal
    ([6, 0, 6, 0, 5, 0, 5, 0], 1),  # vertical for the second player
])
def test_connect_four_wins(moves, winner):
    state = play(ConnectFourState(), moves)
    assert state.is_terminal() and state.winner == winner


def test_connect_four_no_false_wins_across_column_edges():
    # three at the top of column 0 and one at the bottom of column 1 are not four in a line
    state = play(ConnectFourState(), [0, 0, 0, 0, 0, 1, 0, 2, 1])
    assert not state.is_terminal()


def test_connect_four_full_column_and_draw():
    state = play(ConnectFourState(), [3, 3, 3, 3, 3, 3])
    assert not state.legal_mask()[3]
    with pytest.raises(ValueError):
        state.apply(3)
    draw = play(ConnectFourState(), [int(c) for c in "330254564223355224331121550404466660106011"])
    assert draw.is_terminal() and draw.returns() == [0.0, 0.0]
    assert not draw.legal_mask().any()


def test_connect_four_board_has_row_zero_at_the_top():
    state = play(ConnectFourState(), [2])
    assert state.board()[5, 2] == 0 and (state.board()[:5] == -1).all()
    assert state.observation(0)[0, 5, 2] == 1


def test_symmetries_map_policies_with_boards():
    game = REGISTRY.make_game("tictactoe")
    state = play(TicTacToeState(), [0])
    policy = np.arange(9, dtype=float)
    pairs = game.symmetries(state.observation(1), policy)
    assert len(pairs) == 8
    for observation, mapped in pairs:
        corner = np.flatnonzero(observation[1].reshape(-1))  # where X stands after the map
        assert mapped[corner[0]] == 0.0  # the policy entry moved with the cell
    assert len(REGISTRY.make_game("connect_four").symmetries(
        ConnectFourState().observation(0), np.arange(7.0))) == 2


# --------------------------------------------------------------------------- option ranges


@pytest.mark.parametrize("name", REGISTRY.names("game"))
def test_every_number_option_declares_its_range(name):
    """A range is declared once, on the Option, so the spec parser refuses values outside it
    (and `gamepit plugins` shows it) before the game is built."""
    entry = REGISTRY.entry("game", name)
    for option in entry.options:
        if option.type in (int, float) and not option.choices:
            assert option.low is not None and option.high is not None, (name, option.name)
            assert option.low <= option.default <= option.high, (name, option.name)


@pytest.mark.parametrize(("spec", "words"), [
    ("go:komi=nan", "finite"),
    ("go:komi=1e308", "at most 1000"),
    ("go:komi=-2000", "at least -1000"),
    ("go:size=1", "at least 2"),
    ("go:size=1000", "at most 19"),
    ("go:history=100000", "at most"),
    ("go:max_moves=-1", "at least 0"),
    ("go:max_moves=99999999999999999999", "too large"),
    ("go:max_moves=10**30", "expects int"),
    ("gym:CartPole-v1,max_episode_steps=-1", "at least 0"),
    ("openspiel:othello,max_moves=-5", "at least 0"),
    ("pettingzoo:classic.tictactoe_v3,max_moves=-5", "at least 0"),
    ("atari:pong,frame_skip=0", "at least 1"),
    ("atari:pong,frame_stack=100000", "at most"),
    ("atari:pong,sticky=1.5", "at most 1"),
    ("atari:pong,noop_max=10000000", "at most"),
    ("atari_mp:pong,frame_stack=100000", "at most"),
])
def test_out_of_range_options_are_refused_by_the_parser(spec, words):
    """Refused while the spec is parsed, so no emulator or OpenSpiel game is ever built."""
    name, _, _ = spec.partition(":")
    entry = REGISTRY.entry("game", name)
    with pytest.raises(SpecError, match=words):
        bind_options(entry, split_spec(spec)[1])
