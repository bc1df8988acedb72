"""MinAtar: the five games on the real ``minatar`` package, their State (clones, determinism,
sticky actions), the Gymnasium and vector faces, replays, frames, a tiny DQN run and the error
when the package is missing."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_match
from gamepit.authoring.checks import check_game
from gamepit.errors import ReplayError, SpecError
from gamepit.games.minatar import GAMES, PALETTE
from gamepit.protocols import state_hash
from gamepit.replay import verify

pytest.importorskip("minatar")


def play(state, actions):
    """Apply the actions until the episode ends."""
    for action in actions:
        if state.is_terminal():
            break
        state.apply(int(action))
    return state


# --------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("name", GAMES)
def test_every_game_passes_check_game(registry, name):
    check_game(registry.make_game(f"minatar:{name}"), episodes=2, max_steps=150,
               aec_cycles=60)


def test_specs_options_and_shapes(registry):
    shapes = {"asterix": 4, "breakout": 4, "freeway": 7, "seaquest": 10, "space_invaders": 6}
    for name, channels in shapes.items():
        game = registry.make_game(f"minatar:game={name}")
        assert game.observation_shape == (channels, 10, 10) and game.num_actions == 6
        observation = game.new_state(0).observation(0)
        assert observation.dtype == np.float32 and observation.shape == (channels, 10, 10)
        assert set(np.unique(observation)) <= {0.0, 1.0}
    minimal = registry.make_game("minatar:breakout,minimal_actions=true")
    assert minimal.action_names == ["NOOP", "LEFT", "RIGHT"]
    assert minimal.string_to_action("right") == 2
    with pytest.raises(SpecError):
        registry.make_game("minatar:pong")
    with pytest.raises(SpecError):
        registry.make_game("minatar:breakout,sticky=1.5")


# --------------------------------------------------------------------------- rules


def test_breakout_ball_moves_and_a_missed_ball_ends_the_episode(registry):
    game = registry.make_game("minatar:breakout,sticky=0")
    state = game.new_state(3)
    ball = np.argwhere(state.observation(0)[1])
    state.apply(game.string_to_action("LEFT"))
    assert not np.array_equal(np.argwhere(state.observation(0)[1]), ball)  # the ball moved
    steps = 1
    while not state.is_terminal():  # the paddle hides in the left corner: the ball is missed
        state.apply(game.string_to_action("LEFT"))
        steps += 1
    assert steps < 20 and state.returns() == [0.0] and state.current_player == -1
    assert state.env.terminal and not state.legal_mask().any()
    with pytest.raises(ValueError):
        state.apply(0)


def test_breakout_paddle_that_follows_the_ball_breaks_bricks(registry):
    game = registry.make_game("minatar:breakout,sticky=0")
    state = game.new_state(5)
    for _ in range(300):
        env = state.env
        # Where the ball will be when it reaches the paddle's row is where it is heading.
        heading = env.ball_x + (1 if env.ball_dir in (1, 2) else -1)
        target = min(9, max(0, heading))
        state.apply(game.string_to_action("LEFT" if target < env.pos else
                                          "RIGHT" if target > env.pos else "NOOP"))
        if state.is_terminal():
            break
    assert state.returns()[0] >= 5, state.render()


def test_freeway_runs_its_time_limit_and_scores_by_crossing(registry):
    game = registry.make_game("minatar:freeway")
    state = game.new_state(0)
    up = game.string_to_action("UP")
    for _ in range(2500):
        assert not state.is_terminal()
        state.apply(up)
    state.apply(up)
    assert state.is_terminal() and state.env.terminal and state.steps == 2501
    assert state.returns()[0] >= 5  # crossings, despite the cars sending the chicken back


def test_full_stickiness_keeps_the_first_action(registry):
    game = registry.make_game("minatar:breakout,sticky=1")
    state = game.new_state(0)
    for _ in range(5):
        state.apply(game.string_to_action("LEFT"))
    assert state.env.pos == 4  # the no-op in force at the start is repeated forever


def test_step_cap_truncates(registry):
    state = registry.make_game("minatar:freeway,max_steps=10").new_state(0)
    play(state, [0] * 10)
    assert state.is_terminal() and not state.env.terminal
    assert "step limit" in state.render()


def test_the_same_draws_give_the_packages_own_game(registry):
    """Fed the same random stream, our State steps exactly as minatar.Environment does
    (sticky actions included), for every game."""
    from minatar import Environment

    class SameDraws:
        def __init__(self, seed):
            self.random = np.random.RandomState(seed)

        def uniform(self):
            return self.random.rand()

        def rand(self, *size):
            return self.random.rand(*size)

        def randint(self, *args, **kwargs):
            return self.random.randint(*args, **kwargs)

    for name in GAMES:
        game = registry.make_game(f"minatar:{name},sticky=0.3")
        reference = Environment(name, sticky_action_prob=0.3, difficulty_ramping=True)
        reference.seed(11)
        reference.reset()
        state = game.new_state(0)
        state.rng = state.env.random = SameDraws(11)
        state.env.reset()
        rng = np.random.default_rng(1)
        for _ in range(400):
            assert np.array_equal(state.observation(0), reference.state().transpose(2, 0, 1))
            action = int(rng.integers(6))
            reward, terminal = reference.act(action)
            state.apply(action)
            assert state.reward == reward and state.env.terminal == terminal
            if terminal:
                break


# --------------------------------------------------------------------------- clones, seeds


@pytest.mark.parametrize("name", GAMES)
def test_clone_is_independent_and_continues_identically(registry, name):
    game = registry.make_game(f"minatar:{name},sticky=0.5")
    state = play(game.new_state(4), np.random.default_rng(0).integers(6, size=30))
    before = state_hash(state)
    copy = state.clone()
    play(copy, np.random.default_rng(1).integers(6, size=40))  # draws, spawns, moves
    assert state_hash(state) == before
    actions = np.random.default_rng(2).integers(6, size=200)
    twin = state.clone()
    for action in actions:
        if state.is_terminal():
            break
        state.apply(int(action))
        twin.apply(int(action))
        assert state_hash(state) == state_hash(twin) and state.reward == twin.reward
    assert twin.returns() == state.returns()


def test_states_pickle_and_agents_play_from_other_processes(registry, cli, tmp_path):
    import pickle

    game = registry.make_game("minatar:seaquest,sticky=0.3")
    state = play(game.new_state(2), np.random.default_rng(0).integers(6, size=40))
    copy = pickle.loads(pickle.dumps(state))
    assert state_hash(copy) == state_hash(state) and copy.game.spec == game.spec
    actions = np.random.default_rng(1).integers(6, size=100)
    assert state_hash(play(copy, actions)) == state_hash(play(state, actions))
    done = cli("match", "minatar:breakout", "random", "random", "-n", "1", "--isolate",
               "--no-replays")
    assert done.returncode == 0 and "forfeit" not in done.stdout + done.stderr, done.stdout


def test_reseed_changes_the_future_not_the_present(registry):
    game = registry.make_game("minatar:asterix")
    state = play(game.new_state(0), [0] * 5)
    other = state.clone()
    other.reseed(99)
    assert np.array_equal(state.observation(0), other.observation(0))
    futures = []
    for candidate in (state, other):
        play(candidate, [1, 3] * 30)
        futures.append(candidate.observation(0).tobytes())
    assert futures[0] != futures[1]


def test_seeds_decide_the_game(registry):
    game = registry.make_game("minatar:freeway")  # car speeds are drawn at the start
    assert state_hash(game.new_state(5)) == state_hash(game.new_state(5))
    assert len({game.new_state(seed).observation(0).tobytes() for seed in range(6)}) > 1
    actions = np.random.default_rng(0).integers(6, size=300)
    one = play(game.new_state(5), actions)
    two = play(game.new_state(5), actions)
    assert state_hash(one) == state_hash(two)


# --------------------------------------------------------------------------- faces


def test_vector_env_shapes_autoreset_and_seeds(registry):
    game = registry.make_game("minatar:breakout,sticky=0")
    envs = game.vector_env(3, seed=7, autoreset_mode="SameStep", reward_clipping=False)
    assert "same" in str(envs.metadata["autoreset_mode"]).lower()
    observations, _ = envs.reset()
    assert observations.shape == (3, 4, 10, 10) and observations.dtype == np.float32
    assert envs.single_observation_space.shape == (4, 10, 10)
    assert envs.single_action_space.n == 6
    first = observations.copy()
    ended = 0
    for _ in range(30):  # the paddle stays put: every ball is missed within a few steps
        observations, rewards, terminated, truncated, info = envs.step(np.zeros(3, int))
        assert rewards.shape == (3,) and not truncated.any()
        if terminated.any():
            ended += int(terminated.sum())
            for index in np.flatnonzero(terminated):
                final = np.asarray(info["final_obs"][index])
                assert final.shape == (4, 10, 10) and final[1, 9].sum() + final[1].sum() > 0
                assert observations[index, 1, 3].sum() == 1  # a new ball on row 3
    assert ended >= 3
    again = game.vector_env(3, seed=7)
    assert np.array_equal(again.reset()[0], first)
    with pytest.raises(ValueError):
        game.vector_env(2, autoreset_mode="NextStep")


def test_vector_env_truncates_at_the_step_cap(registry):
    envs = registry.make_game("minatar:freeway,max_steps=5").vector_env(2, seed=0)
    envs.reset()
    for _ in range(5):
        _, _, terminated, truncated, info = envs.step(np.zeros(2, int))
    assert truncated.all() and not terminated.any() and info["_final_obs"].all()


def test_gym_env_passes_gymnasiums_checker(registry):
    from gymnasium.utils.env_checker import check_env

    env = registry.make_game("minatar:space_invaders").gym_env(render_mode="rgb_array")
    check_env(env, skip_render_check=False)
    observation, _ = env.reset(seed=3)
    assert observation.shape == (6, 10, 10)
    assert env.render().shape == (160, 160, 3)


def test_frame_draws_the_channels_as_a_coloured_grid(registry):
    game = registry.make_game("minatar:breakout")
    frame = game.new_state(0).frame()
    assert frame.shape == (160, 160, 3) and frame.dtype == np.uint8
    cell = 16

    def colour(row, col):
        return tuple(frame[row * cell + cell // 2, col * cell + cell // 2])

    assert colour(9, 4) == tuple(PALETTE[0])  # the paddle: channel 0
    assert colour(1, 0) == tuple(PALETTE[3])  # a brick: channel 3
    assert colour(6, 5) == (24, 24, 32)  # empty
    assert tuple(frame[0, 0]) == (0, 0, 0)  # grid lines


# --------------------------------------------------------------------------- replays


def test_recorded_match_verifies_and_a_wrong_seed_does_not(registry, manager, tmp_path):
    game = registry.make_game("minatar:asterix")
    result = play_match(game, [registry.make_agent("random")], seed=7,
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager,
                                               max_steps=300))
    assert result.forfeit_seat is None
    assert f"{result.steps} steps re-simulated" in verify(result.replay_path, registry)
    lines = open(result.replay_path, encoding="utf-8").read().splitlines()
    header = json.loads(lines[0])
    header["seed"] = 8
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ReplayError):
        verify(tampered, registry)


def test_viewer_draws_the_grid_and_exports_a_gif(registry, manager, tmp_path):
    from gamepit.replay import read_replay
    from gamepit.viewer.export import export_replay
    from gamepit.viewer.session import ReplaySession

    game = registry.make_game("minatar:breakout")
    result = play_match(game, [registry.make_agent("random")], seed=3,
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager,
                                               max_steps=40))
    replay = read_replay(result.replay_path)
    session = ReplaySession(replay, registry)
    assert session.has_frames and session.frame(result.steps).shape == (160, 160, 3)
    assert session.frame_png(0).startswith(b"\x89PNG")
    export_replay(replay, registry, "gif", tmp_path / "game.gif")
    assert (tmp_path / "game.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")


# --------------------------------------------------------------------------- learners


def test_tiny_dqn_run_on_breakout_writes_a_checkpoint(registry, tmp_path):
    from gamepit.learners import toolkit
    from gamepit.learners.dqn.learner import DQNArgs, train

    args = DQNArgs(game="minatar:breakout", total_steps=400, learning_starts=100,
                   buffer_size=1000, batch_size=16, log_every=100, checkpoint_every=200,
                   eval_episodes=1, eval_max_steps=200, device="cpu", run_dir=str(tmp_path))
    spec = train(args)
    checkpoint = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    assert checkpoint["step"] == 400 and checkpoint["observation_shape"] == [4, 10, 10]
    assert len(list((tmp_path / "replays").glob("*.jsonl"))) == 1
    agent = registry.make_agent(spec)
    result = play_match(registry.make_game("minatar:breakout"), [agent], seed=1,
                        settings=MatchSettings(max_steps=50))
    assert result.forfeit_seat is None


def test_tiny_ppo_run_on_space_invaders_writes_a_checkpoint(registry, tmp_path):
    from gamepit.learners import toolkit
    from gamepit.learners.ppo.learner import PPOArgs, train

    args = PPOArgs(game="minatar:space_invaders", total_steps=256, num_envs=2, num_steps=64,
                   num_minibatches=2, update_epochs=1, eval_episodes=1, eval_max_steps=100,
                   device="cpu", run_dir=str(tmp_path))
    spec = train(args)
    checkpoint = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    assert checkpoint["step"] == 256 and checkpoint["observation_shape"] == [6, 10, 10]
    assert registry.make_agent(spec) is not None


def test_minatar_torso_is_the_papers_small_cnn():
    import torch

    from gamepit.nets.atari import MinAtarTorso, QNetwork, make_torso

    torso = make_torso((10, 10, 10))
    assert isinstance(torso, MinAtarTorso) and torso.features == 128
    network = QNetwork((4, 10, 10), 6)
    assert sum(p.numel() for p in network.parameters()) == (16 * 4 * 9 + 16) + (
        16 * 8 * 8 * 128 + 128) + (128 * 6 + 6)
    assert network(torch.zeros(2, 4, 10, 10)).shape == (2, 6)


# --------------------------------------------------------------------------- without minatar

BLOCKED = "import sys; sys.modules['minatar'] = None; from gamepit.cli import main; "


def test_missing_package_is_one_line_naming_the_extra(tmp_path):
    code = BLOCKED + "sys.exit(main(['match', 'minatar:breakout', 'random', 'random', " \
        f"'-n', '1', '--replays', {str(tmp_path)!r}]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'gamepit[minatar]'" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_listing_plugins_works_without_minatar_and_imports_nothing_of_it():
    code = BLOCKED + ("code = main(['plugins']); "
                      "assert not [m for m in sys.modules if 'minatar' in m and "
                      "m != 'gamepit.games.minatar' and sys.modules[m] is not None], "
                      "sorted(sys.modules); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "minatar" in done.stdout


@pytest.mark.parametrize("name", GAMES)
def test_new_states_are_the_games_a_fresh_env_would_play(registry, name):
    """A new state copies the game's template Env instead of building one (Env() seeds a
    numpy RandomState, most of a short episode's cost): the same start and the same game as an
    Env built afresh and reset from the state's generator, move for move."""
    from gamepit.games.minatar import MinAtarState, SplitMix, _seed_state

    game = registry.make_game(f"minatar:{name}")
    for seed in range(6):
        state = game.new_state(seed)
        fresh = MinAtarState.__new__(MinAtarState)
        fresh.game, fresh.rng = game, SplitMix(_seed_state(seed))
        fresh.env = game._module.Env(ramping=game.ramping)
        fresh.env.random = fresh.rng
        fresh.env.reset()
        fresh.last_action, fresh.steps, fresh.score, fresh.reward = 0, 0, 0.0, 0.0
        fresh._planes = None
        actions = np.random.default_rng(seed).integers(game.num_actions, size=60)
        for action in actions:
            assert state.fingerprint() == fresh.fingerprint()
            if state.is_terminal():
                break
            state.apply(int(action))
            fresh.apply(int(action))
        assert state.env.__dict__.keys() == fresh.env.__dict__.keys()
