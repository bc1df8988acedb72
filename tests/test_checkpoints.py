"""Checkpoints carry a sha256 digest of their contents and every way of reading one is a
one-line error when the file is damaged, foreign, empty or does not fit: flipped bits in the
tensor data, an empty file, a text file, missing entries, wrong shapes, a damaged AlphaZero
replay buffer on resume."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gamepit.errors import GamepitError
from gamepit.learners import toolkit
from gamepit.learners.alphazero import learner as alphazero
from gamepit.learners.dqn.learner import DQNArgs, train

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(alphazero.BUILTIN_DIR.glob("*.pt"))


@pytest.fixture(scope="module")
def dqn_checkpoint(tmp_path_factory) -> Path:
    """A real CartPole DQN checkpoint from a run of a few dozen steps."""
    run = tmp_path_factory.mktemp("dqn")
    train(DQNArgs(game="gym:CartPole-v1", total_steps=64, learning_starts=32, buffer_size=64,
                  batch_size=8, hidden=8, eval_episodes=0, device="cpu", run_dir=str(run)))
    return run / "checkpoint.pt"


def member_data_span(path: Path, name_part: str) -> tuple[int, int]:
    """Where the bytes of the largest zip member whose name contains ``name_part`` lie."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if name_part in i.filename),
                   key=lambda i: i.file_size)
    name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26:
                                                         info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    return start, start + info.compress_size


def flipped_copy(source: Path, target: Path, offset: int, bit: int = 0) -> Path:
    data = bytearray(source.read_bytes())
    data[offset] ^= 1 << bit
    target.write_bytes(bytes(data))
    return target


def assert_one_line(result, *needles: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_a_flipped_bit_in_the_tensor_data_is_one_line_at_the_command_line(
        cli, dqn_checkpoint, tmp_path):
    start, end = member_data_span(dqn_checkpoint, "/data/")
    damaged = flipped_copy(dqn_checkpoint, tmp_path / "damaged.pt", (start + end) // 2, 3)
    torch.load(damaged, weights_only=True)  # torch itself reads it: only the digest can tell
    result = cli("match", "gym:CartPole-v1", f"dqn:checkpoint={damaged}", "random",
                 cwd=tmp_path)
    assert_one_line(result, f"checkpoint {damaged} is damaged: checksum mismatch")
    assert not (tmp_path / "replays").exists()


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.floats(0.0, 1.0, exclude_max=True), bit=st.integers(0, 7))
@example(where=0.998046875, bit=0)  # the zip's end record: is_zipfile itself raised
def test_any_flipped_bit_is_refused_or_changes_nothing(dqn_checkpoint, tmp_path, where, bit):
    """Bits in zip padding or unused header fields may change nothing; any other flip is a
    GamepitError. A checkpoint never loads with contents other than those saved."""
    original = toolkit.load_checkpoint(dqn_checkpoint)
    size = dqn_checkpoint.stat().st_size
    damaged = flipped_copy(dqn_checkpoint, tmp_path / "flipped.pt", int(where * size), bit)
    try:
        loaded = toolkit.load_checkpoint(damaged)
    except GamepitError as error:
        assert "\n" not in str(error)
        return
    assert loaded[toolkit.DIGEST] == original[toolkit.DIGEST] == toolkit.digest(loaded)


def test_a_zip_version_python_cannot_read_is_one_line(dqn_checkpoint, tmp_path):
    """A flipped bit in a member's "version needed to extract" made zipfile raise
    NotImplementedError, which escaped as a traceback (found by the test above, unseeded)."""
    data = bytearray(dqn_checkpoint.read_bytes())
    record = data.find(b"PK\x01\x02")  # the first central directory record
    data[record + 6:record + 8] = (64).to_bytes(2, "little")  # needs zip version 6.4
    damaged = tmp_path / "version.pt"
    damaged.write_bytes(bytes(data))
    with pytest.raises(GamepitError, match="is damaged") as caught:
        toolkit.load_checkpoint(damaged)
    assert "\n" not in str(caught.value)


def test_digest_covers_names_dtypes_shapes_values():
    weights = {"a": torch.zeros(2, 3), "b": torch.ones(3)}
    base = toolkit.digest({"network": weights, "step": 5})
    assert base == toolkit.digest({"step": 5, "network": dict(weights)})  # order-free
    for changed in ({"network": {**weights, "a": torch.zeros(3, 2)}, "step": 5},
                    {"network": {**weights, "a": torch.zeros(2, 3, dtype=torch.float64)},
                     "step": 5},
                    {"network": {"c": weights["a"], "b": weights["b"]}, "step": 5},
                    {"network": weights, "step": 6},
                    {"network": weights, "step": "5"}):
        assert toolkit.digest(changed) != base


@pytest.mark.parametrize("content, message", [
    (b"", "is damaged: the file is empty"),
    ((ROOT / "README.md").read_bytes(), "is not a gamepit checkpoint (not a file torch.save"),
    (b"PK\x03\x04" + b"\0" * 40, "is not a gamepit checkpoint"),
])
def test_empty_text_and_truncated_files_are_one_line(registry, tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    for name in ("dqn", "ppo", "alphazero"):
        with pytest.raises(GamepitError) as caught:
            registry.make_agent(f"{name}:checkpoint={path}")
        assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_readme_is_refused_with_a_whole_message(cli, tmp_path):
    result = cli("match", "gym:CartPole-v1", "dqn:checkpoint=README.md", "random", cwd=ROOT)
    assert_one_line(result)
    assert result.stderr.rstrip().endswith("(not a file torch.save wrote)"), result.stderr


def test_foreign_and_old_checkpoints_are_one_line(registry, tmp_path):
    listed = tmp_path / "list.pt"
    torch.save([1, 2, 3], listed)
    with pytest.raises(GamepitError, match="holds a list, not a dictionary"):
        registry.make_agent(f"dqn:checkpoint={listed}")
    legacy = tmp_path / "legacy.pt"
    torch.save({"algorithm": "dqn", "network": {}}, legacy)
    with pytest.raises(GamepitError, match="has no checksum"):
        registry.make_agent(f"dqn:checkpoint={legacy}")


def _resaved(source: Path, target: Path, change) -> Path:
    data = toolkit.load_checkpoint(source)
    data.pop(toolkit.DIGEST)
    change(data)
    return toolkit.save_checkpoint(target, data)


def test_missing_entries_and_wrong_shapes_are_one_line(registry, dqn_checkpoint, tmp_path):
    def drop_network(data):
        del data["network"]

    def drop_hidden(data):
        del data["args"]["hidden"]

    def wrong_hidden(data):
        data["args"]["hidden"] = 9

    def extra_weight(data):
        data["network"]["extra.weight"] = torch.zeros(1)

    cases = [(drop_network, "lacks the entry 'network'"),
             (drop_hidden, "lacks the entry 'hidden'"),
             (wrong_hidden, "does not fit the network: "),
             (extra_weight, "unexpected weights extra.weight")]
    for index, (change, message) in enumerate(cases):
        path = _resaved(dqn_checkpoint, tmp_path / f"case{index}.pt", change)
        with pytest.raises(GamepitError) as caught:
            registry.make_agent(f"dqn:checkpoint={path}")
        assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_damaged_resume_checkpoint_is_one_line(cli, dqn_checkpoint, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    start, end = member_data_span(dqn_checkpoint, "/data/")
    flipped_copy(dqn_checkpoint, run / "checkpoint.pt", start + 1)
    result = cli("train", "dqn", "--game", "gym:CartPole-v1", "--run", str(run),
                 "--set", "total_steps=128", "--device", "cpu", cwd=tmp_path)
    assert_one_line(result, "is damaged: checksum mismatch")


def test_a_resume_checkpoint_of_another_network_is_one_line(cli, dqn_checkpoint, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    _resaved(dqn_checkpoint, run / "checkpoint.pt", lambda data: None)
    result = cli("train", "dqn", "--game", "gym:CartPole-v1", "--run", str(run),
                 "--set", "total_steps=128", "--set", "hidden=16", "--device", "cpu",
                 cwd=tmp_path)
    assert_one_line(result, "network does not fit the network")


def test_a_damaged_alphazero_replay_buffer_is_one_line_on_resume(cli, tmp_path):
    run = tmp_path / "run"
    tiny = ["--set", "iterations=1", "--set", "selfplay_games=2", "--set", "sims=2",
            "--set", "filters=4", "--set", "blocks=1", "--set", "value_hidden=4",
            "--set", "train_steps=1", "--set", "min_buffer=1", "--set", "batch_size=4",
            "--device", "cpu", "--game", "tictactoe", "--run", str(run)]
    first = cli("train", "alphazero", *tiny, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    buffer = run / toolkit.BUFFER
    start, end = member_data_span(buffer, "observations")
    flipped_copy(buffer, buffer, (start + end) // 2)
    result = cli("train", "alphazero", *tiny[2:], "--set", "iterations=2", cwd=tmp_path)
    assert_one_line(result, f"replay buffer {buffer} is damaged", "delete it")


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_checkpoints_carry_their_digest(path):
    data = toolkit.load_checkpoint(path)
    assert data[toolkit.DIGEST] == toolkit.digest(data)
    assert torch.load(path, weights_only=True)[toolkit.DIGEST] == data[toolkit.DIGEST]


def test_torchscript_and_pickled_objects_are_refused_in_our_own_words(tmp_path, cli):
    import torch

    script = tmp_path / "script.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(script))
    pickled = tmp_path / "pickled.pt"
    torch.save({"weights": torch.zeros(2), "thing": tmp_path}, pickled)  # a Path: an object
    for path, message in ((script, "is a TorchScript file, not a gamepit checkpoint"),
                          (pickled, "holds objects other than tensors")):
        done = cli("match", "tictactoe", f"alphazero:checkpoint={path}", "random", cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr
        assert "\x1b" not in done.stderr and "torch.jit.load" not in done.stderr


# --------------------------------------------------------------------------- files that lie


def _bomb(path, member: str, size: int) -> None:
    """A zip of a few kilobytes whose one member declares ``size`` bytes (deflated zeros)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, b"\0" * size)


def test_zip_bombs_are_refused_before_they_are_read(tmp_path):
    import numpy as np

    from gamepit.errors import GamepitError
    from gamepit.learners.alphazero.learner import ReplayBuffer
    from gamepit.learners.toolkit import load_checkpoint

    checkpoint = tmp_path / "bomb.pt"
    _bomb(checkpoint, "bomb/data.pkl", 30_000_000)
    assert checkpoint.stat().st_size < 100_000
    with pytest.raises(GamepitError, match="is compressed, which gamepit never writes"):
        load_checkpoint(checkpoint)
    buffer = tmp_path / "replay_buffer.npz"
    _bomb(buffer, "observations.npy", 30_000_000)
    with pytest.raises(GamepitError, match="is compressed"):
        ReplayBuffer(10, (3, 6, 7), 7, np.float32).load(buffer)


def test_arrays_of_different_lengths_and_shards_of_other_shapes_are_refused(tmp_path):
    import numpy as np

    from gamepit.errors import GamepitError
    from gamepit.learners.alphazero.learner import ReplayBuffer as AlphaZeroBuffer
    from gamepit.learners.imitation.learner import SHARD_FIELDS, Dataset

    path = tmp_path / "replay_buffer.npz"
    np.savez(path, observations=np.zeros((10, 3, 6, 7), np.float32),
             policies=np.zeros((4, 7), np.float32), outcomes=np.zeros(10, np.float32),
             cursor=np.int64(0))
    with pytest.raises(GamepitError, match="different lengths: observations 10, policies 4"):
        AlphaZeroBuffer(100, (3, 6, 7), 7, np.float32).load(path)

    def rows(count: int, shape: tuple) -> dict:
        return {"observations": np.zeros((count, *shape), np.float32),
                "masks": np.ones((count, 7), bool), "targets": np.zeros((count, 7), np.float32),
                "actions": np.zeros(count, np.int64), "weights": np.ones(count, np.float32)}

    dataset = Dataset(tmp_path / "dataset")
    dataset.append(rows(5, (3, 6, 7)))
    dataset.append(rows(5, (2, 6, 7)))  # another game's planes
    with pytest.raises(GamepitError, match="shard_00001.npz is damaged .*other shapes"):
        dataset.load()
    lying = tmp_path / "lying"
    Dataset(lying).append({**rows(5, (3, 6, 7)), "actions": np.zeros(3, np.int64)})
    with pytest.raises(GamepitError, match="different lengths"):
        Dataset(lying).load()
    assert set(SHARD_FIELDS) == set(rows(1, (1,)))
