"""Agents: conformance of every registered agent, and alphabeta's exactness at tic-tac-toe."""

from functools import cache

import pytest

from gamepit.agents.basic import AlphaBetaAgent
from gamepit.arena import play_series
from gamepit.authoring.checks import check_agent
from gamepit.games.tictactoe import TicTacToe, TicTacToeState
from gamepit.plugins.manager import PluginManager

REGISTRY = PluginManager(autoload=False).registry
# The spec each agent is checked with ({game} is filled in), and the agents that need something
# from outside to act: a person, a checkpoint of a training run (the learners' own tests
# train one and run check_agent on it), or an outside engine (tests/test_engines.py checks
# gtp on Go and uci on chess).
SPECS = {"mcts": "mcts:sims=20", "alphazero": "alphazero:checkpoint=builtin:{game},sims=8"}
NEEDS_OUTSIDE = {"human", "dqn", "ppo", "muzero", "student", "actor_mimic", "gtp", "uci"}


@pytest.mark.parametrize("name", [n for n in REGISTRY.names("agent") if n not in NEEDS_OUTSIDE])
@pytest.mark.parametrize("game_name", ["tictactoe", "connect_four"])
def test_every_registered_agent_conforms(name, game_name):
    agent = REGISTRY.make_agent(SPECS.get(name, name).format(game=game_name))
    check_agent(agent, REGISTRY.make_game(game_name), games=2)


def test_check_agent_catches_an_act_batch_that_differs_from_act():
    class TwoFaced(AlphaBetaAgent):
        batched = True

        def act_batch(self, states):
            return [state.legal_actions()[-1] for state in states]

    with pytest.raises(AssertionError, match="act_batch gave"):
        check_agent(TwoFaced(depth=1), REGISTRY.make_game("tictactoe"), games=1)


@cache
def minimax(board: tuple, player: int) -> int:
    """Exact value (+1 win, 0 draw, -1 loss) for the player to move."""
    state = TicTacToeState.from_board(board, player)
    for a, b, c in ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8),
                    (0, 4, 8), (2, 4, 6)):
        if board[a] != -1 and board[a] == board[b] == board[c]:
            return 1 if board[a] == player else -1
    if state.moves == 9:
        return 0
    return max(-minimax(tuple(_after(board, move, player)), 1 - player)
               for move in range(9) if board[move] == -1)


def _after(board, move, player):
    board = list(board)
    board[move] = player
    return board


def reachable_positions():
    seen, frontier = {}, [TicTacToeState()]
    while frontier:
        state = frontier.pop()
        key = (tuple(state.board), state.player)
        if key in seen or state.is_terminal():
            continue
        seen[key] = state
        for action in state.legal_actions():
            child = state.clone()
            child.apply(action)
            frontier.append(child)
    return list(seen.values())


def test_alphabeta_plays_a_minimax_optimal_move_from_every_reachable_position():
    agent = AlphaBetaAgent(depth=9)
    agent.reset(TicTacToe(), 0, seed=0)
    positions = reachable_positions()
    assert len(positions) == 4520  # non-terminal positions reachable from the start
    for state in positions:
        board, player = tuple(state.board), state.player
        value = minimax(board, player)
        action, info = agent.act(state.clone())
        assert -minimax(tuple(_after(board, action, player)), 1 - player) == value, (
            f"alphabeta chose {action} in {board} (player {player}), losing value")


def test_alphabeta_never_loses_to_random_from_either_seat(registry):
    game = registry.make_game("tictactoe")
    agents = [registry.make_agent("alphabeta:depth=9"), registry.make_agent("random")]
    series = play_series(game, agents, games=20, seed=5)
    assert series.losses == 0 and series.wins >= 10


def test_alphabeta_takes_an_immediate_connect_four_win(registry):
    game = registry.make_game("connect_four")
    state = game.new_state()
    for action in [0, 6, 1, 6, 2]:
        state.apply(action)  # X threatens 3; O must block, but suppose O plays elsewhere
    state.apply(5)
    agent = registry.make_agent("alphabeta:depth=2")
    agent.reset(game, 0, seed=0)
    action, info = agent.act(state)
    assert action == 3 and info["value"] > 0.9


def test_human_agent_validates_input_through_the_cli(cli, tmp_path):
    # bad text, an illegal square, then a real game; alphabeta answers as O
    moves = "hello\n99\n4\n4\n0\n2\n6\n3\n5\n1\n7\n8\n"
    played = cli("play", "tictactoe", "human", "alphabeta:depth=9", "--replays", str(tmp_path),
                 input=moves)
    assert played.returncode == 0, played.stderr
    assert "not a move" in played.stdout and "illegal move '4'" in played.stdout
    assert "returns by seat" in played.stdout


# --------------------------------------------------------------------------- alphabeta at depth
# Solved connect four positions: what alphabeta must do at every depth that sees far enough.
# Columns are the actions; X (seat 0) moves first.


def _connect_four(registry, moves):
    game = registry.make_game("connect_four")
    state = game.new_state()
    for action in moves:
        state.apply(action)
    return game, state


def _choose(registry, game, state, depth, seed=0):
    agent = registry.make_agent(f"alphabeta:depth={depth}")
    agent.reset(game, state.current_player, seed=seed)
    return agent.act(state.clone())


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_alphabeta_takes_an_immediate_win_at_every_depth(registry, depth):
    # X has 0, 1, 2 on the bottom row; O stacked on 6. X wins at 3.
    game, state = _connect_four(registry, [0, 6, 1, 6, 2, 6])
    action, info = _choose(registry, game, state, depth)
    assert action == 3 and info["value"] > 0.9


@pytest.mark.parametrize("depth", [2, 3, 4, 5])
def test_alphabeta_blocks_an_immediate_loss_at_every_depth_from_two(registry, depth):
    # O has 0, 1, 2 on the bottom row and threatens 3; X to move must block there.
    game, state = _connect_four(registry, [6, 0, 6, 1, 5, 2])
    for seed in range(3):
        action, _ = _choose(registry, game, state, depth, seed)
        assert action == 3


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_alphabeta_finds_a_forced_win_in_three(registry, depth):
    # X on 2 and 3 of the bottom row, O on top of them: X at 1 or 4 makes an open three
    # with both ends playable, which O cannot block twice.
    game, state = _connect_four(registry, [2, 2, 3, 3])
    for seed in range(3):
        action, info = _choose(registry, game, state, depth, seed)
        assert action in (1, 4) and info["value"] > 0.9


@pytest.mark.parametrize("depth", [4, 5])
def test_alphabeta_defends_against_a_win_in_three(registry, depth):
    # The same idea one move earlier: O to move must take 1 or 4 itself, or X makes the
    # open three next move.
    game, state = _connect_four(registry, [2, 2, 3])
    for seed in range(3):
        action, info = _choose(registry, game, state, depth, seed)
        assert action in (1, 4) and info["value"] > -0.9


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_alphabeta_sees_a_win_waiting_at_its_horizon(registry, depth):
    # X has made the open three: whatever O does, X wins next move. Even at depth 1 (O's
    # move, then the horizon with X to move and a winning move) O must see the loss, not a
    # heuristic score that counts X's three as one asset among others.
    game, state = _connect_four(registry, [2, 2, 3, 3, 1])  # X made the open three
    _, info = _choose(registry, game, state, depth)  # O to move
    assert info["value"] < -0.9


def test_alphabeta_depth_has_a_range(registry):
    from gamepit.errors import SpecError
    for bad in ("alphabeta:depth=0", "alphabeta:depth=-1", "alphabeta:depth=1000"):
        with pytest.raises(SpecError, match="depth"):
            registry.make_agent(bad)
