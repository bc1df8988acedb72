"""DQN: the frame-once replay buffer (stacks across episode boundaries, n-step returns,
priorities), learning on CartPole, a smoke run on real ALE Pong, and playing from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gamepit.arena import MatchSettings, play_match
from gamepit.authoring.checks import check_agent
from gamepit.files import load_yaml
from gamepit.learners import toolkit
from gamepit.learners.dqn.learner import DQNArgs, FrameReplayBuffer, SumTree, frame_layout, train
from gamepit.training.settings import merge

ROOT = Path(__file__).resolve().parents[1]


def _labelled_stack(episode: int, step: int, stack: int = 4) -> np.ndarray:
    """Frames filled with a label, so a rebuilt stack shows where each frame came from.
    The first stack of an episode is zero padding then its first frame, as ale-py does."""
    frames = np.zeros((stack, 2, 2), dtype=np.uint8)
    for offset in range(stack):
        t = step - (stack - 1 - offset)
        frames[offset] = 0 if t < 0 else 10 * episode + t + 1
    return frames


def test_frame_stacks_are_rebuilt_across_episode_boundaries():
    buffer = FrameReplayBuffer(64, 1, (2, 2), 4, np.uint8, np.random.default_rng(0), n_step=1,
                               gamma=0.9)
    episode_lengths = [3, 5, 2, 4]
    buffer.start_episodes(np.array([0]), _labelled_stack(0, 0)[None])
    expected = {}
    for episode, length in enumerate(episode_lengths):
        for step in range(length):
            last = step == length - 1
            real_next = _labelled_stack(episode, step + 1)
            following = _labelled_stack(episode + 1, 0) if last else real_next
            expected[_labelled_stack(episode, step).tobytes()] = (real_next.tobytes(), last)
            buffer.add(np.array([step % 3]), np.array([1.0]), np.array([last]),
                       np.array([False]), real_next[None], following[None])
    assert len(buffer) == sum(episode_lengths)
    sample = buffer.sample(256)
    for index in range(256):
        observation = sample["observations"][index]
        next_stack, terminal = expected[observation.tobytes()]
        assert sample["next_observations"][index].tobytes() == next_stack
        assert (sample["discounts"][index] == 0.0) == terminal
        # No frame of an earlier episode leaks into a stack: labels are 0 or this episode's.
        labels = {int(frame[0, 0]) for frame in observation} - {0}
        assert len({(label - 1) // 10 for label in labels}) == 1


def test_buffer_matches_real_pong_transitions_after_wrapping(registry):
    """Real ALE frames, short episodes (truncated by max_frames), a ring that wraps: every
    sampled transition is one the emulator produced, stacks and all."""
    game = registry.make_game("atari:pong,max_frames=240")
    envs = toolkit.make_vector_env(game, 2, seed=3)
    observations, _ = envs.reset(seed=3)
    frame_shape, stack = frame_layout(observations.shape[1:])
    assert (frame_shape, stack) == ((84, 84), 4)
    rng = np.random.default_rng(0)
    buffer = FrameReplayBuffer(160, 2, frame_shape, stack, np.uint8, rng, n_step=1, gamma=0.99)
    buffer.start_episodes(np.arange(2), observations)
    truth, ends = {}, 0
    for _ in range(150):
        actions = rng.integers(0, game.num_actions, 2)
        next_obs, rewards, terminated, truncated, info = envs.step(actions)
        done = terminated | truncated
        ends += int(done.sum())
        real_next = toolkit.final_observations(next_obs, done, info)
        for env in range(2):
            truth[(observations[env].tobytes(), int(actions[env]))] = (
                real_next[env].tobytes(), bool(terminated[env]))
        buffer.add(actions, rewards, terminated, truncated, real_next, next_obs)
        observations = next_obs
    envs.close()
    assert ends >= 4 and buffer.written.min() > buffer.ring  # boundaries crossed, ring wrapped
    sample = buffer.sample(128)
    for index in range(128):
        key = (sample["observations"][index].tobytes(), int(sample["actions"][index]))
        next_stack, terminal = truth[key]
        assert sample["next_observations"][index].tobytes() == next_stack
        assert (sample["discounts"][index] == 0.0) == terminal


def test_n_step_returns_stop_at_the_end_of_an_episode():
    buffer = FrameReplayBuffer(40, 1, (1,), 1, np.float32, np.random.default_rng(0), n_step=3,
                               gamma=0.5)
    buffer.start_episodes(np.array([0]), np.array([[0.0]]))
    rewards = [1.0, 2.0, 4.0, 8.0]  # one episode of four steps, then the next one starts
    for step, reward in enumerate(rewards):
        last = step == len(rewards) - 1
        buffer.add(np.array([0]), np.array([reward]), np.array([last]), np.array([False]),
                   np.array([[step + 1.0]]), np.array([[100.0 if last else step + 1.0]]))
    for step in range(5):  # a few steps of the next episode so the last ones are usable
        buffer.add(np.array([0]), np.array([0.0]), np.array([False]), np.array([False]),
                   np.array([[101.0 + step]]), np.array([[101.0 + step]]))
    sample = buffer.sample(200)
    by_start = {float(o[0]): (float(r), float(n[0]), float(d)) for o, r, n, d in zip(
        sample["observations"], sample["returns"], sample["next_observations"],
        sample["discounts"], strict=True)}
    assert by_start[0.0] == (1 + 0.5 * 2 + 0.25 * 4, 3.0, 0.125)
    assert by_start[2.0] == (4 + 0.5 * 8, 4.0, 0.0)  # stops at the terminal step
    assert by_start[3.0] == (8.0, 4.0, 0.0)


def test_sum_tree_samples_in_proportion_to_priority():
    tree = SumTree(5)
    tree.set(np.arange(5), np.array([1.0, 0.0, 3.0, 0.0, 4.0]))
    assert tree.total == 8.0
    masses = (np.arange(8000) + 0.5) / 1000.0
    counts = np.bincount(tree.find(masses), minlength=5)
    assert counts.tolist() == [1000, 0, 3000, 0, 4000]


def test_prioritized_replay_prefers_large_errors():
    buffer = FrameReplayBuffer(100, 1, (1,), 1, np.float32, np.random.default_rng(0),
                               prioritized=True, alpha=1.0)
    buffer.start_episodes(np.array([0]), np.array([[0.0]]))
    for step in range(50):
        buffer.add(np.array([0]), np.array([0.0]), np.array([False]), np.array([False]),
                   np.array([[step + 1.0]]), np.array([[step + 1.0]]))
    stored = np.flatnonzero(buffer.valid.reshape(-1))
    errors = np.where(buffer.frames.reshape(-1)[stored] == 7.0, 100.0, 0.01)
    buffer.update_priorities(stored, errors)  # one transition with a large TD error
    sample = buffer.sample(1000)
    assert 0.8 < np.mean(sample["observations"][:, 0] == 7.0) < 1.0  # 100 / (100 + 49 * 0.01)
    assert sample["weights"].max() == pytest.approx(1.0)
    assert sample["weights"].min() < 0.2  # the over-sampled transition is weighted down


def test_dqn_learns_cartpole_and_beats_random(registry, tmp_path):
    """Random play scores about 22 on CartPole; the CI budget must clearly beat it."""
    settings = load_yaml(ROOT / "configs" / "dqn_cartpole.yaml")
    args = merge(DQNArgs, "dqn", settings, {"run_dir": str(tmp_path), "device": "cpu",
                                            "eval_episodes": 0})
    spec = train(args)
    agent = registry.make_agent(spec)
    game = registry.make_game("gym:CartPole-v1")
    scores = [play_match(game, [agent], seed).returns[0]
              for seed in range(100, 110)]
    random_agent = registry.make_agent("random")
    random_scores = [play_match(game, [random_agent], seed).returns[0]
                     for seed in range(100, 110)]
    assert np.mean(random_scores) < 50
    assert np.mean(scores) > 100, scores


def test_dqn_smoke_run_on_real_pong_with_every_option(registry, tmp_path):
    args = DQNArgs(game="atari:pong,max_frames=800", total_steps=300, learning_starts=100,
                   buffer_size=600, batch_size=8, n_step=3, prioritized=True, dueling=True,
                   log_every=100, checkpoint_every=200, eval_episodes=1, device="cpu",
                   run_dir=str(tmp_path), clip_rewards=True)
    spec = train(args)
    checkpoint = toolkit.load_checkpoint(tmp_path / "checkpoint.pt")
    assert checkpoint["step"] == 300 and checkpoint["observation_shape"] == [4, 84, 84]
    replays = list((tmp_path / "replays").glob("*.jsonl"))
    assert len(replays) == 1
    agent = registry.make_agent(spec)
    check_agent(agent, registry.make_game("atari:pong,max_frames=200"), games=1)


def test_agent_trained_on_single_player_pong_takes_a_seat_in_two_player_pong(registry, tmp_path):
    """The one-player and two-player Pong games share the observation (4x84x84 frames) and the
    six actions, so a Pong learner's checkpoint plays either seat of PettingZoo's Pong."""
    args = DQNArgs(game="atari:pong,max_frames=400", total_steps=120, learning_starts=60,
                   buffer_size=200, batch_size=8, log_every=100, checkpoint_every=120,
                   eval_episodes=0, device="cpu", run_dir=str(tmp_path))
    spec = train(args)
    game = registry.make_game("atari_mp:pong,max_frames=600")
    agents = [registry.make_agent(spec), registry.make_agent("random")]
    for seat in (0, 1):
        seated = agents if seat == 0 else agents[::-1]
        result = play_match(game, seated, seed=seat,
                            settings=MatchSettings(replay_dir=str(tmp_path / "replays")))
        assert result.forfeit_seat is None, result.forfeit_reason
        assert result.steps > 50
