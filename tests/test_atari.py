"""Atari: the single-player game on real ALE emulators (simulator, Gymnasium and vector faces)
and PettingZoo's multi-player Atari games with ROMs from ale-py's folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_match
from gamepit.authoring.checks import check_game
from gamepit.errors import ReplayError, SpecError
from gamepit.games.atari import multi_player_games, rom_folder, rom_names
from gamepit.protocols import state_hash
from gamepit.replay import verify


def play(state, actions):
    for action in actions:
        state.apply(int(action))
    return state


# --------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("spec", [
    "atari:pong",
    "atari:breakout,sticky=0",  # needs FIRE at the start
    "atari:ms_pacman,full_action_space=true,frame_skip=3,frame_stack=2,noop_max=0",
])
def test_single_player_games_pass_check_game_and_api_test(registry, spec):
    check_game(registry.make_game(spec), episodes=2, max_steps=40, aec_cycles=40)


@pytest.mark.parametrize("spec, players", [("atari_mp:pong", 2),
                                           ("atari_mp:boxing,sticky=0.25", 2),
                                           ("atari_mp:warlords", 4)])
def test_multi_player_games_pass_check_game_and_api_test(registry, spec, players):
    game = registry.make_game(spec)
    assert game.num_players == players
    assert game._emulator.parallel.rom_path.startswith(rom_folder())  # never downloaded
    check_game(game, episodes=1, max_steps=12 * players, aec_cycles=12 * players)


def test_multi_player_games_are_pettingzoos():
    names = multi_player_games()
    assert {"pong", "boxing", "tennis", "space_invaders", "warlords"} <= set(names)
    assert names["pong"] == "pong_v3"


# --------------------------------------------------------------------------- the simulator


def test_state_shapes_and_preprocessing(registry):
    game = registry.make_game("atari:pong")
    assert game.num_players == 1 and game.num_actions == 6
    assert game.observation_shape == (4, 84, 84) and game.observation_dtype == np.uint8
    state = game.new_state(3)
    assert state.current_player == 0 and state.legal_actions() == list(range(6))
    first = state.observation(0)
    assert first.dtype == np.uint8 and not first.flags.writeable
    before_frames = state.frames
    state.apply(2)
    after = state.observation(0)
    assert state.frames == before_frames + 4  # frame skip 4
    assert np.array_equal(after[:3], first[1:])  # the stack shifts by one frame
    assert not first[:3].any() and first[3].any()  # older frames start black
    assert state.frame().shape == (210, 160, 3) and state.frame().dtype == np.uint8
    assert "pong frame" in state.render()


def test_games_carry_the_published_reference_scores(registry):
    """(random, human) from the Nature DQN and Agent57 tables, for human-normalised scores;
    the multi-player games have none."""
    assert registry.make_game("atari:pong").reference_scores == (-20.7, 14.6)
    assert registry.make_game("atari:Breakout").reference_scores == (1.7, 30.5)
    assert registry.make_game("atari_mp:pong").reference_scores is None


def test_no_op_starts_depend_on_the_seed(registry):
    game = registry.make_game("atari:pong,sticky=0")
    starts = {game.new_state(seed).frames for seed in range(8)}
    assert len(starts) > 1 and all(1 <= frames <= 30 + 8 for frames in starts)
    assert state_hash(game.new_state(5)) == state_hash(game.new_state(5))


def test_clone_replays_the_same_future_with_sticky_actions(registry):
    game = registry.make_game("atari:breakout,sticky=0.25")
    rng = np.random.default_rng(0)
    state = play(game.new_state(1), rng.integers(game.num_actions, size=30))
    branch = state.clone()
    actions = rng.integers(game.num_actions, size=60)
    hashes = []
    for action in actions:  # the emulator moves on; the clone must still restore its own
        state.apply(int(action))
        hashes.append(state_hash(state))
    for action, expected in zip(actions, hashes, strict=True):
        branch.apply(int(action))
        assert state_hash(branch) == expected
    assert branch.returns() == state.returns()


def test_sticky_actions_repeat_the_previous_action(registry):
    actions = np.random.default_rng(1).integers(4, size=40)
    always = registry.make_game("atari:breakout,sticky=1,noop_max=0,fire_reset=false")
    # With probability 1 every press is the held NOOP: the actions cannot matter.
    assert state_hash(play(always.new_state(0), actions)) == \
        state_hash(play(always.new_state(0), [0] * 40))
    never = registry.make_game("atari:breakout,sticky=0,noop_max=0,fire_reset=false")
    sometimes = registry.make_game("atari:breakout,sticky=0.25,noop_max=0,fire_reset=false")
    a, b = never.new_state(0), sometimes.new_state(0)
    differs = False
    for move in [1, 2, 3, 2, 3, 2] * 10:  # a repeated press delays the paddle now and then
        a.apply(move)
        b.apply(move)
        differs = differs or a.ram != b.ram
    assert differs


def test_frame_is_the_screen_after_the_step(registry):
    game = registry.make_game("atari:pong")
    state = play(game.new_state(2), [2, 3, 2, 2, 3])
    live = np.array(game._emulator.rgb())
    other = play(state.clone(), [3] * 20)  # the shared emulator moves elsewhere
    assert not np.array_equal(other.frame(), live)
    assert np.array_equal(state.frame(), live)
    assert np.array_equal(game.new_state(2).frame(), game.new_state(2).frame())


def test_max_frames_caps_the_episode(registry):
    game = registry.make_game("atari:pong,max_frames=100")
    state = game.new_state(0)
    steps = 0
    while not state.is_terminal():
        state.apply(0)
        steps += 1
    assert state.frames >= 100 and steps <= 25
    assert state.current_player == -1 and not state.legal_mask().any()
    assert "(time limit)" in state.render()
    with pytest.raises(ValueError):
        state.apply(0)


def test_action_names(registry):
    game = registry.make_game("atari:MsPacman")
    assert game.rom == "ms_pacman" and game.action_to_string(0) == "NOOP"
    assert game.string_to_action("up") == game.action_names.index("UP")
    assert game.string_to_action("3") == 3
    with pytest.raises(ValueError):
        game.string_to_action("jump")


# --------------------------------------------------------------------------- matches, replays


def test_recorded_single_player_match_verifies(registry, manager, tmp_path):
    game = registry.make_game("atari:pong")  # sticky 0.25 by default
    result = play_match(game, [registry.make_agent("random")], seed=7,
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager,
                                               max_steps=150))
    assert result.steps == 150 and result.forfeit_seat is None
    assert "150 steps re-simulated" in verify(result.replay_path, registry)
    # A different seed means other no-op starts and sticky draws: re-simulation must fail.
    lines = open(result.replay_path, encoding="utf-8").read().splitlines()
    header = json.loads(lines[0])
    header["seed"] = 8
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(ReplayError):
        verify(tampered, registry)


def test_two_random_agents_play_pong(registry, manager, tmp_path):
    game = registry.make_game("atari_mp:pong")
    agents = [registry.make_agent("random"), registry.make_agent("random")]
    result = play_match(game, agents, seed=1,
                        settings=MatchSettings(replay_dir=str(tmp_path), manager=manager,
                                               max_steps=800))
    assert result.forfeit_seat is None and result.steps == 800
    assert result.returns[0] == -result.returns[1] and abs(result.returns[0]) + 1 > 0
    assert "800 steps re-simulated" in verify(result.replay_path, registry)


def test_multi_player_rounds_wait_for_every_player(registry):
    game = registry.make_game("atari_mp:pong")
    state = game.new_state(0)
    frames = state.frames
    state.apply(2)
    assert state.current_player == 1 and state.frames == frames  # waiting for player 1
    state.apply(3)
    assert state.current_player == 0 and state.frames == frames + 4


# --------------------------------------------------------------------------- training faces


def test_vector_env_shapes_and_seeding(registry):
    game = registry.make_game("atari:breakout")
    actions = np.random.default_rng(0).integers(game.num_actions, size=(20, 2))
    runs = []
    for _ in range(2):
        env = game.vector_env(2, seed=11, num_threads=1)
        observations, info = env.reset()
        assert observations.shape == (2, 4, 84, 84) and observations.dtype == np.uint8
        assert env.single_action_space.n == game.num_actions
        seen = [observations]
        for row in actions:
            observations, rewards, terminations, truncations, info = env.step(row)
            seen.append(observations)
        assert rewards.shape == (2,) and terminations.dtype == bool
        assert set(info) >= {"env_id", "lives", "frame_number", "episode_frame_number"}
        env.close()
        runs.append(np.stack(seen))
    assert np.array_equal(runs[0], runs[1])  # the game's seed makes the run repeatable
    small = game.vector_env(2, seed=0, frame_stack=2, num_threads=1)
    assert small.reset()[0].shape == (2, 2, 84, 84)
    small.close()


def test_gym_env_passes_gymnasiums_check_env(registry):
    from gymnasium.utils.env_checker import check_env

    game = registry.make_game("atari:breakout")
    env = game.gym_env()
    assert env.observation_space.shape == (4, 84, 84)
    assert env.action_space.n == game.num_actions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the environment is wrapped": that is the point
        check_env(env, skip_render_check=True)
    env.close()


def test_simulator_sees_what_the_gym_face_shows(registry):
    # Without randomness (no sticky actions, no no-ops) the two faces run the same emulator
    # frames, so an agent trained on one sees the same pixels on the other.
    game = registry.make_game("atari:pong,sticky=0,noop_max=0,fire_reset=false")
    env = game.gym_env(episodic_life=False, clip_rewards=False)
    observation, _ = env.reset(seed=0)
    state = game.new_state(0)
    assert np.array_equal(observation, state.observation(0))
    score = 0.0
    for action in np.random.default_rng(0).integers(game.num_actions, size=120):
        observation, reward, _, _, _ = env.step(int(action))
        state.apply(int(action))
        score += reward
        assert np.array_equal(observation, state.observation(0))
    assert state.returns() == [score]
    env.close()


def test_simulator_sees_what_the_vector_face_shows(registry):
    game = registry.make_game("atari:pong,sticky=0,noop_max=0,fire_reset=false,"
                              "episodic_life=false,clip_rewards=false")
    env = game.vector_env(1, seed=0, num_threads=1)
    observations, _ = env.reset()
    state = game.new_state(0)
    assert np.array_equal(observations[0], state.observation(0))
    for action in np.random.default_rng(1).integers(game.num_actions, size=60):
        observations, _, _, _, info = env.step(np.array([action]))
        state.apply(int(action))
        assert np.array_equal(observations[0], state.observation(0))
    assert info["episode_frame_number"][0] == state.frames
    env.close()


def test_gym_env_episodic_life_keeps_the_game(registry):
    env = registry.make_game("atari:breakout,sticky=0").gym_env()
    observation, info = env.reset(seed=0)
    assert observation.shape == (4, 84, 84) and observation.dtype == np.uint8
    lives = info["lives"]
    rng = np.random.default_rng(0)
    for _ in range(2000):
        observation, reward, terminated, truncated, info = env.step(int(rng.integers(4)))
        assert reward in (0.0, 1.0)  # clipped
        if terminated:
            break
    assert terminated and 0 < info["lives"] < lives  # a life lost ends the learner's episode
    frame_number = info["episode_frame_number"]
    _, info = env.reset()
    assert info["episode_frame_number"] > frame_number  # ...but the game goes on
    env.close()


# --------------------------------------------------------------------------- user mistakes


def test_bad_specs_are_one_line_errors(registry, cli):
    with pytest.raises(SpecError, match="did you mean pong"):
        registry.make_game("atari:pongg")
    with pytest.raises(SpecError, match="frame_skip"):
        registry.make_game("atari:pong,frame_skip=0")
    with pytest.raises(SpecError, match="sticky"):
        registry.make_game("atari:pong,sticky=2")
    with pytest.raises(SpecError, match="tennis"):
        registry.make_game("atari_mp:tenis")
    done = cli("match", "atari_mp:pongg", "random", "random", "--no-replays")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "did you mean pong" in done.stderr


def test_import_is_cheap_and_roms_come_from_ale_py():
    code = ("import sys, gamepit.games.atari; "
            "print(sorted(m for m in ('ale_py', 'pettingzoo.atari', 'cv2', 'torch') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    assert "pong" in rom_names()
    assert os.path.exists(os.path.join(rom_folder(), "pong.bin"))
